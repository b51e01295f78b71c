#!/usr/bin/env bats
# The Python system's own recipes (../shared/original-recipes beside the
# checkout, every version in its history, or $SG_ORIGINAL_RECIPES) whose
# validators sg-validate applies, run by sg-run against the loopback
# stand-in: each validator means what it meant there.

load helpers
load llm-helpers

# original NAME FILE: the Python system's recipe NAME copied to FILE, from
# ../shared/original-recipes beside the checkout, or beside the main
# checkout when this one is a git worktree; skips the test without them.
original() {
	local dir=${SG_ORIGINAL_RECIPES:-$BATS_TEST_DIRNAME/../../shared/original-recipes}
	[ -d "$dir" ] || dir=$(git -C "$BATS_TEST_DIRNAME" rev-parse \
		--path-format=absolute --git-common-dir)/../../shared/original-recipes
	[ -f "$dir/$1" ] || skip "the Python system's recipes are not in $dir"
	cp "$dir/$1" "$2"
	# the rows of its dataset_path, where the desert recipes look
	mkdir -p data/sample
	cp "$BATS_TEST_DIRNAME/fixtures/original/plants.csv" data/sample/desert_plants.csv
}

# The requests of the model checks' verdicts, one JSON line each.
verdicts() {
	jq -c 'select(.body.response_format.json_schema.name == "verdict")' log.jsonl
}

# Every sample the run wrote, accepted or rejected.
samples() {
	cat out.jsonl out.jsonl.state.rejected | jq -c 'select(.type == "sample")'
}

# Whether each sample failed a check of its own, and has a judge's verdict.
own_and_judged() {
	samples | jq -c '[(.checks | del(.llm_judge, .diversity) | map(.pass) | all), has("checks") and (.checks | has("llm_judge"))]' | sort -u
}

@test "desert plants (e7170b7): the judge of its quality_criteria, model, temperature and max_tokens, at its threshold" {
	server
	original desert_plant_adaptability__e7170b7.yaml desert.yaml
	run --separate-stderr sg-run --seed 1 -o out.jsonl desert.yaml
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	! grep -E 'unknown|is off|warning' <<<"$stderr"
	[ "$(wc -l <out.jsonl)" -eq 10 ]
	# asked of the recipe's model, at its temperature, with its tokens
	[ "$(verdicts | jq -c '[.body.model, .body.temperature, .body.max_tokens]' | sort -u)" = '["gpt-4o-mini",0,2000]' ]
	# its quality_criteria are the rubric, as written
	sg-plan -n1 desert.yaml | jq -r '.recipe.validators.llm_judge.quality_criteria' >criteria
	verdicts | head -1 | jq -r '.body.messages[0].content' |
		sed -n '/^Criteria:$/,/^Quality levels:$/p' | sed '1d;$d' >asked
	[ -s criteria ]
	assert_equal "$(cat asked)" "$(cat criteria)"
	# every sample that passed its other checks was judged, no other
	[ "$(own_and_judged)" = '[true,true]' ]
	[ "$(verdicts | wc -l)" -eq "$(samples | jq -c 'select(.checks.llm_judge)' | wc -l)" ]
	# level 4 of 5 is 0.8, at least its 0.7
	[ "$(jq -c '.checks.llm_judge | [.pass, .score]' out.jsonl | sort -u)" = '[true,0.8]' ]
}

@test "desert plants (3b3128f): its threshold 0.9 refuses level 4" {
	server
	original desert_plant_adaptability__3b3128f.yaml desert.yaml
	run --separate-stderr sg-run --seed 1 -i 2 -o out.jsonl desert.yaml
	[ "$status" -eq 6 ]
	[ ! -s out.jsonl ]
	[ "$(samples | jq -c '.checks.llm_judge | [.pass, .why]' | sort -u)" = '[false,"score 0.80, less than 0.9"]' ]
}

@test "desert plants: dedup compares check_field plant, and a sample that failed it or the schema goes to no judge" {
	server
	original desert_plant_adaptability__e7170b7.yaml desert.yaml
	desc='Its thick waxy skin keeps water in through the long dry months of summer.'
	{
		jq -nc --arg d "$desc" '{plant: "Saguaro", environment: "Sonoran Desert",
			challenge: "drought", adaptation_description: $d}'
		jq -nc --arg d "$desc" '{plant: "Saguaro", environment: "Sonoran Desert",
			challenge: "heat", adaptation_description: ("In short: " + $d)}'
		jq -nc --arg d "$desc" '{plant: "Agave", environment: "Mojave", adaptation_description: $d}'
	} | jq -c '{type: "sample", id: "t:0:\(input_line_number - 1)", run: "t", batch: 0, data: .}' >in.jsonl
	run --separate-stderr sg-validate -r desert.yaml in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.id, (.checks | keys_unsorted), .valid]' <<<"$output")" \
'["t:0:0",["generate","json_schema","dedup","llm_judge"],true]
["t:0:1",["generate","json_schema","dedup"],false]
["t:0:2",["generate","json_schema","dedup"],false]'
	[ "$(jq -r '.checks.dedup.why // empty' <<<"$output")" = 'duplicate of an earlier sample (t:0:0)' ]
	[ "$(requests)" -eq 1 ]
}

@test "freediving reviews (c181240): a batch whose embedding dispersion is below diversity.threshold fails, of the embedding_model named" {
	server
	original freediving_gear_reviews__c181240.yaml fins.yaml
	run --separate-stderr sg-run --seed 1 -i 4 -o out.jsonl fins.yaml
	[ "$status" -eq 6 ]
	# each sample sent to the model checks carries its batch's dispersion,
	# and passes exactly when it is at least 0.2
	jq -c 'select(.type == "batch" and .embedding_dispersion) | {key: (.batch | tostring), value: .embedding_dispersion}' \
		out.jsonl.state.log | jq -sc from_entries >dispersions
	[ "$(jq length dispersions)" -eq 4 ]
	[ "$(samples | jq -c --slurpfile d dispersions 'select(.checks.diversity) |
		.checks.diversity.dispersion == $d[0][.batch | tostring]
		and .checks.diversity.pass == (.checks.diversity.dispersion >= 0.2)' | sort -u)" = true ]
	[ "$(jq -c '.checks.diversity.pass' out.jsonl | sort -u)" = true ]
	# openai/text-embedding-3-small is that model of the one server
	[ "$(jq -r 'select(.path == "/v1/embeddings") | .body.model' log.jsonl | sort -u)" = text-embedding-3-small ]
	[ "$(own_and_judged | tail -1)" = '[true,true]' ]
	[ "$(jq -c '.checks.llm_judge.pass' out.jsonl | sort -u)" = true ]
	# five reviews of the recipe's length saying one thing: their batch
	# is below the threshold, and every one of them fails
	for w in deep long calm blue cold; do
		jq -nc --arg w $w '{review_text: "Great fins for a \($w) dive, with strong kicks, a smooth glide and a comfortable foot pocket all day.",
			sentiment: "positive"}'
	done | jq -c '{type: "sample", id: "t:0:\(input_line_number - 1)", run: "t", batch: 0, data: .}' >in.jsonl
	echo '{"type": "batch", "run": "t", "batch": 0, "n": 5}' >>in.jsonl
	run --separate-stderr sg-validate -r fins.yaml in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c 'select(.type == "sample") | [.valid, .checks.diversity.pass, .checks.diversity.why, (.checks | del(.diversity) | map(.pass) | all)]' <<<"$output" | sort -u)" \
		"[false,false,\"its batch's embedding dispersion 0.04, less than 0.2\",true]"
}

@test "freediving reviews (e7170b7): no embedding asked without an embedding validator; the schema the grammar gives" {
	server
	original freediving_gear_reviews__e7170b7.yaml fins.yaml
	run --separate-stderr sg-run --seed 1 -i 2 -o out.jsonl fins.yaml
	! grep -E 'unknown|is off' <<<"$stderr"
	[ "$(samples | wc -l)" -eq 10 ]
	[ "$(jq -r 'select(.path != "/v1/models") | .path' log.jsonl | sort -u)" = /v1/chat/completions ]
	[ "$(samples | jq -c '.checks | has("json_schema") and has("dedup")' | sort -u)" = true ]
	[ "$(samples | jq -c 'select(.checks.llm_judge) | .checks.llm_judge | [.pass, .score]' | sort -u)" = '[true,0.8]' ]
}
