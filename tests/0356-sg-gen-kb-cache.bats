#!/usr/bin/env bats
# sg-gen's knowledge-base index cache: kb-HASH.json in the cache directory,
# used while the sources keep their names, sizes and modification times,
# rebuilt when one changes, ignored and rebuilt when damaged.

load helpers
load llm-helpers

# A rag job over the copy of the fixture knowledge base in ./kb.
rag() {
	job 4 '.generator = "rag" | .recipe.knowledge_base = $kb | .params.top_k = 2 |
		.recipe.task_input.description = "wireless battery charging microphones"' --arg kb "$PWD/kb"
}

passages() {
	printf '%s\n' "$output" | jq -c 'select(.type == "sample") | .provenance.passages'
}

# What sg-gen -v said about the index.
index() {
	printf '%s\n' "$stderr" | sed -n "s|^sg-gen: knowledge base '$PWD/kb': index ||p"
}

# Run sg-gen -v on job.jsonl: it succeeds, retrieves what the first run did
# without a cache, and says $1 about the index.
gen() {
	run --separate-stderr sg-gen -v job.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(passages)" "$want"
	assert_equal "$(index)" "$1"
}

@test "the index is cached, reused, rebuilt on a changed source and on a damaged file" {
	cp -r "$FIXTURES/kb" kb
	server
	rag >job.jsonl
	run --separate-stderr sg-gen --no-cache -v job.jsonl
	[ "$status" -eq 0 ]
	assert_equal "$(index)" "built, not cached"
	[ ! -e cache ]
	want=$(passages)
	[ "$(echo "$want" | wc -l)" -eq 4 ]
	[ "$(echo "$want" | jq -s 'map(length == 2) | all')" = true ]
	built="built and cached in $BATS_TEST_TMPDIR/cache"
	read="read from the cache in $BATS_TEST_TMPDIR/cache"

	gen "$built"
	file=$(echo cache/kb-*.json)
	[ -f "$file" ]
	assert_equal "$(jq -c '[.version, (.sources | map(.[0])), (.passages | length)]' "$file")" \
		'[2,["battery.md","noise.md","pairing.txt"],5]'
	stamp=$(stat -c %y "$file")
	gen "$read"
	assert_equal "$(stat -c %y "$file")" "$stamp"

	# a touched source, an edited one, an added one, a removed one
	touch -d '2001-02-03 04:05:06' kb/noise.md
	gen "$built"
	gen "$read"
	printf '\nSpare tips come in three sizes.\n' >>kb/pairing.txt
	gen "$built"
	assert_equal "$(jq -c '.passages | map(.[0]) | .[-1]' "$file")" '"pairing.txt#5"'
	echo 'Storage cases protect the earbuds.' >kb/storage.md
	gen "$built"
	assert_equal "$(jq -c '.sources | map(.[0])' "$file")" '["battery.md","noise.md","pairing.txt","storage.md"]'
	rm kb/storage.md
	gen "$built"
	gen "$read"

	# damaged: not JSON, cut short, a posting past the last passage; and
	# one of version 1, whose sentences kept those of under three words
	good=$(cat "$file")
	echo 'garbage{' >"$file"
	gen "$built"
	printf '%s' "${good:0:500}" >"$file"
	gen "$built"
	jq -c '.postings.battery = [[99999, 1]]' <<<"$good" >"$file"
	gen "$built"
	jq -c '.version = 1' <<<"$good" >"$file"
	gen "$built"
	gen "$read"
}

@test "a one-file knowledge base is cached too, and --cache-dir moves the cache" {
	mkdir kb
	cp "$FIXTURES/kb/battery.md" kb/
	server
	job 2 '.generator = "rag" | .recipe.knowledge_base = $kb' --arg kb "$PWD/kb/battery.md" >job.jsonl
	for how in "built and cached in other" "read from the cache in other"; do
		run --separate-stderr sg-gen -v --cache-dir other job.jsonl
		[ "$status" -eq 0 ]
		assert_equal "$(printf '%s\n' "$stderr" | sed -n "s|^sg-gen: knowledge base '$PWD/kb/battery.md': index ||p")" "$how"
	done
	assert_equal "$(jq -c '.sources | map(.[0])' other/kb-*.json)" '["battery.md"]'
	[ ! -e cache ]
}
