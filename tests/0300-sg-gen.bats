#!/usr/bin/env bats
# sg-gen: templater and command generators, JSON escaping, temperature,
# pass-through and error reporting.

load helpers

# A routed templater job with grammar fixture $1, changed by the jq filter $2;
# more arguments go to jq.
job() {
	jq -nc --slurpfile g "$FIXTURES/$1" '{type: "job", run: "t", job: 0,
		n: 5, target: 30, accepted: 0, context: {format: "jsonl"},
		recipe: {job_id: "t", output_format: "jsonl", grammar: $g[0]},
		batch: 1, arm: "templater_balanced", generator: "templater",
		params: {temperature: 1.0, max_depth: 10}, seed: 42} | '"${2:-.}" "${@:3}"
}

# jq filter $2 over the sample records in $output; $1 is -c or -r.
samples() {
	printf '%s\n' "$output" | jq "$1" "select(.type == \"sample\") | $2"
}

# Whether the jq condition $1 holds for every sample in $output.
all_samples() {
	[ "$(printf '%s\n' "$output" | jq -s "map(select(.type == \"sample\") | $1) | all")" = true ]
}

# A command job running the fixture script gen-echo.sh with arguments.
cmdjob() {
	local n=$1
	shift
	job gen-skew.json ".generator = \"command\" | .arm = \"mine\" |
		.n = $n | .command = \$ARGS.positional" --args \
		sh "$FIXTURES/gen-echo.sh" "$@"
}

@test "the same job gives the same records byte for byte" {
	job gen-reviews.json '.n = 20' >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	first=$output
	run --separate-stderr sg-gen <job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "$first"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 22 ]
	assert_equal "$(printf '%s\n' "$output" | head -1)" "$(cat job.jsonl)"
	assert_equal "$(printf '%s\n' "$output" | sed -n 2p | jq -c keys_unsorted)" \
		'["type","id","run","batch","index","arm","generator","params","seed","data"]'
	assert_equal "$(samples -r '.id' | tr '\n' ' ')" \
		"$(seq 0 19 | sed 's/^/t:1:/' | tr '\n' ' ')"
	assert_equal "$(printf '%s\n' "$output" | tail -1)" \
		'{"type":"batch","run":"t","batch":1,"arm":"templater_balanced","generator":"templater","params":{"temperature":1,"max_depth":10},"context":{"format":"jsonl"},"n":20,"generated":20,"errors":0}'
	all_samples '.seed == 42 and .params.max_depth == 10 and .arm == "templater_balanced"'
}

@test "different seeds give different samples" {
	run --separate-stderr sg-gen < <(job gen-reviews.json '.n = 20 | .seed = 1')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	a=$(samples -c '.data')
	run --separate-stderr sg-gen < <(job gen-reviews.json '.n = 20 | .seed = 2')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	b=$(samples -c '.data')
	[ "$(printf '%s\n' "$b" | wc -l)" -eq 20 ]
	[ "$(printf '%s\n' "$a" | sort -u | wc -l)" -gt 5 ]
	[ "$a" != "$b" ]
}

@test "temperature reshapes the weights as w^(1/T)" {
	for t in 0.3 1 3; do
		job gen-skew.json ".n = 2000 | .params.temperature = $t |
			.context.format = \"text\""
	done >jobs.jsonl
	run --separate-stderr sg-gen jobs.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	counts=$(printf '%s\n' "$output" | jq -r 'select(.type == "sample") |
		"\(.params.temperature) \(.data)"' | sort | uniq -c | awk '$3 == "B" { print $2, $1 }')
	# expected B: 0.07% at T=0.3, 10% at T=1, 32.5% at T=3
	b03=$(printf '%s\n' "$counts" | awk '$1 == 0.3 { print $2 }')
	b1=$(printf '%s\n' "$counts" | awk '$1 == 1 { print $2 }')
	b3=$(printf '%s\n' "$counts" | awk '$1 == 3 { print $2 }')
	[ "${b03:-0}" -le 10 ]
	[ "$b1" -ge 150 ] && [ "$b1" -le 250 ]
	[ "$b3" -ge 560 ] && [ "$b3" -le 780 ]
}

@test "nested rules expand into JSON with typed unquoted placeholders" {
	run --separate-stderr sg-gen < <(job gen-reviews.json '.n = 200')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	data=$(samples -c '.data')
	[ "$(printf '%s\n' "$data" | wc -l)" -eq 200 ]
	re='^(I (love|hate) this (phone|kettle|(red|blue) lamp)[.]|The (phone|kettle|(red|blue) lamp) is (fine|awful), says (Ann|Bob)[.])$'
	all_samples "(.data.review_text | test(\"$re\")) and
		(.data.rating | IN(1, 3, 5)) and (.data.label | IN(\"positive\", \"negative\")) and
		.data.lang == \"en\" and (.data | keys_unsorted == [\"review_text\", \"rating\", \"label\", \"lang\"])"
	printf '%s\n' "$data" | grep -q 'red lamp'
	printf '%s\n' "$data" | grep -q 'blue lamp'
	printf '%s\n' "$data" | grep -q 'says Bob'
}

@test "text mode: data is the string, format taken from the recipe" {
	run --separate-stderr sg-gen < <(job gen-reviews.json '.n = 3 | del(.context.format) |
		.recipe.output_format = "text" | .recipe.grammar.start = "body"')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	all_samples '.data | type == "string"'
	[ "$(samples -c . | wc -l)" -eq 3 ]
}

@test "quotes, backslashes and control characters are escaped inside JSON strings" {
	run --separate-stderr sg-gen < <(job gen-escape.json '.n = 80')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	data=$(samples -c '.data')
	[ "$(printf '%s\n' "$data" | wc -l)" -eq 80 ]
	# every sample parsed, and every value round-trips to its raw text
	run --separate-stderr jq -r --slurp '[.[] | .text] | unique | .[] | @json' <<<"$data"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '"C:\\path\\to\\file"
"He said \"hi\" to Ann \"the Bold\""
"He said \"hi\" to back\\slash"
"bell\u0007and\u001fend"
"line one\nline two\tand a tab"'
	run --separate-stderr jq -r --slurp '[.[] | .note] | unique | .[]' <<<"$data"
	assert_equal "$output" 'said "Ann "the Bold""
said "back\slash"'
	[ -z "$stderr" ]
	run --separate-stderr jq -c --slurp '[.[] | [.n, .pi, .ok]] | unique' <<<"$data"
	assert_equal "$output" '[[-12,3.25,false],[-12,3.25,true],[40,3.25,false],[40,3.25,true]]'
	[ -z "$stderr" ]
}

@test "an expansion deeper than max_depth is an error sample" {
	run --separate-stderr sg-gen < <(job gen-deep.json '.n = 60 |
		.params.max_depth = 3 | .context.format = "text"')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	samples=$(samples -c .)
	[ "$(printf '%s\n' "$samples" | jq -r '.data // .error' | sort -u | tr '\n' '|')" = \
		'end|max depth 3 exceeded in rule "s"|xend|xxend|' ]
	errors=$(printf '%s\n' "$samples" | jq -s 'map(select(.error)) | length')
	[ "$errors" -gt 0 ]
	assert_equal "$(printf '%s\n' "$output" | tail -1 | jq -c '[.n, .generated, .errors]')" \
		"[60,$((60 - errors)),$errors]"
	all_samples 'has("data") != has("error")'
}

@test "llm_fill leaves fail without an LLM, other branches still generate" {
	run --separate-stderr sg-gen < <(job gen-llm.json '.n = 40 | .context.format = "text"')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(samples -r '.data // .error' | sort -u)" \
		'plain
rule "topic" needs an LLM (llm_fill)'
}

@test "output that is not JSON in JSON mode is an error sample; nothing generated is status 1" {
	run --separate-stderr sg-gen < <(job gen-reviews.json '.n = 2 |
		.recipe.grammar.rules.review = [{template: "{\"a\": <label>}"}]')
	[ "$status" -eq 1 ]
	[[ "$stderr" == 'sg-gen: nothing generated: <stdin>:1: sample 0: template output is not valid JSON at column '* ]]
	[ "$(echo "$stderr" | wc -l)" -eq 1 ]
	samples -r '.error' |
		grep -qx 'template output is not valid JSON at column [0-9]*: .*'
	[ "$(samples -r .error_kind | sort -u)" = content ]
	[ "$(printf '%s\n' "$output" | tail -1 | jq -c '[.errors, has("infrastructure_errors")]')" = '[2,false]' ]
}

@test "a bad grammar fails the whole job with its reason" {
	run --separate-stderr sg-gen < <(job gen-deep.json '.n = 2 |
		.recipe.grammar.rules.s[0].template = "<zz>"')
	[ "$status" -eq 7 ]
	assert_equal "$stderr" 'sg-gen: <stdin>:1: bad grammar: rule "s" option 1: unknown rule "zz"'
	[ "$(samples -c '[.error_kind, .error_scope]' | sort -u)" = '["infrastructure","arm"]' ]
	[ "$(samples -r '.error' | sort -u)" = \
		'bad grammar: rule "s" option 1: unknown rule "zz"' ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 4 ]
}

@test "generators that need an LLM give error samples, never fake data" {
	run --separate-stderr sg-gen < <(job gen-reviews.json '.n = 3 | .generator = "naive"')
	[ "$status" -eq 7 ]
	assert_equal "$stderr" 'sg-gen: <stdin>:1: no LLM configured: set OPENAI_BASE_URL or OPENAI_API_KEY'
	[ "$(samples -c '[.index, .error, has("data")]' | tr -d '\n')" = \
		'[0,"no LLM configured: set OPENAI_BASE_URL or OPENAI_API_KEY",false][1,"no LLM configured: set OPENAI_BASE_URL or OPENAI_API_KEY",false][2,"no LLM configured: set OPENAI_BASE_URL or OPENAI_API_KEY",false]' ]
	assert_equal "$(printf '%s\n' "$output" | tail -1 | jq -c '[.generated, .errors, .infrastructure_errors, .error_scope]')" '[0,3,3,"arm"]'
	run --separate-stderr sg-gen < <(job gen-reviews.json '.n = 1 | .generator = "magic"')
	[ "$status" -eq 7 ]
	assert_equal "$stderr" 'sg-gen: <stdin>:1: generator "magic" is not available'
}

@test "templater: a planned label draws only the start rule's options that give it" {
	# nine in ten unplanned samples would be positive
	plan='["negative","negative","negative","positive","negative","positive"]'
	run --separate-stderr sg-gen < <(job gen-labels.json \
		".n = 6 | .label_plan = $plan | .recipe.evaluation.label_field = \"intent\"")
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(samples -c .data.intent | jq -sc .)" "$plan"
	all_samples '(has("label_missed") | not) and
		(.data as $d | $d.text | endswith(if $d.intent == "positive" then " yes" else " no" end))'
}

@test "templater: a label a rule gives is drawn again until it comes; a sample without it says so" {
	# the start rule's one option takes its label from the rule "label"
	plan='["negative","negative","positive","negative","neutral","negative"]'
	run --separate-stderr sg-gen < <(job gen-reviews.json ".n = 6 | .label_plan = $plan")
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(samples -c '.data.label' | head -4 | jq -sc .)" \
		'["negative","negative","positive","negative"]'
	assert_equal "$(samples -c '.data.label' | tail -1)" '"negative"'
	assert_equal "$(samples -r '.label_missed // "-"' | tr '\n' '|')" \
		'-|-|-|-|20 draws gave no sample whose "label" is "neutral"|-|'
	samples -r 'select(.index == 4) | .data.label' | grep -qx 'positive\|negative'
	# an option without the field cannot give it: drawn as without a plan
	run --separate-stderr sg-gen < <(job gen-reviews.json '.n = 2 | .label_plan = ["positive", "negative"] |
		.recipe.evaluation.label_field = "sentiment"')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(samples -r .label_missed | sort -u)" \
		'no option of the start rule gives "sentiment" the value "negative"
no option of the start rule gives "sentiment" the value "positive"'
	# text output has no label field: the plan is left alone
	run --separate-stderr sg-gen < <(job gen-skew.json '.n = 3 | .context.format = "text" | .label_plan = ["x", "x", "x"]')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	all_samples '(.data | type) == "string" and (has("label_missed") | not)'
}

@test "a job whose label_plan is not an array of strings is skipped" {
	{ job gen-skew.json '.label_plan = ["a", 1]'; job gen-skew.json '.label_plan = "a"'; job gen-skew.json '.n = 1 | .context.format = "text"'; } >jobs.jsonl
	run --separate-stderr sg-gen jobs.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-gen: jobs.jsonl:1: job "label_plan" is not an array of strings
sg-gen: jobs.jsonl:2: job "label_plan" is not an array of strings'
	[ "$(samples -c .index | tr -d '\n')" = 0 ]
}

@test "records of other types and unknown fields pass through unchanged" {
	{
		echo '{"type":"note","x":[1,2.5,"é"],"z":{"a":null}}'
		job gen-reviews.json '.n = 1 | .mine = {"keep": [true]}'
		echo '{"type":"reward","run":"t","batch":0,"reward":0.5}'
	} >in.jsonl
	run --separate-stderr sg-gen in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(printf '%s\n' "$output" | sed -n 1p)" "$(sed -n 1p in.jsonl)"
	assert_equal "$(printf '%s\n' "$output" | sed -n 2p)" "$(sed -n 2p in.jsonl)"
	assert_equal "$(printf '%s\n' "$output" | sed -n 5p)" "$(sed -n 3p in.jsonl)"
	assert_equal "$(printf '%s\n' "$output" | jq -r .type | tr '\n' ' ')" 'note job sample batch reward '
}

@test "a malformed line is reported and the other jobs still generate" {
	{
		job gen-reviews.json '.n = 2'
		echo '{"type":"job", "n": '
		job gen-reviews.json '.n = 3 | .batch = 2'
	} >in.jsonl
	run --separate-stderr sg-gen <in.jsonl
	[ "$status" -eq 1 ]
	[[ "$stderr" == 'sg-gen: <stdin>:2: invalid JSON at column '* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	assert_equal "$(printf '%s\n' "$output" | jq -c 'select(.type == "batch") | [.batch, .generated]' | tr -d '\n')" \
		'[1,2][2,3]'
}

@test "a job without a required field is skipped, the next one runs" {
	{
		job gen-reviews.json 'del(.arm)'
		job gen-reviews.json '.n = "5"'
		job gen-reviews.json '.n = 1'
	} >in.jsonl
	run --separate-stderr sg-gen <in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-gen: <stdin>:1: job has no "arm"
sg-gen: <stdin>:2: job "n" is not a non-negative integer'
	assert_equal "$(printf '%s\n' "$output" | jq -r .type | tr '\n' ' ')" 'job sample batch '
}

@test "--strict stops at the first bad record" {
	{
		job gen-reviews.json '.n = 1'
		echo 'nonsense'
		job gen-reviews.json '.n = 1'
	} >in.jsonl
	run --separate-stderr sg-gen --strict in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" "sg-gen: in.jsonl:2: invalid JSON at column 8: '[' or '{' expected near 'nonsense'"
	assert_equal "$(printf '%s\n' "$output" | jq -r .type | tr '\n' ' ')" 'job sample batch '
}

@test "an unreadable file is reported with status 4" {
	run --separate-stderr sg-gen no-such-file
	[ "$status" -eq 4 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-gen: cannot open 'no-such-file': No such file or directory"
}

@test "command: one sample per line, with the job's fields and environment" {
	run --separate-stderr sg-gen -u < <(cmdjob 3 env)
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(samples -c '[.id, .arm, .generator, .data]' | tr -d '\n')" \
		'["t:1:0","mine","command",{"i":0,"run":"t","batch":1,"seed":42}]["t:1:1","mine","command",{"i":1,"run":"t","batch":1,"seed":42}]["t:1:2","mine","command",{"i":2,"run":"t","batch":1,"seed":42}]'
	assert_equal "$(printf '%s\n' "$output" | tail -1 | jq -c '[.generator, .n, .generated, .errors]')" '["command",3,3,0]'
}

@test "command: the job arrives on stdin as one line" {
	cmdjob 1 stdin >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(printf '%s\n' "$output" | sed -n 2p | jq -c .data)" "$(cat job.jsonl)"
}

@test "command: the job's label_plan says the label of each line's sample" {
	run --separate-stderr sg-gen < <(cmdjob 3 plan | jq -c '.label_plan = ["b", "a", "b"]')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(samples -c '[.index, .data]' | tr -d '\n')" \
		'[0,{"text":"line 0","label":"b"}][1,{"text":"line 1","label":"a"}][2,{"text":"line 2","label":"b"}]'
}

@test "command: arguments are never interpreted by a shell" {
	run --separate-stderr sg-gen < <(cmdjob 4 args 'a;b' '$(touch pwned)' '`touch pwned`' '* > x')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ ! -e pwned ] && [ ! -e x ]
	assert_equal "$(samples -r '.data')" 'a;b
$(touch pwned)
`touch pwned`
* > x'
	# a string is split at blanks, with no quoting or expansion
	run --separate-stderr sg-gen < <(job gen-skew.json ".generator = \"command\" | .n = 3 |
		.command = \"sh $FIXTURES/gen-echo.sh args a;b \$(touch pwned)\"")
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ ! -e pwned ]
	assert_equal "$(samples -r '.data')" 'a;b
$(touch
pwned)'
}

@test "command: sample records keep their fields, other lines become data" {
	run --separate-stderr sg-gen < <(cmdjob 10 mixed)
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	samples=$(samples -c .)
	assert_equal "$(printf '%s\n' "$samples" | head -1)" \
		'{"type":"sample","id":"t:1:0","run":"t","batch":1,"index":7,"arm":"mine","generator":"command","params":{"temperature":1,"max_depth":10},"seed":42,"data":{"x":1},"note":"mine"}'
	assert_equal "$(printf '%s\n' "$samples" | sed 1d | jq -c '[.index, .data // .error]' | tr -d '\n')" \
		'[1,42][2,"not JSON at all"][3,"a string"][4,"out of ideas"][5,{"type":"other","y":2}]'
	assert_equal "$(printf '%s\n' "$output" | tail -1 | jq -c '[.n, .generated, .errors]')" '[10,5,5]'
}

@test "command: a failing child is reported, its output kept, status 5" {
	run --separate-stderr sg-gen < <(cmdjob 3 fail; job gen-reviews.json '.n = 1 | .batch = 2')
	[ "$status" -eq 5 ]
	assert_equal "$stderr" 'sg-gen: <stdin>:1: command "sh" exited with status 3'
	assert_equal "$(printf '%s\n' "$output" | jq -c 'select(.type != "job") | [.type, .data // .generated]' | tr -d '\n')" \
		'["sample",{"ok":true}]["batch",1]["sample",{"review_text":"I love this blue lamp.","rating":5,"label":"negative","lang":"en"}]["batch",1]'
	assert_equal "$(printf '%s\n' "$output" | jq -c 'select(.type == "batch" and .batch == 1) | .errors')" 2
}

@test "command: a child that writes before reading cannot deadlock; extra lines are ignored" {
	run --separate-stderr timeout 20 sg-gen < <(cmdjob 5 flood)
	[ "$status" -eq 0 ]
	assert_equal "$stderr" 'sg-gen: <stdin>:1: command "sh" printed 2995 lines more than n = 5; ignored them'
	[ "$(samples -c . | wc -l)" -eq 5 ]
}

@test "command: a missing program or command is reported, an infrastructure error" {
	run --separate-stderr sg-gen < <(job gen-skew.json '.generator = "command" | .n = 2 |
		.command = ["no-such-program-sg"]')
	[ "$status" -eq 7 ]
	assert_equal "$stderr" 'sg-gen: <stdin>:1: cannot run "no-such-program-sg": No such file or directory'
	assert_equal "$(printf '%s\n' "$output" | jq -r .type | tr '\n' ' ')" 'job sample sample batch '
	assert_equal "$(samples -c '[.error_kind, .error_scope]' | sort -u)" '["infrastructure","arm"]'
	assert_equal "$(printf '%s\n' "$output" | tail -1 | jq -c '[.generated, .errors, .infrastructure_errors]')" '[0,2,2]'
	# a program a shell or env(1) cannot run: status 127
	run --separate-stderr sg-gen < <(job gen-skew.json '.generator = "command" | .n = 2 |
		.command = ["env", "no-such-program-sg"]')
	[ "$status" -eq 7 ]
	[[ "$stderr" == *'sg-gen: <stdin>:1: command "env" exited with status 127
sg-gen: nothing generated: <stdin>:1: sample 0: command "env" exited with status 127: it cannot be run' ]]
	assert_equal "$(samples -r '[.error, .error_kind] | join(" / ")' | sort -u)" \
		'command "env" exited with status 127: it cannot be run / infrastructure'
	run --separate-stderr sg-gen < <(job gen-skew.json '.generator = "command" | .n = 1')
	[ "$status" -eq 7 ]
	assert_equal "$stderr" 'sg-gen: <stdin>:1: job has no "command"'
	[ "$(samples -r '.error')" = 'job has no "command"' ]
}
