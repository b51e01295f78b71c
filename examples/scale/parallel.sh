#!/bin/sh
# The reviews example scaled out by GNU parallel, in the form that is safe
# across hosts (see SCALING in sg(7)): each round, N workers route and
# generate on their copies of the run's state, here or on the hosts of
# SSHLOGIN; their copies are merged back; then this host alone validates
# against one seen file, scores and learns, into one output.
#   sh parallel.sh [N [recipe]]
#   SSHLOGIN=4/host1,4/host2 sh parallel.sh 8     (sg installed on each)
# Generation, the slow part, runs on the workers; no sample is kept twice,
# across hosts too, since one seen file sees every sample.  The workers
# start from nothing in the first round.  An interrupted run resumes with
# the same command: a round whose generation or merge did not finish runs
# again, and the learning here commits batch by batch into the one output
# (sg-update -o), so none is lost or kept twice.
# Programs come from SG_BIN (the build tree's bin/ by default).
set -eu
n=${1:-4}
recipe=${2:-$(dirname "$0")/../reviews/reviews.yaml}
PATH=${SG_BIN:-$(cd "$(dirname "$0")/../../bin" && pwd)}:$PATH
export PATH
out=${OUT:-out}
mkdir -p "$out"
cp "$recipe" "$out/recipe.yaml"
cd "$out"
# locally N slots; remotely the slots SSHLOGIN gives, N in all
slots=-j$n
[ -z "${SSHLOGIN:-}" ] || slots="-S $SSHLOGIN"
while [ -n "$(sg-plan -s run.state recipe.yaml)" ]; do
	rm -f w*.state gen.jsonl
	send=
	[ ! -f run.state ] || send="--basefile run.state"
	# one job per worker in turn ({%} is the slot, 1..n); the merged
	# state goes out, each copy comes back
	sg-plan -s run.state recipe.yaml |
		parallel --pipe -N1 --round-robin $slots \
			${SSHLOGIN:+$send --return 'w{%}.state'} \
			'rm -f w{%}.state && { [ ! -f run.state ] || cp run.state w{%}.state; } &&
			sg-route --seed 2026 --worker $(({%} - 1))/'"$n"' -s w{%}.state |
			sg-gen' > gen.jsonl
	# the decisions first, so that every reward finds its own
	ls w*.state | xargs sg-update --merge -s run.state
	sg-validate --seen seen < gen.jsonl | sg-score | sg-update -s run.state -o data.jsonl
done
echo "$(wc -l < data.jsonl) samples in $out/data.jsonl"
