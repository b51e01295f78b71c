#!/usr/bin/env bats
# sg-gen's LLM arms against the loopback stand-in server tests/llm-server.py:
# naive, rag, evol and llm_fill, concurrency, the cache, configuration,
# structured output and its fallbacks.

load helpers
load llm-helpers

@test "naive: every sample answered, -j bounds what is in flight, written in index order" {
	server --latency 150
	job 12 >job.jsonl
	run --separate-stderr sg-gen -j 4 job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | .id' | tr '\n' ' ')" \
		"$(seq 0 11 | sed 's/^/headphone_reviews:3:/' | tr '\n' ' ')"
	[ "$(echo "$output" | jq -s 'map(select(.type == "sample") | .data.label | type == "string") | all')" = true ]
	assert_equal "$(echo "$output" | tail -1 | jq -c '[.type, .generated, .errors, .requests, .cached]')" \
		'["batch",12,0,12,0]'
	[ "$(jq -s 'map(.inflight) | max' log.jsonl)" -eq 4 ]
	[ "$(jq -s 'map(.auth) | all' log.jsonl)" = true ]
	# the request carries the arm's parameters, a seed per sample and a schema
	assert_equal "$(jq -sc 'map(.body | [.temperature, .top_p, .response_format.type]) | unique' log.jsonl)" \
		'[[0.7,1,"json_schema"]]'
	assert_equal "$(jq -s 'map(.body.seed) | sort | . == [range(11; 23)]' log.jsonl)" true
}

@test "naive: each sample is asked for its planned label, in words and by its schema" {
	server
	run --separate-stderr sg-gen < <(job 6 '.label_plan = ["negative", "positive", "negative", "negative", "positive", "negative"]')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | .data.label' | tr '\n' ' ')" \
		'negative positive negative negative positive negative '
	# by seed, as the samples were asked
	assert_equal "$(jq -sr 'sort_by(.body.seed)[] | .body |
		[(.messages[1].content | capture("Its label must be \"(?<l>[a-z]+)\"").l),
		(.response_format.json_schema.schema.properties.label.enum | join(","))] | join("=")' log.jsonl | tr '\n' ' ')" \
		'negative=negative positive=positive negative=negative negative=negative positive=positive negative=negative '
	# a recipe without labels asks for none
	run --separate-stderr sg-gen < <(job 2 'del(.label_plan) | del(.recipe.task_input.labels, .recipe.task_input.label_distribution)')
	[ "$status" -eq 0 ]
	assert_equal "$(jq -sc '.[6:] | map(.body.messages[1].content | contains("label must"))' log.jsonl)" '[false,false]'
}

@test "a late first answer holds back the samples after it, not the requests" {
	faults '[{"fault": "slow", "seconds": 0.6}]'
	server --script script.json
	run --separate-stderr sg-gen -j 4 <(job 4)
	[ "$status" -eq 0 ]
	assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | .index' | tr -d '\n')" 0123
	# the other three were answered first
	[ "$(jq -s 'sort_by(.t1) | map(.fault) | .[3]' log.jsonl)" = '"slow"' ]
}

# Whether process $1, once it waits for input (in read(2) of its standard
# input), has libcurl mapped; 2 when it never waits.
curl_mapped() {
	for i in $(seq 200); do
		case $(cat /proc/"$1"/syscall 2>/dev/null) in
		'0 0x0 '*) grep -q 'libcurl\.so' /proc/"$1"/maps; return ;;
		esac
		sleep 0.01
	done
	return 2
}

@test "--preload: libcurl is loaded before a job arrives, not only at the first request" {
	server
	sg-gen --preload < <(sleep 2; job 2) > preloaded.jsonl &
	curl_mapped $!
	wait $!
	sg-gen < <(sleep 2; job 2) > plain.jsonl &
	run curl_mapped $!
	[ "$status" -eq 1 ]
	wait $!
	# the same samples, and the same requests
	assert_equal "$(jq -c 'select(.type == "sample") | .data' preloaded.jsonl)" \
		"$(jq -c 'select(.type == "sample") | .data' plain.jsonl)"
	[ "$(jq -c 'select(.type == "batch") | .generated' preloaded.jsonl)" -eq 2 ]
}

@test "the cache: a re-run makes no request and gives the same samples" {
	server
	job 5 '.params.price_prompt = 2 | .params.price_completion = 10' >job.jsonl
	run --separate-stderr sg-gen -j 3 job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	first=$(echo "$output" | jq -c 'select(.type == "sample")' | sort)
	batch=$(echo "$output" | tail -1)
	[ "$(requests)" -eq 5 ]
	# tokens and cost add up: the batch is the sum of its samples
	assert_equal "$(echo "$output" | jq -s 'map(select(.type == "sample")) |
		[(map(.usage.prompt_tokens) | add), (map(.usage.completion_tokens) | add)]' | jq -c .)" \
		"$(echo "$batch" | jq -c '[.prompt_tokens, .completion_tokens]')"
	[ "$(echo "$batch" | jq '(.cost - (.prompt_tokens * 2 + .completion_tokens * 10) / 1e6) | fabs < 1e-12')" = true ]
	run --separate-stderr sg-gen -j 3 job.jsonl
	[ "$status" -eq 0 ]
	[ "$(requests)" -eq 5 ]
	assert_equal "$(echo "$output" | jq -c 'select(.type == "sample")' | sort)" "$first"
	# flags set the prices over the job's
	run --separate-stderr sg-gen --price-prompt 1 --price-completion 0 job.jsonl
	[ "$(echo "$output" | tail -1 | jq '.cost == .prompt_tokens / 1e6')" = true ]
	assert_equal "$(echo "$output" | tail -1 | jq -c '[.requests, .cached]')" '[0,5]'
	run --separate-stderr sg-gen --no-cache job.jsonl
	[ "$status" -eq 0 ]
	[ "$(requests)" -eq 10 ]
	run --separate-stderr sg-gen --cache-dir other job.jsonl
	[ "$(requests)" -eq 15 ]
	[ "$(ls other | wc -l)" -eq 5 ]
	! grep -r -- "$KEY" other cache
}

@test "no response_format support: asked in words, parsed, repaired once" {
	server --no-response-format
	run --separate-stderr sg-gen -j 1 <(job 2)
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | .data.text' | sed 's/[0-9a-f]\{8\}/H/')" \
		'Repaired H.
Repaired H.'
	# both asks were queued before the first refusal; each is asked again
	# without response_format, then repaired once
	assert_equal "$(jq -c '[.status, (.body.messages | length), has("body") and (.body | has("response_format"))]' log.jsonl | tr -d '\n')" \
		'[400,2,true][400,2,true][200,2,false][200,2,false][200,4,false][200,4,false]'
}

@test "without an LLM configured the naive arm gives error samples" {
	run --separate-stderr sg-gen <(job 2)
	[ "$status" -eq 7 ]
	assert_equal "$stderr" "sg-gen: /dev/fd/63:1: no LLM configured: set OPENAI_BASE_URL or OPENAI_API_KEY"
	[ "$(echo "$output" | tail -1 | jq -c '[.generated, .errors]')" = '[0,2]' ]
}

@test "a .env file configures the server; the environment wins over it" {
	server
	printf 'export OPENAI_BASE_URL="%s" # the stand-in\nOPENAI_API_KEY=%s\n' \
		"$OPENAI_BASE_URL" "$KEY" >.env
	unset OPENAI_BASE_URL OPENAI_API_KEY
	run --separate-stderr sg-gen <(job 1)
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(requests)" -eq 1 ]
	run --separate-stderr env OPENAI_BASE_URL=http://127.0.0.1:9/v1 sg-gen --no-cache --timeout 2 <(job 1 '.params.model = "m1"')
	[ "$(requests)" -eq 1 ]
	# sg-plan sees the same configuration, so LLM arms are offered
	run --separate-stderr sg-plan -n1 "$EXAMPLES/llm/reviews-llm.yaml"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq .context.llm)" = true ]
	rm .env
	run --separate-stderr sg-plan -n1 "$EXAMPLES/llm/reviews-llm.yaml"
	[ "$(echo "$output" | jq .context.llm)" = false ]
}

@test "llm_fill leaves are answered by the server" {
	server
	run --separate-stderr sg-gen < <(jq -nc --slurpfile g "$FIXTURES/gen-llm.json" '{type: "job",
		run: "t", n: 20, context: {format: "text"}, recipe: {grammar: $g[0]},
		batch: 1, arm: "t", generator: "templater", params: {}, seed: 5}')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | .data' | sed 's/[0-9a-f]\{8\}/H/' | sort -u)" \
		'Topic: Stand-in answer H to 3 words: Name a topic.
plain'
	[ "$(echo "$output" | tail -1 | jq '.requests + .cached > 0')" = true ]
}

@test "examples/llm: sg-run with naive arms; a re-run from scratch asks nothing and gives the same dataset" {
	server
	run --separate-stderr sg-run --seed 3 -o a.jsonl "$EXAMPLES/llm/reviews-llm.yaml"
	[ "$status" -eq 0 ]
	! grep -q 'unknown field' <<<"$stderr"
	[ "$(wc -l <a.jsonl)" -eq 20 ]
	[ "$(jq -s 'map(.generator) | index("naive") != null' a.jsonl)" = true ]
	sent=$(requests)
	[ "$sent" -gt 0 ]
	run --separate-stderr sg-run --seed 3 -o b.jsonl "$EXAMPLES/llm/reviews-llm.yaml"
	[ "$status" -eq 0 ]
	[ "$(requests)" -eq "$sent" ]
	assert_equal "$(cat b.jsonl)" "$(cat a.jsonl)"
}

@test "rag: BM25 passages from the knowledge base in the prompt, their ids in provenance" {
	server
	run --separate-stderr sg-gen < <(job 4 '.generator = "rag" |
		.recipe.knowledge_base = $kb | .params.top_k = 1 |
		.recipe.task_input.description = "microphones against engine hum"' --arg kb "$FIXTURES/kb")
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# only one passage shares a word with the query
	[ "$(echo "$output" | jq -c 'select(.type == "sample") | .provenance' | sort -u)" = '{"passages":["noise.md#2"]}' ]
	[ "$(jq -r '.body.messages[1].content' log.jsonl | grep -c '^\[noise.md#2\] Active noise cancelling uses microphones')" -eq 4 ]
	run --separate-stderr sg-gen < <(job 6 '.generator = "rag" |
		.recipe.knowledge_base = $kb | .params.top_k = 2 | .seed = 40 |
		.recipe.task_input.description = "wireless battery charging phone"' --arg kb "$FIXTURES/kb")
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s 'map(select(.type == "sample") | .provenance.passages | length == 2) | all')" = true ]
	[ "$(echo "$output" | jq -r 'select(.type == "sample") | .provenance.passages[]' | sort -u | wc -l)" -ge 3 ]
}

@test "evol: rounds of evolve, judge and respond; the four elimination rules" {
	server
	run --separate-stderr sg-gen -j 4 < <(job 3 '.generator = "evol" | .params.rounds = 3 |
		.recipe.task_input.examples = ["Explain why the sea has tides."]')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# each kept round rewrote the instruction once, around the seed
	[ "$(echo "$output" | jq -s 'map(select(.type == "sample") | .data.instruction |
		contains("Explain why the sea has tides.") and
		([scan("Consider also case|A rarer task")] | length) == 3) | all')" = true ]
	[ "$(echo "$output" | jq -s 'map(select(.type == "sample") | .provenance.rounds | length == 3 and all(.kept)) | all')" = true ]
	[ "$(echo "$output" | jq -s 'map(select(.type == "sample") | .data.output | startswith("Stand-in answer")) | all')" = true ]
	# per sample and round: evolve, judge, respond
	[ "$(requests)" -eq 27 ]
	[ "$(echo "$output" | tail -1 | jq '[.evol[] | .tried] | add')" -eq 9 ]
	for rule in 'SAME|no information gain over its parent' 'COPY|copies words of the evolving prompt' \
		'SORRY|the response apologises in few words' 'EMPTY|the response is only punctuation and stop words'; do
		run --separate-stderr sg-gen -j 2 < <(job 2 ".generator = \"evol\" | .params.rounds = 2 | .seed = 99 |
			.recipe.task_input.examples = [\"Explain tides ${rule%%|*}.\"]")
		[ "$status" -eq 1 ]
		assert_equal "$stderr" 'sg-gen: nothing generated: <stdin>:1: sample 0: every evolution was eliminated'
		assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | .provenance.rounds[] | .why' | sort -u)" "${rule#*|}"
		assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | .error' | sort -u)" 'every evolution was eliminated'
		[ "$(echo "$output" | tail -1 | jq -c '[.generated, ([.evol[] | .kept // 0] | add)]')" = '[0,0]' ]
	done
}

@test "evol: a planned label picks a seed of it and each rewrite is asked to keep it" {
	server
	run --separate-stderr sg-gen < <(job 2 '.generator = "evol" | .params.rounds = 1 |
		.label_plan = ["negative", "positive"] |
		.recipe.task_input.examples = [{text: "Explain tides.", label: "positive"},
			{text: "Complain about rain.", label: "negative"}]')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c 'select(.type == "sample") | [.data.label, (.data.instruction | split(" ")[0])]' | tr -d '\n')" \
		'["negative","Complain"]["positive","Explain"]'
	assert_equal "$(jq -r '.body.messages[0].content | select(contains("Prompt Rewriter") or contains("Prompt Creator")) |
		capture("Its label must stay \"(?<l>[a-z]+)\"").l' log.jsonl | sort | tr '\n' ' ')" 'negative positive '
}

@test "choices: n samples per request where the server accepts n, one by one where not" {
	server
	run --separate-stderr sg-gen -j 4 <(job 7 '.params.choices = 3')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '.body.n' log.jsonl | sort | tr -d '\n')" '33null'
	assert_equal "$(echo "$output" | jq -r 'select(.type == "sample") | .index' | tr -d '\n')" 0123456
	[ "$(echo "$output" | jq -r 'select(.type == "sample") | .data.text' | sort -u | wc -l)" -eq 7 ]
	# the request's tokens are counted once, on its first sample; the
	# fourth sample is asked alone, its planned label not the fifth's
	assert_equal "$(echo "$output" | jq -c .label_plan | head -1)" \
		'["positive","positive","positive","positive","negative","negative","negative"]'
	assert_equal "$(echo "$output" | jq -s -c 'map(select(.type == "sample") | .usage.prompt_tokens > 0)')" \
		'[true,false,false,true,true,false,false]'
	assert_equal "$(echo "$output" | tail -1 | jq -c '[.generated, .requests]')" '[7,3]'
	kill "$SERVER"
	rm log.jsonl
	server --max-n 1
	run --separate-stderr sg-gen --no-cache -j 4 <(job 7 '.params.choices = 3')
	[ "$status" -eq 0 ]
	assert_equal "$(jq -r '.status' log.jsonl | sort | uniq -c | tr -s ' ' | tr -d '\n')" ' 7 200 2 400'
	assert_equal "$(echo "$output" | tail -1 | jq -c '[.generated, .requests]')" '[7,9]'
}

@test "progress on a terminal only, and never with NO_COLOR" {
	server
	job 3 >job.jsonl
	run --separate-stderr env -u NO_COLOR script -qec "sg-gen --no-cache job.jsonl >out.jsonl" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\r''sg-gen: job.jsonl:1: 3/3 samples, 3 requests'* ]]
	[ "$(grep -c '"type":"sample"' out.jsonl)" -eq 3 ]
	run --separate-stderr script -qec "sg-gen --no-cache job.jsonl >out.jsonl" /dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run --separate-stderr env -u NO_COLOR sg-gen --no-cache job.jsonl
	[ -z "$stderr" ]
}

@test "two processes sharing the cache: both finish, same samples, only whole entries" {
	server --latency 30
	job 40 >job.jsonl
	sg-gen -j 8 job.jsonl >a.jsonl 2>a.err &
	sg-gen -j 8 job.jsonl >b.jsonl 2>b.err
	wait $!
	[ ! -s a.err ] && [ ! -s b.err ]
	assert_equal "$(jq -c 'select(.type == "sample")' a.jsonl)" "$(jq -c 'select(.type == "sample")' b.jsonl)"
	[ "$(ls cache | wc -l)" -eq 40 ]
	[ -z "$(ls -a cache | grep -v '^\.*$' | grep -v '\.json$')" ]
	for f in cache/*.json; do jq -e '.key and .response.choices' "$f" >/dev/null; done
	# every later run is answered from the cache alone
	n=$(requests)
	run --separate-stderr sg-gen job.jsonl
	[ "$(requests)" -eq "$n" ]
	assert_equal "$(echo "$output" | jq -c 'select(.type == "sample")')" "$(jq -c 'select(.type == "sample")' a.jsonl)"
}

@test "killed at any moment: each sample written has its answer in the cache, every entry whole" {
	server --latency 40
	job 40 >job.jsonl
	total=0
	for delay in 0.1 0.2 0.3 0.4; do
		rm -rf cache
		sg-gen --unbuffered -j 4 job.jsonl >part.jsonl 2>/dev/null &
		sleep "$delay"
		kill -9 $! 2>/dev/null || true
		wait $! 2>/dev/null || true
		for f in cache/*; do
			[ -e "$f" ] || continue
			case $f in *.json) jq -e '.key and .response.choices' "$f" >/dev/null ;; esac
		done
		written=$(jq -c 'select(.type == "sample" and .data)' part.jsonl | wc -l)
		total=$((total + written))
		# a re-run asks only for the answers no written sample was made
		# of (grep -c fails when the kill came before any request)
		n=$(requests) || true
		sg-gen job.jsonl >again.jsonl
		m=$(requests) || true
		[ $((m - n)) -le $((40 - written)) ]
		[ "$(jq -c 'select(.type == "sample")' again.jsonl | head -n "$written")" = \
			"$(jq -c 'select(.type == "sample")' part.jsonl | head -n "$written")" ]
	done
	[ "$total" -gt 0 ]
}

@test "JSON cut at max_tokens: asked again once with twice the tokens, else an error that says so" {
	server
	# the stand-in's JSON of the schema is 14 words: cut at 8, whole at 16
	job 2 '.params.max_tokens = 8' >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(requests)" -eq 4 ]
	assert_equal "$(jq -sc 'map(.body.max_tokens) | sort' log.jsonl)" '[8,8,16,16]'
	# no repair: the second request is the first with more tokens
	[ "$(jq -sc 'map(.body.messages | length) | unique' log.jsonl)" = '[2]' ]
	assert_equal "$(jq -c 'select(.type == "sample") | [(.data | type), .error]' <<<"$output")" \
'["object",null]
["object",null]'
	[ "$(tail -1 <<<"$output" | jq -c '[.generated, .errors, .requests]')" = '[2,0,4]' ]
	# cut at 4, then at 8: error samples, on standard error even without
	# -v, and nothing generated, a fault of the content
	job 2 '.params.max_tokens = 4' >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$(jq -r 'select(.type == "sample") | .error' <<<"$output" | sort -u)" \
		'the answer was cut at max_tokens 8 (finish_reason "length") before its JSON was complete'
	# in the order the answers came, then the first
	assert_equal "$(head -2 <<<"$stderr" | sort)" "sg-gen: job.jsonl:1: sample 0: the answer was cut at max_tokens 8 (finish_reason \"length\") before its JSON was complete
sg-gen: job.jsonl:1: sample 1: the answer was cut at max_tokens 8 (finish_reason \"length\") before its JSON was complete"
	assert_equal "$(tail -n +3 <<<"$stderr")" "sg-gen: nothing generated: job.jsonl:1: sample 0: the answer was cut at max_tokens 8 (finish_reason \"length\") before its JSON was complete"
	[ "$(jq -c 'select(.type == "sample") | .error_kind' <<<"$output" | sort -u)" = '"content"' ]
	[ "$(tail -1 <<<"$output" | jq -c '[.generated, .errors]')" = '[0,2]' ]
}
