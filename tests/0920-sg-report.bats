#!/usr/bin/env bats
# sg-report: the HTML page of a run, its plots as the browser draws them
# at 400 and 1280 pixels, the arms' points and gaps, the smoothed lines of
# a long run, the evaluation against its majority class and ceiling, an
# LLM run's tokens and cost from its batch records, and the summary.

load helpers
load llm-helpers

# A finished run of the reviews example with two sg-eval rounds fed back.
setup_file() {
	cd "$BATS_FILE_TMPDIR" || return 1
	PATH=$SG_BIN:$PATH
	sg-run --seed 3 -o r.jsonl "$EXAMPLES/reviews/reviews.yaml" 2>/dev/null
	printf '%s\n' 'positive	great sound, love them' 'negative	awful, they broke' \
		'positive	excellent battery' 'negative	the fit is terrible' > test.tsv
	printf '%s\n' 'positive	love the sound' 'negative	they broke in a week' \
		'positive	great battery, excellent fit' 'negative	terrible, awful fit' > train.tsv
	for i in 1 2; do
		sg-eval -R -L train.tsv -T test.tsv r.jsonl 2>/dev/null |
			sg-update -s r.jsonl.state -l r.jsonl.state.log >> evals.jsonl
	done
}

setup() {
	PATH=$SG_BIN:$PATH
	export NO_COLOR=1
	unset OPENAI_API_KEY OPENAI_BASE_URL SG_LLM
	export SG_LEXICON=${SG_LEXICON:-$BATS_TEST_DIRNAME/../build/lexicon/toxicity.tsv}
	cd "$BATS_FILE_TMPDIR" || return 1
}

# chart TITLE FILE: the <svg> of the chart titled TITLE (one line each).
chart() {
	grep -F "<title>$1</title>" "$2"
}

# color ARM FILE: the colour of ARM's swatch in the page's arm table.
color() {
	sed 's/<wbr>//g' "$2" | grep -o "background:#[0-9a-f]*\"></span>$1<" |
		head -n 1 | sed 's/background:\(#[0-9a-f]*\).*/\1/'
}

# log LINES: a log of reward records, one a line "BATCH ARM REWARD", each
# after its job; run r.
log() {
	while read -r b arm reward; do
		jq -nc --argjson b "$b" --arg a "$arm" \
			'{type: "job", run: "r", batch: $b, arm: $a}'
		jq -nc --argjson b "$b" --arg a "$arm" --argjson r "$reward" \
			'{type: "reward", run: "r", batch: $b, arm: $a, reward: $r,
			  pass_rate: 1, mean_quality: 1, diversity: 0.5}'
	done
}

# render_ok FILE: in headless Chromium at 400 and 1280 pixels, every chart
# and bar of FILE drawn, nothing wider than the window, no error; nothing
# is checked without chromium and node (the test of report.html skips).
render_ok() {
	command -v chromium >/dev/null && command -v node >/dev/null || return 0
	for w in 400 1280; do
		run --separate-stderr node "$FIXTURES/render-check.js" "$1" "$w"
		echo "$1 at $w: $output $stderr" >&2
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		echo "$output" | jq -e '.charts > 0 and .drawn == .charts and
			.shown == .bars and .overflow == [] and .errors == []'
	done
}

# points D: the "x,y" points of an SVG path's d, one a line, a break as "M".
points() {
	tr ' ' '\n' <<<"$1" | sed 's/^M\(.\)/M\n\1/'
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
	# sg-score's and sg-eval's rewards in their own columns: the mean
	# and count of each arm's, as the log has them
	for arm in $(jq -r '.arms | keys[]' r.jsonl.state); do
		want=$(jq -rs --arg a "$arm" 'map(select(.type == "reward" and .arm == $a)) |
			(map(select(.source == null) | .reward), map(select(.source == "sg-eval") | .reward)) |
			"<td>\(add / length * 1000 | round / 1000 | tostring | . + "000" | .[0:5]) (\(length))</td>"' \
			r.jsonl.state.log | tr -d '\n')
		sed 's/<wbr>//g' report.html | grep -qF "$arm</td><td>$(jq --arg a "$arm" '.arms[$a].pulls' r.jsonl.state)</td>$want"
	done
	[[ "$stderr" == "sg-report: run headphone_reviews: "*" batches, 40 accepted, "* ]]
	[[ "$stderr" == *"eval reward "*" (2)"* ]]
	[[ "$stderr" == *"sg-report: real data: accuracy "* ]]
	[[ "$stderr" == *"sg-report: wrote report.html" ]]
	# without -o the page goes to standard output
	sg-report -e evals.jsonl r.jsonl.state 2>/dev/null | cmp - report.html
}

@test "an LLM run: tokens and cost so far from its batch records, as the state adds them up" {
	server
	run --separate-stderr sg-run --seed 3 -o llm.jsonl "$EXAMPLES/llm/reviews-llm.yaml"
	[ "$status" -eq 0 ]
	run --separate-stderr sg-report -o llm.html llm.jsonl.state
	[ "$status" -eq 0 ]
	read -r prompt completion cost < <(jq -r '.usage | "\(.prompt_tokens) \(.completion_tokens) \(.cost)"' llm.jsonl.state)
	[ "$prompt" -gt 0 ]
	[[ "$stderr" == *"sg-report: tokens: $prompt prompt, $completion completion; cost \$$cost"* ]]
	# tokens and cost charts beside the five
	[ "$(grep -o '<svg class="chart"' llm.html | wc -l)" -eq 7 ]
	batches=$(jq -s 'map(select(.type == "batch")) | length' llm.jsonl.state.log)
	spent=$(jq -s 'map(select(.type == "batch" and .prompt_tokens != null)) | length' llm.jsonl.state.log)
	grep -qF "<p>$prompt prompt and $completion completion tokens in $spent of $batches batches" llm.html
	# each arm's tokens as its batch records count them
	while read -r arm p c; do
		sed 's/<wbr>//g' llm.html | grep -qF "$arm</td><td>$p</td><td>$c</td>"
	done < <(jq -rs 'map(select(.type == "batch" and .prompt_tokens != null)) | group_by(.arm)[] |
		"\(.[0].arm) \(map(.prompt_tokens) | add) \(map(.completion_tokens) | add)"' llm.jsonl.state.log)
	# the line of all tokens climbs once per batch that spent any
	d=$(chart 'Tokens so far' llm.html | grep -o 'stroke="#7f7f7f" d="[^"]*"' | sed 's/.*d="//; s/"$//')
	[ "$(points "$d" | grep -c ,)" -eq "$batches" ]
	[ "$(points "$d" | cut -d, -f2 | uniq | wc -l)" -eq $((spent + 1)) ]
	# its tables fit a narrow window
	render_ok llm.html
}

@test "an arm's rewards are joined only over batches it made one after another" {
	log >alt.log <<'E'
0 alpha 0.2
1 alpha 0.4
2 alpha 0.6
3 beta 0.5
4 alpha 0.8
5 beta 0.3
E
	run --separate-stderr sg-report -l alt.log -o alt.html r.jsonl.state
	[ "$status" -eq 0 ]
	svg=$(chart 'Reward per arm' alt.html)
	a=$(color alpha alt.html) b=$(color beta alt.html)
	# alpha: one path through batches 0-2 and a dot at 4; beta: two dots
	[ "$(grep -o "stroke=\"$a\" d=\"[^\"]*\"" <<<"$svg" | wc -l)" -eq 1 ]
	d=$(grep -o "stroke=\"$a\" d=\"[^\"]*\"" <<<"$svg" | sed 's/.*d="//; s/"$//')
	[ "$(points "$d" | grep -c ,)" -eq 3 ]
	[ "$(grep -o "<circle class=\"series\"[^>]*fill=\"$a\"" <<<"$svg" | wc -l)" -eq 1 ]
	[ "$(grep -c "stroke=\"$b\" d=" <<<"$svg")" -eq 0 ]
	[ "$(grep -o "<circle class=\"series\"[^>]*fill=\"$b\"" <<<"$svg" | wc -l)" -eq 2 ]
	! grep -q faint <<<"$svg"
	[[ "$(sed 's/<wbr>//g' alt.html)" == *'alpha</td><td>4</td><td>0.500 (4)</td><td>&ndash;</td>'* ]]
}

@test "a long run: each batch a pale dot, each arm's line the mean of its last rewards" {
	# 60 batches of alpha, its rewards 0.2 and 0.8 in turn, then beta
	for b in $(seq 0 59); do echo "$b alpha 0.$((b % 2 ? 8 : 2))"; done | log >long.log
	echo '60 beta 0.5' | log >>long.log
	run --separate-stderr sg-report -l long.log -o long.html r.jsonl.state
	[ "$status" -eq 0 ]
	svg=$(chart 'Reward per arm' long.html)
	a=$(color alpha long.html)
	[ "$(grep -o "<circle class=\"series faint\"[^>]*fill=\"$a\"" <<<"$svg" | wc -l)" -eq 60 ]
	grep -q 'the mean of an arm.s last 5, broken where' long.html
	# from its fifth point on, the mean of five is 0.44 or 0.56: y from
	# 28 + 180 * (1 - 0.56) to 28 + 180 * (1 - 0.44)
	d=$(grep -o "stroke=\"$a\" d=\"[^\"]*\"" <<<"$svg" | sed 's/.*d="//; s/"$//')
	[ "$(points "$d" | grep -c ,)" -eq 60 ]
	points "$d" | grep , | tail -n +5 | cut -d, -f2 |
		awk '$1 < 107 || $1 > 129 { bad++ } END { exit bad > 0 }'
	# the batch charts are smoothed too
	chart 'Pass rate and quality per batch' long.html | grep -q faint
	render_ok long.html
}

@test "each arm keeps its colour whatever the order of the state's arms" {
	sg-report -o one.html r.jsonl.state 2>/dev/null
	jq '.arms |= (to_entries | reverse | from_entries)' r.jsonl.state >rev.state
	cp r.jsonl.state.log rev.state.log
	sg-report -d r.jsonl -o two.html rev.state 2>/dev/null
	[ "$(jq -r '.arms | keys_unsorted[0]' rev.state)" != "$(jq -r '.arms | keys_unsorted[0]' r.jsonl.state)" ]
	for arm in $(jq -r '.arms | keys[]' r.jsonl.state); do
		[ -n "$(color "$arm" one.html)" ]
		assert_equal "$(color "$arm" two.html)" "$(color "$arm" one.html)"
	done
	# and the arms of one report have colours of their own
	[ "$(for arm in $(jq -r '.arms | keys[]' r.jsonl.state); do color "$arm" one.html; done | sort -u | wc -l)" -eq 3 ]
}

@test "the evaluation chart: accuracy and macro-F1 against the majority class and the real-trained ceiling" {
	sg-report -e evals.jsonl -o report.html r.jsonl.state 2>/dev/null
	svg=$(chart 'Evaluations over the run' report.html)
	read -r majority ceiling < <(tail -n 1 evals.jsonl | jq -r '"\(.majority) \(.ceiling)"')
	for v in "$majority" "$ceiling"; do
		y=$(awk -v v="$v" 'BEGIN { printf "%.1f", 28 + 180 * (1 - v) }')
		grep -q "class=\"series rule\" x1=\"48\" x2=\"508\" y1=\"$y\" y2=\"$y\"" <<<"$svg"
	done
	grep -q '>majority class<' <<<"$svg"
	grep -q '>real-trained ceiling<' <<<"$svg"
	grep -q '>mean probability of the truth<' <<<"$svg"
}

@test "headless Chromium at 400 and 1280 pixels: every plot and bar drawn, nothing wider than the window" {
	command -v chromium >/dev/null && command -v node >/dev/null ||
		skip "chromium and node are not installed (tests/deps.sh installs them as root)"
	sg-report -e evals.jsonl -o report.html r.jsonl.state 2>/dev/null
	bars=$(grep -o '<rect class="series bar"' report.html | wc -l)
	[ "$bars" -gt 0 ]
	for w in 400 1280; do
		run --separate-stderr node "$FIXTURES/render-check.js" report.html "$w"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		assert_equal "$(echo "$output" | jq -c .)" "{\"width\":$w,\"charts\":6,\"drawn\":6,\"bars\":$bars,\"shown\":$bars,\"overflow\":[],\"errors\":[]}"
	done
	# the checker itself sees undrawn plots, errors, and a chart of fixed
	# width wider than the window
	echo '<svg class="chart"><rect class="series"/></svg><script>nosuch()</script>' > bad.html
	run --separate-stderr node "$FIXTURES/render-check.js" bad.html
	echo "$output" | jq -e '.drawn == 0 and (.errors[0] | startswith("ReferenceError"))'
	echo '<svg class="chart" width="640" height="300"><rect class="series bar" width="9" height="0.2"/></svg>' > wide.html
	run --separate-stderr node "$FIXTURES/render-check.js" wide.html 400
	echo "$output" | jq -e '(.overflow | length) == 2 and .overflow[1] == "chart 0" and .bars == 1 and .shown == 0'
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
