#!/bin/sh
# bench/adaptive/calibration.sh - how often extractive's labels are right,
# by the probability its labeller gave them.  The corpora of bench/adaptive
# are real labelled texts with the labels taken off (run.sh), so each
# extractive sample's label can be checked against the true one.
# Usage: bench/adaptive/calibration.sh OUTDIR [CONFIG...]: the runs of
# those configurations (uniform) in OUTDIR/runs/TASK/CONFIG/SEED/
# Environment: DATA (build/data), as for run.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${DATA:-$here/../../build/data}
out=$1
shift
[ $# -gt 0 ] || set -- uniform
echo "| task | configuration | probability | samples | label right |"
echo "|---|---|---|---:|---:|"
for task in sentiment spam; do
	case $task in
	sentiment) truth="$data/sentiment/yelp.tsv $data/sentiment/imdb.tsv" ;;
	spam) truth=$data/spam/spam.tsv ;;
	esac
	for config; do
		ls "$out/runs/$task/$config"/*/data.jsonl >/dev/null 2>&1 || continue
		# shellcheck disable=SC2086
		cat "$out/runs/$task/$config"/*/data.jsonl |
			jq -r 'select(.arm == "extractive") |
				[.data.label, .provenance.confidence, .data.text] | @tsv' |
			cat $truth - | awk -F '\t' -v task="$task" -v config="$config" '
			{ sub(/ +$/, "", $NF) }
			NF == 2 { truth[$2] = $1; next }
			$3 in truth {
				if ($2 >= 0.9999) b = "0.9999 or more"
				else if ($2 >= 0.999) b = "0.999 – 0.9999"
				else if ($2 >= 0.99) b = "0.99 – 0.999"
				else if ($2 >= 0.9) b = "0.9 – 0.99"
				else b = "under 0.9"
				n[b]++; ok[b] += (truth[$3] == $1) }
			END { for (b in n) printf "| %s | %s | %s | %d | %.2f |\n",
				task, config, b, n[b], ok[b] / n[b] }' | sort -t '|' -k 4r
	done
done
