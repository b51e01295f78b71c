#!/bin/bash
# bench/adaptive/mixture.sh - the best a fixed mix of the arms reaches: what
# choosing arms can gain over choosing them uniformly.  For each task and
# seed, the datasets that run.sh made with each good arm alone are mixed,
# eda's samples at each share in SHARES and the templater arms' in equal
# parts of the rest, in the order each arm wrote them, a text taken once;
# sg-eval scores each mix of the recipe's count on the held-out test set,
# as run.sh scores a run.  A table of utility by share follows, mean ±
# standard error over the seeds.  With LABEL_SHARES, each label gets its own
# share of eda samples instead (every pair of them, the recipe's first label
# first, each label half of the mix): what choosing the arm by the label
# asked for could gain.
# Usage: bench/adaptive/mixture.sh [bin-dir]
# Environment: TASKS ("sentiment spam"), SEEDS ("1 2 ... 10"), SHARES ("0
# 0.1 0.2 0.3 0.5 0.7 0.85 1"), LABEL_SHARES (unset), DATA and OUTDIR as
# for run.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
data=${DATA:-$top/build/data}
out=${OUTDIR:-$top/build/bench-adaptive}
bin=$(cd "${1:-$top/bin}" && pwd)
PATH=$bin:$PATH
templaters="templater_conservative templater_balanced templater_exploratory"

# The mixes to make: each eda's share or, with LABEL_SHARES, the first
# label's share/the second label's; their results, in OUTDIR.
if [ -z "${LABEL_SHARES-}" ]; then
	shares=${SHARES:-0 0.1 0.2 0.3 0.5 0.7 0.85 1}
	results=mixture.jsonl
else
	results=mixture-labels.jsonl
	shares=$(for p in $LABEL_SHARES; do for q in $LABEL_SHARES; do echo "$p/$q"; done; done)
	for t in ${TASKS:-sentiment spam}; do
		[ "$(jq '.task_input.labels | length' "$out/recipes/$t-uniform.json")" = 2 ] || {
			echo "mixture.sh: LABEL_SHARES needs recipes of two labels ($t)" >&2
			exit 2
		}
	done
fi

for t in ${TASKS:-sentiment spam}; do
	case $t in
	sentiment) test=$data/sentiment/amazon-test.tsv train=$data/sentiment/amazon-train.tsv ;;
	spam) test=$data/spam/test.tsv train=$data/spam/train.tsv ;;
	esac
	recipe=$out/recipes/$t-uniform.json
	n=$(jq .num_samples "$recipe")
	for s in ${SEEDS:-$(seq 1 10)}; do
		for a in eda $templaters; do
			f=$out/runs/$t/$a/$s/data.jsonl
			[ -s "$f" ] || { echo "mixture.sh: no '$f': run.sh first" >&2; exit 4; }
		done
		for p in $shares; do
			mix=$out/mixture/$t/$s-${p/\//-}.jsonl
			mkdir -p "$(dirname "$mix")"
			# eda's share first, then the templaters in turn, then
			# the rest of eda should texts repeat; each text once;
			# by label, each label so and half of the mix
			jq -nc --argjson n "$n" --arg p "$p" \
				--argjson labels "$(jq -c .task_input.labels "$recipe")" \
				--slurpfile e "$out/runs/$t/eda/$s/data.jsonl" \
				--slurpfile a "$out/runs/$t/templater_conservative/$s/data.jsonl" \
				--slurpfile b "$out/runs/$t/templater_balanced/$s/data.jsonl" \
				--slurpfile c "$out/runs/$t/templater_exploratory/$s/data.jsonl" '
				def mix($e; $n; $p): ($n * $p | round) as $k |
					$e[:$k] + [range(0; [$a, $b, $c | length] | max) as $i |
						($a[$i], $b[$i], $c[$i]) | select(. != null)] + $e[$k:];
				def once($n): reduce .[] as $x ({seen: {}, out: []};
					if (.out | length) >= $n or .seen[$x.data.text] then .
					else .seen[$x.data.text] = true | .out += [$x] end) | .out[];
				($p | split("/") | map(tonumber)) as $ps |
				if ($ps | length) == 1 then mix($e; $n; $ps[0]) | once($n)
				else range(0; $labels | length) as $l | $labels[$l] as $y |
					[mix($e | map(select(.data.label == $y)); $n / 2; $ps[$l]) |
					 .[] | select(.data.label == $y)] | once($n / 2)
				end' >"$mix"
			sg-eval -c "$recipe" -T "$test" -L "$train" "$mix" 2>/dev/null |
				jq -c --arg t "$t" --argjson s "$s" --arg p "$p" \
					'{task: $t, seed: $s, share: $p, utility}'
		done
	done
done | tee "$out/$results" >/dev/null
jq -rs --arg by "${LABEL_SHARES:+ for each label (first/second in the recipe)}" 'group_by(.task)[] | .[0].task as $t |
	"### \($t): utility of fixed mixes by the share of eda samples\($by)\n",
	"| eda share | seeds | utility |", "|---:|---:|---:|",
	(group_by(.share | split("/") | map(tonumber))[] | map(.utility) as $u | ($u | add / length) as $m |
	 (if ($u | length) > 1 then ($u | map(. - $m | . * .) | add /
		(length - 1) / length | sqrt) else null end) as $se |
	 "| \(.[0].share) | \($u | length) | \($m * 1000 | round / 1000) ± \(if $se then $se * 1000 | round / 1000 else "-" end) |"),
	""' "$out/$results"
