#!/bin/bash
# bench/scale-hosts.sh - examples/scale/parallel.sh across 1, 2 and 3 hosts
# (SCALING in sg(7)), each host a network namespace with its own sshd
# (tests/ssh-helpers.bash), the stand-in server (tests/llm-server.py) on
# this machine at LATENCY_MS.  Two recipes: examples/llm's as it is, its
# checks by the model included ("llm"), and its naive arm alone, 2 samples
# a batch, 60 in all, checked without a model ("gen", all generation).
# For each run, the wall time and where it went, by
# the server's log: the time some request of the hosts (generation) was in
# flight, the time some request of this host (validation) was, and the
# rest (ssh, rsync, GNU parallel, the merge, the checks without a model).
# Usage: bench/scale-hosts.sh [bin-dir], as root; without namespaces or
# sshd it says why and exits 0.
# Environment: LATENCY_MS (400), REPEAT (2), SLOTS (workers a host, 2).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$here/bin}" && pwd)
latency=${LATENCY_MS:-400}
repeat=${REPEAT:-2}
slots=${SLOTS:-2}
export PATH=$bin:$PATH SG_BIN=$bin SG_REMOTE_BIN=$bin
export SG_LEXICON=${SG_LEXICON:-$here/build/lexicon/toxicity.tsv}
BATS_TEST_TMPDIR=$(mktemp -d)
HOSTS=()
server=
skip() {
	echo "scale-hosts: skipped: $*" >&2
	exit 0
}
# shellcheck source=../tests/ssh-helpers.bash
. "$here/tests/ssh-helpers.bash"
trap '[ -z "$server" ] || kill "$server"; hosts_down; rm -rf "$BATS_TEST_TMPDIR"' EXIT
cd "$BATS_TEST_TMPDIR"
hosts_up 3
/usr/bin/python3 "$here/tests/llm-server.py" --bind "$GATEWAY" --port-file port \
	--latency "$latency" --log log.jsonl 2> /dev/null &
server=$!
while [ ! -s port ]; do sleep 0.05; done
export OPENAI_BASE_URL=http://$GATEWAY:$(cat port)/v1 OPENAI_API_KEY=sk-bench
export PARALLEL_SSH="ssh -F $PWD/ssh_config"
cp -r "$here/examples/llm" "$here/examples/scale" .
sg-plan -n1 llm/reviews-llm.yaml | jq '.recipe | .num_samples = 60
	| .router_config.arms |= map(select(.name? == "naive_balanced"))
	| .router_config.batch_size = 2 | .validators |= {deduplication, json_schema}' > llm/gen.json

# The seconds some request of the hosts, and some request of this host
# ($GATEWAY), was in flight, and how many each sent, from log.jsonl.
spans() {
	/usr/bin/python3 - "$GATEWAY" <<-'EOF'
		import json, sys
		reqs = [json.loads(l) for l in open("log.jsonl")]
		for here in (False, True):
		    iv = sorted((r["t0"], r["t1"]) for r in reqs
		                if (r["peer"] == sys.argv[1]) == here)
		    busy, end = 0.0, None
		    for a, b in iv:
		        if end is None or a > end:
		            busy += b - a
		            end = b
		        elif b > end:
		            busy += b - end
		            end = b
		    print(len(iv), "%.1f" % busy, end=" ")
	EOF
}

echo "latency $latency ms, $slots workers a host, load $(cut -d' ' -f1-3 /proc/loadavg)"
# what a round pays before any work: GNU parallel reaching the hosts
echo "hosts parallel_nonall_true_s (3 runs)"
for h in 1 2 3; do
	printf '%d' "$h"
	for _ in 1 2 3; do
		t0=$(date +%s.%N)
		parallel --nonall -S "$(seq -f h%g -s, "$h")" true
		printf ' %.2f' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
	done
	echo
done
echo "recipe hosts workers seconds rounds accepted gen_requests gen_busy_s val_requests val_busy_s rest_s"
for r in $(seq "$repeat"); do
	for recipe in llm/reviews-llm.yaml llm/gen.json; do
		for h in 1 2 3; do
			# nothing from an earlier run: no cache here or on the hosts
			rm -rf out cache "$BATS_TEST_TMPDIR"/hosts/home*/.cache
			: > log.jsonl
			export SG_CACHE_DIR=$PWD/cache
			t0=$(date +%s.%N)
			SSHLOGIN=$(seq -f h%g -s, "$h") OUT=out sh scale/parallel.sh "$slots" \
				"$recipe" > /dev/null 2> err || { cat err >&2 && exit 1; }
			t1=$(date +%s.%N)
			jq -r '"\(.round) \(.accepted)"' out/run.state | awk -v h="$h" \
				-v w=$((h * slots)) -v t0="$t0" -v t1="$t1" -v sp="$(spans)" \
				-v r="${recipe#llm/}" '{
				split(sp, x, " ")
				s = t1 - t0
				printf "%s %d %d %.1f %d %d %d %.1f %d %.1f %.1f\n", r, h, w, s,
					$1, $2, x[1], x[2], x[3], x[4], s - x[2] - x[4] }'
		done
	done
done
