/*
 * samples - the input of the throughput benchmark: N samples of about 450
 * bytes of text, in batches of 1000, each batch opened by a routed job
 * whose recipe turns on every offline check of sg-validate and sg-score,
 * and closed by its batch record.  One text in 50 holds an e-mail address,
 * one in 100 offensive words.  (Near-duplicates are bench/neardup's.)
 *
 * usage: samples N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

#define VOCAB 20000
#define BATCH 1000

/* Every offline check but faithfulness (the samples carry no sources)
 * and custom (a user's command): the perplexity model learns from the
 * examples, which come from the same generator as the samples. */
static const char recipe[] =
	"{\"domain\":\"bench\",\"num_samples\":1000000,"
	"\"task_input\":{\"description\":\"%s\",\"examples\":[%s]},"
	"\"constraints\":{\"min_length\":100,\"max_length\":2000,"
	"\"min_diversity\":0.3,\"max_repetition_rate\":0.2,"
	"\"pattern\":\"^[a-z]\"},"
	"\"validators\":{\"length\":{\"min_words\":20,\"max_words\":200},"
	"\"pii\":{\"mode\":\"flag\"},\"toxicity\":{\"severity\":2},"
	"\"relevance\":{\"min_similarity\":0},"
	"\"perplexity\":{\"enabled\":true},"
	"\"deduplication\":{\"enabled\":true,\"threshold\":0.8}}}";

static char vocab[VOCAB][12];

/* About 440 bytes of words, the common ones more often. */
static size_t
make_text(struct sg_rng *r, char *text, size_t size)
{
	size_t o = 0;

	while (o < 440) {
		double u = sg_rng_uniform(r);

		o += (size_t)snprintf(text + o, size - o, "%s%s", o ? " " : "",
			vocab[(int)(u * u * VOCAB)]);
	}
	return o;
}

int
main(int argc, char *argv[])
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000, ex = 0;
	static char examples[60 * 1024], rec[64 * 1024], desc[256];
	struct sg_rng r;
	char text[1024];

	sg_rng_seed(&r, 1);
	for (int i = 0; i < VOCAB; i++) {
		int len = 3 + (int)sg_rng_below(&r, 7);

		for (int k = 0; k < len; k++)
			vocab[i][k] = (char)('a' + sg_rng_below(&r, 26));
	}
	for (int i = 0; i < 100; i++) {
		make_text(&r, text, sizeof text);
		ex += (size_t)snprintf(examples + ex, sizeof examples - ex,
			"%s\"%s\"", i ? "," : "", text);
	}
	snprintf(desc, sizeof desc, "%s %s %s %s", vocab[0], vocab[1], vocab[2],
		vocab[3]);
	snprintf(rec, sizeof rec, recipe, desc, examples);
	for (size_t i = 0; i < n; i++) {
		size_t b = i / BATCH, o;

		if (i % BATCH == 0)
			printf("{\"type\":\"job\",\"run\":\"bench\",\"batch\":%"
			       "zu,"
			       "\"n\":%d,\"arm\":\"a\",\"recipe\":%s}\n",
				b, BATCH, rec);
		o = make_text(&r, text, sizeof text);
		if (i % 50 == 7)
			o += (size_t)snprintf(text + o, sizeof text - o,
				" mail jo.doe@example.com");
		if (i % 100 == 3)
			o += (size_t)snprintf(text + o, sizeof text - o,
				" you bastard asshole");
		printf("{\"type\":\"sample\",\"id\":\"bench:%zu:%zu\","
		       "\"run\":\"bench\",\"batch\":%zu,\"index\":%zu,"
		       "\"arm\":\"a\",\"data\":\"%s\"}\n",
			b, i % BATCH, b, i % BATCH, text);
		if (i % BATCH == BATCH - 1 || i == n - 1)
			printf("{\"type\":\"batch\",\"run\":\"bench\","
			       "\"batch\":%zu,\"n\":%zu}\n",
				b, i % BATCH + 1);
	}
	return fflush(stdout) == EOF;
}
