#!/bin/sh
# throughput.sh BIN BENCHBIN N: N synthetic samples (bench/samples) through
# sg-validate | sg-score with every offline check on, and through the bare
# jansson parse-and-print (bench/bare), one after the other on the same
# input file; wall and CPU seconds, peak memory (the larger of the two
# stages' resident sets) and records per second for each, and the ratio.
# Then each stage alone, one after the other: sg-validate on the same input
# into a file, sg-score on that file.  Last, with Debian's stress(1), the
# bare pass and the pipeline again with one core kept busy by `stress -c 1`,
# as on a shared machine.
set -eu
bin=$1 bbin=$2 n=$3
tmp=${TMPDIR:-/tmp}/sg-bench.$$
busy=
mkdir -p "$tmp"
trap '[ -z "$busy" ] || { pkill -P "$busy"; kill "$busy" 2>/dev/null; }; rm -rf "$tmp"' EXIT
export SG_LEXICON=${SG_LEXICON:-build/lexicon/toxicity.tsv}
"$bbin/samples" "$n" >"$tmp/in.jsonl"
records=$(wc -l <"$tmp/in.jsonl")
bytes=$(wc -c <"$tmp/in.jsonl")
echo "input: $records records, $bytes bytes ($n samples)"
# measure COMMAND NAME VAR [INPUT [OUTPUT]]
measure() {
	in=${4:-$tmp/in.jsonl} out=${5:-$tmp/out}
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" sh -c "$1" <"$in" >"$out" 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; exit 1; }
	read -r wall user sys rss <"$tmp/time"
	awk -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v r="$(wc -l <"$in")" -v name="$2" \
		'BEGIN { printf "%s: wall %.2f s, cpu %.2f s, peak rss %d MiB, %d records/s\n", name, w, u + s, m / 1024, r / w }'

	eval "wall_$3=$wall"
}
measure "$bbin/bare" "bare jansson parse+print  " bare
measure "$bin/sg-validate | $bin/sg-score" "sg-validate | sg-score     " pipe
awk -v p="$wall_pipe" -v b="$wall_bare" 'BEGIN { printf "ratio pipeline/bare wall: %.2f\n", p / b }'
echo "records out: $(wc -l <"$tmp/out"), rewards: $(grep -c '"type":"reward"' "$tmp/out")"
rm "$tmp/out"
measure "$bin/sg-validate" "sg-validate alone          " validate "$tmp/in.jsonl" "$tmp/validated.jsonl"
measure "$bin/sg-score" "sg-score alone             " score "$tmp/validated.jsonl" /dev/null
if ! command -v stress >/dev/null 2>&1; then
	echo "throughput.sh: no stress(1) (apt-get install stress): the run with one core busy is left out" >&2
	exit 0
fi
stress -c 1 >/dev/null 2>&1 &
busy=$!
measure "$bbin/bare" "bare, one core busy        " bare_busy
measure "$bin/sg-validate | $bin/sg-score" "pipeline, one core busy    " pipe_busy
awk -v p="$wall_pipe_busy" -v b="$wall_bare_busy" 'BEGIN { printf "ratio pipeline/bare wall, one core busy: %.2f\n", p / b }'
