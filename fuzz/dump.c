/*
 * dump.c - libFuzzer harness for sg_dump: any value jansson reads (NUL in
 * strings allowed) is spelt byte for byte as json_dump_callback spells it
 * with SG_DUMP_FLAGS, and sg_dump fails exactly where jansson does.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record-internal.h"

static int
put(const char *buffer, size_t size, void *data)
{
	sg_buf_add(data, buffer, size);
	return 0;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sg_buf ours = {0}, theirs = {0};
	json_error_t je;
	json_t *v;
	int a, b;

	if (!(v = json_loadb((const char *)data, size,
		      JSON_DECODE_ANY | JSON_ALLOW_NUL, &je)))
		return 0;
	a = sg_dump(&ours, v);
	b = json_dump_callback(
		v, put, &theirs, SG_DUMP_FLAGS | JSON_ENCODE_ANY);
	if ((a < 0) != (b < 0) ||
		(a == 0 && (ours.len != theirs.len ||
				   memcmp(ours.p, theirs.p, ours.len) != 0)))
		abort();
	free(ours.p);
	free(theirs.p);
	json_decref(v);
	return 0;
}
