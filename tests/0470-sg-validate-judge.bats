#!/usr/bin/env bats
# sg-validate's checks by a language model against the loopback stand-in
# (tests/llm-server.py): the rubric judge, entailment of grounded samples,
# the LLM toxicity judgement, each asked for a JSON verdict through
# response_format, in words where the server refuses it; requests
# concurrent and cached, failed calls reported, and nothing run without a
# backend.

load helpers
load llm-helpers

# recipe VALIDATORS [MORE]: a recipe r.json with those validators, and the
# jq object MORE merged into it.
recipe() {
	jq -nc --argjson v "$1" '{domain: "d", num_samples: 1,
		task_input: {description: "opening hours and ticket prices of the city museum"},
		validators: $v} + '"${2:-{\}}" >r.json
}

SRC='The City Museum opens at 9 every day. Tickets cost 12 euros for adults.'

@test "the rubric judge asks for a JSON verdict: a level from 1 to 5 and a reason, through response_format; the threshold" {
	server
	recipe '{"llm_judge": {"enabled": true, "threshold": 0.7}}'
	texts 'A plain sample.' 'Scored JUDGE=3' 'Scored JUDGE=5' 'Scored JUDGE=json:2' 'Scored JUDGE=over' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.id, .checks.llm_judge, .valid]' <<<"$output")" \
'["t:0:0",{"pass":true,"score":0.8,"reason":"A fair sample: it meets most criteria."},true]
["t:0:1",{"pass":false,"score":0.6,"why":"score 0.60, less than 0.7","reason":"Scripted 3."},false]
["t:0:2",{"pass":true,"score":1,"reason":"Scripted 5."},true]
["t:0:3",{"pass":false,"score":0.4,"why":"score 0.40, less than 0.7","reason":"Scripted json."},false]
["t:0:4",{"pass":false,"why":"unreadable answer: score 6 outside 0 to 5"},false]'
	[ "$(requests)" -eq 5 ]
	# the schema: an integer score in range first, a short reason
	assert_equal "$(jq -c '.body.response_format' log.jsonl | sort -u)" \
		'{"type":"json_schema","json_schema":{"name":"verdict","schema":{"type":"object","properties":{"score":{"type":"integer","minimum":1,"maximum":5},"reason":{"type":"string","maxLength":200}},"required":["score","reason"],"additionalProperties":false}}}'
	# at temperature 0, 300 tokens at most; the levels, the default
	# rubric and the sample in the prompt, which asks for JSON
	[ "$(jq -sc 'map([.body.temperature, .body.max_tokens]) | unique' log.jsonl)" = '[[0,300]]' ]
	jq -r '.body.messages[0].content' log.jsonl | grep -q '^- correct, fluent, on the task, and useful$'
	jq -r '.body.messages[0].content' log.jsonl | grep -q '^3: average, it meets the criteria adequately$'
	jq -r '.body.messages[0].content' log.jsonl | grep -q '^Scored JUDGE=over$'
	[ "$(jq -r '.body.messages[0].content' log.jsonl | grep -c 'Answer with a JSON object: "score", an integer from 1 to 5, then "reason"')" -eq 5 ]
	! jq -r '.body.messages[0].content' log.jsonl | grep -q 'Score: N/'
	[ "$(jq -r '.body.model' log.jsonl | sort -u)" = gpt-4o-mini ]
}

@test "a server that ignores response_format is told of once; its answers are read in every shape" {
	server --ignore-response-format
	recipe '{"llm_judge": {"enabled": true, "threshold": 0.7}}'
	texts 'A plain sample.' 'Scored JUDGE=6' 'Scored JUDGE=json:4' 'Scored JUDGE=bare:4' \
		'Scored JUDGE=junk' 'Scored JUDGE=over' 'Scored JUDGE=five:4' 'Scored JUDGE=jstr:3' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$stderr" "sg-validate: the server ignores response_format: model 'gpt-4o-mini' answered a model check in words, not with the JSON object asked for; its scores are read from the words"
	# a number without a scale is on the one asked for, 1 to 5
	assert_equal "$(jq -c '[.id, .checks.llm_judge, .valid]' <<<"$output")" \
'["t:0:0",{"pass":true,"score":0.8},true]
["t:0:1",{"pass":false,"score":0.6,"why":"score 0.60, less than 0.7"},false]
["t:0:2",{"pass":true,"score":0.8,"reason":"scripted"},true]
["t:0:3",{"pass":true,"score":0.8},true]
["t:0:4",{"pass":false,"why":"unreadable answer: no score in the answer \"I would rather not rate this one.\""},false]
["t:0:5",{"pass":false,"why":"unreadable answer: score 12 outside 0 to 10"},false]
["t:0:6",{"pass":true,"score":0.8},true]
["t:0:7",{"pass":false,"score":0.3,"why":"score 0.30, less than 0.7"},false]'
	[ "$(jq -c '.body.response_format.type' log.jsonl | sort -u)" = '"json_schema"' ]
}

@test "a server that refuses response_format is asked in words, the same request and every later one" {
	server --no-response-format
	recipe '{"llm_judge": {"enabled": true}, "toxicity": {"llm": true}}'
	{
		texts 'Scored JUDGE=6'
		echo '{"type": "batch", "run": "t", "batch": 0, "n": 1}'
		texts 'A plain sample.' | sed 's/"t:0:0"/"t:0:1"/'
	} >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c 'select(.type == "sample") | [.checks.llm_judge, .checks.toxicity_llm.pass]' <<<"$output")" \
'[{"pass":false,"score":0.6,"why":"score 0.60, less than 0.7"},true]
[{"pass":true,"score":0.8},true]'
	# the first sample's two requests refused, then asked in words; the
	# second's in words from the start
	assert_equal "$(jq -c '[.status, (.body | has("response_format"))]' log.jsonl | sort | uniq -c | awk '{print $1, $2}')" \
'4 [200,false]
2 [400,true]'
	jq -r 'select(.status == 200) | .body.messages[0].content' log.jsonl | grep -qx 'Rate the sample by the criteria with the quality level it deserves. End your answer with a line "Score: N/5".'
	jq -r 'select(.status == 200) | .body.messages[0].content' log.jsonl | grep -q 'End your answer with a line "Score: N/10".$'
	# -v says why, once
	run --separate-stderr sg-validate -v --no-cache -r r.json in.jsonl
	[ "$(grep -c 'refuses response_format' <<<"$stderr")" -eq 1 ]
}

@test "an answer cut at max_tokens: the JSON verdict's score comes first and is read; one in words says it was cut" {
	server
	recipe '{"llm_judge": {"enabled": true, "max_tokens": 2}}'
	texts 'A plain sample.' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -r '.body.max_tokens' log.jsonl)" = 2 ]
	assert_equal "$(jq -c '.checks.llm_judge' <<<"$output")" '{"pass":true,"score":0.8}'
	kill "$SERVER"
	server --ignore-response-format
	run --separate-stderr sg-validate --no-cache -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '.checks.llm_judge' <<<"$output")" \
		'{"pass":false,"why":"unreadable answer (cut at max_tokens): no score in the answer \"A fair\""}'
}

@test "a sample that failed a check of its own is sent to no model check" {
	server
	recipe '{"llm_judge": {"enabled": true}, "toxicity": {"llm": true}, "length": {"max": 10}}'
	texts 'short' 'much too long a text' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[(.checks | keys_unsorted), .valid]' <<<"$output")" \
'[["generate","length","toxicity","llm_judge","toxicity_llm"],true]
[["generate","length","toxicity"],false]'
	[ "$(requests)" -eq 2 ]
	[ "$(jq -r '.body.messages[0].content' log.jsonl | grep -c 'much too long')" -eq 0 ]
}

@test "the rubric comes from llm_judge.criteria or quality_criteria, else the recipe's; the judge's model, temperature and max_tokens from the recipe, -m over them" {
	server
	recipe '{"llm_judge": {"enabled": true, "model": "judge-1"}}' '{quality_criteria: {accurate: "no invented facts", concise: null}}'
	texts 'One sample.' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	jq -r '.body.messages[0].content' log.jsonl | grep -q '^- accurate: no invented facts$'
	jq -r '.body.messages[0].content' log.jsonl | grep -q '^- concise$'
	jq -r '.body.messages[0].content' log.jsonl | grep -q '^The dataset: opening hours and ticket prices'
	[ "$(jq -r '.body.model' log.jsonl)" = judge-1 ]
	recipe '{"llm_judge": {"enabled": true, "criteria": ["polite", "in English"]}}' '{quality_criteria: "ignored"}'
	: >log.jsonl
	run --separate-stderr sg-validate -m judge-2 -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -r '.body.messages[0].content' log.jsonl | grep '^- ')" '- polite
- in English'
	[ "$(jq -r '.body.model' log.jsonl)" = judge-2 ]
	# the Python system's: its quality_criteria as written, its
	# temperature and max_tokens
	recipe '{"llm_judge": {"enabled": true, "temperature": 0.2, "max_tokens": 2000,
		"quality_criteria": "For museum texts:\n- Accuracy: are the hours right?\n- Clarity\n"}}' '{quality_criteria: "ignored"}'
	: >log.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -r '.body.messages[0].content' log.jsonl | sed -n '/^Criteria:$/,/^Quality levels:$/p')" 'Criteria:
For museum texts:
- Accuracy: are the hours right?
- Clarity
Quality levels:'
	[ "$(jq -c '[.body.temperature, .body.max_tokens]' log.jsonl)" = '[0.2,2000]' ]
	# a bad rubric or threshold is refused before anything runs
	recipe '{"llm_judge": {"enabled": true, "threshold": 7}}'
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" 'sg-validate: r.json:1:167: "validators.llm_judge.threshold" must be a number from 0 to 1'
}

@test "a validator of the Python system listed without enabled is off, as there; sg's own are on" {
	server
	recipe '{"llm_judge": {"threshold": 0.9}, "entailment": {}, "toxicity": {"llm": true}}'
	texts 'One sample.' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -c '.checks | keys_unsorted' <<<"$output")" = '["generate","toxicity","toxicity_llm"]' ]
	[ "$(requests)" -eq 1 ]
	# sg-plan says so
	run --separate-stderr sg-plan -n1 r.json
	[ "$status" -eq 0 ]
	assert_equal "$(grep -o 'validator.*' <<<"$stderr")" 'validator "llm_judge" is off: as in the Python system, it runs only with "enabled: true"
validator "entailment" is off: as in the Python system, it runs only with "enabled: true"'
}

@test "-j: the calls go out together through the pool, output in input order; a re-run asks nothing" {
	server --latency 150
	recipe '{"llm_judge": {"enabled": true}}'
	mapfile -t many < <(seq -f 'Sample %g JUDGE=4' 24)
	texts "${many[@]}" >in.jsonl
	start=$(date +%s%N)
	run --separate-stderr sg-validate -j 8 -r r.json in.jsonl
	took=$((($(date +%s%N) - start) / 1000000))
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -r .id <<<"$output" | tr '\n' ' ')" "$(seq -f 't:0:%g' 0 23 | tr '\n' ' ')"
	[ "$(requests)" -eq 24 ]
	# 24 calls of 150 ms one at a time take 3.6 s; eight at a time 0.45 s
	[ "$(jq -s 'map(.inflight) | max' log.jsonl)" -eq 8 ]
	[ "$took" -lt 2500 ]
	first=$output
	run --separate-stderr sg-validate -j 8 -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ "$(requests)" -eq 24 ]
	[ "$output" = "$first" ]
	# --no-cache asks again
	run --separate-stderr sg-validate --no-cache -j 8 -r r.json in.jsonl
	[ "$(requests)" -eq 48 ]
}

@test "entailment: grounded samples are judged against their sources, others are not" {
	server
	recipe '{"entailment": {"enabled": true, "threshold": 0.6}}'
	{
		jq -nc --arg s "$SRC" '{type: "sample", id: "t:0:0", run: "t", batch: 0,
			data: "The museum opens at 9 every day.", provenance: {sources: [$s]}}'
		jq -nc --arg s "$SRC" '{type: "sample", id: "t:0:1", run: "t", batch: 0,
			data: "Visitors ride camels through the galleries.", provenance: {sources: [$s]}}'
		jq -nc --arg s "$SRC" '{type: "sample", id: "t:0:2", run: "t", batch: 0,
			data: {answer: "Tickets cost 12 euros.", sources: $s}}'
		jq -nc '{type: "sample", id: "t:0:3", run: "t", batch: 0, data: "Not grounded."}'
	} >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.entailment, .valid]' <<<"$output")" \
'[{"pass":true,"score":1,"reason":"Supported in part."},true]
[{"pass":false,"score":0.2,"why":"support 0.20, less than 0.6","reason":"Supported in part."},false]
[{"pass":true,"score":1,"reason":"Supported in part."},true]
[null,true]'
	[ "$(requests)" -eq 3 ]
	# the sample's own sources are not part of what is judged
	jq -r '.body.messages[0].content' log.jsonl | grep -qx 'Tickets cost 12 euros.'
}

@test "toxicity llm: the judgement beside the lexicon's, its score the quality" {
	server
	recipe '{"toxicity": {"llm": true, "llm_threshold": 0.5}}'
	texts 'A calm sentence about museums.' 'A TOXIC rant.' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.toxicity.pass, .checks.toxicity_llm, .valid]' <<<"$output")" \
'[true,{"pass":true,"score":1,"toxicity":0,"reason":"Scripted."},true]
[true,{"pass":false,"score":0.1,"toxicity":0.9,"why":"toxicity 0.90, at least 0.5","reason":"Scripted."},false]'
}

@test "a failed call fails its check with why, is reported, and the sample flows; retried faults recover" {
	faults '[{"status": 500, "body": {}}, {"status": 400, "body": {"error": {"message": "no judge for '"$KEY"'"}}}]'
	server --script script.json
	recipe '{"llm_judge": {"enabled": true}}'
	texts 'First JUDGE=5' 'Second JUDGE=5' >in.jsonl
	run --separate-stderr sg-validate -j 1 -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '[.id, .checks.llm_judge, .valid]' <<<"$output")" \
'["t:0:0",{"pass":true,"score":1,"reason":"Scripted 5."},true]
["t:0:1",{"pass":false,"why":"not checked: HTTP 400: no judge for ***","error":"HTTP 400: no judge for ***"},false]'
	assert_equal "$stderr" 'sg-validate: in.jsonl:2: llm_judge: HTTP 400: no judge for ***'
	assert_equal "$(jq -r .status log.jsonl | tr '\n' ' ')" '500 400 200 '
	! grep -q -- "$KEY" <<<"$output$stderr"
	# failures are not cached: the next run asks again for that one only
	run --separate-stderr sg-validate -j 1 -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -c '.checks.llm_judge.pass' <<<"$output" | tr '\n' ' ')" = 'true true ' ]
	[ "$(requests)" -eq 4 ]
	! grep -rq -- "$KEY" "$SG_CACHE_DIR"
}

@test "without a backend the model checks are not run, said once; the others still are" {
	recipe '{"llm_judge": {"enabled": true}, "entailment": {"enabled": true}, "length": {"max": 10}}'
	texts 'short' 'much too long a text' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '[(.checks | keys), .valid]' <<<"$output")" \
'[["generate","length"],true]
[["generate","length"],false]'
	assert_equal "$stderr" 'sg-validate: the model checks (llm_judge, entailment, toxicity llm, semantic, similarity, diversity) are not run: no LLM configured (set OPENAI_BASE_URL or OPENAI_API_KEY)'
}

@test "a .env file configures the server for the model checks, as for sg-gen; the environment wins" {
	server
	printf 'OPENAI_BASE_URL=%s\nOPENAI_API_KEY=%s\nOPENAI_MODEL=judge-env\n' \
		"$OPENAI_BASE_URL" "$KEY" >.env
	unset OPENAI_BASE_URL OPENAI_API_KEY
	recipe '{"llm_judge": {"enabled": true}}'
	texts 'One sample.' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -e '.checks.llm_judge.pass' <<<"$output"
	[ "$(jq -r '.body.model' log.jsonl)" = judge-env ]
	: >log.jsonl
	run --separate-stderr env OPENAI_MODEL=judge-var sg-validate --no-cache -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ "$(jq -r '.body.model' log.jsonl)" = judge-var ]
}

@test "--no-llm: a server configured, no model check run and nothing said; the others still are" {
	server
	recipe '{"llm_judge": {"enabled": true}, "entailment": {"enabled": true}, "length": {"max": 10}}'
	texts 'short' 'much too long a text' >in.jsonl
	run --separate-stderr sg-validate --no-llm -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[(.checks | keys), .valid]' <<<"$output")" \
'[["generate","length"],true]
[["generate","length"],false]'
	[ ! -s log.jsonl ]
}

@test "samples waiting for their judge are deduplicated against the valid ones before them" {
	server
	recipe '{"llm_judge": {"enabled": true}, "deduplication": {"enabled": true}}'
	texts 'Same text JUDGE=5' 'Same text JUDGE=5' 'Low JUDGE=2' 'Low JUDGE=2' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[(.checks | keys_unsorted), .checks.dedup.pass, .valid]' <<<"$output")" \
'[["generate","dedup","llm_judge"],true,true]
[["generate","dedup","llm_judge"],false,false]
[["generate","dedup","llm_judge"],true,false]
[["generate","dedup","llm_judge"],true,false]'
	[ "$(jq -r '.checks.dedup.why // empty' <<<"$output")" = 'duplicate of an earlier sample (t:0:0)' ]
}

@test "requests flow: a slow answer holds back neither the next requests nor more than 256 records" {
	faults '[{"fault": "slow", "seconds": 2}]'
	server --script script.json --latency 5
	recipe '{"llm_judge": {"enabled": true}}'
	for i in $(seq 400); do echo "Sample number $i."; done |
		jq -Rc '{type: "sample", id: "t:0:\(input_line_number - 1)", run: "t", batch: 0, data: .}' >in.jsonl
	run --separate-stderr sg-validate -j 8 -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# every record, in input order
	assert_equal "$(jq -r '.id' <<<"$output" | cut -d: -f3 | tr '\n' ' ')" "$(seq 0 399 | tr '\n' ' ')"
	# while the late answer was awaited, the records after its own went on
	# being asked for, up to the 256 held, no more.  The late one is the
	# first request to reach the server, which of the first 8 that is
	# depends on the race between them; the records before it are answered
	# and gone, so they count beside the 256.
	late=$(jq -rs 'map(select(.fault == "slow"))[0].body | tostring' log.jsonl |
		grep -o 'Sample number [0-9]*' | grep -o '[0-9]*$')
	before=$(jq -s '(map(select(.fault == "slow")) | .[0].t1) as $late |
		map(select(.t0 < $late)) | length' log.jsonl)
	echo "asked before the slow answer to sample $late: $before"
	[ "$late" -le 8 ]
	[ "$before" -gt 200 ]
	[ "$before" -le $((257 + late - 1)) ]
	[ "$(jq -s 'map(.inflight) | max' log.jsonl)" -le 8 ]
}

@test "records held behind the judge go out as they came in, byte for byte, but the fields sg-validate owns" {
	server --latency 200
	jq -nc '{type: "job", run: "t", batch: 0, recipe: {validators: {llm_judge: {enabled: true}}}}' >in.jsonl
	texts 'A plain sample.' >>in.jsonl
	# another record and a sample of a batch without model checks, behind
	# the sample waiting for its judge; the batch record waits for it too
	cat >>in.jsonl <<'IN'
{"type":"note",   "x": 1e2, "y": [1,  2]}
{"run":"t","batch":1, "type":"sample","id":"t:1:0","data":"Another sample.", "mine": {"z": 1,  "a": 2.0}}
{ "n" : 1,"batch":0 ,  "run":"t", "type":"batch", "mine": {"z": [1,  2], "a": 1.50} }
IN
	run --separate-stderr sg-validate in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = 'job sample note sample batch ' ]
	# as they go when nothing holds them: their fields' bytes in their order
	assert_equal "$(sed -n '3,5p' <<<"$output")" "$(sed -n '3,5p' in.jsonl | sg-validate)"
	grep -qF '"mine": {"z": [1,  2], "a": 1.50}' <<<"$output"
	grep -qF '"x": 1e2,"y": [1,  2]' <<<"$output"
	grep -qF '"mine": {"z": 1,  "a": 2.0},"checks":{"generate":{"pass":true}},"valid":true}' <<<"$output"
}

@test "libcurl is loaded only for a model check: without it the offline checks run, a judge stops with status 7 naming why" {
	no_libcurl
	server
	texts 'A plain sample.' >in.jsonl
	run --separate-stderr env LD_LIBRARY_PATH="$PWD/nolib" sg-validate in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -r .valid <<<"$output")" = true ]
	recipe '{"llm_judge": {"enabled": true, "threshold": 0.7}}'
	run --separate-stderr env LD_LIBRARY_PATH="$PWD/nolib" sg-validate -r r.json in.jsonl
	[ "$status" -eq 7 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-validate: cannot load libcurl.so.4: $PWD/nolib/libcurl.so.4: file too short"
	[ ! -e log.jsonl ] || [ "$(requests)" -eq 0 ]
}
