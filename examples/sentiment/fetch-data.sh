#!/bin/sh
# fetch-data.sh DIR: the UCI Sentiment Labelled Sentences (Kotzias et al.,
# KDD 2015; 1,000 Amazon, IMDb and Yelp sentences each, labelled 0/1) as
# label<TAB>text files in DIR, from the test fixtures of the npm package
# sentiment.  npm fetches the package into DIR (never into the source
# tree) and checks it against the registry's integrity hash.  Writes
# amazon.tsv, imdb.tsv, yelp.tsv and, from the Amazon set, a fixed split:
# amazon-train.tsv (odd lines) and amazon-test.tsv (even lines), and
# amazon-dev.tsv, the first 150 lines of amazon-train.tsv: real examples
# the router may learn from (sg-run --dev), apart from the test set.
set -eu
dir=${1:?usage: fetch-data.sh DIR}
version=5.0.2
mkdir -p "$dir"
cd "$dir"
if [ ! -f "sentiment-$version.tgz" ]; then
	echo "fetching sentiment@$version from the npm registry: the labelled sentences" >&2
	# npm prints the tarball's name on stdout and its errors on stderr
	npm pack --loglevel=error "sentiment@$version" >/dev/null || {
		echo "fetch-data.sh: could not fetch sentiment@$version with npm pack (npm's error above)" >&2
		exit 1
	}
fi
tar xzf "sentiment-$version.tgz" package/test/fixtures
for set in amazon imdb yelp; do
	# tabs and newlines inside a sentence become spaces
	jq -r '.[] | [(if .class == 1 then "positive" else "negative" end),
		(.text | gsub("[\t\r\n]+"; " "))] | join("\t")' \
		"package/test/fixtures/$set.json" > "$set.tsv.tmp"
	mv "$set.tsv.tmp" "$set.tsv"
done
awk 'NR % 2 == 1' amazon.tsv > amazon-train.tsv
awk 'NR % 2 == 0' amazon.tsv > amazon-test.tsv
head -n 150 amazon-train.tsv > amazon-dev.tsv
rm -rf package
