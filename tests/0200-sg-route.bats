#!/usr/bin/env bats
# sg-route: the default and epsilon-greedy decisions, their records, and
# the state file.

load helpers

# A job as sg-plan writes it, for a recipe with a text grammar and the
# given router_config (default: none).
job() {
	jq -nc --argjson i "${1:-0}" --argjson rc "${2:-null}" '{
		type: "job", run: "t", job: $i, n: 2, target: 10, accepted: 0,
		context: {domain: "d", task: "t", complexity: "simple",
			format: "text", kb: false, grammar: true,
			grammar_llm: false, llm: false},
		recipe: ({domain: "d", num_samples: 10,
			grammar: {start: "s", rules: {s: [{template: "x"}]}}}
			+ (if $rc then {router_config: $rc} else {} end))}'
}

jobs() {
	for i in $(seq 0 $(($1 - 1))); do job "$i" "${2:-null}"; done
}

@test "a new state is created and each job gets a decision" {
	run --separate-stderr sh -c "$(declare -f job jobs); jobs 3 | sg-route -s st --seed 5"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -s 'map(.batch)')" = "$(jq -nc '[0,1,2]' | jq .)" ]
	echo "$output" | jq -c 'select(.job == 0)' | jq -e '.generator == "templater"
		and (.params.temperature | type) == "number"
		and (.seed | type) == "number"
		and .decision.mode == "init"
		and .decision.policy == "discounted_gaussian_thompson"
		and .decision.unavailable == {}
		and (.decision.offered | length) == 3'
	jq -e '.format == "sg-state" and .version == 1 and .run == "t"
		and .steps == 3 and .seed == 5 and .target == 10' st
}

@test "init mode tries every arm once before using the means" {
	run --separate-stderr sh -c "$(declare -f job jobs); jobs 3 | sg-route -s st --seed 9"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .arm | sort -u | wc -l)" -eq 3 ]
	[ "$(echo "$output" | jq -r .decision.p | tr '\n' ' ')" = "0.3333333333 0.5 1 " ]
}

@test "with epsilon 0 the best arm is exploited with probability 1" {
	job 0 '{"policy": "epsilon_greedy", "epsilon_start": 0, "epsilon_min": 0}' |
		sg-route -s st --seed 1 >/dev/null
	key=$(jq -r '.contexts | keys[0]' st)
	jq --arg k "$key" '.contexts[$k] = {
		templater_conservative: {n: 4, sum: 1.0},
		templater_balanced: {n: 4, sum: 3.6},
		templater_exploratory: {n: 4, sum: 2.0}}' st > st.new && mv st.new st
	run --separate-stderr sh -c "$(declare -f job); job 1 '{\"policy\": \"epsilon_greedy\", \"epsilon_start\": 0, \"epsilon_min\": 0}' | sg-route -s st"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	echo "$output" | jq -e '.arm == "templater_balanced" and .decision.mode == "exploit"
		and .decision.p == 1 and .decision.means.templater_balanced == 0.9'
	[[ "$(echo "$output" | jq -r .decision.reason)" == "exploit: draw "*" >= epsilon 0.000; best mean reward 0.900"* ]]
}

@test "with epsilon 1 every decision explores with probability 1/K" {
	rc='{"policy": "epsilon_greedy", "epsilon_start": 1, "epsilon_min": 1}'
	job 0 "$rc" | sg-route -s st --seed 1 >/dev/null
	key=$(jq -r '.contexts | keys[0]' st)
	jq --arg k "$key" '.contexts[$k] = {templater_conservative: {n: 1, sum: 1},
		templater_balanced: {n: 1, sum: 0}, templater_exploratory: {n: 1, sum: 0}}' st > st.new && mv st.new st
	run --separate-stderr sh -c "$(declare -f job jobs); jobs 200 '$rc' | sg-route -s st"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .decision.mode | sort -u)" = explore ]
	# each arm's share of 200 uniform draws is far from 0 and from 200
	for a in templater_conservative templater_balanced templater_exploratory; do
		n=$(echo "$output" | jq -r .arm | grep -cx "$a")
		[ "$n" -gt 40 ] && [ "$n" -lt 95 ]
	done
	[ "$(echo "$output" | jq -r .decision.p | sort -u)" = 0.3333333333 ]
}

@test "the same seed gives the same decisions" {
	sh -c "$(declare -f job jobs); jobs 20" > jobs.jsonl
	sg-route -s a --seed 42 < jobs.jsonl > a.out
	sg-route -s b --seed 42 < jobs.jsonl > b.out
	sg-route -s c --seed 43 < jobs.jsonl > c.out
	cmp a.out b.out
	! cmp -s a.out c.out
}

@test "unknown records and fields pass through in order" {
	{ echo '{"type":"note","x":1}'; job 0 | jq -c '.mine = "kept"'; echo '{"type":"sample","id":"z"}'; } > in.jsonl
	run --separate-stderr sg-route -s st < in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(echo "$output" | jq -r .type | tr '\n' ' ')" = "note job sample " ]
	[ "$(echo "$output" | sed -n 2p | jq -r .mine)" = kept ]
	[ "$(echo "$output" | sed -n 1p)" = '{"type":"note","x":1}' ]
}

@test "a malformed line is reported with its position and the rest still flows" {
	{ job 0; echo '{"type": "job", oops}'; job 1; } > in.jsonl
	run --separate-stderr sg-route -s st < in.jsonl
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sg-route: <stdin>:2: invalid JSON at column "* ]]
	[ "$(echo "$output" | jq -r .job | tr '\n' ' ')" = "0 1 " ]
}

@test "a job no arm can serve is reported and passed on undecided" {
	job 0 | jq -c '.context.grammar = false' > in.jsonl
	run --separate-stderr sg-route -s st < in.jsonl
	[ "$status" -eq 1 ]
	[ "$stderr" = "sg-route: <stdin>:1: no arm can run in this context (3 unavailable; see sg-route(1))" ]
	echo "$output" | jq -e 'has("arm") | not'
}

@test "a paused arm is not offered: its reason is the error that paused it" {
	job 0 | sg-route -s st --seed 3 >/dev/null
	jq '.paused = {arms: {templater_balanced: {error: "cannot run \"x\": No such file or directory",
		since: "2026-11-24T10:00:00Z", arm: "templater_balanced", batch: 0}}}' st > st.new
	mv st.new st
	run --separate-stderr sh -c "$(declare -f job); job 1 | sg-route -s st"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -r '.decision.unavailable.templater_balanced')" \
		'paused: cannot run "x": No such file or directory'
	assert_equal "$(echo "$output" | jq -c '.decision.offered')" '["templater_conservative","templater_exploratory"]'
	# a pause of the server holds every arm that asks it, and only those
	jq '.paused = {server: {error: "HTTP 401: bad key", since: "2026-11-24T10:00:00Z"}}' st > st.new
	mv st.new st
	job 2 '{"arms": ["naive_balanced", "templater_balanced"]}' | jq -c '.context.llm = true' > in.jsonl
	run --separate-stderr sg-route -s st in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c '[.arm, .decision.unavailable]')" \
		'["templater_balanced",{"naive_balanced":"paused: HTTP 401: bad key"}]'
	# none left: the job is reported and passed on undecided
	jq '.paused.arms = {templater_balanced: {error: "x"}}' st > st.new
	mv st.new st
	run --separate-stderr sg-route -s st in.jsonl
	[ "$status" -eq 1 ]
	assert_equal "$stderr" 'sg-route: in.jsonl:1: no arm can run in this context (2 unavailable; see sg-route(1))'
	echo "$output" | jq -e 'has("arm") | not'
}

@test "extractive is offered when the recipe has a knowledge base, labels or not" {
	arms='{"arms": [{"name": "x", "generator": "extractive"}, {"name": "e", "generator": "eda"}]}'
	job 0 "$arms" | jq -c '.recipe.task_input.labels = ["a", "b"]' > in.jsonl
	run --separate-stderr sg-route -s st < in.jsonl
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	assert_equal "$(echo "$output" | jq -c '[.decision.offered, .decision.unavailable]')" \
		'[["e"],{"x":"recipe has no knowledge_base"}]'
	# with one, labelled or not, it is offered (sg-gen labels its passages)
	for f in '.recipe.task_input.labels = ["a", "b"]' '.recipe.task_input.label_distribution = {a: 1}' .; do
		job 0 "$arms" | jq -c ".context.kb = true | $f" > in.jsonl
		rm -f st
		run --separate-stderr sg-route -s st < in.jsonl
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		assert_equal "$(echo "$output" | jq -c '[.decision.offered, .decision.unavailable]')" '[["x","e"],{}]'
	done
}

@test "a corrupt state is refused and left untouched" {
	printf '{"format": "sg-state", "version": 1, "run": ' > st
	cp st st.orig
	run --separate-stderr sh -c "$(declare -f job); job 0 | sg-route -s st"
	[ "$status" -eq 3 ]
	[[ "$stderr" == "sg-route: st:1: state is not valid JSON: "* ]]
	[ -z "$output" ]
	cmp st st.orig
}

@test "a foreign JSON file is refused as a state" {
	echo '{"name": "my-package", "version": "1.0.0"}' > package.json
	cp package.json orig.json
	run --separate-stderr sh -c "$(declare -f job); job 0 | sg-route -s package.json"
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-route: package.json: refusing state: not an sg state file (no \"format\": \"sg-state\")" ]
	cmp package.json orig.json
}

@test "a state of a newer version is refused" {
	job 0 | sg-route -s st >/dev/null
	jq '.version = 2' st > st2
	run --separate-stderr sh -c "$(declare -f job); job 1 | sg-route -s st2"
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-route: st2: refusing state: state version 2, this sg reads version 1" ]
}

@test "a state of another run is refused" {
	job 0 | sg-route -s st >/dev/null
	run --separate-stderr sh -c "$(declare -f job); job 1 | jq -c '.run = \"other\"' | sg-route -s st"
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-route: state 'st' belongs to run \"t\", not \"other\"" ]
}

@test "concurrent routers sharing a state never reuse a batch number" {
	sh -c "$(declare -f job jobs); jobs 25" > jobs.jsonl
	for w in 1 2 3 4; do sg-route -s st < jobs.jsonl > out.$w & done
	wait
	cat out.* | jq -r .batch | sort -n > batches
	[ "$(wc -l < batches)" -eq 100 ]
	[ "$(sort -u batches | wc -l)" -eq 100 ]
	[ "$(jq .steps st)" -eq 100 ]
	[ "$(jq '[.arms[].pulls] | add' st)" -eq 100 ]
}

@test "a command arm carries its argv and user arms override presets" {
	rc='{"arms": [{"name": "mine", "command": ["./gen", "--x"]}, {"name": "templater_balanced", "temperature": 0.5}]}'
	run --separate-stderr sh -c "$(declare -f job jobs); jobs 2 '$rc' | sg-route -s st --seed 3"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	echo "$output" | jq -c 'select(.arm == "mine")' | jq -e '.generator == "command" and .command == ["./gen", "--x"]'
	echo "$output" | jq -c 'select(.arm == "templater_balanced")' | jq -e '.params == {temperature: 0.5, max_depth: 10}'
}

@test "an unknown arm name is a bad record" {
	run --separate-stderr sh -c "$(declare -f job); job 0 '{\"arms\": [\"nope\"]}' | sg-route -s st"
	[ "$status" -eq 1 ]
	[ "$stderr" = 'sg-route: <stdin>:1: unknown arm "nope" (not a preset; declare it with a generator)' ]
}

@test "-T sets the starting temperature of new arms" {
	run --separate-stderr sh -c "$(declare -f job); job 0 | sg-route -s st -T 0.25"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.params.temperature == 0.25'
}

@test "--policy and --epsilon override the recipe's router_config; the original's names are known" {
	job 0 '{"policy": "epsilon_greedy", "epsilon_start": 0.4}' |
		sg-route -s st --seed 1 --policy ucb --epsilon 0.2 >/dev/null
	jq -e '.router.policy == "ucb1" and .router.epsilon_start == 0.2 and .epsilon == 0.2' st
	rm st
	job 0 | sg-route -s st --seed 1 --policy thompson_sampling >/dev/null
	jq -e '.router.policy == "thompson"' st
	run --separate-stderr sg-route -s st --policy ucb2
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	assert_equal "$stderr" "sg-route: policy \"ucb2\" is not one of sg-route(1)'s"
	run --separate-stderr sg-route -s st --epsilon 1.5
	[ "$status" -eq 2 ]
	assert_equal "$stderr" "sg-route: --epsilon wants a number from 0 to 1, not '1.5'"
}

@test "-s is required" {
	run --separate-stderr sg-route
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: sg-route "* ]]
}

@test "every policy decides, with its probability, its scores and a reason" {
	for pol in epsilon_greedy ucb1 thompson gaussian_thompson softmax linucb linear_thompson discounted_thompson sliding_window_ucb discounted_gaussian_thompson; do
		rc="{\"policy\": \"$pol\", \"draws\": 50}"
		rm -f st
		run --separate-stderr sh -c "$(declare -f job jobs); jobs 4 '$rc' | sg-route -s st --seed 3"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		echo "$output" | jq -se --arg pol "$pol" 'all(.decision.policy == $pol
			and .decision.p > 0 and .decision.p <= 1
			and (.decision.reason | length) > 10)'
		jq -e '.pending | length == 4 and (.["3"] | .arm and .context and .p and .policy)' st
	done
}

@test "Thompson sampling's probability is estimated by draws, the others' are exact" {
	rc='{"policy": "thompson", "draws": 399}'
	run --separate-stderr sh -c "$(declare -f job); job 0 '$rc' | sg-route -s st --seed 3"
	[ "$status" -eq 0 ]
	# three arms of one prior: each wins about a third of 400 draws
	echo "$output" | jq -e '.decision.p > 0.25 and .decision.p < 0.42
		and (.decision.draws | length) == 3 and .decision.mode == "sample"'
	[[ "$(echo "$output" | jq -r .decision.reason)" == "thompson: highest posterior draw "*" of 400 draws (draws: "* ]]
	rc='{"policy": "ucb1"}'
	run --separate-stderr sh -c "$(declare -f job); job 0 '$rc' | sg-route -s st2 --seed 3"
	echo "$output" | jq -e '(.decision.p - 1/3 | fabs) < 1e-9 and .decision.scores.templater_balanced == "inf"'
}

@test "an unknown policy is reported and the job passed on undecided" {
	run --separate-stderr sh -c "$(declare -f job); job 0 '{\"policy\": \"oracle\"}' | sg-route -s st"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sg-route: <stdin>:1: policy \"oracle\" is not one of sg-route(1)'s" ]
	echo "$output" | jq -e 'has("arm") | not'
}

# route and learn N jobs, one process each, under policy RC, rewarding
# templater_balanced best; the state file is STATE
learn_loop() {
	local rc=$1 st=$2 from=$3 to=$4
	for i in $(seq "$from" "$to"); do
		job "$i" "$rc" | sg-route -s "$st" --seed 7 |
			jq -c '{type: "reward", run, batch,
				reward: (if .arm == "templater_balanced" then 0.875 else 0.25 end)}' |
			sg-update -s "$st" >/dev/null
	done
}

@test "a run stopped and resumed from its state decides exactly as an uninterrupted one" {
	for pol in thompson linucb sliding_window_ucb discounted_gaussian_thompson; do
		rc="{\"policy\": \"$pol\", \"draws\": 20, \"window\": 5}"
		rm -f a b
		learn_loop "$rc" a 0 11
		learn_loop "$rc" b 0 4
		cp b b.saved && rm b && mv b.saved b # stopped, moved, resumed
		learn_loop "$rc" b 5 11
		cmp a b
		jq -e '.rewards == 12 and .pending == {}' a
	done
}

@test "the policies learn: the best arm is chosen most once rewards come in" {
	for pol in thompson gaussian_thompson discounted_thompson softmax ucb1 linucb linear_thompson discounted_gaussian_thompson; do
		rc="{\"policy\": \"$pol\", \"draws\": 10, \"alpha\": 0.3, \"sigma\": 0.2}"
		rm -f st
		learn_loop "$rc" st 0 29
		jq -e --arg pol "$pol" '.arms.templater_balanced.pulls > 15' st
	done
}

@test "the default policy: each arm until its reward is back, then draws around discounted means" {
	# three jobs before any reward: each arm once; a fourth goes to an
	# arm whose reward has not come back, in init mode still
	run --separate-stderr sh -c "$(declare -f job jobs); jobs 4 | sg-route -s st --seed 2"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .arm | head -n 3 | sort -u | wc -l)" -eq 3 ]
	[ "$(echo "$output" | jq -r .decision.mode | sort -u)" = init ]
	[[ "$(echo "$output" | jq -r .decision.reason | tail -n 1)" == "init: 3 of 3 arms not yet rewarded; uniform choice among them" ]]
	echo "$output" | jq -c '{type: "reward", run, batch,
		reward: (if .arm == "templater_balanced" then 0.75 else 0.25 end)}' > r.jsonl
	sg-update -s st < r.jsonl
	# every reward of the context multiplies every arm's counts by 0.95:
	# the first arm rewarded has n 0.95^3, the last one 1
	key=$(jq -r '.contexts | keys[0]' st)
	jq -e --arg k "$key" --arg last "$(jq -r .arm r.jsonl | tail -n 1)" \
		'.contexts[$k] | [.[] | .n] | sort | .[-1] == 1 or .[-1] == 1.95' st
	jq -e --arg k "$key" '.contexts[$k] | [.[] | .n] | min - (0.95 * 0.95 * 0.95) | fabs < 1e-9' st
	# then the draws: the best mean wins most
	run --separate-stderr sh -c "$(declare -f job jobs); jobs 40 | sg-route -s st"
	[ "$status" -eq 0 ]
	echo "$output" | jq -se 'all(.decision.mode == "sample"
		and .decision.policy == "discounted_gaussian_thompson"
		and .decision.params.sigma == 0.1 and .decision.params.discount == 0.95)'
	[ "$(echo "$output" | jq -r .arm | grep -cx templater_balanced)" -gt 30 ]
}

@test "a new run warm-starts from a previous run's state, and arms come and go without losing what was learnt" {
	rc='{"policy": "thompson", "draws": 10}'
	learn_loop "$rc" old 0 19
	cp old old.orig
	run --separate-stderr sh -c "$(declare -f job); job 0 '$rc' | jq -c '.run = \"t2\"' | sg-route -s new -w old --seed 1"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	cmp old old.orig
	echo "$output" | jq -e '.arm == "templater_balanced" and .batch == 0'
	jq -e --slurpfile o old '.run == "t2" and .steps == 1 and .rewards == 0
		and (.pending | keys) == ["0"]
		and .arms.templater_conservative == $o[0].arms.templater_conservative
		and .arms.templater_balanced.n == $o[0].arms.templater_balanced.n' new
	# a recipe without templater_exploratory leaves its statistics alone
	rc2='{"policy": "thompson", "draws": 10, "arms": ["templater_balanced", "templater_conservative"]}'
	learn_loop "$rc2" old 20 24
	jq -e --slurpfile o old.orig '.contexts[].templater_exploratory == $o[0].contexts[].templater_exploratory
		and .rewards == 25' old
	run --separate-stderr sh -c "$(declare -f job); job 0 '$rc' | jq -c '.run = \"t3\"' | sg-route -s st -w missing"
	[ "$status" -eq 3 ]
	[ "$stderr" = "sg-route: cannot open state 'missing': no such file" ]
}
