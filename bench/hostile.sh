#!/bin/sh
# hostile.sh BIN [ROUNDS]: time and peak memory of recipes written to hurt:
# patterns that blow up a backtracking or expanding engine (sg-validate, one
# sample) and YAML nested past the limit up to the 8 MiB a recipe may take
# (sg-plan).  The cases run in turn, ROUNDS times (default 5), so a busy
# moment on the machine spreads over all of them; each prints its exit
# status and the minimum, median and maximum seconds and peak RSS.
set -eu
bin=$1 rounds=${2:-5}
tmp=${TMPDIR:-/tmp}/sg-hostile.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
max=8388608 # SG_MAX_RECIPE

# pattern NAME PATTERN DATA: a job with the pattern and one sample
pattern() {
	jq -nc --arg p "$2" --rawfile d "$3" \
		'{type: "job", run: "t", batch: 0, recipe: {constraints: {pattern: $p}}},
		 {type: "sample", id: "t:0:0", run: "t", batch: 0, data: $d},
		 {type: "batch", run: "t", batch: 0}' >"$tmp/$1.jsonl"
	echo "$1 sg-validate $tmp/$1.jsonl" >>"$tmp/cases"
}

# nest NAME OPEN CLOSE: a recipe whose task_input is OPEN repeated, then
# CLOSE as often, to max bytes
nest() {
	head='domain: d
num_samples: 1
task_input:
  '
	n=$(((max - ${#head} - 1) / (${#2} + ${#3})))
	{
		printf '%s' "$head"
		yes -- "$2" | head -n "$n" | tr -d '\n'
		yes -- "$3" | head -n "$n" | tr -d '\n'
		echo
	} >"$tmp/$1.yaml"
	echo "$1 sg-plan $tmp/$1.yaml" >>"$tmp/cases"
}

printf hello >"$tmp/hello"
printf 'a%.0s' $(seq 101) >"$tmp/a101"
{ printf 'a%.0s' $(seq 40); printf b; } >"$tmp/a40b"
head -c 1000000 /dev/zero | tr '\0' a >"$tmp/a1M"
pattern 'repeat-1000x1000' '(a{1,1000}){1,1000}' "$tmp/hello"
pattern 'repeat-100x100x100' '((a{1,100}){1,100}){1,100}$' "$tmp/a101"
pattern 'nested-plus' '^(a+)+$' "$tmp/a40b"
pattern 'alternation-1MB' '^(a|b)*$' "$tmp/a1M"
nest 'flow-seq-8MiB' '[' ']'
nest 'flow-map-8MiB' '{a: ' '}'
nest 'block-seq-8MiB' '- ' ''
# the quadratic case of the report: 200 KB of nested sequences
printf 'domain: d\nnum_samples: 1\ntask_input: ' >"$tmp/flow-seq-200KB.yaml"
yes '[' | head -n 100000 | tr -d '\n' >>"$tmp/flow-seq-200KB.yaml"
yes ']' | head -n 100000 | tr -d '\n' >>"$tmp/flow-seq-200KB.yaml"
echo "flow-seq-200KB sg-plan $tmp/flow-seq-200KB.yaml" >>"$tmp/cases"
# the worst within the limit: nests 512 deep, side by side, to 8 MiB
{
	printf 'domain: d\nnum_samples: 1\ntask_input: ['
	one=$(printf '%.0s[' $(seq 511))$(printf '%.0s]' $(seq 511))
	yes "$one," | head -n $(((max - 64) / (${#one} + 1))) | tr -d '\n'
	echo '0]'
} >"$tmp/flow-seq-512-wide.yaml"
echo "flow-seq-512-wide sg-plan $tmp/flow-seq-512-wide.yaml" >>"$tmp/cases"

for r in $(seq "$rounds"); do
	while read -r name prog file; do
		/usr/bin/time -f "%x %e %M" -o "$tmp/t" "$bin/$prog" "$file" \
			>/dev/null 2>"$tmp/err" || :
		echo "$name $(tail -1 "$tmp/t")" >>"$tmp/times"
		[ "$r" -gt 1 ] || echo "$name: $(wc -c <"$file") bytes: $(head -c 160 "$tmp/err")"
	done <"$tmp/cases"
done
echo
echo "case status seconds(min/median/max) peak-RSS-KB(min/median/max)"
cut -d' ' -f1 "$tmp/cases" | while read -r name; do
	awk -v n="$name" '$1 == n { print $2, $3, $4 }' "$tmp/times" >"$tmp/one"
	st=$(cut -d' ' -f1 "$tmp/one" | sort -u | paste -sd/)
	s=$(cut -d' ' -f2 "$tmp/one" | sort -n | awk '{ v[NR] = $1 } END { print v[1] "/" v[int((NR + 1) / 2)] "/" v[NR] }')
	m=$(cut -d' ' -f3 "$tmp/one" | sort -n | awk '{ v[NR] = $1 } END { print v[1] "/" v[int((NR + 1) / 2)] "/" v[NR] }')
	echo "$name $st $s $m"
done
