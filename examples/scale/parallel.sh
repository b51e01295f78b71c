#!/bin/bash
# The reviews example scaled out by GNU parallel, here or across hosts over
# ssh (see SCALING in sg(7)): each round, workers route and generate on
# their copies of the run's state; their copies are merged back; then this
# host alone validates against one seen file, scores and learns, into one
# output.
#   sh parallel.sh [N [recipe]]                  N workers here (4)
#   SSHLOGIN=2/host1,host2 sh parallel.sh [N [recipe]]
#       2 workers on host1, N on host2 (1 without N), as parallel -S counts
# The hosts need sg on the PATH of an ssh login, or in SG_REMOTE_BIN there,
# and key login without a prompt.  Each run works in a directory of its own
# on each host, ~/.sg-scale/ID; the recipe's knowledge base and the LLM
# server's variables (from the environment and ./.env) go there as files,
# the latter mode 600, never as arguments; both are removed at the end.
# A host that does not answer when the run starts is left out, and the
# workers are numbered over the hosts that do.  A worker that fails fails
# its round, with its host named; the same command runs the round again.
# Generation, the slow part, runs on the workers; no sample is kept twice,
# across hosts too, since one seen file sees every sample.  An interrupted
# run resumes with the same command, from the same directory: a round whose
# generation or merge did not finish runs again, and the learning here
# commits batch by batch into the one output (sg-update -o), so none is
# lost or kept twice.
# Programs come from SG_BIN (the build tree's bin/ by default); jq reads the
# recipe's knowledge base.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
set -euo pipefail
me=${0##*/}
n=${1-}
recipe=${2:-$(dirname "$0")/../reviews/reviews.yaml}
PATH=${SG_BIN:-$(cd "$(dirname "$0")/../../bin" && pwd)}:$PATH
export PATH
out=${OUT:-out}
seed=${SEED:-2026}
if [[ ! $n =~ ^([1-9][0-9]*)?$ ]]; then
	echo "usage: [SSHLOGIN=[n/]host,...] $me [N [recipe]]" >&2
	exit 2
fi
mkdir -p "$out"

say() {
	printf '%s: %s\n' "$me" "$*" >&2
}

# at: where a worker finds its files; pre: what it does first
at=$(printf %q "$out")
pre=
ssh=()
if [ -n "${SSHLOGIN:-}" ]; then
	# a cut link fails within 15 s, a dead host within 10, no prompt waits
	export PARALLEL_SSH="${PARALLEL_SSH:-ssh} -o BatchMode=yes \
-o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3"
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	hosts=()
	slots=0
	IFS=, read -ra logins <<< "$SSHLOGIN"
	# each host asked at once
	for i in "${!logins[@]}"; do
		[[ ${logins[i]} =~ ^([0-9]+/)?(.+)$ ]] || continue
		parallel --nonall -S "${BASH_REMATCH[2]}" true > /dev/null 2> "$stage/$i" &&
			rm "$stage/$i" &
	done
	wait
	for i in "${!logins[@]}"; do
		c=${n:-1} h=${logins[i]}
		[ -n "$h" ] || continue
		if [[ $h =~ ^([0-9]+)/(.+)$ ]]; then
			c=${BASH_REMATCH[1]} h=${BASH_REMATCH[2]}
		fi
		if [ "$h" = : ]; then
			say "SSHLOGIN: ':' (this host) is not a host; run without SSHLOGIN"
			exit 2
		elif [ -f "$stage/$i" ]; then
			say "host '$h' does not answer, left out: $(tail -n 1 "$stage/$i" | tr -d '\r')"
		else
			hosts+=("$c/$h")
			slots=$((slots + c))
		fi
	done
	[ "$slots" -gt 0 ] || { say "no host of SSHLOGIN answers" && exit 7; }
	ssh=(-S "$(IFS=,; echo "${hosts[*]}")")
	id=$(date +%Y%m%d%H%M%S)-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
	ssh+=(--workdir ".sg-scale/$id" --rsync-opts -rLDzR)
	trap 'rm -rf "$stage"; parallel --nonall "${ssh[@]:0:2}" \
		"rm -rf .sg-scale/$id; rmdir .sg-scale" > /dev/null 2>&1 || true' EXIT
	# Paths in the recipe are relative to its own: the hosts get a copy of
	# this directory's tree from the nearest ancestor that holds the
	# knowledge base too, and the workers run where this directory is in it.
	recipe=$(realpath -s -m --relative-to=. "$recipe")
	files=$(dirname "$recipe")
	kb=$(sg-plan -n1 "$recipe" 2> /dev/null | jq -r '.recipe.knowledge_base // empty') || kb=
	case $kb in
	'') ;;
	/*) say "knowledge base '$kb': an absolute path, which each host must have"
		kb= ;;
	*) kb=$(realpath -s -m --relative-to=. "$files/$kb") ;;
	esac
	up=0
	for p in "$kb" "$files"; do
		k=0
		while [[ $p == .. || $p == ../* ]]; do
			p=${p#..} p=${p#/} k=$((k + 1))
		done
		[ "$k" -le "$up" ] || up=$k
	done
	top=$(pwd -P)
	for ((k = 0; k < up; k++)); do top=$(dirname "$top"); done
	here=$(realpath -s -m --relative-to="$top" .)
	base=()
	[ -z "$kb" ] || base+=(--basefile "${top%/}/./$(realpath -s -m --relative-to="$top" "$kb")")
	# the LLM server's settings as this host's tools see them: the
	# environment first, then ./.env (a builtin writes them: no arguments)
	env=.env
	[ "$here" = . ] || env=$here/.env
	mkdir -p "$stage/$here"
	(
		umask 077
		for v in OPENAI_API_KEY OPENAI_BASE_URL OPENAI_EMBEDDING_MODEL \
			OPENAI_MODEL OPENAI_ORG_ID OPENAI_PROJECT_ID; do
			[ -z "${!v-}" ] || printf '%s=%s\n' "$v" "${!v}"
		done > "$stage/$env"
		[ ! -r .env ] || cat .env >> "$stage/$env"
	)
	base+=(--basefile "$stage/./$env")
	# ship them once; each round's state goes with the round
	parallel --nonall "${ssh[@]}" "${base[@]}" true
	at='"$d"'
	pre="d=\$PWD && mkdir -p $(printf %q "$here/$files") && cd $(printf %q "$here") && "
	[ -z "${SG_REMOTE_BIN:-}" ] ||
		pre+="PATH=$(printf %q "$SG_REMOTE_BIN"):\$PATH && "
else
	slots=${n:-4}
fi

round=0
while :; do
	sg-plan -s "$out/run.state" "$recipe" > "$out/jobs.jsonl"
	jobs=$(wc -l < "$out/jobs.jsonl")
	[ "$jobs" -gt 0 ] || break
	round=$((round + 1))
	# as many workers as jobs, up to the slots; worker k takes every kth
	w=$((jobs < slots ? jobs : slots))
	rm -f "$out"/w[0-9]*.state "$out"/jobs.[0-9]*.jsonl "$out/gen.jsonl" "$out/round.log"
	awk -v w="$w" -v d="$out" '{ print > (d "/jobs." ((NR - 1) % w + 1) ".jsonl") }' \
		"$out/jobs.jsonl"
	# the merged state goes out (none in the first round: the workers start
	# from nothing), each copy comes back
	copy=
	move=()
	if [ -f "$out/run.state" ]; then
		copy="cp $at/run.state $at/w{}.state && "
		[ -z "${SSHLOGIN:-}" ] || move=(--basefile "$out/./run.state")
	fi
	if [ -n "${SSHLOGIN:-}" ]; then
		move+=(--transferfile "$out/./jobs.{}.jsonl" --return "$out/./w{}.state" --cleanup)
	fi
	cmd="set -o pipefail && $pre rm -f $at/w{}.state && $copy
		sg-route --seed $seed --worker \$(({} - 1))/$w -s $at/w{}.state < $at/jobs.{}.jsonl |
		sg-gen"
	st=0
	parallel -j"$slots" "${ssh[@]}" "${move[@]}" --halt now,fail=1 \
		--joblog "$out/round.log" "$cmd" ::: $(seq "$w") > "$out/gen.jsonl" || st=$?
	# a failed job, or a copy that did not come back, fails the round
	bad=()
	while IFS=$'\t' read -r k host _ _ _ _ ev sig _; do
		[ "$host" != : ] || host="this host"
		if [ "$ev" -ne 0 ] || [ "$sig" -ne 0 ]; then
			bad+=("worker $k on $host: exit status $ev, signal $sig")
		elif [ ! -f "$out/w$k.state" ]; then
			bad+=("worker $k on $host: its state did not come back")
		fi
	done < <(tail -n +2 "$out/round.log" 2> /dev/null)
	if [ "$st" -ne 0 ] || [ ${#bad[@]} -gt 0 ]; then
		say "round $round failed${bad:+:}"
		[ ${#bad[@]} -eq 0 ] || printf '  %s\n' "${bad[@]}" >&2
		say "run the same command again to run it again"
		exit 5
	fi
	# the decisions first, so that every reward finds its own
	states=()
	for k in $(seq "$w"); do states+=("$out/w$k.state"); done
	sg-update --merge -s "$out/run.state" "${states[@]}"
	sg-validate --seen "$out/seen" < "$out/gen.jsonl" | sg-score |
		sg-update -s "$out/run.state" -o "$out/data.jsonl"
done
echo "$(wc -l < "$out/data.jsonl") samples in $out/data.jsonl"
