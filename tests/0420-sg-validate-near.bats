#!/usr/bin/env bats
# sg-validate's near-duplicates: MinHash-LSH over word 5-grams against the
# exact Jaccard similarity computed independently in Python, the earlier
# sample named, the bucket keys kept in the --seen file for the next run,
# exact dedup beside it, and bad settings refused.

load helpers

# recipe DEDUP: a recipe file r.json with validators.deduplication DEDUP,
# turned on.
recipe() {
	jq -nc --argjson d "$1" \
		'{domain: "d", num_samples: 1, validators: {deduplication: ({enabled: true} + $d)}}' >r.json
}

# words N OFFSET: N distinct words starting at OFFSET, as one line.
words() {
	seq "$2" $(($2 + $1 - 1)) | sed 's/^/w/' | tr '\n' ' ' | sed 's/ $//'
}

# sample ID TEXT: a sample of run "t" batch 0.
sample() {
	jq -nc --arg i "$1" --arg t "$2" \
		'{type: "sample", id: "t:0:\($i)", run: "t", batch: 0, data: $t}'
}

@test "recall of pairs at J >= 0.8 at least 0.95, few flagged below J 0.5" {
	/usr/bin/python3 "$FIXTURES/near-set.py" 5 500 in.jsonl truth.jsonl
	recipe '{"threshold": 0.8, "check_field": "text"}'
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# originals are unrelated: none is flagged
	[ "$(jq -c 'select(.batch == 0) | .checks.near_dedup.pass' <<<"$output" | sort -u)" = true ]
	jq -c 'select(.batch == 1) | [.id, .checks.near_dedup.pass]' <<<"$output" >got.jsonl
	run jq -rn --slurpfile t truth.jsonl --slurpfile g got.jsonl '
		($t | map({key: .[0], value: .[1]}) | from_entries) as $j
		| [$g[] | {j: $j[.[0]], flagged: (.[1] | not)}] as $all
		| ($all | map(select(.j >= 0.8))) as $hi
		| ($all | map(select(.j < 0.5))) as $lo
		| ($all | map(select(.j < 0.75 and .flagged))) as $below
		| "\($hi | length) \($hi | map(select(.flagged)) | length) \($lo | length) \($lo | map(select(.flagged)) | length) \($below | length)"'
	[ "$status" -eq 0 ]
	read -r hi hit lo fp below <<<"$output"
	echo "J>=0.8: $hit of $hi flagged; J<0.5: $fp of $lo flagged; J<0.75: $below flagged" >&2
	[ "$hi" -ge 20 ]
	[ $((hit * 100)) -ge $((hi * 95)) ]
	[ $((fp * 100)) -le $((lo * 5)) ]
	# the exact Jaccard of the shingle sets verifies every bucket shared
	[ "$below" -eq 0 ]
}

@test "a near-duplicate names the earlier sample; exact dedup still runs beside it" {
	recipe '{"threshold": 0.8}'
	{
		sample 0 "$(words 60 1)"
		sample 1 "$(words 30 1) changed $(words 29 32)"
		sample 2 "$(words 60 100)"
		sample 3 "$(words 60 100)"
	} >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.id, .checks.dedup, .checks.near_dedup, .valid]' <<<"$output")" \
'["t:0:0",{"pass":true},{"pass":true},true]
["t:0:1",{"pass":true},{"pass":false,"why":"near-duplicate of an earlier sample (t:0:0)"},false]
["t:0:2",{"pass":true},{"pass":true},true]
["t:0:3",{"pass":false,"why":"duplicate of an earlier sample (t:0:2)"},{"pass":false,"why":"near-duplicate of an earlier sample (t:0:2)"},false]'
	# without a threshold below 1 there is no near_dedup check
	recipe '{}'
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '.checks | keys' <<<"$output" | sort -u)" '["dedup","generate"]'
}

@test "a shared bucket is verified: below the threshold is no near-duplicate, but a key from the file is" {
	# 64 bands of one row: texts at J 0.3 share a bucket all but surely
	recipe '{"threshold": 0.8, "bands": 64, "rows": 1}'
	{
		sample 0 "$(words 60 1)"
		sample 1 "$(words 30 1) $(words 30 200)"
		sample 2 "$(words 59 1) changed"
		jq -nc '{type: "batch", run: "t", batch: 0}'
	} >in.jsonl
	run --separate-stderr sg-validate -r r.json --seen seen in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c 'select(.type == "sample") | [.id, .checks.near_dedup]' <<<"$output")" \
'["t:0:0",{"pass":true}]
["t:0:1",{"pass":true}]
["t:0:2",{"pass":false,"why":"near-duplicate of an earlier sample (t:0:0)"}]'
	# the next run knows the keys, not the texts: a shared bucket counts
	sample 3 "$(words 30 1) $(words 30 400)" >two.jsonl
	run --separate-stderr sg-validate -r r.json --seen seen two.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '.checks.near_dedup' <<<"$output")" \
		'{"pass":false,"why":"near-duplicate of an earlier sample"}'
}

@test "--seen keeps the bucket keys: the next run refuses near-duplicates of the last" {
	recipe '{"threshold": 0.8, "bands": 10, "rows": 5}'
	sample 0 "$(words 60 1)" >one.jsonl
	jq -nc '{type: "batch", run: "t", batch: 0}' >>one.jsonl
	run --separate-stderr sg-validate -r r.json --seen seen one.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# one exact key and one key per band
	[ "$(wc -l <seen)" -eq 11 ]
	sample 1 "$(words 40 1) other $(words 19 42)" >two.jsonl
	run --separate-stderr sg-validate -r r.json --seen seen two.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '.checks.near_dedup' <<<"$output")" \
		'{"pass":false,"why":"near-duplicate of an earlier sample"}'
	# an invalid sample leaves no keys behind
	[ "$(wc -l <seen)" -eq 11 ]
}

@test "bands without rows, or too few hash functions for the threshold, are refused" {
	recipe '{"threshold": 0.8, "bands": 10}'
	run --separate-stderr sg-validate -r r.json /dev/null
	[ "$status" -eq 3 ]
	assert_equal "$stderr" 'sg-validate: r.json: "validators.deduplication.bands" and rows go together'
	recipe '{"threshold": 0.3, "num_perm": 2}'
	run --separate-stderr sg-validate -r r.json /dev/null
	[ "$status" -eq 3 ]
	assert_equal "$stderr" 'sg-validate: r.json: "validators.deduplication.num_perm" is too small for threshold 0.3'
	recipe '{"threshold": 0.8, "ngram": 0}'
	run --separate-stderr sg-validate -r r.json /dev/null
	[ "$status" -eq 3 ]
	[[ "$stderr" == *'"validators.deduplication.ngram" must be a positive integer' ]]
}

@test "near-duplicates fold case and Unicode forms: accented, Greek and Cyrillic copies" {
	fr="les écouteurs tiennent très bien à l’oreille et la batterie dure une journée entière même à plein volume"
	el="τα ακουστικά κάθονται καλά στο αυτί και η μπαταρία κρατάει όλη τη μέρα ακόμη και στο δρόμος με δυνατή ένταση"
	ru="наушники хорошо сидят в ушах и батарея держит весь день даже на полной громкости в метро и на улице"
	en="wireless headphones that stay in the ear all day with a battery that lasts from morning to night"
	# upper case, the decomposed form (NFD), full-width letters (NFKC)
	py() { /usr/bin/python3 -c "import sys, unicodedata as u; print($1)" "$2"; }
	up() { py 'sys.argv[1].upper()' "$1"; }
	nfd() { py 'u.normalize("NFD", sys.argv[1])' "$1"; }
	wide() { py '"".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in sys.argv[1])' "$1"; }
	recipe '{"threshold": 0.8}'
	texts "$fr" "$(up "$fr")" "$(nfd "$fr")" "$el" "$(up "$el")" "$ru" "$(up "$ru")" \
		"$en" "$(wide "$en")" >in.jsonl
	[ "$(jq -r .data <in.jsonl | sed -n 2p)" = "LES ÉCOUTEURS TIENNENT TRÈS BIEN À L’OREILLE ET LA BATTERIE DURE UNE JOURNÉE ENTIÈRE MÊME À PLEIN VOLUME" ]
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# exact dedup folds no case, but the NFD spelling is the same text
	assert_equal "$(jq -c '[.id, .checks.dedup.pass, .checks.near_dedup.why]' <<<"$output")" \
'["t:0:0",true,null]
["t:0:1",true,"near-duplicate of an earlier sample (t:0:0)"]
["t:0:2",false,"near-duplicate of an earlier sample (t:0:0)"]
["t:0:3",true,null]
["t:0:4",true,"near-duplicate of an earlier sample (t:0:3)"]
["t:0:5",true,null]
["t:0:6",true,"near-duplicate of an earlier sample (t:0:5)"]
["t:0:7",true,null]
["t:0:8",true,"near-duplicate of an earlier sample (t:0:7)"]'
}

@test "samples taken thousands before are read back from the temporary file: ids, sets and keys" {
	recipe '{"threshold": 0.8}'
	# 3000 unrelated texts (about a megabyte of records, the index made
	# anew several times), then a near copy of the first and a copy of
	# the second
	jq -nc 'range(3000) as $i | {type: "sample", id: "t:0:\($i)", run: "t", batch: 0,
		data: ([range(40)] | map("w\($i)x\(.)") | join(" "))}' >in.jsonl
	near="$(jq -r 'select(.id == "t:0:0") | .data' in.jsonl | sed 's/w0x39$/other/')"
	{
		sample 3000 "$near"
		jq -c 'select(.id == "t:0:1") | .id = "t:0:3001"' in.jsonl
	} >>in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -c 'select(.valid | not) | [.id, .checks.dedup.why, .checks.near_dedup.why]' <<<"$output")" = \
'["t:0:3000",null,"near-duplicate of an earlier sample (t:0:0)"]
["t:0:3001","duplicate of an earlier sample (t:0:1)","near-duplicate of an earlier sample (t:0:1)"]' ]
}

@test "a temporary directory that cannot hold the dedup records stops the run (exit 4)" {
	recipe '{"threshold": 0.8}'
	sample 0 "$(words 60 1)" >in.jsonl
	TMPDIR=$PWD/missing run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 4 ]
	[ "$stderr" = "sg-validate: cannot create a file in \$TMPDIR for the dedup records: No such file or directory" ]
}
