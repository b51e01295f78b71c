/*
 * pii.c - libFuzzer harness for the PII scan (lib/check/pii.c): any text, NUL
 * bytes and all, is scanned to its end (a scan that stands still is a
 * timeout), its spans lie inside it, in order and apart, and redacting a
 * text jansson takes as a string gives a string again.  An input that is
 * JSON is walked as a sample's data, keys and all: redacting an object
 * keeps every one of its members, however many keys redaction makes meet.
 */
#include <stdlib.h>
#include <string.h>

#include "check/check-internal.h"

static void
walk_json(const unsigned char *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size,
		JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	json_t *spans, *redacted = NULL;
	size_t members;

	if (!j)
		return;
	members = json_is_object(j) ? json_object_size(j) : 0;
	spans = sg_pii_data(j, ~0u, 0.0, &redacted);
	if (!json_is_array(spans) ||
		(redacted && json_is_object(j) &&
			json_object_size(redacted) != members))
		abort();
	json_decref(spans);
	json_decref(redacted);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1);
	struct sg_pii_span *v = NULL;
	json_t *s, *spans, *redacted = NULL;
	size_t n;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	n = sg_pii_find(text, size, ~0u, 0.0, &v);
	for (size_t i = 0; i < n; i++)
		if (v[i].start >= v[i].end || v[i].end > size ||
			(i > 0 && v[i].start < v[i - 1].end))
			abort();
	free(v);
	if ((s = json_stringn(text, size))) {
		spans = sg_pii_data(s, ~0u, 0.0, &redacted);
		if (!json_is_array(spans) ||
			(redacted && !json_is_string(redacted)))
			abort();
		json_decref(spans);
		json_decref(redacted);
		json_decref(s);
	}
	walk_json(data, size);
	free(text);
	return 0;
}
