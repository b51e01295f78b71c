#!/usr/bin/env bats
# sg-validate's PII check: precision, recall and F2 per entity type on a
# labelled set with known spans, the checksums held against python3-stdnum,
# the three modes, spans in code points, entity and threshold settings,
# context words, and the recipe's settings refused when wrong.

load helpers

# recipe PII: a recipe file r.json with validators.pii set to PII.
recipe() {
	jq -nc --argjson p "$1" \
		'{domain: "d", num_samples: 1, validators: {pii: $p}}' >r.json
}


@test "labelled set: precision, recall and F2 of every entity type at least 0.95" {
	/usr/bin/python3 "$FIXTURES/pii-set.py" 11 2000 in.jsonl truth.jsonl
	recipe '{"mode": "flag"}'
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "$output" >out.jsonl
	run --separate-stderr /usr/bin/python3 "$FIXTURES/pii-score.py" truth.jsonl out.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	echo "$output" >&2
	[ "$(wc -l <<<"$output")" -eq 8 ]
	# every type: P, R and F2 (columns 2 to 4) at least 0.95
	awk '$2 < 0.95 || $3 < 0.95 || $4 < 0.95 { bad = 1 } END { exit bad }' <<<"$output"
}

@test "checksums agree with python3-stdnum: Luhn, IBAN mod-97, ABA, SSN rules" {
	/usr/bin/python3 "$FIXTURES/pii-stdnum.py" 5 400 >in.jsonl
	recipe '{"mode": "flag"}'
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# the id says what stdnum said; a found span must say the same
	run jq -r 'select((.id | split(":")[1] == "1") != (.checks.pii.spans | length == 1)) | .id' <<<"$output"
	[ "$status" -eq 0 ]
	assert_equal "$output" ""
	# both answers occur for every kind
	run jq -r '.id | split(":")[0:2] | join(":")' in.jsonl
	assert_equal "$(sort -u <<<"$output" | tr '\n' ' ')" "iban:0 iban:1 luhn:0 luhn:1 rtn:0 rtn:1 ssn:0 ssn:1 "
}

@test "reject is the default: the check fails and names the types" {
	recipe '{}'
	texts "mail bob@example.com or call (415) 555-2671" "nothing here" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.pii, .valid]' <<<"$output")" \
'[{"pass":false,"why":"2 spans of personal data (email, phone)","spans":[{"type":"email","start":5,"end":20,"score":1},{"type":"phone","start":29,"end":43,"score":1}]},false]
[{"pass":true,"spans":[]},true]'
}

@test "flag passes with the spans; redact rewrites strings, offsets in code points" {
	recipe '{"mode": "flag"}'
	texts "é SSN 123-45-6789" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.data, .checks.pii, .valid]' <<<"$output")" \
		'["é SSN 123-45-6789",{"pass":true,"spans":[{"type":"ssn","start":6,"end":17,"score":1}]},true]'
	recipe '{"mode": "redact"}'
	{
		texts "é SSN 123-45-6789"
		jq -nc '{type: "sample", id: "t:0:1", run: "t", batch: 0,
			data: {q: "ip?", a: ["server 10.1.2.3", 7]}}'
	} >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.data, .checks.pii, .valid]' <<<"$output")" \
'["é SSN [SSN]",{"pass":true,"redacted":true,"spans":[{"type":"ssn","start":6,"end":17,"score":1}]},true]
[{"q":"ip?","a":["server [IP]",7]},{"pass":true,"redacted":true,"spans":[{"type":"ip","start":11,"end":19,"score":0.95}]},true]'
}

@test "context words raise the score: a bare routing number needs one" {
	recipe '{"mode": "flag", "threshold": 0.5}'
	texts "see 021000021 above" "routing 021000021 above" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '.checks.pii.spans' <<<"$output")" '[]
[{"type":"routing","start":8,"end":17,"score":0.65}]'
	recipe '{"mode": "flag", "threshold": 0.7}'
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '.checks.pii.spans' <<<"$output")" '[]
[]'
}

@test "look-alikes are not found: dates, versions, wrong check digits, unissued SSNs" {
	recipe '{}'
	texts "on 2024-03-15 at 10:30:00" "version 10.2.3.4.5 and 1.2.3" \
		"card 4111 1111 1111 1112" "SSN 666-12-3456 or 900-12-3456" \
		"IBAN GB82 WEST 1234 5698 7654 33" "ip 256.1.1.1" "a@b.c" \
		"mail report@2x.png, icon@1.5x.PNG and logo@dark.svg" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '.checks.pii' <<<"$output" | sort -u)" '{"pass":true,"spans":[]}'
}

@test "keys are scanned too: flagged with \"key\": true, redacted, kept apart when they meet" {
	recipe '{"mode": "flag"}'
	jq -nc '{type: "sample", id: "t:0:0", run: "t", batch: 0,
		data: {"bob@example.com": "x", "é": {"call (415) 555-2671": "mail carol@example.org"},
			"alice@example.com": [1, {"[EMAIL]": "ip 10.1.2.3"}]}}' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# keys: "bob@example.com é call (415) 555-2671 alice@example.com [EMAIL]",
	# strings: "x mail carol@example.org ip 10.1.2.3"
	assert_equal "$(jq -c '.checks.pii' <<<"$output")" '{"pass":true,"spans":[{"type":"email","start":0,"end":15,"score":0.95,"key":true},{"type":"phone","start":23,"end":37,"score":1,"key":true},{"type":"email","start":7,"end":24,"score":1},{"type":"email","start":38,"end":55,"score":0.95,"key":true},{"type":"ip","start":28,"end":36,"score":0.95}]}'
	recipe '{"mode": "redact"}'
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# the order of keys kept; the second "[EMAIL]" of the object renamed
	assert_equal "$(jq -c '[.data, .checks.pii.redacted]' <<<"$output")" \
		'[{"[EMAIL]":"x","é":{"call [PHONE]":"mail [EMAIL]"},"[EMAIL] (2)":[1,{"[EMAIL]":"ip [IP]"}]},true]'
	recipe '{}'
	jq -nc '{type: "sample", id: "t:0:0", run: "t", batch: 0, data: {"bob@example.com": "x"}}' >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '[.checks.pii.why, .valid]' <<<"$output")" '["1 span of personal data (email)",false]'
}

@test "a '(' or '+' after a digit and '.' or '-' does not stop the scan" {
	# it stood still at the "(" of "8.(555)" and never ended
	recipe '{"mode": "flag"}'
	texts "v8.(555) mail jo.doe@example.com" "8-+1 mail jo.doe@example.com" >in.jsonl
	run --separate-stderr timeout 10 sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.pii.spans[] | .type]' <<<"$output")" '["email"]
["email"]'
}

@test "a run of more than 12 groups of digits is read within its bounds" {
	# the 13th group's separator went past the end of the groups' array
	recipe '{"mode": "flag"}'
	texts "1 2 3 4 5 6 7 8 9 10 11 12 13 14 mail jo.doe@example.com" \
		"(555) 1-2-3-4-5-6-7-8-9-10-11-12-13 mail jo.doe@example.com" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.pii.spans[] | .type]' <<<"$output")" '["email"]
["email"]'
}

@test "entities limits the types looked for; enabled false turns the check off" {
	recipe '{"entities": ["email"]}'
	texts "bob@example.com (415) 555-2671" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '.checks.pii.spans | map(.type)' <<<"$output")" '["email"]'
	recipe '{"enabled": false}'
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '.checks | keys' <<<"$output")" '["generate"]'
}

@test "a bad mode or entity type in the recipe is refused with its place" {
	recipe '{"mode": "mask"}'
	run --separate-stderr sg-validate -r r.json /dev/null
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" 'sg-validate: r.json:1:59: "validators.pii.mode" must be flag, redact or reject'
	recipe '{"entities": ["email", "passport"]}'
	run --separate-stderr sg-validate -r r.json /dev/null
	[ "$status" -eq 3 ]
	[[ "$stderr" == *'"validators.pii.entities" has an unknown entity type; known: email, phone, card, iban, ssn, ip, routing' ]]
}
