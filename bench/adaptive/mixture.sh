#!/bin/bash
# bench/adaptive/mixture.sh - the best a fixed mix of the arms reaches: what
# choosing arms can gain over choosing them uniformly.  For each task and
# seed, the datasets that run.sh made with each good arm alone are mixed,
# eda's samples at each share in SHARES and the templater arms' in equal
# parts of the rest, in the order each arm wrote them, a text taken once;
# sg-eval scores each mix of the recipe's count on the held-out test set,
# as run.sh scores a run.  A table of utility by share follows, mean ±
# standard error over the seeds.
# Usage: bench/adaptive/mixture.sh [bin-dir]
# Environment: TASKS ("sentiment spam"), SEEDS ("1 2 ... 10"), SHARES ("0
# 0.1 0.2 0.3 0.5 0.7 0.85 1"), DATA and OUTDIR as for run.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
data=${DATA:-$top/build/data}
out=${OUTDIR:-$top/build/bench-adaptive}
bin=$(cd "${1:-$top/bin}" && pwd)
PATH=$bin:$PATH
templaters="templater_conservative templater_balanced templater_exploratory"

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
		for p in ${SHARES:-0 0.1 0.2 0.3 0.5 0.7 0.85 1}; do
			mix=$out/mixture/$t/$s-$p.jsonl
			mkdir -p "$(dirname "$mix")"
			# eda's share first, then the templaters in turn, then
			# the rest of eda should texts repeat; each text once
			jq -nc --argjson n "$n" --argjson p "$p" \
				--slurpfile e "$out/runs/$t/eda/$s/data.jsonl" \
				--slurpfile a "$out/runs/$t/templater_conservative/$s/data.jsonl" \
				--slurpfile b "$out/runs/$t/templater_balanced/$s/data.jsonl" \
				--slurpfile c "$out/runs/$t/templater_exploratory/$s/data.jsonl" '
				($n * $p | round) as $k |
				$e[:$k] + [range(0; [$a, $b, $c | length] | max) as $i |
					($a[$i], $b[$i], $c[$i]) | select(. != null)] + $e[$k:] |
				reduce .[] as $x ({seen: {}, out: []};
					if (.out | length) >= $n or .seen[$x.data.text] then .
					else .seen[$x.data.text] = true | .out += [$x] end) |
				.out[]' >"$mix"
			sg-eval -c "$recipe" -T "$test" -L "$train" "$mix" 2>/dev/null |
				jq -c --arg t "$t" --argjson s "$s" --argjson p "$p" \
					'{task: $t, seed: $s, share: $p, utility}'
		done
	done
done | tee "$out/mixture.jsonl" >/dev/null
jq -rs 'group_by(.task)[] | .[0].task as $t |
	"### \($t): utility of fixed mixes by the share of eda samples\n",
	"| eda share | seeds | utility |", "|---:|---:|---:|",
	(group_by(.share)[] | map(.utility) as $u | ($u | add / length) as $m |
	 (if ($u | length) > 1 then ($u | map(. - $m | . * .) | add /
		(length - 1) / length | sqrt) else null end) as $se |
	 "| \(.[0].share) | \($u | length) | \($m * 1000 | round / 1000) ± \(if $se then $se * 1000 | round / 1000 else "-" end) |"),
	""' "$out/mixture.jsonl"
