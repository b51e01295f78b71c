#!/usr/bin/env bats
# What every sg program shares: --help matching its manual's SYNOPSIS,
# --version, and the usage exit status for a bad option.

load helpers

tools() {
	for t in "$BATS_TEST_DIRNAME"/../tools/sg-*.c; do basename "$t" .c; done
}

@test "every program has a man page whose SYNOPSIS matches --help" {
	for t in $(tools); do
		[ -f "$MANDIR/$t.1" ] || { echo "no man page for $t" >&2; return 1; }
		run --separate-stderr "$t" --help
		[ "$status" -eq 0 ] || { echo "$t --help: $status" >&2; return 1; }
		[ -z "$stderr" ]
		[[ "$output" == "usage: $t"* ]]
		assert_equal "$(help_synopsis "$t")" "$(man_synopsis "$t")"
	done
}

@test "every program prints its version" {
	for t in $(tools); do
		run --separate-stderr "$t" --version
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[[ "$output" =~ ^$t\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	done
}

@test "every program rejects an unknown option with status 2 and usage on stderr" {
	for t in $(tools); do
		run --separate-stderr "$t" --no-such-option
		[ "$status" -eq 2 ] || { echo "$t: status $status" >&2; return 1; }
		[ -z "$output" ]
		[[ "$stderr" == *"usage: $t"* ]]
	done
}

@test "every program reads .env at start: an unreadable one stops it with status 3" {
	mkdir .env
	for t in $(tools); do
		run --separate-stderr "$t" --version
		[ "$status" -eq 3 ] || { echo "$t: status $status" >&2; return 1; }
		[ -z "$output" ]
		assert_equal "$stderr" "$t: cannot read '.env': Is a directory"
	done
}

@test "every man page documents the shared exit-status table" {
	for t in $(tools); do
		grep -q '^\.Sh EXIT STATUS' "$MANDIR/$t.1"
		for code in 0 1 2 3 4 5 6 7 141; do
			grep -q "^\.It $code\$" "$MANDIR/$t.1" ||
				{ echo "$t.1 lacks exit status $code" >&2; return 1; }
		done
	done
}

@test "make install puts programs and manuals under DESTDIR and PREFIX" {
	run --separate-stderr make -s -C "$BATS_TEST_DIRNAME/.." install \
		DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr
	[ "$status" -eq 0 ]
	for t in $(tools); do
		[ -x "root/usr/bin/$t" ]
		[ -f "root/usr/share/man/man1/$t.1" ]
	done
	[ -f root/usr/share/man/man5/sg-recipe.5 ]
	[ -f root/usr/share/man/man7/sg.7 ]
	root/usr/bin/sg-plan --version
}

# The order lib/README draws: the parts each part may include.
below() {
	case $1 in
	base) ;;
	record) echo base ;;
	recipe | llm | route | score | eval) echo base record ;;
	gen) echo base record recipe llm score ;;
	check) echo base record recipe llm ;;
	*) echo "no part $1" >&2 ;;
	esac
}

# "file: header" for each include of lib/ that its layering forbids, and
# for each private header a tool includes.
bad_includes() {
	local f part inc
	for f in "$BATS_TEST_DIRNAME"/../lib/*/*.[ch]; do
		part=$(basename "$(dirname "$f")")
		for inc in $(sed -n 's/^#include "\([^"]*\)"$/\1/p' "$f"); do
			case " $part $(below "$part") " in
			*" ${inc%%/*} "*) ;;
			*) echo "lib/$part/${f##*/}: $inc"; continue ;;
			esac
			[ "${inc%%/*}" = "$part" ] || [[ "$inc" != *-internal.h ]] ||
				echo "lib/$part/${f##*/}: $inc"
		done
	done
	grep -H '^#include ".*-internal\.h"' "$BATS_TEST_DIRNAME"/../tools/*.c |
		sed 's|.*/tools/|tools/|'
}

@test "lib/: a part includes only its own headers and public ones of parts below it" {
	run --separate-stderr bad_includes
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ -z "$output" ]
}

@test "lib/: every file starts with a comment naming it" {
	for f in "$BATS_TEST_DIRNAME"/../lib/*/*.[ch]; do
		[ "$(sed -n 1p "$f")" = "/*" ] &&
			[[ "$(sed -n 2p "$f")" == " * ${f##*/} - "* ]] ||
			{ echo "${f#*/../}: no top comment naming it" >&2; return 1; }
	done
}
