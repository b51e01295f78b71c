#!/bin/sh
# bench/judge.sh - sg-validate's model checks against the loopback stand-in
# (tests/llm-server.py) at a fixed latency: N samples, each judged by the
# rubric judge and embedded, at -j 1, 8 and 32, then the cached re-run;
# wall seconds against the ideal (calls x latency / c), CPU seconds, peak
# memory, and the calls the server saw.  Usage: bench/judge.sh [bin-dir]
# Environment: LATENCY_MS (100), N (100), JITTER_MS (0: a random 0 to that
# many ms more per answer), CS (the c's, "1 8 32").
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/bin}
latency=${LATENCY_MS:-100}
n=${N:-100}
jitter=${JITTER_MS:-0}
tmp=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

/usr/bin/python3 "$here/tests/llm-server.py" --port-file "$tmp/port" \
	--log "$tmp/log" --latency "$latency" --jitter "$jitter" &
server=$!
while [ ! -s "$tmp/port" ]; do sleep 0.05; done
export OPENAI_BASE_URL=http://127.0.0.1:$(cat "$tmp/port")/v1 OPENAI_API_KEY=sk-bench

jq -nc '{domain: "d", num_samples: 1, task: "facts about the city museum",
	validators: {llm_judge: {enabled: true}, diversity: {enabled: true, min_dispersion: 0.2}}}' >"$tmp/r.json"
i=0
while [ $i -lt "$n" ]; do
	jq -nc --arg t "Sample $i: the museum opens at nine." --argjson i $i \
		'{type: "sample", id: "t:0:\($i)", run: "t", batch: 0, data: $t}'
	i=$((i + 1))
done >"$tmp/in.jsonl"

echo "c calls wall_s ideal_s cpu_s max_rss_kib"
run() { # c cache-dir
	before=$(wc -l <"$tmp/log")
	SG_CACHE_DIR=$2 /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
		"$bin/sg-validate" -j "$1" -r "$tmp/r.json" "$tmp/in.jsonl" >/dev/null
	calls=$(($(wc -l <"$tmp/log") - before))
	awk -v c="$1" -v calls=$calls -v lat="$latency" -v jit="$jitter" '{
		printf "%s %d %.2f %.2f %.2f %d\n", c, calls, $1,
			calls * (lat + jit / 2) / 1000 / c, $2 + $3, $4 }' "$tmp/time"
}
for c in ${CS:-1 8 32}; do
	run $c "$tmp/cache$c"
done
echo "cached re-run:"
run 8 "$tmp/cache8"
