#!/bin/sh
# bench/scale.sh - scaling out (SCALING in sg(7)).  1. Throughput of one
# round of JOBS naive jobs of 5 samples with 1, 2 and 4 workers (GNU
# parallel, each on its copy of the state via sg-route --worker, sharing a
# --seen file, merged after) against the stand-in server
# (tests/llm-server.py) at a fixed latency: the work waits on the server,
# so workers scale past the cores.  2. The cost of sg-update --merge as
# the number of worker deltas grows, for the default policy and linucb.
# Usage: bench/scale.sh [bin-dir]
# Environment: LATENCY_MS (200), JOBS (16), REPEAT (5, merges timed).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/bin}
latency=${LATENCY_MS:-200}
jobs=${JOBS:-16}
repeat=${REPEAT:-5}
PATH=$bin:$PATH
export PATH
tmp=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"

/usr/bin/python3 "$here/tests/llm-server.py" --port-file port --latency "$latency" &
server=$!
while [ ! -s port ]; do sleep 0.05; done
export OPENAI_BASE_URL=http://127.0.0.1:$(cat port)/v1 OPENAI_API_KEY=sk-bench
export SG_CACHE_DIR=$tmp/cache

now() { date +%s.%N; }

# The reviews recipe with its naive arm alone: every batch a request.  Its
# checks by the model are left out: this measures generation.
sg-plan -n1 "$here/examples/llm/reviews-llm.yaml" | jq '.recipe |
	.router_config.arms |= map(select(.name? == "naive_balanced")) |
	.validators |= {deduplication, json_schema}' > r.json

echo "1. one round of $jobs jobs x 5 samples, stand-in latency $latency ms, $(nproc) cores"
echo "workers  seconds  samples/s  speed-up  accepted"
for w in 1 2 4; do
	rm -rf seen* w*.state data.* cache run.state*
	sg-plan -n1 -t 100000 r.json | sg-route --seed 1 -s run.state | sg-gen |
		sg-validate --seen seen | sg-score | sg-update -s run.state > /dev/null
	a0=$(jq .accepted run.state)
	t0=$(now)
	sg-plan -n "$jobs" -t 100000 -s run.state r.json |
		parallel --pipe -N1 --round-robin -j"$w" \
			'k=$(({%} - 1)); cp run.state w$k.state &&
			sg-route --worker $k/'"$w"' -s w$k.state | sg-gen |
			sg-validate --seen seen | sg-score | sg-update -s w$k.state -o data.$k'
	ls w*.state | xargs sg-update --merge -s run.state
	t1=$(now)
	a=$(($(jq .accepted run.state) - a0))
	[ "$a" -eq "$(cat data.* | wc -l)" ]
	s=$(echo "$t1 - $t0" | bc)
	[ "$w" -gt 1 ] || s1=$s
	awk -v w="$w" -v s="$s" -v s1="$s1" -v a="$a" -v n="$((jobs * 5))" \
		'BEGIN { printf "%7d  %7.2f  %9.1f  %8.2f  %8d\n", w, s, n / s, s1 / s, a }'
done

# A state that has learnt 64 decisions, and W workers' copies each routing
# and learning 4 more batches of their own.
merge_bench() {
	policy=$1
	rm -rf m && mkdir m && cd m
	job() {
		jq -nc --argjson i "$1" --arg pol "$policy" '{type: "job", run: "m", job: $i, n: 1,
			target: 0, context: {domain: ("d" + ($i % 5 | tostring)), grammar: true},
			recipe: {grammar: {}, router_config: {policy: $pol}}}'
	}
	for i in $(seq 64); do job "$i"; done | sg-route --seed 1 -s base |
		jq -c '{type: "reward", run, batch, reward: ((.batch % 8) / 8), mean_quality: 0.5}' |
		sg-update -s base > /dev/null
	for k in $(seq 0 63); do
		cp base w$k
		for i in 1 2 3 4; do job "$i"; done | sg-route --worker $k/64 -s w$k |
			jq -c '{type: "reward", run, batch, reward: ((.batch % 8) / 8), mean_quality: 0.5}' |
			sg-update -s w$k > /dev/null
	done
	for n in 1 2 4 8 16 32 64; do
		best=
		for r in $(seq "$repeat"); do
			cp base run
			ws=$(seq 0 $((n - 1)) | sed 's/^/w/')
			t0=$(now)
			sg-update --merge -s run $ws
			t1=$(now)
			ms=$(echo "($t1 - $t0) * 1000" | bc)
			best=$(echo "$best $ms" | awk '{ print ($1 == "" || $2 < $1) ? $NF : $1 }')
		done
		printf '%-8s %7d  %8.1f  %9.2f  %7d\n' "$policy" "$n" "$best" \
			"$(echo "$best / $n" | bc -l)" "$(wc -c < w0)"
	done
	cd ..
}
echo
echo "2. sg-update --merge, best of $repeat runs; each worker routed and learnt 4 batches"
echo "policy   workers  ms total  ms/worker  state bytes"
merge_bench thompson
merge_bench linucb
