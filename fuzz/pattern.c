/*
 * pattern.c - libFuzzer harness for recipe patterns (lib/recipe/pattern.c):
 * the bytes before the first NUL are a pattern, those after it a text.  A
 * pattern compiles or is refused with its position; a compiled one
 * matches, does not, or is stopped by a limit with a reason, in bounded
 * time (a match past the limits is a timeout).  The whole input, NUL and
 * all, is tried as a pattern too: a NUL is refused, never read past.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "recipe/recipe.h"

static void
try(const char *src, size_t len, const char *text, size_t tlen)
{
	struct sg_pattern *p;
	struct sg_error e;
	int rc;

	e.text[0] = '\0';
	if (!(p = sg_pattern_new(src, len, &e))) {
		if (!strstr(e.text, " at position "))
			abort();
		return;
	}
	e.text[0] = '\0';
	rc = sg_pattern_match(p, text, tlen, &e);
	if (rc < -1 || rc > 1 || (rc == -1 && !e.text[0]))
		abort();
	sg_pattern_free(p);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *buf = malloc(size + 1);
	size_t k;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	k = strlen(buf);
	try(buf, k, k < size ? buf + k + 1 : "", k < size ? size - k - 1 : 0);
	if (k < size)
		try(buf, size, "", 0);
	free(buf);
	return 0;
}
