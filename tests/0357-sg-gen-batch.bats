#!/usr/bin/env bats
# sg-gen and the Batch API: --batch-export writes the requests the cache
# cannot answer as a Batch API input file, tests/llm-batch.py answers it
# through the loopback stand-in as a provider's batch endpoint would, and
# --batch-import stores the answers in the cache for the next run.

load helpers
load llm-helpers

# Export, answer and import rounds until no request is left: the rounds.
rounds() {
	local n=0
	while :; do
		sg-gen --batch-export req.jsonl "$@" >/dev/null
		[ -s req.jsonl ] || break
		/usr/bin/python3 "$BATS_TEST_DIRNAME/llm-batch.py" req.jsonl ans.jsonl
		sg-gen --batch-import ans.jsonl
		n=$((n + 1))
		[ "$n" -lt 20 ] || return 1
	done
	echo "$n"
}

samples() {
	jq -c 'select(.type == "sample")' "$@"
}

@test "naive and rag: export, answer, import; the re-run asks nothing and equals a direct run" {
	server
	{ job 4; job 3 '.generator = "rag" | .batch = 4 | .params.top_k = 2 |
		.recipe.knowledge_base = "'"$EXAMPLES"'/llm/kb"'; job 5 '.batch = 5 | .params.choices = 3'; } >jobs.jsonl
	SG_CACHE_DIR=direct sg-gen jobs.jsonl >direct.jsonl
	sent=$(requests)
	run --separate-stderr sg-gen -v --batch-export req.jsonl jobs.jsonl
	[ "$status" -eq 0 ]
	[ "$(requests)" -eq "$sent" ]
	# 4 naive, 3 rag and 2 for the 5 samples of choices 3
	[ "$(wc -l <req.jsonl)" -eq 9 ]
	[[ "$stderr" == *"sg-gen: 9 requests written to 'req.jsonl'" ]]
	[ "$(echo "$output" | jq -s 'map(select(.type == "sample") | .error | startswith("deferred: ")) | all')" = true ]
	assert_equal "$(echo "$output" | jq -c 'select(.type == "batch") | [.generated, .requests, .cached]' | sort -u)" '[0,0,0]'
	# the Batch API input format, one custom_id per request, no key
	[ "$(jq -s 'map(keys == ["body", "custom_id", "method", "url"] and .method == "POST"
		and .url == "/v1/chat/completions" and (.custom_id | test("^sg-[0-9a-f]{16}$"))
		and (.body.messages | length) > 0) | all' req.jsonl)" = true ]
	[ "$(jq -r .custom_id req.jsonl | sort -u | wc -l)" -eq 9 ]
	assert_equal "$(jq -c .body.n req.jsonl | sort | tr -d '\n')" '23nullnullnullnullnullnullnull'
	! grep -q -- "$KEY" req.jsonl
	/usr/bin/python3 "$BATS_TEST_DIRNAME/llm-batch.py" req.jsonl ans.jsonl
	[ "$(requests)" -eq $((sent + 9)) ]
	run --separate-stderr sg-gen -v --batch-import ans.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$stderr" "sg-gen: ans.jsonl: 9 answers stored in the cache, 0 refused"
	[ -z "$output" ]
	run --separate-stderr sg-gen jobs.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(requests)" -eq $((sent + 9)) ]
	assert_equal "$(echo "$output" | samples)" "$(samples direct.jsonl)"
	assert_equal "$(echo "$output" | jq -c 'select(.type == "batch") | [.generated, .requests, .cached]' | tr -d '\n')" \
		'[4,0,4][3,0,3][5,0,2]'
	# nothing is left to export
	run --separate-stderr sg-gen --batch-export req.jsonl jobs.jsonl
	[ "$status" -eq 0 ]
	[ ! -s req.jsonl ]
}

@test "evol: each round of export and import answers the next request of every sample" {
	server
	job 3 '.generator = "evol" | .params.rounds = 2 |
		.recipe.task_input.examples = ["Explain why the sea has tides."]' >job.jsonl
	SG_CACHE_DIR=direct sg-gen job.jsonl >direct.jsonl
	sent=$(requests)
	# evolve, judge and respond for each of two rounds: six in a chain
	run rounds job.jsonl
	[ "$status" -eq 0 ]
	[ "$output" -eq 6 ]
	[ "$(requests)" -eq $((sent * 2)) ]
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(requests)" -eq $((sent * 2)) ]
	assert_equal "$(echo "$output" | samples)" "$(samples direct.jsonl)"
}

@test "llm_fill leaves: a round per leaf, then the templater's samples" {
	server
	jq -nc --slurpfile g "$FIXTURES/gen-llm.json" '{type: "job", run: "t", n: 6,
		context: {format: "text"}, recipe: {grammar: $g[0]}, batch: 1, arm: "t",
		generator: "templater", params: {}, seed: 5}' >job.jsonl
	SG_CACHE_DIR=direct sg-gen job.jsonl >direct.jsonl
	run rounds job.jsonl
	[ "$status" -eq 0 ]
	# one leaf a sample: one round
	[ "$output" -eq 1 ]
	grep -q 'Topic: Stand-in answer' direct.jsonl
	sent=$(requests)
	run --separate-stderr sg-gen job.jsonl
	[ "$(requests)" -eq "$sent" ]
	assert_equal "$(echo "$output" | samples)" "$(samples direct.jsonl)"
}

@test "bad answer lines are reported with their position and never stored" {
	server
	job 3 >job.jsonl
	sg-gen --batch-export req.jsonl job.jsonl >/dev/null
	/usr/bin/python3 "$BATS_TEST_DIRNAME/llm-batch.py" req.jsonl ans.jsonl
	id0=$(sed -n 1p ans.jsonl | jq -r .custom_id)
	id1=$(sed -n 2p ans.jsonl | jq -r .custom_id)
	{
		sed -n 1p ans.jsonl | jq -c '.response.status_code = 500 |
			.response.body = {error: {message: "the server broke"}}'
		sed -n 2p ans.jsonl | jq -c '.response = null | .error = {code: "batch_expired", message: "This request could not be executed before the completion window expired."}'
		echo '{"custom_id": "'"$id0"'", "response": {"status_code": 200, "body": {}}}'
		sed -n 1p ans.jsonl | jq -c '.custom_id = "sg-fedcba9876543210"'
		sed -n 1p ans.jsonl | jq -c '.custom_id = "request-1"'
		echo '{"custom_id": "'"$id1"'", "error": null}'
		echo '{"custom_id": '
		echo
		sed -n 3p ans.jsonl
	} >bad.jsonl
	run --separate-stderr sg-gen --batch-import bad.jsonl
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-gen: bad.jsonl:1: $id0: status 500: the server broke
sg-gen: bad.jsonl:2: $id1: This request could not be executed before the completion window expired.
sg-gen: bad.jsonl:3: $id0: the answer has no choices[0].message.content
sg-gen: bad.jsonl:4: sg-fedcba9876543210: unknown custom_id: no request of that id was exported with this cache
sg-gen: bad.jsonl:5: request-1: unknown custom_id: no request of that id was exported with this cache
sg-gen: bad.jsonl:6: $id1: no \"response\" object
sg-gen: bad.jsonl:7: not JSON: unexpected token near end of file"
	# only the good line was stored: the next export asks for the other two
	sg-gen --batch-export req.jsonl job.jsonl >/dev/null
	assert_equal "$(jq -r .custom_id req.jsonl | sort | tr '\n' ' ')" "$(printf '%s\n' "$id0" "$id1" | sort | tr '\n' ' ')"
	! grep -rl 'the server broke' "$SG_CACHE_DIR"
}

@test "the Batch API needs the cache; import takes no job files" {
	run --separate-stderr sg-gen --no-cache --batch-export r.jsonl /dev/null
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "sg-gen: --batch-export needs the cache, not --no-cache"
	run --separate-stderr sg-gen --no-cache --batch-import /dev/null
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "sg-gen: --batch-import needs the cache, not --no-cache"
	run --separate-stderr sg-gen --batch-import /dev/null jobs.jsonl
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: sg-gen "* ]]
	run --separate-stderr sg-gen --batch-import missing.jsonl
	[ "$status" -eq 4 ]
	assert_equal "$stderr" "sg-gen: cannot open 'missing.jsonl': No such file or directory"
}
