#!/bin/sh
# compression.sh SG-SCORE [BENCHBIN]: the compression ratio SG-SCORE gives
# batches of 1000 texts that repeat themselves more and more, and the CPU
# seconds it takes over all of them; with BENCHBIN, also the ratios of
# the same batches under other deflate settings and the time of a deflate
# (BENCHBIN/deflate), then the same for one batch of BENCHBIN/samples.
# The texts are made of the sentences of the files under $TEXT (default:
# the licences in /usr/share/common-licenses), two a text; each batch is
# one kind:
#   varied      1000 different texts
#   half        500 different texts, then 50 texts 10 times each
#   50x20       50 texts, 20 times each, in turn
#   100x10      100 texts, 10 times each, in turn (a cycle longer than
#               deflate's 32 KiB window)
#   10x100      10 texts, 100 times each, in turn
#   1x1000      one text 1000 times
#   template    "Sample i: the <product> was <adjective>, I rate it k of 5."
set -eu
score=$1
text=${TEXT:-/usr/share/common-licenses}
tmp=${TMPDIR:-/tmp}/sg-compression.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
find "$text" -type f | sort | xargs cat | tr '\n' ' ' |
	sed 's/\([.!?]\)  */\1\n/g' | awk 'length > 40 && length < 400' >"$tmp/sentences"
awk -v OFS='\t' '
{ s[n++] = $0 }
function varied(i) { return s[i % n] " " s[(int(i / n) + 1 + 3 * i) % n] }
END {
	split("varied half 50x20 100x10 10x100 1x1000 template", kind, " ")
	split("kettle laptop phone chair lamp desk camera blender", product, " ")
	split("great fine awful ok", adjective, " ")
	for (i = 0; i < 1000; i++) {
		print 0, varied(i)
		print 1, varied(i < 500 ? i : 1000 + i % 50)
		print 2, varied(2000 + i % 50)
		print 3, varied(3000 + i % 100)
		print 4, varied(4000 + i % 10)
		print 5, varied(5000)
		print 6, "Sample " i ": the " product[i % 8 + 1] " was " \
		    adjective[int(i / 8) % 4 + 1] ", I rate it " i % 5 + 1 " of 5."
	}
	for (k = 1; k <= 7; k++)
		print k - 1, kind[k] >"'"$tmp/kinds"'"
}' "$tmp/sentences" |
	jq -Rc 'split("\t") | {type: "sample", id: "\(input_line_number)",
		run: "c", batch: (.[0] | tonumber), data: .[1]}' >"$tmp/in.jsonl"
/usr/bin/time -f '%U %S' -o "$tmp/time" "$score" <"$tmp/in.jsonl" |
	jq -r 'select(.type == "reward") | "\(.batch)\t\(.compression_ratio)"' |
	awk -F '\t' -v kinds="$tmp/kinds" '
	BEGIN { while ((getline l <kinds) > 0) { split(l, f, "\t"); name[f[1]] = f[2] } }
	{ printf "%-9s %.4f\n", name[$1], $2 }'
awk '{ printf "cpu %.2f s\n", $1 + $2 }' "$tmp/time"
[ $# -gt 1 ] || exit 0
echo "deflate settings, the same batches in the same order:"
"$2/deflate" <"$tmp/in.jsonl"
echo "deflate settings, one batch of bench/samples:"
"$2/samples" 1000 | "$2/deflate" 20
