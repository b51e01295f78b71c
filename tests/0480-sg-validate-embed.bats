#!/usr/bin/env bats
# sg-validate's checks by embeddings against the loopback stand-in, whose
# /v1/embeddings answers hashed bags of words: relevance to the task by
# cosine (semantic), each batch's dispersion (diversity), which sg-score
# puts in the reward and a threshold rejects, closeness to the original
# input or to earlier samples (similarity), and embeddings that cannot
# tell texts apart.

load helpers
load llm-helpers

# recipe VALIDATORS [CONSTRAINTS]: a job record for run t, batch 0, whose
# recipe has those validators and constraints, in job.jsonl.
recipe() {
	jq -nc --argjson v "$1" --argjson c "${2:-{\}}" '{type: "job", run: "t", batch: 0,
		recipe: {domain: "d", num_samples: 1,
		task_input: {description: "opening hours and ticket prices of the city museum"},
		validators: $v, constraints: $c}}' >job.jsonl
}

# batches: job.jsonl and a batch of three samples saying one thing in
# in1.jsonl, three saying different things in in0.jsonl.
batches() {
	for same in 1 0; do
		{
			cat job.jsonl
			if [ $same = 1 ]; then
				texts 'the museum opens at nine' 'the museum opens at nine today' \
					'the museum opens at nine daily'
			else
				texts 'the museum opens at nine' 'bananas grow on tropical farms' \
					'a quiet lake under grey skies'
			fi
			echo '{"type": "batch", "run": "t", "batch": 0, "n": 3}'
		} >in$same.jsonl
	done
}

@test "semantic: the embedding cosine of each sample to the task description" {
	server
	recipe '{"semantic": {"min_similarity": 0.4, "model": "embed-1"}}'
	{
		cat job.jsonl
		texts 'The city museum opening hours and ticket prices.' \
			'Bananas are yellow fruit grown on tropical farms.'
	} >in.jsonl
	run --separate-stderr sg-validate in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c 'select(.type == "sample") | [.checks.semantic.pass, .checks.semantic.similarity > 0.4, .valid]' <<<"$output")" \
'[true,true,true]
[false,false,false]'
	assert_equal "$(jq -r 'select(.type == "sample") | .checks.semantic.why // empty' <<<"$output")" \
		'embedding cosine 0.00 to the task, less than 0.4'
	# one request per sample and one for the description, all of embed-1
	[ "$(requests)" -eq 3 ]
	[ "$(jq -r '.path' log.jsonl | sort -u)" = /v1/embeddings ]
	[ "$(jq -r '.body.model' log.jsonl | sort -u)" = embed-1 ]
	jq -r '.body.input' log.jsonl | grep -qx 'opening hours and ticket prices of the city museum'
	# --embedding-model wins over the recipe
	: >log.jsonl
	run --separate-stderr sg-validate --no-cache --embedding-model embed-2 in.jsonl
	[ "$status" -eq 0 ]
	[ "$(jq -r '.body.model' log.jsonl | sort -u)" = embed-2 ]
}

@test "diversity: a batch's embedding dispersion is in its batch record and reward; min_dispersion acts on it" {
	server
	recipe '{"diversity": {"enabled": true, "min_dispersion": 0.5}}'
	batches
	run --separate-stderr sh -c 'sg-validate in1.jsonl | sg-score'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -c 'select(.type == "batch") | [.embedded, .embedding_dispersion < 0.3]' <<<"$output")" = '[3,true]' ]
	[ "$(jq -c 'select(.type == "reward") | [.embedding_dispersion < 0.3, .dispersion_ok]' <<<"$output")" = '[true,false]' ]
	low=$(jq 'select(.type == "reward") | .reward' <<<"$output")
	run --separate-stderr sh -c 'sg-validate in0.jsonl | sg-score'
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.type == "reward") | [.embedding_dispersion > 0.9, .dispersion_ok]' <<<"$output")" = '[true,true]' ]
	# the reward is halved below the bound, as the man page's formula says
	[ "$(jq "select(.type == \"reward\") | ($REWARD_FORMULA) - $low | fabs < 1e-9" \
		<<<"$(sg-validate in1.jsonl | sg-score)")" = true ]
	# without min_dispersion, constraints.min_diversity bounds it
	recipe '{"diversity": {"enabled": true, "threshold": 0}}' '{"min_diversity": 0.5}'
	{ cat job.jsonl; sed 1d in1.jsonl; } >in2.jsonl
	run --separate-stderr sh -c 'sg-validate in2.jsonl | sg-score'
	[ "$(jq -c 'select(.type == "reward") | .dispersion_ok' <<<"$output")" = false ]
}

@test "embeddings are cached: a re-run makes no request; a failed one fails semantic" {
	faults '[{"status": 404, "body": {"detail": "no such model"}}]'
	server --script script.json
	recipe '{"semantic": {}, "diversity": {"enabled": true, "min_dispersion": 0.1}}'
	{
		cat job.jsonl
		texts 'city museum hours' 'ticket prices of the museum'
		echo '{"type": "batch", "run": "t", "batch": 0, "n": 2}'
	} >in.jsonl
	run --separate-stderr sg-validate -j 1 in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$stderr" 'sg-validate: in.jsonl:2: semantic: HTTP 404: no such model'
	assert_equal "$(jq -c 'select(.type == "sample") | .checks.semantic' <<<"$output")" \
'{"pass":false,"why":"not checked: HTTP 404: no such model","error":"HTTP 404: no such model"}
{"pass":true,"similarity":0.7453559925}'
	# one vector is not a dispersion
	[ "$(jq -c 'select(.type == "batch") | .embedding_dispersion' <<<"$output")" = null ]
	[ "$(requests)" -eq 3 ]
	run --separate-stderr sg-validate -j 1 in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(requests)" -eq 4 ]
	[ "$(jq -c 'select(.type == "batch") | .embedded' <<<"$output")" = 2 ]
	first=$output
	run --separate-stderr sg-validate -j 1 in.jsonl
	[ "$(requests)" -eq 4 ]
	[ "$output" = "$first" ]
}

@test "examples/llm through sg-run: every model check in the samples, the reward and sg-run's report" {
	server
	run --separate-stderr sg-run -v --seed 3 -o out.jsonl "$EXAMPLES/llm/reviews-llm.yaml"
	[ "$status" -eq 0 ]
	[ "$(wc -l <out.jsonl)" -eq 20 ]
	[ "$(jq -s 'map(.checks | has("llm_judge") and has("toxicity_llm") and has("semantic") and has("similarity")) | all' out.jsonl)" = true ]
	# grounded samples are judged against the text of their passages' ids;
	# the recipe has no extractive arm: only rag's are grounded
	assert_equal "$(jq -c 'select(.generator == "rag" or .generator == "extractive") |
		[.generator, (.checks.entailment | has("score"))]' out.jsonl out.jsonl.state.rejected | sort -u)" \
'["rag",true]'
	grep -q 'Bluetooth' <(jq -r 'select(.body.messages[0].content | test("supported by the sources")) | .body.messages[0].content' log.jsonl)
	[ "$(jq -s 'map(select(.type == "reward") | has("embedding_dispersion") and (.checks | has("llm_judge"))) | all' out.jsonl.state.log)" = true ]
	[ "$(grep -c '^sg-run:   failed checks: .*; embedding dispersion 0\.[0-9]*$' <<<"$stderr")" -eq "$(grep -c '^sg-run: iteration' <<<"$stderr")" ]
	# and sg-run's one look at the server before its first batch
	[ "$(jq -s 'map(.path) | unique' log.jsonl | jq -c .)" = '["/v1/chat/completions","/v1/embeddings","/v1/models"]' ]
	# every sample accepted has its embedding kept for the next iterations
	[ "$(head -n1 out.jsonl.state.seen.vectors | cut -d' ' -f1,2)" = 'sg-vectors 1024' ]
	[ -z "$(comm -23 <(jq -r .id out.jsonl | sort) <(sed 1d out.jsonl.state.seen.vectors | cut -d' ' -f2 | jq -r . | sort))" ]
}

@test "similarity against samples: a sample whose embedding is too close to an earlier kept one is a semantic near-duplicate" {
	server
	recipe '{"similarity": {"enabled": true, "against": "samples", "threshold": 0.9}}'
	{
		cat job.jsonl
		texts 'The museum opens at nine.' \
			'Bananas grow on tropical farms.' \
			'At nine the museum opens!' \
			'The museum opens at nine, on weekdays.' \
			'The museum opens at ten.'
	} >in.jsonl
	run --separate-stderr sg-validate -j 4 in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# the same bag of words is cosine 1; "on weekdays" adds two words,
	# 5/sqrt(5 x 7) = 0.845; "ten" for "nine" 4/5 = 0.8
	assert_equal "$(jq -c 'select(.type == "sample") | .checks.similarity |
		[.pass, .nearest, (.similarity // 0 | . * 1000 | round)]' <<<"$output")" \
'[true,null,0]
[true,"t:0:0",0]
[false,"t:0:0",1000]
[true,"t:0:0",845]
[true,"t:0:0",800]'
	assert_equal "$(jq -r 'select(.type == "sample") | .checks.similarity.why // empty' <<<"$output")" \
		'embedding cosine 1.000 to sample t:0:0, more than 0.9'
	assert_equal "$(jq -c 'select(.type == "sample") | .valid' <<<"$output" | tr -d '\n')" \
		truetruefalsetruetrue
	# one embedding per sample, nothing for the task
	[ "$(requests)" -eq 5 ]
}

@test "similarity: an embedding that cannot be had fails the check, with why" {
	faults '[{"status": 400, "body": {"error": {"message": "input too long"}}}]'
	server --script script.json
	recipe '{"similarity": {"enabled": true, "against": "samples"}}'
	{ cat job.jsonl; texts 'The museum opens at nine.'; } >in.jsonl
	run --separate-stderr sg-validate in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$stderr" 'sg-validate: in.jsonl:2: similarity: HTTP 400: input too long'
	assert_equal "$(jq -c 'select(.type == "sample") | [.checks.similarity.pass, .checks.similarity.why, .valid]' <<<"$output")" \
		'[false,"not checked: HTTP 400: input too long",false]'
}

@test "similarity with --seen: the vectors kept persist, so a later run is compared with the whole dataset; a rejected sample's are not kept" {
	server
	recipe '{"similarity": {"enabled": true, "against": "samples", "threshold": 0.9, "model": "embed-1"}, "pii": {}}'
	{
		cat job.jsonl
		texts 'The museum opens at nine.' \
			'Bananas grow on tropical farms, write to ann@example.com' \
			'A quiet lake under grey skies.'
		echo '{"type": "batch", "run": "t", "batch": 0, "n": 3}'
	} >in1.jsonl
	run --separate-stderr sg-validate --seen seen in1.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c 'select(.type == "sample") | [.checks.similarity.pass, .valid]' <<<"$output")" \
'[true,true]
[null,false]
[true,true]'
	# a header naming the model and the dimensions, then the two samples kept
	[ "$(head -n1 seen.vectors)" = 'sg-vectors 1024 embed-1' ]
	[ "$(sed 1d seen.vectors | cut -d' ' -f2 | tr '\n' ' ')" = '"t:0:0" "t:0:2" ' ]
	[ "$(sed 1d seen.vectors | cut -d' ' -f1 | awk '{ print length($0) }' | sort -u)" = 8192 ]
	# the next run: the first is t:0:0 of the file in other words; the
	# second is like the rejected sample, which does not count; the third
	# is the second in other words
	{
		sed 's/"run":"t","batch":0/"run":"u","batch":0/' job.jsonl
		texts 'At nine the museum opens!' 'Bananas grow on tropical farms.' \
			'On tropical farms grow bananas.' | sed 's/"t:0:/"u:0:/; s/"run":"t"/"run":"u"/'
		echo '{"type": "batch", "run": "u", "batch": 0, "n": 3}'
	} >in2.jsonl
	run --separate-stderr sg-validate --seen seen in2.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c 'select(.type == "sample") | .checks.similarity |
		[.pass, .nearest, (.similarity | . * 1000 | round)]' <<<"$output")" \
'[false,"t:0:0",1000]
[true,"t:0:0",0]
[false,"u:0:1",1000]'
	assert_equal "$(jq -r 'select(.type == "sample") | .checks.similarity.why // empty' <<<"$output")" \
'embedding cosine 1.000 to sample t:0:0, more than 0.9
embedding cosine 1.000 to sample u:0:1, more than 0.9'
	[ "$(sed 1d seen.vectors | cut -d' ' -f2 | tr '\n' ' ')" = '"t:0:0" "t:0:2" "u:0:1" ' ]
	# the same input again: all three are taken now
	run --separate-stderr sg-validate --seen seen in2.jsonl
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.type == "sample") | [.checks.similarity.nearest, .valid]' <<<"$output" | tr '\n' ' ')" = '["t:0:0",false] ["u:0:1",false] ["u:0:1",false] ' ]
	[ "$(wc -l <seen.vectors)" -eq 4 ]
}

@test "similarity with --seen: vectors of another model or dimension are an error; so is a damaged file" {
	server
	recipe '{"similarity": {"enabled": true, "against": "samples", "model": "embed-1"}}'
	{ cat job.jsonl; texts 'The museum opens at nine.'; } >in.jsonl
	sg-validate --seen seen in.jsonl >/dev/null
	[ "$(wc -l <seen.vectors)" -eq 2 ]
	run --separate-stderr sg-validate --seen seen --embedding-model embed-2 in.jsonl
	[ "$status" -eq 3 ]
	assert_equal "$stderr" "sg-validate: similarity: 'seen.vectors' holds embeddings of model 'embed-1', not 'embed-2'"
	# with -r it is told before any record is read
	jq '.recipe' job.jsonl >r.json
	run --separate-stderr sg-validate --seen seen -r r.json --embedding-model embed-2 /dev/null
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	# a file of the same model but 8 dimensions
	printf 'sg-vectors 8 embed-1\n3f800000%056d "x"\n' 0 >seen.vectors
	run --separate-stderr sg-validate --seen seen in.jsonl
	[ "$status" -eq 3 ]
	assert_equal "$stderr" "sg-validate: in.jsonl:2: similarity: 'seen.vectors' holds embeddings of 8 numbers, not 1024"
	printf 'sg-vectors 8 embed-1\n3f80 "x"\n' >seen.vectors
	run --separate-stderr sg-validate --seen seen in.jsonl
	[ "$status" -eq 3 ]
	assert_equal "$stderr" "sg-validate: seen.vectors:2: not a vector of 8 numbers and an id"
	# hexadecimal digits only: no sign or 0x that strtoul would take
	for bad in -3f80000 0x3f8000 ' 3f80000'; do
		{ echo 'sg-vectors 2 embed-1'; printf '3f800000%s "x"\n' 00000000 "$bad"; } >seen.vectors
		run --separate-stderr sg-validate --seen seen in.jsonl
		[ "$status" -eq 3 ]
		assert_equal "$stderr" "sg-validate: seen.vectors:3: not a vector of 2 numbers and an id"
	done
	for header in 'vectors' 'sg-vectors 0 embed-1' 'sg-vectors 65537 embed-1' 'sg-vectors 8'; do
		printf '%s\n' "$header" >seen.vectors
		run --separate-stderr sg-validate --seen seen in.jsonl
		[ "$status" -eq 3 ]
		assert_equal "$stderr" "sg-validate: seen.vectors:1: not the header of a vector file"
	done
}

@test "similarity: two sg-validate sharing --seen never both keep semantic near-duplicates" {
	server
	job='{"type":"job","run":"t","batch":B,"recipe":{"validators":{"similarity":{"enabled":true,"against":"samples","threshold":0.9}}}}'
	# both ask for their sample's embedding before either ends its batch
	for b in 1 2; do
		{
			echo "${job/B/$b}"
			if [ $b = 1 ]; then t='The museum opens at nine.'; else t='At nine the museum opens!'; fi
			jq -nc --arg t "$t" --argjson b $b '{type: "sample", run: "t", batch: $b, id: "\($b):0", data: $t}'
			sleep 1
			echo "{\"type\":\"batch\",\"run\":\"t\",\"batch\":$b}"
		} | sg-validate --seen seen > out$b 2> err$b &
		pids="${pids:-} $!"
	done
	wait $pids
	[ ! -s err1 ] && [ ! -s err2 ]
	[ "$(cat out1 out2 | jq -s 'map(select(.type == "sample" and .valid)) | length')" -eq 1 ]
	cat out1 out2 | jq -r 'select(.type == "sample" and (.valid | not)) | .checks.similarity.why' |
		grep -qx 'embedding cosine 1.000 to sample [12]:0, which another process took, more than 0.9'
	[ "$(wc -l < seen.vectors)" -eq 2 ]
	[ "$(jq -r .type out1 | tr '\n' ' ')" = "job sample batch " ]
}

@test "similarity with --seen: a process reads the vectors others appended after its own" {
	server
	job='{"type":"job","run":"R","batch":B,"recipe":{"validators":{"similarity":{"enabled":true,"against":"samples","threshold":0.9}}}}'
	# sample RUN BATCH TEXT
	sample() {
		jq -nc --arg r "$1" --argjson b "$2" --arg t "$3" \
			'{type: "sample", run: $r, batch: $b, id: "\($r):\($b)", data: $t}'
	}
	mkfifo in
	sg-validate --seen seen <in >outa 2>erra 3>&- &
	pid=$!
	exec 4>in
	{ echo "${job/B/1}" | sed 's/R/a/'; sample a 1 'The museum opens at nine.'
		echo '{"type":"batch","run":"a","batch":1}'; } >&4
	for _ in $(seq 100); do [ -s seen.vectors ] && break; sleep 0.05; done
	[ "$(wc -l <seen.vectors)" -eq 2 ]
	# another process keeps a sample after the first wrote its batch
	{ echo "${job/B/1}" | sed 's/R/b/'; sample b 1 'Bananas grow on tropical farms.'
		echo '{"type":"batch","run":"b","batch":1}'; } | sg-validate --seen seen >outb
	[ "$(jq -c 'select(.type == "sample") | .valid' outb)" = true ]
	# the first, at its next batch, finds that sample among the others'
	{ echo "${job/B/2}" | sed 's/R/a/'; sample a 2 'On tropical farms grow bananas.'
		echo '{"type":"batch","run":"a","batch":2}'; } >&4
	exec 4>&-
	wait $pid
	[ ! -s erra ]
	assert_equal "$(jq -c 'select(.type == "sample") | [.id, .valid, .checks.similarity.why]' outa)" \
'["a:1",true,null]
["a:2",false,"embedding cosine 1.000 to sample b:1, which another process took, more than 0.9"]'
	[ "$(sed 1d seen.vectors | cut -d' ' -f2 | tr '\n' ' ')" = '"a:1" "b:1" ' ]
}

@test "similarity, as in the Python system: a rewrite's embedding cosine to the original input is at least the threshold" {
	server
	jq -nc '{type: "job", run: "t", batch: 0, recipe: {domain: "task_rewrite", num_samples: 3,
		task_input: {original_input: "When does the city museum open?", expected_output: "hours_query",
			task_description: "Intent classification"},
		validators: {similarity: {enabled: true, threshold: 0.8, embedding_model: "openai/embed-1"}}}}' >job.jsonl
	{
		cat job.jsonl
		texts 'When does the city museum open' 'When does the museum open?' 'How much are tickets?'
	} >in.jsonl
	run --separate-stderr sg-validate in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# the same six words; five of them; none
	assert_equal "$(jq -c 'select(.type == "sample") | .checks.similarity | [.pass, (.similarity * 1000 | round), .why]' <<<"$output")" \
'[true,1000,null]
[true,913,null]
[false,0,"embedding cosine 0.00 to the original input, less than 0.8"]'
	# the original input once, each sample once, of the model named
	[ "$(requests)" -eq 4 ]
	[ "$(jq -r '.body.model' log.jsonl | sort -u)" = embed-1 ]
	jq -r '.body.input' log.jsonl | grep -qx 'When does the city museum open?'
	# a task_rewrite's string task_input is the original; the threshold's
	# default is 0.85
	jq -c '.recipe.task_input = "When does the city museum open?" | .recipe.validators.similarity = {enabled: true}' job.jsonl >job2.jsonl
	{ cat job2.jsonl; sed 1d in.jsonl; } >in2.jsonl
	run --separate-stderr sg-validate in2.jsonl
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.type == "sample") | .checks.similarity.pass' <<<"$output" | tr '\n' ' ')" = 'true true false ' ]
}

@test "diversity threshold, as in the Python system: a batch whose embedding dispersion is below it fails every sample" {
	server
	recipe '{"diversity": {"enabled": true, "threshold": 0.3}}'
	batches
	run --separate-stderr sg-validate in1.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	d=$(jq 'select(.type == "batch") | .embedding_dispersion' <<<"$output")
	assert_equal "$(jq -c --argjson d "$d" 'select(.type == "sample") | [.valid, .checks.diversity.pass, .checks.diversity.dispersion == $d]' <<<"$output" | sort -u)" \
		'[false,false,true]'
	jq -r 'select(.type == "sample") | .checks.diversity.why' <<<"$output" | grep -qx "its batch's embedding dispersion 0\.[0-9][0-9], less than 0.3"
	run --separate-stderr sg-validate in0.jsonl
	[ "$(jq -c 'select(.type == "sample") | [.valid, .checks.diversity.pass]' <<<"$output" | sort -u)" = '[true,true]' ]
	# a sample waits for its batch's end; one alone passes
	{ cat job.jsonl; texts 'the museum opens at nine'; } >one.jsonl
	run --separate-stderr sg-validate one.jsonl
	[ "$(jq -c 'select(.type == "sample") | .checks.diversity' <<<"$output")" = '{"pass":true}' ]
	# enabled without a threshold: the Python system's 0.3; with sg's
	# min_dispersion alone, only the reward hears of it
	recipe '{"diversity": {"enabled": true}}'
	{ cat job.jsonl; sed 1d in1.jsonl; } >in2.jsonl
	run --separate-stderr sg-validate in2.jsonl
	[ "$(jq -c 'select(.type == "sample") | .valid' <<<"$output" | sort -u)" = false ]
	recipe '{"diversity": {"enabled": true, "min_dispersion": 0.3}}'
	{ cat job.jsonl; sed 1d in1.jsonl; } >in2.jsonl
	run --separate-stderr sg-validate in2.jsonl
	[ "$(jq -c 'select(.type == "sample") | [.valid, .checks.diversity]' <<<"$output" | sort -u)" = '[true,null]' ]
}

@test "embeddings that cannot tell texts apart: said once, naming the model; the checks on them pass, skipped, for the run and, through --seen, the runs after" {
	server --blind-embeddings
	recipe '{"semantic": {"min_similarity": 0.99}, "similarity": {"enabled": true, "against": "samples", "threshold": 0.9},
		"diversity": {"enabled": true, "threshold": 0.3}}'
	batch() {
		cat job.jsonl | sed "s/\"batch\":0/\"batch\":$1/"
		shift
		texts "$@" | sed "s/\"batch\":0/\"batch\":$b/"
		echo "{\"type\": \"batch\", \"run\": \"t\", \"batch\": $b, \"n\": 3}"
	}
	b=0 batch 0 'The museum opens at nine.' 'Bananas grow on tropical farms.' 'A quiet lake under grey skies.' >in.jsonl
	run --separate-stderr sg-validate --seen seen in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$stderr" "sg-validate: embeddings of model 'text-embedding-3-small' cannot tell texts apart: samples t:0:0, t:0:1 and t:0:2 differ in their words but are all at cosine above 0.95; the semantic, similarity and diversity checks are skipped from now on"
	assert_equal "$(jq -c 'select(.type == "sample") | [.valid, .checks.semantic, .checks.similarity.pass, .checks.diversity.pass]' <<<"$output" | sort -u)" \
		"[true,{\"pass\":true,\"skipped\":\"skipped: embeddings of model 'text-embedding-3-small' cannot tell texts apart\"},true,true]"
	# nothing for sg-score to weigh, no vector kept, and the file says so
	[ "$(jq -c 'select(.type == "batch") | has("embedding_dispersion")' <<<"$output")" = false ]
	assert_equal "$(cat seen.vectors)" 'sg-vectors 1024 text-embedding-3-small
blind'
	# the next iteration, another process: skipped from the first sample, not said again
	b=1 batch 1 'Tickets cost twelve euros.' 'Tickets cost twelve euros!' 'The shop sells postcards.' >in1.jsonl
	run --separate-stderr sg-validate --seen seen in1.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -c 'select(.type == "sample") | [.valid, .checks.similarity.skipped != null]' <<<"$output" | sort -u)" = '[true,true]' ]
	[ "$(wc -l <seen.vectors)" -eq 2 ]
	run --separate-stderr sg-validate -v --seen seen in1.jsonl
	[ "$(grep -c 'cannot tell texts apart, as an earlier process found' <<<"$stderr")" -eq 1 ]
}

@test "embeddings that tell texts apart are not called blind, even of a batch that says one thing three times" {
	server
	recipe '{"similarity": {"enabled": true, "against": "samples", "threshold": 0.9}}'
	{
		cat job.jsonl
		texts 'the museum opens at nine' 'the museum opens at nine' 'the museum opens at nine'
		echo '{"type": "batch", "run": "t", "batch": 0, "n": 3}'
	} >in.jsonl
	run --separate-stderr sg-validate in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -c 'select(.type == "sample") | .valid' <<<"$output" | tr '\n' ' ')" = 'true false false ' ]
}
