#!/usr/bin/env bash
# Crash safety: start sg-run on a recipe, kill -9 it (the whole process
# group, or one random stage) at a random moment, again and again, then let
# it finish.  The dataset must hold exactly the target count, with no
# duplicate sample ids or contents, and the state must agree with it.
# With SCALE=n the run is examples/scale/Makefile's rounds of n workers
# (make -jn, each on its copy of the state, merged after each round),
# killed the same way; every worker's output must agree with the state.
# KILL_MS (1500) is the latest moment of a kill, in milliseconds.
#   usage: [SCALE=n] [KILL_MS=ms] bench/kill-test.sh [rounds] [samples] [recipe]
set -eu
scale=${SCALE:-}
kill_ms=${KILL_MS:-1500}
rounds=${1:-100}
samples=${2:-600}
recipe=$(realpath "${3:-examples/reviews/reviews.yaml}")
bin=$(realpath "${SG_BIN:-bin}")
scale_dir=$(realpath examples/scale)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s/^num_samples: .*/num_samples: $samples/" "$recipe" > "$dir/recipe.yaml"
recipe=$dir/recipe.yaml
cd "$dir"
target=$("$bin/sg-plan" -n1 "$recipe" | jq .target)
stages="sg-plan sg-route sg-gen sg-validate sg-score sg-update"
if [ -n "$scale" ]; then
	cp -r "$scale_dir" scale
	state=scale/out/run.state
	stages="$stages make"
	run() {
		make -s -j"$scale" -C scale N="$scale" SG_BIN="$bin" RECIPE="$recipe" run >/dev/null
	}
	restart() { rm -rf scale/out; }
else
	state=d.jsonl.state
	run() { "$bin/sg-run" -o d.jsonl "$recipe"; }
	restart() { rm -f d.jsonl*; }
fi
# Whether the finished run in . holds exactly the target, each sample
# once, as its state records; its figures in $lines, $ids, $texts,
# $bytes, $recorded, $agree.
check() {
	if [ -n "$scale" ]; then
		data=$(ls scale/out/data.*.jsonl)
		# every output as long as the state records
		agree=yes
		for f in $(jq -r '.outputs // {} | keys[]' "$state"); do
			[ "$(jq --arg p "$f" '.outputs[$p]' "$state")" -eq "$(wc -c < "scale/$f")" ] ||
				agree=no
		done
		recorded=$(jq '[.outputs[]] | add' "$state")
	else
		data=d.jsonl
		recorded=$(jq .output.bytes "$state")
		agree=$([ "$recorded" -eq "$(wc -c < d.jsonl)" ] && echo yes || echo no)
	fi
	lines=$(cat $data | wc -l)
	ids=$(cat $data | jq -r .id | sort -u | wc -l)
	texts=$(cat $data | jq -c .data | sort -u | wc -l)
	bytes=$(cat $data | wc -c)
	[ "$lines" -eq "$target" ] && [ "$ids" -eq "$target" ] && [ "$texts" -eq "$target" ] &&
		[ "$(jq .accepted "$state")" -eq "$target" ] && [ "$agree" = yes ] &&
		[ "$recorded" -eq "$bytes" ]
}
group=0 stage=0 finished=0 bad=0
i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	setsid bash -c "$(declare -f run); $(declare -p scale bin recipe); run" 2>/dev/null &
	pid=$!
	sleep "$(shuf -i 0-"$kill_ms" -n 1 | awk '{ printf "%.3f", $1 / 1000 }')"
	if [ $((i % 2)) -eq 0 ]; then
		kill -9 -- "-$pid" 2>/dev/null && group=$((group + 1))
	else
		s=$(echo $stages | tr ' ' '\n' | shuf -n 1)
		pkill -9 -g "$pid" -x "$s" 2>/dev/null && stage=$((stage + 1))
	fi
	wait "$pid" 2>/dev/null || true
	kill -9 -- "-$pid" 2>/dev/null || true
	# a run that finished between kills must be exact too
	if [ "$(jq .accepted "$state" 2>/dev/null || echo 0)" -ge "$target" ]; then
		finished=$((finished + 1))
		check || { bad=$((bad + 1)); echo "round $i: $lines samples, $ids ids, $texts contents, $recorded of $bytes bytes recorded"; }
		restart
	fi
done
run 2>/dev/null
status=0
check || status=1
echo "rounds $rounds${scale:+ of make -j$scale}: $group group kills, $stage stage kills, $finished runs finished between kills, $bad of them wrong"
echo "final: $lines samples (target $target), $ids distinct ids, $texts distinct contents"
echo "state: accepted $(jq .accepted "$state"), output bytes $recorded of $bytes, each output as recorded: $agree"
[ "$status" -eq 0 ] && [ "$bad" -eq 0 ]
