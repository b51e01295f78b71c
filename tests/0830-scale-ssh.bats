#!/usr/bin/env bats
# examples/scale/parallel.sh across hosts (SCALING in sg(7)): hosts that
# are network namespaces, each with its own sshd, key-only login and home
# (tests/ssh-helpers.bash), the stand-in LLM server on this machine.

load helpers
load llm-helpers
load ssh-helpers

teardown() {
	[ -z "${SERVER:-}" ] || kill "$SERVER" 2> /dev/null || true
	hosts_down
}

# The rag arm alone, 2 samples a batch: 12 jobs, each a request with
# passages of the knowledge base, kb beside the recipe (a link).
rag_recipe() {
	ln -s "$EXAMPLES/llm/kb" kb
	sg-plan -n1 "$EXAMPLES/llm/reviews-llm.yaml" | jq '.recipe | .num_samples = 24
		| .router_config.arms |= map(select(.name? == "rag"))
		| .router_config.batch_size = 2 | .validators |= {deduplication, json_schema}' > r.json
}

# The server's settings in ./.env where the run starts, not in the
# environment: address $1.
dotenv() {
	printf 'OPENAI_BASE_URL=http://%s:%s/v1\nOPENAI_API_KEY=%s\n' \
		"$1" "$(cat port)" "$KEY" > .env
	unset OPENAI_BASE_URL OPENAI_API_KEY
}

@test "parallel.sh here: a worker's failure fails the round; a relative knowledge base and ./.env serve the run" {
	command -v parallel > /dev/null || skip "no GNU parallel (tests/deps.sh installs it)"
	server
	rag_recipe
	cp -r "$EXAMPLES/scale" .
	# a server that is not there: sg-gen fails in every worker
	printf 'OPENAI_BASE_URL=http://127.0.0.1:1/v1\n' > .env
	run --separate-stderr env -u OPENAI_BASE_URL -u OPENAI_API_KEY OUT=p sh scale/parallel.sh 2 r.json
	[ "$status" -eq 5 ]
	[ "$output" = "" ]
	grep -q "^parallel.sh: round 1 failed:$" <<< "$stderr"
	grep -Eq "^  worker [12] on this host: exit status 7, signal 0$" <<< "$stderr"
	[ ! -e p/run.state ]
	dotenv 127.0.0.1
	run --separate-stderr env OUT=p sh scale/parallel.sh 2 r.json
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "24 samples in p/data.jsonl" ]
	jq -e '.accepted == 24 and .pending == {}' p/run.state
	[ "$(jq -s 'map(select(.arm == "rag")) | length' p/data.jsonl)" -eq 24 ]
	[ -z "$(jq -r .data.text p/data.jsonl | sort | uniq -d)" ]
}

@test "parallel.sh over ssh: a host dies mid-round, the round fails naming it; run again, it is left out, the target reached, no sample twice" {
	command -v parallel > /dev/null || skip "no GNU parallel (tests/deps.sh installs it)"
	HOSTS=()
	hosts_up 3
	# each request a second: a worker on h2 is still at work when it goes
	server --bind "$GATEWAY" --latency 1000
	dotenv "$GATEWAY"
	rag_recipe
	cp -r "$EXAMPLES/scale" .
	export SSHLOGIN=h1,h2,h3 PARALLEL_SSH="ssh -F $PWD/ssh_config" SG_REMOTE_BIN=$SG_BIN OUT=p
	sh scale/parallel.sh 2 r.json > out1 2> err1 &
	pid=$!
	# as soon as a worker has its jobs on h2 (and waits on the server), the
	# host goes, sshd and all
	for _ in $(seq 1200); do
		! ls "$(host_home 2)"/.sg-scale/*/jobs.*.jsonl > /dev/null 2>&1 || break
		sleep 0.05
	done
	ls "$(host_home 2)"/.sg-scale/*/jobs.*.jsonl
	# the key is in a file only the login reads, in no process's arguments
	[ "$(stat -c %a "$(host_home 1)"/.sg-scale/*/.env)" = 600 ]
	[ -z "$(grep -lsE "${KEY%?}[${KEY: -1}]" /proc/[0-9]*/cmdline)" ]
	host_down 2
	st=0 && wait "$pid" || st=$?
	[ "$st" -eq 5 ]
	[ ! -s out1 ]
	grep -q "^parallel.sh: round 1 failed:$" err1
	grep -Eq "^  worker [1-6] on h2: exit status 255, signal 0$" err1
	[ "$(tail -n 1 err1)" = "parallel.sh: run the same command again to run it again" ]
	[ ! -e p/run.state ] && [ ! -s p/data.jsonl ]
	# the survivors' directories of the run are gone
	[ ! -e "$(host_home 1)/.sg-scale" ] && [ ! -e "$(host_home 3)/.sg-scale" ]
	run --separate-stderr sh scale/parallel.sh 2 r.json
	[ "$status" -eq 0 ]
	[ "$output" = "24 samples in p/data.jsonl" ]
	[[ "$stderr" =~ ^"parallel.sh: host 'h2' does not answer, left out: ssh: connect to host "[0-9.]+" port 22: Connection refused"$ ]]
	# 4 workers on h1 and h3, numbered over them
	[ "$(cut -f2 p/round.log | sed 1d | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" = "h1:2 h3:2 " ]
	jq -e '.accepted == 24 and .target == 24 and .pending == {}' p/run.state
	[ "$(wc -l < p/data.jsonl)" -eq 24 ]
	[ -z "$(jq -r .id p/data.jsonl | sort | uniq -d)" ]
	[ -z "$(jq -r .data.text p/data.jsonl | sort | uniq -d)" ]
	# every sample from the knowledge base the hosts were sent
	[ "$(jq -s 'map(select(.arm == "rag")) | length' p/data.jsonl)" -eq 24 ]
	[ ! -e "$(host_home 1)/.sg-scale" ] && [ ! -e "$(host_home 3)/.sg-scale" ]
}
