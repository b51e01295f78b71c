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

@test "every man page documents the shared exit-status table" {
	for t in $(tools); do
		grep -q '^\.Sh EXIT STATUS' "$MANDIR/$t.1"
		for code in 0 1 2 3 4 5 6 141; do
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
