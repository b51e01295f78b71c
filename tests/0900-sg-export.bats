#!/usr/bin/env bats
# sg-export: samples as OpenAI chat, Alpaca and ShareGPT fine-tuning data;
# the fields that ask and answer found by name or chosen by path; blank
# turns refused line by line; every example's run exported.

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
	assert_equal "$stderr" 'sg-export: 4 samples written, 3 not usable, 0 refused'
	# -p asks where the data has no instruction of its own: before the
	# text, or before nothing when the data is the answer
	assert_equal "$output" '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say something.\n\nGreat fins."},{"role":"assistant","content":"positive"}]}
{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Sum\n\n2 and 3"},{"role":"assistant","content":"5"}]}
{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hours?"},{"role":"assistant","content":"Nine to five."}]}
{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say something."},{"role":"assistant","content":"A plain answer."}]}'
}

@test "alpaca and sharegpt" {
	run --separate-stderr sg-export -f alpaca -p 'Say something.' <(samples)
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | sed -n '1p;2p')" '{"instruction":"Say something.","input":"Great fins.","output":"positive"}
{"instruction":"Sum","input":"2 and 3","output":"5"}'
	run --separate-stderr sg-export --format sharegpt -p 'Say something.' <(samples)
	[ "$status" -eq 0 ]
	assert_equal "$(echo "$output" | sed -n 2p)" '{"conversations":[{"from":"human","value":"Sum\n\n2 and 3"},{"from":"gpt","value":"5"}]}'
}

@test "a sample without an instruction and answer is reported and counted, the rest still written" {
	samples >in.jsonl
	run --separate-stderr sg-export in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-export: in.jsonl:5: sample "r:0:3": its data is a string, an answer: give the instruction with -p (see sg-export(1))
sg-export: 3 samples written, 3 not usable, 1 refused'
	[ "$(echo "$output" | wc -l)" -eq 3 ]
	# --strict stops there
	run --separate-stderr sg-export --strict in.jsonl
	[ "$status" -eq 1 ]
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

@test "--input and --output choose the fields, by name or by a jq-like path" {
	cat >in.jsonl <<'J'
{"type":"sample","id":"s:0:0","data":{"text":"My card was charged twice.","intent":"billing"}}
{"type":"sample","id":"s:0:1","data":{"msg":{"body":"Reset link expired."},"meta":{"labels":["login","urgent"]}}}
{"type":"sample","id":"s:0:2","data":{"msg":{"body":"Where is my parcel?"},"meta":{"labels":[{"intent":"shipping"}]}}}
{"type":"sample","id":"s:0:3","data":{"text":"Cancel it.","intent":"cancel"}}
J
	run --separate-stderr sg-export -f alpaca --output intent in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$output" '{"instruction":"My card was charged twice.","input":"","output":"billing"}
{"instruction":"Cancel it.","input":"","output":"cancel"}'
	assert_equal "$stderr" 'sg-export: in.jsonl:2: sample "s:0:1": no "intent" in its data (fields msg, meta)
sg-export: in.jsonl:3: sample "s:0:2": no "intent" in its data (fields msg, meta)
sg-export: 2 samples written, 0 not usable, 2 refused'
	# a path: the first label, or the last; a value that is not a
	# string is written as JSON
	run --separate-stderr sg-export -f alpaca --input .msg.body --output '.meta.labels[-1]' <(sed -n '2,3p' in.jsonl)
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '{"instruction":"Reset link expired.","input":"","output":"urgent"}
{"instruction":"Where is my parcel?","input":"","output":"{\"intent\":\"shipping\"}"}'
	# -p asks; what --input names follows it; quoted keys
	jq -c '.data |= {"the text": .text, "a.b": .intent}' <(sed -n 1p in.jsonl) >q.jsonl
	run --separate-stderr sg-export -p 'Name the intent.' --input '."the text"' --output '.["a.b"]' q.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '{"messages":[{"role":"user","content":"Name the intent.\n\nMy card was charged twice."},{"role":"assistant","content":"billing"}]}'
}

@test "a path that cannot be one is bad usage" {
	for p in 'a..b' 'a.' '.a[x]' '.["a]' '.a[1' '."a'; do
		run --separate-stderr sg-export --output "$p" /dev/null
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[[ "$stderr" == "sg-export: --output: bad path '$p': "*"
usage: sg-export"* ]]
	done
	run --separate-stderr sg-export --input 'a..b' /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == "sg-export: --input: bad path 'a..b': a key is empty"* ]]
	run --separate-stderr sg-export -p ' ' /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == "sg-export: -p: the instruction is blank"* ]]
}

@test "empty or blank turns are refused line by line, counted, and the rest written" {
	cat >in.jsonl <<'J'
{"type":"sample","id":"b:0:0","data":{"text":"Fine.","label":"positive"}}
{"type":"sample","id":"b:0:1","data":{"text":"Meh.","label":""}}
{"type":"sample","id":"b:0:2","data":{"text":" \t\n","label":"negative"}}
{"type":"sample","id":"b:0:3","data":""}
{"type":"sample","id":"b:0:4","data":{"question":"Why?","answer":"\u00a0\u200b\u3000"}}
{"type":"sample","id":"b:0:5","data":{"instruction":"Sum","input":"","output":"0"}}
{"type":"sample","id":"b:0:6","data":{"msg":"  ","label":"x"}}
J
	run --separate-stderr sg-export -p 'Reply.' in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-export: in.jsonl:2: sample "b:0:1": "label" is blank
sg-export: in.jsonl:3: sample "b:0:2": "text" is blank
sg-export: in.jsonl:4: sample "b:0:3": its data is blank
sg-export: in.jsonl:5: sample "b:0:4": "answer" is blank
sg-export: 3 samples written, 0 not usable, 4 refused'
	# an Alpaca sample's own input may be empty; -p asks where none does
	assert_equal "$(jq -c '.messages | map(.content)' <<<"$output")" '["Reply.\n\nFine.","positive"]
["Sum","0"]
["Reply.","x"]'
	run --separate-stderr sg-export --input msg in.jsonl
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'sg-export: in.jsonl:7: sample "b:0:6": "msg" is blank'* ]]
}

@test "every example's run exports, with the fields its data has" {
	for ex in reviews llm sentiment support faq; do
		cp -r "$EXAMPLES/$ex" "$ex"
	done
	sed -i 's/^num_samples: 300$/num_samples: 40/' sentiment/sentiment.yaml
	grep -q '^num_samples: 40$' sentiment/sentiment.yaml
	# examples/scale runs the reviews recipe
	grep -q '^RECIPE = ../reviews/reviews.yaml$' "$EXAMPLES/scale/Makefile"
	[ "$(ls "$EXAMPLES")" = "$(printf '%s\n' faq llm reviews scale sentiment support)" ]
	while read -r ex recipe flags; do
		(cd "$ex" && sg-run --seed 5 -o out.jsonl "$recipe" 2>/dev/null)
		run --separate-stderr sg-export -v $flags -f alpaca "$ex/out.jsonl"
		[ "$status" -eq 0 ]
		n=$(wc -l <"$ex/out.jsonl")
		[ "$n" -gt 0 ]
		assert_equal "$stderr" "sg-export: $n samples written, 0 not usable, 0 refused"
		[ "$(echo "$output" | jq -e 'select(.instruction != "" and .output != "")' | jq -s length)" -eq "$n" ]
	done <<'E'
reviews reviews.yaml
llm reviews-llm.yaml
sentiment sentiment.yaml
support support.yaml --output intent
faq faq.yaml -p Answer_a_library_member's_question.
E
}
