#!/usr/bin/env bats
# sg-score: sample quality and pass, batch rewards and their parts,
# penalties, truncated streams, passthrough and bad records.  Expected
# numbers are worked out by hand in the comments.

load helpers
bats_require_minimum_version 1.5.0

STREAM=$FIXTURES/score-stream.jsonl

# sg-score ARGS... through the jq filter FILTER, one compact line per
# result; the status is sg-score's.
scored() {
	local filter=$1

	shift
	set -o pipefail
	sg-score "$@" | jq -rc "$filter"
}

VERDICTS='select(.type == "sample") | "\(.id) \(.quality) \(.pass)"'

@test "sg-score: --help matches the man page" {
	run --separate-stderr sg-score --help
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "usage: sg-score [-huVv] [--strict] [--dev file [--gate]] [-s state] [file ...]"
	assert_equal "$(help_synopsis sg-score)" "$(man_synopsis sg-score)"
}

@test "sg-score: quality with default weights, graded scores and errors" {
	# a: (1 + 0 + 0.25) / 3; b: a score out of [0,1] falls back to pass;
	# c: data and no checks; d: error; e: no data; f: null data
	cat >in <<'EOF'
{"type":"sample","id":"a","run":"r","batch":1,"data":"x","checks":{"p":{"pass":true},"f":{"pass":false},"g":{"pass":false,"score":0.25}}}
{"type":"sample","id":"b","run":"r","batch":1,"data":"x","checks":{"p":{"pass":true,"score":1.5},"q":{"pass":false,"score":"high"}}}
{"type":"sample","id":"c","run":"r","batch":1,"data":"x"}
{"type":"sample","id":"d","run":"r","batch":1,"data":"x","error":"boom","checks":{"p":{"pass":true}}}
{"type":"sample","id":"e","run":"r","batch":1}
{"type":"sample","id":"f","run":"r","batch":1,"data":null,"checks":{}}
EOF
	run --separate-stderr scored "$VERDICTS" in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "a 0.4166666667 false
b 0.5 true
c 1 true
d 0 false
e 0 false
f 0 false"
}

@test "sg-score: the reward counts each check's passes and failures" {
	cat >in <<'EOF'
{"type":"sample","id":"a","run":"r","batch":1,"data":"x","checks":{"pii":{"pass":true},"toxicity":{"pass":false}}}
{"type":"sample","id":"b","run":"r","batch":1,"data":"y","checks":{"pii":{"pass":false},"near_dedup":{"pass":false}}}
{"type":"sample","id":"c","run":"r","batch":1,"data":"z"}
{"type":"batch","run":"r","batch":1}
EOF
	run --separate-stderr scored 'select(.type == "reward") | .checks' in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '{"pii":{"pass":1,"fail":1},"toxicity":{"pass":0,"fail":1},"near_dedup":{"pass":0,"fail":1}}'
}

@test "sg-score: the compression ratio is low for a batch that repeats itself" {
	for i in 1 2 3 4 5 6 7 8; do
		jq -nc --arg i "$i" '{type: "sample", id: "a:\($i)", run: "r", batch: 1,
			data: "the same words again and again for every sample"}'
		jq -nc --arg i "$i" '{type: "sample", id: "b:\($i)", run: "r", batch: 2,
			data: "sample \($i): \([range(0; 8)] | map(tostring + "x\($i)") | join(" "))"}'
	done >in
	run --separate-stderr scored 'select(.type == "reward") | "\(.batch) \(.compression_ratio < 0.35)"' in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '1 true
2 false'
}

@test "sg-score: the compression ratio is libdeflate's raw deflate at level 1, as sg-score(1) says" {
	# 30 texts, 2463 bytes with their newlines; libdeflate at level 1
	# makes a raw deflate stream of 296 bytes of them (level 5: 281;
	# zlib's level 1, tuned, in zlib's format: 319)
	jq -nc 'range(1; 31) | {type: "sample", id: "s\(.)", run: "r", batch: 1,
		data: "the quick brown fox \(.) jumps over the lazy dog \(. * 7) and the quick brown cat \(. * 3) naps"}' >in
	run --separate-stderr scored 'select(.type == "reward") | .compression_ratio * 2463 | round' in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" 296
}

@test "sg-score: a batch record's cost costs reward at the recipe's rate" {
	# both batches: pass_rate 1, quality 1, distinct-2 1 -> 1; batch 2 pays
	# 0.1 per unit of its cost 2
	{
		jq -nc '{type: "job", run: "r", batch: 1, n: 1, recipe: {}}'
		jq -nc '{type: "job", run: "r", batch: 2, n: 1,
			recipe: {quality: {reward: {cost: 0.1}}}}'
		jq -nc '{type: "sample", id: "r:1:0", run: "r", batch: 1, data: "one two three"}'
		jq -nc '{type: "sample", id: "r:2:0", run: "r", batch: 2, data: "one two three"}'
		jq -nc '{type: "batch", run: "r", batch: 1, cost: 2}'
		jq -nc '{type: "batch", run: "r", batch: 2, cost: 2}'
	} >in
	run --separate-stderr scored 'select(.type == "reward") | [.reward, .cost, .cost_weight]' in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '[1,2,0]
[0.8,2,0.1]'
}

@test "sg-score: quality with the recipe's weights and threshold" {
	# r:1:0 = (3*0.8 + 0*0 + 1*1) / 4 = 0.85 >= 0.7; r:1:1 = (0 + 1) / 4;
	# r:2:0 sits exactly on the default threshold 0.5 and passes;
	# r:2:1 has quality 0.75 but "valid" false
	run --separate-stderr scored "$VERDICTS" "$STREAM"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "r:1:0 0.85 true
r:1:1 0.25 false
r:1:2 0 false
r:2:0 0.5 true
r:2:1 0.75 false"
}

@test "sg-score: with threshold 0 only samples with data, no error and not invalid pass" {
	cat >in <<'EOF'
{"type":"job","run":"r","batch":1,"n":4,"recipe":{"quality":{"threshold":0}}}
{"type":"sample","id":"a","run":"r","batch":1,"data":"x","checks":{"p":{"pass":false}}}
{"type":"sample","id":"b","run":"r","batch":1}
{"type":"sample","id":"c","run":"r","batch":1,"error":"boom"}
{"type":"sample","id":"d","run":"r","batch":1,"data":"x","valid":false}
EOF
	run --separate-stderr scored "$VERDICTS" in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "a 0 true
b 0 false
c 0 false
d 1 false"
}

@test "sg-score: the reward is its formula over its own components" {
	# batch 1: weights 2:1:1; pass_rate 1/3, mean_quality
	# (0.85 + 0.25 + 0) / 3, diversity 3/4; no other part measured:
	# (2/3 + 1.1/3 + 0.75) / 4 = 0.4458333333
	# batch 2, the defaults: (0.2*0.5 + 0.1*0.625 + 0*0.75) / 0.3
	# = 0.5416666667
	run --separate-stderr sg-score "$STREAM"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "$output" >out
	assert_equal "$(jq -c 'select(.type == "reward") | [.batch, .reward, .n, .passed, .pass_rate, .mean_quality, .weights]' out)" \
		'[1,0.4458333333,3,1,0.3333333333,0.3666666667,{"pass_rate":2,"quality":1,"diversity":1,"novelty":0.3,"fidelity":0.4,"labels":0.2,"dev":4}]
[2,0.5416666667,2,1,0.5,0.625,{"pass_rate":0.2,"quality":0.1,"diversity":0,"novelty":0.3,"fidelity":0.4,"labels":0.2,"dev":4}]'
	assert_equal "$(jq -c 'select(.type == "reward") | .parts' out)" \
		'{"pass_rate":0.3333333333,"quality":0.3666666667,"diversity":0.75,"novelty":null,"fidelity":null,"labels":null,"dev":null}
{"pass_rate":0.5,"quality":0.625,"diversity":0.75,"novelty":null,"fidelity":null,"labels":null,"dev":null}'
	run --separate-stderr jq "select(.type == \"reward\") |
		(($REWARD_FORMULA) - .reward | fabs) < 1e-9" out
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "true
true"
}

@test "sg-score: reward records carry the batch's arm, params and context in order" {
	run --separate-stderr scored 'select(.type == "reward") | keys_unsorted' "$STREAM"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	keys='["type","run","batch","arm","generator","params","context","reward","n","passed","pass_rate","mean_quality","diversity","distinct_1","distinct_2","repetition_rate","compression_ratio","checks","parts","weights"]'
	# the first batch has a sample that failed: its error is quoted
	assert_equal "$output" "${keys/\"checks\",/\"checks\",\"first_error\",}
$keys"
	run --separate-stderr scored 'select(.type == "reward") | [.run, .arm, .generator, .params, .context]' "$STREAM"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '["r","templater_balanced","templater",{"temperature":1,"max_depth":10},{"domain":"reviews","kb":false}]
["r","naive_hot","naive",{"temperature":1.5},{"domain":"reviews","kb":false}]'
}

@test "sg-score: n counts samples that never arrived, and never less than those seen" {
	# batch 1 says 5 but only 2 came: pass_rate 2/5; batch 2 says 1
	# but 3 came: n is 3
	cat >in <<'EOF'
{"type":"sample","id":"a","run":"r","batch":1,"data":"one two"}
{"type":"sample","id":"b","run":"r","batch":1,"data":"three four"}
{"type":"batch","run":"r","batch":1,"n":5}
{"type":"sample","id":"c","run":"r","batch":2,"data":"x y"}
{"type":"sample","id":"d","run":"r","batch":2,"data":"x z"}
{"type":"sample","id":"e","run":"r","batch":2,"error":"no"}
{"type":"batch","run":"r","batch":2,"n":1}
EOF
	run --separate-stderr scored 'select(.type == "reward") | [.n, .passed, .pass_rate]' in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "[5,2,0.4]
[3,2,0.6666666667]"
}

@test "sg-score: distinct-n and repetition rate on a known batch" {
	# texts: "the cat sat" | "The cat ran." | "the cat sat" | "dog a dog"
	# (the object's strings, depth first; the number is left out); the
	# error sample has no text.  Words, case folded: 12, distinct 6
	# (the cat sat ran dog a): distinct_1 = 0.5.  Bigrams: 8, distinct 5
	# (the-cat cat-sat cat-ran dog-a a-dog): distinct_2 = 0.625.  One of
	# four texts repeats an earlier one: repetition_rate = 0.25.
	cat >in <<'EOF'
{"type":"sample","id":"a","run":"r","batch":1,"data":"the cat sat"}
{"type":"sample","id":"b","run":"r","batch":1,"data":"The cat ran."}
{"type":"sample","id":"c","run":"r","batch":1,"data":"the cat sat"}
{"type":"sample","id":"d","run":"r","batch":1,"data":{"t":"dog","n":3,"k":["a dog"]}}
{"type":"sample","id":"e","run":"r","batch":1,"error":"the the the"}
{"type":"batch","run":"r","batch":1,"n":5}
EOF
	run --separate-stderr scored 'select(.type == "reward") | [.distinct_1, .distinct_2, .diversity, .repetition_rate]' in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "[0.5,0.625,0.625,0.25]"
}

@test "sg-score: distinct-n folds case beyond ASCII: accented, Greek and Cyrillic" {
	# words, case folded (final sigma as sigma): 12, distinct 6;
	# bigrams 6, distinct 3; no text repeats another byte for byte
	texts "Écouteurs très bons" "ÉCOUTEURS TRÈS BONS" "λόγος καλός" \
		"ΛΌΓΟΣ ΚΑΛΌΣ" "книга" "КНИГА" >in
	jq -nc '{type: "batch", run: "t", batch: 0, n: 6}' >>in
	run --separate-stderr scored 'select(.type == "reward") | [.distinct_1, .distinct_2, .repetition_rate]' in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "[0.5,0.5,0]"
}

@test "sg-score: diversity and repetition penalties halve the reward each" {
	# both batches: pass_rate 1, mean_quality 1, diversity 1/2 (bigrams
	# "a b" twice, weight 0), repetition 1/2: unpenalised 1
	job() {
		printf '{"type":"job","run":"r","batch":%s,"n":2,"recipe":{"constraints":%s}}\n' "$1" "$2"
		printf '{"type":"sample","id":"r:%s:0","run":"r","batch":%s,"data":"a b"}\n' "$1" "$1"
		printf '{"type":"sample","id":"r:%s:1","run":"r","batch":%s,"data":"a b"}\n' "$1" "$1"
		printf '{"type":"batch","run":"r","batch":%s,"n":2}\n' "$1"
	}
	{
		job 1 '{"min_diversity":0.5,"max_repetition_rate":0.5}'
		job 2 '{"min_diversity":0.6}'
		job 3 '{"min_diversity":0.6,"max_repetition_rate":0.4}'
		job 4 '{"min_diversity":null}'
	} >in
	run --separate-stderr scored 'select(.type == "reward") | [.reward, .diversity_ok, .repetition_ok]' in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "[1,true,true]
[0.5,false,null]
[0.25,false,false]
[1,null,null]"
	run --separate-stderr scored 'select(.type == "reward") | keys_unsorted[-3:]' in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '["weights","diversity_ok","repetition_ok"]
["parts","weights","diversity_ok"]
["weights","diversity_ok","repetition_ok"]
["checks","parts","weights"]'
}

@test "sg-score: a batch whose every sample failed for the infrastructure gets no reward" {
	cat >in <<'EOF'
{"type":"sample","id":"a","run":"r","batch":1,"arm":"n","error":"HTTP 401: bad key","error_kind":"infrastructure","error_scope":"server"}
{"type":"sample","id":"b","run":"r","batch":1,"arm":"n","error":"HTTP 401: bad key","error_kind":"infrastructure","error_scope":"server"}
{"type":"batch","run":"r","batch":1,"arm":"n","n":2,"generated":0,"errors":2}
{"type":"sample","id":"c","run":"r","batch":2,"arm":"m","error":"cannot run \"x\"","error_kind":"infrastructure","error_scope":"arm"}
{"type":"batch","run":"r","batch":2,"arm":"m","n":1}
{"type":"sample","id":"d","run":"r","batch":3,"arm":"n","error":"HTTP 401: bad key","error_kind":"infrastructure","error_scope":"server"}
{"type":"sample","id":"e","run":"r","batch":3,"arm":"n","error":"not JSON","error_kind":"content"}
{"type":"batch","run":"r","batch":3,"arm":"n","n":2}
{"type":"sample","id":"f","run":"r","batch":4,"arm":"n","error":"HTTP 401: bad key","error_kind":"infrastructure","error_scope":"server"}
{"type":"batch","run":"r","batch":4,"arm":"n","n":2}
EOF
	run --separate-stderr scored 'select(.type == "reward") | [.batch, (.reward | if . then type else . end), .skipped, .error_scope, (keys_unsorted | .[index("reward") + 1]), .first_error]' in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# 3: one of its samples failed for its content, which is the arm's,
	# and the reward quotes it; 4: one of its two samples never came
	assert_equal "$output" '[1,null,"HTTP 401: bad key","server","skipped",null]
[2,null,"cannot run \"x\"","arm","skipped",null]
[3,"number",null,null,"n","not JSON"]
[4,"number",null,null,"n",null]'
}

@test "sg-score: a truncated stream rewards its open batches at the end, in order" {
	# batch 3 appears before batch 2; batch 2's n comes from its job (4)
	# and its arm from the samples when the job has none
	cat >in <<'EOF'
{"type":"sample","id":"r:3:0","run":"r","batch":3,"arm":"a3","data":"red fox"}
{"type":"job","run":"r","batch":2,"n":4,"context":{"domain":"d"},"recipe":{"quality":{"reward":{"pass_rate":1,"quality":0,"diversity":0}}}}
{"type":"sample","id":"r:2:0","run":"r","batch":2,"arm":"a2","params":{"temperature":0.5},"data":"blue fox"}
{"type":"sample","id":"r:1:0","run":"r","batch":1,"data":"green fox"}
{"type":"batch","run":"r","batch":1,"n":1}
{"type":"job","run":"r","batch":4,"n":3}
EOF
	run --separate-stderr scored '[.type, .batch, .reward, .n, .arm, .params, .context]' -v in
	[ "$status" -eq 0 ]
	assert_equal "$stderr" "sg-score: run r batch 1: reward 1.0000
sg-score: run r batch 3 has no batch record
sg-score: run r batch 3: reward 1.0000
sg-score: run r batch 2 has no batch record
sg-score: run r batch 2: reward 0.2500"
	assert_equal "$output" '["sample",3,null,null,"a3",null,null]
["job",2,null,4,null,null,{"domain":"d"}]
["sample",2,null,null,"a2",{"temperature":0.5},null]
["sample",1,null,null,null,null,null]
["batch",1,null,1,null,null,null]
["reward",1,1,1,null,null,null]
["job",4,null,3,null,null,null]
["reward",3,1,1,"a3",null,null]
["reward",2,0.25,4,"a2",{"temperature":0.5},{"domain":"d"}]'
}

@test "sg-score: every other record and field passes through unchanged, in order" {
	run --separate-stderr sg-score "$STREAM"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "$output" >out
	# byte for byte but for the samples' two new fields and the rewards
	grep -v '"type":"reward"' out |
		sed 's/,"quality":[0-9.]*,"pass":\(true\|false\)}$/}/' >back
	cmp back "$STREAM"
	[ "$(grep -c '"type":"reward"' out)" -eq 2 ]
	[ "$(grep -c ',"quality":[0-9.]*,"pass":\(true\|false\)}$' out)" -eq 5 ]
}

@test "sg-score: fields not ours go out byte for byte; quality and pass are replaced in place" {
	cat >in <<'EOF'
{"type":"sample","id":"a","run":"r","batch":1,"pass":0,"data": "caf\u00e9","checks":{"p": {"pass": true, "score": 5e-1}},"quality":"old","n":1.50}
EOF
	run --separate-stderr sg-score in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(head -n 1 <<<"$output")" '{"type":"sample","id":"a","run":"r","batch":1,"pass":true,"data": "caf\u00e9","checks":{"p": {"pass": true, "score": 5e-1}},"quality":0.5,"n":1.50}'
}

@test "sg-score: a malformed line in the middle is reported and the rest still scored" {
	cat >in <<'EOF'
{"type":"job","run":"r","batch":1,"n":3}
{"type":"sample","id":"r:1:0","run":"r","batch":1,"data":"a b"}
{"type":"sample","id":"r:1:1",
{"type":"sample","run":"r","batch":1,"data":"c d"}
{"type":"sample","id":"r:1:2","batch":1,"data":"c d"}
{"type":"sample","id":"r:1:2","run":"r","data":"c d"}
{"type":"sample","id":"r:1:2","run":"r","batch":"one","data":"c d"}
{"type":"sample","id":"r:1:2","run":"r","batch":1,"data":"c d"}
{"type":"batch","run":"r","n":3}
{"type":"batch","run":"r","batch":1,"n":3}
EOF
	run --separate-stderr scored '[.type, .id, .n, .passed]' - <in
	[ "$status" -eq 1 ]
	# the wording after "invalid JSON" is jansson's
	[[ "${stderr%%$'\n'*}" == 'sg-score: <stdin>:3: invalid JSON at column '* ]]
	assert_equal "${stderr#*$'\n'}" 'sg-score: <stdin>:4: sample has no "id"
sg-score: <stdin>:5: sample has no "run"
sg-score: <stdin>:6: sample has no "batch"
sg-score: <stdin>:7: sample "batch" is not an integer
sg-score: <stdin>:9: batch has no "batch"'
	assert_equal "$output" '["job",null,3,null]
["sample","r:1:0",null,null]
["sample","r:1:2",null,null]
["batch",null,3,null]
["reward",null,3,2]'
}

@test "sg-score: --strict stops at the first bad record" {
	printf '%s\n' '{"type":"sample","id":"a","run":"r","batch":1,"data":"x"}' \
		'{"type":"sample","id":"b","batch":1,"data":"x"}' \
		'{"type":"other"}' >in
	run --separate-stderr sg-score --strict in
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-score: in:2: sample has no "run"'
	assert_equal "$output" '{"type":"sample","id":"a","run":"r","batch":1,"data":"x","quality":1.0,"pass":true}'
}

@test "sg-score: a bad recipe field is reported and keeps its default" {
	cat >in <<'EOF'
{"type":"job","run":"r","batch":1,"n":1,"recipe":{"quality":{"threshold":2,"weights":{"a":-1,"b":0},"reward":{"quality":"lots","diversity":0}},"constraints":{"max_repetition_rate":"none"}}}
{"type":"sample","id":"x","run":"r","batch":1,"data":"one","checks":{"a":{"pass":true},"b":{"pass":false},"c":{"pass":false}}}
{"type":"batch","run":"r","batch":1,"n":1}
EOF
	# weights a=1 (default), b=0, c=1: quality 1/2, passes the default
	# threshold; reward weights 0.2, 0.1 (default), 0: (0.2 + 0.05) / 0.3
	run --separate-stderr scored 'select(.type != "job") | [.quality, .pass, .reward, .weights]' - <in
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-score: <stdin>:1: job "recipe.quality.threshold" is not a number between 0 and 1
sg-score: <stdin>:1: job "recipe.constraints.max_repetition_rate" is not a number between 0 and 1
sg-score: <stdin>:1: job "recipe.quality.weights.a" is not a number >= 0
sg-score: <stdin>:1: job "recipe.quality.reward.quality" is not a number >= 0'
	assert_equal "$output" '[0.5,true,null,null]
[null,null,null,null]
[null,null,0.8333333333,{"pass_rate":0.2,"quality":0.1,"diversity":0,"novelty":0.3,"fidelity":0.4,"labels":0.2,"dev":4}]'
}

@test "sg-score: a sample after its batch ended is reported and not counted" {
	cat >in <<'EOF'
{"type":"sample","id":"a","run":"r","batch":1,"data":"x"}
{"type":"batch","run":"r","batch":1,"n":1}
{"type":"sample","id":"b","run":"r","batch":1,"error":"late"}
{"type":"batch","run":"r","batch":1,"n":1}
EOF
	run --separate-stderr scored '[.type, .id, .pass, .passed, .n]' - <in
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-score: <stdin>:3: sample "b" comes after the end of its batch
sg-score: <stdin>:4: batch 1 of run "r" ends twice'
	assert_equal "$output" '["sample","a",true,null,null]
["batch",null,null,null,1]
["reward",null,null,1,1]
["sample","b",false,null,null]
["batch",null,null,null,1]'
}

@test "sg-score: files are read in turn as one stream; a missing one is status 4" {
	head -n 3 "$STREAM" >one
	tail -n +4 "$STREAM" >two
	run --separate-stderr scored 'select(.type == "reward") | .reward' one - <two
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "0.4458333333
0.5416666667"
	run --separate-stderr scored .type one nothing
	[ "$status" -eq 4 ]
	assert_equal "$stderr" "sg-score: cannot open 'nothing': No such file or directory"
	assert_equal "$output" "job
sample
sample
reward"
}

@test "sg-score: a sample is read for the checks' pass and score, yet every line is checked whole" {
	# 11: (1 + 0.25 + 1) / 3, a score out of [0,1] falls back to pass;
	# 13: a check named with an escape, for jansson to read; 14: checks
	# not an object; 15: a check that is not an object counts 0.  Faults
	# deep in a check are jansson's to report.
	run --separate-stderr scored "$VERDICTS" <"$FIXTURES/odd-checks.jsonl"
	[ "$status" -eq 1 ]
	assert_equal "$stderr" "$(cat <<'EOF'
sg-score: <stdin>:8: invalid JSON at column 108: duplicate object key near '"t"'
sg-score: <stdin>:12: invalid JSON at column 99: invalid token near 'tru'
sg-score: <stdin>:13: invalid JSON at column 95: duplicate object key near '"pass"'
EOF
)"
	assert_equal "$output" "$(cat <<'EOF'
t:0:0 1 true
t:0:7 1 true
t:0:8 0.5 false
t:0:9 1 true
t:0:10 1 true
t:0:11 0.75 true
t:0:13 0.5 true
t:0:14 1 true
t:0:15 0 false
EOF
)"
	run --separate-stderr sg-score <"$FIXTURES/odd-checks.jsonl"
	[ "$status" -eq 1 ]
	assert_equal "$(grep -E '"t:0:1[135]"' <<<"$output")" "$(cat <<'EOF'
{"type":"sample","id":"t:0:11","run":"t","batch":0,"data":"i","checks":{"a":{"pass":true,"why":"x\"y","terms":[{"t":"\u00e9"}]},"b":{"pass":false,"score":0.25},"c":{"score":1e300,"pass":true}},"quality":0.75,"pass":true}
{"type":"sample","id":"t:0:13","run":"t","batch":0,"data":"k","checks":{"\u0061":{"pass":false},"b":{"pass":true}},"quality":0.5,"pass":true}
{"type":"sample","id":"t:0:15","run":"t","batch":0,"data":"m","checks":{"a":true,"b":{"pass":true,"score":0}},"quality":0.0,"pass":false}
EOF
)"
	assert_equal "$(tail -1 <<<"$output" | jq -c .checks)" '{"generate":{"pass":5,"fail":0},"length":{"pass":4,"fail":1},"a":{"pass":1,"fail":2},"b":{"pass":2,"fail":1},"c":{"pass":1,"fail":0}}'
}

@test "a pipe on standard output is widened to 1 MiB, so a batch's end does not stall the stage before" {
	# the reader asks for the pipe's size once the first record is through,
	# when sg-score has long set it (F_GETPIPE_SZ is 1032)
	run --separate-stderr sh -c 'printf "%s\n" "{\"type\":\"note\"}" | sg-score |
		python3 -c "import fcntl, sys; l = sys.stdin.readline(); print(l.strip(), fcntl.fcntl(0, 1032))"'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '{"type":"note"} 1048576'
}

# The accepted samples of a run, arm ARM, from label<TAB>text lines, into
# out.jsonl, and a state that records them: what sg-score -s reads.
accepted() {
	jq -R -c --arg arm "$1" 'split("\t") | {type: "sample", run: "r",
		batch: 0, arm: $arm, data: {text: .[1], label: .[0]}}' >> out.jsonl
	jq -n --argjson b "$(wc -c < out.jsonl)" \
		'{format: "sg-state", version: 1, run: "r",
		  output: {path: "out.jsonl", bytes: $b}}' > st
}

# A batch of arm ARM from label<TAB>text lines, with a labelled recipe.
labelled_batch() {
	jq -nc --arg arm "$1" '{type: "job", run: "r", batch: 1, n: 4, arm: $arm,
		recipe: {task_input: {labels: ["pos", "neg"]}}}'
	jq -R -n -c --arg arm "$1" '[inputs] | to_entries[] | .key as $i | .value |
		split("\t") | {type: "sample", id: "r:1:\($i)", run: "r", batch: 1,
		arm: $arm, data: {text: .[1], label: .[0]}}'
	echo '{"type":"batch","run":"r","batch":1,"n":4}'
}

# Each sample's [pass, fidelity above $2, fidelity below 0.001] in
# $output, from sg-score -s st on $1, which must succeed without a word.
fidelities() {
	run --separate-stderr scored "select(.type == \"sample\") |
		[.pass, .fidelity > $2, .fidelity < 0.001]" -s st "$1"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

# The records of FILE with the label<TAB>text lines of standard input as
# its job's recipe's examples.
with_examples() {
	jq -c --argjson ex "$(jq -R -s -c 'split("\n") | map(select(length > 0) |
		split("\t") | {label: .[0], text: .[1]})')" \
		'if .type == "job" then .recipe.task_input.examples = $ex else . end' "$1"
}

ACCEPTED='pos	good great fine lovely
neg	bad awful poor dreadful
pos	great lovely good nice
neg	awful dreadful bad horrid'

@test "sg-score -s: novelty is the share of a sample's n-grams the accepted samples lack" {
	for i in 1 2 3; do echo "$ACCEPTED"; done | accepted a
	# one sample the output has, one of new words only: 0 and 1
	printf '%s\n' 'pos	good great fine lovely' 'neg	zebra quartz' | labelled_batch b > in
	run --separate-stderr scored 'select(.type == "reward") | .parts.novelty' -s st in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" 0.5
	# without -s nothing is weighed against the dataset
	run --separate-stderr scored 'select(.type == "reward") | [.parts.novelty, .parts.fidelity, .parts.labels]' in
	assert_equal "$output" '[null,null,null]'
}

@test "sg-score -s: fidelity is low for labels the other arms' samples contradict" {
	# ten samples of each label: enough for a model
	for i in 1 2 3 4 5; do echo "$ACCEPTED"; done | accepted a
	printf '%s\n' 'pos	good lovely nice' 'neg	awful horrid bad' | labelled_batch b > right
	printf '%s\n' 'neg	good lovely nice' 'pos	awful horrid bad' | labelled_batch b > wrong
	right=$(scored 'select(.type == "reward") | .parts.fidelity' -s st right)
	wrong=$(scored 'select(.type == "reward") | .parts.fidelity' -s st wrong)
	jq -ne "$right > 0.9 and $wrong < 0.1"
	# an arm is not judged by its own samples: arm a's model is b's, empty
	run --separate-stderr scored 'select(.type == "reward") | .parts.fidelity' -s st \
		<(sed 's/"arm":"b"/"arm":"a"/' wrong)
	assert_equal "$output" null
	# the rewards order the batches the same way
	[ "$(scored 'select(.type == "reward") | .reward' -s st right)" \
		'>' "$(scored 'select(.type == "reward") | .reward' -s st wrong)" ]
}

@test "sg-score -s: a sample whose label all the accepted samples contradict does not pass" {
	for i in 1 2 3 4 5; do echo "$ACCEPTED"; done | accepted a
	printf '%s\n' 'pos	good great fine lovely nice' 'neg	good great fine lovely nice' |
		labelled_batch b > in
	run --separate-stderr scored 'select(.type == "sample") | [.data.label, .pass, .fidelity > 0.999, .fidelity < 0.001]' -s st in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '["pos",true,true,false]
["neg",false,false,true]'
	# its fidelity still counts in the batch's: the mean of the two
	run --separate-stderr scored 'select(.type == "reward") | [.passed, (.parts.fidelity * 100 | round)]' -s st in
	assert_equal "$output" '[1,50]'
	# quality.min_fidelity 0 takes every label
	jq -c 'if .type == "job" then .recipe.quality.min_fidelity = 0 else . end' in > all
	run --separate-stderr scored 'select(.type == "sample") | .pass' -s st all
	assert_equal "$output" 'true
true'
	# without -s there is no model to ask
	run --separate-stderr scored 'select(.type == "sample") | [.pass, .fidelity]' in
	assert_equal "$output" '[true,null]
[true,null]'
}

@test "sg-score -s: the recipe's examples join the model that measures fidelity" {
	# the accepted samples are the batch's own arm's: no other arm's model
	for i in 1 2 3 4 5; do echo "$ACCEPTED"; done | accepted b
	printf '%s\n' 'pos	good great fine lovely nice' 'neg	good great fine lovely nice' |
		labelled_batch b > in
	run --separate-stderr scored 'select(.type == "sample") | [.pass, .fidelity]' -s st in
	assert_equal "$output" '[true,null]
[true,null]'
	# ten examples of each label in the recipe are enough for one
	for i in 1 2 3 4 5; do echo "$ACCEPTED"; done | with_examples in > ex
	fidelities ex 0.999
	assert_equal "$output" '[true,true,false]
[false,false,true]'
}

@test "sg-score -s: a label no accepted sample has yet is known from the examples" {
	# the other arm's samples are all pos; the examples bring neg
	for i in 1 2 3 4 5; do echo "$ACCEPTED"; done | grep '^pos' | accepted a
	printf '%s\n' 'neg	awful horrid bad' 'neg	good great fine lovely nice' |
		labelled_batch b > batch
	for i in 1 2 3 4 5; do echo "$ACCEPTED"; done | grep '^neg' | with_examples batch > in
	fidelities in 0.99
	assert_equal "$output" '[true,true,false]
[false,false,true]'
}

@test "sg-score -s: a snapshot's table is used where it lies; garbled, it costs the figures, not the run" {
	for i in $(seq 15); do echo "$ACCEPTED"; done | accepted a
	printf '%s\n' 'pos	good zebra' 'neg	quartz bad' | labelled_batch b > in
	parts='select(.type == "reward") | .parts'
	first=$(scored "$parts" -s st in)
	snap=$(ls st.profile-*)
	# read again from it: the same figures
	assert_equal "$(scored "$parts" -s st in)" "$first"
	# every cell of its table set, as no table sg-score writes is: the
	# head and the sizes still check, and the lookups end
	size=$(wc -c < "$snap")
	# the cells are the file's last 2^k bytes, its largest power of two
	cells=$(awk -v n="$size" 'BEGIN { c = 1; while (2 * c <= n) c *= 2; print c }')
	head -c $((size - cells)) "$snap" > garbled
	head -c "$cells" /dev/zero | tr '\0' '\377' >> garbled
	cmp -s garbled "$snap" && false
	mv garbled "$snap"
	run --separate-stderr timeout 20 sg-score -s st in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# what is made from scratch is the first figures again
	rm st.profile-*
	assert_equal "$(scored "$parts" -s st in)" "$first"
}

@test "sg-score -s: the labels part counts the samples that keep the recipe's mix" {
	echo "$ACCEPTED" | sed -n '1p;3p;1p;3p' | accepted a
	# 4 pos accepted: a fifth is not below half of 5 plus one sample's
	# slack; each neg is welcome; then 5 pos of 7 is not below 4 + 1
	printf '%s\n' 'pos	nice' 'neg	bad' 'neg	poor' 'pos	fine' | labelled_batch b > in
	run --separate-stderr scored 'select(.type == "reward") | .parts.labels' -s st in
	[ "$status" -eq 0 ]
	assert_equal "$output" 0.5
}

@test "sg-score -s: the accepted samples' counts are read on from a snapshot, rebuilt when it does not match" {
	# 60 samples, more than the 4 KB the snapshot checks of the output
	for i in $(seq 15); do echo "$ACCEPTED"; done | accepted a
	printf '%s\n' 'pos	good zebra' 'neg	quartz bad' | labelled_batch b > in
	parts='select(.type == "reward") | .parts'
	first=$(scored "$parts" -s st in)
	run ls st.profile-*
	[ "${#lines[@]}" -eq 1 ]
	snap=${lines[0]}
	# the first line garbled in place: from the snapshot it is never read
	cp out.jsonl out.bak
	printf '[' | dd of=out.jsonl conv=notrunc status=none
	run --separate-stderr scored "$parts" -s st in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" "$first"
	# without the snapshot it is, and says where
	mv "$snap" snap.bak
	run --separate-stderr sg-score -s st in
	[ "$status" -ne 0 ]
	assert_equal "$stderr" "sg-score: out.jsonl:1: invalid JSON at column 8: ']' expected near ':'"
	cat out.bak > out.jsonl
	mv snap.bak "$snap"
	# samples accepted since are read on from it, as from scratch
	echo "$ACCEPTED" | accepted c
	on=$(scored "$parts" -s st in)
	[ "$on" != "$first" ]
	rm st.profile-*
	assert_equal "$(scored "$parts" -s st in)" "$on"
	# a torn snapshot is rebuilt, not trusted
	head -c 200 "$snap" > torn && mv torn "$snap"
	assert_equal "$(scored "$parts" -s st in)" "$on"
	[ "$(wc -c < "$snap")" -gt 200 ]
	# a label changed in place just before the point it covers: rebuilt
	tac out.jsonl | sed '1s/"label":"neg"/"label":"pos"/' | tac > edited
	cat edited > out.jsonl
	changed=$(scored "$parts" -s st in)
	rm st.profile-*
	assert_equal "$(scored "$parts" -s st in)" "$changed"
	[ "$changed" != "$on" ]
	# the output replaced by another file of the same bytes, but for a
	# label in its first line: a new inode, so rebuilt
	sed '1s/"label":"pos"/"label":"neg"/' out.jsonl > new && mv new out.jsonl
	renamed=$(scored "$parts" -s st in)
	rm st.profile-*
	assert_equal "$(scored "$parts" -s st in)" "$renamed"
	[ "$renamed" != "$changed" ]
	# written again only once what it lacks is a quarter of what it holds
	cp "$snap" snap.before
	echo "$ACCEPTED" | accepted d
	scored "$parts" -s st in >/dev/null
	cmp "$snap" snap.before
	for i in $(seq 4); do echo "$ACCEPTED"; done | accepted e
	more=$(scored "$parts" -s st in)
	! cmp -s "$snap" snap.before
	rm st.profile-*
	assert_equal "$(scored "$parts" -s st in)" "$more"
}

@test "sg-score --dev: a batch that helps a model tested on real data scores above 1/2, one that hurts below" {
	for i in 1 2 3; do echo "$ACCEPTED"; done | accepted a
	printf '%s\n' 'pos	nice and good' 'neg	horrid and bad' 'pos	so lovely' 'neg	so dreadful' > dev.tsv
	printf '%s\n' 'pos	nice lovely' 'neg	horrid dreadful' | labelled_batch b > right
	printf '%s\n' 'neg	nice lovely' 'pos	horrid dreadful' | labelled_batch b > wrong
	run --separate-stderr scored 'select(.type == "reward") | [.parts.dev > 0.5, .dev.path, (.dev.hash | length)]' \
		-s st --dev dev.tsv right
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '[true,"dev.tsv",16]'
	run --separate-stderr scored 'select(.type == "reward") | .parts.dev < 0.5' -s st --dev dev.tsv wrong
	assert_equal "$output" true
	# the reward is the formula over its parts
	run --separate-stderr scored "select(.type == \"reward\") | (($REWARD_FORMULA) - .reward | fabs) < 1e-9" \
		-s st --dev dev.tsv wrong
	assert_equal "$output" true
	# a dev set that cannot be read stops sg-score before any record
	run --separate-stderr sg-score -s st --dev nowhere.tsv right
	[ "$status" -eq 3 ]
	assert_equal "$stderr" "sg-score: cannot open 'nowhere.tsv': No such file or directory"
	[ -z "$output" ]
}

@test "sg-score --gate: a batch that lowers the dev score is refused and weighs on no later batch" {
	for i in 1 2 3; do echo "$ACCEPTED"; done | accepted a
	printf '%s\n' 'pos	nice and good' 'neg	horrid and bad' 'pos	so lovely' 'neg	so dreadful' > dev.tsv
	printf '%s\n' 'neg	nice lovely' 'pos	horrid dreadful' | labelled_batch b > wrong
	printf '%s\n' 'pos	nice lovely' 'neg	horrid dreadful' | labelled_batch b |
		sed 's/"batch":1/"batch":2/; s/r:1:/r:2:/' > right
	run --separate-stderr scored 'select(.type == "reward") | [.batch, .parts.dev < 0.5, .reject]' \
		-s st --dev dev.tsv --gate wrong right
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$output" '[1,true,"its samples lower the dev score"]
[2,false,null]'
	# the batch after it is weighed as if it had never come
	alone=$(scored 'select(.type == "reward") | .parts' -s st --dev dev.tsv right)
	after=$(scored 'select(.type == "reward" and .batch == 2) | .parts' -s st --dev dev.tsv --gate wrong right)
	assert_equal "$after" "$alone"
	# without --gate, it is not refused and it is weighed
	run --separate-stderr scored 'select(.type == "reward") | has("reject")' -s st --dev dev.tsv wrong
	assert_equal "$output" false
	[ "$(scored 'select(.type == "reward" and .batch == 2) | .parts' -s st --dev dev.tsv wrong right)" != "$alone" ]
	# the samples pass through as they came
	[ "$(scored 'select(.type == "sample") | .pass' -s st --dev dev.tsv --gate wrong | sort -u)" = true ]
	# with nothing to gate on, a usage error
	run --separate-stderr sg-score --gate -s st right
	[ "$status" -eq 2 ]
	assert_equal "$(head -1 <<<"$stderr")" "sg-score: --gate needs --dev"
	[ -z "$output" ]
}
