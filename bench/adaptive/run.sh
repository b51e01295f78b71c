#!/bin/bash
# bench/adaptive/run.sh - does adaptation work?  For each task (a recipe of
# offline arms written without the real data, and a real labelled set in
# train, a small dev set, its first DEV lines, and a held-out test set)
# and each configuration, sg-run makes the recipe's samples once per seed
# and sg-eval scores them on the test set: utility = (accuracy - majority)
# / (ceiling - majority), the ceiling the same classifier trained on train.
# The configurations:
#   ARM              that arm of the recipe alone
#   uniform          the good arms (all but flipped), each batch's arm drawn
#                    uniformly: epsilon_greedy with epsilon 1 and no decay
#   router           the good arms, routed as the recipe says (the defaults)
#   feedback         router, with sg-run --dev DEV: every batch's reward
#                    has a dev part (sg-score(1))
#   gated            feedback, with sg-run --dev-gate too: a batch that
#                    lowers the dev score is not accepted
#   arms             feedback, with sg-run -e ARMS_EVERY (5) --arm-rewards
#                    too: every ARMS_EVERY iterations each arm is rewarded
#                    by what leaving its samples out costs on the dev set
#   uniform+flipped, router+flipped, feedback+flipped, gated+flipped
#                    the same with the bad arm (flip.sh) offered too
#   uniform+mislabelled, router+mislabelled, feedback+mislabelled,
#   arms+mislabelled the same with spam's other bad arm (flip.sh
#                    extractive: real texts with wrong labels); not run
#                    for a task whose recipe lacks it
# Each run leaves its files and result.json in OUTDIR/runs/TASK/CONFIG/SEED/;
# table.sh then prints the tables from every result there.  A run is
# deterministic (the same code, recipe, seed and data give the same
# samples), so a subset can be run again and compared config by config.
# Usage: bench/adaptive/run.sh [bin-dir]
# Environment: TASKS ("sentiment spam"), CONFIGS (all of them), SEEDS
# ("1 2 ... 10"), JOBS (2: runs at once), ITERATIONS (200: sg-run -i),
# DEV (150), DATA (build/data: make data and the spam data fetch it), OUTDIR
# (build/bench-adaptive), RESUME (when set, runs that left a result.json
# are kept, so an interrupted bench goes on where it stopped).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
data=${DATA:-$top/build/data}
out=${OUTDIR:-$top/build/bench-adaptive}
bads='["flipped", "mislabelled"]'
all_configs="templater_conservative templater_balanced templater_exploratory
	eda extractive flipped uniform router feedback gated arms
	uniform+flipped router+flipped feedback+flipped gated+flipped arms+flipped
	uniform+mislabelled router+mislabelled feedback+mislabelled arms+mislabelled"

# task NAME: the recipe and the real data of a task
task() {
	case $1 in
	sentiment)
		recipe=$here/sentiment.yaml
		train=$data/sentiment/amazon-train.tsv
		test=$data/sentiment/amazon-test.tsv ;;
	spam)
		recipe=$here/spam.yaml
		train=$data/spam/train.tsv
		test=$data/spam/test.tsv ;;
	*)
		echo "run.sh: unknown task '$1'" >&2
		return 2 ;;
	esac
	dev=$out/data/$1-dev.tsv
	corpus=$out/data/$1-corpus.txt
}

# corpus TASK: the unlabelled texts of the task's extractive arm, a
# paragraph each: real texts of the same kind that neither train nor test
# holds
corpus() {
	task "$1"
	case $1 in
	sentiment)
		cut -f 2 "$data/sentiment/yelp.tsv" "$data/sentiment/imdb.tsv" ;;
	spam)
		awk -F '\t' 'FILENAME != ARGV[3] { used[$0] = 1; next } !used[$0]' \
			"$train" "$test" "$data/spam/spam.tsv" | cut -f 2 ;;
	esac | awk '{ print $0 "\n" }' >"$corpus"
}

# configure TASK CONFIG: the task's recipe as JSON with the configuration's
# arms and policy, the task's corpus as its knowledge base, and the paths
# of its command arms made absolute, since it is written elsewhere
configure() {
	task "$1"
	sg-plan -n1 "$recipe" | jq --arg dir "$here" --arg config "$2" --argjson bads "$bads" \
		--arg corpus "$corpus" '.recipe |
		def name: if type == "string" then . else .name end;
		($config | test("^(uniform|router|feedback|gated|arms)")) as $mixed |
		($config | sub("^[^+]*\\+?"; "")) as $bad |
		if $bad != "" and (.router_config.arms | any(name == $bad) | not) then
			empty else . end |
		.knowledge_base = $corpus |
		.router_config.arms |= map(
			select(if $mixed then (name | IN($bads[]) | not) or name == $bad
				else name == $config end) |
			if type == "object" and .command then
				.command[0] |= "\($dir)/\(ltrimstr("./"))"
			else . end) |
		if .router_config.arms == [] then error("no arm for configuration \($config)") else . end |
		if $config | startswith("uniform") then .router_config += {policy: "epsilon_greedy",
			epsilon_start: 1, epsilon_min: 1, epsilon_decay: 1}
		else . end'
}

# one TASK CONFIG SEED: one run, then OUTDIR/runs/TASK/CONFIG/SEED/result.json
one() {
	local dir=$out/runs/$1/$2/$3 r=$out/recipes/$1-$2.json eval=() rc=0 t0 t1
	local bad=${2#*+}
	task "$1"
	if [ -n "${RESUME-}" ] && [ -f "$dir/result.json" ]; then
		return
	fi
	# a bad arm the task's recipe lacks
	[ -s "$r" ] || return 0
	[ "$bad" != "$2" ] || bad=flipped
	rm -rf "$dir"
	mkdir -p "$dir"
	case $2 in
	feedback*) eval=(--dev "$dev") ;;
	gated*) eval=(--dev "$dev" --dev-gate) ;;
	arms*) eval=(--dev "$dev" -e "${ARMS_EVERY:-5}" --arm-rewards) ;;
	esac
	t0=$(date +%s.%N)
	sg-run --seed "$3" -i "${ITERATIONS:-200}" "${eval[@]}" -o "$dir/data.jsonl" "$r" \
		2>"$dir/run.txt" || rc=$?
	t1=$(date +%s.%N)
	touch "$dir/data.jsonl"
	echo null >"$dir/eval.json"
	if [ -s "$dir/data.jsonl" ] && ! sg-eval -c "$r" -T "$test" -L "$train" \
		"$dir/data.jsonl" >"$dir/eval.json" 2>"$dir/eval.txt"; then
		echo "run.sh: sg-eval failed on $dir/data.jsonl (see eval.txt)" >&2
		echo null >"$dir/eval.json"
	fi
	# the evaluations' seconds, from sg-run's summary (-e only)
	evals=$(sed -n "s/^sg-run: [0-9]* evaluations\{0,1\} took \([0-9.]*\) s of .*/\1/p" \
		"$dir/run.txt")
	jq -n --arg task "$1" --arg config "$2" --argjson seed "$3" --arg bad "$bad" \
		--argjson status "$rc" --argjson wall "$(echo "$t1 - $t0" | bc)" \
		--argjson evals "${evals:-null}" \
		--arg commit "$COMMIT" --slurpfile eval "$dir/eval.json" \
		--slurpfile data "$dir/data.jsonl" --slurpfile state "$dir/data.jsonl.state" '
		def share($a): if length == 0 then null else (map(select(. == $a)) | length) / length end;
		($data | map(.arm)) as $arms | $eval[0] as $e | {
			task: $task, config: $config, seed: $seed, commit: $commit,
			status: $status, wall: $wall, eval_wall: $evals,
			iterations: $state[0].steps,
			samples: ($arms | length),
			utility: $e.utility, accuracy: $e.synthetic.accuracy,
			macro_f1: $e.synthetic.macro_f1, majority: $e.majority,
			ceiling: $e.real.accuracy,
			shares: ($state[0].arms | with_entries(.key as $k | .value = ($arms | share($k)))),
			pulls: ($state[0].arms | map_values(.pulls)),
			bad_after_20: (if $state[0].arms[$bad] then
				$arms[($arms | length / 5 | floor):] | share($bad) else null end)
		}' >"$dir/result.json"
}

# run.sh --one TASK CONFIG SEED is how run.sh runs each run
if [ "${1-}" = --one ]; then
	one "$2" "$3" "$4"
	exit
fi
bin=$(cd "${1:-$top/bin}" && pwd)
PATH=$bin:$PATH
export PATH DATA=$data OUTDIR=$out

tasks=${TASKS:-sentiment spam}
configs=${CONFIGS:-$all_configs}
seeds=${SEEDS:-$(seq 1 10)}
COMMIT=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
export COMMIT
mkdir -p "$out/data" "$out/recipes"
for t in $tasks; do
	task "$t"
	for f in "$train" "$test"; do
		[ -s "$f" ] || { echo "run.sh: no data in '$f' (make data spam-data)" >&2; exit 4; }
	done
	head -n "${DEV:-150}" "$train" >"$dev"
	corpus "$t"
	for c in $configs; do
		configure "$t" "$c" >"$out/recipes/$t-$c.json"
	done
done
# seeds outermost, so configurations interleave on the cores
for s in $seeds; do
	for t in $tasks; do
		for c in $configs; do
			echo "$t $c $s"
		done
	done
done | xargs -P "${JOBS:-2}" -L 1 "$BASH" "$here/run.sh" --one
"$BASH" "$here/table.sh" "$out"
