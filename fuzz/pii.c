/*
 * pii.c - libFuzzer harness for the PII scan (lib/check/pii.c): any text, NUL
 * bytes and all, is scanned to its end (a scan that stands still is a
 * timeout), its spans lie inside it, in order and apart, and redacting a
 * text jansson takes as a string gives a string again.
 */
#include <stdlib.h>
#include <string.h>

#include "check/check-internal.h"

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
	free(text);
	return 0;
}
