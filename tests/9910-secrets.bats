#!/usr/bin/env bats
# The API key never appears in any output, log, state, cache, report or
# dataset, with every program run verbosely against the stand-in server.

load helpers
load llm-helpers

@test "a marker key is nowhere in what a whole verbose run leaves behind" {
	server
	cp -r "$EXAMPLES/llm" ex
	cd ex
	run --separate-stderr sg-run -vv --seed 3 -o out.jsonl reviews-llm.yaml
	[ "$status" -eq 0 ]
	[ "$(wc -l < out.jsonl)" -eq 20 ]
	# the LLM arms were offered and used, so the key was sent
	jq -s -e 'map(select(.type == "job") | .decision.offered | index("naive_balanced") != null) | any' out.jsonl.state.log >/dev/null
	[ "$(wc -l < ../log.jsonl)" -gt 0 ]
	sg-report -o report.html out.jsonl.state > summary.txt 2> report.err
	sg-export -v out.jsonl > train.jsonl 2> export.err
	sg-plan -v reviews-llm.yaml > plan.jsonl 2> plan.err
	printf '%s\n%s\n' "$output" "$stderr" > run.out
	cd ..
	# everything the run wrote, the cache included; not the stand-in's own log
	files=$(find . -type f ! -name log.jsonl ! -name port | wc -l)
	[ "$files" -gt 10 ]
	run grep -rlF --exclude=log.jsonl -- "$KEY" .
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}
