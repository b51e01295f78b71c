/*
 * jsonl.c - libFuzzer harness for the record reader: any bytes, read line
 * by line as every tool reads its input, must give records or positioned
 * errors, never a crash, a hang or a leak.  Read again for a few fields
 * (r.fields), as sg-validate and sg-score read, they must give the same
 * records and errors: a sample cut to those fields or whole, any other
 * record whole.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"

static const char *const fields[] = {"type", "run", "batch", "data", NULL};

static void
open_at(struct sg_reader *r, const unsigned char *data, size_t size)
{
	memset(r, 0, sizeof *r);
	r->fp = fmemopen((void *)data, size, "r");
	r->name = "<fuzz>";
}

static void
close_at(struct sg_reader *r)
{
	fclose(r->fp);
	r->fp = NULL;
	sg_reader_close(r);
}

/* The partial record has exactly the named members of the whole one, or
 * is the whole one: a line sg_lazy_load is unsure of is read whole. */
static int
same_fields(json_t *part, json_t *whole)
{
	size_t n = 0;
	json_t *v;

	for (int i = 0; fields[i]; i++)
		if ((v = json_object_get(whole, fields[i]))) {
			n++;
			if (!json_equal(v, json_object_get(part, fields[i])))
				return 0;
		}
	return json_object_size(part) == n || json_equal(part, whole);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sg_reader r, lr;
	struct sg_error e, le;
	json_t *rec, *lrec;
	int got, lgot;

	if (size == 0)
		return 0;
	open_at(&r, data, size);
	open_at(&lr, data, size);
	lr.fields = fields;
	while ((got = sg_read_record(&r, &rec, &e)) != 0) {
		lgot = sg_read_record(&lr, &lrec, &le);
		if (lgot != got || lr.line != r.line ||
			(got < 0 && strcmp(e.text, le.text) != 0))
			abort();
		if (got > 0) {
			const char *run;
			long long batch;

			if (strcmp(sg_rec_type(rec), "sample") == 0
					? !same_fields(lrec, rec)
					: !json_equal(lrec, rec))
				abort();
			sg_record_batch(rec, &run, &batch, &e);
			free(sg_dumps(rec));
			json_decref(rec);
			json_decref(lrec);
		} else if (ferror(r.fp))
			break;
	}
	if (sg_read_record(&lr, &lrec, &le) != 0)
		abort();
	close_at(&r);
	close_at(&lr);
	return 0;
}
