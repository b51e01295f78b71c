#!/bin/sh
# bench/start.sh - what starting the stages costs, offline (no server
# configured): the CPU seconds of 100 runs each, from a shell loop, of
# `sg-plan -n1` on examples/reviews, of sg-gen and sg-validate on one
# offline batch of it (the job sg-route chose, then its samples; kept from
# the first bin directory, so every build reads the same), and of
# `sg-run --help` (sg-run's own start: a run starts the stages as well);
# and the offline loop's iterations per second (`sg-run -i 10` on the
# same recipe from scratch, num_samples raised so that all ten run; six
# processes an iteration).  Each bin directory given runs in turn, ROUNDS
# (5) times interleaved; median, min and max per directory.
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
"$1/sg-plan" -n1 "$recipe" | "$1/sg-route" -s state.json >job.jsonl
"$1/sg-gen" job.jsonl >batch.jsonl

# 100 runs of the command after $2 (CPU ms a run into $2.$1)
cpu() {
	cpu_k=$1 cpu_name=$2
	shift 2
	/usr/bin/time -f '%U %S' -o time sh -c '
		for i in $(seq 100); do "$@" >/dev/null; done' sh "$@"
	awk '{ print ($1 + $2) * 10 }' time >>"$cpu_name.$cpu_k"
}

# bin $2's starts of each stage and ten iterations (iterations/s into
# loop.$1)
starts() {
	cpu "$1" plan "$2/sg-plan" -n1 "$recipe"
	cpu "$1" gen "$2/sg-gen" job.jsonl
	cpu "$1" validate "$2/sg-validate" batch.jsonl
	cpu "$1" run "$2/sg-run" --help
	rm -rf out && mkdir out
	# 6: stopped by -i short of the target, as meant
	/usr/bin/time -f '%e' -o time "$2/sg-run" -q -i 10 --seed 1 -o out/d.jsonl "$recipe" 2>/dev/null ||
		[ $? -eq 6 ]
	awk 'END { print 10 / $1 }' time >>"loop.$1"
}
interleave starts "$@"
printf '%s rounds, load %s\n\n' "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo 'CPU ms a run, and offline iterations/s: median (min-max)'
echo
echo '| bin | sg-plan | sg-gen | sg-validate | sg-run --help | iterations/s |'
echo '|---|---|---|---|---|---|'
k=0
for bin in "$@"; do
	k=$((k + 1))
	printf '| %s | %s | %s | %s | %s | %s |\n' "$bin" "$(spread "plan.$k" 1 %.2f)" \
		"$(spread "gen.$k" 1 %.2f)" "$(spread "validate.$k" 1 %.2f)" \
		"$(spread "run.$k" 1 %.2f)" "$(spread "loop.$k" 1 %.1f)"
done
