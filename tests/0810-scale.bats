#!/usr/bin/env bats
# Scaling out: workers on copies of the state (sg-route --worker), merged
# with sg-update --merge; sg-validate processes sharing one --seen file.

load helpers
load llm-helpers

# Every additive statistic of a state as {"path": value}.
FLAT='def flat: [paths(numbers) as $p | select((($p[0] | IN("arms", "contexts"))
	and ($p[-1] | IN("pulls", "n", "sum", "wins"))) or ($p == ["rewards"]
	or $p == ["accepted"] or $p == ["rejected"]))
	| {key: ($p | map(tostring) | join(".")), value: getpath($p)}] | from_entries;'

# base + the sum over the workers of (worker - base), in the order they
# are given, key by key.
deltas() {
	jq -n -S --slurpfile b "$1" --slurpfile w <(cat "${@:2}") "$FLAT"'
		($b[0] | flat) as $B | [$w[] | flat] as $W
		| ([$B, $W[] | keys[]] | unique)
		| map(. as $k | {key: $k, value: (reduce $W[] as $x ($B[$k] // 0;
			. + (($x[$k] // 0) - ($B[$k] // 0))))}) | from_entries'
}

@test "4 workers under GNU parallel reach the target, with no duplicate, and merge into the sum of their deltas" {
	command -v parallel > /dev/null || skip "no GNU parallel (tests/deps.sh installs it)"
	server --latency 20
	# the templater's four texts against the stand-in's, either chosen at
	# random: duplicates abound; the knowledge base beside the recipe's copy
	ln -s "$EXAMPLES/llm/kb" kb
	sg-plan -n1 "$EXAMPLES/llm/reviews-llm.yaml" | jq '.recipe | .router_config.arms |=
		map(select(. == "templater_balanced" or .name? == "naive_balanced"))
		| .router_config += {policy: "epsilon_greedy", epsilon_start: 1,
			epsilon_min: 1}' > r.json
	# the run's state, from one batch on one worker
	sg-plan -n1 r.json | sg-route --seed 7 -s run.state | sg-gen |
		sg-validate --seen seen | sg-score |
		sg-update -s run.state -o data.jsonl -r rejects.jsonl
	for round in $(seq 15); do
		[ "$(jq '.accepted < .target' run.state)" = true ] || break
		for k in 0 1 2 3; do cp run.state w$k.state; done
		cp run.state base.state
		sg-plan -s run.state r.json | parallel --pipe -N1 --round-robin -j4 \
			'k=$(({%} - 1)); sg-route --worker $k/4 -s w$k.state | sg-gen |
			sg-validate --seen seen | sg-score |
			sg-update -s w$k.state -o data.w$k.jsonl -r rejects.jsonl' 2> err
		[ ! -s err ]
		run --separate-stderr sg-update --merge -s run.state w0.state w1.state w2.state w3.state
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		# merged = base + the sum over workers of (worker - base)
		assert_equal "$(jq -S "$FLAT flat" run.state)" \
			"$(deltas base.state w0.state w1.state w2.state w3.state)"
		jq -e '.pending == {}' run.state
	done
	# the target exactly: each worker stopped at its share of what was left
	jq -e '.accepted == .target and .target == 20' run.state
	[ "$(cat data*.jsonl | wc -l)" -eq 20 ]
	[ -z "$(cat data*.jsonl | jq -r .id | sort | uniq -d)" ]
	[ -z "$(cat data*.jsonl | jq -r .data.text | sort | uniq -d)" ]
	# the templater's repeats were refused
	jq -e -s 'map(select(.reject | test("dedup"))) | length > 0' rejects.jsonl
	# every worker's batches its own: their numbers are its index modulo 4
	for k in 0 1 2 3; do
		jq -e -s --argjson k $k 'all(.batch % 4 == $k)' data.w$k.jsonl
	done
}

# A state's LinUCB model as {"linear.ARM.A.ROW.COL": x, "linear.ARM.b.ROW": y}
# by feature name, so that states whose features came in other orders
# compare.
LIN='def lin: (.linear.features // []) as $f | [(.linear.arms // {}) | to_entries[]
	| .key as $a | .value | ((.A // []) | to_entries[] | .key as $r | .value
		| to_entries[] | {key: "linear.\($a).A.\($f[$r]).\($f[.key])", value}),
	((.b // []) | to_entries[] | {key: "linear.\($a).b.\($f[.key])", value})]
	| from_entries;
	def dflt($k): if ($k | test("^linear\\..*\\.A\\.")) and (($k | split(".")) as $p
		| $p[-1] == $p[-2]) then 1 else 0 end;'

# The keys on which merged state $1 is not base $2 plus the sum over the
# workers $3... of (worker - base): counts, sums, wins, A and b; an
# element of A a state lacks is the identity's.
not_deltas() {
	jq -n -r --slurpfile m "$1" --slurpfile b "$2" --slurpfile w <(cat "${@:3}") "$FLAT$LIN"'
		def all: flat + lin;
		($m[0] | all) as $M | ($b[0] | all) as $B | [$w[] | all] as $W
		| [$M, $B, $W[] | keys[]] | unique[] | . as $k
		| (reduce $W[] as $x ($B[$k] // dflt($k); . + (($x[$k] // dflt($k)) - ($B[$k] // dflt($k)))))
		| select(. != ($M[$k] // dflt($k))) | "\($k): \($M[$k]) != \(.)"'
}

@test "routed workers of linucb and thompson merge into the sum of their deltas, A and b and wins included" {
	job() {
		jq -nc --argjson i "$1" --arg pol "$2" '{type: "job", run: "m", job: $i, n: 1,
			target: 0, context: {domain: ("d" + ($i % 3 | tostring)), grammar: true},
			recipe: {grammar: {}, router_config: {policy: $pol, draws: 5}}}'
	}
	for pol in linucb thompson; do
		rm -f run* w* base
		# the first round from nothing, then two from the merged state
		for round in 1 2 3; do
			if [ -f run ]; then cp run base; else echo '{}' > base; fi
			for k in 0 1 2; do
				rm -f w$k && if [ -f run ]; then cp run w$k; fi
				# each worker meets contexts the others may not
				for i in $(seq $((k + round)) $((k + round + 3))); do job "$i" $pol; done |
					sg-route --seed 1 --worker $k/3 -s w$k |
					jq -c '{type: "reward", run, batch, reward: ((.batch % 8) / 8)}' |
					sg-update -s w$k
			done
			run --separate-stderr sg-update --merge -s run w0 w1 w2
			[ "$status" -eq 0 ]
			[ -z "$stderr" ]
			run not_deltas run base w0 w1 w2
			[ "$status" -eq 0 ]
			assert_equal "$output" ""
			jq -e --argjson r $round '.round == $r and .rewards == 12 * $r and .pending == {}' run
		done
		# what was compared is there: the model over every context seen,
		# the Bernoulli successes
		if [ $pol = linucb ]; then
			jq -e '(.linear.features | length) == 5 and ([.linear.arms[].A[][]] | length) > 25' run
		else
			jq -e '[.contexts[][].wins // empty] | add > 0' run
		fi
	done
}

@test "4 workers of a templater with 8 texts, at once, keep each text once" {
	command -v parallel > /dev/null || skip "no GNU parallel (tests/deps.sh installs it)"
	ln -s "$EXAMPLES/llm/kb" kb
	sg-plan -n1 "$EXAMPLES/llm/reviews-llm.yaml" |
		jq '.recipe | .router_config.arms = ["templater_balanced"] |
		.validators |= {deduplication, json_schema}' > t.json
	sg-plan -n1 t.json | jq -c '.n = 1' | sg-route --seed 3 -s run.state | sg-gen |
		sg-score | sg-update -s run.state -o data.first.jsonl
	for k in 0 1 2 3; do cp run.state w$k.state; done
	# 20 samples of 8 texts; each worker alone would keep up to 5 (its
	# share of 19); before the seen file was claimed under its lock they
	# kept 13 to 15 in three runs
	sg-plan -n4 -s run.state t.json | parallel --pipe -N1 --round-robin -j4 \
		'k=$(({%} - 1)); sg-route --worker $k/4 -s w$k.state | sg-gen |
		sg-validate --seen seen | sg-score | sg-update -s w$k.state -o data.$k.jsonl' 2> err
	[ ! -s err ]
	[ "$(cat data.[0-3].jsonl | wc -l)" -eq 8 ]
	[ "$(cat data.[0-3].jsonl | jq -r .data.text | sort -u | wc -l)" -eq 8 ]
	[ "$(wc -l < seen)" -eq 8 ]
}

@test "workers route and generate; after the merge one process validates, scores and learns every reward" {
	command -v parallel > /dev/null || skip "no GNU parallel (tests/deps.sh installs it)"
	cp "$EXAMPLES/reviews/reviews.yaml" r.yaml
	sg-plan -n1 r.yaml | sg-route --seed 1 -s run.state | sg-gen |
		sg-validate --seen seen | sg-score | sg-update -s run.state -o data.jsonl
	# the "remote" workers have the state and the job records, not the recipe
	mkdir remote && cp run.state remote/
	sg-plan -s run.state r.yaml | parallel --pipe -N1 --round-robin -j4 --workdir remote \
		'k=$(({%} - 1)); cp run.state w$k.state &&
		sg-route --worker $k/4 -s w$k.state | sg-gen' > gen.jsonl
	[ ! -e remote/r.yaml ] && [ -s remote/w0.state ]
	# the decisions first, so that the rewards join them
	sg-update --merge -s run.state remote/w*.state
	[ "$(jq '.pending | length' run.state)" -eq "$(jq -s 'map(select(.type == "job")) | length' gen.jsonl)" ]
	run --separate-stderr sh -c 'sg-validate --seen seen < gen.jsonl | sg-score | sg-update -s run.state -o data.jsonl'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -e '.pending == {} and .accepted == 40 and .rewards == ([.arms[].n] | add)
		and .rewards == ([.arms[].pulls] | add)' run.state
	[ "$(wc -l < data.jsonl)" -eq 40 ]
	[ -z "$(jq -r .data.text data.jsonl | sort | uniq -d)" ]
}

@test "two sg-validate sharing --seen never both let a sample through" {
	job='{"type":"job","run":"t","batch":B,"recipe":{"validators":{"deduplication":{"enabled":true}}}}'
	sample='{"type":"sample","run":"t","batch":B,"id":"B:0","data":{"text":"the same words"}}'
	# both read the sample before either reaches the end of its batch
	for b in 1 2; do
		{
			echo "${job/B/$b}"
			echo "${sample//B/$b}"
			sleep 0.5
			echo "{\"type\":\"batch\",\"run\":\"t\",\"batch\":$b}"
		} | sg-validate --seen seen > out$b 2> err$b &
	done
	wait
	[ ! -s err1 ] && [ ! -s err2 ]
	[ "$(cat out1 out2 | jq -s 'map(select(.type == "sample" and .valid)) | length')" -eq 1 ]
	[ "$(cat out1 out2 | jq -r 'select(.type == "sample" and (.valid | not)) | .checks.dedup.why')" = "duplicate of a sample another process took" ]
	# the batch's samples wait for its end, and go out before it
	[ "$(jq -r .type out1 | tr '\n' ' ')" = "job sample batch " ]
	[ "$(wc -l < seen)" -eq 1 ]
}

@test "sg-route --worker k/n: batch numbers k modulo n, draws of its own, a share of the target" {
	jq -nc '{type: "job", run: "t", job: 0, n: 1, target: 10, context: {grammar: true},
		recipe: {grammar: {}}}' > job.jsonl
	sg-route -s base --seed 1 < job.jsonl > /dev/null
	for k in 0 1 2; do
		cp base w$k
		cat job.jsonl job.jsonl | sg-route --worker $k/3 -s w$k > jobs$k.jsonl
	done
	[ "$(jq -r .batch jobs0.jsonl jobs1.jsonl jobs2.jsonl | tr '\n' ' ')" = "3 6 1 4 2 5 " ]
	[ "$(jq -r .seed jobs*.jsonl | sort -u | wc -l)" -eq 6 ]
	# 10 to go, in shares of 4, 3 and 3 (cap is the accepted count to stop at)
	[ "$(jq -c .worker w0 w1 w2 | tr '\n' ' ')" = '{"index":0,"count":3,"round":0,"cap":4} {"index":1,"count":3,"round":0,"cap":3} {"index":2,"count":3,"round":0,"cap":3} ' ]
	run --separate-stderr sg-route --worker 1/3 -s w0 < job.jsonl
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-route: state 'w0' is worker 0/3's, not 1/3's" ]
	for bad in 3/3 -1/2 1 1/0 a/b; do
		run --separate-stderr sg-route --worker $bad -s w9 < job.jsonl
		[ "$status" -eq 2 ]
		[ "$stderr" = "sg-route: --worker wants k/n with 0 <= k < n, not '$bad'" ]
	done
}

@test "examples/scale: make -j4 and parallel.sh run rounds of 4 workers from nothing to the target, no sample twice" {
	command -v parallel > /dev/null || skip "no GNU parallel (tests/deps.sh installs it)"
	cp -r "$EXAMPLES/scale" "$EXAMPLES/reviews" .
	run --separate-stderr make -s -j4 -C scale SG_BIN="$SG_BIN" run
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "40 samples in out/data.*.jsonl" ]
	jq -e '.accepted == 40 and .target == 40 and .steps > 4' scale/out/run.state
	[ -z "$(cat scale/out/data.*.jsonl | jq -r .data.text | sort | uniq -d)" ]
	run --separate-stderr env OUT=p SG_BIN="$SG_BIN" sh scale/parallel.sh 4 reviews/reviews.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "40 samples in p/data.jsonl" ]
	jq -e '.accepted == 40 and .pending == {}' p/run.state
	[ -z "$(jq -r .data.text p/data.jsonl | sort | uniq -d)" ]
}

@test "4 sg-run side by side on one state, output and seen file reach the target exactly, no sample twice" {
	command -v parallel > /dev/null || skip "no GNU parallel (tests/deps.sh installs it)"
	server --latency 20
	ln -s "$EXAMPLES/llm/kb" kb
	sg-plan -n1 "$EXAMPLES/llm/reviews-llm.yaml" | jq '.recipe | .router_config.arms |=
		map(select(. == "templater_balanced" or .name? == "naive_balanced"))' > r.json
	run --separate-stderr parallel -N0 -j4 sg-run --seed 5 -s st -o data.jsonl r.json ::: 1 2 3 4
	[ "$status" -eq 0 ]
	jq -e '.accepted == 20 and .target == 20 and .pending == {}
		and .rewards == .steps and .rewards == ([.arms[].n] | add)' st
	[ "$(wc -l < data.jsonl)" -eq 20 ]
	[ -z "$(jq -r .data.text data.jsonl | sort | uniq -d)" ]
	[ -z "$(jq -r .id data.jsonl | sort | uniq -d)" ]
}
