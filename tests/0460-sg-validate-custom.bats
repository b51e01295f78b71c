#!/usr/bin/env bats
# sg-validate's custom check: a command from an argv, no shell, answering
# one line per sample; its answer is the check; a command that cannot run
# or stops answering fails the check with why, and the rest goes on.

load helpers


@test "the command's answer is the check, under its name" {
	jq -nc --arg c "$FIXTURES/check-nodigit.sh" '{domain: "d", num_samples: 1,
		validators: {custom: {command: [$c], name: "nodigit"}}}' >r.json
	texts "abc" "a1 b2" "no digits; * and \$HOME stay as they are" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.nodigit, .valid]' <<<"$output")" \
'[{"pass":true,"score":1},true]
[{"pass":false,"why":"has a digit","score":0},false]
[{"pass":true,"score":1},true]'
}

@test "a command that cannot run, or answers badly, fails the check" {
	jq -nc '{domain: "d", num_samples: 1,
		validators: {custom: {command: ["./none"]}}}' >r.json
	texts "a" "b" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '.checks.custom' <<<"$output")" \
'{"pass":false,"why":"cannot run \"./none\": No such file or directory"}
{"pass":false,"why":"cannot run \"./none\": No such file or directory"}'
	assert_equal "$stderr" 'sg-validate: custom check "custom": cannot run "./none": No such file or directory'
	jq -nc '{domain: "d", num_samples: 1,
		validators: {custom: {command: "sed -u s/.*/yes/"}}}' >r.json
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '.checks.custom' <<<"$output")" \
'{"pass":false,"why":"\"sed\" answered no object with a boolean \"pass\""}
{"pass":false,"why":"\"sed\" answered no object with a boolean \"pass\""}'
	assert_equal "$stderr" 'sg-validate: custom check "custom": "sed" answered no object with a boolean "pass"'
}

@test "the command is given the whole sample, fields no other check reads too" {
	# a job's custom check makes sg-validate read every sample whole
	{
		jq -nc '{type: "job", run: "t", batch: 0, n: 2, recipe: {
			validators: {custom: {command: ["jq", "--unbuffered",
				"-c", "{pass: (.meta.k == 1)}"], name: "meta"}}}}'
		echo '{"type":"sample","id":"t:0:0","run":"t","batch":0,"data":"a","meta":{"k":1}}'
		echo '{"type":"sample","id":"t:0:1","run":"t","batch":0,"data":"b","meta":{"k":2}}'
	} >in.jsonl
	run --separate-stderr sg-validate in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c 'select(.type == "sample") | [.checks.meta, .valid]' <<<"$output")" \
'[{"pass":true},true]
[{"pass":false},false]'
}
