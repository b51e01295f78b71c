#!/usr/bin/env bats
# Bad input, table-driven, for every program: each bad record or recipe gets
# a message naming the file and line, the documented exit status, and the
# good records around it still come out.

load helpers
load llm-helpers

GOOD='{"type":"note","n":1}'

# Each filter as a user would run it; a note record passes through all.
filters() {
	printf '%s\n' "sg-route -s st" sg-gen sg-validate sg-score "sg-update -s st"
}

# bad line <TAB> the message after "prog: <stdin>:2: "
cases() {
	printf '%s\t%s\n' \
		"$(printf '{"type":"note","s":"\377"}')" "invalid JSON at column 20: unable to decode byte 0xff near '\"'" \
		'{"type":"note","type":"x"}' "invalid JSON at column 21: duplicate object key near '\"type\"'" \
		"$(printf '%.0s[' $(seq 3000))$(printf '%.0s]' $(seq 3000))" "invalid JSON at column 2049: maximum parsing depth reached near '['" \
		'{"type":"note","n":1e999}' "invalid JSON at column 24: real number overflow near '1e999'" \
		'{"type":"note","n":99999999999999999999}' "invalid JSON at column 39: too big integer near '99999999999999999999'" \
		'{"type":5}' 'missing string field "type"' \
		'{"kind":"note"}' 'missing string field "type"' \
		'[1,2]' 'record is not a JSON object' \
		'"text"' "invalid JSON at column 6: '[' or '{' expected near '\"text\"'"
}

@test "every filter reports each bad record with its line and keeps the good ones" {
	cases > cases.tsv
	while IFS= read -r tool; do
		while IFS=$'\t' read -r bad why; do
			printf '%s\n%s\n%s\n' "$GOOD" "$bad" "$GOOD" > in.jsonl
			run --separate-stderr $tool < in.jsonl
			name=${tool%% *}
			[ "$status" -eq 1 ] || { echo "$tool: status $status for $bad" >&2; return 1; }
			assert_equal "$stderr" "$name: <stdin>:2: $why"
			assert_equal "$output" "$(printf '%s\n%s' "$GOOD" "$GOOD")"
		done < cases.tsv
	done < <(filters)
}

@test "every filter reads CRLF, a byte order mark, blank lines and no final newline" {
	printf '\357\273\277%s\r\n\r\n  \n%s' "$GOOD" "$GOOD" > in.jsonl
	while IFS= read -r tool; do
		run --separate-stderr $tool < in.jsonl
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		assert_equal "$output" "$(printf '%s\n%s' "$GOOD" "$GOOD")"
	done < <(filters)
}

@test "every filter reads a record that reaches a pipe in pieces, and the one after it" {
	half=${#GOOD}
	half=$((half / 2))
	while IFS= read -r tool; do
		run --separate-stderr bash -c "{ printf '%s' '${GOOD:0:half}'; sleep 0.2;
			printf '%s\n%s' '${GOOD:half}' '$GOOD'; } | $tool"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		assert_equal "$output" "$(printf '%s\n%s' "$GOOD" "$GOOD")"
	done < <(filters)
}

@test "every filter accepts empty input" {
	while IFS= read -r tool; do
		run --separate-stderr $tool < /dev/null
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[ -z "$output" ]
	done < <(filters)
}

@test "a truncated last line is reported at its line" {
	printf '%s\n{"type":"note"' "$GOOD" > in.jsonl
	while IFS= read -r tool; do
		run --separate-stderr $tool < in.jsonl
		[ "$status" -eq 1 ]
		assert_equal "$stderr" "${tool%% *}: <stdin>:2: invalid JSON at column 14: '}' expected near end of file"
		assert_equal "$output" "$GOOD"
	done < <(filters)
}

@test "a record over 16 MiB is refused and the next one still read" {
	{ printf '{"type":"note","s":"'; head -c 17000000 /dev/zero | tr '\0' a; printf '"}\n%s\n' "$GOOD"; } > in.jsonl
	run --separate-stderr sg-score < in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" "sg-score: <stdin>:1: record longer than 16777216 bytes"
	assert_equal "$output" "$GOOD"
}

@test "--strict stops at the first bad record" {
	printf '%s\n%s\n%s\n' "$GOOD" '[1]' "$GOOD" > in.jsonl
	while IFS= read -r tool; do
		run --separate-stderr $tool --strict < in.jsonl
		[ "$status" -eq 1 ]
		assert_equal "$output" "$GOOD"
	done < <(filters)
}

@test "a missing input file is an I/O error, and the other files are still read" {
	printf '%s\n' "$GOOD" > in.jsonl
	while IFS= read -r tool; do
		run --separate-stderr $tool nope.jsonl in.jsonl
		[ "$status" -eq 4 ]
		assert_equal "$stderr" "${tool%% *}: cannot open 'nope.jsonl': No such file or directory"
		assert_equal "$output" "$GOOD"
	done < <(filters)
}

@test "recipes: empty, not UTF-8, too deep, huge numbers are refused with their position" {
	: > empty.yaml
	printf 'domain: "caf\351"\nnum_samples: 3\n' > latin1.yaml
	{ printf 'domain: d\nnum_samples: 3\ntask_input: '; printf '%.0s[' $(seq 600); printf '%.0s]' $(seq 600); echo; } > deep.yaml
	printf '{"domain": "d", "num_samples": 1e999}\n' > huge.json
	for r in empty.yaml latin1.yaml deep.yaml huge.json; do
		run --separate-stderr sg-plan "$r"
		[ "$status" -eq 3 ] || { echo "$r: $status $stderr" >&2; return 1; }
		[[ "$stderr" == "sg-plan: $r:"[0-9]*":"* ]] || { echo "$r: $stderr" >&2; return 1; }
		[ -z "$output" ]
	done
}

@test "recipes with CRLF line ends and a byte order mark load" {
	printf '\357\273\277domain: d\r\nnum_samples: 2\r\n' > crlf.yaml
	run --separate-stderr sg-plan crlf.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -r .context.domain)" = d ]
}

@test "a recipe naming an unknown arm is refused by sg-plan at its position, and by sg-route in a job" {
	printf 'domain: d\nnum_samples: 2\nrouter_config:\n  arms: [templater_fancy]\ngrammar:\n  start: s\n  rules:\n    s:\n      - template: "x"\n' > arms.yaml
	run --separate-stderr sg-plan arms.yaml
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" 'sg-plan: arms.yaml:4:10: unknown arm "templater_fancy" (not a preset; declare it with a generator)'
	# a job made without sg-plan
	sed 's/templater_fancy/templater_balanced/' arms.yaml > ok.yaml
	run --separate-stderr sh -c 'sg-plan ok.yaml | jq -c ".recipe.router_config.arms = [\"templater_fancy\"]" | sg-route -s st'
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-route: <stdin>:1: unknown arm "templater_fancy" (not a preset; declare it with a generator)'
}

@test "a recipe over 8 MiB is refused" {
	{ printf 'domain: d\nnum_samples: 1\ntask_input: "'; head -c 9000000 /dev/zero | tr '\0' a; printf '"\n'; } > big.yaml
	run --separate-stderr sg-plan big.yaml
	[ "$status" -eq 3 ]
	assert_equal "$stderr" "sg-plan: big.yaml: recipe larger than 8388608 bytes"
}

@test "constraint keys of any length load (found by fuzzing the recipe loader)" {
	printf 'domain: d\nnum_samples: 1\nconstraints: {ab: 1, min_x: 1, max_x: 2}\n' > short.yaml
	run --separate-stderr sg-plan short.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -c .recipe.constraints)" = '{"ab":1,"min_x":1,"max_x":2}' ]
}

@test "recipe patterns: one that cannot compile stops sg-plan at its place, one that runs out of steps fails its sample alone" {
	recipe() {
		printf 'domain: d\nnum_samples: 2\nconstraints:\n  pattern: %s\n' "$(jq -n --arg p "$1" '$p')" > p.yaml
	}
	# glibc's regcomp took 6.8 GB on this one; PCRE2 refuses it at once
	recipe '((a{1,100}){1,100}){1,100}$'
	run --separate-stderr sg-plan p.yaml
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" 'sg-plan: p.yaml:4:12: "constraints.pattern" is not a usable pattern: regular expression is too large at position 27'
	recipe '(?<=a+)x'
	run --separate-stderr sg-plan p.yaml
	[ "$status" -eq 3 ]
	assert_equal "$stderr" 'sg-plan: p.yaml:4:12: "constraints.pattern" is not a usable pattern: lookbehind assertion is not fixed length at position 0'
	# in a schema, the place is the pattern's own
	printf 'domain: d\nnum_samples: 2\nvalidators:\n  json_schema:\n    schema:\n      properties:\n        code: {pattern: "a(?i)"}\n' > s.yaml
	run --separate-stderr sg-plan s.yaml
	[ "$status" -eq 3 ]
	assert_equal "$stderr" 'sg-plan: s.yaml:7:25: "validators.json_schema.schema" is unusable: /properties/code: pattern "a(?i)": "(?i" is not ECMA-262 syntax at position 1'

	# glibc's took 8.2 GB on this one and "hello"; JSON Schema's syntax
	# (lookahead, \d, \p{Lu}) is read; a match out of steps fails alone
	for p in '(a{1,1000}){1,1000}' '^(?!x)\p{Lu}\p{Ll}+ \d+$' '^(a+)+$'; do
		recipe "$p"
		run --separate-stderr sg-plan p.yaml
		[ "$status" -eq 0 ] || { echo "$p: $stderr" >&2; return 1; }
		texts 'hello' 'Émile 42' "$(printf 'a%.0s' $(seq 40))b" 'aaa' > in.jsonl
		run --separate-stderr sg-validate -r p.yaml in.jsonl
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		jq -c '[.id, .checks.format.pass]' <<<"$output" >>verdicts
		jq -r '.checks.format.why // empty' <<<"$output" | grep -v '^does not match' >>why || :
	done
	assert_equal "$(paste -sd ' ' verdicts)" '["t:0:0",false] ["t:0:1",false] ["t:0:2",true] ["t:0:3",true] ["t:0:0",false] ["t:0:1",true] ["t:0:2",false] ["t:0:3",false] ["t:0:0",false] ["t:0:1",false] ["t:0:2",false] ["t:0:3",true]'
	assert_equal "$(cat why)" 'cannot tell whether "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa... matches pattern "^(a+)+$": match limit exceeded'
}

@test "recipes nested past the limit are refused at the first node past it, 8 MiB of them too" {
	# the time this takes is in bench/hostile.sh: linear in what is read
	{ printf 'domain: d\nnum_samples: 1\ntask_input:\n  '; head -c 8388500 /dev/zero | tr '\0' '['; } > seq.yaml
	{ printf 'domain: d\nnum_samples: 1\ntask_input:\n  '; yes -- '{a: ' | head -n 2000000 | tr -d '\n'; } > map.yaml
	{ printf 'domain: d\nnum_samples: 1\ntask_input:\n'; yes -- '- ' | head -n 4000000 | tr -d '\n'; } > block.yaml
	for r in seq.yaml:4:515 map.yaml:4:2048 block.yaml:4:1025; do
		run --separate-stderr sg-plan "${r%%:*}"
		[ "$status" -eq 3 ]
		[ -z "$output" ]
		assert_equal "$stderr" "sg-plan: $r: nested more than 512 levels deep"
	done
	# as wide as it may be deep: refused at the value past the limit
	{ printf 'domain: d\nnum_samples: 1\ntask_input: ['; yes -- '[[[[[[[[]]]]]]]],' | head -n 200000 | tr -d '\n'; echo '0]'; } > wide.yaml
	run --separate-stderr sg-plan wide.yaml
	[ "$status" -eq 3 ]
	assert_equal "$stderr" "sg-plan: wide.yaml:3:2228222: more than 1048576 values"
}

@test "the API key is masked in every message, whole, cut short, or any 8 characters of it" {
	k=$KEY
	faults "[{\"status\": 401, \"body\": {\"error\": {\"message\": \"bad key ${k%?}.\"}}},
		{\"status\": 403, \"body\": {\"error\": \"key starts ${k:0:9}, ends ${k: -9}\"}},
		{\"status\": 400, \"body\": {\"detail\": \"seen test-SECRET-01 and SECRET-, no more\"}},
		{\"status\": 404, \"raw\": \"<p>${k:3:12}</p>\"}]"
	server --script script.json
	run --separate-stderr sg-gen -v -j 1 <(job 4)
	[ "$status" -eq 0 ]
	assert_equal "$(jq -r 'select(.type == "sample") | .error' <<<"$output")" 'HTTP 401: bad key ***.
HTTP 403: key starts ***, ends ***
HTTP 400: seen *** and SECRET-, no more
HTTP 404: <p>***</p>'
	for i in $(seq 0 $((${#k} - 8))); do
		! grep -qF -- "${k:i:8}" <<<"$output$stderr" || { echo "${k:i:8} shown" >&2; return 1; }
	done
}

@test "personal data in object keys is flagged and redacted; a file name with @2x is not an e-mail" {
	echo '{"domain": "d", "num_samples": 1, "validators": {"pii": {"mode": "redact"}}}' > r.json
	jq -nc '{type: "sample", id: "t:0:0", run: "t", batch: 0,
		data: {"bob@example.com": "see report@2x.png", "n": {"SSN 123-45-6789": 1}}}' > in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.data, .checks.pii]' <<<"$output")" '[{"[EMAIL]":"see report@2x.png","n":{"SSN [SSN]":1}},{"pass":true,"redacted":true,"spans":[{"type":"email","start":0,"end":15,"score":0.95,"key":true},{"type":"ssn","start":22,"end":33,"score":1,"key":true}]}]'
}
