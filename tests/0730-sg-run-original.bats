#!/usr/bin/env bats
# Recipes in each of the Python system's shapes (tests/fixtures/original:
# Q&A, rewrite, CSV batch, a description per dataset row, reviews with a
# grammar and a judge), each run by sg-run against the stand-in server to
# its target; a batch input's rows in its samples and as CSV; a bad batch
# input stopped before any request.

load helpers
load llm-helpers

ORIG=$BATS_TEST_DIRNAME/fixtures/original

# Runs the fixture $1 to its target of $2 accepted samples.
to_target() {
	cp "$ORIG"/* .
	server
	run --separate-stderr sg-run --seed 1 -o "$1.jsonl" "$1.yaml"
	[ "$status" -eq 0 ]
	! grep -q 'unknown field' <<<"$stderr"
	[[ "$stderr" == *"$2/$2 accepted in '$1.jsonl'"* ]]
	[ "$(wc -l <"$1.jsonl")" -eq "$2" ]
}

@test "Q&A with topic, context and difficulty reaches its target" {
	to_target qa 12
	[ "$(jq -s 'map(.subtopic) | unique | length' qa.jsonl)" -eq 12 ]
	# one planning request for the whole run
	[ "$(jq -s 'map(select(.body.messages[-1].content // "" | test("distinct sub-topics"))) | length' log.jsonl)" -eq 1 ]
}

@test "rewrite with original_input and expected_output reaches its target" {
	to_target rewrite 8
	grep -q 'Original input: Book me a table for two at eight tonight.' log.jsonl
}

@test "CSV batch: num_samples spread over the rows, each kept in its sample, CSV out" {
	to_target csv-batch 12
	assert_equal "$(jq -r '.row.original_input' csv-batch.jsonl | sort | uniq -c | awk '{print $1}' | sort -u)" 3
	run --separate-stderr sg-export -f csv csv-batch.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(head -1 <<<"$output")" '"id","input","output","source"'
	[ "$(grep -c '^"csv-batch:' <<<"$output")" -eq 12 ]
	# the CSV reads back: the columns kept, the input the sample's text
	/usr/bin/python3 -c '
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
samples = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == 12
for r, s in zip(rows, samples):
    assert r["id"] == s["id"] and r["input"] == s["data"], (r, s)
    assert r["output"] == s["row"]["expected_output"]
    assert r["source"] == s["row"]["columns"]["source"]
' <(echo "$output") csv-batch.jsonl
}

@test "a description per dataset row reaches its target" {
	to_target description 6
	assert_equal "$(jq -r '.row.plant' description.jsonl | sort | uniq -c | awk '{print $1}' | sort -u)" 2
}

@test "reviews with a grammar and a judge reach their target" {
	to_target reviews 10
	[ "$(jq -s 'map(.checks.llm_judge.pass) | unique' reviews.jsonl | jq -c .)" = '[true]' ]
}

# sg-plan refuses r.yaml, its batch input holding $1, with stderr $2.
refused() {
	printf "$1" >none.csv
	run --separate-stderr sg-plan r.yaml
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ "$stderr" = "$2" ]
}

@test "a bad batch input stops sg-plan at its position, before any request" {
	cp "$ORIG"/csv-batch.yaml r.yaml
	server
	sed -i 's/train.csv/none.csv/' r.yaml
	run --separate-stderr sg-plan r.yaml
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-plan: r.yaml:5:15: \"task_input.input_file\": cannot open 'none.csv': No such file or directory" ]
	refused 'input,output\n"unclosed,x\n' \
		'sg-plan: r.yaml:5:15: "task_input.input_file": none.csv:2: not CSV: error parsing data while strict checking enabled'
	refused 'input,output\na,b,c\n' \
		'sg-plan: r.yaml:5:15: "task_input.input_file": none.csv:2: not CSV: 3 fields where the header has 2'
	refused 'text,output\na,b\n' \
		"sg-plan: r.yaml:6:17: \"task_input.input_column\": 'none.csv' has no column \"input\" (its columns: text, output)"
	printf 'input\na\n' >none.csv
	run --separate-stderr sg-run -o out.jsonl r.yaml
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-run: r.yaml:7:18: \"task_input.output_column\": 'none.csv' has no column \"output\" (its columns: input)" ]
	[ "$(requests)" -eq 0 ]
	# JSON Lines: every row must have the column
	sed -i 's/none.csv/rows.jsonl/' r.yaml
	printf '{"input": "a", "output": "b"}\n{"output": "c"}\n' >rows.jsonl
	run --separate-stderr sg-plan r.yaml
	[ "$status" -eq 3 ]
	[ "$stderr" = 'sg-plan: r.yaml:6:17: "task_input.input_column": rows.jsonl:2 has no "input"' ]
}
