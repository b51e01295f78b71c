#!/usr/bin/env bats
# sg-validate's perplexity check: a bigram model trained on the recipe's
# reference text, knowledge base and examples flags the samples far from
# them; the default bound is three times the reference's held-out perplexity.

load helpers

setup_ref() {
	printf '%s\n' 'The library opens at nine.' \
		'You can borrow books and films for three weeks.' \
		'Library cards are free for everyone.' \
		'Late fees are small and study rooms can be booked online.' >ref.txt
}


@test "in-domain text passes, off-topic and degenerate text is flagged" {
	# 300 sentences of a small language: held-out perplexity is low
	awk 'BEGIN { split("members visitors children students readers", s, " ")
		split("borrow renew return reserve order", v, " ")
		split("books films audiobooks magazines maps", o, " ")
		split("online today at the desk by phone this week", t, " ")
		for (i = 0; i < 300; i++)
			printf "%s can %s %s %s.\n", s[i % 5 + 1], v[int(i / 5) % 5 + 1],
				o[int(i / 25) % 5 + 1], t[int(i / 7) % 8 + 1] }' >big.txt
	jq -nc '{domain: "d", num_samples: 1,
		validators: {perplexity: {reference: "big.txt"}}}' >r.json
	texts "Children can renew films online." \
		"Quantum chromodynamics describes gluon confinement in hadrons." \
		"books books books books books" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.perplexity.pass, (.checks.perplexity.perplexity | floor)]' <<<"$output")" \
'[true,2]
[false,1547]
[false,325]'
	assert_equal "$(jq -r '.checks.perplexity.why // empty' <<<"$output" | head -1)" \
		'perplexity 1547, more than 9.77'
}

@test "max_perplexity sets the bound; a tiny reference needs one" {
	setup_ref
	jq -nc '{domain: "d", num_samples: 1,
		validators: {perplexity: {reference: "ref.txt", max_perplexity: 20}}}' >r.json
	texts "You can borrow books for three weeks." \
		"Quantum chromodynamics describes gluon confinement in hadrons." >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.perplexity.pass, (.checks.perplexity.perplexity | floor)]' <<<"$output")" \
'[true,6]
[false,53]'
}

@test "examples and the knowledge base train it too" {
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

@test "the files a recipe names are found beside it; a knowledge base may be a directory" {
	mkdir -p sub/kb
	(cd sub && setup_ref && mv ref.txt kb/library.md)
	printf '%s\n' 'Gluon confinement in hadrons is a quantum effect.' >sub/extra.txt
	jq -nc '{domain: "d", num_samples: 1, knowledge_base: "kb",
		validators: {perplexity: {reference: "extra.txt", max_perplexity: 30}}}' >sub/r.json
	texts "Quantum chromodynamics describes gluon confinement in hadrons." \
		"Library cards are free for everyone." >in.jsonl
	run --separate-stderr sg-validate -r sub/r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '.checks.perplexity.pass' <<<"$output")" 'true
true'
	# the same names from the directory above are not the recipe's files
	cp sub/r.json r.json
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 3 ]
	assert_equal "$stderr" "sg-validate: r.json: \"validators.perplexity\" is unusable: cannot open 'extra.txt': No such file or directory"
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
