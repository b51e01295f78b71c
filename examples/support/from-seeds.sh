#!/bin/sh
# A command arm for sg-gen(1): reads the job record on stdin and prints
# $SG_N support tickets, one JSON object a line, built from seeds.tsv with
# a politeness frame chosen by the job's seed.  No LLM, no shell tricks:
# just awk.
here=$(dirname "$0")
cat >/dev/null
exec awk -F '\t' -v n="${SG_N:-5}" -v seed="${SG_SEED:-1}" '
function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }
{ intent[NR] = $1; text[NR] = $2 }
END {
	split("Hi,|Hello,|Good morning,|Hey team,|", pre, "|")
	split(".| - please help.| asap.| Thanks!|, what should I do?", post, "|")
	srand(seed % 2147483647)
	for (i = 0; i < n; i++) {
		k = int(rand() * NR) + 1
		p = pre[int(rand() * 5) + 1]
		q = post[int(rand() * 5) + 1]
		t = (p == "" ? "" : p " ") text[k] q
		printf "{\"text\": \"%s\", \"intent\": \"%s\"}\n", esc(t), intent[k]
	}
}' "$here/seeds.tsv"
