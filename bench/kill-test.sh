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
group=0 stage=0 finished=0
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
	[ "$(jq .accepted "$state" 2>/dev/null || echo 0)" -ge "$target" ] &&
		{ finished=$((finished + 1)); restart; }
done
run 2>/dev/null
if [ -n "$scale" ]; then
	cd scale/out
	state=run.state
	# every output the state records, as long as it records
	agree=yes
	for f in $(jq -r '.outputs // {} | keys[]' run.state | sed 's|^out/||'); do
		[ "$(jq --arg p "out/$f" '.outputs[$p]' run.state)" -eq "$(wc -c < "$f")" ] || agree=no
	done
	recorded=$(jq '[.outputs[]] | add' run.state)
else
	agree=$([ "$(jq .output.bytes "$state")" -eq "$(wc -c < d.jsonl)" ] && echo yes || echo no)
	recorded=$(jq .output.bytes "$state")
fi
data=$(ls data.*.jsonl 2>/dev/null || echo d.jsonl)
lines=$(cat $data | wc -l)
ids=$(cat $data | jq -r .id | sort -u | wc -l)
texts=$(cat $data | jq -c .data | sort -u | wc -l)
bytes=$(cat $data | wc -c)
echo "rounds $rounds${scale:+ of make -j$scale}: $group group kills, $stage stage kills, $finished runs finished between kills"
echo "final: $lines samples (target $target), $ids distinct ids, $texts distinct contents"
echo "state: accepted $(jq .accepted "$state"), output bytes $recorded of $bytes, each output as recorded: $agree"
[ "$lines" -eq "$target" ] && [ "$ids" -eq "$target" ] && [ "$texts" -eq "$target" ] &&
	[ "$(jq .accepted "$state")" -eq "$target" ] && [ "$agree" = yes ] && [ "$recorded" -eq "$bytes" ]
