/*
 * perplexity.c - a word bigram language model with absolute discounting,
 * interpolated with an add-one unigram model, trained on a recipe's
 * reference text: the perplexity of a sample under it says how far the
 * sample strays from the language of its seeds and knowledge base, which
 * is what flags garbled or off-topic generations without any network.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "check/check-internal.h"

#define DISCOUNT 0.75
#define BLOOM_BITS 65536u

/* A word's count, and as a context its count and distinct followers, in
 * one slot: the slot a word's probe loads is its context's for the next
 * word. */
enum { UNI, CTX, FOLLOWERS };

struct sg_lm {
	struct sg_map *word; /* word or "<s>" -> UNI, CTX, FOLLOWERS */
	struct sg_map *bi;   /* word pair -> count */
	const double *bos;   /* "<s>"'s slot, or NULL */
	size_t nwords;	     /* counted, "</s>" included */
	double tokens;	     /* counted words, "</s>" included */
	double unseen;	     /* the log-probability of a word never counted,
				after a context never counted */
	/* two bits a counted word: most words of a sample are unknown to the
	 * model, and this answers them from the cache, not the table */
	uint64_t known[BLOOM_BITS / 64];
};

#define BOS 0x9e3779b97f4a7c15ULL /* "<s>" */
#define EOS 0xc2b2ae3d27d4eb4fULL /* "</s>" */

static uint64_t
pair(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0xff51afd7ed558ccdULL ^ b;

	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ x >> 33;
}

/* Calls fn on each word of ws after the one before it; "<s>" and "</s>"
 * mark each line. */
static void
each_word(const struct sg_words *ws,
	void (*fn)(void *ctx, uint64_t prev, uint64_t w), void *ctx)
{
	uint64_t prev = BOS;

	for (size_t i = 0; i < ws->n; i++) {
		if (ws->v[i].newline) {
			if (prev != BOS)
				fn(ctx, prev, EOS);
			prev = BOS;
		}
		fn(ctx, prev, ws->v[i].hash);
		prev = ws->v[i].hash;
	}
	if (prev != BOS)
		fn(ctx, prev, EOS);
}

static void
train(void *ctx, uint64_t prev, uint64_t w)
{
	struct sg_lm *lm = ctx;
	int fresh = sg_map_put(lm->bi, pair(prev, w))[0]++ == 0;
	double *c = sg_map_put(lm->word, prev);

	c[CTX]++;
	c[FOLLOWERS] += fresh;
	/* a put may move the slots: c is not used after this one */
	if (sg_map_put(lm->word, w)[UNI]++ == 0)
		lm->nwords++;
	lm->tokens++;
	sg_bloom_add(lm->known, BLOOM_BITS, w);
}

struct sg_lm *
sg_lm_train(const char *text)
{
	struct sg_lm *lm = sg_xmalloc(sizeof *lm);
	struct sg_words ws = {0};

	lm->word = sg_map_new_n(3);
	lm->bi = sg_map_new();
	lm->nwords = 0;
	lm->tokens = 0;
	memset(lm->known, 0, sizeof lm->known);
	sg_words_read(&ws, text);
	each_word(&ws, train, lm);
	free(ws.v);
	lm->bos = sg_map_get(lm->word, BOS);
	lm->unseen = log(1 / (lm->tokens + ((double)lm->nwords + 1)));
	return lm;
}

void
sg_lm_free(struct sg_lm *lm)
{
	if (!lm)
		return;
	sg_map_free(lm->word);
	sg_map_free(lm->bi);
	free(lm);
}

struct score {
	const struct sg_lm *lm;
	double logp;
	size_t n;
	const double *prev; /* the word before's slot, if it was counted */
};

static void
score(void *ctx, uint64_t prev, uint64_t w)
{
	struct score *sc = ctx;
	const struct sg_lm *lm = sc->lm;
	double v = (double)lm->nwords + 1; /* and unknown */
	/* Every context is "<s>" or a counted word, and every counted pair
	 * ends in one: the probes a word unknown to the model cannot answer
	 * are left out (on generated text most words are unknown, and each
	 * probe is a cache miss). */
	const double *u = sg_bloom_has(lm->known, BLOOM_BITS, w)
				  ? sg_map_get(lm->word, w)
				  : NULL;
	const double *c = prev == BOS ? lm->bos : sc->prev, *b;
	double puni, p;

	if (u && u[UNI] == 0) /* "<s>" itself */
		u = NULL;
	if (c && c[CTX] == 0)
		c = NULL;
	b = u && c ? sg_map_get(lm->bi, pair(prev, w)) : NULL;
	puni = ((u ? u[UNI] : 0) + 1) / (lm->tokens + v);
	if (c) {
		p = fmax((b ? b[0] : 0) - DISCOUNT, 0) / c[CTX] +
		    DISCOUNT * c[FOLLOWERS] / c[CTX] * puni;
		sc->logp += log(p);
	} else {
		/* most words of a sample: the same log each time */
		sc->logp += u ? log(puni) : lm->unseen;
	}
	sc->n++;
	sc->prev = u;
}

/* The slots score will probe for w after prev. */
static void
prefetch(void *ctx, uint64_t prev, uint64_t w)
{
	const struct sg_lm *lm = ctx;
	int known = sg_bloom_has(lm->known, BLOOM_BITS, w);

	if (known)
		sg_map_prefetch(lm->word, w);
	if (known && (prev == BOS || sg_bloom_has(lm->known, BLOOM_BITS, prev)))
		sg_map_prefetch(lm->bi, pair(prev, w));
}

double
sg_lm_perplexity(const struct sg_lm *lm, const struct sg_words *ws)
{
	struct score sc = {lm, 0, 0, NULL};

	/* the probes score may make, asked for all at once: most are cache
	 * misses, and one after the other they were a tenth of sg-validate */
	each_word(ws, prefetch, (void *)lm);
	each_word(ws, score, &sc);
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
	struct sg_words ws = {0};

	halves(text, &half[0], &half[1]);
	for (int i = 0; i < 2; i++) {
		struct sg_lm *lm = sg_lm_train(half[i]);
		double p;

		sg_words_read(&ws, half[1 - i]);
		p = sg_lm_perplexity(lm, &ws);
		if (p > 0)
			sum += p, n++;
		sg_lm_free(lm);
	}
	free(ws.v);
	free(half[0]);
	free(half[1]);
	return n ? sum / n : 0.0;
}
