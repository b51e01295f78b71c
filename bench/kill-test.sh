#!/usr/bin/env bash
# Crash safety: start sg-run on a recipe, kill -9 it (the whole process
# group, or one random stage) at a random moment, again and again, then let
# it finish.  The dataset must hold exactly the target count, with no
# duplicate sample ids or contents, and the state must agree with it.
#   usage: bench/kill-test.sh [rounds] [samples] [recipe]
set -eu
rounds=${1:-100}
samples=${2:-600}
recipe=$(realpath "${3:-examples/reviews/reviews.yaml}")
bin=$(realpath "${SG_BIN:-bin}")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s/^num_samples: .*/num_samples: $samples/" "$recipe" > "$dir/recipe.yaml"
recipe=$dir/recipe.yaml
cd "$dir"
target=$("$bin/sg-plan" -n1 "$recipe" | jq .target)
stages="sg-plan sg-route sg-gen sg-validate sg-score sg-update"
group=0 stage=0 finished=0
i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	setsid "$bin/sg-run" -o d.jsonl "$recipe" 2>/dev/null &
	pid=$!
	sleep "$(shuf -i 0-1500 -n 1 | awk '{ printf "%.3f", $1 / 1000 }')"
	if [ $((i % 2)) -eq 0 ]; then
		kill -9 -- "-$pid" 2>/dev/null && group=$((group + 1))
	else
		s=$(echo $stages | tr ' ' '\n' | shuf -n 1)
		pkill -9 -g "$pid" -x "$s" 2>/dev/null && stage=$((stage + 1))
	fi
	wait "$pid" 2>/dev/null || true
	kill -9 -- "-$pid" 2>/dev/null || true
	[ "$(jq .accepted d.jsonl.state 2>/dev/null || echo 0)" -ge "$target" ] &&
		{ finished=$((finished + 1)); rm -f d.jsonl*; }
done
"$bin/sg-run" -o d.jsonl "$recipe" 2>/dev/null
lines=$(wc -l < d.jsonl)
ids=$(jq -r .id d.jsonl | sort -u | wc -l)
texts=$(jq -c .data d.jsonl | sort -u | wc -l)
bytes=$(wc -c < d.jsonl)
echo "rounds $rounds: $group group kills, $stage stage kills, $finished runs finished between kills"
echo "final: $lines samples (target $target), $ids distinct ids, $texts distinct contents"
echo "state: accepted $(jq .accepted d.jsonl.state), output bytes $(jq .output.bytes d.jsonl.state) of $bytes"
[ "$lines" -eq "$target" ] && [ "$ids" -eq "$target" ] && [ "$texts" -eq "$target" ] &&
	[ "$(jq .accepted d.jsonl.state)" -eq "$target" ] &&
	[ "$(jq .output.bytes d.jsonl.state)" -eq "$bytes" ]
