#!/usr/bin/env bats
# The quick tier of the router's benchmark (bench/router-sim.c, the policies
# of lib/route/policy.c in simulated worlds): only orderings, the figures are in
# bench/RESULTS.md.

load helpers

SIM=${SG_BENCH:-$BATS_TEST_DIRNAME/../build/opt/bench}/router-sim

# regret SCENARIO POLICY [SETTING]: the mean regret of a row of the table
regret() {
	awk -v s="$1" -v p="$2" -v t="${3:-}" '$1 == s && $2 == p && index($0, t) { print $4; exit }' out
}

lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

@test "quick tier: Thompson beats UCB under delays, the drift-aware and contextual policies win their worlds" {
	run --separate-stderr "$SIM" quick
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	echo "$output" > out
	for d in delta=1 delta=10 delta=100; do
		lt "$(regret chapelle thompson $d)" "$(regret chapelle ucb1 $d)"
	done
	lt "$(regret chapelle thompson delta=1)" "$(regret chapelle thompson delta=100)"
	lt "$(regret drift discounted_thompson)" "$(regret drift thompson)"
	lt "$(regret drift sliding_window_ucb)" "$(regret drift thompson)"
	lt "$(regret context linucb)" "$(regret context thompson)"
	lt "$(regret context linear_thompson)" "$(regret context thompson)"
	# the regret's growth over a decade stays below twice Lai and Robbins'
	lt "$(regret stationary thompson 'eps=0.1,growth')" 2
}

@test "the simulator refuses a bad command line" {
	run --separate-stderr "$SIM" slow
	[ "$status" -eq 2 ]
	[ "$stderr" = "router-sim: usage: router-sim quick|full [scenario]" ]
}
