#!/usr/bin/env bats
# sg-report: the HTML page of a run, its plots as the browser draws them,
# and the terminal summary.

load helpers

# A finished run of the reviews example with two sg-eval rounds fed back.
setup_file() {
	cd "$BATS_FILE_TMPDIR" || return 1
	PATH=$SG_BIN:$PATH
	sg-run --seed 3 -o r.jsonl "$EXAMPLES/reviews/reviews.yaml" 2>/dev/null
	printf '%s\n' 'positive	great sound, love them' 'negative	awful, they broke' \
		'positive	excellent battery' 'negative	the fit is terrible' > test.tsv
	for i in 1 2; do
		sg-eval -R -T test.tsv r.jsonl 2>/dev/null |
			sg-update -s r.jsonl.state -l r.jsonl.state.log >> evals.jsonl
	done
}

setup() {
	PATH=$SG_BIN:$PATH
	export NO_COLOR=1
	cd "$BATS_FILE_TMPDIR" || return 1
}

@test "the page has every plot and the run's figures; the summary goes to stderr" {
	run --separate-stderr sg-report -e evals.jsonl -o report.html r.jsonl.state
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(grep -o '<svg class="chart"' report.html | wc -l)" -eq 6 ]
	grep -q '<h1>sg run headphone_reviews</h1>' report.html
	grep -q 'Evaluation on real data' report.html
	grep -q 'templater_balanced (eval)' report.html
	! grep -q 'Tokens and cost' report.html
	[[ "$stderr" == "sg-report: run headphone_reviews: "*" batches, 40 accepted, "* ]]
	[[ "$stderr" == *"eval reward "*" (2)"* ]]
	[[ "$stderr" == *"sg-report: real data: accuracy "* ]]
	[[ "$stderr" == *"sg-report: wrote report.html" ]]
	# without -o the page goes to standard output
	sg-report -e evals.jsonl r.jsonl.state 2>/dev/null | cmp - report.html
}

@test "tokens and cost are plotted when the records carry them" {
	jq -c 'if .type == "reward" and .source == null then . + {usage: {prompt_tokens: 100, completion_tokens: 20}, cost: 0.01} else . end' \
		r.jsonl.state.log > llm.log
	run --separate-stderr sg-report -l llm.log -o llm.html r.jsonl.state
	[ "$status" -eq 0 ]
	grep -q 'Tokens and cost' llm.html
	[ "$(grep -o '<svg class="chart"' llm.html | wc -l)" -eq 7 ]
}

@test "headless Chromium draws every plot with no console error" {
	command -v chromium >/dev/null && command -v node >/dev/null ||
		skip "chromium and node are not installed (tests/deps.sh installs them as root)"
	sg-report -e evals.jsonl -o report.html r.jsonl.state 2>/dev/null
	run --separate-stderr node "$FIXTURES/render-check.js" report.html
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -c .)" = '{"charts":6,"drawn":6,"errors":[]}' ]
	# the checker itself sees undrawn plots and errors
	echo '<svg class="chart"><rect class="series"/></svg><script>nosuch()</script>' > bad.html
	run --separate-stderr node "$FIXTURES/render-check.js" bad.html
	echo "$output" | jq -e '.drawn == 0 and (.errors[0] | startswith("ReferenceError"))'
}

@test "a bad log line is reported by position; a missing state is a config error" {
	{ head -n 2 r.jsonl.state.log; echo 'not json'; tail -n +3 r.jsonl.state.log; } > bad.log
	run --separate-stderr sg-report -l bad.log -o bad.html r.jsonl.state
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sg-report: bad.log:3: "* ]]
	[ -s bad.html ]
	run --separate-stderr sg-report nosuch.state
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-report: cannot use state 'nosuch.state': No such file or directory" ]
	run --separate-stderr sg-report
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: sg-report "* ]]
}
