#!/usr/bin/env bats
# sg-validate: every check passing and failing with its exact record fields,
# code points against bytes, schema errors with pointers, dedup within a
# stream and across runs, the grammar's schema, passthrough, bad lines, and
# the schema validator held against python3-jsonschema.

load helpers

# job RECIPE [BATCH]: a routed job of run "t" carrying RECIPE.
job() {
	jq -nc --argjson r "$1" --argjson b "${2:-0}" \
		'{type: "job", run: "t", batch: $b, n: 1, recipe: $r}'
}

# sample INDEX DATA [BATCH]: a sample of run "t" with DATA.
sample() {
	jq -nc --argjson i "$1" --argjson d "$2" --argjson b "${3:-0}" \
		'{type: "sample", id: "t:\($b):\($i)", run: "t", batch: $b,
		  index: $i, data: $d}'
}

# end [BATCH]: the batch record.
end() {
	jq -nc --argjson b "${1:-0}" '{type: "batch", run: "t", batch: $b}'
}

# The id, checks and valid of every sample in $output, one line each.
verdicts() {
	jq -c 'select(.type == "sample") | [.id, .checks, .valid]' <<<"$output"
}

@test "--help matches the man page" {
	run --separate-stderr sg-validate --help
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(help_synopsis sg-validate)" "$(man_synopsis sg-validate)"
}

@test "generate: an error or no data fails, data passes; nothing configured adds nothing more" {
	{
		sample 0 '"text"'
		jq -nc '{type: "sample", id: "t:0:1", run: "t", batch: 0, error: "timeout"}'
		jq -nc '{type: "sample", id: "t:0:2", run: "t", batch: 0}'
		jq -nc '{type: "sample", id: "t:0:3", run: "t", batch: 0, data: null}'
	} >in.jsonl
	run --separate-stderr sg-validate in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts)" '["t:0:0",{"generate":{"pass":true}},true]
["t:0:1",{"generate":{"pass":false,"why":"timeout"}},false]
["t:0:2",{"generate":{"pass":false,"why":"no data"}},false]
["t:0:3",{"generate":{"pass":false,"why":"no data"}},false]'
}

@test "length counts code points, not bytes" {
	{
		job '{"constraints": {"min_length": 2, "max_length": 3}}'
		sample 0 '"héé"'
		sample 1 '"héé!"'
		sample 2 '"é"'
		sample 3 '{"a": "é", "b": 7, "c": ["é"]}'
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -c '[.[0], .[1].length, .[2]]')" '["t:0:0",{"pass":true},true]
["t:0:1",{"pass":false,"why":"4 characters, more than the maximum 3"},false]
["t:0:2",{"pass":false,"why":"1 character, fewer than the minimum 2"},false]
["t:0:3",{"pass":true},true]'
}

@test "length bounds come from validators.length, which can also turn the check off" {
	{
		job '{"validators": {"length": {"min": 5}}}' 0
		sample 0 '"abcd"' 0
		job '{"constraints": {"min_length": 5}, "validators": {"length": {"enabled": false}}}' 1
		sample 0 '"abcd"' 1
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts)" '["t:0:0",{"generate":{"pass":true},"length":{"pass":false,"why":"4 characters, fewer than the minimum 5"}},false]
["t:1:0",{"generate":{"pass":true}},true]'
}

@test "words: constraints, review_length_tokens and task_input.length give the bounds" {
	{
		job '{"constraints": {"min_words": 2, "max_words": 3}}' 0
		sample 0 '"one two"' 0
		sample 1 '"one two three four"' 0
		job '{"task_input": {"review_length_tokens": {"min": 3, "max": 9}}}' 1
		sample 0 '{"text": "one two", "label": "x"}' 1
		sample 1 '{"text": "one", "label": "x"}' 1
		job '{"task_input": {"length": {"min_words": 1, "max_words": 1}}}' 2
		sample 0 '"solo"' 2
		sample 1 '"not solo"' 2
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -c '[.[0], .[1].words]')" '["t:0:0",{"pass":true}]
["t:0:1",{"pass":false,"why":"4 words, more than the maximum 3"}]
["t:1:0",{"pass":true}]
["t:1:1",{"pass":false,"why":"2 words, fewer than the minimum 3"}]
["t:2:0",{"pass":true}]
["t:2:1",{"pass":false,"why":"2 words, more than the maximum 1"}]'
}

@test "words: Unicode letters, marks and digits, whatever the script; symbols and spaces part them" {
	{
		job '{"constraints": {"min_words": 100}}' 0
		sample 0 '"Ça coûte 10 €, n’est-ce pas ? 👍"'
		sample 1 '"Καλημέρα κόσμε — Привет, мир!"'
		# a no-break space, a combining accent, an em dash, a soft hyphen
		sample 2 '"один\u00a0два e\u0301te\u2014fin in\u00adside"'
		sample 3 '"東京 ٣٤ x²"'
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -r '.[1].words.why')" '6 words, fewer than the minimum 100
4 words, fewer than the minimum 100
5 words, fewer than the minimum 100
3 words, fewer than the minimum 100'
}

@test "validators.length with unit words bounds words; validators.json_schema.schema is a schema" {
	{
		job '{"validators": {"length": {"unit": "words", "min_length": 2, "max": 3}}}' 0
		sample 0 '"one"' 0
		sample 1 '"one two three four"' 0
		job '{"validators": {"json_schema": {"enabled": true, "schema": {"type": "string"}}}}' 1
		sample 0 '"x"' 1
		sample 1 '{"x": 1}' 1
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts)" '["t:0:0",{"generate":{"pass":true},"words":{"pass":false,"why":"1 word, fewer than the minimum 2"}},false]
["t:0:1",{"generate":{"pass":true},"words":{"pass":false,"why":"4 words, more than the maximum 3"}},false]
["t:1:0",{"generate":{"pass":true},"json_schema":{"pass":true}},true]
["t:1:1",{"generate":{"pass":true},"json_schema":{"pass":false,"why":"/: {\"x\":1} is not of type \"string\""}},false]'
}

@test "format: the pattern matches anywhere unless anchored, in the ECMA-262 dialect" {
	{
		job '{"constraints": {"pattern": "^[A-Z]\\w+ \\d{2,}"}}' 0
		sample 0 '"Order 123 shipped"' 0
		sample 1 '"order 123 shipped"' 0
		job '{"validators": {"format": {"pattern": "(?<n>\\u00e9t\\u00e9)|x+?y"}}}' 1
		sample 0 '"un été"' 1
		sample 1 '"un ete"' 1
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -c '[.[0], .[1].format]')" '["t:0:0",{"pass":true}]
["t:0:1",{"pass":false,"why":"does not match pattern \"^[A-Z]\\w+ \\d{2,}\""}]
["t:1:0",{"pass":true}]
["t:1:1",{"pass":false,"why":"does not match pattern \"(?<n>\\u00e9t\\u00e9)|x+?y\""}]'
}

@test "format: a pattern that does not compile is reported at the job and fails every sample" {
	{
		job '{"constraints": {"pattern": "a(?i)b"}}'
		sample 0 '"ab"'
		end
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-validate: <stdin>:1: job "recipe.constraints.pattern" pattern "a(?i)b": "(?i" is not ECMA-262 syntax at position 1'
	assert_equal "$(jq -c 'del(.recipe)' <<<"$output")" '{"type":"job","run":"t","batch":0,"n":1}
{"type":"sample","id":"t:0:0","run":"t","batch":0,"index":0,"data":"ab","checks":{"generate":{"pass":true},"format":{"pass":false,"why":"pattern \"a(?i)b\": \"(?i\" is not ECMA-262 syntax at position 1"}},"valid":false}
{"type":"batch","run":"t","batch":0}'
}

@test "format: a match stopped by PCRE2's limits fails that sample with the reason, and the run goes on" {
	a40=$(printf 'a%.0s' $(seq 40))
	{
		job '{"constraints": {"pattern": "^(a+)+$", "schema": {"not": {"pattern": "^(a+)+$"}}}}'
		sample 0 "\"${a40}b\""
		sample 1 '"aaa"'
		sample 2 '"b"'
		end
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# "not" cannot turn a match it could not decide into a pass
	assert_equal "$(verdicts)" '["t:0:0",{"generate":{"pass":true},"format":{"pass":false,"why":"cannot tell whether \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa... matches pattern \"^(a+)+$\": match limit exceeded"},"json_schema":{"pass":false,"why":"/: cannot tell whether \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa... matches pattern \"^(a+)+$\": match limit exceeded"}},false]
["t:0:1",{"generate":{"pass":true},"format":{"pass":true},"json_schema":{"pass":false,"why":"/: \"aaa\" matches the schema in not"}},false]
["t:0:2",{"generate":{"pass":true},"format":{"pass":false,"why":"does not match pattern \"^(a+)+$\""},"json_schema":{"pass":true}},false]'
}

@test "json_schema: the first error names the JSON pointer and the keyword" {
	schema='{"type": "object", "required": ["label", "rating"],
		"properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 5},
			"label": {"enum": ["positive", "negative"]},
			"review": {"type": "object", "properties": {"body": {"type": "string", "minLength": 10}}},
			"tags": {"items": {"pattern": "^#"}}},
		"additionalProperties": false}'
	{
		job "{\"constraints\": {\"schema\": $schema}}"
		sample 0 '{"label": "positive", "rating": 5}'
		sample 1 '{"label": "positive", "rating": 7}'
		sample 2 '{"rating": 3}'
		sample 3 '{"label": "meh", "rating": 3}'
		sample 4 '{"label": "negative", "rating": 2, "review": {"body": "short"}}'
		sample 5 '{"label": "negative", "rating": 2, "tags": ["#a", "b"]}'
		sample 6 '{"label": "negative", "rating": 2.5}'
		sample 7 '{"label": "negative", "rating": 2.0, "x/y": 1}'
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -r '.[1].json_schema | if .pass then "ok" else .why end')" 'ok
/rating: 7 is greater than maximum 5
/: missing required property "label"
/label: "meh" is not one of ["positive","negative"]
/review/body: length 5 is less than minLength 10
/tags/1: "b" does not match pattern "^#"
/rating: 2.5 is not of type "integer"
/: additional property "x/y" is not allowed'
}

@test "json_schema: a schema with \$ref or a keyword of the wrong type is refused" {
	{
		job '{"constraints": {"schema": {"properties": {"a": {"$ref": "#/$defs/a"}}}}}' 0
		sample 0 '{"a": 1}' 0
		job '{"constraints": {"schema": {"minimum": "3"}}}' 1
		sample 0 '5' 1
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-validate: <stdin>:1: job "recipe.constraints.schema" is unusable: /properties/a: "$ref" is not supported
sg-validate: <stdin>:3: job "recipe.constraints.schema" is unusable: /: "minimum" must be a number'
	assert_equal "$(verdicts | jq -c '[.[0], .[1].json_schema]')" '["t:0:0",{"pass":false,"why":"the schema is unusable: /properties/a: \"$ref\" is not supported"}]
["t:1:0",{"pass":false,"why":"the schema is unusable: /: \"minimum\" must be a number"}]'
}

@test "json_schema: without a schema, a JSON grammar's derived schema applies" {
	recipe='{"output_format": "jsonl", "grammar": {"start": "r", "rules": {
		"r": [{"template": "{\"text\": \"<t>\", \"rating\": <n>}"}],
		"t": [{"template": "good"}, {"template": "bad"}],
		"n": [{"template": "1"}, {"template": "5"}]}}}'
	{
		job "$recipe"
		sample 0 '{"text": "good", "rating": 5}'
		sample 1 '{"text": "good", "rating": 5, "extra": true}'
		sample 2 '{"text": "good"}'
		sample 3 '{"text": "good", "rating": "5"}'
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -c '[.[0], .[1].json_schema]')" '["t:0:0",{"pass":true}]
["t:0:1",{"pass":false,"why":"/: additional property \"extra\" is not allowed"}]
["t:0:2",{"pass":false,"why":"/: missing required property \"rating\""}]
["t:0:3",{"pass":false,"why":"/rating: \"5\" is not of type \"integer\""}]'

	# text output, or json_schema turned off: no schema check
	jq -c 'select(.type == "job").recipe.output_format = "text"' in.jsonl >text.jsonl
	run --separate-stderr sg-validate <text.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -c 'select(.type == "sample") | .checks | keys' <<<"$output" | sort -u)" = '["generate"]' ]
	jq -c 'select(.type == "job").recipe.validators.json_schema.enabled = false' in.jsonl >off.jsonl
	run --separate-stderr sg-validate <off.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -c 'select(.type == "sample") | .checks | keys' <<<"$output" | sort -u)" = '["generate"]' ]
}

@test "dedup: a value equal to an earlier valid sample's fails, with that sample's id" {
	recipe='{"constraints": {"min_words": 2},
		"validators": {"deduplication": {"enabled": true, "check_field": "review.body"}}}'
	{
		job "$recipe"
		sample 0 '{"review": {"body": "nice one"}, "n": 1}'
		sample 1 '{"review": {"body": "nice one"}, "n": 2}'
		sample 2 '{"review": {"body": "bad"}, "n": 3}'
		sample 3 '{"review": {"body": "bad"}, "n": 4}'
		sample 4 '{"n": 5, "other": "two words"}'
		end
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# the invalid "bad" (one word) is not remembered, so its twin is no duplicate
	assert_equal "$(verdicts | jq -c '[.[0], .[1].dedup, .[2]]')" '["t:0:0",{"pass":true},true]
["t:0:1",{"pass":false,"why":"duplicate of an earlier sample (t:0:0)"},false]
["t:0:2",{"pass":true},false]
["t:0:3",{"pass":true},false]
["t:0:4",{"pass":false,"why":"data has no \"review.body\" to compare"},false]'
}

@test "dedup: the whole data is compared as canonical JSON, across batches" {
	{
		job '{"validators": {"deduplication": {"enabled": true, "check_field": "content"}}}' 0
		sample 0 '{"a": 1, "b": [1, 2]}' 0
		job '{"validators": {"deduplication": {"enabled": true}}}' 1
		sample 0 '{"b": [1, 2], "a": 1}' 1
		# jq would write 1.0 as 1
		echo '{"type":"sample","id":"t:1:1","run":"t","batch":1,"data":{"b":[1,2],"a":1.0}}'
		job '{"validators": {"deduplication": {"enabled": false}}}' 2
		sample 0 '{"a": 1, "b": [1, 2]}' 2
		# listed without enabled: off, as in the Python system
		job '{"validators": {"deduplication": {"check_field": "content"}}}' 3
		sample 0 '{"a": 1, "b": [1, 2]}' 3
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -c '[.[0], .[1].dedup]')" '["t:0:0",{"pass":true}]
["t:1:0",{"pass":false,"why":"duplicate of an earlier sample (t:0:0)"}]
["t:1:1",{"pass":true}]
["t:2:0",null]
["t:3:0",null]'
}

@test "dedup: strings are compared in NFC, case as it is" {
	{
		job '{"validators": {"deduplication": {"enabled": true}}}'
		sample 0 '"Café crème"'
		sample 1 '"Cafe\u0301 cre\u0300me"'
		sample 2 '"CAFÉ CRÈME"'
		sample 3 '{"t": "Ελλάδα", "n": 1}'
		sample 4 '{"n": 1, "t": "Ελλα\u0301δα"}'
		sample 5 '{"n": 1, "t": "ελλάδα"}'
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -c '[.[0], .[1].dedup.why]')" '["t:0:0",null]
["t:0:1","duplicate of an earlier sample (t:0:0)"]
["t:0:2",null]
["t:0:3",null]
["t:0:4","duplicate of an earlier sample (t:0:3)"]
["t:0:5",null]'
}

@test "dedup --seen: keys reach the file at the batch record, and a second run refuses them" {
	recipe='{"validators": {"deduplication": {"enabled": true, "check_field": "text"}}}'
	{
		job "$recipe"
		sample 0 '{"text": "alpha"}'
		sample 1 '{"text": "beta"}'
		sample 2 '{"text": "alpha"}'
		end
	} >one.jsonl
	{
		job "$recipe" 1
		sample 0 '{"text": "beta"}' 1
		sample 1 '{"text": "gamma"}' 1
		end 1
	} >two.jsonl

	# the keys are on disk once the batch record is out, before input ends
	mkfifo in
	sg-validate -u --seen seen <in >out 2>err &
	exec 7>in
	cat one.jsonl >&7
	for _ in $(seq 100); do grep -q '"type":"batch"' out && break; sleep 0.05; done
	[ "$(wc -l <seen)" -eq 2 ]
	[ "$(grep -Ecv '^[0-9a-f]{16}$' seen)" -eq 0 ]
	exec 7>&-
	wait $!
	[ ! -s err ]

	run --separate-stderr sg-validate --seen seen <two.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -c '[.[0], .[1].dedup]')" '["t:1:0",{"pass":false,"why":"duplicate of an earlier sample"}]
["t:1:1",{"pass":true}]'
	[ "$(wc -l <seen)" -eq 3 ]
	[ -f seen.lock ]
}

@test "dedup --seen: a string's key is FNV-1a of its JSON spelling, escapes as jansson writes them" {
	{
		job '{"validators": {"deduplication": {"enabled": true, "check_field": "text"}}}'
		sample 0 '{"text": "a \"q\" \\ /\n\t\u0001\u001f é\u007f"}'
		end
	} >in.jsonl
	run --separate-stderr sg-validate -u --seen seen <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	want=$(python3 -c '
h = 0xcbf29ce484222325
for b in "\"a \\\"q\\\" \\\\ /\\n\\t\\u0001\\u001F é\x7f\"".encode():
    h = ((h ^ b) * 0x100000001b3) % 2**64
print("%016x" % h)')
	assert_equal "$(cat seen)" "$want"
}

@test "dedup --seen: 5000 keys made to share one place in the table are all found, past its end and once it grows" {
	# a text whose key sits near the end of a table of 8192 places, after
	# 5000 keys that differ from it only where the place does not look,
	# then 1000 more keys that make the table grow
	python3 -c '
import random
def fnv(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) % 2**64
    return h
for i in range(100000):
    text = "spill %d" % i
    k = fnv("\"%s\"" % text)
    if ((k ^ k >> 29) & 8191) > 7400:
        break
for v in range(1, 5001):
    print("%016x" % (k ^ v << 42))
print("%016x" % k)
random.seed(1)
for _ in range(1000):
    print("%016x" % random.randrange(1, 2**64))
open("text", "w").write(text)' >seen
	recipe='{"validators": {"deduplication": {"enabled": true, "check_field": "text"}}}'
	{
		job "$recipe"
		sample 0 "$(jq -nc --rawfile t text '{text: $t}')"
		sample 1 '{"text": "fresh"}'
		end
	} >in.jsonl
	run --separate-stderr sg-validate --seen seen <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -c '[.[0], .[1].dedup]')" '["t:0:0",{"pass":false,"why":"duplicate of an earlier sample"}]
["t:0:1",{"pass":true}]'
	[ "$(wc -l <seen)" -eq 6002 ]
}

@test "--seen: a bad key file is refused before any record is read" {
	printf '0123456789abcdef\nnot-a-key\n' >seen
	run --separate-stderr sg-validate --seen seen </dev/null
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-validate: seen:2: not a key of 16 hex digits"
}

@test "unknown records and fields pass through unchanged and in order" {
	{
		echo '{"type":"note","text":"hi","n":[1,2.5]}'
		echo '{"type":"job","run":"t","n":3,"recipe":{}}'
		job '{"constraints": {"max_length": 100}}'
		echo '{"type":"sample","id":"t:0:0","run":"t","batch":0,"data":"x","mine":{"k":true},"checks":"old","valid":"old"}'
		end
		echo '{"type":"reward","run":"t","batch":0,"reward":0.5}'
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(sed -n '1,3p;5,6p' <<<"$output")" "$(sed -n '1,3p;5,6p' in.jsonl)"
	assert_equal "$(sed -n 4p <<<"$output")" '{"type":"sample","id":"t:0:0","run":"t","batch":0,"data":"x","mine":{"k":true},"checks":{"generate":{"pass":true},"length":{"pass":true}},"valid":true}'
}

@test "fields not ours go out as they came in, byte for byte; ours are replaced in place" {
	# spaces, an escape and numbers jansson would print otherwise
	cat >in.jsonl <<'EOF'
{"type":"note", "x": 1.50e3}
{"type":"sample","id":"t:0:0","run":"t","batch":0,"checks": {"old": 1},"data":"x","mine": {"s": "caf\u00e9\/", "n": [1.0, 2E2]},"valid":false}
{"type":"sample","id":"t:0:1","run":"t","batch":0,"data":"y","\u0063hecks":1}
EOF
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '{"type":"note","x": 1.50e3}
{"type":"sample","id":"t:0:0","run":"t","batch":0,"checks":{"generate":{"pass":true}},"data":"x","mine": {"s": "caf\u00e9\/", "n": [1.0, 2E2]},"valid":true}
{"type":"sample","id":"t:0:1","run":"t","batch":0,"data":"y","checks":{"generate":{"pass":true}},"valid":true}'
}

@test "with --seen, samples held for their batch's end still go out as they came in" {
	cat >in.jsonl <<'EOF'
{"type":"sample","id":"t:0:0","run":"t","batch":0,"data":"x","mine": {"n": [1.0, 2E2]}}
{"type":"sample","id":"t:0:1","run":"t","batch":0,"data":"x","mine": 1.50e3}
{"type":"batch","run":"t","batch":0, "n": 2}
EOF
	echo '{"domain": "d", "num_samples": 1, "validators": {"deduplication": {"enabled": true}}}' >r.json
	run --separate-stderr sg-validate --seen seen -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '{"type":"sample","id":"t:0:0","run":"t","batch":0,"data":"x","mine": {"n": [1.0, 2E2]},"checks":{"generate":{"pass":true},"dedup":{"pass":true}},"valid":true}
{"type":"sample","id":"t:0:1","run":"t","batch":0,"data":"x","mine": 1.50e3,"checks":{"generate":{"pass":true},"dedup":{"pass":false,"why":"duplicate of an earlier sample (t:0:0)"}},"valid":false}
{"type":"batch","run":"t","batch":0,"n": 2}'
}

@test "a malformed line or a sample without its keys is reported and skipped, the rest goes on" {
	{
		sample 0 '"a"'
		echo '{"type":"sample", oops'
		echo '{"type":"sample","run":"t","batch":0,"data":"b"}'
		echo '{"type":"sample","id":"t:0:3","run":"t","batch":"x","data":"b"}'
		echo '{"type":"sample","id":"t:0:4","batch":0,"data":"b"}'
		echo '{"type":"batch","run":"t"}'
		sample 6 '"c"'
	} >in.jsonl
	run --separate-stderr sg-validate <in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-validate: <stdin>:2: invalid JSON at column 22: string or '"'"'}'"'"' expected near '"'"'oops'"'"'
sg-validate: <stdin>:3: sample has no "id"
sg-validate: <stdin>:4: sample "batch" is not an integer
sg-validate: <stdin>:5: sample has no "run"
sg-validate: <stdin>:6: batch has no "batch"'
	assert_equal "$(verdicts)" '["t:0:0",{"generate":{"pass":true}},true]
["t:0:6",{"generate":{"pass":true}},true]'

	run --separate-stderr sg-validate --strict <in.jsonl
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sg-validate: <stdin>:2: invalid JSON"* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	[ "$(wc -l <<<"$output")" -eq 1 ]
}

@test "a sample is read for the fields checked, yet every line is checked whole" {
	# each bad line is jansson's to report, however deep the fault in a
	# field no check reads (a bad token, a byte that is not UTF-8, a
	# duplicate key, numbers out of range); escapes, UTF-8, a key with an
	# escape (written whole) and deep nesting go through as before
	run --separate-stderr sg-validate <"$FIXTURES/odd-lines.jsonl"
	[ "$status" -eq 1 ]
	assert_equal "$stderr" "$(cat <<'EOF'
sg-validate: <stdin>:3: invalid JSON at column 85: invalid token near 'tru'
sg-validate: <stdin>:4: invalid JSON at column 74: unable to decode byte 0xff near '"'
sg-validate: <stdin>:5: invalid JSON at column 84: duplicate object key near '"x"'
sg-validate: <stdin>:6: invalid JSON at column 65: duplicate object key near '"id"'
sg-validate: <stdin>:7: invalid JSON at column 74: real number overflow near '1e400'
sg-validate: <stdin>:8: invalid JSON at column 88: too big integer near '12345678901234567890'
EOF
)"
	assert_equal "$output" "$(cat <<'EOF'
{"type":"job","run":"t","batch":0,"n":9,"recipe":{"constraints":{"max_length":6}}}
{"type":"sample","id":"t:0:0","run":"t","batch":0,"data":"plain","checks":{"generate":{"pass":true},"length":{"pass":true}},"valid":true}
{"type":"sample","id":"t:0:7","run":"t","batch":0,"data":"caf\u00e9 \ud83d\ude00","mine":"\"x\"\n","n":[123456789012345678,-0,0.5e-3,1e300],"checks":{"generate":{"pass":true},"length":{"pass":true}},"valid":true}
{"type":"sample","id":"t:0:8","run":"t","batch":0,"data":"café 😀!","mine":1,"checks":{"generate":{"pass":true},"length":{"pass":false,"why":"7 characters, more than the maximum 6"}},"valid":false}
{"type":"sample","id":"t:0:9","run":"t","batch":0,"data":"h","mine":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"checks":{"generate":{"pass":true},"length":{"pass":true}},"valid":true}
{"type" : "sample","id":"t:0:10","run":"t","batch":0,"data":"été","mine":{"x":1,"y":{"x":1}},"checks":{"generate":{"pass":true},"length":{"pass":true}},"valid":true}
{"type":"batch","run":"t","batch":0}
EOF
)"
}

@test "the schema validator agrees with python3-jsonschema on every case" {
	/usr/bin/python3 -c 'import jsonschema; jsonschema.Draft202012Validator' 2>/dev/null ||
		skip "python3-jsonschema (draft 2020-12) is not installed: apt-get install python3-jsonschema"
	cases=$FIXTURES/validate-schema-cases.jsonl
	# each instance wrapped in an object, so that null is data too
	jq -c 'input_line_number as $n |
		{type: "job", run: "x", batch: $n, recipe: {constraints: {schema:
			{type: "object", required: ["v"], properties: {v: .schema}}}}},
		{type: "sample", id: "x:\($n):0", run: "x", batch: $n, data: {v: .instance}}' \
		"$cases" >in.jsonl
	run --separate-stderr sg-validate in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -r 'select(.type == "sample") | .checks.json_schema.pass' <<<"$output" >ours
	/usr/bin/python3 -c '
import json, sys, jsonschema
for line in open(sys.argv[1]):
    c = json.loads(line)
    ok = jsonschema.Draft202012Validator(c["schema"]).is_valid(c["instance"])
    print("true" if ok else "false")' "$cases" >theirs
	jq -r .valid "$cases" >expected
	[ "$(wc -l <expected)" -ge 100 ]
	paste expected ours theirs | awk '$1 != $2 || $1 != $3 { print NR ": " $0; bad = 1 } END { exit bad }' >&2
}

# The fixture's patterns, each with one instance, as the format check and
# the schema keyword judge it: "FORMAT SCHEMA" per case, in file "ours".
pattern_verdicts() {
	cases=$FIXTURES/pattern-cases.jsonl
	[ "$(jq -s 'map(.pattern) | unique | length' "$cases")" -ge 50 ]
	jq -c 'input_line_number as $n |
		{type: "job", run: "x", batch: $n, recipe: {constraints:
			{pattern: .pattern, schema: {pattern: .pattern}}}},
		{type: "sample", id: "x:\($n):0", run: "x", batch: $n, data: .instance}' \
		"$cases" >in.jsonl
	run --separate-stderr sg-validate in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	jq -r 'select(.type == "sample") |
		"\(.checks.format.pass) \(.checks.json_schema.pass)"' <<<"$output" >ours
	[ "$(wc -l <ours)" -eq "$(wc -l <"$cases")" ]
}

# Each case's verdicts, ours and an engine's ("true", "false" or "error"),
# against its "valid", unless the case's field $1 says that engine differs.
agree() {
	jq -r --arg f "$1" '"\(.valid) \(.[$f] // false)"' "$cases" >expected
	paste -d ' ' expected ours theirs | awk '
		$1 != $3 || $1 != $4 || ($2 == "false") != ($1 == $5) {
			print NR ": " $0; bad = 1 }
		END { exit bad }' >&2
}

@test "patterns agree with python3-jsonschema, and keep to ECMA-262 where Python's re does not" {
	/usr/bin/python3 -c 'import jsonschema; jsonschema.Draft202012Validator' 2>/dev/null ||
		skip "python3-jsonschema (draft 2020-12) is not installed: apt-get install python3-jsonschema"
	pattern_verdicts
	/usr/bin/python3 -c '
import json, re, sys, jsonschema
for line in open(sys.argv[1]):
    c = json.loads(line)
    v = jsonschema.Draft202012Validator({"pattern": c["pattern"]})
    try:
        print("true" if v.is_valid(c["instance"]) else "false")
    except re.error:
        print("error")' "$cases" >theirs
	# python_differs: \d, \w and \b are Unicode in Python, $ matches
	# before a final newline there, its \s lacks U+FEFF, an unset group
	# matches nothing, and \p, \u{...}, \c, \k<...>, [] and [^] are errors
	agree python_differs
	[ "$(grep -c python_differs "$cases")" -eq 22 ]
}

@test "patterns agree with ECMA-262 as node's RegExp reads them with the u flag" {
	command -v node >/dev/null || skip "node is not installed: apt-get install nodejs"
	pattern_verdicts
	node -e '
for (const line of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) {
	if (!line) continue;
	const c = JSON.parse(line);
	let r;
	try { r = String(new RegExp(c.pattern, "u").test(c.instance)); }
	catch (e) { r = "error"; }
	console.log(r);
}' "$cases" >theirs
	# node_differs: an escaped "-" outside brackets, which sg reads as
	# ECMA-262 does without the u flag (sg-recipe(5), CAVEATS)
	agree node_differs
	[ "$(grep -c node_differs "$cases")" -eq 1 ]
}

@test "-r gives the checks of samples whose batch had no job" {
	cat >recipe.yaml <<-'EOF'
	job_id: t
	domain: d
	task: t
	num_samples: 3
	output_format: text
	constraints:
	  max_length: 3
	EOF
	{
		sample 0 '"abc"' 0
		sample 1 '"abcd"' 0
		job '{"constraints": {"max_length": 10}}' 1
		sample 0 '"abcd"' 1
	} >in.jsonl
	run --separate-stderr sg-validate -r recipe.yaml <in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -c '[.[0], .[1].length]')" '["t:0:0",{"pass":true}]
["t:0:1",{"pass":false,"why":"4 characters, more than the maximum 3"}]
["t:1:0",{"pass":true}]'

	sed -i 's/^  max_length: 3$/  pattern: "(ab"/' recipe.yaml
	run --separate-stderr sg-validate --recipe recipe.yaml <in.jsonl
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" 'sg-validate: recipe.yaml:7:12: "constraints.pattern" is not a usable pattern: missing closing parenthesis at position 3'

	run --separate-stderr sg-validate -r missing.yaml <in.jsonl
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" == "sg-validate: "*"missing.yaml"* ]]
}

@test "dedup reference_file: the values of earlier samples in a file, the Python system's records or sg's, are duplicates; a missing file has none" {
	mkdir sub
	{
		echo '{"id": "1", "content": {"text": "alpha", "n": 1}, "metadata": {}}'
		echo '{"type": "sample", "id": "r:0:0", "data": {"text": "beta"}}'
		echo
		echo '{"text": "gamma"}'
	} >sub/prev.jsonl
	jq -nc '{domain: "d", num_samples: 1, validators: {deduplication: {enabled: true,
		check_field: "text", reference_file: "prev.jsonl"}}}' >sub/r.json
	{
		sample 0 '{"text": "alpha", "n": 2}'
		sample 1 '{"text": "beta"}'
		sample 2 '{"text": "gamma"}'
		sample 3 '{"text": "delta"}'
		sample 4 '{"text": "delta"}'
	} >in.jsonl
	run --separate-stderr sg-validate -r sub/r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(verdicts | jq -c '[.[0], .[1].dedup]')" "[\"t:0:0\",{\"pass\":false,\"why\":\"duplicate of line 1 of the reference file 'prev.jsonl'\"}]
[\"t:0:1\",{\"pass\":false,\"why\":\"duplicate of line 2 of the reference file 'prev.jsonl'\"}]
[\"t:0:2\",{\"pass\":false,\"why\":\"duplicate of line 4 of the reference file 'prev.jsonl'\"}]
[\"t:0:3\",{\"pass\":true}]
[\"t:0:4\",{\"pass\":false,\"why\":\"duplicate of an earlier sample (t:0:3)\"}]"
	# missing, as before the first run that writes it: nothing to refuse
	rm sub/prev.jsonl
	run --separate-stderr sg-validate -r sub/r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(verdicts | jq -c '.[2]' | tr '\n' ' ')" = 'true true true true false ' ]
	# a line that is not JSON is a fault of the recipe's file
	printf '{"text": "alpha"}\nnot JSON\n' >sub/prev.jsonl
	run --separate-stderr sg-validate -r sub/r.json in.jsonl
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-validate: sub/r.json: \"validators.deduplication.reference_file\" names 'sub/prev.jsonl', whose line 2 is not JSON"
}
