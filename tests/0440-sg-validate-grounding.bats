#!/usr/bin/env bats
# sg-validate's grounding checks, offline: faithfulness of numbers, names
# and words to a sample's source passages (from its provenance, itself or
# its data), and TF-IDF relevance to the task description.

load helpers

# recipe VALIDATORS: a recipe file r.json about a museum's opening hours.
recipe() {
	jq -nc --argjson v "$1" '{domain: "d", num_samples: 1,
		task_input: {description: "opening hours and ticket prices of the city museum"},
		validators: $v}' >r.json
}

SRC='The City Museum opens at 9 every day. Tickets cost 1,250 yen for adults.'

@test "faithfulness: numbers and names must be in the sources; coverage counts words" {
	recipe '{"faithfulness": {"min_coverage": 0.5}}'
	{
		jq -nc --arg s "$SRC" '{type: "sample", id: "t:0:0", run: "t", batch: 0,
			data: "The museum opens at 9. Tickets cost 1250 yen.",
			provenance: {sources: [$s]}}'
		jq -nc --arg s "$SRC" '{type: "sample", id: "t:0:1", run: "t", batch: 0,
			data: {answer: "The museum opens at 10, said Picasso.", sources: $s}}'
		jq -nc --arg s "$SRC" '{type: "sample", id: "t:0:2", run: "t", batch: 0,
			data: "Museum visitors love bright modern galleries everywhere.",
			passages: $s}'
		jq -nc '{type: "sample", id: "t:0:3", run: "t", batch: 0, data: "no sources"}'
	} >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.faithfulness, .valid]' <<<"$output")" \
'[{"pass":true,"missing":[],"coverage":1},true]
[{"pass":false,"why":"2 numbers or names not in the sources","missing":["10","Picasso"],"coverage":0.5},false]
[{"pass":false,"why":"coverage 0.14, less than the minimum 0.5","missing":[],"coverage":0.1428571429},false]
[null,true]'
}

@test "relevance: the TF-IDF cosine to the task description" {
	recipe '{"relevance": {"min_similarity": 0.2}}'
	{
		jq -nc '{type: "sample", id: "t:0:0", run: "t", batch: 0,
			data: "The city museum opening hours: 9 to 5; ticket prices from 10."}'
		jq -nc '{type: "sample", id: "t:0:1", run: "t", batch: 0,
			data: "Bananas are yellow fruit grown on tropical farms."}'
	} >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.relevance.pass, .checks.relevance.similarity > 0.2]' <<<"$output")" \
'[true,true]
[false,false]'
	assert_equal "$(jq -r '.checks.relevance.why // empty' <<<"$output")" \
		'TF-IDF cosine 0.00 to the task, less than 0.2'
}
