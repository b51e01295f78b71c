#!/usr/bin/env bats
# What the LLM arms tell the model: every field of task_input, of the
# sample's row and of the constraints, for the Python system's recipe
# shapes; and what makes each prompt of a batch its own: attributes drawn
# per sample, or sub-topics planned once per run.

load helpers
load llm-helpers

ORIG=$BATS_TEST_DIRNAME/fixtures/original

# A job of $2 samples of recipe $1 for generator $3 (default naive).
orig_job() {
	sg-plan --llm -n1 -b "$2" "$1" | jq -c ". + {batch: 0,
		arm: \"a\", generator: \"${3:-naive}\", seed: 5,
		params: {temperature: 0.7, rounds: 1}} | ${4:-.}"
}

# The user prompts the stand-in was sent, but the planning request's.
prompts() {
	jq -r 'select(.body.messages) | .body.messages[-1].content |
		select(test("distinct sub-topics") | not)' log.jsonl
}

# Fails unless every prompt of sample requests holds each of the lines.
in_every_prompt() {
	local n
	n=$(jq -s 'map(select(.body.messages | length == 2) |
		select(.body.messages[1].content | test("distinct sub-topics") | not)) | length' log.jsonl)
	[ "$n" -gt 0 ]
	for want in "$@"; do
		got=$(jq -s --arg w "$want" 'map(select(.body.messages | length == 2) |
			.body.messages[1].content | select(test("distinct sub-topics") | not) |
			select(index($w) != null)) | length' log.jsonl)
		[ "$got" -eq "$n" ] || { echo "missing in $((n - got)) of $n: $want" >&2; return 1; }
	done
}

@test "Q&A: topic, context, difficulty and every constraint reach the prompt" {
	server
	run --separate-stderr sg-gen <(orig_job "$ORIG/qa.yaml" 3 naive '.recipe.subtopics = 0')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	in_every_prompt "Domain: qa_pairs" "Topic: Rust ownership" \
		"Context: Every value in Rust has one owner; when the owner goes out of scope the value is dropped." \
		"Difficulty: intermediate" "Question types: what, how, why" \
		"Answer length range: 40, 180" "Include code examples: yes"
}

@test "rewrite: original_input, expected_output, its description, context, examples" {
	server
	run --separate-stderr sg-gen <(orig_job "$ORIG/rewrite.yaml" 2 naive '.recipe.subtopics = 0')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	in_every_prompt "Rewrite the input into one new variant" \
		"Original input: Book me a table for two at eight tonight." \
		"Expected output: restaurant_booking" \
		"Task description: Intent classification for a dining assistant" \
		"Context: A user talking to a restaurant chatbot" \
		'{"input":"Reserve a spot for four on Friday.","output":"restaurant_booking"}' \
		"Variation strategy: paraphrase" "Preserve intent: yes"
	# a check's threshold is not for the model
	! prompts | grep -q 'Semantic similarity'
}

@test "description per row: the row's fields, nested bounds, boolean constraints" {
	server
	run --separate-stderr sg-gen <(orig_job "$ORIG/description.yaml" 3 naive '.recipe.subtopics = 0')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	in_every_prompt "Task: educational_description" "Target audience: middle school students" \
		"Tone: engaging and informative" "Description length sentences: min 2, max 4" \
		"Educational value: yes" "Age appropriate language: yes"
	# a row's fields, in the prompts in whatever order they arrived
	assert_equal "$(prompts | grep -E '^(Plant|Environment|Challenge):' | paste - - - | sort)" \
"$(printf '%s\t%s\t%s\n' 'Plant: Creosote bush' 'Environment: Mojave Desert' 'Challenge: salty soil and drought' \
	'Plant: Saguaro cactus' 'Environment: Sonoran Desert' 'Challenge: months without rain' \
	'Plant: Welwitschia' 'Environment: Namib Desert' 'Challenge: scorching sand and fog-only water')"
	# the file and its columns are not
	! prompts | grep -q 'plants.csv'
	assert_equal "$(jq -c 'select(.type == "sample") | [.row.plant, .row.line]' <<<"$output")" \
'["Saguaro cactus",2]
["Welwitschia",3]
["Creosote bush",4]'
}

@test "evol and rag carry the task too; evol starts from the row's input" {
	server
	run --separate-stderr sg-gen <(orig_job "$ORIG/csv-batch.yaml" 2 evol '.recipe.subtopics = 0')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	prompts | grep -q '^#The Given Prompt#:$'
	# the two rows' requests are in flight together: in either order
	assert_equal "$(prompts | grep -A1 '^#The Given Prompt#:$' | grep -v '^#The\|^--' | sort)" \
'Turn the lights off in the kitchen
What'"'"'s on my calendar, tomorrow?'
	[ "$(prompts | grep -c '^Task description: Intent classification for a smart home assistant$')" -ge 2 ]
	[ "$(prompts | grep -c '^Original input: Turn the lights off in the kitchen$')" -ge 1 ]
	mkdir kb && echo "Rust moves a value to its new owner." >kb/own.txt
	cp "$ORIG/qa.yaml" . && echo 'knowledge_base: kb' >>qa.yaml
	run --separate-stderr sg-gen <(orig_job qa.yaml 1 rag '.recipe.subtopics = 0')
	[ "$status" -eq 0 ]
	prompts | tail -n 30 | grep -q '^Difficulty: intermediate$'
}

@test "sub-topics: one planning request per run, cached; a batch's prompts all differ" {
	server
	orig_job "$ORIG/qa.yaml" 4 >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	plan=$(jq -c 'select(.body.messages[-1].content | test("List 12 distinct sub-topics"))' log.jsonl | wc -l)
	[ "$plan" -eq 1 ]
	assert_equal "$(jq -r 'select(.type == "sample") | .subtopic' <<<"$output" | sed 's/ [0-9a-f]*-/ -/')" \
'sub-topic -0
sub-topic -1
sub-topic -2
sub-topic -3'
	[ "$(prompts | grep -c '^Its sub-topic: ')" -ge 4 ]
	[ "$(jq -s 'map(select(.body.messages | length == 2) | .body.messages[1].content) | unique | length' log.jsonl)" -eq 5 ]
	# the next job takes the next sub-topics, the plan from the cache
	sent=$(requests)
	run --separate-stderr sg-gen <(jq -c '.job = 1 | .seed = 6' job.jsonl)
	[ "$status" -eq 0 ]
	[ "$(jq -s 'map(select(.body.messages[-1].content | test("distinct sub-topics"))) | length' log.jsonl)" -eq 1 ]
	assert_equal "$(jq -r 'select(.type == "sample") | .subtopic' <<<"$output" | sed 's/ [0-9a-f]*-/ -/')" \
'sub-topic -4
sub-topic -5
sub-topic -6
sub-topic -7'
	[ "$(requests)" -gt "$sent" ]
}

@test "sub-topics a model cannot plan: noted, and the samples are still made" {
	server
	orig_job "$ORIG/qa.yaml" 2 naive '.recipe.task_input.topic = "NOPLAN"' >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ "$stderr" = "sg-gen: job.jsonl:1: no sub-topics planned: the answer holds no JSON object or array" ]
	[ "$(jq -s 'map(select(.type == "sample" and .subtopic == null)) | length' <<<"$output")" -eq 2 ]
}

@test "attributes: drawn per sample by weight, no two alike in a batch, kept in the sample" {
	server
	run --separate-stderr sg-gen <(orig_job "$ORIG/qa.yaml" 6 naive \
		'.recipe.attributes = {question_type: ["what", "how", "why"], reader: {student: 1, engineer: 2, manager: 0}}')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# 6 combinations with weight: no planning request, six distinct
	[ "$(jq -s 'map(select(.body.messages[-1].content | test("distinct sub-topics"))) | length' log.jsonl)" -eq 0 ]
	[ "$(jq -s 'map(select(.type == "sample") | .attributes) | unique | length' <<<"$output")" -eq 6 ]
	[ "$(jq -s 'map(select(.type == "sample") | .attributes.reader) | index("manager")' <<<"$output")" = null ]
	assert_equal "$(jq -c 'select(.type == "sample") | .subtopic' <<<"$output" | sort -u)" null
	in_every_prompt "Give it these attributes:"
	[ "$(prompts | grep -c '^  question_type: ')" -eq 6 ]
	# fewer combinations than samples: sub-topics too
	run --separate-stderr sg-gen <(orig_job "$ORIG/qa.yaml" 4 naive \
		'.recipe.attributes = {question_type: ["what", "how"]}')
	[ "$status" -eq 0 ]
	[ "$(jq -s 'map(select(.type == "sample") | [.attributes, .subtopic]) | unique | length' <<<"$output")" -eq 4 ]
}

@test "bad attributes and subtopics are refused at their position" {
	cp "$ORIG/qa.yaml" r.yaml
	printf 'attributes:\n  tone: []\n' >>r.yaml
	run --separate-stderr sg-plan r.yaml
	[ "$status" -eq 3 ]
	[ "$stderr" = 'sg-plan: r.yaml:17:9: "attributes.tone" must be a list of values or a mapping of values to weights' ]
	cp "$ORIG/qa.yaml" r.yaml
	printf 'subtopics: -1\n' >>r.yaml
	run --separate-stderr sg-plan r.yaml
	[ "$status" -eq 3 ]
	[ "$stderr" = 'sg-plan: r.yaml:16:12: "subtopics" must be an integer not less than 0' ]
}
