/*
 * diversity.c - how much a batch's texts say different things, for
 * sg-score(1)'s rewards: distinct-1 and distinct-2, the repetition rate and
 * the compression ratio.  A batch keeps its texts one after the other in
 * one buffer; the tables that measure them live in struct sg_diversity and
 * are reused from batch to batch, sized to each, so that once the largest
 * batch has been seen, measuring a batch allocates nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

#include "base/base.h"
#include "score/score.h"

#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
/* How far ahead of its insertion a key's slot is fetched: the tables of a
 * batch of a thousand samples outgrow the caches. */
#define PREFETCH 16

void
sg_texts_add(struct sg_texts *t, const char *s, size_t len)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->end = sg_xrealloc(t->end, t->cap * sizeof *t->end);
	}
	sg_buf_add(&t->buf, s, len);
	sg_buf_add(&t->buf, "\n", 1);
	t->end[t->n++] = t->buf.len - 1;
}

void
sg_texts_free(struct sg_texts *t)
{
	free(t->buf.p);
	free(t->end);
	memset(t, 0, sizeof *t);
}

/* The first slot to probe for key h in a table of mask + 1 slots. */
static size_t
slot(uint64_t h, size_t mask)
{
	return (h ^ h >> 31) & mask;
}

/* A table of at least twice n slots (at most half full), zeroed. */
static size_t
table_for(uint64_t **set, size_t *cap, size_t n)
{
	size_t want = 1024;

	while (want < 2 * n)
		want *= 2;
	if (want > *cap) {
		free(*set);
		*set = sg_xmalloc(want * sizeof **set);
		*cap = want;
	}
	memset(*set, 0, want * sizeof **set);
	return want - 1;
}

/* The share of keys[0..n) that are different, 0 when n is 0 (0 marks a
 * free slot, so a key 0 counts as 1, as it always has). */
static double
distinct_share(const uint64_t *keys, size_t n, struct sg_diversity *d)
{
	size_t mask, distinct = 0;
	uint64_t *s;

	if (n == 0)
		return 0.0;
	mask = table_for(&d->set, &d->setcap, n);
	s = d->set;
	for (size_t i = 0; i < n; i++) {
		uint64_t h = keys[i] ? keys[i] : 1;

		if (i + PREFETCH < n)
			__builtin_prefetch(&s[slot(keys[i + PREFETCH], mask)]);
		for (size_t j = slot(h, mask);; j = (j + 1) & mask) {
			if (s[j] == h)
				break;
			if (!s[j]) {
				s[j] = h;
				distinct++;
				break;
			}
		}
	}
	return (double)distinct / (double)n;
}

static void
grow(uint64_t **v, size_t *cap, size_t n)
{
	if (n <= *cap)
		return;
	*cap = n > 2 * *cap ? n : 2 * *cap;
	*v = sg_xrealloc(*v, *cap * sizeof **v);
}

/* One pass over the words of every text: each word is hashed once
 * (sg_word_next, as sg_word_hash) and gives its unigram key and, after its
 * text's first word, its bigram key.  No word spans the newline after
 * each text, so a word's place says whose it is. */
static void
distinct_12(struct sg_diversity *d, const struct sg_texts *t)
{
	const char *s = t->buf.p, *a;
	size_t nuni = 0, nbi = 0, i = 0, words = 0;
	uint64_t w, prev = 0;
	int newline = 0;

	/* a text of len bytes has at most len / 2 + 1 words */
	grow(&d->keys, &d->keyscap, t->buf.len / 2 + t->n);
	grow(&d->pairs, &d->pairscap, t->buf.len / 2 + t->n);
	while (s && sg_word_next(&s, &a, &w, &newline)) {
		for (; (size_t)(a - t->buf.p) > t->end[i]; i++)
			words = 0;
		d->keys[nuni++] = (FNV_BASIS ^ w) * FNV_PRIME;
		if (words++ > 0)
			d->pairs[nbi++] =
				(((FNV_BASIS ^ prev) * FNV_PRIME) ^ w) *
				FNV_PRIME;
		prev = w;
	}
	d->distinct_1 = distinct_share(d->keys, nuni, d);
	d->distinct_2 = distinct_share(d->pairs, nbi, d);
}

/* A text's hash, eight bytes at a time; equal hashes are checked byte for
 * byte. */
static uint64_t
text_hash(const char *s, size_t len)
{
	uint64_t h = len * 0x9e3779b97f4a7c15ULL, w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ h >> 32;
}

/* The share of texts equal to an earlier one: a table of the texts' hashes
 * holding the position of the first text with each. */
static double
repetition_rate(struct sg_diversity *d, const struct sg_texts *t)
{
	size_t mask, repeats = 0, start = 0;

	if (t->n == 0)
		return 0.0;
	grow(&d->keys, &d->keyscap, t->n);
	mask = table_for(&d->set, &d->setcap, t->n);
	for (size_t i = 0; i < t->n; start = t->end[i++] + 1) {
		const char *s = t->buf.p + start;
		size_t len = t->end[i] - start;
		uint64_t h = text_hash(s, len);

		d->keys[i] = h;
		/* slots hold a position + 1, 0 when free */
		for (size_t j = slot(h, mask);; j = (j + 1) & mask) {
			size_t k = (size_t)d->set[j], kstart;

			if (k == 0) {
				d->set[j] = i + 1;
				break;
			}
			k--;
			kstart = k ? t->end[k - 1] + 1 : 0;
			if (d->keys[k] == h && t->end[k] - kstart == len &&
				memcmp(t->buf.p + kstart, s, len) == 0) {
				repeats++;
				break;
			}
		}
	}
	return (double)repeats / (double)t->n;
}

/* The size of the texts as kept, joined and ended by newlines, as a raw
 * deflate stream (RFC 1951) by libdeflate at level 1, over their size.
 * Only the size is wanted; the output buffer is kept from batch to batch,
 * at the size libdeflate may need. */
static double
compression_ratio(struct sg_diversity *d, const struct sg_texts *t)
{
	size_t bound, size;

	if (t->buf.len == 0)
		return 0.0;
	if (!d->z && !(d->z = libdeflate_alloc_compressor(1)))
		return 1.0;
	bound = libdeflate_deflate_compress_bound(d->z, t->buf.len);
	if (bound > d->zcap) {
		d->zout = sg_xrealloc(d->zout, bound);
		d->zcap = bound;
	}
	size = libdeflate_deflate_compress(
		d->z, t->buf.p, t->buf.len, d->zout, d->zcap);
	return size ? (double)size / (double)t->buf.len : 1.0;
}

void
sg_diversity_measure(struct sg_diversity *d, const struct sg_texts *t)
{
	distinct_12(d, t);
	d->repetition_rate = repetition_rate(d, t);
	d->compression_ratio = compression_ratio(d, t);
}

void
sg_diversity_free(struct sg_diversity *d)
{
	if (d->z)
		libdeflate_free_compressor(d->z);
	free(d->zout);
	free(d->keys);
	free(d->pairs);
	free(d->set);
	memset(d, 0, sizeof *d);
}
