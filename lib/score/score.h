/*
 * score.h - what a batch's reward is made of in sg-score(1).
 */
#ifndef SG_SCORE_H
#define SG_SCORE_H

#include "base/base.h"

/* diversity.c: how much a batch's texts differ (sg-score(1)) */
/* A batch's texts in one buffer, each followed by a newline; text i ends
 * at buf.p + end[i], where its newline is. */
struct sg_texts {
	struct sg_buf buf;
	size_t *end;
	size_t n, cap;
};
void sg_texts_add(struct sg_texts *t, const char *s, size_t len);
void sg_texts_free(struct sg_texts *t);
/* The measures, and the tables behind them, kept from batch to batch. */
struct sg_diversity {
	double distinct_1, distinct_2, repetition_rate, compression_ratio;
	uint64_t *keys, *pairs, *set;
	size_t keyscap, pairscap, setcap;
	void *z; /* the deflate stream */
};
void sg_diversity_measure(struct sg_diversity *d, const struct sg_texts *t);
void sg_diversity_free(struct sg_diversity *d);

#endif
