/*
 * lm.c - a word bigram language model with absolute discounting,
 * interpolated with an add-one unigram model, trained on a recipe's
 * reference text: the perplexity of a sample under it says how far the
 * sample strays from the language of its seeds and knowledge base, which
 * is what flags garbled or off-topic generations without any network.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sg.h"

#define DISCOUNT 0.75

struct sg_lm {
	json_t *uni;   /* word -> count */
	json_t *bi;    /* "w1 w2" -> count */
	json_t *ctx;   /* w1 -> [count as context, distinct followers] */
	double tokens; /* counted words, "</s>" included */
};

static int
wordc(int c)
{
	return isalnum(c) || c == '\'' || c >= 0x80;
}

/* Calls fn on each word of text folded to lower case, sentence marks
 * "<s>" and "</s>" around each line. */
static void
words(const char *s, void (*fn)(void *ctx, const char *prev, const char *w),
	void *ctx)
{
	char prev[64] = "<s>", w[64];

	for (;;) {
		size_t n = 0;

		while (*s && !wordc((unsigned char)*s) && *s != '\n')
			s++;
		if (!*s || *s == '\n') {
			if (strcmp(prev, "<s>") != 0)
				fn(ctx, prev, "</s>");
			strcpy(prev, "<s>");
			if (!*s++)
				return;
			continue;
		}
		while (wordc((unsigned char)*s)) {
			if (n + 1 < sizeof w)
				w[n++] = (char)tolower((unsigned char)*s);
			s++;
		}
		w[n] = '\0';
		fn(ctx, prev, w);
		strcpy(prev, w);
	}
}

static void
bump(json_t *o, const char *k, int i)
{
	json_t *v = json_object_get(o, k);

	if (!v) {
		json_object_set_new(o, k, json_pack("[ii]", 0, 0));
		v = json_object_get(o, k);
	}
	json_array_set_new(v, (size_t)i,
		json_integer(
			json_integer_value(json_array_get(v, (size_t)i)) + 1));
}

static void
train(void *ctx, const char *prev, const char *w)
{
	struct sg_lm *lm = ctx;
	char key[130];

	snprintf(key, sizeof key, "%s %s", prev, w);
	json_object_set_new(
		lm->uni, w, json_integer(sg_get_int(lm->uni, w, 0) + 1));
	if (!json_object_get(lm->bi, key))
		bump(lm->ctx, prev, 1);
	json_object_set_new(
		lm->bi, key, json_integer(sg_get_int(lm->bi, key, 0) + 1));
	bump(lm->ctx, prev, 0);
	lm->tokens++;
}

struct sg_lm *
sg_lm_train(const char *text)
{
	struct sg_lm *lm = sg_xmalloc(sizeof *lm);

	lm->uni = json_object();
	lm->bi = json_object();
	lm->ctx = json_object();
	lm->tokens = 0;
	words(text, train, lm);
	return lm;
}

void
sg_lm_free(struct sg_lm *lm)
{
	if (!lm)
		return;
	json_decref(lm->uni);
	json_decref(lm->bi);
	json_decref(lm->ctx);
	free(lm);
}

struct score {
	const struct sg_lm *lm;
	double logp;
	size_t n;
};

static void
score(void *ctx, const char *prev, const char *w)
{
	struct score *sc = ctx;
	const struct sg_lm *lm = sc->lm;
	double v = (double)json_object_size(lm->uni) + 1; /* and unknown */
	double puni =
		((double)sg_get_int(lm->uni, w, 0) + 1) / (lm->tokens + v);
	json_t *c = json_object_get(lm->ctx, prev);
	double cc = (double)json_integer_value(json_array_get(c, 0));
	double nf = (double)json_integer_value(json_array_get(c, 1)), p;
	char key[130];

	snprintf(key, sizeof key, "%s %s", prev, w);
	if (cc > 0)
		p = fmax((double)sg_get_int(lm->bi, key, 0) - DISCOUNT, 0) /
			    cc +
		    DISCOUNT * nf / cc * puni;
	else
		p = puni;
	sc->logp += log(p);
	sc->n++;
}

double
sg_lm_perplexity(const struct sg_lm *lm, const char *text)
{
	struct score sc = {lm, 0, 0};

	words(text, score, &sc);
	return sc.n ? exp(-sc.logp / (double)sc.n) : 0.0;
}

/* Lines alternately into two halves. */
static void
halves(const char *text, char **even, char **odd)
{
	size_t n = strlen(text), e = 0, o = 0, line = 0;

	*even = sg_xmalloc(n + 1);
	*odd = sg_xmalloc(n + 1);
	for (const char *p = text; *p; p++) {
		if (line % 2)
			(*odd)[o++] = *p;
		else
			(*even)[e++] = *p;
		line += *p == '\n';
	}
	(*even)[e] = (*odd)[o] = '\0';
}

double
sg_lm_heldout(const char *text)
{
	char *half[2];
	double sum = 0;
	int n = 0;

	halves(text, &half[0], &half[1]);
	for (int i = 0; i < 2; i++) {
		struct sg_lm *lm = sg_lm_train(half[i]);
		double p = sg_lm_perplexity(lm, half[1 - i]);

		if (p > 0)
			sum += p, n++;
		sg_lm_free(lm);
	}
	free(half[0]);
	free(half[1]);
	return n ? sum / n : 0.0;
}
