/*
 * deflate - the compression ratio of each batch of samples on standard
 * input at each of libdeflate's levels (sg-score's is 1), and the time of
 * one deflate of a batch, to weigh the definition sg-score(1) gives
 * against them.  A batch's bytes are its text views each followed by a
 * newline, as sg-score compresses them; batches are taken in the order
 * first met.
 * One line a level: its number, the ratio of each batch, the mean
 * milliseconds a batch over REPEAT rounds (argument, default 5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libdeflate.h>

#include "base/base.h"
#include "record/record.h"

/* libdeflate's levels, 1 being sg-score's; 0 stores, 12 searches most */
#define LEVELS 12

static size_t
deflated(int level, const struct sg_buf *b)
{
	static struct libdeflate_compressor *c[LEVELS + 1];
	static unsigned char *out;
	static size_t cap;
	size_t bound;

	if (!c[level] && !(c[level] = libdeflate_alloc_compressor(level)))
		exit(1);
	bound = libdeflate_deflate_compress_bound(c[level], b->len);
	if (bound > cap)
		out = sg_xrealloc(out, cap = bound);
	return libdeflate_deflate_compress(c[level], b->p, b->len, out, cap);
}

int
main(int argc, char *argv[])
{
	struct sg_buf *batch = NULL;
	long long *id = NULL;
	size_t n = 0, k, cap = 0;
	char *line = NULL, *text;
	int repeat = argc > 1 ? atoi(argv[1]) : 5;
	json_t *rec;
	ssize_t len;
	clock_t t0;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (!(rec = json_loadb(line, (size_t)len, 0, NULL)))
			return 1;
		if (strcmp(sg_rec_type(rec), "sample") == 0) {
			long long b = sg_get_int(rec, "batch", 0);

			for (k = 0; k < n && id[k] != b; k++)
				;
			if (k == n) {
				batch = sg_xrealloc(batch, ++n * sizeof *batch);
				id = sg_xrealloc(id, n * sizeof *id);
				memset(&batch[k], 0, sizeof *batch);
				id[k] = b;
			}
			text = sg_sample_text(json_object_get(rec, "data"));
			sg_buf_add(&batch[k], text, strlen(text));
			sg_buf_add(&batch[k], "\n", 1);
			free(text);
		}
		json_decref(rec);
	}
	for (int level = 1; level <= LEVELS; level++) {
		printf("level %-2d%s", level,
			level == 1 ? " (sg-score)" : "           ");
		for (k = 0; k < n; k++)
			printf(" %.4f", (double)deflated(level, &batch[k]) /
						(double)batch[k].len);
		t0 = clock();
		for (int r = 0; r < repeat; r++)
			for (k = 0; k < n; k++)
				deflated(level, &batch[k]);
		printf("  %.2f ms/batch\n", (double)(clock() - t0) * 1000 /
						    CLOCKS_PER_SEC / repeat /
						    (double)(n ? n : 1));
	}
	for (k = 0; k < n; k++)
		free(batch[k].p);
	free(batch);
	free(id);
	free(line);
	return 0;
}
