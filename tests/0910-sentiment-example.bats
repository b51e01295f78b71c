#!/usr/bin/env bats
# The sentiment example: the generate-evaluate-reward loop, and the utility
# its offline arms reach on the real Amazon sentences.

load helpers

setup_file() {
	make -s -C "$BATS_TEST_DIRNAME/.." data >&2
}

@test "the loop feeds sg-eval's rewards to the router and ends with a utility on real data" {
	run --separate-stderr make -s -C "$EXAMPLES/sentiment" demo OUT="$BATS_TEST_TMPDIR/out" \
		SG_BIN="$SG_BIN" DATA="$BATS_TEST_DIRNAME/../build/data/sentiment"
	[ "$status" -eq 0 ]
	[[ "$output" == *"after batch 34: templater_"* ]]
	[[ "$stderr" == *"sg-eval: trained on 300 synthetic examples, tested on 500 real ones"*"utility 0."* ]]
	cd out
	[ "$(wc -l < sentiment.jsonl)" -eq 300 ]
	# one evaluation per round of five iterations, three arm rewards each
	[ "$(wc -l < evals.jsonl)" -eq 7 ]
	[ "$(jq -s 'map(select(.source == "sg-eval")) | length' sentiment.jsonl.state.log)" -eq 21 ]
	jq -se 'map(select(.type == "reward" and .source == null)) | length == 35' sentiment.jsonl.state.log
	jq -e '.rewards == 56' sentiment.jsonl.state
	jq -e '.utility > 0.6 and .utility < 1 and .overlap.exact_texts < 5' eval.json
}
