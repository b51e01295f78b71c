/*
 * jsonl.c - libFuzzer harness for the record reader: any bytes, read line
 * by line as every tool reads its input, must give records or positioned
 * errors, never a crash, a hang or a leak.
 */
#include "sg.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sg_reader r = {0};
	struct sg_error e;
	json_t *rec;
	int got;

	if (size == 0)
		return 0;
	r.fp = fmemopen((void *)data, size, "r");
	r.name = "<fuzz>";
	while ((got = sg_read_record(&r, &rec, &e)) != 0) {
		if (got > 0) {
			const char *run;
			long long batch;

			sg_record_batch(rec, &run, &batch, &e);
			free(sg_dumps(rec));
			json_decref(rec);
		} else if (ferror(r.fp))
			break;
	}
	fclose(r.fp);
	r.fp = NULL;
	sg_reader_close(&r);
	return 0;
}
