#!/usr/bin/env bats
# sg-run: the whole loop, offline, to the exact target; resume; seeds;
# and what stops it at once: a recipe sg-plan refuses, an LLM server that
# cannot serve the run, arms paused until none can run.

load helpers
load llm-helpers

setup_file() {
	export REVIEWS=$EXAMPLES/reviews/reviews.yaml
}

@test "the reviews example reaches exactly its target with valid, traceable samples" {
	run --separate-stderr sg-run -v --seed 3 -o data.jsonl "$REVIEWS"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(wc -l < data.jsonl)" -eq 40 ]
	[ "$(jq -r .id data.jsonl | sort -u | wc -l)" -eq 40 ]
	[ "$(jq -r .data.text data.jsonl | sort -u | wc -l)" -eq 40 ]
	jq -e '.type == "sample" and .valid and .pass
		and (.data.label == "positive" or .data.label == "negative")
		and (.data.rating | type) == "number"
		and (.arm | startswith("templater_")) and .generator == "templater"
		and (.params.temperature | type) == "number"
		and (.batch | type) == "number" and (.seed | type) == "number"' data.jsonl >/dev/null
	[ "$(jq -s 'map(.data) | map(select((.label == "positive") != (.rating >= 4))) | length' data.jsonl)" -eq 0 ]
	[[ "$stderr" == "sg-run: iteration 1: batch 0: templater_"*" (init, p="* ]]
	[[ "$stderr" == *"sg-run: 40/40 accepted in 'data.jsonl' after "*" batches"* ]]
	echo "$stderr" | grep -q '^arm  *pulls  *rewards  *mean reward  *temperature$'
	jq -e '.accepted == 40 and .rewards == .steps and .target == 40' data.jsonl.state
}

@test "every accepted sample is valid against the recipe's JSON Schema (python3-jsonschema)" {
	sg-run --seed 5 -o data.jsonl "$REVIEWS" 2>/dev/null
	sg-plan -n1 "$REVIEWS" | jq -c .recipe.constraints.schema > schema.json
	/usr/bin/python3 - <<'PY'
import json, jsonschema
schema = json.load(open("schema.json"))
n = 0
for line in open("data.jsonl"):
    jsonschema.validate(json.loads(line)["data"], schema)
    n += 1
assert n == 40, n
PY
}

@test "the same seed gives a byte-identical dataset, another seed a different one" {
	mkdir a b c
	sg-run --seed 11 -o a/d.jsonl "$REVIEWS" 2>/dev/null
	sg-run --seed 11 -o b/d.jsonl "$REVIEWS" 2>/dev/null
	sg-run --seed 12 -o c/d.jsonl "$REVIEWS" 2>/dev/null
	cmp a/d.jsonl b/d.jsonl
	[ "$(jq -S 'del(.output.path)' a/d.jsonl.state)" = "$(jq -S 'del(.output.path)' b/d.jsonl.state)" ]
	! cmp -s a/d.jsonl c/d.jsonl
}

@test "a run stopped by its budget resumes to the dataset an uninterrupted run makes" {
	mkdir whole part
	sg-run --seed 21 -o whole/d.jsonl "$REVIEWS" 2>/dev/null
	run --separate-stderr sg-run --seed 21 -i 3 -o part/d.jsonl "$REVIEWS"
	[ "$status" -eq 6 ]
	[[ "$stderr" == *"sg-run: stopped after 3 iterations short of the target" ]]
	[ "$(jq .accepted part/d.jsonl.state)" -lt 40 ]
	run --separate-stderr sg-run -o part/d.jsonl "$REVIEWS"
	[ "$status" -eq 0 ]
	[[ "$stderr" == "sg-run: resuming: "*"/40 accepted"* ]]
	cmp whole/d.jsonl part/d.jsonl
}

@test "a run killed at random moments resumes without losing or duplicating samples" {
	for delay in 0.05 0.2 0.1 0.3 0.15; do
		sg-run --seed 8 -o d.jsonl "$REVIEWS" 2>/dev/null &
		pid=$!
		sleep "$delay"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		# the stages die with their reader or writer; let them go
		sleep 0.1
	done
	run --separate-stderr sg-run -o d.jsonl "$REVIEWS"
	[ "$status" -eq 0 ]
	[ "$(wc -l < d.jsonl)" -eq 40 ]
	[ "$(jq -r .id d.jsonl | sort -u | wc -l)" -eq 40 ]
	[ "$(jq -r .data.text d.jsonl | sort -u | wc -l)" -eq 40 ]
	jq -e '.accepted == 40' d.jsonl.state
	[ "$(jq .output.bytes d.jsonl.state)" -eq "$(wc -c < d.jsonl)" ]
}

@test "a recipe of the original system's format runs unchanged, offline" {
	cp "$FIXTURES/run-original.yaml" recipe.yaml
	run --separate-stderr sg-run --seed 1 -o out.jsonl recipe.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l < out.jsonl)" -eq 12 ]
	jq -e '(.data | keys) == ["confidence", "fact", "group"]
		and .checks.json_schema.pass and .checks.dedup.pass
		and (.arm | startswith("templater_"))' out.jsonl >/dev/null
	# the naive arms need an LLM: offered never, and the decision says why
	jq -c 'select(.type == "job") | .decision.unavailable' out.jsonl.state.log | sort -u > why
	[ "$(jq -r .naive_balanced why)" = "no LLM configured" ]
}

@test "the output path comes from the recipe when -o is not given" {
	mkdir -p data/generated
	cp "$FIXTURES/run-original.yaml" recipe.yaml
	run --separate-stderr sg-run --seed 1 recipe.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l < data/generated/tide_pool_facts.jsonl)" -eq 12 ]
	[ -f data/generated/tide_pool_facts.jsonl.state ]
}

@test "the original system's command line: --config, --output DIR/ and the router's flags" {
	run --separate-stderr sg-run --config "$REVIEWS" --output out/gen/ --save-state --seed 1 \
		--strategy ucb --initial-exploration 0.2 --batch-size 8 --initial-temp 0.8 --verbose
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(wc -l < out/gen/accepted_samples.jsonl)" -eq 40 ]
	jq -e '.reject' out/gen/rejected_samples.jsonl >/dev/null
	[ ! -e out/gen/accepted_samples.jsonl.state.rejected ]
	jq -e '.accepted == 40 and .router.policy == "ucb1" and .router.epsilon_start == 0.2
		and (.output.path | endswith("out/gen/accepted_samples.jsonl"))' out/gen/accepted_samples.jsonl.state
	[ "$(jq -s 'map(select(.type == "job")) | map(.n) | unique' out/gen/accepted_samples.jsonl.state.log | jq -c .)" = '[8]' ]
	[ "$(jq -s 'map(select(.type == "job") | .params.temperature) | first' out/gen/accepted_samples.jsonl.state.log)" = 0.8 ]
	[[ "$stderr" == *"sg-run: 40/40 accepted in 'out/gen/accepted_samples.jsonl' after "* ]]
	# an existing directory is one without its slash, and a run resumes there
	run --separate-stderr sg-run --config "$REVIEWS" --output out/gen
	[ "$status" -eq 0 ]
	[[ "$stderr" == "sg-run: resuming: 40/40 accepted"* ]]
	run --separate-stderr sg-run --config "$REVIEWS" "$REVIEWS"
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: sg-run "* ]]
	run --separate-stderr sg-run --strategy ucb2 "$REVIEWS"
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "sg-run: policy \"ucb2\" is not one of sg-route(1)'s"
}

@test "--no-filter keeps every sample the arms make: no sg-validate" {
	sed 's/^num_samples: .*/num_samples: 10/; s/^validators:$/&\n  length: {enabled: true, max: 3}/' "$REVIEWS" > r.yaml
	run --separate-stderr sg-run --seed 1 -i 2 -o a.jsonl r.yaml
	[ "$status" -eq 6 ]
	[ ! -s a.jsonl ]
	run --separate-stderr sg-run --seed 1 --no-filter -o b.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l < b.jsonl)" -eq 10 ]
	jq -e 'has("checks") | not' b.jsonl >/dev/null
	[ ! -e b.jsonl.state.seen ]
}

@test "-o - writes the samples to standard output, the state beside the recipe or in -s" {
	cp "$REVIEWS" r.yaml
	run --separate-stderr sg-run --seed 1 -o - r.yaml
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.type == "sample") | .id' <<<"$output" | wc -l)" -eq 40 ]
	[ ! -e ./- ]
	jq -e '.accepted == 40' r.yaml.state
	[ -e r.yaml.state.rejected ]
	[[ "$stderr" == *"sg-run: 40/40 accepted in '<stdout>' after "* ]]
	run --separate-stderr sg-run --seed 1 -o - -s run/st r.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l <<<"$output")" -eq 40 ]
	jq -e '.accepted == 40' run/st
	run --separate-stderr sg-run -e 2 --dev dev.tsv -o - r.yaml
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "sg-run: -e needs the dataset in a file, not on standard output"
}

@test "in a pipe one line an iteration, within 100 columns; -v the decision, reward and checks; -q nothing" {
	sed 's/^num_samples: .*/num_samples: 20/' "$REVIEWS" > r.yaml
	run --separate-stderr sg-run --seed 3 -o a.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	steps=$(jq .steps a.jsonl.state)
	[ "$(grep -c '^sg-run: iteration [0-9]*: templater_[a-z]*: [0-9]/5 passed, reward 0\.[0-9]*; [0-9]*/20 accepted, [0-9.]*/s, ETA [0-9]*s$' <<<"$stderr")" -eq "$steps" ]
	[ "$(awk 'length($0) > 100' <<<"$stderr" | grep -vc '^arm \|^templater_')" -eq 0 ]
	[[ "$stderr" == *"sg-run: 20/20 accepted in 'a.jsonl' after $steps batches ($steps this run); policy "* ]]
	run --separate-stderr sg-run -v --seed 3 -o b.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ "$(grep -c '^sg-run: iteration [0-9]*: batch [0-9]*: templater_' <<<"$stderr")" -eq "$steps" ]
	[ "$(grep -c '^sg-run:   failed checks: ' <<<"$stderr")" -eq "$steps" ]
	run --separate-stderr sg-run -q --seed 3 -o c.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	cmp a.jsonl c.jsonl
	# -q still says why a run stops
	run --separate-stderr sg-run -q -i 1 -o d.jsonl "$REVIEWS"
	[ "$status" -eq 6 ]
	assert_equal "$stderr" "sg-run: stopped after 1 iterations short of the target"
}

@test "why an arm's samples fail is said once a run, quoting the first; -q not; 20 barren batches stop it" {
	printf 'Great sound, I love it.\n\nTerrible battery, it broke.\n' >kb.txt
	# two examples are too few for extractive's labels at the default
	# confidence: every sample fails for its content
	cat >r.yaml <<'EOF'
job_id: weak
domain: reviews
task_input:
  description: "Reviews, positive or negative."
  labels: [positive, negative]
  examples:
    - {text: "I love it, great", label: positive}
    - {text: "It broke, terrible", label: negative}
num_samples: 4
knowledge_base: kb.txt
router_config:
  arms: [{name: extractive, generator: extractive}]
  batch_size: 2
EOF
	run --separate-stderr sg-run -i 3 -o a.jsonl r.yaml
	[ "$status" -eq 6 ]
	assert_equal "$(grep -v '^sg-run: iteration [0-9]: extractive: 0/2 passed' <<<"$stderr" | head -1)" \
		'sg-run: iteration 1: arm "extractive": a sample failed: no passage in 200 draws is labelled "positive" with confidence 0.9999'
	[ "$(grep -c 'a sample failed' <<<"$stderr")" -eq 1 ]
	[ "$(grep -c '^sg-run: iteration [0-9]: extractive: 0/2 passed' <<<"$stderr")" -eq 3 ]
	run --separate-stderr sg-run -q -i 3 -o b.jsonl r.yaml
	[ "$status" -eq 6 ]
	assert_equal "$stderr" "sg-run: stopped after 3 iterations short of the target"
	# such a run stops after 20 batches in a row that added nothing, not
	# at its budget (here 10 times the 2 batches needed, plus 10)
	run --separate-stderr sg-run -q -o c.jsonl r.yaml
	[ "$status" -eq 6 ]
	assert_equal "$stderr" "sg-run: the last 20 batches added no sample: stopped short of the target"
	assert_equal "$(jq .steps c.jsonl.state)" 20
}

@test "what the stages say again each iteration is said once a run, and counted" {
	sed 's/^num_samples: .*/num_samples: 20/; s/^validators:$/&\n  llm_judge: {enabled: true}/' "$REVIEWS" > r.yaml
	echo 'no_such_field: 1' >> r.yaml
	run --separate-stderr sg-run --seed 3 -o a.jsonl r.yaml
	[ "$status" -eq 0 ]
	steps=$(jq .steps a.jsonl.state)
	[ "$steps" -gt 2 ]
	[ "$(grep -c 'unknown field "no_such_field"' <<<"$stderr")" -eq 1 ]
	[ "$(grep -c '^sg-validate: the model checks .* are not run' <<<"$stderr")" -eq 1 ]
	grep -qx "sg-run: $((2 * steps - 2)) lines the stages said again not shown" <<<"$stderr"
	# with -q a stage's words are said only when its iteration fails
	run --separate-stderr sg-run -q --seed 3 -o b.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# a lexicon sg-validate cannot read, which the recipe's check passes
	sed 's/^num_samples: .*/num_samples: 30/; s/^  llm_judge: .*/  toxicity: {enabled: true, lexicon: lexicon}/' r.yaml > bad.yaml
	mkdir lexicon
	run --separate-stderr sg-run -q -o b.jsonl bad.yaml
	[ "$status" -eq 5 ]
	[[ "$stderr" == "sg-plan: bad.yaml:"*'unknown field "no_such_field"'*"
sg-validate: <stdin>:1: "*"lexicon"*"
sg-run: sg-validate exited with status 1
sg-run: iteration 1 failed; run again to resume" ]]
}

@test "on a terminal one status line in place: count, pace, ETA, arm; with NO_COLOR the lines of a pipe" {
	sed 's/^num_samples: .*/num_samples: 20/' "$REVIEWS" > r.yaml
	script -qec "env -u NO_COLOR sg-run --seed 3 -o a.jsonl r.yaml" /dev/null > tty.out
	[ "$(wc -l < a.jsonl)" -eq 20 ]
	# the status line is rewritten in place, never followed by a newline
	[ "$(grep -c 'sg-run: iteration' tty.out)" -eq 0 ]
	grep -q $'\r''sg-run: 0/20 accepted'$'\e''\[K' tty.out
	grep -Eq $'\r''sg-run: [0-9]+/20 accepted, [0-9.]+ samples/s, ETA [0-9]+s, arm templater_[a-z]+'$'\e''\[K' tty.out
	grep -q $'\r'$'\e''\[Ksg-run: 20/20 accepted in ' tty.out
	script -qec "sg-run --seed 3 -o b.jsonl r.yaml" /dev/null > plain.out
	! grep -q $'\e' plain.out
	[ "$(tr -d '\r' < plain.out | grep -c '^sg-run: iteration [0-9]*: templater_')" -eq "$(jq .steps b.jsonl.state)" ]
}

@test "an invalid recipe is refused with its position" {
	printf 'domain: x\nnum_samples: -3\n' > bad.yaml
	run --separate-stderr sg-run -o o.jsonl bad.yaml
	[ "$status" -eq 3 ]
	[[ "$stderr" == "sg-run: bad.yaml:2:"*"num_samples"* ]]
	[ ! -e o.jsonl ]
}

@test "a recipe no arm can serve offline stops before its first batch, status 7" {
	cat > llm.yaml <<'Y'
domain: d
num_samples: 2
grammar:
  start: s
  rules:
    s:
      - llm_fill:
          prompt: "Say hi"
Y
	run --separate-stderr sg-run -o o.jsonl llm.yaml
	[ "$status" -eq 7 ]
	[ -z "$output" ]
	assert_equal "$stderr" 'sg-run: no arm can run: grammar uses llm_fill and no LLM is configured (3 arms)'
	[ ! -e o.jsonl.state ]
}

@test "the examples' Makefile loop reaches the target one batch per make step" {
	cp -r "$EXAMPLES/reviews" ex
	run --separate-stderr make -s -C ex loop SG_BIN="$SG_BIN"
	[ "$status" -eq 0 ]
	[ "$(wc -l < ex/out/loop.jsonl)" -eq 40 ]
	[[ "$output" == *"40 samples in out/loop.jsonl" ]]
}

@test "all example recipes run to their targets offline" {
	for r in reviews/reviews.yaml support/support.yaml faq/faq.yaml; do
		cp -r "$EXAMPLES/$(dirname "$r")" "ex-$(dirname "$r")"
		(cd "ex-$(dirname "$r")" && sg-run --seed 4 -o out.jsonl "$(basename "$r")" 2>/dev/null)
		want=$(sg-plan -n1 "$EXAMPLES/$r" | jq .target)
		[ "$(wc -l < "ex-$(dirname "$r")/out.jsonl")" -eq "$want" ]
	done
}

@test "--dev: every reward has a dev part; -e records the dev accuracy every K iterations, as the Makefile does" {
	make -s -C "$BATS_TEST_DIRNAME/.." data >&2
	data=$BATS_TEST_DIRNAME/../build/data/sentiment
	cp -r "$EXAMPLES/sentiment" ex
	cd ex
	run --separate-stderr sg-run --seed 2026 --dev "$data/amazon-dev.tsv" -e 5 \
		-o out.jsonl sentiment.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l < out.jsonl)" -eq 300 ]
	steps=$(jq .steps out.jsonl.state)
	[ "$(wc -l < out.jsonl.state.evals)" -eq $(((steps + 4) / 5)) ]
	[ "$(echo "$stderr" | grep -c '^sg-run: evaluation after iteration [0-9]*: accuracy 0\.[0-9]* on .*amazon-dev.tsv. (majority 0\.520)$')" -eq $(((steps + 4) / 5)) ]
	# what they cost, apart from the batches
	grep -q "^sg-run: $(((steps + 4) / 5)) evaluations took [0-9]*\.[0-9] s of this run's [0-9]*\.[0-9] s$" <<<"$stderr"
	# the first rewards have no dev part: a model needs both labels
	jq -se 'map(select(.type == "reward")) | length == '"$steps"' and
		(map(select(.parts.dev != null)) | length) > '"$((steps - 3))"' and
		all(.dev.path == "'"$data/amazon-dev.tsv"'")' out.jsonl.state.log
	jq -e '.dev.hash | test("^[0-9a-f]{16}$")' out.jsonl.state
	# the evaluations are records, not rewards
	jq -se 'map(select(.source == "sg-eval")) | length == 0' out.jsonl.state.log
	# the same decisions and data as the example's Makefile
	make -s demo OUT=mk SG_BIN="$SG_BIN" DATA="$data" >/dev/null 2>&1
	cmp out.jsonl mk/sentiment.jsonl
}

@test "--arm-rewards: each evaluation rewards every arm by what leaving it out costs on the dev set, and withdraws a harmful one" {
	make -s -C "$BATS_TEST_DIRNAME/.." data >&2
	data=$BATS_TEST_DIRNAME/../build/data/sentiment
	cp -r "$EXAMPLES/sentiment" ex
	cd ex
	run --separate-stderr sg-run --seed 2026 --dev "$data/amazon-dev.tsv" -e 10 --arm-rewards \
		-o out.jsonl sentiment.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l < out.jsonl)" -eq 300 ]
	evals=$(jq -s 'map(select(.type == "eval")) | length' out.jsonl.state.evals)
	[ "$evals" -eq $((($(jq .steps out.jsonl.state) + 9) / 10)) ]
	# one reward an arm that has samples at each evaluation, its whole
	# share left out, learnt by sg-update and logged
	jq -se 'map(select(.type == "reward")) | length > 0 and
		all(.source == "sg-eval" and .window > 0 and .reward > 0 and .reward < 1)' out.jsonl.state.evals
	[ "$(jq -s 'map(select(.source == "sg-eval")) | length' out.jsonl.state.log)" -eq \
		"$(jq -s 'map(select(.type == "reward")) | length' out.jsonl.state.evals)" ]
	# each stands for the 10 batches since the last evaluation
	jq -se 'map(select(.source == "sg-eval")) | all(.weight == 10)' out.jsonl.state.log
	[ "$(jq .rewards out.jsonl.state)" -eq $(($(jq .steps out.jsonl.state) +
		$(jq -s 'map(select(.type == "reward")) | length' out.jsonl.state.evals))) ]
	# an arm whose labels are all wrong: withdrawn by an evaluation, its
	# samples to the rejects, made again by the others
	flipped_recipe +=
	run --separate-stderr sg-run --seed 2026 --dev "$data/amazon-dev.tsv" -e 5 --arm-rewards \
		-o f.jsonl flipped.json
	[ "$status" -eq 0 ]
	grep -q '^sg-run: evaluation after iteration [0-9]*: arm "flipped": its [0-9]* samples withdrawn: the dataset is better without them on the dev set (gain -[0-9.]*)$' <<<"$stderr"
	[ "$(wc -l < f.jsonl)" -eq 300 ]
	jq -se 'all(.arm != "flipped")' f.jsonl
	n=$(jq .arms.flipped.withdrawn f.jsonl.state)
	[ "$n" -gt 0 ]
	[ "$(jq -s 'map(select(.arm == "flipped" and (.reject | test("withdrawn$")))) | length' f.jsonl.state.rejected)" -eq "$n" ]
	[ "$(grep -o 'arm "flipped": its [0-9]*' <<<"$stderr" | awk '{ n += $NF } END { print n }')" -eq "$n" ]
	grep -q "^sg-run: withdrawn from the dataset: \(.*, \)\{0,1\}flipped $n\(,\|\$\)" <<<"$stderr"
	jq -e --argjson counts "$(jq -s 'group_by(.data.label) | map({(.[0].data.label): length}) | add' f.jsonl)" \
		'.accepted == 300 and .labels == $counts and .output.bytes == '"$(wc -c < f.jsonl)" f.jsonl.state
	# it needs the evaluations
	run --separate-stderr sg-run --dev "$data/amazon-dev.tsv" --arm-rewards -o o2.jsonl sentiment.yaml
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "sg-run: --arm-rewards needs -e, the evaluations it learns from"
}

@test "sg-eval warns when its test set is the dev set the router learnt from" {
	make -s -C "$BATS_TEST_DIRNAME/.." data >&2
	data=$BATS_TEST_DIRNAME/../build/data/sentiment
	cp -r "$EXAMPLES/sentiment" ex
	cd ex
	sg-run --seed 1 --dev "$data/amazon-dev.tsv" -o out.jsonl sentiment.yaml 2>/dev/null
	cp "$data/amazon-dev.tsv" copy.tsv
	run --separate-stderr sg-eval -c sentiment.yaml -T copy.tsv out.jsonl
	[ "$status" -eq 0 ]
	[[ "$stderr" == "sg-eval: 'copy.tsv' is the dev set the router of 'out.jsonl.state' learnt from: these figures are not on held-out data"$'\n'* ]]
	jq -e '.test_is_dev == true' <<<"$output"
	run --separate-stderr sg-eval -c sentiment.yaml -T "$data/amazon-test.tsv" out.jsonl
	[ "$status" -eq 0 ]
	[[ "$stderr" != *"dev set"* ]]
	jq -e '.test_is_dev == false' <<<"$output"
}

@test "-e without --dev is a usage error" {
	run --separate-stderr sg-run -e 5 -o o.jsonl "$REVIEWS"
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "sg-run: -e needs --dev, the real data to test on"
}

@test "--dev-gate: no batch that lowers the dev score is accepted; without --dev a usage error" {
	make -s -C "$BATS_TEST_DIRNAME/.." data >&2
	data=$BATS_TEST_DIRNAME/../build/data/sentiment
	cp -r "$EXAMPLES/sentiment" ex
	cd ex
	run --separate-stderr sg-run --seed 1 -i 40 --dev "$data/amazon-dev.tsv" --dev-gate -o out.jsonl sentiment.yaml
	# the gate refuses most batches once the dataset has its first few
	[ "$status" -eq 6 ]
	[ -s out.jsonl ]
	# the refused batches' rewards say so, with a dev part below 1/2 ...
	jq -se 'map(select(.type == "reward" and .reject)) | length > 0 and
		all(.reject == "its samples lower the dev score" and .parts.dev < 0.5)' out.jsonl.state.log
	jq -s 'map(select(.type == "reward" and .reject) | .batch) | sort' out.jsonl.state.log >refused
	# ... none of their samples is in the dataset, every one in the rejects
	jq -se --slurpfile r refused 'map(.batch) | unique | map(select(IN($r[0][]))) == []' out.jsonl
	jq -se --slurpfile r refused 'map(select(.reject == "its samples lower the dev score") | .batch) | unique == $r[0]' \
		out.jsonl.state.rejected
	# and the state counts them as rejected, the arms as rewarded
	jq -e --argjson n "$(jq -s 'map(select(.type == "sample")) | length' out.jsonl.state.rejected)" \
		'.rejected == $n and .rewards == .steps' out.jsonl.state
	# an arm whose every label is wrong: after its first batch, refused
	# batch after batch, and the run ends after 20 of them in a row (its
	# samples all reach the gate: none is refused for its fidelity alone)
	flipped_recipe =
	jq '.quality.min_fidelity = 0' flipped.json >f && mv f flipped.json
	run --separate-stderr sg-run --seed 1 -i 100 --dev "$data/amazon-dev.tsv" --dev-gate -o f.jsonl flipped.json
	[ "$status" -eq 6 ]
	assert_equal "$(tail -1 <<<"$stderr")" "sg-run: the last 20 batches all lowered the dev score: stopped short of the target"
	[ "$(jq -s 'map(select(.type == "reward")) | .[-20:] | all(.reject)' f.jsonl.state.log)" = true ]
	[ "$(grep -c ', refused;' <<<"$stderr")" -ge 20 ]
	[ "$(jq .steps f.jsonl.state)" -lt 100 ]
	cd ..
	run --separate-stderr sg-run --dev-gate -o o.jsonl "$REVIEWS"
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "sg-run: --dev-gate needs --dev, the real data to gate on"
}

# flipped_recipe OP: flipped.json, the sentiment recipe whose arms OP
# ("=" or "+=") an arm that writes the templater's batch with every label
# swapped
flipped_recipe() {
	cat >flip.sh <<-'EOF'
	#!/bin/sh
	exec jq -c '.generator = "templater"' | sg-gen |
		jq -c 'select(.type == "sample" and has("data")) | .data |
			.label |= (if . == "positive" then "negative" else "positive" end)'
	EOF
	chmod +x flip.sh
	sg-plan -n1 sentiment.yaml | jq ".recipe | .router_config.arms $1
		[{name: \"flipped\", generator: \"command\", command: [\"./flip.sh\"]}]" >flipped.json
}

# A recipe of LLM arms only, of $1 samples (default 10), in r.yaml.
llm_recipe() {
	printf 'domain: product_reviews\ntask_input: {description: short reviews of headphones}\nnum_samples: %s\nrouter_config: {arms: [naive_conservative, naive_balanced], batch_size: 5}\n' \
		"${1:-10}" > r.yaml
}

# What a state has learnt from rewards, not what its decisions counted.
learnt() {
	jq -S '{rewards, epsilon, arms: (.arms | map_values(select(.n) | {n, sum, temperature})),
		contexts: (.contexts | map_values(map_values(select(.n) | {n, sum, wins})))}' "$1"
}

@test "a recipe sg-plan refuses stops sg-run before its first batch, with its position" {
	printf 'domain: d\nnum_samples: 4\nrouter_config:\n  policy: ucb2\n' > r.yaml
	run --separate-stderr sg-run -o out/o.jsonl r.yaml
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-run: r.yaml:4:11: policy \"ucb2\" is not one of sg-route(1)'s"
	[ ! -e out ]
}

@test "without libcurl the arms that ask the server are paused, named why; an offline run needs none" {
	no_libcurl
	llm_recipe 5
	server
	run --separate-stderr env LD_LIBRARY_PATH="$PWD/nolib" sg-run -o o.jsonl r.yaml
	[ "$status" -eq 7 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-run: the arms that ask the LLM server are paused for this run: cannot load libcurl.so.4: $PWD/nolib/libcurl.so.4: file too short
sg-run: no arm can run: paused for this run (2 arms)"
	[ ! -e log.jsonl ] || [ "$(wc -l <log.jsonl)" -eq 0 ]
	kill "$SERVER"
	unset OPENAI_BASE_URL OPENAI_API_KEY
	sed 's/^num_samples: .*/num_samples: 12/' "$EXAMPLES/reviews/reviews.yaml" >reviews.yaml
	run --separate-stderr env LD_LIBRARY_PATH="$PWD/nolib" sg-run -q --seed 1 -o d.jsonl reviews.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(wc -l <d.jsonl)" -eq 12 ]
}

@test "sg-gen loads libcurl while its job is routed when the arms ask the LLM server, only then" {
	# sg-run beside its stages, sg-gen among them noting its arguments
	mkdir stages
	cp "$(command -v sg-run)" stages/
	for s in sg-plan sg-route sg-validate sg-score sg-update; do
		ln -s "$(command -v $s)" stages/
	done
	printf '#!/bin/sh\necho "$*" >>"%s/args"\nexec "%s" "$@"\n' "$PWD" "$(command -v sg-gen)" >stages/sg-gen
	chmod +x stages/sg-gen
	llm_recipe 10
	server
	stages/sg-run -q --seed 1 -o o.jsonl r.yaml
	[ "$(wc -l <o.jsonl)" -eq 10 ]
	run grep -c -- --preload args
	assert_equal "$output" "$(wc -l <args)"
	kill "$SERVER"
	rm args
	sed 's/^num_samples: .*/num_samples: 12/' "$EXAMPLES/reviews/reviews.yaml" >reviews.yaml
	stages/sg-run -q --seed 1 -o d.jsonl reviews.yaml
	[ -s args ]
	! grep -q -- --preload args
}

@test "a server that refuses the key stops sg-run before its first batch: status 7, said once, rewards kept" {
	llm_recipe 5
	server --key "$KEY"
	sg-run --seed 2 -o o.jsonl r.yaml 2>/dev/null
	jq -e '.rewards == 1 and .accepted == 5' o.jsonl.state
	learnt o.jsonl.state > before
	kill "$SERVER"
	llm_recipe 10
	server --key other-key
	run --separate-stderr sg-run -o o.jsonl r.yaml
	[ "$status" -eq 7 ]
	[ -z "$output" ]
	port=$(cat port)
	assert_equal "$stderr" "sg-run: resuming: 5/10 accepted
sg-run: the arms that ask the LLM server are paused for this run: the LLM server at 'http://127.0.0.1:$port/v1' refuses the key: HTTP 401: Incorrect API key provided: ***. (OPENAI_API_KEY)
sg-run: no arm can run: paused for this run (2 arms)"
	# one look at the server, no batch
	assert_equal "$(jq -c '[.method, .path, .status]' log.jsonl | tail -1)" '["GET","/v1/models",401]'
	# the first run's 5 samples and its plan of sub-topics
	[ "$(requests)" -eq 6 ]
	assert_equal "$(learnt o.jsonl.state)" "$(cat before)"
	jq -e '.steps == 1 and .accepted == 5 and (.paused.server.error | startswith("the LLM server at"))' o.jsonl.state
	! grep -q -- "$KEY" <<<"$stderr"
}

@test "a server whose quota is spent stops sg-run within one iteration: status 7, said once, rewards kept" {
	llm_recipe 5
	server
	sg-run --seed 2 -o o.jsonl r.yaml 2>/dev/null
	learnt o.jsonl.state > before
	kill "$SERVER"
	llm_recipe 10
	rm log.jsonl
	server --quota
	run --separate-stderr sg-run -v -o o.jsonl r.yaml
	[ "$status" -eq 7 ]
	[ -z "$output" ]
	[ "$(grep -c 'You exceeded your current quota' <<<"$stderr")" -eq 1 ]
	[[ "$stderr" == *"sg-run: iteration 1: batch 1: naive_"*"0/5 passed, no reward; 5/10 accepted"* ]]
	[[ "$stderr" == *"
sg-run: iteration 1: batch 1: the arms that ask the LLM server are paused for this run: HTTP 429: You exceeded your current quota, please check your plan and billing details.
"* ]]
	[[ "$stderr" == *"
sg-run: no arm can run: paused for this run (2 arms)" ]]
	! grep -q 'run again to resume' <<<"$stderr"
	# the server's /models answers, as OpenAI's does; the batch asked once,
	# for its sub-topics, and sent no sample's request after that
	assert_equal "$(jq -c '[.method, .status]' log.jsonl | sort | uniq -c | tr -s ' ')" \
		' 1 ["GET",200]
 1 ["POST",429]'
	assert_equal "$(learnt o.jsonl.state)" "$(cat before)"
	jq -e '.steps == 2 and .pending == {} and .paused.server.batch == 1' o.jsonl.state
	assert_equal "$(jq -r 'select(.type == "reward" and .batch == 1) | [.reward, .skipped] | @json' o.jsonl.state.log)" \
		'[null,"HTTP 429: You exceeded your current quota, please check your plan and billing details."]'
}

@test "a dead port, a base URL without /v1, a model the server lacks: each named in one line, status 7" {
	llm_recipe
	server --models m1,m2
	port=$(cat port)
	run --separate-stderr sg-run -o o.jsonl r.yaml
	[ "$status" -eq 7 ]
	assert_equal "$stderr" "sg-run: arms \"naive_conservative\", \"naive_balanced\" are paused for this run: the LLM server at 'http://127.0.0.1:$port/v1' has no model \"gpt-4o-mini\"; it has: m1, m2
sg-run: no arm can run: paused for this run (2 arms)"
	jq -e '.paused.arms | keys == ["naive_balanced", "naive_conservative"]' o.jsonl.state
	rm -f o.jsonl*
	# Ollama's own base URL: the same host with /v1 answers
	run --separate-stderr env OPENAI_BASE_URL="http://127.0.0.1:$port" sg-run -o o.jsonl r.yaml
	[ "$status" -eq 7 ]
	assert_equal "$stderr" "sg-run: the arms that ask the LLM server are paused for this run: the base URL 'http://127.0.0.1:$port' lacks /v1: the server answers at 'http://127.0.0.1:$port/v1'; set OPENAI_BASE_URL to that
sg-run: no arm can run: paused for this run (2 arms)"
	kill "$SERVER"
	wait "$SERVER" 2>/dev/null || true
	rm -f o.jsonl*
	run --separate-stderr sg-run -o o.jsonl r.yaml
	[ "$status" -eq 7 ]
	[[ "$stderr" == "sg-run: the arms that ask the LLM server are paused for this run: cannot reach the LLM server at 'http://127.0.0.1:$port/v1': "*"Couldn't connect to server
sg-run: no arm can run: paused for this run (2 arms)" ]]
	[ "$(jq .rewards o.jsonl.state)" -eq 0 ]
}

@test "-m beats the arm's model, which beats OPENAI_MODEL: generation, the judge and the look at the server" {
	cat > r.yaml <<'Y'
domain: product_reviews
task_input: {description: short reviews of headphones}
num_samples: 4
router_config: {arms: [{name: naive_balanced, model: arm-model}], batch_size: 4}
validators: {llm_judge: {threshold: 0.1}, semantic: {min_similarity: 0}}
Y
	server --models flag-model,env-model
	export OPENAI_MODEL=env-model
	run --separate-stderr sg-run --seed 1 -m flag-model --embedding-model emb-flag -o o.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l < o.jsonl)" -eq 4 ]
	assert_equal "$(jq -r 'select(.method == "POST") | "\(.path) \(.body.model)"' log.jsonl | sort -u)" \
		'/v1/chat/completions flag-model
/v1/embeddings emb-flag'
	rm -f o.jsonl*
	run --separate-stderr sg-run --seed 1 -o o.jsonl r.yaml
	[ "$status" -eq 7 ]
	[[ "$stderr" == "sg-run: arm \"naive_balanced\" is paused for this run: the LLM server at '"*"' has no model \"arm-model\"; it has: flag-model, env-model"$'\n'* ]]
	sed -i 's/, model: arm-model//' r.yaml
	: >log.jsonl
	rm -f o.jsonl*
	run --separate-stderr sg-run --seed 1 -o o.jsonl r.yaml
	[ "$status" -eq 0 ]
	assert_equal "$(jq -r 'select(.method == "POST") | "\(.path) \(.body.model)"' log.jsonl | sort -u)" \
		'/v1/chat/completions env-model
/v1/embeddings text-embedding-3-small'
}

@test "with a bad server the offline arms run on; a rerun after the fix tries the LLM arms again" {
	cat > r.yaml <<'Y'
domain: product_reviews
task_input: {description: short reviews of headphones}
num_samples: 8
grammar:
  start: s
  rules:
    s: [{template: "The <a> is <b>."}]
    a: [{template: sound}, {template: case}, {template: cable}, {template: battery}, {template: band}, {template: app}]
    b: [{template: great}, {template: fine}, {template: poor}, {template: loud}, {template: flimsy}, {template: solid}]
router_config: {arms: [templater_balanced, naive_balanced], batch_size: 4}
Y
	server --key other-key
	run --separate-stderr sg-run --seed 1 -o o.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ "$(grep -c 'refuses the key' <<<"$stderr")" -eq 1 ]
	[ "$(wc -l < o.jsonl)" -eq 8 ]
	[ "$(jq -r .arm o.jsonl | sort -u)" = templater_balanced ]
	assert_equal "$(jq -r 'select(.type == "job") | .decision.unavailable.naive_balanced' o.jsonl.state.log | sort -u)" \
		"paused: the LLM server at 'http://127.0.0.1:$(cat port)/v1' refuses the key: HTTP 401: Incorrect API key provided: ***. (OPENAI_API_KEY)"
	# one look at the server, and nothing else asked of it
	[ "$(wc -l < log.jsonl)" -eq 1 ]
	steps=$(jq .steps o.jsonl.state)
	kill "$SERVER"
	server --key "$KEY"
	sed -i 's/^num_samples: .*/num_samples: 16/' r.yaml
	run --separate-stderr sg-run -o o.jsonl r.yaml
	[ "$status" -eq 0 ]
	jq -e 'has("paused") | not' o.jsonl.state
	[ "$(jq -s --argjson s "$steps" 'map(select(.type == "job" and .batch >= $s) | .decision.offered | index("naive_balanced") != null) | all' o.jsonl.state.log)" = true ]
}
