# Shared by every tests/*.bats file: put the programs under test first in
# PATH, work in a private directory, and keep the environment from leaking
# an LLM configuration into offline tests.

bats_require_minimum_version 1.5.0

SG_BIN=${SG_BIN:-$BATS_TEST_DIRNAME/../bin}
EXAMPLES=$BATS_TEST_DIRNAME/../examples
MANDIR=$BATS_TEST_DIRNAME/../man
FIXTURES=$BATS_TEST_DIRNAME/fixtures

setup() {
	PATH=$SG_BIN:$PATH
	export NO_COLOR=1
	unset OPENAI_API_KEY OPENAI_BASE_URL SG_LLM
	# the toxicity lexicon `make lexicon` fetched, for the examples
	export SG_LEXICON=${SG_LEXICON:-$BATS_TEST_DIRNAME/../build/lexicon/toxicity.tsv}
	cd "$BATS_TEST_TMPDIR" || return 1
}

# The SYNOPSIS of man/NAME.1 as one line of words.
man_synopsis() {
	groff -t -mandoc -Tascii -P-cbou -rLL=400n "$MANDIR/$1.1" 2>/dev/null |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | tr -s ' \n' '  ' |
		sed 's/^ *//; s/ *$//'
}

# The usage text of NAME --help as one line of words.
help_synopsis() {
	"$1" --help | sed 's/^usage: *//; s/^ *//' | tr -s ' \n' '  ' |
		sed 's/^ *//; s/ *$//'
}

# Fails with a diff-like message when two strings differ.
assert_equal() {
	if [ "$1" != "$2" ]; then
		printf 'expected: %s\nactual:   %s\n' "$2" "$1" >&2
		return 1
	fi
}

# texts TEXT...: one sample of run "t", batch 0, per argument, with ids
# t:0:0, t:0:1, ...
texts() {
	local i=0
	for t in "$@"; do
		jq -nc --arg t "$t" --argjson i "$i" \
			'{type: "sample", id: "t:0:\($i)", run: "t", batch: 0, data: $t}'
		i=$((i + 1))
	done
}

# A reward recomputed from its own record as sg-score(1) gives the formula:
# the weighted mean of the parts measured, the penalties, the cost.
REWARD_FORMULA='. as $r | [.parts | to_entries[] |
	select(.value != null and ($r.weights[.key] // 0) > 0) |
	[$r.weights[.key] * .value, $r.weights[.key]]] |
	(if length == 0 then 0 else (map(.[0]) | add) / (map(.[1]) | add) end)
	* ($r | if .diversity_ok == false then 0.5 else 1 end)
	* ($r | if .repetition_ok == false then 0.5 else 1 end)
	* ($r | if .dispersion_ok == false then 0.5 else 1 end)
	- ($r.cost_weight // 0) * ($r.cost // 0)'
