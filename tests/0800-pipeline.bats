#!/usr/bin/env bats
# The six filters composed by hand, and each one replaceable by a jq or
# shell one-liner that keeps the loop working.

load helpers

setup_file() {
	export RECIPE=$EXAMPLES/reviews/reviews.yaml
}

# One pass of the pipeline over every planned batch, with stage N (1-6)
# replaced by the command in $2 when given.
pipeline() {
	local s1="sg-plan -s st $RECIPE" s2="sg-route -s st --seed 6" s3=sg-gen
	local s4="sg-validate --seen st.seen" s5=sg-score s6="sg-update -s st -o data.jsonl"
	case ${1:-0} in
	1) s1=$2 ;; 2) s2=$2 ;; 3) s3=$2 ;; 4) s4=$2 ;; 5) s5=$2 ;; 6) s6=$2 ;;
	esac
	eval "$s1 | $s2 | $s3 | $s4 | $s5 | $s6"
}

# Passes until the state counts the target (at most 20).
loop() {
	for i in $(seq 20); do
		[ "$(jq -r '.accepted // 0' st 2>/dev/null || echo 0)" -ge 40 ] && return 0
		pipeline "$@" || return 1
	done
	return 1
}

@test "the documented pipeline, repeated, reaches the target exactly" {
	run --separate-stderr loop
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(wc -l < data.jsonl)" -eq 40 ]
	[ "$(jq -r .id data.jsonl | sort -u | wc -l)" -eq 40 ]
}

@test "one pass appends to a dataset through standard output" {
	run --separate-stderr sh -c "sg-plan -s st $RECIPE | sg-route -s st | sg-gen | sg-validate | sg-score | sg-update -s st >> data.jsonl"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(wc -l < data.jsonl)" -eq "$(jq .accepted st)" ]
	[ "$(jq .steps st)" -eq 8 ]
}

@test "sg-plan replaced by jq over the recipe as JSON" {
	sg-plan -n1 "$RECIPE" | jq -c .recipe > recipe.json
	plan='jq -c --slurpfile r recipe.json -n "range(8) as \$i | {type: \"job\", run: \"headphone_reviews\", job: \$i, n: 5, target: 40, context: {domain: \"x\", grammar: true}, recipe: \$r[0]}"'
	run --separate-stderr loop 1 "$plan"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(wc -l < data.jsonl)" -eq 40 ]
}

@test "sg-route replaced by jq choosing one arm" {
	route='jq -c "if .type == \"job\" then .batch = (now * 1e6 | floor) + .job | .arm = \"fixed\" | .generator = \"templater\" | .params = {temperature: 1, max_depth: 12} | .seed = .batch else . end"'
	run --separate-stderr loop 2 "$route"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(wc -l < data.jsonl)" -eq 40 ]
	[ "$(jq -r .arm data.jsonl | sort -u)" = fixed ]
	jq -e '.arms.fixed.n > 0' st
}

@test "sg-gen replaced by jq writing samples and the batch record" {
	gen='jq -c "if .type == \"job\" then ., (range(.n) as \$i | {type: \"sample\", id: \"\(.run):\(.batch):\(\$i)\", run, batch, index: \$i, arm, data: {text: \"Review \(.batch) number \(\$i) says the sound is fine.\", label: \"positive\", rating: 5}}), {type: \"batch\", run, batch, arm, params, context, n} else . end"'
	run --separate-stderr loop 3 "$gen"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(wc -l < data.jsonl)" -eq 40 ]
	[ "$(jq -r .data.text data.jsonl | sort -u | wc -l)" -eq 40 ]
}

@test "sg-validate replaced by cat" {
	run --separate-stderr loop 4 cat
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(wc -l < data.jsonl)" -eq 40 ]
}

@test "sg-score replaced by jq giving every batch the same reward" {
	score='jq -c "if .type == \"batch\" then ., {type: \"reward\", run, batch, arm, params, context, reward: 0.5} else . end"'
	run --separate-stderr loop 5 "$score"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(wc -l < data.jsonl)" -eq 40 ]
	[ "$(jq '[.arms[].sum] | add' st)" = "$(jq '.rewards * 0.5' st)" ]
}

@test "sg-update replaced by jq keeping the passing samples" {
	run --separate-stderr pipeline 6 'jq -c "select(.type == \"sample\" and .pass)" > data.jsonl'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(wc -l < data.jsonl)" -gt 20 ]
	jq -e '.pass' data.jsonl >/dev/null
}

@test "a user's own fields and records travel through every stage" {
	run --separate-stderr sh -c "sg-plan -n1 -s st $RECIPE | jq -c '.owner = \"lab-3\"' |
		{ cat; echo '{\"type\":\"note\",\"text\":\"kept\"}'; } | sg-route -s st | sg-gen |
		jq -c 'if .type == \"sample\" then .tag = .index else . end' |
		sg-validate | sg-score | sg-update -s st"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	echo "$output" | jq -s -e 'map(select(.type == "sample") | .tag == .index) | length > 0 and all' >/dev/null
	[ "$(echo "$output" | jq -r 'select(.type == "note") | .text')" = kept ]
}
