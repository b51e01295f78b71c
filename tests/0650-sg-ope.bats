#!/usr/bin/env bats
# sg-ope: IPS, self-normalised IPS and doubly robust estimates on synthetic
# logs whose true values are known.

load helpers

# A log of 8 decisions by a logging policy giving A 1/2, B and C 1/4 each,
# its arms in exactly those shares; A earns 0.8, B 0.4 or 0.6 (mean 0.5),
# C 0.2; rewards come after all the jobs and in reverse order.
log8() {
	jq -nc '[["A",0.8],["A",0.8],["A",0.8],["A",0.8],["B",0.4],["B",0.6],["C",0.2],["C",0.2]]
		| to_entries[] | {type: "job", run: "t", batch: .key, arm: .value[0],
			context: {domain: "d"},
			decision: {p: (if .value[0] == "A" then 0.5 else 0.25 end),
				offered: ["A", "B", "C"]}}'
	jq -nc '[0.8,0.8,0.8,0.8,0.4,0.6,0.2,0.2] | to_entries | reverse[]
		| {type: "reward", run: "t", batch: .key, reward: .value}'
}

@test "each target policy's true value is recovered by all three estimators" {
	log8 > log.jsonl
	for t in "-a A 0.8" "-a B 0.5" "-a C 0.2" "-U 0.5" "-g 0.8"; do
		set -- $t
		v=${!#}
		run --separate-stderr sg-ope "${@:1:$#-1}" log.jsonl
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		echo "$output" | jq -e --argjson v "$v" '.type == "ope" and .n == 8
			and (.ips - $v | fabs) < 1e-9 and (.snips - $v | fabs) < 1e-9
			and (.dr - $v | fabs) < 1e-9'
	done
}

@test "IPS is unbiased on a random log, and doubly robust has the smaller error" {
	# uniform logging over 3 arms of Bernoulli means 0.8, 0.5, 0.2
	awk 'BEGIN { srand(3); split("A B C", a); m["A"] = 0.8; m["B"] = 0.5; m["C"] = 0.2
		for (i = 0; i < 3000; i++) { k = a[int(rand() * 3) + 1]
			printf "{\"type\":\"job\",\"run\":\"t\",\"batch\":%d,\"arm\":\"%s\",\"context\":{},\"decision\":{\"p\":0.3333333333333333,\"offered\":[\"A\",\"B\",\"C\"]}}\n", i, k
			printf "{\"type\":\"reward\",\"run\":\"t\",\"batch\":%d,\"reward\":%d}\n", i, rand() < m[k] } }' > log.jsonl
	run --separate-stderr sg-ope -a A log.jsonl
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '(.ips - 0.8 | fabs) < 3 * .ips_se and (.dr - 0.8 | fabs) < 3 * .dr_se
		and .dr_se < .ips_se and (.snips - 0.8 | fabs) < 0.05'
}

@test "a job without a probability is reported; unjoined records are left out" {
	{ log8 | sed -n 1,7p; echo '{"type":"job","run":"t","batch":9,"arm":"A","decision":{"offered":["A"]}}'; log8 | sed -n '9,$p'; } > log.jsonl
	run --separate-stderr sg-ope -a A log.jsonl
	[ "$status" -eq 1 ]
	[ "$stderr" = "sg-ope: log.jsonl:8: job of batch 9 has no arm, decision \"p\" in (0, 1] or \"offered\"" ]
	echo "$output" | jq -e '.n == 7'
}

@test "one target policy at most" {
	run --separate-stderr sg-ope -a A -g
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: sg-ope "* ]]
}
