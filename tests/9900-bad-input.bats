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

# Samples of run t, batch 0, and their reward: one batch for sg-update.
batch_t() {
	texts "a sample" "another sample"
	echo '{"type":"reward","run":"t","batch":0,"arm":"a","reward":0.5}'
}

@test "no tool writes through a symbolic link: each is refused with its path, status 4" {
	batch_t > b.jsonl
	sg-plan -n1 "$EXAMPLES/reviews/reviews.yaml" | sg-route -s gst | sg-gen > gen.jsonl
	# an empty file, so that the seen file's link can be read
	: > target
	while IFS='|' read -r link cmd; do
		rm -f st st.lock seen.lock run.state.lock
		ln -s target "$link"
		run --separate-stderr $cmd
		[ "$status" -eq 4 ] || { echo "$cmd: status $status: $stderr" >&2; return 1; }
		assert_equal "$stderr" "${cmd%% *}: refusing to write through symbolic link '$link'"
		# sg-validate passes the job on before it claims its samples
		[ -z "$(echo "$output" | jq -c 'select(.type != "job")')" ]
		[ ! -s target ]
		rm "$link"
	done <<-EOF
		out.jsonl|sg-update -s st -o out.jsonl b.jsonl
		log.jsonl|sg-update -s st -l log.jsonl b.jsonl
		rej.jsonl|sg-update -s st -r rej.jsonl b.jsonl
		st.lock|sg-update -s st b.jsonl
		seen|sg-validate --seen seen gen.jsonl
		seen.lock|sg-validate --seen seen gen.jsonl
		req.jsonl|sg-gen --batch-export req.jsonl /dev/null
		run.state.log|sg-run -s run.state -o data.jsonl $EXAMPLES/reviews/reviews.yaml
		run.state.lock|sg-run -s run.state -o data.jsonl $EXAMPLES/reviews/reviews.yaml
		data.jsonl|sg-run -s run.state -o data.jsonl $EXAMPLES/reviews/reviews.yaml
		run.state.rejected|sg-run -s run.state -o data.jsonl $EXAMPLES/reviews/reviews.yaml
		run.state.seen|sg-run -s run.state -o data.jsonl $EXAMPLES/reviews/reviews.yaml
		run.state.seen.lock|sg-run -s run.state -o data.jsonl $EXAMPLES/reviews/reviews.yaml
		run.state.seen.vectors|sg-run -s run.state -o data.jsonl $EXAMPLES/reviews/reviews.yaml
	EOF
	# a lock that is a directory cannot be opened: an I/O error
	mkdir st.lock
	run --separate-stderr sg-update -s st b.jsonl
	[ "$status" -eq 4 ]
	assert_equal "$stderr" "sg-update: cannot open 'st.lock': Is a directory"
	[ ! -e st ]
}

@test "8 sg-run writing one state, output and log side by side leave only whole JSON lines" {
	command -v parallel > /dev/null || skip "no GNU parallel (tests/deps.sh installs it)"
	server --latency 20
	ln -s "$EXAMPLES/llm/kb" kb
	# a job record of over 8 KiB, which a buffered stream writes in pieces
	sg-plan -n1 "$EXAMPLES/llm/reviews-llm.yaml" | jq --arg p "$(printf '%.0sA long criterion. ' $(seq 500))" \
		'.recipe | .router_config.arms |= map(select(. == "templater_balanced" or .name? == "naive_balanced"))
		| .num_samples = 40 | .quality_criteria.padding = $p' > r.json
	run --separate-stderr parallel -N0 -j8 sg-run --seed 5 -s run.state -o data.jsonl r.json ::: $(seq 8)
	[ "$status" -eq 0 ]
	jq -e '.accepted == 40 and .pending == {}' run.state
	[ "$(wc -l < data.jsonl)" -eq 40 ]
	[ "$(jq -s 'map(select(.type == "job")) | length' run.state.log)" -gt 8 ]
	# every line of every file parses alone
	for f in data.jsonl run.state.log run.state.rejected; do
		[ -s "$f" ]
		while IFS= read -r line; do
			jq -e . <<< "$line" > /dev/null || { echo "$f: not JSON: ${line:0:80}" >&2; return 1; }
		done < "$f"
	done
	run --separate-stderr sg-report run.state
	[ "$status" -eq 0 ]
}

@test "a batch of another run is reported at its line and skipped; the batches after it are committed" {
	echo '{"type":"reward","run":"u","batch":0,"arm":"a","reward":0.5}' | sg-update -s st
	{
		echo '{"type":"reward","run":"t","batch":5,"arm":"a","reward":0.9}'
		texts one two | jq -c '.run = "u" | .batch = 1'
		echo '{"type":"reward","run":"u","batch":1,"arm":"a","reward":0.5}'
		texts three | jq -c '.batch = 6'
	} > in.jsonl
	run --separate-stderr sg-update -s st -o data.jsonl in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" "$(printf '%s\n%s' \
		"sg-update: in.jsonl:1: batch 5 of run \"t\" (0 samples) skipped: state 'st' belongs to run \"u\"" \
		"sg-update: in.jsonl:5: batch 6 of run \"t\" (1 sample) skipped: state 'st' belongs to run \"u\"")"
	[ -z "$output" ]
	assert_equal "$(jq -r .data data.jsonl | tr '\n' ' ')" "one two "
	jq -e '.accepted == 2 and .rewards == 2 and .run == "u"' st
}

@test "the answer cache keeps no answer without a choice, and tells servers apart" {
	faults '[{"status": 200, "body": {"choices": []}},
		{"status": 200, "body": {"choices": [{"index": 0, "message": {"role": "assistant", "content": null}}]}}]'
	server --script script.json
	job 2 > job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" "sg-gen: nothing generated: job.jsonl:1: sample 0: the answer has no choices[0].message.content"
	[ "$(echo "$output" | jq -s 'map(select(.type == "sample" and .error)) | length')" -eq 2 ]
	[ ! -e cache ] || [ -z "$(ls cache)" ]
	# the server has recovered: asked again, then answered from the cache
	for n in 4 4; do
		run --separate-stderr sg-gen job.jsonl
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[ "$(echo "$output" | jq -s 'map(select(.type == "sample" and .data)) | length')" -eq 2 ]
		[ "$(requests)" -eq $n ]
	done
	# another server at another address is asked, not answered from the cache
	kill "$SERVER"
	mkdir other && cd other && server && cd ..
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(echo "$output" | tail -1 | jq -c '[.requests, .cached]')" '[2,0]'
	# so is the same server for another project, which is told so
	for want in '[2,0]' '[0,2]'; do
		run --separate-stderr env OPENAI_PROJECT_ID=proj-1 OPENAI_ORG_ID=org-1 sg-gen job.jsonl
		[ "$status" -eq 0 ]
		assert_equal "$(echo "$output" | tail -1 | jq -c '[.requests, .cached]')" "$want"
	done
	assert_equal "$(jq -sc 'map([.organization, .project]) | unique' other/log.jsonl)" '[[null,null],["org-1","proj-1"]]'
	# an older sg's entries named no server: not used, and said
	python3 - cache <<-'PY'
		import json, os, sys
		def fnv(b):
		    h = 0xcbf29ce484222325
		    for c in b:
		        h = ((h ^ c) * 0x100000001b3) & (2**64 - 1)
		    return h
		for f in os.listdir(sys.argv[1]):
		    p = os.path.join(sys.argv[1], f)
		    e = json.load(open(p))
		    os.remove(p)
		    e["key"] = e["key"].split("\n", 1)[1]
		    json.dump(e, open(os.path.join(sys.argv[1], "%016x.json" % fnv(e["key"].encode())), "w"))
	PY
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$stderr" "sg-gen: 2 cached answers of an older sg name no server: asked again"
	assert_equal "$(echo "$output" | tail -1 | jq -c '[.requests, .cached]')" '[2,0]'
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
	printf 'domain: d\nnum_samples: 2\nvalidators:\n  json_schema:\n    enabled: true\n    schema:\n      properties:\n        code: {pattern: "a(?i)"}\n' > s.yaml
	run --separate-stderr sg-plan s.yaml
	[ "$status" -eq 3 ]
	assert_equal "$stderr" 'sg-plan: s.yaml:8:25: "validators.json_schema.schema" is unusable: /properties/code: pattern "a(?i)": "(?i" is not ECMA-262 syntax at position 1'

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
	# no sample could be made, and one failure was the content's: status 1
	[ "$status" -eq 1 ]
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
