#!/bin/sh
# bench/eval-fasttext.sh DATA BIN: sg-eval's classifier against Debian's
# fastText on the same splits of the UCI Sentiment Labelled Sentences, with
# the same settings (softmax, dim 50, 20 epochs, lr 0.5, word bigrams,
# 262144 buckets, one thread) and the same tokens: sg-eval's words (runs
# of letters, digits and apostrophes, lower case) are written out as
# fastText's whitespace-separated input.  For each split and seed 1..5:
# accuracy on the test half, and the wall time of training plus testing
# (fastText's includes writing and reading its model file, so its time
# for training alone is shown too).
# Prints a table of means; a fastText that is not installed is an error.
set -eu
data=${1:?usage: eval-fasttext.sh DATA BIN}
bin=${2:?usage: eval-fasttext.sh DATA BIN}
command -v fasttext >/dev/null || { echo "fasttext is not installed (apt-get install fasttext)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
params="-dim 50 -epoch 20 -lr 0.5 -wordNgrams 2 -bucket 262144"

# split SET: odd lines train, even lines test, as make data splits Amazon
for set in amazon imdb yelp; do
	awk 'NR % 2 == 1' "$data/$set.tsv" > "$tmp/$set-train.tsv"
	awk 'NR % 2 == 0' "$data/$set.tsv" > "$tmp/$set-test.tsv"
done
cat "$tmp"/amazon-train.tsv "$tmp"/imdb-train.tsv "$tmp"/yelp-train.tsv > "$tmp/all-train.tsv"
cat "$tmp"/amazon-test.tsv "$tmp"/imdb-test.tsv "$tmp"/yelp-test.tsv > "$tmp/all-test.tsv"

for f in "$tmp"/*-t*.tsv; do
	b=${f%.tsv}
	# sg-eval reads samples; fastText reads __label__X and the tokens
	jq -R -c 'split("\t") | {type: "sample", data: {label: .[0], text: .[1]}}' "$f" > "$b.jsonl"
	perl -ne 'chomp; my ($l, $t) = split /\t/, $_, 2; $t = lc $t;
		print "__label__$l ", join(" ", $t =~ /[a-z0-9\x27\x80-\xff]+/g), "\n"' "$f" > "$b.ft"
done

now() { date +%s.%N; }
add() { awk "BEGIN { printf \"%.6f\", $1 + $2 }"; }
printf '%-7s %5s %5s  %-8s %-8s  %-9s %-10s %-9s\n' split train test \
	"sg-eval" fastText "sg-eval s" "fastText s" "(train s)"
for set in amazon imdb yelp all; do
	sa=0 fa=0 st=0 ft=0 fl=0
	for seed in 1 2 3 4 5; do
		t0=$(now)
		a=$("$bin/sg-eval" --seed "$seed" -T "$tmp/$set-test.tsv" "$tmp/$set-train.jsonl" 2>/dev/null |
			jq .synthetic.accuracy)
		t1=$(now)
		fasttext supervised -input "$tmp/$set-train.ft" -output "$tmp/m" $params \
			-minCount 1 -thread 1 -seed "$seed" -verbose 0 >/dev/null
		tl=$(now)
		b=$(fasttext test "$tmp/m.bin" "$tmp/$set-test.ft" | awk '$1 == "P@1" {print $2}')
		t2=$(now)
		sa=$(add "$sa" "$a") fa=$(add "$fa" "$b")
		st=$(add "$st" "$t1 - $t0") ft=$(add "$ft" "$t2 - $t1") fl=$(add "$fl" "$tl - $t1")
	done
	awk -v s="$set" -v n="$(wc -l < "$tmp/$set-train.tsv")" -v m="$(wc -l < "$tmp/$set-test.tsv")" \
		-v sa="$sa" -v fa="$fa" -v st="$st" -v ft="$ft" -v fl="$fl" 'BEGIN {
		printf "%-7s %5d %5d  %-8.3f %-8.3f  %-9.3f %-10.3f %-9.3f\n",
			s, n, m, sa / 5, fa / 5, st / 5, ft / 5, fl / 5 }'
done
