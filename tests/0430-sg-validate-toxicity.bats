#!/usr/bin/env bats
# sg-validate's toxicity check against the cuss lexicon that `make lexicon`
# fetches: whole words only (the Scunthorpe problem), case, leetspeak and
# stretched letters, two-word terms, the severity threshold, a recipe's own
# lexicon, and a missing lexicon.

load helpers

LEX=${SG_LEXICON:-$BATS_TEST_DIRNAME/../build/lexicon/toxicity.tsv}

# recipe TOXICITY: a recipe file r.json with validators.toxicity TOXICITY.
recipe() {
	jq -nc --argjson t "$1" \
		'{domain: "d", num_samples: 1, validators: {toxicity: $t}}' >r.json
}


setup_file() {
	[ -s "$LEX" ] || {
		echo "no lexicon at $LEX: run make lexicon" >&2
		return 1
	}
}

@test "Scunthorpe: terms inside innocent words are not found" {
	# the terms hidden in these words are in the lexicon, surely offensive
	for t in cunt ass cum twat wank; do
		grep -qP "^$t\t2\$" "$LEX"
	done
	export SG_LEXICON=$LEX
	recipe '{}'
	texts "Scunthorpe United won" "a classic class of assassins" \
		"cumulative cucumber scumbag-free" "Twatt in Orkney" "swanky" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '.checks.toxicity' <<<"$output" | sort -u)" '{"pass":true,"terms":[]}'
}

@test "case, leetspeak and stretched letters are read through; offsets in code points" {
	export SG_LEXICON=$LEX
	recipe '{}'
	texts "é FUCK" "what the fuuuuuck" "you @sshole!" "a55hole" "wankkk" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '[.checks.toxicity.pass, .checks.toxicity.terms]' <<<"$output")" \
'[false,[{"start":2,"end":6,"severity":2}]]
[false,[{"start":9,"end":17,"severity":2}]]
[false,[{"start":4,"end":12,"severity":2}]]
[false,[{"start":0,"end":7,"severity":2}]]
[false,[{"start":0,"end":6,"severity":2}]]'
	assert_equal "$(jq -r '.checks.toxicity.why' <<<"$output" | sort -u)" \
		'1 offensive word of severity 2 or more'
}

@test "a two-word term is one match; the severity threshold decides" {
	export SG_LEXICON=$LEX
	grep -qP '^shit\t1$' "$LEX"
	recipe '{}'
	texts "an arse bandit" "oh shit" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '.checks.toxicity.terms' <<<"$output")" \
'[{"start":3,"end":14,"severity":2}]
[]'
	recipe '{"severity": 1}'
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(jq -c '.checks.toxicity.terms' <<<"$output" | tail -1)" \
		'[{"start":3,"end":7,"severity":1}]'
}

@test "the recipe's own lexicon; a missing one is refused, or fails its job's samples" {
	printf '# mild\ndarn\t2\nheck\t0\n' >mild.tsv
	recipe '{"lexicon": "mild.tsv"}'
	texts "Darn it" "what the heck" >in.jsonl
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(jq -c '.checks.toxicity.pass' <<<"$output")" 'false
true'
	recipe '{"lexicon": "none.tsv"}'
	run --separate-stderr sg-validate -r r.json in.jsonl
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-validate: r.json: \"validators.toxicity\" has no lexicon: cannot open lexicon 'none.tsv': No such file or directory"
	{
		jq -nc '{type: "job", run: "t", batch: 0, n: 1,
			recipe: {validators: {toxicity: {lexicon: "none.tsv"}}}}'
		texts "fine"
	} >job.jsonl
	run --separate-stderr sg-validate job.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$(jq -c 'select(.type == "sample") | .checks.toxicity' <<<"$output")" \
		"{\"pass\":false,\"why\":\"no lexicon: cannot open lexicon 'none.tsv': No such file or directory\"}"
}
