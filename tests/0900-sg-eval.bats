#!/usr/bin/env bats
# sg-eval: the classifier, its measures on real data, the overlap check,
# and the reward records it gives the router.

load helpers

DATA=$BATS_TEST_DIRNAME/../build/data/sentiment

# The real sentences: fetched once with npm (make data), never committed.
setup_file() {
	make -s -C "$BATS_TEST_DIRNAME/.." data >&2
}

# samples ARM BATCH < label<TAB>text lines: sample records
samples() {
	jq -R -c --arg arm "$1" --argjson b "$2" 'split("\t") |
		{type: "sample", id: "r:\($b):0", run: "r", batch: $b, arm: $arm,
		 data: {label: .[0], text: .[1]}, pass: true}'
}

toy() {
	printf '%s\n' 'positive	I love it, great sound' 'negative	I hate it, awful sound' \
		'positive	great battery, love the fit' 'negative	awful battery, hate the fit' \
		'positive	superb and great' 'negative	broken and awful'
}

@test "a separable set is learnt: accuracy, macro-F1, confusion, majority" {
	toy | samples a 0 > train.jsonl
	printf '%s\n' 'positive	great, love it' 'negative	awful, hate it' 'negative	hate this awful thing' > test.tsv
	run --separate-stderr sg-eval -T test.tsv train.jsonl
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.type == "eval" and .train_n == 6
		and .synthetic.accuracy == 1 and .synthetic.macro_f1 == 1
		and .synthetic.labels == ["negative", "positive"]
		and .synthetic.confusion == [[2, 0], [0, 1]]
		and (.majority * 3 | round) == 2 and (has("utility") | not)'
	[[ "$stderr" == *"trained on 6 synthetic examples, tested on 3 real ones from 'test.tsv'"* ]]
	[[ "$stderr" == *"accuracy 1.000, macro-F1 1.000; majority class 0.667"* ]]
}

@test "real Amazon sentences: the ceiling, the utility formula, determinism" {
	samples a 0 < "$DATA/amazon-train.tsv" | head -n 200 > syn.jsonl
	run --separate-stderr sg-eval -T "$DATA/amazon-test.tsv" -L "$DATA/amazon-train.tsv" syn.jsonl
	[ "$status" -eq 0 ]
	echo "$output" > a.json
	jq -e '.synthetic.n == 500 and ([.synthetic.confusion[][]] | add) == 500
		and .majority == 0.518 and .ceiling > 0.75 and .ceiling < 0.9
		and .synthetic.accuracy > .majority
		and ((.utility - (.synthetic.accuracy - .majority) / (.ceiling - .majority)) | fabs) < 1e-9' a.json
	# the mean log of the true labels' probabilities, at most the log of their mean
	jq -e '.synthetic.log_likelihood < 0
		and .synthetic.log_likelihood <= (.synthetic.mean_probability | log)
		and .synthetic.log_likelihood > -13.9' a.json
	[[ "$stderr" == *"; real-trained ceiling 0."*"; utility "* ]]
	sg-eval -T "$DATA/amazon-test.tsv" -L "$DATA/amazon-train.tsv" syn.jsonl 2>/dev/null > b.json
	cmp a.json b.json
	sg-eval --seed 7 -T "$DATA/amazon-test.tsv" syn.jsonl 2>/dev/null > c.json
	! jq -e --slurpfile a a.json '.synthetic.confusion == $a[0].synthetic.confusion and .synthetic.f1 == $a[0].synthetic.f1' c.json
}

@test "test sentences in the training data show up in the overlap" {
	toy | samples a 0 > train.jsonl
	sg-eval -T "$DATA/amazon-test.tsv" train.jsonl 2>/dev/null | jq -e '.overlap.exact_texts == 0'
	head -n 20 "$DATA/amazon-test.tsv" | samples a 1 >> train.jsonl
	run --separate-stderr sg-eval -g 3 -T "$DATA/amazon-test.tsv" train.jsonl
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.overlap.n == 3 and .overlap.exact_texts >= 20
		and .overlap.covered_texts >= 15 and .overlap.ngrams > 0.02'
	[[ "$stderr" == *"of the test's word 3-grams occur in the training texts"* ]]
}

@test "-R: each arm's marginal contribution over its latest window, unclamped, that sg-update applies" {
	# arm good: real sentences; arm bad: the same texts with labels swapped
	head -n 60 "$DATA/amazon-train.tsv" | samples good 3 > syn.jsonl
	sed -n 61,160p "$DATA/amazon-train.tsv" | samples good 7 >> syn.jsonl
	head -n 60 "$DATA/amazon-train.tsv" | awk -F'\t' '{print ($1 == "positive" ? "negative" : "positive") "\t" $2}' |
		samples bad 5 >> syn.jsonl
	run --separate-stderr sg-eval -R -W 40 -T "$DATA/amazon-test.tsv" syn.jsonl
	[ "$status" -eq 0 ]
	echo "$output" | jq -sc '.[1:][] | [.arm, .batch, .window, .source]' > rewards
	[ "$(cat rewards)" = "$(printf '%s\n' '["good",7,40,"sg-eval"]' '["bad",5,40,"sg-eval"]')" ]
	[[ "$stderr" == *"sg-eval: arm good: without its latest 40 samples the true labels' log-likelihood is -"*"; reward 0."* ]]
	# the good arm helps, the label-flipping one hurts: below 1/2, not 0
	echo "$output" | jq -se '.[1].reward > 0.5 and .[2].reward < 0.5 and .[2].reward > 0
		and .[1].gain > 0 and .[2].gain < 0 and .[0].arms.good.reward == .[1].reward'
	# the reward is the logistic of the gain at the scale of sg-score's dev part
	echo "$output" | jq -se '.[1:] | all((1 / (1 + ((-.gain / 0.25) | exp)) - .reward | fabs) < 1e-9)'
	# the gain, per unit of the window's share, from the eval record's figures
	echo "$output" | jq -se '.[0] as $e | $e.arms.good |
		((($e.synthetic.log_likelihood - .without) * $e.train_n / .window) - .gain | fabs) < 1e-6'
	echo "$output" | sg-update -s st -l log > passed
	jq -e '.type == "eval"' passed
	jq -e '.arms.good.n == 1 and .arms.bad.sum < 0.5 and .rewards == 2' st
	[ "$(jq -sc 'map(.arm)' log)" = '["good","bad"]' ]
	# -W 0: each arm left out whole
	run --separate-stderr sg-eval -R -W 0 -T "$DATA/amazon-test.tsv" syn.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(echo "$output" | jq -sc '[.[1:][] | [.arm, .window]]')" \
		"$(jq -sc '[group_by(.arm) | reverse[] | [.[0].arm, length]]' syn.jsonl)"
	echo "$output" | jq -se '.[1].reward > 0.5 and .[2].reward < 0.5'
	# the bad arm's 60 flipped samples repeat 60 good texts, and the
	# classifier learns little either way from them: not withdrawn
	echo "$output" | jq -se 'map(select(.withdraw)) == []'
}

@test "-R -W 0: an arm the dataset is better without is marked to withdraw, with its label counts" {
	head -n 100 "$DATA/amazon-train.tsv" | samples good 3 > syn.jsonl
	sed -n 161,220p "$DATA/amazon-train.tsv" | awk -F'\t' '{print ($1 == "positive" ? "negative" : "positive") "\t" $2}' |
		samples bad 5 >> syn.jsonl
	run --separate-stderr sg-eval -R -W 0 -T "$DATA/amazon-test.tsv" syn.jsonl
	[ "$status" -eq 0 ]
	echo "$output" > out.jsonl
	# a gain of -0.25 or less: a reward of 1/(1+e) or less
	jq -se '.[1].arm == "good" and .[1].withdraw == null and .[0].arms.good.withdraw == false
		and .[2].arm == "bad" and .[2].gain <= -0.25 and .[2].reward <= 1 / (1 + (1 | exp))
		and .[0].arms.bad.withdraw' out.jsonl
	assert_equal "$(jq -sc '.[2].withdraw' out.jsonl)" \
		"$(jq -sc 'map(select(.arm == "bad") | .data.label) | {samples: length,
			labels: (group_by(.) | map({(.[0]): length}) | add)}' syn.jsonl)"
	[[ "$stderr" == *"sg-eval: arm bad: without its latest 60 samples the true labels' log-likelihood is -0."*"; reward 0.0"*"; better left out: to withdraw"* ]]
	# a window that leaves out only some of an arm's samples withdraws nothing
	run --separate-stderr sg-eval -R -W 30 -T "$DATA/amazon-test.tsv" syn.jsonl
	[ "$status" -eq 0 ]
	echo "$output" | jq -se 'map(select(.withdraw)) == []'
}

@test "bad samples are reported and skipped; bad test files and usage fail early" {
	toy | samples a 0 > train.jsonl
	echo '{"type":"sample","run":"r","batch":0,"data":{"text":"no label"}}' >> train.jsonl
	echo '{"type":"job","run":"r"}' >> train.jsonl
	printf 'positive\tgreat\nnegative\tawful\n' > test.tsv
	run --separate-stderr sg-eval -T test.tsv train.jsonl
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sg-eval: train.jsonl:7: sample has no label \"data.label\""* ]]
	echo "$output" | jq -e '.train_n == 6'

	printf 'positive\tgreat\nno tab here\n' > bad.tsv
	run --separate-stderr sg-eval -T bad.tsv train.jsonl
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "sg-eval: bad.tsv:2: not a line of label<TAB>text" ]

	run --separate-stderr sg-eval -T missing.tsv train.jsonl
	[ "$status" -eq 4 ]
	[[ "$stderr" == "sg-eval: cannot open 'missing.tsv': No such file or directory" ]]

	run --separate-stderr sg-eval -T test.tsv < /dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "sg-eval: no samples to train on" ]

	run --separate-stderr sg-eval train.jsonl
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: sg-eval "* ]]
	run --separate-stderr sg-eval -e 0 -T test.tsv train.jsonl
	[ "$status" -eq 2 ]
	[ "$stderr" = "sg-eval: -e wants a whole number in 1..10000, not '0'" ]
}

@test "JSON Lines test sets: fields by flag, nested labels, integer labels" {
	jq -nc '{type: "sample", run: "r", batch: 0, data: {meta: {y: 1}, body: "good good good"}},
		{type: "sample", run: "r", batch: 0, data: {meta: {y: 0}, body: "bad bad bad"}}' > train.jsonl
	printf '%s\n' '{"meta":{"y":1},"body":"good"}' '{"data":{"meta":{"y":0},"body":"bad"}}' > test.jsonl
	run --separate-stderr sg-eval -l meta.y -t body -T test.jsonl train.jsonl
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.synthetic.accuracy == 1 and .synthetic.labels == ["0", "1"]'
}

@test "the recipe's evaluation section names the fields; flags override it" {
	jq -nc '{type: "sample", run: "r", batch: 0, data: {y: "p", body: "good good", t: "bad"}},
		{type: "sample", run: "r", batch: 0, data: {y: "n", body: "bad bad", t: "good"}}' > train.jsonl
	printf 'p\tgood\nn\tbad\n' > test.tsv
	printf 'domain: d\nnum_samples: 2\nevaluation:\n  label_field: y\n  text_field: body\n' > r.yaml
	run --separate-stderr sg-eval -c r.yaml -T test.tsv train.jsonl
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.synthetic.accuracy == 1'
	run --separate-stderr sg-eval -c r.yaml -t t -T test.tsv train.jsonl
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.synthetic.accuracy == 0'
	printf 'domain: d\nnum_samples: 2\nevaluation:\n  label_field: [y]\n' > bad.yaml
	run --separate-stderr sg-eval -c bad.yaml -T test.tsv train.jsonl
	[ "$status" -eq 3 ]
	[[ "$stderr" == "sg-eval: bad.yaml:4:"* ]]
	printf 'domain: d\nnum_samples: 2\nevaluation:\n  label: y\n' > unknown.yaml
	run --separate-stderr sg-eval -c unknown.yaml -l y -t body -T test.tsv train.jsonl
	[ "$status" -eq 0 ]
	[[ "$stderr" == 'sg-eval: unknown.yaml:4:3: unknown field "evaluation.label"'$'\n''sg-eval: trained on 2 '* ]]
}
