#!/usr/bin/env bats
# sg-plan: recipes in YAML and JSON, the jobs they give, the state they read,
# and the file:line:column of every fault.

load helpers

REVIEWS=$FIXTURES/plan-reviews.yaml

# A state file of run $1 with $2 samples accepted.
state() {
	jq -n --arg run "$1" --argjson acc "$2" '{format: "sg-state",
		version: 1, run: $run, seed: 7, steps: 3, rewards: 3,
		accepted: $acc, rejected: 1, router: null, arms: {},
		contexts: {},
		rng: "0000000000000001000000000000000200000000000000030000000000000004"}'
}

@test "a recipe in the original system's shape gives its jobs" {
	run --separate-stderr sg-plan "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | wc -l)" -eq 3 ]
	assert_equal "$(echo "$output" | jq -c '[.run, .job, .n, .target, .accepted]' | tr '\n' ' ')" \
		'["reviews_sentiment_v1",0,5,12,0] ["reviews_sentiment_v1",1,5,12,0] ["reviews_sentiment_v1",2,5,12,0] '
	assert_equal "$(echo "$output" | head -1 | jq -c keys_unsorted)" \
		'["type","run","job","n","target","accepted","label_plan","context","recipe_path","recipe"]'
	# 0.4, 0.4 and 0.2 of each job's five, those of the jobs before
	# counted; the last job's first two, the run's last, apart
	assert_equal "$(echo "$output" | jq -c .label_plan)" \
		'["positive","positive","negative","negative","neutral"]
["positive","positive","negative","negative","neutral"]
["positive","negative","positive","negative","neutral"]'
	assert_equal "$(echo "$output" | head -1 | jq -c .context)" \
		'{"domain":"product_reviews","task":"sentiment_classification","complexity":"medium","format":"jsonl","kb":false,"grammar":true,"grammar_llm":false,"llm":false}'
	assert_equal "$(echo "$output" | head -1 | jq -r .recipe_path)" "$REVIEWS"
	echo "$output" | head -1 | jq -e '.type == "job"
		and .recipe.job_id == "reviews_sentiment_v1"
		and .recipe.task_input.labels == ["positive", "negative", "neutral"]
		and .recipe.task_input.label_distribution.neutral == 0.2
		and .recipe.output_path == "data/reviews.jsonl"
		and .recipe.constraints.schema.properties.rating.maximum == 5
		and .recipe.validators.deduplication == {enabled: true, check_field: "text"}
		and .recipe.validators.json_schema == {enabled: true, threshold: 0.95}
		and .recipe.grammar.start == "review_json"
		and .recipe.grammar.rules.rating[2].template == "5"
		and .recipe.router_config.arms[1].temperature == 1.5'
	assert_equal "$(echo "$output" | head -1 | jq -r '.recipe.grammar.rules.review_json[0].template')" \
		'{"text": "<review>", "label": "<label>", "rating": <rating>}'
}

@test "every job carries the same whole recipe" {
	run --separate-stderr sg-plan "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -c .recipe | sort -u | wc -l)" -eq 1 ]
	assert_equal "$(echo "$output" | head -1 | jq -c '.recipe | keys_unsorted')" \
		'["job_id","domain","task","task_input","num_samples","output_format","output_path","constraints","validators","grammar","router_config"]'
}

@test "a JSON recipe gives its jobs, named after the file" {
	run --separate-stderr sg-plan "$FIXTURES/plan-faq.json"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c '[.run, .job, .n, .target]' | tr '\n' ' ')" \
		'["plan-faq",0,3,7] ["plan-faq",1,3,7] ["plan-faq",2,3,7] '
	assert_equal "$(echo "$output" | head -1 | jq -c .context)" \
		'{"domain":"customer_support","task":"faq_answers","complexity":"complex","format":"json","kb":true,"grammar":true,"grammar_llm":true,"llm":false}'
	echo "$output" | head -1 | jq -e '.recipe.constraints.pattern == "\\?$"
		and .recipe.quality.reward.diversity == 0.2'
}

@test "a minimal recipe: run from the file name, default batch, simple context" {
	mkdir -p d
	cp "$FIXTURES/plan-minimal.yaml" d/my.haiku.yaml
	run --separate-stderr sg-plan d/my.haiku.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '{"type":"job","run":"my.haiku","job":0,"n":5,"target":3,"accepted":0,"context":{"domain":"haiku","task":null,"complexity":"simple","format":"text","kb":false,"grammar":false,"grammar_llm":false,"llm":false},"recipe_path":"d/my.haiku.yaml","recipe":{"domain":"haiku","num_samples":3}}'
}

@test "the job count follows target, accepted and batch size" {
	for t in "11 4 3" "12 4 3" "13 4 4" "1 5 1" "12 1 12"; do
		set -- $t
		run --separate-stderr sg-plan -t "$1" -b "$2" "$REVIEWS"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[ "$(echo "$output" | wc -l)" -eq "$3" ] || { echo "-t $1 -b $2: $(echo "$output" | wc -l) jobs" >&2; return 1; }
		assert_equal "$(echo "$output" | jq -c '[.n, .target]' | sort -u)" "[$2,$1]"
		assert_equal "$(echo "$output" | jq -r .job | tr '\n' ' ')" "$(seq 0 $(($3 - 1)) | tr '\n' ' ')"
	done
	state reviews_sentiment_v1 4 > st
	run --separate-stderr sg-plan -s st "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c '[.job, .n, .target, .accepted]' | tr '\n' ' ')" \
		'[0,5,12,4] [1,5,12,4] '
}

@test "a job plans its labels by what each lacks of its share in the state" {
	# 12 accepted: positive is over its 0.4, negative and neutral short
	state reviews_sentiment_v1 12 |
		jq '.labels = {positive: 8, negative: 2, neutral: 2}' > st
	run --separate-stderr sg-plan -s st -t 30 "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# 17 with the first job: negative lacks 4.8, neutral 1.4; then the
	# jobs before count as accepted
	assert_equal "$(echo "$output" | jq -c .label_plan)" \
		'["negative","negative","negative","negative","neutral"]
["positive","negative","negative","negative","neutral"]
["positive","positive","negative","negative","neutral"]
["positive","negative","neutral","positive","negative"]'
	# a label outside the mix counts in the whole, never in the plan
	state reviews_sentiment_v1 12 |
		jq '.labels = {positive: 4, negative: 4, neutral: 2, mixed: 2}' > st
	run --separate-stderr sg-plan -n1 -t 30 -s st "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c .label_plan)" \
		'["positive","positive","negative","negative","neutral"]'
}

@test "without label_distribution the labels share equally; no labels, no plan" {
	printf 'domain: d\nnum_samples: 12\ntask_input:\n  labels: [a, b, c, 0]\nrouter_config: {batch_size: 6}\n' > r.yaml
	run --separate-stderr sg-plan r.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# 1.5 each: the two first have the largest remainders, then c and 0
	assert_equal "$(echo "$output" | jq -c .label_plan)" \
		'["a","a","b","b","c","0"]
["a","b","c","c","0","0"]'
	printf 'domain: d\nnum_samples: 4\ntask_input:\n  label_distribution: {x: 3, y: 1}\n' > r.yaml
	run --separate-stderr sg-plan r.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c .label_plan)" '["x","x","x","y","x"]'
	run --separate-stderr sg-plan "$FIXTURES/plan-faq.json"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s 'map(has("label_plan")) | any')" = false ]
}

@test "-n caps the number of jobs" {
	run --separate-stderr sg-plan -n 2 "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -r .job | tr '\n' ' ')" "0 1 "
	run --separate-stderr sg-plan -n1 "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c '[.job, .n]')" "[0,5]"
	run --separate-stderr sg-plan --jobs=10 "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | wc -l)" -eq 3 ]
	run --separate-stderr sg-plan --jobs=1 --batch-size=4 --target=8 --run=r "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c '[.run, .job, .n, .target]')" '["r",0,4,8]'
}

@test "nothing is planned once the state counts the target" {
	for acc in 12 15; do
		state reviews_sentiment_v1 "$acc" > st
		run --separate-stderr sg-plan -s st "$REVIEWS"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		[ -z "$stderr" ]
	done
	run --separate-stderr sg-plan -v -s st "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	assert_equal "$stderr" 'sg-plan: run "reviews_sentiment_v1": target 12, accepted 15, 0 job(s) of 5'
}

@test "a missing state means none accepted and is not created" {
	run --separate-stderr sg-plan -s st "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -r .accepted | sort -u)" = 0 ]
	[ "$(echo "$output" | wc -l)" -eq 3 ]
	[ ! -e st ]
}

@test "the state of another run is refused and left alone" {
	state other 3 > st
	cp st st.before
	run --separate-stderr sg-plan -s st "$REVIEWS"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-plan: state 'st' belongs to run \"other\", not \"reviews_sentiment_v1\""
	cmp st st.before
	run --separate-stderr sg-plan -r other -s st "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c '[.run, .accepted]' | sort -u)" '["other",3]'
}

@test "a corrupt or foreign state is refused with status 3" {
	printf '{"format": "sg-state",\n "version": 1,' > st
	run --separate-stderr sg-plan -s st "$REVIEWS"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" == "sg-plan: st:"*": state is not valid JSON: "* ]]
	echo '{"hello": "world"}' > st
	run --separate-stderr sg-plan -s st "$REVIEWS"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-plan: st: refusing state: not an sg state file (no \"format\": \"sg-state\")"
	assert_equal "$(cat st)" '{"hello": "world"}'
}

@test "each invalid recipe is refused with its file:line:column and status 3" {
	while IFS='|' read -r file msg; do
		run --separate-stderr sg-plan "$FIXTURES/$file"
		[ "$status" -eq 3 ] || { echo "$file: status $status" >&2; return 1; }
		[ -z "$output" ]
		assert_equal "$stderr" "sg-plan: $FIXTURES/$file:$msg"
	done <<-'EOF'
	plan-bad-num.yaml|3:14: "num_samples" must be a positive integer
	plan-undefined.yaml|7:19: rule "joke" refers to undefined rule "place"
	plan-weight.yaml|9:17: "grammar.rules.hello[1].weight" must be a number greater than 0
	plan-cycle.yaml|11:5: rule "more" can never finish expanding: every option ends in a loop
	plan-dup.yaml|4:1: duplicate key "num_samples" (first on line 2)
	plan-syntax.yaml|5:7: did not find expected ',' or ']' (while parsing a flow sequence on line 4)
	plan-bad.json|4:35: "router_config.batch_size" must be a positive integer
	plan-dup.json|2:27: duplicate object key near '"domain"'
	EOF
}

@test "more faults, each at its position" {
	while IFS='|' read -r text msg; do
		printf -- "$text" > r.yaml
		run --separate-stderr sg-plan r.yaml
		[ "$status" -eq 3 ] || { echo "$text: status $status" >&2; return 1; }
		[ -z "$output" ]
		assert_equal "$stderr" "sg-plan: r.yaml:$msg"
	done <<-'EOF'
	num_samples: 3\n|1:1: missing required field "domain"
	domain: ~\nnum_samples: 3\n|1:9: "domain" must be a string
	domain: d\nnum_samples: 2.5\n|2:14: "num_samples" must be a positive integer
	domain: d\nnum_samples: 3\noutput_format: xml\n|3:16: "output_format" must be text, json, jsonl or csv
	domain: d\nnum_samples: 3\nyes: 1\n|3:1: mapping key "yes" is read as a boolean (YAML 1.1); quote it
	domain: d\nnum_samples: 3\ntask_input: {limit: .inf}\n|3:21: ".inf" is not finite, which JSON cannot hold
	domain: d\nnum_samples: 3\ntask_input: &a [*a]\n|3:13: an alias refers to a node that holds it
	domain: d\nnum_samples: 3\n---\ndomain: e\n|3:1: a recipe is one YAML document, this is a second
	- domain: d\n|1:1: a recipe must be a mapping, not a list
	\n# nothing\n|1:1: recipe is empty
	domain: d\nnum_samples: 3\ngrammar: {start: s, rules: {s: [{template: a, llm_fill: {prompt: b}}]}}\n|3:33: "grammar.rules.s[0]" must have one of "template" and "llm_fill"
	domain: d\nnum_samples: 3\ngrammar: {start: t, rules: {s: [{template: a}]}}\n|3:18: "grammar.start" names undefined rule "t"
	domain: d\nnum_samples: 3\ntask_input: {labels: a}\n|3:22: "task_input.labels" must be a list of labels
	domain: d\nnum_samples: 3\ntask_input: {labels: [a, [b]]}\n|3:26: "task_input.labels" has a label that is not a string, an integer or a boolean
	domain: d\nnum_samples: 3\ntask_input: {label_distribution: {a: -1}}\n|3:38: "task_input.label_distribution.a" must be a number not less than 0
	domain: d\nnum_samples: 3\ntask_input: {label_distribution: {a: 0, b: 0}}\n|3:34: "task_input.label_distribution" gives every label weight 0
	domain: d\nnum_samples: 3\nrouter_config:\n  epsilon_decay: 0\n|4:18: "router_config.epsilon_decay" must be a number greater than 0 and at most 1
	domain: d\nnum_samples: 3\nrouter_config:\n  arms: [a, {name: a}]\n|4:13: arm "a" is listed twice
	domain: d\nnum_samples: 3\nquality: {threshold: 2}\n|3:22: "quality.threshold" must be a number from 0 to 1
	domain: d\nnum_samples: 3\nconstraints: {min_words: 9, max_words: 3}\n|3:26: "constraints.min_words" is greater than "constraints.max_words"
	EOF
	run --separate-stderr sg-plan nosuch.yaml
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-plan: cannot open recipe 'nosuch.yaml': No such file or directory"
}

@test "what a recipe names is checked: policy, arms, files, patterns, output directory" {
	mkdir sub
	: > sub/kb.md
	: > afile
	while IFS='|' read -r text msg; do
		printf -- "domain: d\nnum_samples: 3\n$text" > sub/r.yaml
		run --separate-stderr sg-plan sub/r.yaml
		[ "$status" -eq 3 ] || { echo "$text: status $status" >&2; return 1; }
		[ -z "$output" ]
		assert_equal "$stderr" "sg-plan: sub/r.yaml:$msg"
	done <<-'EOF'
	router_config:\n  policy: ucb2\n|4:11: policy "ucb2" is not one of sg-route(1)'s
	router_config: {arms: [naive_balanced, naive_fancy]}\n|3:40: unknown arm "naive_fancy" (not a preset; declare it with a generator)
	router_config: {arms: [{name: x, generator: gpt}]}\n|3:24: arm "x": unknown generator "gpt"
	router_config: {arms: [{name: x, generator: command}]}\n|3:24: arm "x": generator "command" needs "command"
	knowledge_base: kb\n|3:17: "knowledge_base": cannot open 'sub/kb': No such file or directory
	knowledge_base: ../sub/kb.md\nvalidators: {perplexity: {reference: [kb.md, none.txt]}}\n|4:46: "validators.perplexity.reference": cannot open 'sub/none.txt': No such file or directory
	validators: {toxicity: {lexicon: words.tsv}}\n|3:34: "validators.toxicity.lexicon": cannot open 'sub/words.tsv': No such file or directory
	constraints: {pattern: "(ab"}\n|3:24: "constraints.pattern" is not a usable pattern: missing closing parenthesis at position 3
	validators: {regex: {pattern: "a{2,1}"}}\n|3:31: "validators.regex.pattern" is not a usable pattern: numbers out of order in {} quantifier at position 1
	constraints: {schema: {properties: {t: {pattern: "\\\\"}}}}\n|3:50: "constraints.schema" is unusable: /properties/t: pattern "\": \ at end of pattern at position 1
	output_path: afile/out.jsonl\n|3:14: "output_path": cannot write in 'afile': not a directory
	EOF
	# a directory that does not exist yet is fine: sg-run makes it
	printf 'domain: d\nnum_samples: 3\noutput_path: new/dir/out.jsonl\nknowledge_base: kb.md\n' > sub/r.yaml
	run --separate-stderr sg-plan sub/r.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ ! -e new ]
}

@test "unknown fields are warned about at their position and kept" {
	run --separate-stderr sg-plan "$FIXTURES/plan-unknown.yaml"
	[ "$status" -eq 0 ]
	assert_equal "$stderr" "sg-plan: $FIXTURES/plan-unknown.yaml:3:1: unknown field \"colour\"
sg-plan: $FIXTURES/plan-unknown.yaml:6:3: unknown field \"router_config.exploration\"
sg-plan: $FIXTURES/plan-unknown.yaml:11:5: unknown field \"validators.length.maximum\"
sg-plan: $FIXTURES/plan-unknown.yaml:12:3: unknown validator \"spelling\""
	assert_equal "$(echo "$output" | jq -c '[.job, .n, .recipe.colour]' | tr '\n' ' ')" '[0,2,"blue"] [1,2,"blue"] '
}

@test "YAML scalars resolve as in YAML 1.1 (PyYAML)" {
	run --separate-stderr sg-plan "$FIXTURES/plan-yaml11.yaml"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | head -1 | jq -c '.recipe | [.num_samples, .task_input, .validators]')" \
		'[12,{"flags":[true,false,true,false,true,false,"y","n"],"quoted":["yes","off","12","~"],"ints":[15,5,1000,-31,12,90],"strings":["0o17","08","1e3","-.5","1.5:3","2001-12-14"],"floats":[0.5,1000,1,10.5,90.5],"nulls":[null,null,null,null],"empty":null,"tagged":"12","anchored":"15","forced":42,"merged":{"tone":"calm","length":4}},{"deduplication":{"enabled":true},"json_schema":{"enabled":false}}]'
	[[ "$output" == *'"ints":[15,5,1000,-31,12,90],'*'"floats":[0.5,1000.0,1.0,10.5,90.5],'* ]]
}

@test "YAML recipes load as PyYAML loads them" {
	python3 -c 'import yaml' 2>/dev/null || skip "no PyYAML"
	for f in plan-reviews.yaml plan-yaml11.yaml plan-faq.json; do
		run --separate-stderr sg-plan -n1 "$FIXTURES/$f"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		assert_equal "$(echo "$output" | jq -S .recipe)" \
			"$(python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])), default=str))' "$FIXTURES/$f" | jq -S .)"
	done
}

@test "an LLM is detected from the environment unless told" {
	llm_is() {
		want=$1
		shift
		run --separate-stderr env "$@" sg-plan -n1 "$FIXTURES/plan-minimal.yaml"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		assert_equal "$(echo "$output" | jq -r .context.llm)" "$want"
	}
	llm_is false
	llm_is true OPENAI_API_KEY=sk-x
	llm_is true OPENAI_BASE_URL=http://localhost:8080/v1
	llm_is false OPENAI_API_KEY= OPENAI_BASE_URL=
	run --separate-stderr env OPENAI_API_KEY=sk-x sg-plan --no-llm -n1 "$FIXTURES/plan-minimal.yaml"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq .context.llm)" = false ]
	run --separate-stderr sg-plan --llm -n1 "$FIXTURES/plan-minimal.yaml"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq .context.llm)" = true ]
}

@test "bad command lines exit 2 with the usage" {
	for args in "-b 0 $REVIEWS" "-n x $REVIEWS" "-t -4 $REVIEWS" "-r '' $REVIEWS" "" "$REVIEWS $REVIEWS"; do
		eval "run --separate-stderr sg-plan $args"
		[ "$status" -eq 2 ] || { echo "sg-plan $args: $status" >&2; return 1; }
		[ -z "$output" ]
		[[ "$stderr" == *"usage: sg-plan "* ]]
	done
	run --separate-stderr sg-plan -b 0 "$REVIEWS"
	[[ "$stderr" == 'sg-plan: -b: "0" is not a positive integer'* ]]
}

@test "the example recipe of sg-recipe(5) loads without a warning" {
	sed -n '/^A complete recipe/,/^\.Ed/p' "$MANDIR/sg-recipe.5" | sed '1,2d;$d' > r.yaml
	[ "$(wc -l < r.yaml)" -gt 50 ]
	run --separate-stderr sg-plan r.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c '[.run, .n, .target]' | sort -u)" '["reviews_sentiment_v1",5,30]'
}
