/*
 * lazy.c - libFuzzer harness for sg_lazy_load: a line it reads must be
 * one jansson reads too, and each member it keeps must be jansson's value
 * cut to the paths asked for, in jansson's order; and a plain line (no
 * escapes, numbers or non-ASCII bytes, little nesting) it must read.
 */
#include <stdlib.h>
#include <string.h>

#include "record/record-internal.h"

/* What sg_lazy_load should make of v for paths (n of them), worked out
 * from jansson's reading: an object cut to the members named, any other
 * value whole. */
static json_t *
project(json_t *v, const char *const paths[], size_t n)
{
	const char *key, *sub[8];
	json_t *out, *m;
	size_t len, nsub;
	int all;

	if (!json_is_object(v))
		return json_incref(v);
	out = json_object();
	json_object_foreach (v, key, m) {
		nsub = 0;
		all = 0;
		for (size_t i = 0; i < n; i++) {
			len = strcspn(paths[i], ".");
			if (strcmp(paths[i], "*") != 0 &&
				strncmp(paths[i], "*.", 2) != 0 &&
				(strlen(key) != len ||
					strncmp(key, paths[i], len) != 0))
				continue;
			if (paths[i][len] == '\0')
				all = 1;
			else
				sub[nsub++] = paths[i] + len + 1;
		}
		if (all || nsub)
			json_object_set_new(out, key,
				all ? json_incref(m) : project(m, sub, nsub));
	}
	return out;
}

/* Only a few kinds of byte, not too deep, not too many keys. */
static int
plain(const unsigned char *data, size_t size)
{
	size_t opens = 0, colons = 0;

	for (size_t i = 0; i < size; i++) {
		if (!strchr(" \t\r\n{}[]\":,abcdefghijklmnopqrstuvwxyz",
			    data[i]) ||
			data[i] == '\0')
			return 0;
		opens += data[i] == '{' || data[i] == '[';
		colons += data[i] == ':';
	}
	return opens < 30 && colons < 60;
}

static void
check(const unsigned char *data, size_t size, json_t *full,
	const char *const paths[], size_t n)
{
	json_t *lazy = sg_lazy_load((const char *)data, size, paths), *want;
	char *a, *b;

	if (!lazy) {
		if (json_is_object(full) && plain(data, size))
			abort();
		return;
	}
	if (!json_is_object(full))
		abort();
	want = project(full, paths, n);
	a = json_dumps(lazy, JSON_COMPACT | JSON_ENCODE_ANY);
	b = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!json_equal(lazy, want) || strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
	json_decref(want);
	json_decref(lazy);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const some[] = {
		"type", "a", "b.*.pass", "b.*.score", "c.d", "c", "e.f", NULL};
	static const char *const all[] = {"*", NULL};
	static const char *const none[] = {NULL};
	json_error_t je;
	json_t *full = json_loadb(
		(const char *)data, size, JSON_REJECT_DUPLICATES, &je);

	check(data, size, full, some, 7);
	check(data, size, full, all, 1);
	check(data, size, full, none, 0);
	json_decref(full);
	return 0;
}
