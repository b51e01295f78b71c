/*
 * deflate - the compression ratio of each batch of samples on standard
 * input under other deflate settings than sg-score's, and the time of one
 * deflate of a batch, to weigh the definition sg-score(1) gives against
 * them.  A batch's bytes are its text views each followed by a newline,
 * as sg-score compresses them; batches are taken in the order first met.
 * One line a setting: its name, the ratio of each batch, the mean
 * milliseconds a batch over REPEAT rounds (argument, default 5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "base/base.h"
#include "record/record.h"

struct setting {
	const char *name;
	int level, memlevel, strategy, tuned;
};

static const struct setting settings[] = {
	{"level 6", 6, 8, Z_DEFAULT_STRATEGY, 0},
	{"level 1", 1, 8, Z_DEFAULT_STRATEGY, 0},
	{"level 2", 2, 8, Z_DEFAULT_STRATEGY, 0},
	{"level 4", 4, 8, Z_DEFAULT_STRATEGY, 0},
	{"level 1, memLevel 7", 1, 7, Z_DEFAULT_STRATEGY, 0},
	{"level 1, memLevel 9", 1, 9, Z_DEFAULT_STRATEGY, 0},
	{"level 1, Z_RLE", 1, 8, Z_RLE, 0},
	{"Huffman only", 1, 8, Z_HUFFMAN_ONLY, 0},
	{"level 1, tuned (sg-score)", 1, 8, Z_DEFAULT_STRATEGY, 1},
};

static size_t
deflated(const struct setting *s, const struct sg_buf *b)
{
	static unsigned char out[1 << 16];
	z_stream z = {0};
	size_t size;

	if (deflateInit2(&z, s->level, Z_DEFLATED, 15, s->memlevel,
		    s->strategy) != Z_OK)
		exit(1);
	if (s->tuned)
		deflateTune(&z, 4, 258, 258, 4);
	z.next_in = (Bytef *)b->p;
	z.avail_in = (uInt)b->len;
	do {
		z.next_out = out;
		z.avail_out = sizeof out;
	} while (deflate(&z, Z_FINISH) == Z_OK);
	size = z.total_out;
	deflateEnd(&z);
	return size;
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
	for (size_t s = 0; s < sizeof settings / sizeof *settings; s++) {
		printf("%-26s", settings[s].name);
		for (k = 0; k < n; k++)
			printf(" %.4f",
				(double)deflated(&settings[s], &batch[k]) /
					(double)batch[k].len);
		t0 = clock();
		for (int r = 0; r < repeat; r++)
			for (k = 0; k < n; k++)
				deflated(&settings[s], &batch[k]);
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
