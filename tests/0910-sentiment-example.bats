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
	[[ "$output" == *"after batch "*": templater_"* ]]
	[[ "$stderr" == *"sg-eval: trained on 300 synthetic examples, tested on 500 real ones"*"utility 0."* ]]
	[[ "$stderr" == *"sg-report: wrote $BATS_TEST_TMPDIR/out/report.html"* ]]
	cd out
	[ "$(wc -l < sentiment.jsonl)" -eq 300 ]
	# one evaluation per round of five batches, a reward per arm with
	# samples in each, logged beside sg-score's one per batch
	steps=$(jq .steps sentiment.jsonl.state)
	evals=$(wc -l < evals.jsonl)
	[ "$evals" -eq $(((steps + 4) / 5)) ]
	[ "$(jq -r .batch evals.jsonl | head -n 1)" -eq 4 ]
	[ "$(jq -r .batch evals.jsonl | tail -n 1)" -eq $((steps - 1)) ]
	erew=$(jq -s 'map(select(.source == "sg-eval")) | length' sentiment.jsonl.state.log)
	[ "$erew" -eq "$(jq -s 'map(.arms | length) | add' evals.jsonl)" ]
	jq -se --argjson n "$steps" 'map(select(.type == "reward" and .source == null)) | length == $n' sentiment.jsonl.state.log
	jq -e --argjson n $((steps + erew)) '.rewards == $n' sentiment.jsonl.state
	jq -e '.utility > 0.6 and .utility < 1 and .overlap.exact_texts < 5' eval.json
	grep -q 'Evaluation on real data' report.html
}
