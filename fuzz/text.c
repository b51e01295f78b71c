/*
 * text.c - libFuzzer harness for the scans sg-validate runs over a
 * sample's text (lib/base/text.c, lib/check/toxicity.c, faithfulness.c,
 * perplexity.c, minhash.c): any bytes, cut at the first NUL as a text is,
 * are read into words, shingled and signed, scored by a bigram model and
 * by TF-IDF, searched for offensive terms of a small lexicon (two-word,
 * leetspeak and stretched ones among them) and held against themselves as
 * a grounded sample's sources.  Each must end, and what it reports must
 * lie inside the text.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record.h"
#include "check/check-internal.h"

static struct sg_lexicon *lexicon;
static struct sg_lm *lm;
static struct sg_tfidf *tfidf;
static struct sg_minhash *minhash;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/sg-fuzz-lexicon.XXXXXX";
	static const char terms[] =
		"ass\t2\nshit\t2\nbastard\t1\n"
		"dick head\t2\nson of a bitch\t2\nfuck\t2\n";
	struct sg_error e;
	int fd = mkstemp(path);

	(void)argc, (void)argv;
	if (fd < 0 || write(fd, terms, sizeof terms - 1) != sizeof terms - 1)
		abort();
	close(fd);
	if (!(lexicon = sg_lexicon_load(path, &e)))
		abort();
	unlink(path);
	lm = sg_lm_train("the cat sat on the mat\nthe dog sat on the log\n");
	tfidf = sg_tfidf_new();
	minhash = sg_minhash_new(5, 17, 7);
	return 0;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1);
	struct sg_words ws = {0};
	uint64_t keys[17];
	uint32_t *set;
	size_t n, points;
	json_t *found, *term, *faith;
	double ppl;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	points = sg_codepoints(text, strlen(text));
	sg_words_read(&ws, text);
	n = sg_minhash_set(minhash, &ws, keys, &set);
	if (n == 0 || sg_set_sort(set, n) > n)
		abort();
	free(set);
	ppl = sg_lm_perplexity(lm, &ws);
	if (isnan(ppl) || ppl < 0)
		abort();
	if (isnan(sg_tfidf_cosine(tfidf, &ws, "the cat")))
		abort();
	found = sg_toxic_find(lexicon, text, 0);
	for (size_t i = 0; i < json_array_size(found); i++) {
		term = json_array_get(found, i);
		if (sg_get_int(term, "start", -1) < 0 ||
			sg_get_int(term, "start", -1) >=
				sg_get_int(term, "end", -1) ||
			sg_get_int(term, "end", -1) > (long long)points)
			abort();
	}
	json_decref(found);
	faith = sg_faithfulness(text, text);
	if (!json_is_object(faith))
		abort();
	json_decref(faith);
	free(ws.v);
	free(text);
	return 0;
}
