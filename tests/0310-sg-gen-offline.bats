#!/usr/bin/env bats
# sg-gen's offline generators besides the templater: eda (Easy Data
# Augmentation over the recipe's seed examples, synonyms from WordNet) and
# extractive (sentences or passages of the knowledge base, labelled, for a
# recipe with labels, by a model of the examples and accepted samples).

load helpers

# A job of generator $1 with n = $2, changed by the jq filter $3.
job() {
	jq -nc --arg g "$1" --arg kb "$FIXTURES/kb" "{type: \"job\", run: \"o\", n: $2,
		context: {format: \"jsonl\"}, recipe: {domain: \"headphones\",
		output_format: \"jsonl\", knowledge_base: \$kb, task_input: {examples: [
		\"The battery easily lasts twenty hours and the sound is excellent.\",
		{text: \"Comfortable headphones with clear calls.\", label: \"positive\"}]}},
		batch: 2, arm: \$g, generator: \$g, params: {alpha: 0.2}, seed: 9} | ${3:-.}"
}

samples() {
	printf '%s\n' "$output" | jq -c "select(.type == \"sample\") | $1"
}

@test "eda: the four operations over the seeds, labels kept, same job same bytes" {
	job eda 60 >job.jsonl
	run --separate-stderr sg-gen job.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	first=$output
	run --separate-stderr sg-gen job.jsonl
	assert_equal "$output" "$first"
	assert_equal "$(samples '.provenance.operation' | sort -u | tr -d '\n')" '"rd""ri""rs""sr"'
	assert_equal "$(samples '.provenance.seed' | sort -u | tr -d '\n')" '01'
	# an object seed keeps its other fields
	assert_equal "$(samples 'select(.provenance.seed == 1) | .data.label' | sort -u)" '"positive"'
	seed0='The battery easily lasts twenty hours and the sound is excellent.'
	words() { tr ' ' '\n' | sort; }
	# a swap keeps the words; a deletion keeps a subsequence; an insertion adds
	for s in $(samples 'select(.provenance.seed == 0 and .provenance.operation == "rs") | .data | @base64' | tr -d '"'); do
		assert_equal "$(echo "$s" | base64 -d | words)" "$(echo "$seed0" | words)"
	done
	for s in $(samples 'select(.provenance.seed == 0 and .provenance.operation == "rd") | .data | @base64' | tr -d '"'); do
		t=$(echo "$s" | base64 -d)
		[ "$(echo "$t" | wc -w)" -lt 11 ]
		[ -z "$(comm -23 <(echo "$t" | words) <(echo "$seed0" | words))" ]
	done
	for s in $(samples 'select(.provenance.seed == 0 and .provenance.operation == "ri") | .data | @base64' | tr -d '"'); do
		[ "$(echo "$s" | base64 -d | wc -w)" -gt 10 ]
	done
	[ "$(printf '%s\n' "$output" | tail -1 | jq -c '[.generated, .errors]')" = '[60,0]' ]
}

@test "eda: synonyms are WordNet's" {
	run --separate-stderr sg-gen < <(job eda 40 '.recipe.task_input.examples = ["Happy."] | .params.alpha = 1')
	[ "$status" -eq 0 ]
	# happy: felicitous, glad, well-chosen (adjective synsets)
	assert_equal "$(samples 'select(.provenance.operation == "sr") | .data' | sort -u | tr -d '\n')" \
		'"Felicitous.""Glad.""Well-chosen."'
}

@test "eda: without seed examples or WordNet the job fails with the reason" {
	run --separate-stderr sg-gen < <(job eda 2 '.recipe.task_input = {}')
	[ "$status" -eq 7 ]
	assert_equal "$stderr" 'sg-gen: <stdin>:1: eda needs seed examples in task_input.examples'
	run --separate-stderr env SG_WORDNET=/nonexistent sg-gen < <(job eda 1)
	[ "$status" -eq 7 ]
	assert_equal "$stderr" "sg-gen: <stdin>:1: eda needs WordNet: cannot open '/nonexistent/index.noun': No such file or directory"
}

@test "eda: a planned label takes a seed of that label; one no seed has is an error sample" {
	run --separate-stderr sg-gen < <(job eda 6 '.recipe.task_input.examples += [
		{text: "The cable broke within a week.", label: "negative"},
		{text: "Great bass and a solid case.", label: "positive"}] |
		.label_plan = ["negative", "negative", "negative", "positive", "positive", "neutral"]')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# the negative seed is number 2, the positive ones 1 and 3
	assert_equal "$(samples '.provenance.seed' | head -5 | jq -sc '[.[:3] == [2, 2, 2], .[3:] - [1, 3] == []]')" \
		'[true,true]'
	assert_equal "$(samples '.data.label' | head -5 | tr -d '\n')" \
		'"negative""negative""negative""positive""positive"'
	assert_equal "$(samples '.error' | tail -1)" \
		'"eda needs seed examples whose label is \"neutral\" in task_input.examples"'
	assert_equal "$(printf '%s\n' "$output" | tail -1 | jq -c '[.generated, .errors]')" '[5,1]'
}

@test "extractive: sentences of the knowledge base with their ids" {
	run --separate-stderr sg-gen < <(job extractive 30 '.params.sentences = 2')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(samples '.provenance.passages | length' | sort -u)" = 2 ]
	# files in name order, sentences numbered across them
	[ "$(samples '.provenance.passages[]' | sort -u | head -1)" = '"battery.md.s0"' ]
	assert_equal "$(samples 'select(.provenance.passages[0] == "noise.md.s3") | .data.text' | sort -u)" \
		'"Active noise cancelling uses microphones to cancel steady sounds such as engine hum. It works less well on voices."'
	run --separate-stderr sg-gen < <(job extractive 3 '.context.format = "text" | .recipe.knowledge_base = "kb/noise.md"' |
		jq -c --arg p "$FIXTURES/recipe.yaml" '.recipe_path = $p')
	[ "$status" -eq 0 ]
	[ "$(samples '.data | type' | sort -u)" = '"string"' ]
	# a sentence is three words or more
	printf 'Wow. The sound is rich and full. Ok!\n\nGreat.\n' >short.txt
	run --separate-stderr sg-gen < <(job extractive 5 ".recipe.knowledge_base = \"$PWD/short.txt\"")
	[ "$status" -eq 0 ]
	assert_equal "$(samples '[.provenance.passages[0], .data.text]' | sort -u)" '["short.txt.s0","The sound is rich and full."]'
	# a paragraph that is not UTF-8 is left out, and not counted; one of
	# UTF-8 beyond ASCII is kept
	printf 'Caf\xc3\xa9 au lait is fine here.\n\nA bad \xff byte in this one.\n\nPlain text is here.\n' >mixed.txt
	run --separate-stderr sg-gen < <(job extractive 20 ".params = {passages: 1} | .recipe.knowledge_base = \"$PWD/mixed.txt\"")
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(samples '.provenance.passages[0] + " " + .data.text' | sort -u)" \
		"$(printf '"mixed.txt#0 Caf\xc3\xa9 au lait is fine here."\n"mixed.txt#1 Plain text is here."')"
	run --separate-stderr sg-gen < <(job extractive 1 '.recipe.knowledge_base = "/nonexistent"')
	[ "$status" -eq 7 ]
	assert_equal "$stderr" "sg-gen: <stdin>:1: cannot open '/nonexistent': No such file or directory"
}

# A labelled extractive job over a knowledge base of reviews, a paragraph
# each; its plan is $1 (positive and negative), changed by the jq filter $2.
# Two examples make a model too weak for the default confidence, 0.9999.
labelled() {
	printf '%s\n\n' 'Great sound, I love it.' 'Terrible battery, it broke in a day.' \
		'Great case, I love the colour.' 'The cable broke, terrible.' \
		'Love the great bass.' 'Terrible fit, the band broke.' >reviews.txt
	job extractive "$(jq -n "$1 | length")" ".recipe.knowledge_base = \"$PWD/reviews.txt\" |
		.recipe.task_input = {labels: [\"positive\", \"negative\"], examples: [
			{text: \"I love it, great\", label: \"positive\"},
			{text: \"It broke, terrible\", label: \"negative\"}]} |
		.params = {passages: 1, confidence: 0.9} | .label_plan = $1 | ${2:-.}"
}

@test "extractive: with labels, passages the model gives the planned label" {
	run --separate-stderr sg-gen < <(labelled '["positive", "negative", "positive", "negative", "negative"]')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(samples '.data.label' | tr -d '\n')" '"positive""negative""positive""negative""negative"'
	# whole passages, each holding its label's words, with the model's confidence
	[ "$(samples 'select(.data.label == "positive") | .data.text | test("Great|Love")' | sort -u)" = true ]
	[ "$(samples 'select(.data.label == "negative") | .data.text | test("Terrible|broke")' | sort -u)" = true ]
	[ "$(samples '.provenance | (.passages | length == 1) and .confidence >= 0.9' | sort -u)" = true ]
	[ "$(samples '.data | keys' | sort -u)" = '["label","text"]' ]
	# the recipe's fields name the sample's, and the examples'
	run --separate-stderr sg-gen < <(labelled '["positive"]' '.recipe.evaluation = {text_field: "review", label_field: "y"} |
		.recipe.task_input.examples |= map({review: .text, y: .label})')
	[ "$status" -eq 0 ]
	[ "$(samples '.data | keys' | sort -u)" = '["review","y"]' ]
}

@test "extractive: with -s, the samples the run has accepted teach the model" {
	jq -nc '{type: "sample", arm: "a", data: {text: "I love it, great", label: "positive"}},
		{type: "sample", arm: "a", data: {text: "It broke, terrible", label: "negative"}}' >accepted.jsonl
	jq -n --arg p "$PWD/accepted.jsonl" --argjson b "$(wc -c <accepted.jsonl)" \
		'{output: {path: $p, bytes: $b}}' >st
	run --separate-stderr sg-gen -s st < <(labelled '["positive", "negative"]' '.recipe.task_input.examples = []')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(samples '[.data.label, (.data.text | test("Great|Love"))]' | tr -d '\n')" \
		'["positive",true]["negative",false]'
	# without them nothing tells the labels apart: each sample is an error,
	# not the job; a missing state is a run not begun
	run --separate-stderr sg-gen -s missing < <(labelled '["positive", "negative"]' '.recipe.task_input.examples = []')
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-gen: nothing generated: <stdin>:1: sample 0: no labelled samples yet to tell "positive" from another label'
	assert_equal "$(samples '.error' | sort -u)" '"no labelled samples yet to tell \"negative\" from another label"
"no labelled samples yet to tell \"positive\" from another label"'
	assert_equal "$(printf '%s\n' "$output" | tail -1 | jq -c '[.generated, .errors]')" '[0,2]'
	echo '{' >bad
	run --separate-stderr sg-gen -s bad < <(labelled '["positive"]')
	[ "$status" -eq 7 ]
	assert_equal "$stderr" "sg-gen: <stdin>:1: state 'bad': string or '}' expected near end of file"
}

@test "extractive: a label no passage has with the confidence asked is an error sample" {
	run --separate-stderr sg-gen < <(labelled '["positive", "negative"]' '.params.confidence = 1')
	[ "$status" -eq 1 ]
	assert_equal "$(samples '.error' | sort -u)" '"no passage in 200 draws is labelled \"negative\" with confidence 1"
"no passage in 200 draws is labelled \"positive\" with confidence 1"'
	run --separate-stderr sg-gen < <(labelled '["positive"]' 'del(.params.confidence)')
	[ "$status" -eq 1 ]
	assert_equal "$(samples '.error')" '"no passage in 200 draws is labelled \"positive\" with confidence 0.9999"'
	run --separate-stderr sg-gen < <(labelled '["positive"]' '.params.confidence = 2')
	[ "$status" -eq 7 ]
	assert_equal "$stderr" 'sg-gen: <stdin>:1: params "confidence" is not a number in [0, 1]'
}
