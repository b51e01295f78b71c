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
. "$here/bench/lib.sh"
stand_in "$tmp" "$latency"

for n in $sizes; do
	"$1/sg-plan" --no-llm -n1 -b "$n" "$here/examples/reviews/reviews.yaml" |
		jq -c ".batch = 0 | .arm = \"n\" | .generator = \"naive\" | .seed = 1 |
			.params = {temperature: 0.7, max_tokens: 64} | .context.format = \"text\"" >"$tmp/job.$n"
done
# each n by bin $2, its peak RSS in KiB into rss.$1.n
memory() {
	for n in $sizes; do
		/usr/bin/time -v -o "$tmp/time" "$2/sg-gen" --no-cache -j 64 "$tmp/job.$n" >"$tmp/out"
		got=$(jq -s 'map(select(.type == "batch"))[0].generated' "$tmp/out")
		[ "$got" -eq "$n" ] || { echo "$2: generated $got of $n" >&2; exit 1; }
		sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time" >>"$tmp/rss.$1.$n"
	done
}
interleave memory "$@"
printf 'stand-in latency %s ms, -j 64, no cache; %s rounds, load %s\n\n' \
	"$latency" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo '| sg-gen | n | peak MiB: median (min-max) |'
echo '|---|---|---|'
for n in $sizes; do
	k=0
	for bin in "$@"; do
		k=$((k + 1))
		printf '| %s | %s | %s |\n' "$bin" "$n" "$(spread "$tmp/rss.$k.$n" 1024 %.1f)"
	done
done
