#!/bin/sh
# bench/iteration.sh - one sg-run iteration of the naive arm: a batch of 32
# samples from the loopback stand-in (tests/llm-server.py) answering each
# request after LATENCY_MS (200), sg-gen's 8 requests in flight, a fresh
# answer cache each time, so every answer is stored.  The ideal is the
# model's time alone: 32 / 8 * latency (the one request for the recipe's
# subtopics is answered from a cache made beforehand).  Each bin directory given is run
# in turn, ROUNDS (7) times interleaved; median, min and max wall seconds
# and the median's excess over the ideal, per directory.
#   usage: bench/iteration.sh bin-dir [bin-dir...]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
latency=${LATENCY_MS:-200}
rounds=${ROUNDS:-7}
tmp=$(mktemp -d)
. "$here/bench/lib.sh"
stand_in "$tmp" "$latency"
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
	SG_CACHE_DIR=$tmp/run/cache /usr/bin/time -f %e -o "$tmp/time" \
		"$2/sg-run" -q -i 1 --seed 1 -o "$tmp/run/d.jsonl" "$tmp/recipe.yaml" 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; exit 1; }
	[ "$(ls "$tmp/run/cache" | wc -l)" -eq 33 ] ||
		{ echo "$2: $(ls "$tmp/run/cache" | wc -l) answers cached, not 33" >&2; exit 1; }
	cat "$tmp/time" >>"$tmp/wall.$1"
}
interleave iteration "$@"
ideal=$(echo "$latency" | awk '{ print 4 * $1 / 1000 }')
printf 'stand-in latency %s ms, batch 32, 8 in flight: ideal %.3f s; %s rounds, load %s\n\n' \
	"$latency" "$ideal" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo '| sg-run | wall s: median (min-max) | median over ideal |'
echo '|---|---|---|'
k=0
for bin in "$@"; do
	k=$((k + 1))
	printf '| %s | %s | %s |\n' "$bin" "$(spread "$tmp/wall.$k" 1 %.3f)" \
		"$(sort -n "$tmp/wall.$k" | awk -v ideal="$ideal" '{ w[NR] = $1 } END {
			printf "%+.1f %%", 100 * (w[int((NR + 1) / 2)] / ideal - 1) }')"
done
