#!/bin/sh
# bench/iteration.sh - sg-run iterations of the naive arm: batches of 32
# samples from the loopback stand-in (tests/llm-server.py) answering each
# request after LATENCY_MS (200), sg-gen's 8 requests in flight, a fresh
# answer cache each time, so every answer is stored.  The ideal is the
# model's time alone: ITERATIONS (1) x 32 / 8 x latency (the one request
# for the recipe's subtopics is answered from a cache made beforehand).
# Each bin directory given is run in turn, ROUNDS (7) times interleaved;
# median, min and max wall seconds and the median's excess over the
# ideal, per directory.  The stand-in's own time on top of its latency
# (it is Python) is printed too, from its request log, and, with
# ITERATIONS above 1, the time from one iteration's last answer to the
# next one's first request.
#   usage: bench/iteration.sh bin-dir [bin-dir...]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
latency=${LATENCY_MS:-200}
rounds=${ROUNDS:-7}
iters=${ITERATIONS:-1}
tmp=$(mktemp -d)
. "$here/bench/lib.sh"
stand_in "$tmp" "$latency" "$tmp/requests.jsonl"
# the LLM recipe with the naive arm alone and checks that ask no server
sed -e '/^router_config:/,$d' -e '/^  llm_judge:/,/^  diversity:/d' \
	"$here/examples/llm/reviews-llm.yaml" >"$tmp/recipe.yaml"
cat >>"$tmp/recipe.yaml" <<'EOF'
router_config:
  arms:
    - {name: naive, generator: naive, temperature: 0.7, max_tokens: 200}
  batch_size: 32
EOF
sed -i "s/^num_samples: .*/num_samples: $((32 * iters))/" "$tmp/recipe.yaml"
cp -r "$here/examples/llm/kb" "$tmp/kb"
SG_CACHE_DIR=$tmp/plan "$1/sg-run" -q -i 1 --seed 1 -o "$tmp/warm.jsonl" "$tmp/recipe.yaml" 2>/dev/null ||
	[ "$iters" -gt 1 ]
rm $(grep -L 'A synthetic dataset is wanted' "$tmp"/plan/*.json)

# the iterations of bin $2 from a fresh cache, their wall seconds into
# wall.$1, the gaps between them (ms) into gaps.$1
iteration() {
	rm -rf "$tmp/run" && mkdir "$tmp/run" && cp -r "$tmp/plan" "$tmp/run/cache"
	: >"$tmp/requests.jsonl"
	t0=$(date +%s%N)
	SG_CACHE_DIR=$tmp/run/cache "$2/sg-run" -q -i "$iters" --seed 1 -o "$tmp/run/d.jsonl" \
		"$tmp/recipe.yaml" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
	t1=$(date +%s%N)
	[ "$(ls "$tmp/run/cache" | wc -l)" -eq $((32 * iters + 1)) ] ||
		{ echo "$2: $(ls "$tmp/run/cache" | wc -l) answers cached, not $((32 * iters + 1))" >&2; exit 1; }
	echo "$t0 $t1" | awk '{ printf "%.4f\n", ($2 - $1) / 1e9 }' >>"$tmp/wall.$1"
	jq -s -r 'map(select(.method == "POST")) | sort_by(.t0) |
		[range(32; length; 32) as $i | (.[$i:$i + 32] | map(.t0) | min) -
			(.[$i - 32:$i] | map(.t1) | max)][] | . * 1000' "$tmp/requests.jsonl" >>"$tmp/gaps.$1"
	jq -c 'select(.method == "POST")' "$tmp/requests.jsonl" >>"$tmp/answers.jsonl"
}
interleave iteration "$@"
ideal=$(echo "$latency" | awk -v n="$iters" '{ print 4 * n * $1 / 1000 }')
# the stand-in's own time on top of the latency: what an answer took
# from its request's arrival to its being sent, on the server's clock
answer=$(jq -s 'map(.t1 - .t0) | add / length' "$tmp/answers.jsonl")
printf 'stand-in latency %s ms, %s iterations of 32 samples, 8 in flight: ideal %.3f s; %s rounds, load %s\n' \
	"$latency" "$iters" "$ideal" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'the stand-in answered in %.1f ms on average: its own ideal, 4 such waves an iteration, is %.3f s\n\n' \
	"$(echo "$answer" | awk '{ print 1000 * $1 }')" "$(echo "$answer" | awk -v n="$iters" '{ print 4 * n * $1 }')"
printf '| sg-run | wall s: median (min-max) | median over ideal |'
[ "$iters" -eq 1 ] || printf ' last answer to next first request, ms |'
printf '\n|---|---|---|'
[ "$iters" -eq 1 ] || printf -- '---|'
echo
k=0
for bin in "$@"; do
	k=$((k + 1))
	printf '| %s | %s | %s |' "$bin" "$(spread "$tmp/wall.$k" 1 %.3f)" \
		"$(sort -n "$tmp/wall.$k" | awk -v ideal="$ideal" '{ w[NR] = $1 } END {
			printf "%+.1f %%", 100 * (w[int((NR + 1) / 2)] / ideal - 1) }')"
	[ "$iters" -eq 1 ] || printf ' %s |' "$(spread "$tmp/gaps.$k" 1 %.1f)"
	echo
done
