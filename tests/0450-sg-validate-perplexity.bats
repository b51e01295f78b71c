#!/usr/bin/env bats
# sg-validate's perplexity check: a bigram model trained on the recipe's
# reference text, knowledge base and examples flags the samples far from
# them; the default bound is three times the reference's own perplexity.

load helpers

setup_ref() {
	printf '%s\n' 'The library opens at nine.' \
		'You can borrow books and films for three weeks.' \
		'Library cards are free for everyone.' \
		'Late fees are small and study rooms can be booked online.' >ref.txt
}

# texts TEXT...: one sample of run "t" per argument.
texts() {
	local i=0
	for t in "$@"; do
		jq -nc --arg t "$t" --argjson i "$i" \
			'{type: "sample", id: "t:0:\($i)", run: "t", batch: 0, data: $t}'
		i=$((i + 1))
	done
}

@test "in-domain text passes, off-topic and degenerate text is flagged" {
	setup_ref
	jq -nc '{domain: "d", num_samples: 1,
		validators: {perplexity: {reference: "ref.txt"}}}' >r.json
	texts "You can borrow books for three weeks." \
		"Quantum chromodynamics describes gluon confinement in hadrons." \
		"the the the the" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.perplexity.pass, (.checks.perplexity.perplexity | floor)]' <<<"$output")" \
'[true,6]
[false,53]
[false,27]'
	assert_equal "$(jq -r '.checks.perplexity.why // empty' <<<"$output" | head -1)" \
		'perplexity 53, more than 14.46'
}

@test "examples and the knowledge base train it too; max_perplexity sets the bound" {
	setup_ref
	jq -nc '{domain: "d", num_samples: 1, knowledge_base: "ref.txt",
		task_input: {examples: ["Gluon confinement in hadrons is a quantum effect."]},
		validators: {perplexity: {max_perplexity: 30}}}' >r.json
	texts "Quantum chromodynamics describes gluon confinement in hadrons." >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '.checks.perplexity.pass' <<<"$output")" 'true'
}

@test "no reference text, or one that cannot be read, is refused" {
	jq -nc '{domain: "d", num_samples: 1, validators: {perplexity: {}}}' >r.json
	run --separate-stderr sg-validate -r r.json /dev/null
	[ "$status" -eq 3 ]
	assert_equal "$stderr" 'sg-validate: r.json: "validators.perplexity" is unusable: no reference text: give reference, knowledge_base or task_input.examples'
	jq -nc '{domain: "d", num_samples: 1, validators: {perplexity: {reference: ["none.txt"]}}}' >r.json
	run --separate-stderr sg-validate -r r.json /dev/null
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"none.txt"* ]]
}
