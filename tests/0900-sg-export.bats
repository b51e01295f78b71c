#!/usr/bin/env bats
# sg-export: samples as OpenAI chat, Alpaca and ShareGPT fine-tuning data.

load helpers

samples() {
	cat <<'J'
{"type":"job","run":"r","n":5}
{"type":"sample","id":"r:0:0","data":{"text":"Great fins.","label":"positive"},"pass":true}
{"type":"sample","id":"r:0:1","data":{"instruction":"Sum","input":"2 and 3","output":"5"}}
{"type":"sample","id":"r:0:2","data":{"question":"Hours?","answer":"Nine to five."}}
{"type":"sample","id":"r:0:3","data":"A plain answer."}
{"type":"sample","id":"r:0:4","error":"HTTP 500"}
{"type":"sample","id":"r:0:5","data":{"text":"Meh."},"pass":false}
{"type":"sample","id":"r:0:6","data":{"text":"Dup.","label":"neutral"},"reject":"duplicate"}
{"type":"batch","run":"r","batch":0}
J
}

@test "openai: messages with a system prompt; unusable samples left out" {
	run --separate-stderr sg-export -v -s 'Be brief.' -p 'Say something.' <(samples)
	[ "$status" -eq 0 ]
	assert_equal "$stderr" 'sg-export: 4 samples written, 3 not usable'
	assert_equal "$output" '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Great fins."},{"role":"assistant","content":"positive"}]}
{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Sum\n\n2 and 3"},{"role":"assistant","content":"5"}]}
{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hours?"},{"role":"assistant","content":"Nine to five."}]}
{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say something."},{"role":"assistant","content":"A plain answer."}]}'
}

@test "alpaca and sharegpt" {
	run --separate-stderr sg-export -f alpaca -p 'Say something.' <(samples)
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | sed -n '1p;2p')" '{"instruction":"Great fins.","input":"","output":"positive"}
{"instruction":"Sum","input":"2 and 3","output":"5"}'
	run --separate-stderr sg-export --format sharegpt -p 'Say something.' <(samples)
	[ "$status" -eq 0 ]
	assert_equal "$(echo "$output" | sed -n 2p)" '{"conversations":[{"from":"human","value":"Sum\n\n2 and 3"},{"from":"gpt","value":"5"}]}'
}

@test "a sample without an instruction and answer is reported, the rest still written" {
	run --separate-stderr sg-export <(samples)
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-export: /dev/fd/63:5: sample "r:0:3": no instruction and answer in its data (see sg-export(1))'
	[ "$(echo "$output" | wc -l)" -eq 3 ]
	run --separate-stderr sg-export -f xml /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: sg-export"* ]]
}

@test "the accepted samples of a run export line for line" {
	run --separate-stderr sg-run --seed 2 -o r.jsonl "$EXAMPLES/reviews/reviews.yaml"
	[ "$status" -eq 0 ]
	run --separate-stderr sg-export -f alpaca r.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | wc -l)" -eq "$(wc -l <r.jsonl)" ]
	assert_equal "$(echo "$output" | jq -r .output | sort -u | tr '\n' ' ')" 'negative positive '
}
