#!/bin/sh
# bench/gen-memory.sh - sg-gen's peak resident memory (/usr/bin/time -v's
# maximum resident set) for one naive job of n = 200, 2,000 and 20,000
# samples at -j 64 against the loopback stand-in (tests/llm-server.py)
# answering after LATENCY_MS (20), without the answer cache, as
# bench/llm.sh runs it.  Each bin directory given is run in turn for each
# n, ROUNDS (3) times interleaved; median, min and max MiB per directory.
#   usage: bench/gen-memory.sh bin-dir [bin-dir...]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
latency=${LATENCY_MS:-20}
rounds=${ROUNDS:-3}
sizes=${SIZES:-200 2000 20000}
tmp=$(mktemp -d)
. "$here/bench/stand-in.sh"
stand_in "$tmp" "$latency"

for n in $sizes; do
	"$1/sg-plan" --no-llm -n1 -b "$n" "$here/examples/reviews/reviews.yaml" |
		jq -c ".batch = 0 | .arm = \"n\" | .generator = \"naive\" | .seed = 1 |
			.params = {temperature: 0.7, max_tokens: 64} | .context.format = \"text\"" >"$tmp/job.$n"
done
i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	for n in $sizes; do
		k=0
		for bin in "$@"; do
			k=$((k + 1))
			/usr/bin/time -v -o "$tmp/time" "$bin/sg-gen" --no-cache -j 64 "$tmp/job.$n" >"$tmp/out"
			got=$(jq -s 'map(select(.type == "batch"))[0].generated' "$tmp/out")
			[ "$got" -eq "$n" ] || { echo "$bin: generated $got of $n" >&2; exit 1; }
			sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time" >>"$tmp/rss.$k.$n"
		done
	done
done
printf 'stand-in latency %s ms, -j 64, no cache; %s rounds, load %s\n\n' \
	"$latency" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo '| sg-gen | n | median MiB | min MiB | max MiB |'
echo '|---|---|---|---|---|'
for n in $sizes; do
	k=0
	for bin in "$@"; do
		k=$((k + 1))
		sort -n "$tmp/rss.$k.$n" | awk -v name="$bin" -v n="$n" '{ m[NR] = $1 } END {
			printf "| %s | %d | %.1f | %.1f | %.1f |\n", name, n, m[int((NR + 1) / 2)] / 1024, m[1] / 1024, m[NR] / 1024 }'
	done
done
