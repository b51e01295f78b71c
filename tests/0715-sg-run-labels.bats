#!/usr/bin/env bats
# sg-run and a recipe's label mix: each arm asked for the labels sg-plan
# plans keeps the accepted set within 2 points of label_distribution; the
# plan goes on from the state's counts after a resume; the summary shows
# the counts.

load helpers
load llm-helpers

# The sentiment example, its mix made $1 positive to $2 negative, of $3
# samples, written to $4.
sentiment() {
	sed -e "s/^\(    positive:\) 0.5/\1 $1/" -e "s/^\(    negative:\) 0.5/\1 $2/" \
		-e "s/^num_samples: 300/num_samples: $3/" \
		"$EXAMPLES/sentiment/sentiment.yaml" >"$4"
}

# Whether the labels of the samples in $1 are positive for $2 percent of
# them, give or take 2 points.
within() {
	jq -se --argjson want "$2" 'map(.data.label) |
		(map(select(. == "positive")) | length) * 100 / length - $want |
		fabs <= 2' "$1"
}

# The summary line of the label counts in the dataset $1, 70/30 mix.
summary() {
	jq -rs 'map(.data.label) | length as $n |
		(map(select(. == "positive")) | length) as $p | ($n - $p) as $q |
		"sg-run: labels: positive \($p) (\($p * 1000 / $n | round / 10 |
		tostring | if test("\\.") then . else . + ".0" end)%, mix 70.0%),"
		+ " negative \($q) (\($q * 1000 / $n | round / 10 |
		tostring | if test("\\.") then . else . + ".0" end)%, mix 30.0%)"' "$1"
}

@test "templater: a 70/30 mix of a grammar drawing half and half; the summary counts it" {
	sentiment 0.7 0.3 100 r.yaml
	# the start rule's options weigh 0.5 each, as in the example
	grep -q "weight: 0.5" r.yaml
	run --separate-stderr sg-run --seed 2 -o d.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(wc -l <d.jsonl)" -eq 100 ]
	within d.jsonl 70
	assert_equal "$(jq -c .labels d.jsonl.state)" \
		"$(jq -sc 'map(.data.label) | group_by(.) | map({(.[0]): length}) | add |
			{positive, negative}' d.jsonl)"
	assert_equal "$(echo "$stderr" | grep '^sg-run: labels: ')" "$(summary d.jsonl)"
	# every job planned its labels, the templater drew them all
	[ "$(jq -s 'map(select(.type == "job") | .label_plan | length == 10) | all' d.jsonl.state.log)" = true ]
	! grep -q label_missed d.jsonl
}

@test "eda: a 70/30 mix from seeds half positive and half negative" {
	cat >r.yaml <<-'EOF'
	job_id: eda_mix
	domain: product_reviews
	task_input:
	  labels: [positive, negative]
	  label_distribution: {positive: 0.7, negative: 0.3}
	  examples:
	    - {text: "The battery lasts two full days and charging is quick.", label: positive}
	    - {text: "Clear calls and the headset stays put when I run.", label: positive}
	    - {text: "This case survived several drops without a single scratch.", label: positive}
	    - {text: "Pairing took seconds and the sound is crisp and loud.", label: positive}
	    - {text: "The battery is dead by lunchtime every single day.", label: negative}
	    - {text: "Callers say I sound like I am talking from a tunnel.", label: negative}
	    - {text: "The charger stopped working after a week of light use.", label: negative}
	    - {text: "It keeps losing the connection to my phone at home.", label: negative}
	num_samples: 60
	output_format: jsonl
	validators:
	  deduplication: {enabled: true, check_field: text}
	router_config:
	  arms: [{name: eda, generator: eda, alpha: 0.2}]
	  batch_size: 10
	EOF
	run --separate-stderr sg-run --seed 4 -o d.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l <d.jsonl)" -eq 60 ]
	within d.jsonl 70
	assert_equal "$(echo "$stderr" | grep '^sg-run: labels: ')" "$(summary d.jsonl)"
	# each sample from a seed of its label: 0-3 positive, 4-7 negative
	[ "$(jq -s 'map((.provenance.seed < 4) == (.data.label == "positive")) | all' d.jsonl)" = true ]
}

@test "naive: a 70/30 mix from the stand-in server" {
	server
	cat >r.yaml <<-'EOF'
	job_id: naive_mix
	domain: product_reviews
	task_input:
	  description: "Short reviews of phone accessories."
	  labels: [positive, negative]
	  label_distribution: {positive: 0.7, negative: 0.3}
	num_samples: 50
	output_format: jsonl
	constraints:
	  schema:
	    type: object
	    required: [text, label]
	    properties:
	      text: {type: string}
	      label: {type: string, enum: [positive, negative]}
	    additionalProperties: false
	validators:
	  deduplication: {enabled: true, check_field: text}
	  json_schema: {enabled: true}
	router_config:
	  arms: [naive_balanced]
	  batch_size: 10
	EOF
	run --separate-stderr sg-run --seed 5 -o d.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l <d.jsonl)" -eq 50 ]
	within d.jsonl 70
	assert_equal "$(echo "$stderr" | grep '^sg-run: labels: ')" "$(summary d.jsonl)"
	# each request for a sample asked for the label it has
	[ "$(jq -s 'map(select(.body) | .body.messages[1].content |
		select(contains("distinct sub-topics") | not) |
		contains("Its label must be")) | all' log.jsonl)" = true ]
}

@test "a resumed run plans by the labels the state counts" {
	# half and half for two batches, then 70/30: the next batch is all
	# positive, to catch up
	sentiment 0.5 0.5 100 r.yaml
	run --separate-stderr sg-run --seed 6 -i 2 -o d.jsonl r.yaml
	[ "$status" -eq 6 ]
	# half and half, give or take a sample the dedup check turned away
	n=$(jq .accepted d.jsonl.state)
	[ "$n" -ge 18 ]
	[ "$(jq '.labels | .positive + .negative' d.jsonl.state)" -eq "$n" ]
	[ "$(jq '.labels | .positive - .negative | fabs' d.jsonl.state)" -le 1 ]
	sentiment 0.7 0.3 100 r.yaml
	run --separate-stderr sg-plan -n1 -s d.jsonl.state r.yaml
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	plan=$(echo "$output" | jq -c .label_plan)
	assert_equal "$plan" "$(jq -nc '[range(10) | "positive"]')"
	run --separate-stderr sg-run --seed 6 -o d.jsonl r.yaml
	[ "$status" -eq 0 ]
	[[ "$stderr" == "sg-run: resuming: $n/100 accepted"* ]]
	assert_equal "$(jq -c 'select(.type == "job") | .label_plan' d.jsonl.state.log | sed -n 3p)" "$plan"
	within d.jsonl 70
	assert_equal "$(echo "$stderr" | grep '^sg-run: labels: ')" "$(summary d.jsonl)"
}

@test "the summary counts labels outside the mix and samples with none apart" {
	cat >r.yaml <<-'EOF'
	domain: d
	task_input: {labels: [a, b]}
	num_samples: 4
	output_format: jsonl
	router_config:
	  arms: [{name: mine, generator: command, command: [./gen.sh]}]
	  batch_size: 4
	EOF
	# a label of the mix each, one outside it, one sample without
	cat >gen.sh <<-'EOF'
	#!/bin/sh
	echo '{"t": 1, "label": "a"}'
	echo '{"t": 2, "label": "b"}'
	echo '{"t": 3, "label": "c"}'
	echo '{"t": 4}'
	EOF
	chmod +x gen.sh
	run --separate-stderr sg-run -o d.jsonl r.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l <d.jsonl)" -eq 4 ]
	assert_equal "$(echo "$stderr" | grep '^sg-run: labels: ')" \
		'sg-run: labels: a 1 (33.3%, mix 50.0%), b 1 (33.3%, mix 50.0%), c 1 (33.3%, mix 0.0%); 1 with no label'
}
