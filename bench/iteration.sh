#!/bin/sh
# bench/iteration.sh - one sg-run iteration of the naive arm: a batch of 32
# samples from the loopback stand-in (tests/llm-server.py) answering each
# request after LATENCY_MS (200), sg-gen's 8 requests in flight, a fresh
# answer cache each time, so every answer is stored.  The ideal is the
# model's time alone: 32 / 8 * latency (the one request for the recipe's
# subtopics is answered from a cache made beforehand).  Each bin directory given is run
# in turn, ROUNDS (7) times interleaved; median, min and max wall seconds
# and the median's excess over the ideal, per directory.  The stand-in's
# own time on top of its latency (it is Python) is printed too, from its
# request log.
#   usage: bench/iteration.sh bin-dir [bin-dir...]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
latency=${LATENCY_MS:-200}
rounds=${ROUNDS:-7}
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
cp -r "$here/examples/llm/kb" "$tmp/kb"
SG_CACHE_DIR=$tmp/plan "$1/sg-run" -q -i 1 --seed 1 -o "$tmp/warm.jsonl" "$tmp/recipe.yaml" 2>/dev/null
rm $(grep -L 'A synthetic dataset is wanted' "$tmp"/plan/*.json)

# one iteration of bin $2 from a fresh cache, its wall seconds into wall.$1
iteration() {
	rm -rf "$tmp/run" && mkdir "$tmp/run" && cp -r "$tmp/plan" "$tmp/run/cache"
	t0=$(date +%s%N)
	SG_CACHE_DIR=$tmp/run/cache "$2/sg-run" -q -i 1 --seed 1 -o "$tmp/run/d.jsonl" \
		"$tmp/recipe.yaml" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
	t1=$(date +%s%N)
	[ "$(ls "$tmp/run/cache" | wc -l)" -eq 33 ] ||
		{ echo "$2: $(ls "$tmp/run/cache" | wc -l) answers cached, not 33" >&2; exit 1; }
	echo "$t0 $t1" | awk '{ printf "%.4f\n", ($2 - $1) / 1e9 }' >>"$tmp/wall.$1"
}
interleave iteration "$@"
ideal=$(echo "$latency" | awk '{ print 4 * $1 / 1000 }')
# the stand-in's own time on top of the latency: what an answer took
# from its request's arrival to its being sent, on the server's clock
answer=$(jq -s 'map(select(.method == "POST") | .t1 - .t0) | add / length' "$tmp/requests.jsonl")
printf 'stand-in latency %s ms, batch 32, 8 in flight: ideal %.3f s; %s rounds, load %s\n' \
	"$latency" "$ideal" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'the stand-in answered in %.1f ms on average: its own ideal, 4 such waves, is %.3f s\n\n' \
	"$(echo "$answer" | awk '{ print 1000 * $1 }')" "$(echo "$answer" | awk '{ print 4 * $1 }')"
echo '| sg-run | wall s: median (min-max) | median over ideal |'
echo '|---|---|---|'
k=0
for bin in "$@"; do
	k=$((k + 1))
	printf '| %s | %s | %s |\n' "$bin" "$(spread "$tmp/wall.$k" 1 %.3f)" \
		"$(sort -n "$tmp/wall.$k" | awk -v ideal="$ideal" '{ w[NR] = $1 } END {
			printf "%+.1f %%", 100 * (w[int((NR + 1) / 2)] / ideal - 1) }')"
done
