#!/bin/sh
# bench/start.sh - what starting the stages costs, offline (no server
# configured): the CPU seconds of 100 runs of `sg-plan -n1` on
# examples/reviews (one process start each, little else), and the offline
# loop's iterations per second (`sg-run -i 10` on the same recipe from
# scratch, num_samples raised so that all ten run; six processes an
# iteration).  Each bin directory given runs in
# turn, ROUNDS (5) times interleaved; median, min and max per directory.
#   usage: bench/start.sh bin-dir [bin-dir...]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
recipe=$tmp/reviews.yaml
sed 's/^num_samples: .*/num_samples: 100000/' "$here/examples/reviews/reviews.yaml" >"$recipe"
unset OPENAI_BASE_URL OPENAI_API_KEY
. "$here/bench/lib.sh"
cd "$tmp"

# bin $2's 100 sg-plan runs (CPU ms a run into plan.$1) and ten
# iterations (iterations/s into loop.$1)
starts() {
	/usr/bin/time -f '%U %S' -o time sh -c '
		for i in $(seq 100); do "$1/sg-plan" -n1 "$2" >/dev/null; done' sh "$2" "$recipe"
	awk '{ print ($1 + $2) * 10 }' time >>"plan.$1"
	rm -rf out && mkdir out
	# 6: stopped by -i short of the target, as meant
	/usr/bin/time -f '%e' -o time "$2/sg-run" -q -i 10 --seed 1 -o out/d.jsonl "$recipe" 2>/dev/null ||
		[ $? -eq 6 ]
	awk 'END { print 10 / $1 }' time >>"loop.$1"
}
interleave starts "$@"
printf '%s rounds, load %s\n\n' "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo '| bin | sg-plan CPU ms a run: median (min-max) | offline iterations/s: median (min-max) |'
echo '|---|---|---|'
k=0
for bin in "$@"; do
	k=$((k + 1))
	printf '| %s | %s | %s |\n' "$bin" "$(spread "plan.$k" 1 %.2f)" "$(spread "loop.$k" 1 %.1f)"
done
