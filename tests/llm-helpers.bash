# Shared by the tests that talk to the loopback stand-in server
# tests/llm-server.py: start it, make jobs for it, read its request log.
KEY=sk-test-SECRET-0123456789

# Start the stand-in with the given options; it logs to log.jsonl.
server() {
	rm -f port
	/usr/bin/python3 "$BATS_TEST_DIRNAME/llm-server.py" --port-file port \
		--log log.jsonl "$@" 3>&- &
	SERVER=$!
	for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
	export OPENAI_BASE_URL=http://127.0.0.1:$(cat port)/v1
	export OPENAI_API_KEY=$KEY SG_CACHE_DIR=$BATS_TEST_TMPDIR/cache
}

teardown() {
	[ -z "${SERVER:-}" ] || kill "$SERVER" 2>/dev/null || true
}

# A naive job of n samples for the reviews example, changed by jq filter $2,
# without sub-topics: one request per sample.  More arguments go to jq.
job() {
	sg-plan --llm -n1 -b "$1" "$EXAMPLES/reviews/reviews.yaml" | jq -c "${@:3}" ". + {batch: 3,
		arm: \"naive_balanced\", generator: \"naive\", seed: 11,
		params: {temperature: 0.7, top_p: 1}} | .recipe.subtopics = 0 | ${2:-.}"
}

# Faults the stand-in gives, in turn, to the first requests (see llm-server.py).
faults() {
	printf '%s\n' "$1" >script.json
}

# How many requests for generation (POSTs) the stand-in has answered: not
# sg-run's look at GET /v1/models before its first batch.
requests() {
	grep -vc '"method": "GET"' log.jsonl
}


# A directory nolib whose libcurl.so.4 cannot be loaded (an empty file),
# for LD_LIBRARY_PATH: a tool that makes no request never opens it.
no_libcurl() {
	mkdir -p nolib && : >nolib/libcurl.so.4
}
