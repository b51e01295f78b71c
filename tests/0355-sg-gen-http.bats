#!/usr/bin/env bats
# lib/llm/http.c through sg-gen against the loopback stand-in server
# tests/llm-server.py: what is retried and how long it waits, what is
# never retried, error bodies, timeouts, and the API key kept out of
# every output.

load helpers
load llm-helpers

@test "retried faults: 429, 5xx, truncated, invalid, reset, 408, 409, 425" {
	faults '[{"status": 429, "headers": {"retry-after-ms": "400"}, "body": {"error": {"message": "slow down"}}},
		{"status": 500, "body": {}}, {"status": 502, "raw": "bad gateway"},
		{"status": 503, "headers": {"retry-after-ms": "10"}, "body": {"error": "busy"}},
		{"fault": "ok"},
		{"fault": "truncate"}, {"fault": "invalid"}, {"fault": "reset"},
		{"status": 408, "headers": {"retry-after-ms": "10"}, "body": {}},
		{"fault": "ok"},
		{"status": 409, "headers": {"retry-after-ms": "10"}, "body": {}},
		{"status": 425, "headers": {"retry-after-ms": "10"}, "body": {}}]'
	server --script script.json
	{ job 1; job 1 '.batch = 4 | .seed = 12'; job 1 '.batch = 5 | .seed = 13'; } >jobs.jsonl
	run --separate-stderr sg-gen -v -j 1 jobs.jsonl
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s 'map(select(.type == "batch") | .generated) | add')" -eq 3 ]
	assert_equal "$(jq -r '.status' log.jsonl | tr '\n' ' ')" '429 500 502 503 200 200 200 0 408 200 409 425 200 '
	# the server's wait was honoured; then 0.5 * 2^k s times 0.75..1 for
	# the k-th retry: k = 1, 2
	[ "$(jq -s '.[1].t0 - .[0].t1 >= 0.39' log.jsonl)" = true ]
	[ "$(jq -s '(.[2].t0 - .[1].t1) >= 0.74 and (.[2].t0 - .[1].t1) < 1.15' log.jsonl)" = true ]
	[ "$(jq -s '(.[3].t0 - .[2].t1) >= 1.49 and (.[3].t0 - .[2].t1) < 2.15' log.jsonl)" = true ]
	echo "$stderr" | grep -q 'retry 1 in 0.40s: HTTP 429: slow down'
	echo "$stderr" | grep -q 'retry 3 in .*: HTTP 502: bad gateway'
	echo "$stderr" | grep -q 'retry 4 in 0.01s: HTTP 503: busy'
	echo "$stderr" | grep -q 'retry 1 in .*: transfer closed with [0-9]* bytes remaining to read'
	echo "$stderr" | grep -q 'retry 2 in .*: HTTP 200 with a body that is not a JSON object'
}

@test "Retry-After in seconds and as an HTTP date" {
	epoch=$(($(date +%s) + 4))
	when=$(date -u -d "@$epoch" '+%a, %d %b %Y %H:%M:%S GMT')
	faults '[{"status": 429, "headers": {"Retry-After": "1"}, "body": {}},
		{"status": 503, "headers": {"Retry-After": "'"$when"'"}, "body": {}}]'
	server --script script.json
	run --separate-stderr sg-gen -j 1 <(job 1)
	[ "$status" -eq 0 ]
	[ "$(requests)" -eq 3 ]
	[ "$(jq -s '.[1].t0 - .[0].t1 >= 0.99' log.jsonl)" = true ]
	# backoff alone would have asked again about 2 s from the start
	[ "$(jq -s ".[2].t0 >= $epoch - 1" log.jsonl)" = true ]
}

@test "never retried: 400 401 403 404 413 422 and a quota 429; every error body shape; whose fault each is" {
	for case in '400 {"error": {"message": "bad one", "type": "invalid_request_error"}}|HTTP 400: bad one|content|1' \
		'401 {"error": "who are you"}|HTTP 401: who are you|infrastructure server|7' \
		'403 {"object": "error", "message": "forbidden thing"}|HTTP 403: forbidden thing|infrastructure server|7' \
		'404 {"detail": "Not Found"}|HTTP 404: Not Found|infrastructure server|7' \
		'404 {"error": {"message": "The model `m` does not exist.", "code": "model_not_found"}}|HTTP 404: The model `m` does not exist.|infrastructure arm|7' \
		'400 {"error": "model \"m\" not found, try pulling it first"}|HTTP 400: model "m" not found, try pulling it first|infrastructure arm|7' \
		'413 {"error": {"message": "too big"}}|HTTP 413: too big|content|1' \
		'422 {"error": {"message": "unprocessable"}}|HTTP 422: unprocessable|content|1' \
		'429 {"error": {"message": "You exceeded your current quota.", "code": "insufficient_quota"}}|HTTP 429: You exceeded your current quota.|infrastructure server|7'; do
		code=${case%% *}
		rest=${case#* }
		body=${rest%%|*}
		rest=${rest#*|}
		want=${rest%%|*}
		rest=${rest#*|}
		kind=${rest%|*}
		exit=${rest#*|}
		faults "[{\"status\": $code, \"body\": $body}]"
		rm -f log.jsonl
		server --script script.json
		run --separate-stderr sg-gen -j 1 <(job 1)
		kill "$SERVER"
		[ "$status" -eq "$exit" ] || { echo "$code: status $status"; false; }
		# nothing generated: the first error said once
		assert_equal "$stderr" "sg-gen: nothing generated: /dev/fd/63:1: sample 0: $want"
		[ "$(requests)" -eq 1 ] || { echo "$code: $(cat log.jsonl)"; false; }
		assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | .error')" "$want"
		assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | [.error_kind, .error_scope // empty] | join(" ")')" "$kind"
	done
}

@test "a dead port: retried, then an infrastructure error of the server; -q keeps stderr quiet" {
	server
	kill "$SERVER"
	wait "$SERVER" 2>/dev/null || true
	run --separate-stderr sg-gen --no-cache <(job 2)
	[ "$status" -eq 7 ]
	[[ "$stderr" == "sg-gen: nothing generated: /dev/fd/63:1: sample 0: Failed to connect to 127.0.0.1 port "*"Couldn't connect to server" ]]
	assert_equal "$(echo "$output" | tail -1 | jq -c '[.generated, .infrastructure_errors, .error_scope]')" '[0,2,"server"]'
	[[ "$(echo "$output" | tail -1 | jq -r .infrastructure_error)" == "Failed to connect to 127.0.0.1 port "* ]]
	run --separate-stderr sg-gen -q --no-cache <(job 2)
	[ "$status" -eq 7 ]
	[ -z "$stderr" ]
}

@test "a 429 halves the requests in flight; they grow back one per window" {
	faults '[{"status": 429, "headers": {"retry-after-ms": "300"}, "body": {}}]'
	server --script script.json --latency 60
	run --separate-stderr sg-gen -j 8 <(job 40)
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tail -1 | jq .generated)" -eq 40 ]
	# 8 start at once; after the pause 8 / 2 = 4, plus 1 earned by the
	# 7 answered during it
	[ "$(jq -s 'sort_by(.t0) | .[0].t0 as $s | map(select(.t0 < $s + 0.05)) | length' log.jsonl)" -eq 8 ]
	[ "$(jq -s '(map(select(.status == 429))[0].t1 + 0.3) as $r |
		map(select(.t0 >= $r - 0.01 and .t0 < $r + 0.05)) | length' log.jsonl)" -eq 5 ]
}

@test "a 429 pauses new requests and the rest still complete" {
	faults '[{"status": 429, "headers": {"retry-after-ms": "600"}, "body": {}}]'
	server --script script.json --latency 50
	run --separate-stderr sg-gen -j 4 <(job 16)
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tail -1 | jq .generated)" -eq 16 ]
	[ "$(requests)" -eq 17 ]
	# no request began in the 0.6 s after the 429 came back, but those the
	# client had sent before it read the 429
	[ "$(jq -s '(map(select(.status == 429))[0].t1) as $t |
		map(select(.t0 > $t + 0.05 and .t0 < $t + 0.55)) | length' log.jsonl)" -eq 0 ]
}

@test "a hung request times out and is retried" {
	faults '[{"fault": "hang", "seconds": 5}]'
	server --script script.json
	run --separate-stderr sg-gen -v --timeout 1 -j 1 <(job 1)
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tail -1 | jq .generated)" -eq 1 ]
	echo "$stderr" | grep -q 'retry 1 in .*: Operation timed out after'
}

@test "the API key never appears, even when the server echoes it" {
	server --key right-key
	run --separate-stderr sg-gen -v -j 2 <(job 2)
	[ "$status" -eq 7 ]
	[ "$(echo "$output" | jq -r 'select(.type == "sample") | .error' | sort -u)" = \
		'HTTP 401: Incorrect API key provided: ***.' ]
	! grep -q -- "$KEY" <<<"$output$stderr"
	[ "$(requests)" -eq 2 ]
}

@test "an answer larger than 64 MiB is refused, not retried, and the next request still runs" {
	faults '[{"fault": "huge", "bytes": 70000000}]'
	server --script script.json
	run --separate-stderr sg-gen -j 1 <(job 2)
	[ "$status" -eq 0 ]
	assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | .error // "ok"' | sort | uniq -c | tr -s ' ')" \
		"$(printf ' 1 ok\n 1 response larger than 67108864 bytes')"
	[ "$(requests)" -eq 2 ]
}

@test "libcurl is loaded only for a request: an offline job runs without it, an LLM job names why it cannot be loaded" {
	no_libcurl
	server
	sg-plan -n1 -b 2 "$EXAMPLES/reviews/reviews.yaml" |
		jq -c '. + {batch: 1, arm: "templated", generator: "templater", seed: 11}' >offline.jsonl
	run --separate-stderr env LD_LIBRARY_PATH="$PWD/nolib" sg-gen offline.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -s 'map(select(.type == "sample")) | length')" -eq 2 ]
	job 2 >llm.jsonl
	run --separate-stderr env LD_LIBRARY_PATH="$PWD/nolib" sg-gen llm.jsonl
	[ "$status" -eq 7 ]
	assert_equal "$stderr" "sg-gen: llm.jsonl:1: cannot load libcurl.so.4: $PWD/nolib/libcurl.so.4: file too short"
	assert_equal "$(echo "$output" | tail -1 | jq -c '[.generated, .infrastructure_errors]')" '[0,2]'
	[ ! -e log.jsonl ] || [ "$(requests)" -eq 0 ]
}
