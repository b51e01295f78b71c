#!/usr/bin/env bats
# sg's tests meet a real language model: tests/llama-server.mjs over
# llama.cpp (node-llama-cpp, `make llama`) and stories260K.gguf, a
# 260K-parameter model that writes children's stories whatever it is
# asked.  First the server's own answers.

load helpers
load llama-helpers

setup_file() {
	llama_start
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
