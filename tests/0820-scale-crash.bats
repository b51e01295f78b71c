#!/usr/bin/env bats
# Crash safety of the scaled loop (SCALING in sg(7)): a round that was
# killed runs again from the run's state; each worker's output is cut back
# to what that state records, and a merge refuses a worker whose output
# and state disagree.

load helpers
load llm-helpers

# The reviews recipe's naive arm alone, 2 samples a batch, 24 in all:
# every batch a request to the stand-in; its knowledge base by an absolute
# path, with no link to it here.
naive_recipe() {
	sg-plan -n1 "$EXAMPLES/llm/reviews-llm.yaml" | jq --arg kb "$EXAMPLES/llm/kb" '.recipe | .num_samples = 24
		| .knowledge_base = $kb
		| .router_config.arms |= map(select(.name? == "naive_balanced"))
		| .router_config.batch_size = 2 | .validators |= {deduplication, json_schema}' > r.json
}

@test "examples/scale: a worker killed mid-round (SIGKILL); make run again reaches the target, no sample lost or twice" {
	server --latency 200
	naive_recipe
	cp -r "$EXAMPLES/scale" .
	setsid make -s -j4 -C scale SG_BIN="$SG_BIN" RECIPE="$PWD/r.json" run > out1 2> err1 &
	pid=$!
	# worker 1's sg-update, while its batches wait on the server
	for _ in $(seq 100); do
		victim=$(pgrep -a -g "$pid" -x sg-update | awk '/w1\.state/ { print $1 }')
		[ -z "$victim" ] || break
		sleep 0.02
	done
	kill -9 "$victim"
	st=0 && wait "$pid" || st=$?
	[ "$st" -ne 0 ]
	# the others finished their share, which the run does not have yet
	for k in 0 2 3; do [ "$(wc -l < scale/out/data.$k.jsonl)" -eq 6 ]; done
	# the first round merges into a state made for it: none yet
	[ ! -e scale/out/run.state ]
	# as if worker 0 had died writing: half a record past its last commit
	printf '{"type":"sample","run":"r' >> scale/out/data.0.jsonl
	cd scale
	run --separate-stderr sg-update --merge -s out/run.state out/w0.state out/w1.state out/w2.state out/w3.state
	[ "$status" -eq 3 ]
	[[ "$stderr" == "sg-update: state 'out/w0.state': output 'out/data.0.jsonl' has "*" bytes, not the "*" it recorded: the worker was stopped mid-batch; run the round again" ]]
	[ ! -e out/run.state ]
	cd ..
	# run again: the round runs from the start, each worker's output cut
	# back to nothing (the run's state has none of it: else 18 samples
	# would be there twice) and the seen file to its length when the round
	# started
	run --separate-stderr make -s -j4 -C scale SG_BIN="$SG_BIN" RECIPE="$PWD/r.json" run
	[ "$status" -eq 0 ]
	[ "$output" = "24 samples in out/data.*.jsonl" ]
	grep -q "^sg-update: dropping .* bytes of an unfinished batch from 'out/data.0.jsonl'$" <<< "$stderr"
	[ -z "$(grep -v "^sg-update: dropping .* bytes of an unfinished batch from 'out/data.[0-3].jsonl'$" <<< "$stderr")" ]
	cd scale/out
	jq -e '.accepted == 24 and .target == 24 and .pending == {}' run.state
	[ "$(cat data.[0-3].jsonl | wc -l)" -eq 24 ]
	[ -z "$(cat data.[0-3].jsonl | jq -r .id | sort | uniq -d)" ]
	[ -z "$(cat data.[0-3].jsonl | jq -r .data.text | sort | uniq -d)" ]
	# the state records each worker's output to the byte
	for k in 0 1 2 3; do
		[ "$(jq --arg p out/data.$k.jsonl '.outputs[$p]' run.state)" -eq "$(wc -c < data.$k.jsonl)" ]
	done
	# one round did it: what the killed round claimed was cut from the
	# seen file, so its samples, made again, were not refused as taken
	jq -e '.round == 1' run.state
}

# Start examples/scale/parallel.sh into p/, and kill every process of it
# (SIGKILL) as soon as file $1 is there.
power_cut() {
	OUT=p setsid sh scale/parallel.sh 4 r.json > out1 2> err1 &
	pid=$!
	for _ in $(seq 200); do [ -e "$1" ] && break; sleep 0.01; done
	kill -9 -- "-$pid"
	st=0 && wait "$pid" || st=$?
	[ "$st" -eq 137 ]
}

@test "examples/scale/parallel.sh: killed (SIGKILL, every process) mid-round, run again, reaches the target, no sample lost or twice" {
	command -v parallel > /dev/null || skip "no GNU parallel (tests/deps.sh installs it)"
	server --latency 200
	naive_recipe
	cp -r "$EXAMPLES/scale" .
	# the workers wait on the server: a power cut
	power_cut p/w3.state
	[ ! -e p/run.state ] && [ ! -s p/data.jsonl ]
	# again, as soon as the merge is done: this host validates and learns
	power_cut p/run.state
	jq -e '.round == 1' p/run.state
	run --separate-stderr env OUT=p sh scale/parallel.sh 4 r.json
	[ "$status" -eq 0 ]
	[ "$output" = "24 samples in p/data.jsonl" ]
	# a batch the cut caught written but not committed is dropped, and said
	[[ -z "$stderr" || "$stderr" =~ ^"sg-update: dropping "[0-9]+" bytes of an unfinished batch from 'p/data.jsonl'"$ ]]
	jq -e '.accepted == 24' p/run.state
	[ "$(jq .output.bytes p/run.state)" -eq "$(wc -c < p/data.jsonl)" ]
	[ -z "$(jq -r .id p/data.jsonl | sort | uniq -d)" ]
	[ -z "$(jq -r .data.text p/data.jsonl | sort | uniq -d)" ]
}
