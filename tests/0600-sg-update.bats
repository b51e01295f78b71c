#!/usr/bin/env bats
# sg-update: committing batches, applying rewards, the journalled output.

load helpers

# sample RUN BATCH INDEX [PASS]: a scored sample record
sample() {
	jq -nc --argjson b "$2" --argjson i "$3" --argjson p "${4:-true}" '{
		type: "sample", id: "\($b):\($i)", run: "t", batch: $b, index: $i,
		arm: "a1", data: {text: "sample \($b) \($i)"},
		checks: {length: {pass: $p}}, valid: $p, quality: (if $p then 1 else 0 end), pass: $p}'
}

# reward BATCH VALUE [ARM] [QUALITY]
reward() {
	jq -nc --argjson b "$1" --argjson r "$2" --arg arm "${3:-a1}" --argjson q "${4:-$2}" '{
		type: "reward", run: "t", batch: $b, arm: $arm,
		params: {temperature: 1.0}, context: {domain: "d"},
		reward: $r, mean_quality: $q, n: 3}'
}

batch() { # BATCH REWARD PASS...: samples, a batch record and a reward
	local b=$1 r=$2 i=0
	shift 2
	for p in "$@"; do sample t "$b" "$i" "$p"; i=$((i + 1)); done
	echo "{\"type\":\"batch\",\"run\":\"t\",\"batch\":$b}"
	reward "$b" "$r"
}

fns() { declare -f sample reward batch; }

@test "accepted samples go out, refused ones to -r with a reason, the reward to the state" {
	batch 0 0.6 true false true > in.jsonl
	run --separate-stderr sg-update -s st -r rej.jsonl < in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -r .id | tr '\n' ' ')" = "0:0 0:2 " ]
	[ "$(jq -r '[.id, .reject] | @tsv' rej.jsonl)" = "$(printf '0:1\tfailed length')" ]
	jq -e '.accepted == 2 and .rejected == 1 and .rewards == 1
		and .arms.a1.n == 1 and .arms.a1.sum == 0.6' st
	jq -e '.contexts | to_entries[0].value.a1 | del(.wins) == {n: 1, sum: 0.6}
		and (.wins == 0 or .wins == 1)' st
}

@test "a reward that refuses its batch: every sample rejected with its reason, the reward still learnt" {
	{
		batch 0 0.6 true true
		batch 1 0.3 true false | jq -c 'if .type == "reward" then .reject = "its samples lower the dev score" else . end'
	} > in.jsonl
	run --separate-stderr sg-update -s st -r rej.jsonl < in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -r .id | tr '\n' ' ')" = "0:0 0:1 " ]
	assert_equal "$(jq -r '[.id, .reject] | @tsv' rej.jsonl)" "$(printf '1:0\tits samples lower the dev score\n1:1\tfailed length')"
	jq -e '.accepted == 2 and .rejected == 2 and .rewards == 2 and .arms.a1.n == 2' st
}

@test "rewards decay epsilon and adapt the arm's temperature" {
	{ reward 0 0.2 a1 0.2; reward 1 0.9 a2 0.9; reward 2 0.7 a3 0.7; } > in.jsonl
	sg-update -s st < in.jsonl
	# the original's rule: 0.05 down below quality 0.6, 0.025 up above 0.8
	jq -e '.arms.a1.temperature == 0.95 and .arms.a2.temperature == 1.025
		and .arms.a3.temperature == 1' st
	# 0.4 * 0.98^3, the defaults
	[ "$(jq -r .epsilon st)" = 0.37647680 ] || [ "$(jq -r .epsilon st)" = 0.3764768 ]
}

@test "the target caps what is accepted" {
	jq -nc '{type: "job", run: "t", job: 0, n: 5, target: 3,
		context: {grammar: true}, recipe: {grammar: {}}}' | sg-route -s st >/dev/null
	batch 0 1 true true true true true > in.jsonl
	run --separate-stderr sg-update -s st -r rej.jsonl < in.jsonl
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 3 ]
	[ "$(jq -r .reject rej.jsonl | sort -u)" = "target reached" ]
	jq -e '.accepted == 3 and .rejected == 2' st
}

@test "-o records the output's length and cuts back an unfinished batch" {
	batch 0 0.5 true true > b0.jsonl
	batch 1 0.5 true > b1.jsonl
	sg-update -s st -o data.jsonl < b0.jsonl
	[ "$(jq .output.bytes st)" -eq "$(wc -c < data.jsonl)" ]
	# a crash after writing samples but before the state was committed
	sample t 9 0 >> data.jsonl
	run --separate-stderr sg-update -s st -o data.jsonl < b1.jsonl
	[ "$status" -eq 0 ]
	[[ "$stderr" == "sg-update: dropping "*" bytes of an unfinished batch from 'data.jsonl'" ]]
	[ "$(jq -r .id data.jsonl | tr '\n' ' ')" = "0:0 0:1 1:0 " ]
	jq -e '.accepted == 3' st
	[ "$(jq .output.bytes st)" -eq "$(wc -c < data.jsonl)" ]
}

@test "an output shorter than the state records is refused" {
	batch 0 0.5 true true | sg-update -s st -o data.jsonl
	: > data.jsonl
	run --separate-stderr sh -c "$(fns); batch 1 0.5 true | sg-update -s st -o data.jsonl"
	[ "$status" -eq 3 ]
	[[ "$stderr" == "sg-update: output 'data.jsonl' has 0 bytes but state 'st' recorded "*": was it edited?" ]]
	jq -e '.accepted == 2' st
}

@test "a reward alone is applied, samples without a reward are kept unlearned" {
	{ reward 7 0.25; sample t 8 0; } > in.jsonl
	run --separate-stderr sg-update -s st < in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -r .id)" = "8:0" ]
	jq -e '.rewards == 1 and .arms.a1.sum == 0.25 and .accepted == 1' st
}

@test "samples without pass or valid are accepted, error samples are not" {
	{ jq -nc '{type:"sample",id:"x",run:"t",batch:0,index:0,data:"hi"}'
	  jq -nc '{type:"sample",id:"y",run:"t",batch:0,index:1,error:"max depth 8 exceeded"}'
	  reward 0 0.5; } > in.jsonl
	run --separate-stderr sg-update -s st -r rej.jsonl < in.jsonl
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .id)" = x ]
	[ "$(jq -r .reject rej.jsonl)" = "generation failed" ]
}

@test "job, batch and reward records are consumed into the log, others pass through" {
	{ echo '{"type":"job","run":"t","batch":0}'; echo '{"type":"note","n":1}'; batch 0 0.5 true; } > in.jsonl
	run --separate-stderr sg-update -s st -l log.jsonl < in.jsonl
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .type | tr '\n' ' ')" = "note sample " ]
	[ "$(jq -r .type log.jsonl | tr '\n' ' ')" = "job batch reward " ]
	jq -e 'select(.type == "reward") | .accepted == 1 and .rejected == 0' log.jsonl
}

@test "a malformed line and a bad reward are reported, the rest committed" {
	{ sample t 0 0; echo 'not json'; reward 0 1.5; sample t 1 0; reward 1 0.5; } > in.jsonl
	run --separate-stderr sg-update -s st < in.jsonl
	[ "$status" -eq 1 ]
	[ "$stderr" = "$(printf '%s\n' "sg-update: <stdin>:2: invalid JSON at column 3: '[' or '{' expected near 'not'" "sg-update: <stdin>:3: reward 1.5 is outside [0, 1]")" ]
	[ "$(echo "$output" | jq -r .id | tr '\n' ' ')" = "0:0 1:0 " ]
	jq -e '.rewards == 1 and .accepted == 2' st
}

@test "concurrent updaters sharing a state and an output lose nothing" {
	for w in 0 1 2 3; do
		for b in $(seq $((w * 25)) $((w * 25 + 24))); do batch "$b" 0.5 true true; done > in.$w
	done
	for w in 0 1 2 3; do sg-update -s st -o data.jsonl < in.$w & done
	wait
	jq -e '.rewards == 100 and .accepted == 200 and .arms.a1.n == 100 and .arms.a1.sum == 50' st
	[ "$(wc -l < data.jsonl)" -eq 200 ]
	[ "$(jq -r .id data.jsonl | sort -u | wc -l)" -eq 200 ]
	[ "$(jq .output.bytes st)" -eq "$(wc -c < data.jsonl)" ]
}

@test "rewards naming only run and batch join their pending decisions, in any order" {
	for i in 0 1 2 3; do
		jq -nc --argjson i $i '{type: "job", run: "t", job: $i, n: 1,
			context: {domain: "d", grammar: true}, recipe: {grammar: {},
			router_config: {policy: "thompson", draws: 10}}}'
	done | sg-route -s st --seed 1 > jobs.jsonl
	jq -e '.pending | keys == ["0", "1", "2", "3"]' st
	for b in 3 0 2 1; do
		echo "{\"type\":\"reward\",\"run\":\"t\",\"batch\":$b,\"reward\":0.5}"
	done > rewards.jsonl
	run --separate-stderr sg-update -s st < rewards.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -e '.pending == {} and .rewards == 4
		and ([.contexts[][] | .n] | add) == 4 and ([.arms[] | .n // 0] | add) == 4' st
	# each arm learnt what its own batches earned
	[ "$(jq -r '.arm' jobs.jsonl | sort | uniq -c | sort -k2 | awk '{print $2, $1}')" = \
		"$(jq -r '.arms | to_entries[] | select(.value.n) | "\(.key) \(.value.n)"' st | sort)" ]
	# a second reward of a batch (sg-eval's, say) must name its arm
	run --separate-stderr sg-update -s st <<< '{"type":"reward","run":"t","batch":2,"reward":0.5}'
	[ "$status" -eq 1 ]
	[ "$stderr" = "sg-update: <stdin>:1: reward for batch 2 has no \"arm\" and no pending decision" ]
	jq -e '.rewards == 4' st
	# one naming its arm and no context counts in every context the arm
	# was learnt in, since the router decides by those alone
	arm=$(jq -r 'select(.batch == 2) | .arm' jobs.jsonl)
	n=$(jq --arg a "$arm" '[.contexts[][$a].n] | add' st)
	run --separate-stderr sg-update -s st <<< "{\"type\":\"reward\",\"run\":\"t\",\"batch\":2,\"arm\":\"$arm\",\"reward\":0.5}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -e --arg a "$arm" --argjson n "$n" '.rewards == 5 and (.contexts | length) == 1
		and ([.contexts[][$a].n] | add) == $n + 1' st
}

@test "a skipped reward pauses its arm, or the server's arms, and teaches nothing" {
	for i in 0 1 2; do
		jq -nc --argjson i $i '{type: "job", run: "t", job: $i, n: 1,
			context: {domain: "d", grammar: true}, recipe: {grammar: {}}}'
	done | sg-route -s st --seed 1 > jobs.jsonl
	echo '{"type":"reward","run":"t","batch":0,"reward":0.5}' | sg-update -s st
	jq -S '{rewards, epsilon, arms: (.arms | map_values(del(.pulls))), contexts}' st > learnt
	arm=$(jq -r 'select(.batch == 1) | .arm' jobs.jsonl)
	{
		jq -c 'select(.batch == 1) | {type: "sample", id: "t:1:0", run, batch, index: 0, arm,
			error: "cannot run \"x\"", error_kind: "infrastructure", error_scope: "arm"}' jobs.jsonl
		echo '{"type":"reward","run":"t","batch":1,"reward":null,"skipped":"cannot run \"x\"","error_scope":"arm","n":1}'
	} > in.jsonl
	run --separate-stderr sg-update -s st -l log.jsonl -r rej.jsonl < in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ -z "$output" ]
	assert_equal "$(jq -S '{rewards, epsilon, arms: (.arms | map_values(del(.pulls))), contexts}' st)" "$(cat learnt)"
	jq -e --arg arm "$arm" '.pending | keys == ["2"]' st
	jq -e --arg arm "$arm" '.paused.arms[$arm] | .error == "cannot run \"x\"" and .batch == 1
		and .arm == $arm and (.since | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))' st
	jq -e '.accepted == 0 and .rejected == 1' st
	[ "$(jq -r .reject rej.jsonl)" = "generation failed" ]
	# the server's fault pauses what asks it, and the first pause stands
	printf '%s\n' '{"type":"reward","run":"t","batch":2,"reward":null,"skipped":"HTTP 401: bad key","error_scope":"server"}' \
		'{"type":"reward","run":"t","batch":5,"arm":"b","reward":null,"skipped":"HTTP 500: later","error_scope":"server"}' |
		sg-update -s st
	jq -e '.paused.server.error == "HTTP 401: bad key" and .paused.server.batch == 2 and .pending == {}' st
	assert_equal "$(jq -S '{rewards, epsilon, arms: (.arms | map_values(del(.pulls))), contexts}' st)" "$(cat learnt)"
}

@test "--merge: workers fed disjoint rewards merge into the state one worker fed them all has" {
	for pol in thompson linucb epsilon_greedy; do
		rm -f base base.lock w1 w2 single
		for i in 0 1 2 3 4 5 6 7 8 9; do
			jq -nc --argjson i $i --arg pol $pol '{type: "job", run: "t", job: $i, n: 1,
				context: {domain: (if $i % 3 == 0 then "a" else "b" end), grammar: true},
				recipe: {grammar: {}, router_config: {policy: $pol, draws: 5,
					temperature_step: 0.125, temperature_step_up: 0.125,
					temperature_max: 3}}}'
		done | sg-route -s base --seed 1 -T 1 > jobs.jsonl
		cp base w1 && cp base w2 && cp base single
		# rewards in eighths add without rounding; qualities move temperatures
		jq -c '{type: "reward", run, batch, reward: ((.batch % 4 + 1) / 8),
			mean_quality: (if .batch % 2 == 0 then 0.9 else 0.3 end)}' jobs.jsonl > rewards.jsonl
		jq -c 'select(.batch % 2 == 1)' rewards.jsonl | sg-update -s w1
		jq -c 'select(.batch % 2 == 0)' rewards.jsonl | sg-update -s w2
		tac rewards.jsonl | sg-update -s single
		run --separate-stderr sg-update --merge -s base w1 w2
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[ -z "$output" ]
		# the merge is numbered, for the next round's copies
		diff <(jq -S . single) <(jq -S 'del(.round)' base)
		jq -e '.round == 1' base
		jq -e '.rewards == 10 and .pending == {} and ([.contexts[][].n] | add) == 10' base
		[ "$pol" != linucb ] || jq -e '.linear.arms | length > 1' base
	done
}

@test "--merge takes workers that routed with batch numbers of their own, refuses clashes, stale copies, other runs, forgetful policies" {
	jq -nc '{type: "job", run: "t", job: 0, n: 1, context: {grammar: true},
		recipe: {grammar: {}}}' > job.jsonl
	sg-route -s base --seed 1 < job.jsonl > /dev/null
	cp base w1 && cp base w2 && cp base w3
	sg-route -s w1 < job.jsonl > /dev/null
	sg-route -s w2 < job.jsonl > /dev/null
	run --separate-stderr sg-update --merge -s base w1 w2
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'w2' routed as 'w1' did: their batch numbers may clash (sg-route --worker)" ]
	sg-route --worker 1/3 -s w3 < job.jsonl > /dev/null
	run --separate-stderr sg-update --merge -s base w3 w2
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'w2' routed as 'w3' did: their batch numbers may clash (sg-route --worker)" ]
	run --separate-stderr sg-update --merge -s base w2 w3
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'w3' routed as 'w2' did: their batch numbers may clash (sg-route --worker)" ]
	cp base w4 && sg-route --worker 0/2 -s w4 < job.jsonl > /dev/null
	run --separate-stderr sg-update --merge -s base w3 w4
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'w4' is worker 0/2, but 'w3' is worker 1/3: their batch numbers may clash" ]
	cp base w5 && sg-route --worker 1/3 -s w5 < job.jsonl > /dev/null
	run --separate-stderr sg-update --merge -s base w3 w5
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'w5' routed as 'w3' did: their batch numbers may clash (sg-route --worker)" ]
	cp base b0
	run --separate-stderr sg-update --merge -s base w1
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# the pending decision of batch 1 and the steps past it come along
	jq -e '.steps == 2 and (.pending | keys) == ["0", "1"]' base
	# so that the next round's workers draw afresh
	[ "$(jq -r .rng base)" != "$(jq -r .rng b0)" ]
	run --separate-stderr sg-update --merge -s base b0
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'b0': did not start from this state (it has fewer steps or rewards): copy the state to it first" ]
	jq -c '.run = "u"' job.jsonl | sg-route -s other --seed 1 > /dev/null
	run --separate-stderr sg-update --merge -s base other
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'other': belongs to run \"u\", not \"t\"" ]
	jq -c '.recipe.router_config.policy = "discounted_thompson"' job.jsonl | sg-route -s d --seed 1 > /dev/null
	cp d d1
	run --separate-stderr sg-update --merge -s d d1
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'd1': discounted_thompson forgets in the order rewards come: its states do not merge" ]
	run --separate-stderr sg-update --merge -s base
	[ "$status" -eq 2 ]
}

@test "--merge refuses a worker merged already, two workers of one output, a worker from a state that is gone; makes the state of workers from nothing" {
	jq -nc '{type: "job", run: "t", job: 0, n: 1, target: 4, context: {grammar: true},
		recipe: {grammar: {}}}' > job.jsonl
	batch_of() { jq -c '{type: "sample", run, batch, id: "\(.batch):0", data: {text: "s\(.batch)"}},
		{type: "reward", run, batch, reward: 0.5}'; }
	# workers from nothing: the merge makes the run's state
	for k in 0 1; do
		sg-route --seed 1 --worker $k/2 -s w$k < job.jsonl | batch_of | sg-update -s w$k -o d$k
	done
	jq -e '.worker.new and .worker.round == 0' w0
	run --separate-stderr sg-update --merge -s run w0 w1
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -e '.round == 1 and .steps == 2 and .rewards == 2 and .accepted == 2 and .target == 4
		and .seed == 1 and .outputs == {"d0": 70, "d1": 70} and .epsilon == 0.4 * 0.98 * 0.98
		and (has("worker") | not)' run
	# the same workers again: merged already
	run --separate-stderr sg-update --merge -s run w0
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'w0': was copied from this state after 0 merges, not after its 1: merged already?" ]
	# two workers of one output
	for k in 0 1; do
		cp run w$k && sg-route --worker $k/2 -s w$k < job.jsonl | batch_of | sg-update -s w$k -o d
	done
	run --separate-stderr sg-update --merge -s run w0 w1
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'w1': wrote output 'd', as another worker did: each worker needs an output of its own" ]
	# the next copies cut what the run has not merged: here, all of d
	cp run w0 && sg-route --worker 0/2 -s w0 < job.jsonl | batch_of > b.jsonl
	run --separate-stderr sg-update -s w0 -o d < b.jsonl
	[ "$status" -eq 0 ]
	[ "$stderr" = "sg-update: dropping 70 bytes of an unfinished batch from 'd'" ]
	[ "$(wc -l < d)" -eq 1 ]
	# a worker copied from a state that is gone is not merged into nothing
	rm run
	run --separate-stderr sg-update --merge -s run w0
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: no state 'run' to merge into, and state 'w0' did not start from nothing (sg-route --worker on a new state): it needs the state it was copied from" ]
	[ ! -e run ]
}

@test "a full disk is a clear error and leaves the state as it was" {
	batch 0 0.5 true true > b0.jsonl
	batch 1 0.5 true > b1.jsonl
	sg-update -s st < b0.jsonl > /dev/null
	cp st st.before
	run --separate-stderr sg-update -s st -o /dev/full < b1.jsonl
	[ "$status" -eq 4 ]
	assert_equal "$stderr" "sg-update: cannot write '/dev/full': No space left on device"
	cmp st st.before
	run --separate-stderr sh -c 'sg-update -s st < b1.jsonl > /dev/full'
	[ "$status" -eq 4 ]
	assert_equal "$stderr" "sg-update: cannot write to <stdout>: No space left on device"
	cmp st st.before
}

@test "an output that cannot be opened is refused before anything is read" {
	batch 0 0.5 true > b0.jsonl
	mkdir out.d
	run --separate-stderr sg-update -s st -o out.d < b0.jsonl
	[ "$status" -eq 4 ]
	assert_equal "$stderr" "sg-update: cannot open 'out.d': Is a directory"
	[ ! -e st ]
}

@test "a reward without mean_quality, as sg-eval sends, leaves the temperature alone" {
	reward 0 0.9 a1 0.9 > q.jsonl
	sg-update -s st < q.jsonl
	jq -c '{type, run, batch: 1, arm, reward: 0.1}' q.jsonl > eval.jsonl
	run --separate-stderr sg-update -s st < eval.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -e '.arms.a1.temperature == 1.025 and .arms.a1.n == 2' st
}

@test "the tokens and cost of batch records add up in the state's usage, merged like the rest" {
	usage() { # BATCH PROMPT COMPLETION COST
		jq -nc --argjson b "$1" --argjson p "$2" --argjson c "$3" --argjson d "$4" \
			'{type: "batch", run: "t", batch: $b, prompt_tokens: $p, completion_tokens: $c, cost: $d}'
	}
	# a batch cut short before its reward still counts what it spent
	{ sample t 0 0; usage 0 10 5 0.25; reward 0 0.5; sample t 1 0; usage 1 100 50 0.5; } > in.jsonl
	run --separate-stderr sg-update -s st < in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c .usage st)" '{"prompt_tokens":110,"completion_tokens":55,"cost":0.75}'
	# a batch record without usage, as the offline arms write, adds nothing
	batch 2 0.5 true | sg-update -s st >/dev/null
	assert_equal "$(jq -c .usage st)" '{"prompt_tokens":110,"completion_tokens":55,"cost":0.75}'
	cp st w1 && cp st w2
	{ usage 3 1 1 0.125; reward 3 0.5; } | sg-update -s w1
	{ usage 4 2 2 0.125; reward 4 0.5; } | sg-update -s w2
	run --separate-stderr sg-update --merge -s st w1 w2
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c .usage st)" '{"prompt_tokens":113,"completion_tokens":58,"cost":1}'
}

@test "the labels of accepted samples add up in the state's labels, merged like the rest" {
	# labelled() BATCH LABEL...: a job of a recipe with labels in field
	# "y", its samples with those labels ("-" for none), and the reward
	labelled() {
		local b=$1 i=0
		shift
		jq -nc '{type: "job", run: "t", job: 0, n: 1, recipe: {task_input:
			{labels: ["p", "n"]}, evaluation: {label_field: "y"}}}'
		for l in "$@"; do
			sample t "$b" "$i" | jq -c --arg l "$l" 'if $l == "-" then . else .data.y = $l end'
			i=$((i + 1))
		done
		reward "$b" 0.5
	}
	{ labelled 0 p p n -; sample t 1 0 false | jq -c '.data.y = "n"'; reward 1 0.5; } > in.jsonl
	run --separate-stderr sg-update -s st < in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# a refused sample and one without a label count in no label
	jq -e '.accepted == 4 and .rejected == 1' st
	assert_equal "$(jq -c .labels st)" '{"p":2,"n":1}'
	cp st w1 && cp st w2
	labelled 2 n n | sg-update -s w1 >/dev/null
	labelled 3 p x | sg-update -s w2 >/dev/null
	run --separate-stderr sg-update --merge -s st w1 w2
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c .labels st)" '{"p":3,"n":3,"x":1}'
	# a recipe without labels counts none
	rm st
	{ jq -nc '{type: "job", run: "t", recipe: {domain: "d"}}'; batch 0 0.5 true; } | sg-update -s st >/dev/null
	jq -e 'has("labels") | not' st
}

@test "a reward that withdraws an arm's samples: they leave the output for the rejects and the state's counts" {
	# two arms' labelled samples, then sg-eval's verdict on a2
	{
		jq -nc '{type: "job", run: "t", job: 0, n: 1, recipe: {task_input: {labels: ["p", "n"]}}}'
		sample t 0 0 | jq -c '.data.label = "p"'
		sample t 0 1 | jq -c '.data.label = "n"'
		reward 0 0.5
		sample t 1 0 | jq -c '.arm = "a2" | .data.label = "p"'
		sample t 1 1 | jq -c '.arm = "a2" | .data.label = "p"'
		reward 1 0.5 a2
		sample t 2 0 | jq -c '.data.label = "n"'
		reward 2 0.5
	} | sg-update -s st -o data.jsonl -r rej.jsonl
	assert_equal "$(jq -c .labels st)" '{"p":3,"n":2}'
	verdict='{"type":"reward","run":"t","batch":1,"arm":"a2","reward":0.1,"source":"sg-eval","gain":-0.55,"window":2,"withdraw":{"samples":2,"labels":{"p":2}}}'
	# a reward that cannot be learnt withdraws nothing
	cp data.jsonl kept
	run --separate-stderr sg-update -s st -o data.jsonl <<< "$(jq -c '.reward = 2' <<< "$verdict")"
	[ "$status" -eq 1 ]
	cmp kept data.jsonl
	run --separate-stderr sg-update -s st -o data.jsonl -r rej.jsonl <<< "$verdict"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	assert_equal "$(jq -r .id data.jsonl | tr '\n' ' ')" "0:0 0:1 2:0 "
	why='the dataset is better without its 2 samples on the dev set (sg-eval: gain -0.550): withdrawn'
	assert_equal "$(jq -r '[.id, .reject] | @tsv' rej.jsonl)" "$(printf '%s\t%s\n' 1:0 "$why" 1:1 "$why")"
	jq -e '.accepted == 3 and .rejected == 2 and .labels == {p: 1, n: 2}
		and .arms.a2.n == 2 and .arms.a2.withdrawn == 2 and .paused == null' st
	[ "$(jq .output.bytes st)" -eq "$(wc -c < data.jsonl)" ]
	[ ! -e data.jsonl.withdraw ]
	# appended to in place afterwards
	{ sample t 3 0; reward 3 0.5; } | sg-update -s st -o data.jsonl
	assert_equal "$(jq -r .id data.jsonl | tr '\n' ' ')" "0:0 0:1 2:0 3:0 "
	# nothing of the arm left: the output untouched, the count the same
	cp data.jsonl before
	sg-update -s st -o data.jsonl <<< "$verdict"
	cmp before data.jsonl
	jq -e '.arms.a2.withdrawn == 2 and .accepted == 4' st
	# without -o there is nothing to take back
	run --separate-stderr sg-update -s st <<< "$verdict"
	[ "$status" -eq 0 ]
	assert_equal "$stderr" "sg-update: arm \"a2\": its samples cannot be taken back from <stdout>: give the output with -o"
}

@test "a withdrawal stopped half-way is finished after the state's commit, undone before it" {
	batch 0 0.5 true true > b0.jsonl
	sg-update -s st -o data.jsonl < b0.jsonl
	# stopped before the state's commit: the rewritten output is dropped
	head -n 1 data.jsonl > data.jsonl.withdraw
	cp data.jsonl before
	batch 1 0.5 true | sg-update -s st -o data.jsonl
	[ ! -e data.jsonl.withdraw ]
	assert_equal "$(jq -r .id data.jsonl | tr '\n' ' ')" "0:0 0:1 1:0 "
	# stopped after it: the state counts the rewritten output, which takes
	# the old one's place
	grep -v '"1:0"' data.jsonl > data.jsonl.withdraw
	jq --argjson n "$(wc -c < data.jsonl.withdraw)" '.output.bytes = $n' st > st.new && mv st.new st
	run --separate-stderr sh -c "$(fns); batch 2 0.5 true | sg-update -s st -o data.jsonl"
	[ "$status" -eq 0 ]
	assert_equal "$stderr" "sg-update: finishing the withdrawal of samples from 'data.jsonl'"
	[ ! -e data.jsonl.withdraw ]
	assert_equal "$(jq -r .id data.jsonl | tr '\n' ' ')" "0:0 0:1 2:0 "
	[ "$(jq .output.bytes st)" -eq "$(wc -c < data.jsonl)" ]
}

@test "--merge: a worker that withdrew samples from its output merges, shorter; a copy only shorter is refused" {
	jq -nc '{type: "job", run: "t", job: 0, n: 1, context: {grammar: true},
		recipe: {grammar: {}, task_input: {labels: ["p", "n"]}}}' > job.jsonl
	batch_of() { jq -c --arg l "$1" 'select(.type == "job"),
		{type: "sample", run, batch, arm, id: "\(.batch):0", data: {text: "s\(.batch)", label: $l}},
		{type: "reward", run, batch, arm, reward: 0.5}'; }
	# a first round on each worker, merged
	for k in 0 1; do
		sg-route --seed 1 --worker $k/2 -s w$k < job.jsonl | batch_of p | sg-update -s w$k -o d$k
	done
	sg-update --merge -s run w0 w1
	# the second: worker 0 makes one more sample, then an evaluation
	# takes out its first round's arm's samples
	cp run w0 && cp run w1
	arm=$(jq -r .arm d0)
	sg-route --worker 0/2 -s w0 < job.jsonl | batch_of n | sg-update -s w0 -o d0
	[ "$(jq -r .arm d0 | grep -c "^$arm\$")" -eq 1 ]
	jq -nc --arg arm "$arm" '{type: "reward", run: "t", batch: 0, arm: $arm, reward: 0.1,
		source: "sg-eval", gain: -0.5, window: 1, withdraw: {samples: 1, labels: {p: 1}}}' |
		sg-update -s w0 -o d0
	sg-route --worker 1/2 -s w1 < job.jsonl | batch_of n | sg-update -s w1 -o d1
	cp run older
	run --separate-stderr sg-update --merge -s run w0 w1
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# what one state fed it all would count
	jq -e --argjson d0 "$(wc -c < d0)" --argjson d1 "$(wc -c < d1)" --arg arm "$arm" '
		.accepted == 3 and .labels == {p: 1, n: 2} and .arms[$arm].withdrawn == 1
		and .outputs == {d0: $d0, d1: $d1}' run
	# the next round's copy keeps the rewritten output whole
	cp run w0 && cp d0 before
	sg-route --worker 0/2 -s w0 < job.jsonl | batch_of n > b.jsonl
	run --separate-stderr sg-update -s w0 -o d0 < b.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	cmp before <(head -n 1 d0)
	[ "$(jq .output.bytes w0)" -eq "$(wc -c < d0)" ]
	# a copy whose output is shorter, with nothing withdrawn, is stale
	cp older w1
	jq '.outputs.d1 -= 1' w1 > w1.new && mv w1.new w1
	run --separate-stderr sg-update --merge -s older w1
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-update: state 'w1': records output 'd1' shorter than the state does: it was copied from an older state" ]
}

@test "a reward with a weight is learnt as that many; a bad weight is refused" {
	reward 0 0.4 | jq -c '.weight = 3' > w.jsonl
	run --separate-stderr sg-update -s st < w.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -e '.contexts | to_entries[0].value.a1 | .n == 3 and (.sum - 1.2 | fabs) < 1e-9' st
	jq -e '.arms.a1.n == 1 and .arms.a1.sum == 0.4 and .rewards == 1' st
	cp st before
	for w in 0 -2 1.5 '"2"' 1001; do
		reward 1 0.4 | jq -c ".weight = $w"
	done > bad.jsonl
	run --separate-stderr sg-update -s st < bad.jsonl
	[ "$status" -eq 1 ]
	[ "$(grep -c "^sg-update: <stdin>:[1-5]: reward's \"weight\" is not a whole number from 1 to 1000$" <<<"$stderr")" -eq 5 ]
	jq -e '.contexts | to_entries[0].value.a1.n == 3' st
}
