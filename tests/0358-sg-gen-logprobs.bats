#!/usr/bin/env bats
# The model's own perplexity: with validators.perplexity.logprobs the naive,
# rag and evol arms and llm_fill leaves ask for token logprobs, sg-gen keeps
# their mean in the sample's "logprobs", and sg-validate's perplexity check
# uses it; a server that refuses or omits them leaves the check to the
# offline model.

load helpers
load llm-helpers

# The samples of a naive job of $1 samples whose recipe's perplexity
# validator is $2; more arguments go to job().
logprob_job() {
	job "$1" ".recipe.validators.perplexity = $2 | ${3:-.}"
}

@test "logprobs asked for: each sample keeps their mean, the check uses it" {
	server
	logprob_job 3 '{logprobs: true, max_token_perplexity: 1.88}' >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	echo "$output" >samples.jsonl
	assert_equal "$(jq -sc 'map(.body.logprobs) | unique' log.jsonl)" '[true]'
	# the mean of the answer's token logprobs, their number, exp(-mean)
	assert_equal "$(jq -c 'select(.type == "sample") | .logprobs |
		[.tokens, (.mean * 1e4 | round), (.perplexity * 1e4 | round)]' samples.jsonl)" \
'[14,-6486,19128]
[14,-5229,16868]
[14,-6136,18470]'
	run --separate-stderr sg-validate samples.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c 'select(.type == "sample") | .checks.perplexity |
		[.pass, .source, (.perplexity * 1e4 | round)]' <<<"$output")" \
'[false,"logprobs",19128]
[true,"logprobs",16868]
[true,"logprobs",18470]'
	assert_equal "$(jq -r 'select(.type == "sample") | .checks.perplexity.why // empty' <<<"$output")" \
		'token perplexity 1.91, more than 1.88'
}

@test "each sample of an n answer keeps its own choice's logprobs" {
	server
	logprob_job 4 '{logprobs: true}' '.params.choices = 2' >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(requests)" -eq 2 ]
	# recompute each sample's mean from the logged request with jq
	assert_equal "$(jq -sc '[.[] | select(.type == "sample") | .logprobs.tokens] | length' <<<"$output")" 4
	[ "$(jq -sc '[.[] | select(.type == "sample") | .logprobs.mean] | unique | length' <<<"$output")" -eq 4 ]
	assert_equal "$(jq -c 'select(.type == "sample") | .logprobs |
		(.perplexity - (-.mean | exp)) | fabs < 1e-6' <<<"$output" | sort -u)" true
}

@test "without logprobs in the recipe none are asked for or kept" {
	server
	logprob_job 2 '{max_perplexity: 5}' >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -sc 'map(.body | has("logprobs")) | unique' log.jsonl)" '[false]'
	assert_equal "$(jq -sc 'map(select(.type == "sample") | has("logprobs")) | unique' <<<"$output")" '[false]'
}

@test "a request a server refuses for its logprobs is sent again without; the check falls back" {
	server --no-logprobs
	printf '%s\n' 'The stand-in says about it, which is fine.' >ref.txt
	logprob_job 4 "{logprobs: true, reference: \"$PWD/ref.txt\", max_perplexity: 1000}" >job.jsonl
	run --separate-stderr sg-gen -j 1 job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# two bodies wait per connection: those built before the first
	# refusal came back are refused, those built after go without
	assert_equal "$(jq -sc 'group_by(.status) | map([.[0].status, length, (map(.body.logprobs) | unique)])' log.jsonl)" \
		'[[200,4,[null]],[400,2,[true]]]'
	echo "$output" >samples.jsonl
	assert_equal "$(tail -1 samples.jsonl | jq -c '[.generated, .errors]')" '[4,0]'
	assert_equal "$(jq -sc 'map(select(.type == "sample") | has("logprobs")) | unique' samples.jsonl)" '[false]'
	run --separate-stderr sg-validate samples.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c 'select(.type == "sample") | .checks.perplexity | [.pass, .source]' <<<"$output" | sort -u)" \
		'[true,null]'
}

@test "a server that omits them: samples without, the offline model checks them" {
	server --omit-logprobs
	printf '%s\n' 'The stand-in says about it, which is fine.' >ref.txt
	logprob_job 2 "{logprobs: true, reference: \"$PWD/ref.txt\", max_perplexity: 1000}" >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -sc 'map(.body.logprobs) | unique' log.jsonl)" '[true]'
	echo "$output" >samples.jsonl
	assert_equal "$(jq -sc 'map(select(.type == "sample") | has("logprobs")) | unique' samples.jsonl)" '[false]'
	run --separate-stderr sg-validate samples.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c 'select(.type == "sample") | .checks.perplexity | [.pass, .source, (.perplexity > 1)]' <<<"$output")" \
'[true,null,true]
[true,null,true]'
}

@test "sg-validate: logprobs alone need no reference; a sample without them goes unchecked" {
	jq -nc '{domain: "d", num_samples: 1, validators: {perplexity: {logprobs: true}}}' >r.json
	texts "one" "two" | jq -c 'if .data == "one" then .logprobs = {mean: -4, tokens: 1, perplexity: 54.6} else . end' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '.checks.perplexity | if . then .perplexity |= floor else . end' <<<"$output")" \
'{"pass":false,"why":"token perplexity 54.6, more than 20","perplexity":54,"source":"logprobs"}
null'
	# without logprobs: true in the recipe a sample's logprobs are not used
	jq -nc '{domain: "d", num_samples: 1, validators: {perplexity: {reference: "r.json", max_perplexity: 1e9}}}' >r2.json
	run --separate-stderr sg-validate -r r2.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '.checks.perplexity.source' <<<"$output" | sort -u)" null
}

@test "evol: the evolved instruction and its response keep their tokens' logprobs; the judge asks none" {
	server
	logprob_job 2 '{logprobs: true}' '.generator = "evol" | .params.rounds = 2 |
		.recipe.task_input.examples = ["Explain why the sea has tides."]' >job.jsonl
	run --separate-stderr sg-gen -j 2 job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# evolve and respond ask for them, the equality judge (temperature 0) not
	assert_equal "$(jq -sc 'map([.body.temperature == 0, .body.logprobs]) | unique' log.jsonl)" \
		'[[false,true],[true,null]]'
	# the stand-in gives one logprob a word: the instruction's and the output's
	assert_equal "$(jq -c 'select(.type == "sample") | .logprobs.tokens ==
		(.data.instruction | split(" ") | length) + (.data.output | split(" ") | length)' <<<"$output")" \
'true
true'
	assert_equal "$(jq -c 'select(.type == "sample") | .logprobs |
		(.mean < -0.05 and .mean > -1) and ((.perplexity - (-.mean | exp)) | fabs < 1e-9)' <<<"$output")" \
'true
true'
}

@test "evol and llm_fill: a server that refuses logprobs is asked again without" {
	server --no-logprobs
	logprob_job 2 '{logprobs: true}' '.generator = "evol" | .params.rounds = 1 |
		.recipe.task_input.examples = ["Explain why the sea has tides."]' >job.jsonl
	run --separate-stderr sg-gen -j 1 job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(tail -1 <<<"$output" | jq -c '[.generated, .errors]')" = '[2,0]' ]
	assert_equal "$(jq -sc 'map(select(.type == "sample") | has("logprobs")) | unique' <<<"$output")" '[false]'
	# the chains' first requests, queued before the first refusal came
	# back, are refused; they and the rest of the run's go without
	assert_equal "$(jq -sc 'group_by(.status) | map([.[0].status, length, (map(.body.logprobs) | unique)])' log.jsonl)" \
		'[[200,6,[null]],[400,2,[true]]]'
	: >log.jsonl
	jq -nc --slurpfile g "$FIXTURES/gen-llm.json" '{type: "job", run: "t", n: 4,
		context: {format: "text"}, recipe: {grammar: $g[0], validators: {perplexity: {logprobs: true}}},
		batch: 1, arm: "t", generator: "templater", params: {}, seed: 5}' >fill.jsonl
	run --separate-stderr sg-gen fill.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(tail -1 <<<"$output" | jq -c '.errors')" = 0 ]
	assert_equal "$(jq -sc 'map(select(.type == "sample") | has("logprobs")) | unique' <<<"$output")" '[false]'
	assert_equal "$(jq -sc 'map(select(.status == 400)) | length' log.jsonl)" 1
}

@test "llm_fill: a sample keeps the mean over the tokens of all its leaves; one without leaves none" {
	server
	jq -nc --slurpfile g "$FIXTURES/gen-llm.json" '{type: "job", run: "t", n: 8,
		context: {format: "text"}, recipe: {grammar: ($g[0] | .rules.s[0].template = "<topic> and <topic>"),
		validators: {perplexity: {logprobs: true}}},
		batch: 1, arm: "t", generator: "templater", params: {}, seed: 5}' >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -sc 'map(.body.logprobs) | unique' log.jsonl)" '[true]'
	# both leaves' words, one mean over them: 2 x 9 tokens
	assert_equal "$(jq -c 'select(.type == "sample") | [.data == "plain", .logprobs.tokens]' <<<"$output" | sort -u)" \
'[false,18]
[true,null]'
	assert_equal "$(jq -c 'select(.type == "sample" and .logprobs) | (.logprobs.perplexity - (-.logprobs.mean | exp)) | fabs < 1e-9' <<<"$output" | sort -u)" true
}
