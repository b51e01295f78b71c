#!/bin/sh
# bench/gen-cpu.sh - sg-gen's CPU per request (user + system seconds of
# /usr/bin/time over the requests) and requests per second for one naive
# job at -j c, c = 1, 8 and 64, against the loopback stand-in
# (tests/llm-server.py) answering after LATENCY_MS (20), without the answer
# cache, as bench/llm.sh runs it.  N (2000) requests, N1 (500) at c = 1.
# Each bin directory given is run in turn for each c, ROUNDS (3) times
# interleaved; median, min and max per directory.
#   usage: bench/gen-cpu.sh bin-dir [bin-dir...]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
latency=${LATENCY_MS:-20}
rounds=${ROUNDS:-3}
n=${N:-2000}
n1=${N1:-500}
tmp=$(mktemp -d)
. "$here/bench/lib.sh"
stand_in "$tmp" "$latency"

size() { if [ "$1" -eq 1 ]; then echo "$n1"; else echo "$n"; fi; }
for c in 1 8 64; do
	"$1/sg-plan" --no-llm -n1 -b "$(size $c)" "$here/examples/reviews/reviews.yaml" |
		jq -c ".batch = 0 | .arm = \"n\" | .generator = \"naive\" | .seed = 1 |
			.params = {temperature: 0.7, max_tokens: 64} | .context.format = \"text\"" >"$tmp/job.$c"
done
# each c by bin $2: CPU ms a request into cpu.$1.c, requests/s into rps.$1.c
run() {
	for c in 1 8 64; do
		m=$(size $c)
		/usr/bin/time -f '%e %U %S' -o "$tmp/time" "$2/sg-gen" --no-cache -j "$c" "$tmp/job.$c" >"$tmp/out"
		got=$(jq -s 'map(select(.type == "batch"))[0].generated' "$tmp/out")
		[ "$got" -eq "$m" ] || { echo "$2: generated $got of $m" >&2; exit 1; }
		awk -v m="$m" '{ print ($2 + $3) * 1000 / m }' "$tmp/time" >>"$tmp/cpu.$1.$c"
		awk -v m="$m" '{ print m / $1 }' "$tmp/time" >>"$tmp/rps.$1.$c"
	done
}
interleave run "$@"
printf 'stand-in latency %s ms, no cache; %s requests (%s at c = 1); %s rounds, load %s\n\n' \
	"$latency" "$n" "$n1" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo '| sg-gen | c | CPU ms a request: median (min-max) | req/s: median (min-max) |'
echo '|---|---|---|---|'
for c in 1 8 64; do
	k=0
	for bin in "$@"; do
		k=$((k + 1))
		printf '| %s | %s | %s | %s |\n' "$bin" "$c" "$(spread "$tmp/cpu.$k.$c" 1 %.3f)" \
			"$(spread "$tmp/rps.$k.$c" 1 %.1f)"
	done
done
