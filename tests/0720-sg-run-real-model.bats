#!/usr/bin/env bats
# sg's tests meet a real language model: tests/llama-server.mjs over
# llama.cpp (node-llama-cpp, `make llama`) and stories260K.gguf, a
# 260K-parameter model that writes children's stories whatever it is
# asked.  First the server's own answers; then examples/llm's recipe run
# end to end against it (once, in setup_file: each test reads what that
# run left); then what the generator and the model checks make of such a
# model's answers.

load helpers
load llama-helpers

setup_file() {
	PATH=$SG_BIN:$PATH
	export NO_COLOR=1
	export SG_LEXICON=${SG_LEXICON:-$BATS_TEST_DIRNAME/../build/lexicon/toxicity.tsv}
	llama_start
	[ -z "$LLAMA_MISSING" ] || return 0
	# the example's recipe, its perplexity check on the model's logprobs;
	# six batches of two: each arm once, then status 6 short of the target
	export RUN=$BATS_FILE_TMPDIR/run
	mkdir -p "$RUN/llm"
	cp -R "$EXAMPLES/llm/kb" "$RUN/llm/"
	sed '/^validators:/a\
  perplexity: {logprobs: true}' "$EXAMPLES/llm/reviews-llm.yaml" >"$RUN/llm/reviews-llm.yaml"
	(
		cd "$RUN" || exit 1
		export OPENAI_BASE_URL=$LLAMA_URL OPENAI_API_KEY=sk-test-llama
		export SG_CACHE_DIR=$RUN/cache
		rc=0
		sg-run -v --seed 3 -b 2 -i 6 -o a.jsonl llm/reviews-llm.yaml >stdout 2>stderr || rc=$?
		echo $rc >status
	)
	# the run's requests, before the tests add theirs
	cp "$LLAMA_LOG" "$RUN/requests.jsonl"
}

teardown_file() {
	llama_stop
}

CHAT=/v1/chat/completions

# chat OBJECT: a chat request for the model's first alias with the user
# message "Tell me a story.", the members of jq's OBJECT added.
chat() {
	jq -nc '{model: "gpt-4o-mini", messages: [{role: "user", content: "Tell me a story."}]}' |
		jq -c ". + $1"
}

# The run's generation requests (the naive and rag arms ask for the
# recipe's schema by the name "sample"), one JSON line each.
gen_requests() {
	jq -c 'select(.body.response_format.json_schema.name == "sample")' "$RUN/requests.jsonl"
}

# The run's requests for sub-topics, one a run, the LLM arms' jobs after
# the first answered from the cache.
plan_requests() {
	jq -c 'select(.body.messages[-1].content // "" | test("distinct sub-topics"))' "$RUN/requests.jsonl"
}

# valid_against SCHEMA FILE: fails unless each line of FILE is JSON valid
# against the JSON Schema SCHEMA (python3-jsonschema).
valid_against() {
	/usr/bin/python3 - "$@" <<-'PY'
	import json, jsonschema, sys
	schema = json.loads(sys.argv[1])
	for line in open(sys.argv[2]):
	    jsonschema.validate(json.loads(line), schema)
	PY
}

# Every sample record the run wrote, accepted or rejected.
samples() {
	cat "$RUN/a.jsonl" "$RUN/a.jsonl.state.rejected" | jq -c 'select(.type == "sample")'
}

# The model checks of the run's samples, one line each a check of a
# distinct sample: what is asked once, a repeated one answered from the
# cache.
verdicts() {
	samples | jq -c '[.data, .provenance] as $s | .checks | to_entries[] |
		select(.key | IN("llm_judge", "entailment", "toxicity_llm")) | [.key, $s]' | sort -u
}

@test "the server: its models; OpenAI's error shapes for unknown models and routes, bad requests" {
	llama
	answered=$(jq -s 'map(select(.answer.choices)) | length' "$LLAMA_LOG")
	run --separate-stderr api GET /v1/models
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.object, [.data[] | .id, .object]]' <<<"$output")" \
		'["list",["stories260K","model","gpt-4o-mini","model","text-embedding-3-small","model"]]'
	run --separate-stderr api GET /v1/models/text-embedding-3-small
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.id, .object]' <<<"$output")" = '["text-embedding-3-small","model"]' ]
	run --separate-stderr api GET /v1/models/gpt-5
	[ "$stderr" = "HTTP 404" ]
	[ "$(jq -r .error.code <<<"$output")" = model_not_found ]
	run --separate-stderr api POST $CHAT "$(chat '{model: "gpt-5"}')"
	[ "$status" -eq 1 ]
	[ "$stderr" = "HTTP 404" ]
	assert_equal "$output" '{"error":{"message":"The model `gpt-5` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}'
	run --separate-stderr api POST /v1/embeddings '{"model": "gpt-5", "input": "a"}'
	[ "$stderr" = "HTTP 404" ]
	[ "$(jq -r .error.code <<<"$output")" = model_not_found ]
	run --separate-stderr api POST /v1/completions "$(chat '{}')"
	[ "$stderr" = "HTTP 404" ]
	assert_equal "$(jq -c .error <<<"$output")" \
		'{"message":"Invalid URL (POST /v1/completions)","type":"invalid_request_error","param":null,"code":null}'
	# each bad request: 400, the parameter at fault, the code
	while IFS='|' read -r body expected; do
		run --separate-stderr api POST $CHAT "$body"
		[ "$status" -eq 1 ]
		[ "$stderr" = "HTTP 400" ]
		assert_equal "$(jq -c '.error | [.type, .param, .code]' <<<"$output")" "$expected"
	done <<-'EOF'
	{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}|["invalid_request_error",null,null]
	{"model": "gpt-4o-mini"}|["invalid_request_error","messages","missing_required_parameter"]
	{"model": "gpt-4o-mini", "messages": []}|["invalid_request_error","messages","empty_array"]
	{"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "hi"}]}|["invalid_request_error","messages[0].role","invalid_value"]
	{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "n": 0}|["invalid_request_error","n","invalid_value"]
	{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}|["invalid_request_error","temperature","invalid_type"]
	{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2}|["invalid_request_error","top_logprobs","invalid_value"]
	{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "colour": 1}|["invalid_request_error",null,null]
	{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}|["invalid_request_error","response_format.json_schema.name","missing_required_parameter"]
	{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}|["invalid_request_error","messages","invalid_value"]
	EOF
	run --separate-stderr api POST $CHAT "$(chat '{colour: 1}')"
	[ "$(jq -r .error.message <<<"$output")" = "Unrecognized request argument supplied: colour" ]
	# none of these reached the model
	[ "$(jq -s 'map(select(.answer.choices)) | length' "$LLAMA_LOG")" -eq "$answered" ]
}

@test "the server: n choices, the same answer for the same seed, max_tokens cuts with finish_reason length, usage in tokens" {
	llama
	body=$(chat '{n: 2, seed: 7, max_tokens: 8}')
	run --separate-stderr api POST $CHAT "$body"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	a=$output
	assert_equal "$(jq -c '[.object, .model, (.choices[] | [.index, .finish_reason, .message.role])]' <<<"$a")" \
		'["chat.completion","gpt-4o-mini",[0,"length","assistant"],[1,"length","assistant"]]'
	# eight tokens a choice; the prompt counted once, in tokens
	assert_equal "$(jq -c '.usage | [.completion_tokens, .prompt_tokens > 4, .total_tokens == .prompt_tokens + .completion_tokens]' <<<"$a")" \
		'[16,true,true]'
	[ "$(jq '.choices[0].message.content != .choices[1].message.content' <<<"$a")" = true ]
	# other requests in between change nothing; another seed does
	api POST $CHAT "$(chat '{seed: 1, max_tokens: 20}')" >/dev/null
	assert_equal "$(api POST $CHAT "$body" | jq -c '.choices | map(.message.content)')" \
		"$(jq -c '.choices | map(.message.content)' <<<"$a")"
	[ "$(api POST $CHAT "$(chat '{n: 2, seed: 8, max_tokens: 8}')" | jq -c '.choices | map(.message.content)')" != \
		"$(jq -c '.choices | map(.message.content)' <<<"$a")" ]
}

@test "the server: a stop string ends the answer before it; logprobs are the model's own" {
	llama
	run --separate-stderr api POST $CHAT "$(chat '{temperature: 0, max_tokens: 30, logprobs: true, top_logprobs: 3}')"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	a=$output
	content=$(jq -r '.choices[0].message.content' <<<"$a")
	[ -n "$content" ]
	# the tokens spell the content; each is the greedy choice, the most
	# likely of its three alternatives, given with its UTF-8 bytes
	assert_equal "$(jq -r '.choices[0].logprobs.content | map(.token) | join("")' <<<"$a")" "$content"
	[ "$(jq '.choices[0].logprobs.content | length' <<<"$a")" -eq 30 ]
	assert_equal "$(jq -c '[.choices[0].logprobs.content[] | .logprob <= 0
		and (.top_logprobs | length) == 3
		and .top_logprobs[0].token == .token and .top_logprobs[0].logprob == .logprob
		and (.top_logprobs | map(.logprob) | . == (sort | reverse))
		and (.top_logprobs | map(.logprob | exp) | add) <= 1.000001
		and .bytes == (.token | explode)] | unique' <<<"$a")" '[true]'
	# not every token is certain
	[ "$(jq '[.choices[0].logprobs.content[].logprob] | min < -0.1' <<<"$a")" = true ]
	# the third word as a stop string: the answer is what came before it
	stop=" $(awk '{print $3}' <<<"$content")"
	run --separate-stderr api POST $CHAT "$(chat "$(jq -nc --arg s "$stop" \
		'{temperature: 0, max_tokens: 30, stop: [$s, "ZZZ"]}')")"
	[ "$status" -eq 0 ]
	assert_equal "$(jq -r '.choices[0].finish_reason' <<<"$output")" stop
	assert_equal "$(jq -r '.choices[0].message.content' <<<"$output")" "${content%%"$stop"*}"
}

@test "the server: response_format json_schema and json_object answers are JSON, of the schema" {
	llama
	schema=$(sg-plan -n1 "$EXAMPLES/llm/reviews-llm.yaml" | jq -c .recipe.constraints.schema)
	run --separate-stderr api POST $CHAT "$(jq -nc --argjson s "$schema" '{model: "gpt-4o-mini",
		messages: [{role: "user", content: "A review of headphones."}], n: 3, seed: 5,
		max_tokens: 300, response_format: {type: "json_schema",
		json_schema: {name: "review", schema: $s}}}')"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.choices[].finish_reason]' <<<"$output")" '["stop","stop","stop"]'
	jq -r '.choices[].message.content' <<<"$output" >answers.jsonl
	[ "$(wc -l <answers.jsonl)" -eq 3 ]
	valid_against "$schema" answers.jsonl
	# json_object: an object of any keys, which this model never closes:
	# cut at max_tokens, it is an object's start
	run --separate-stderr api POST $CHAT '{"model": "gpt-4o-mini", "seed": 5, "max_tokens": 40,
		"messages": [{"role": "user", "content": "A story as JSON."}],
		"response_format": {"type": "json_object"}}'
	[ "$status" -eq 0 ]
	[ "$(jq -r '.choices[0].finish_reason' <<<"$output")" = length ]
	jq -r '.choices[0].message.content' <<<"$output" | head -1 | grep -q '^{[[:space:]]*"'
}

@test "the server: embeddings of one input or many, unit vectors, floats or base64" {
	llama
	run --separate-stderr api POST /v1/embeddings '{"model": "text-embedding-3-small",
		"input": ["The battery lasts a week.", "They hurt my ears.", "Once upon a time"]}'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	many=$output
	assert_equal "$(jq -c '[.object, .model, [.data[] | .object, .index],
		(.data | map(.embedding | length) | unique | length),
		(.data | map(.embedding | map(. * .) | add | . - 1 | fabs < 1e-9) | unique),
		.usage.prompt_tokens == .usage.total_tokens, .usage.prompt_tokens > 6]' <<<"$many")" \
		'["list","text-embedding-3-small",["embedding",0,"embedding",1,"embedding",2],1,[true],true,true]'
	run --separate-stderr api POST /v1/embeddings '{"model": "text-embedding-3-small",
		"input": "They hurt my ears.", "encoding_format": "base64"}'
	[ "$status" -eq 0 ]
	jq -r '.data[0].embedding' <<<"$output" >b64
	jq -c '.data[1].embedding' <<<"$many" >floats
	/usr/bin/python3 - <<-'PY'
	import base64, json, struct
	raw = base64.b64decode(open("b64").read())
	got = struct.unpack("<%df" % (len(raw) // 4), raw)
	want = json.load(open("floats"))
	assert len(got) == len(want) and max(abs(a - b) for a, b in zip(got, want)) < 1e-6
	PY
}

@test "examples/llm against the real model ends in a defined way: the target, or status 6 with the reason" {
	llama
	cd "$RUN"
	[ ! -s stdout ]
	# the model cannot follow instructions: no sample is accepted, so the
	# run stops at its iteration bound, as sg-run(1) documents
	if [ "$(cat status)" -eq 0 ]; then
		grep -q "^sg-run: 20/20 accepted in 'a.jsonl'" stderr
	else
		[ "$(cat status)" -eq 6 ]
		assert_equal "$(tail -1 stderr)" "sg-run: stopped after 6 iterations short of the target"
	fi
	# each arm at least once, no
	# stage failing
	assert_equal "$(grep -o '^sg-run: iteration [0-9]*: batch [0-9]*: [a-z_]*' stderr | awk '{print $NF}' | sort -u | tr '\n' ' ')" \
		'eda naive_balanced naive_conservative rag templater_balanced '
	! grep -E 'exited with status|iteration [0-9]+ failed|Failed to connect|retry [0-9]' stderr
	[ "$(jq .steps a.jsonl.state)" -eq 6 ]
}

@test "examples/llm: every request of the run was answered, as many as sg counted" {
	llama
	cd "$RUN"
	# sg-gen's, then one a model check of a distinct sample, one an
	# embedding of a distinct text and one for the task, and the look at
	# the server, and the one plan of sub-topics: a sample that failed a
	# check of its own is sent to none
	embedded=$(samples | jq -c 'select(.checks.semantic) | .data' | sort -u | wc -l)
	[ "$(jq -s 'length' requests.jsonl)" -eq $(($(gen_requests | wc -l) + $(verdicts | wc -l) + embedded + 2 +
		$(plan_requests | wc -l))) ]
	assert_equal "$(jq -r '[.path, .status] | @tsv' requests.jsonl | sort -u)" \
		"$(printf '/v1/chat/completions\t200\n/v1/embeddings\t200\n/v1/models\t200')"
	# the one look at the server before the run
	[ "$(jq -s 'map(select(.path == "/v1/models")) | length' requests.jsonl)" -eq 1 ]
	# the generation requests sg-gen counted in its batch records, and
	# the one plan of sub-topics, which the LLM arms' later jobs took from
	# the cache
	[ "$(plan_requests | wc -l)" -eq 1 ]
	[ "$(($(gen_requests | wc -l) + 1))" -eq "$(jq -s 'map(select(.type == "batch") | .requests // 0) | add' a.jsonl.state.log)" ]
	[ "$(jq -s 'map(select(.type == "batch") | .cached // 0) | add' a.jsonl.state.log)" -eq \
		"$(jq -s 'map(select(.type == "batch" and (.generator == "naive" or .generator == "rag"))) | length - 1' a.jsonl.state.log)" ]
}

@test "examples/llm: the LLM arms' samples are JSON of the recipe's schema, through response_format" {
	llama
	cd "$RUN"
	schema=$(jq -c 'select(.type == "job") | .recipe.constraints.schema' a.jsonl.state.log | head -1)
	[ "$(gen_requests | wc -l)" -ge 6 ]
	# the schema with the label each sample is planned to have
	assert_equal "$(gen_requests | jq -c '.body.response_format' | sort -u)" \
		"$(jq -c '{type: "json_schema", json_schema: {name: "sample", schema: .}} |
			(.json_schema.schema.properties.label.enum = ["negative"]), (.json_schema.schema.properties.label.enum = ["positive"])' <<<"$schema")"
	# every answer the model finished is JSON of the schema
	gen_requests | jq -c '.answer.choices[] | select(.finish_reason == "stop") | .message.content | fromjson' >answers.jsonl
	[ "$(wc -l <answers.jsonl)" -ge 6 ]
	valid_against "$schema" answers.jsonl
	# and is a sample's data, its schema check passed
	assert_equal "$(samples | jq -c 'select((.generator == "naive" or .generator == "rag") and .data) | .data' | sort)" \
		"$(jq -c . answers.jsonl | sort)"
	assert_equal "$(samples | jq -c 'select((.generator == "naive" or .generator == "rag") and .data) | .checks.json_schema.pass' | sort -u)" true
}

@test "examples/llm: the state counts the server's tokens; the token budget stops a run" {
	llama
	cd "$RUN"
	# what the server counted for sg-gen's requests, in the state
	# (an answer from the cache counts as the answer it stands for: each
	# LLM job counts the plan of sub-topics)
	jobs=$(jq -s 'map(select(.type == "batch" and (.generator == "naive" or .generator == "rag"))) | length' a.jsonl.state.log)
	assert_equal "$(jq -c '.usage | [.prompt_tokens, .completion_tokens]' a.jsonl.state)" \
		"$( (gen_requests; for _ in $(seq "$jobs"); do plan_requests; done) |
			jq -s -c '[(map(.answer.usage.prompt_tokens) | add), (map(.answer.usage.completion_tokens) | add)]')"
	# priced as the recipe's naive_balanced arm (0.15 and 0.6 US dollars
	# a million tokens); the others have no price
	assert_equal "$(jq -s -c 'map(select(.type == "batch" and .arm == "naive_balanced"))
		| map((.prompt_tokens * 0.15 + .completion_tokens * 0.6) / 1e6) | add * 1e9 | round' a.jsonl.state.log)" \
		"$(jq '.usage.cost * 1e9 | round' a.jsonl.state)"
	# the budget is checked before each batch: a budget of one token lets
	# the first batch through, answered from the cache and counted
	sent=$(llama_requests)
	export SG_CACHE_DIR=$RUN/cache
	run --separate-stderr sg-run --seed 3 -b 2 --max-tokens 1 -o "$BATS_TEST_TMPDIR/b.jsonl" llm/reviews-llm.yaml
	[ "$status" -eq 6 ]
	[ -z "$output" ]
	first=$(jq -s 'map(select(.type == "batch")) | .[0] | .prompt_tokens + .completion_tokens' a.jsonl.state.log)
	[ "$first" -gt 0 ]
	assert_equal "$(tail -1 <<<"$stderr")" \
		"sg-run: the token budget is spent: $first tokens of 1, short of the target; run again with a larger budget to go on"
	# nothing asked but sg-run's look at GET /v1/models
	[ "$(llama_requests)" -eq $((sent + 1)) ]
	[ "$(tail -1 "$LLAMA_LOG" | jq -r .path)" = /v1/models ]
}

@test "examples/llm: perplexity from the model's own logprobs" {
	llama
	cd "$RUN"
	[ "$(gen_requests | jq -c .body.logprobs | sort -u)" = true ]
	# each LLM sample's mean logprob is that of the tokens the server
	# gave for its answer; the check reads its perplexity, exp(-mean)
	gen_requests | jq -c '.answer.choices[0] | select(.finish_reason == "stop") |
		{data: (.message.content | fromjson),
		mean: (.logprobs.content | map(.logprob) | add / length),
		tokens: (.logprobs.content | length)}' | sort >server.jsonl
	samples | jq -c 'select((.generator == "naive" or .generator == "rag") and .data) |
		{data, mean: .logprobs.mean, tokens: .logprobs.tokens}' | sort >sg.jsonl
	[ "$(wc -l <sg.jsonl)" -ge 6 ]
	assert_equal "$(jq -s -c 'length' sg.jsonl)" "$(jq -s -c 'length' server.jsonl)"
	assert_equal "$(paste -d ' ' sg.jsonl server.jsonl | jq -s -c '[_nwise(2) | .[0].data == .[1].data
		and .[0].tokens == .[1].tokens and (.[0].mean - .[1].mean | fabs) < 1e-6] | unique')" '[true]'
	assert_equal "$(samples | jq -c 'select(.generator == "naive" or .generator == "rag") | .checks.perplexity |
		[.source, (.perplexity > 1)]' | sort -u)" '["logprobs",true]'
	assert_equal "$(samples | jq -c 'select(.generator == "naive" or .generator == "rag") |
		(.checks.perplexity.perplexity - (-.logprobs.mean | exp)) / .checks.perplexity.perplexity | fabs < 1e-6' | sort -u)" true
}

@test "examples/llm: embeddings asked for each sample and the task, and used by the checks" {
	llama
	cd "$RUN"
	# one request a distinct checked sample (a repeated one's vector is
	# reused) and one for the task's description
	jq -c 'select(.path == "/v1/embeddings")' requests.jsonl >embeddings.jsonl
	[ "$(jq -s 'map(.body.model) | unique' embeddings.jsonl | jq -c .)" = '["text-embedding-3-small"]' ]
	[ "$(wc -l <embeddings.jsonl)" -eq $(($(samples | jq -c 'select(.checks.semantic) | .data' | sort -u | wc -l) + 1)) ]
	jq -r 'select(.type == "job") | .recipe.task_input.description' a.jsonl.state.log | head -1 >description
	[ "$(jq -r '.body.input' embeddings.jsonl | grep -cxF -f description)" -eq 1 ]
	# each sample's semantic similarity is the cosine of the two vectors
	samples >samples.jsonl
	/usr/bin/python3 - <<-'PY'
	import json, math
	vec = {}
	for line in open("embeddings.jsonl"):
	    r = json.loads(line)
	    vec[r["body"]["input"]] = r["answer"]["data"][0]["embedding"]
	task = vec[open("description").read().strip()]
	n = 0
	for line in open("samples.jsonl"):
	    s = json.loads(line)
	    sem = s["checks"].get("semantic")
	    if sem is None:
	        continue
	    v = [x for t, x in vec.items() if t.startswith(s["data"]["text"])]
	    cos = [sum(a * b for a, b in zip(x, task)) for x in v]
	    assert any(abs(c - sem["similarity"]) < 1e-6 for c in cos), (s, cos)
	    n += 1
	# those that passed their own checks, which alone are embedded
	assert n >= 4, n
	PY
	# the batches' dispersion in their batch records
	[ "$(jq -s 'map(select(.type == "batch") | .embedded) | add' a.jsonl.state.log)" -eq "$(samples | jq -c 'select(.checks.semantic)' | wc -l)" ]
}

@test "examples/llm: the same seed and cache give the same dataset and ask nothing" {
	llama
	sent=$(llama_requests)
	export SG_CACHE_DIR=$RUN/cache
	mkdir again
	cp -R "$RUN/llm" again/
	cd again
	run --separate-stderr sg-run --seed 3 -b 2 -i 6 -o a.jsonl llm/reviews-llm.yaml
	[ "$status" -eq "$(cat "$RUN/status")" ]
	[ -z "$output" ]
	# nothing asked but sg-run's look at GET /v1/models
	[ "$(llama_requests)" -eq $((sent + 1)) ]
	[ "$(tail -1 "$LLAMA_LOG" | jq -r .path)" = /v1/models ]
	cmp a.jsonl "$RUN/a.jsonl"
	cmp a.jsonl.state.rejected "$RUN/a.jsonl.state.rejected"
	assert_equal "$(jq -S 'del(.output.path)' a.jsonl.state)" "$(jq -S 'del(.output.path)' "$RUN/a.jsonl.state")"
	[ "$(jq -s 'map(select(.type == "batch") | .cached // 0) | add' a.jsonl.state.log)" -eq \
		"$(jq -s 'map(select(.type == "batch") | (.requests // 0) + (.cached // 0)) | add' "$RUN/a.jsonl.state.log")" ]
}

@test "a cut-off answer (finish_reason length) is retried with a larger max_tokens or reported as cut" {
	llama
	sent=$(llama_requests)
	sg-plan --llm -n1 "$EXAMPLES/llm/reviews-llm.yaml" | jq -c '. + {batch: 0, arm: "naive_balanced",
		generator: "naive", seed: 11, params: {temperature: 0.7, max_tokens: 12}, n: 2}' >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	# status 1 when no sample could be generated, a fault of the content
	generated=$(jq -s 'map(select(.type == "sample" and .data != null)) | length' <<<"$output")
	[ "$status" -eq $((generated > 0 ? 0 : 1)) ]
	tail -n +$((sent + 1)) "$LLAMA_LOG" >log.jsonl
	# the model was cut at 12 tokens
	[ "$(jq -s 'map(select(.body.max_tokens == 12 and .answer.choices[0].finish_reason == "length")) | length' log.jsonl)" -ge 2 ]
	retried=$(jq -s 'map(select(.body.max_tokens > 12)) | length' log.jsonl)
	# each sample either got its JSON from a retry with a larger
	# max_tokens or says that its answer was cut at max_tokens
	assert_equal "$(jq -c --argjson retried "$retried" 'select(.type == "sample") |
		(.data != null and $retried > 0) or (.error // "" | test("max_tokens|finish_reason|cut"))' <<<"$output" | sort -u)" true
	# and the cut is said on standard error when the sample is an error
	[ "$(jq -c 'select(.type == "sample" and .data == null)' <<<"$output" | wc -l)" -eq \
		"$(grep -v '^sg-gen: nothing generated: ' <<<"$stderr" | grep -c 'max_tokens\|finish_reason\|cut')" ]
}

@test "every model check of the run read a score from the model, asked with response_format json_schema" {
	llama
	cd "$RUN"
	checks=$(samples | jq -c '.checks | (.llm_judge, .entailment, .toxicity_llm) | select(.)')
	# every sample that passed its own checks was judged and rated
	[ "$(wc -l <<<"$checks")" -ge 8 ]
	[ "$(samples | jq -c 'select(.checks | del(.llm_judge, .entailment, .toxicity_llm, .semantic,
		.similarity, .diversity) | map(.pass) | all) | .checks | has("llm_judge") and has("toxicity_llm")' | sort -u)" = true ]
	# and no other
	[ "$(samples | jq -c 'select(.checks | del(.llm_judge, .entailment, .toxicity_llm, .semantic,
		.similarity, .diversity) | map(.pass) | all | not) | .checks | has("llm_judge") or has("toxicity_llm")' | sort -u)" = false ]
	# a parsed score in [0, 1] for each, whatever its value
	assert_equal "$(jq -c '(.score | type) == "number" and .score >= 0 and .score <= 1
		and (.why // "" | test("unreadable") | not)' <<<"$checks" | sort -u)" true
	# asked as JSON: an integer score in range and a short reason
	jq -c 'select(.path == "/v1/chat/completions" and .body.response_format.json_schema.name != "sample"
		and (.body.messages[-1].content // "" | test("distinct sub-topics") | not))' \
		requests.jsonl >checks.jsonl
	[ "$(wc -l <checks.jsonl)" -eq "$(verdicts | wc -l)" ]
	assert_equal "$(jq -c '.body.response_format | .type == "json_schema"
		and .json_schema.schema.properties.score.type == "integer"
		and (.json_schema.schema.properties.score | has("minimum") and has("maximum"))
		and .json_schema.schema.properties.reason.type == "string"' checks.jsonl | sort -u)" true
	# which the server honoured, by grammar: none refused or ignored
	[ "$(jq -r .status checks.jsonl | sort -u)" = 200 ]
	! grep -q 'response_format' stderr
}

@test "embeddings that cannot tell texts apart are said so once and reject no sample" {
	llama
	sent=$(llama_requests)
	jq -nc '{type: "job", run: "t", batch: 0, recipe: {domain: "product_reviews", num_samples: 5,
		task_input: {description: "Short customer reviews of wireless headphones."},
		validators: {similarity: {enabled: true, against: "samples", threshold: 0.95}, semantic: {min_similarity: 0.3}}}}' >in.jsonl
	texts 'The battery easily lasts a whole week of listening.' \
		'The connection drops every few minutes on the train.' \
		'They hurt my ears within an hour of wearing them.' \
		'I have used these headphones every day for a month.' \
		'Bought these earbuds for my commute.' >>in.jsonl
	echo '{"type": "batch", "run": "t", "batch": 0, "n": 5}' >>in.jsonl
	run --separate-stderr sg-validate in.jsonl
	[ "$status" -eq 0 ]
	# the model's vectors of the five texts: every pair above 0.95
	tail -n +$((sent + 1)) "$LLAMA_LOG" | jq -c 'select(.body.input | startswith("Short") | not) |
		.answer.data[0].embedding' >vectors.jsonl
	[ "$(wc -l <vectors.jsonl)" -eq 5 ]
	/usr/bin/python3 - <<-'PY'
	import itertools, json
	v = [json.loads(line) for line in open("vectors.jsonl")]
	dots = [sum(a * b for a, b in zip(x, y)) for x, y in itertools.combinations(v, 2)]
	assert min(dots) > 0.95, min(dots)
	PY
	[ "$(grep -ciE 'embedding.*(separat|apart|distinguish)' <<<"$stderr")" -eq 1 ]
	assert_equal "$(jq -c 'select(.type == "sample") | .checks.similarity.pass // true' <<<"$output" | sort -u)" true
	assert_equal "$(jq -c 'select(.type == "sample") | .checks.semantic.pass // true' <<<"$output" | sort -u)" true
}
