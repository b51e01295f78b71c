/*
 * splice.c - libFuzzer harness for sg_splice: for any record the reader
 * accepts, a record spliced with fields "a" and "type" replaced (and "b"
 * dropped, "c" added) must parse back to what jansson makes of the same
 * change, and a line sg_splice refuses must be one it may refuse.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record-internal.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const owned[] = {"a", "type", "b", "c", NULL};
	struct sg_buf out = {0};
	json_t *rec, *back;
	json_error_t je;
	size_t n;

	if (!(rec = json_loadb(
		      (const char *)data, size, JSON_REJECT_DUPLICATES, &je)) ||
		!json_is_object(rec)) {
		json_decref(rec);
		return 0;
	}
	json_object_set_new(rec, "a", json_pack("{s[if]}", "x", 1, 0.5));
	json_object_set_new(rec, "type", json_string("sample"));
	json_object_del(rec, "b");
	json_object_set_new(rec, "c", json_true());
	n = sg_splice((const char *)data, size, rec, owned, &out);
	if (n == 0) {
		/* only a key with an escape may send a record to jansson */
		if (!memchr(data, '\\', size))
			abort();
	} else {
		if (!(back = json_loadb(
			      out.p, n, JSON_REJECT_DUPLICATES, &je)) ||
			!json_equal(back, rec))
			abort();
		json_decref(back);
	}
	free(out.p);
	json_decref(rec);
	return 0;
}
