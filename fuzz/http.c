/*
 * http.c - libFuzzer harness for what sg reads of a server's answers: an
 * error body in any shape, and each line of a header block (Retry-After
 * in seconds or as a date, retry-after-ms).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/llm-internal.h"

/* a date in Retry-After is read by libcurl */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sg_error e;

	(void)argc;
	(void)argv;
	if (sg_curl_load(&e) < 0) {
		fprintf(stderr, "%s\n", e.text);
		exit(1);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	char msg[512];
	int quota, ms;

	sg_http_error_text(p, size, msg, sizeof msg, &quota);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		sg_http_retry_after(p, (size_t)((nl ? nl : end) - p), &ms);
		p = nl ? nl + 1 : end;
	}
	return 0;
}
