#!/bin/sh
# The reviews example scaled out by GNU parallel: rounds of N workers, each
# routing, generating, validating, scoring and learning on its own copy of
# the state, merged back after every round (see SCALING in sg(7)).
#   sh parallel.sh [N [recipe]]
# On this machine the workers share one --seen file, so no two keep the
# same sample.  Across hosts (SSHLOGIN=4/host1,4/host2, sg installed on
# each): parallel sends each worker the merged state (--basefile) and
# brings back its copy and its data (--return); the seen file then stays
# on each host, so cross-host duplicates must be removed afterwards.
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
# The run's state, from one batch on one worker.
[ -f run.state ] || sg-plan -n1 recipe.yaml | sg-route --seed 2026 -s run.state |
	sg-gen | sg-validate --seen seen | sg-score | sg-update -s run.state -o data.first.jsonl
while [ -n "$(sg-plan -s run.state recipe.yaml)" ]; do
	# one job per worker in turn ({%} is the slot, 1..n)
	sg-plan -s run.state recipe.yaml |
		parallel --pipe -N1 --round-robin -j"$n" ${SSHLOGIN:+-S "$SSHLOGIN" \
			--basefile run.state --basefile recipe.yaml \
			--return 'w{%}.state' --return 'data.{%}.jsonl'} \
			'cp run.state w{%}.state &&
			sg-route --worker $(({%} - 1))/'"$n"' -s w{%}.state | sg-gen |
			sg-validate --seen seen | sg-score |
			sg-update -s w{%}.state -o data.{%}.jsonl'
	ls w*.state | xargs sg-update --merge -s run.state
	rm -f w*.state
done
echo "$(cat data.*.jsonl | wc -l) samples in $out/data.*.jsonl"
