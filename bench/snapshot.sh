#!/bin/sh
# bench/snapshot.sh - sg-score's CPU for one batch of 10 samples against
# the number of samples the run has accepted (SIZES: 600 6000 60000), with
# the spam recipe and a dev set of 150 real messages.  The accepted
# samples are the real texts of build/data (spam and sentiment), taken in
# turn with a prefix for each pass over them, so that the vocabulary grows
# as a run's would and then levels off.  For each size, each bin directory
# given runs in turn, ROUNDS (3) times; in the first round a build that
# keeps a snapshot (STATE.profile-HASH) reads the whole output and writes
# it, in the others it reads the snapshot.  perf stat's task-clock in ms,
# each round's, then the snapshot's size.
#   usage: bench/snapshot.sh bin-dir [bin-dir...]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
data=${DATA:-$here/build/data}
rounds=${ROUNDS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
. "$here/bench/lib.sh"
for f in "$data/spam/train.tsv" "$data/spam/spam.tsv" "$data/sentiment/amazon.tsv"; do
	[ -s "$f" ] || { echo "snapshot.sh: no data in '$f' (make data spam-data)" >&2; exit 4; }
done
cut -f 2 "$data/spam/spam.tsv" "$data/sentiment/amazon.tsv" "$data/sentiment/imdb.tsv" \
	"$data/sentiment/yelp.tsv" >"$tmp/texts"
head -n 150 "$data/spam/train.tsv" >"$tmp/dev.tsv"
# the batch: the spam recipe's job and 10 samples of the dev set's kind
"$1/sg-plan" -n 1 "$here/bench/adaptive/spam.yaml" | jq -c '{type: "job", run: "r",
	batch: 1, n: 10, arm: "extractive", recipe}' >"$tmp/batch"
tail -n 10 "$data/spam/train.tsv" | jq -R -c '[input_line_number, split("\t")] |
	{type: "sample", id: "r:1:\(.[0] - 1)", run: "r", batch: 1, arm: "extractive",
	 data: {text: .[1][1], label: .[1][0]}, pass: true}' >>"$tmp/batch"
echo '{"type":"batch","run":"r","batch":1,"n":10}' >>"$tmp/batch"
# score K BIN: the CPU ms of one batch, appended to ms.K
score() {
	perf stat -x, -e task-clock "$2/sg-score" -s "$tmp/st" --dev "$tmp/dev.tsv" \
		<"$tmp/batch" 2>&1 >/dev/null | awk -F, '{ printf " %.0f", $1 }' >>"$tmp/ms.$1"
}
printf '| accepted | output MB |'
for bin in "$@"; do printf ' %s: ms a batch |' "$bin"; done
printf ' snapshot MB |\n|---|---|'
for bin in "$@"; do printf -- '---|'; done
printf -- '---|\n'
for n in ${SIZES:-600 6000 60000}; do
	awk -v n="$n" '{ t[NR] = $0 } END {
		for (i = 0; i < n; i++) print "p" int(i / NR) " " t[i % NR + 1] }' "$tmp/texts" |
		jq -R -c '{type: "sample", run: "r", batch: 0,
			arm: (if input_line_number % 3 == 0 then "extractive" else "templater" end),
			data: {text: ., label: (if input_line_number % 2 == 0 then "spam" else "ham" end)}}' \
		>"$tmp/out.jsonl"
	jq -n --argjson b "$(wc -c <"$tmp/out.jsonl")" --arg p "$tmp/out.jsonl" \
		'{format: "sg-state", version: 1, run: "r", output: {path: $p, bytes: $b}}' >"$tmp/st"
	rm -f "$tmp"/st.profile-*
	printf '| %s | %.1f |' "$n" "$(echo "$(wc -c <"$tmp/out.jsonl") / 1048576" | bc -l)"
	rm -f "$tmp"/ms.*
	interleave score "$@"
	k=0
	for bin in "$@"; do
		k=$((k + 1))
		printf '%s |' "$(cat "$tmp/ms.$k")"
	done
	printf ' %s |\n' "$(ls -l "$tmp"/st.profile-* 2>/dev/null | awk '{ s += $5 } END {
		printf "%.1f", s / 1048576 }')"
done
