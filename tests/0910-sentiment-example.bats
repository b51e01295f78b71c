#!/usr/bin/env bats
# The sentiment example: a dev set steers the router, the held-out test
# set measures the utility its offline arms reach.

load helpers

setup_file() {
	make -s -C "$BATS_TEST_DIRNAME/.." data >&2
}

@test "the dev set steers the router and the utility is measured on sentences it never saw" {
	run --separate-stderr make -s -C "$EXAMPLES/sentiment" demo OUT="$BATS_TEST_TMPDIR/out" \
		SG_BIN="$SG_BIN" DATA="$BATS_TEST_DIRNAME/../build/data/sentiment"
	[ "$status" -eq 0 ]
	[[ "$output" == *"sg-run: evaluation after iteration 5: accuracy 0."*"amazon-dev.tsv' (majority 0.520)"* ]]
	[[ "$output" == *"sg-run: 300/300 accepted in '$BATS_TEST_TMPDIR/out/sentiment.jsonl' after "* ]]
	[[ "$stderr" == *"sg-eval: trained on 300 synthetic examples, tested on 500 real ones"*"utility 0."* ]]
	[[ "$stderr" != *"is the dev set the router"* ]]
	[[ "$stderr" == *"sg-report: wrote $BATS_TEST_TMPDIR/out/report.html"* ]]
	cd out
	[ "$(wc -l < sentiment.jsonl)" -eq 300 ]
	# one evaluation on the dev set per five batches, and one at the end
	steps=$(jq .steps sentiment.jsonl.state)
	evals=$(wc -l < sentiment.jsonl.state.evals)
	[ "$evals" -eq $(((steps + 4) / 5)) ]
	[ "$(jq -r .batch sentiment.jsonl.state.evals | head -n 1)" -eq 4 ]
	[ "$(jq -r .batch sentiment.jsonl.state.evals | tail -n 1)" -eq $((steps - 1)) ]
	# one reward a batch, sg-score's, with its dev part once both labels
	# are in
	jq -se --argjson n "$steps" 'map(select(.type == "reward")) | length == $n
		and all(.source == null) and (map(select(.parts.dev != null)) | length) >= $n - 3' \
		sentiment.jsonl.state.log
	jq -e --argjson n "$steps" '.rewards == $n' sentiment.jsonl.state
	jq -e '.utility > 0.6 and .utility < 1 and .overlap.exact_texts < 5 and .test_is_dev == false' eval.json
	grep -q 'Evaluation on real data' report.html
}
