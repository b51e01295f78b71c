#!/usr/bin/env bats
# sg-run's token and cost budgets against the loopback stand-in server: the
# usage sg-update adds up in the state, the stop with status 6, the resume.

load helpers
load llm-helpers

RECIPE=$BATS_TEST_DIRNAME/../examples/llm/reviews-llm.yaml

@test "a run stops at its token budget and resumes to the dataset an uninterrupted run makes" {
	server
	SG_CACHE_DIR=c1 sg-run --seed 3 -o whole.jsonl "$RECIPE" 2>/dev/null
	total=$(jq '.usage.prompt_tokens + .usage.completion_tokens' whole.jsonl.state)
	[ "$total" -gt 0 ]
	# its own cache: the stopped run really asks
	export SG_CACHE_DIR=c2
	run --separate-stderr sg-run --seed 3 --max-tokens $((total / 2)) -o part.jsonl "$RECIPE"
	[ "$status" -eq 6 ]
	spent=$(jq '.usage.prompt_tokens + .usage.completion_tokens' part.jsonl.state)
	[ "$spent" -ge $((total / 2)) ] && [ "$spent" -lt "$total" ]
	assert_equal "$(echo "$stderr" | tail -1)" \
		"sg-run: the token budget is spent: $spent tokens of $((total / 2)), short of the target; run again with a larger budget to go on"
	[[ "$stderr" == *"sg-run: spent "*" prompt and "*" completion tokens, \$"* ]]
	[ "$(jq .accepted part.jsonl.state)" -lt 20 ]
	[ "$(wc -l <part.jsonl)" -eq "$(jq .accepted part.jsonl.state)" ]
	sent=$(requests)
	# the budget reached stops a resume before its first batch
	run --separate-stderr sg-run --max-tokens "$spent" -o part.jsonl "$RECIPE"
	[ "$status" -eq 6 ]
	[ "$(requests)" -eq "$sent" ]
	run --separate-stderr sg-run --max-tokens $((total * 2)) -o part.jsonl "$RECIPE"
	[ "$status" -eq 0 ]
	[[ "$stderr" == "sg-run: resuming: "*"/20 accepted"* ]]
	cmp whole.jsonl part.jsonl
	# what the stopped part spent is counted once, with the rest
	assert_equal "$(jq -c .usage part.jsonl.state)" "$(jq -c .usage whole.jsonl.state)"
}

@test "a run stops at its cost budget, priced by the recipe's arms" {
	server
	sed 's/^\(      price_prompt:\).*/\1 100/; s/^\(      price_completion:\).*/\1 400/' "$RECIPE" >r.yaml
	cp -r "$(dirname "$RECIPE")/kb" kb
	SG_CACHE_DIR=c1 sg-run --seed 3 -o whole.jsonl r.yaml 2>/dev/null
	cost=$(jq .usage.cost whole.jsonl.state)
	[ "$(jq -n "$cost > 0.01")" = true ]
	run --separate-stderr sg-run --seed 3 --max-cost 0.01 -o part.jsonl r.yaml
	[ "$status" -eq 6 ]
	[[ "$(echo "$stderr" | tail -1)" == "sg-run: the cost budget is spent: \$0."*" of \$0.010000, short of the target; run again with a larger budget to go on" ]]
	[ "$(jq '.usage.cost >= 0.01' part.jsonl.state)" = true ]
	run --separate-stderr sg-run --max-cost 1 -o part.jsonl r.yaml
	[ "$status" -eq 0 ]
	cmp whole.jsonl part.jsonl
}

@test "a budget that is not a positive number is a usage error" {
	run --separate-stderr sg-run --max-tokens 0 -o d.jsonl "$RECIPE"
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "sg-run: --max-tokens wants a positive number, not '0'"
	run --separate-stderr sg-run --max-cost x -o d.jsonl "$RECIPE"
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "sg-run: --max-cost wants a positive number, not 'x'"
}

@test "the recipe's budget stops a run as the flags do; a flag overrides it" {
	server
	cp -r "$(dirname "$RECIPE")/kb" kb
	SG_CACHE_DIR=c1 sg-run --seed 3 -o whole.jsonl "$RECIPE" 2>/dev/null
	total=$(jq '.usage.prompt_tokens + .usage.completion_tokens' whole.jsonl.state)
	{ cat "$RECIPE"; printf 'budget:\n  max_tokens: %d\n' $((total / 2)); } >r.yaml
	export SG_CACHE_DIR=c2
	run --separate-stderr sg-run --seed 3 -o part.jsonl r.yaml
	[ "$status" -eq 6 ]
	spent=$(jq '.usage.prompt_tokens + .usage.completion_tokens' part.jsonl.state)
	assert_equal "$(echo "$stderr" | tail -1)" \
		"sg-run: the token budget is spent: $spent tokens of $((total / 2)), short of the target; run again with a larger budget to go on"
	run --separate-stderr sg-run --max-tokens $((total * 2)) -o part.jsonl r.yaml
	[ "$status" -eq 0 ]
	cmp whole.jsonl part.jsonl
	# a cost budget the first batch crosses
	{ cat "$RECIPE"; printf 'budget:\n  max_cost: 0.000001\n'; } >c.yaml
	sed -i 's/^\(      price_prompt:\).*/\1 100/' c.yaml
	run --separate-stderr sg-run --seed 3 -o cost.jsonl c.yaml
	[ "$status" -eq 6 ]
	[[ "$(echo "$stderr" | tail -1)" == "sg-run: the cost budget is spent: \$"*" of \$0.000001, short of the target; run again with a larger budget to go on" ]]
}

@test "a budget that is not a positive number is a bad recipe" {
	{ cat "$RECIPE"; printf 'budget:\n  max_tokens: 0\n'; } >r.yaml
	run --separate-stderr sg-run -o d.jsonl r.yaml
	[ "$status" -eq 3 ]
	assert_equal "$stderr" "sg-run: r.yaml:$(wc -l <r.yaml):15: \"budget.max_tokens\" must be a positive integer"
	{ cat "$RECIPE"; printf 'budget: {max_cost: -1}\n'; } >r.yaml
	run --separate-stderr sg-run -o d.jsonl r.yaml
	[ "$status" -eq 3 ]
	[[ "$stderr" == *'"budget.max_cost" must be'* ]]
}
