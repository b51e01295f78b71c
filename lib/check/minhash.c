/*
 * minhash.c - near-duplicates by MinHash with LSH banding.  A text is the
 * set of its word n-grams (words as text.c reads them, folded to lower
 * case); its signature is, for each of bands x rows hash functions, the
 * least hash over the set, so two signatures agree in one place with the
 * probability of the sets' Jaccard similarity J.  A band of rows values
 * hashes to one 64-bit bucket key; two texts share a key with probability
 * 1 - (1 - J^rows)^bands, the S-curve the parameters place at the
 * threshold.  The hash functions are fixed (seeded from the parameters
 * alone) so that keys stored by one run mean the same in the next.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "check/check-internal.h"

/* Chance that a pair at Jaccard j shares a bucket. */
static double
collide(double j, int bands, int rows)
{
	return 1 - pow(1 - pow(j, rows), bands);
}

/* Of the (bands, rows) within num_perm hash functions that find a pair at
 * the threshold at least 98 times in 100, the one that finds the fewest
 * pairs below it (the area under the S-curve from 0 to the threshold). */
int
sg_minhash_params(double threshold, int num_perm, int *bands, int *rows)
{
	/* every job of a run asks the same: the last answer is kept */
	static double last_t = -1;
	static int last_perm, last_b, last_r;
	double best = INFINITY;

	if (threshold == last_t && num_perm == last_perm) {
		*bands = last_b;
		*rows = last_r;
		return *bands ? 0 : -1;
	}
	*bands = *rows = 0;
	for (int r = 1; r <= num_perm; r++)
		for (int b = 1; b * r <= num_perm; b++) {
			double fp = 0;

			if (collide(threshold, b, r) < 0.98)
				continue;
			for (int i = 0; i < 100; i++)
				fp += collide(threshold * (i + 0.5) / 100, b,
					      r) *
				      threshold / 100;
			if (fp < best - 1e-12) {
				best = fp;
				*bands = b;
				*rows = r;
			}
		}
	last_t = threshold;
	last_perm = num_perm;
	last_b = *bands;
	last_r = *rows;
	return *bands ? 0 : -1;
}

/* Hash functions in blocks of LANES, one AVX2 vector. */
#define LANES 8

struct sg_minhash {
	int ngram, bands, rows, n, padded;
	uint32_t *a, *b; /* h_i(x) = a_i x + b_i mod 2^32, x well mixed */
	uint32_t *sig;
	uint32_t *x; /* a text's shingles folded to 32 bits */
	size_t xcap;
};

struct sg_minhash *
sg_minhash_new(int ngram, int bands, int rows)
{
	struct sg_minhash *m = sg_xmalloc(sizeof *m);
	struct sg_rng rng;

	m->ngram = ngram;
	m->bands = bands;
	m->rows = rows;
	m->n = bands * rows;
	m->padded = (m->n + LANES - 1) / LANES * LANES;
	m->a = sg_xmalloc(sizeof *m->a * (size_t)m->padded);
	m->b = sg_xmalloc(sizeof *m->b * (size_t)m->padded);
	m->sig = sg_xmalloc(sizeof *m->sig * (size_t)m->padded);
	m->x = NULL;
	m->xcap = 0;
	sg_rng_seed(&rng, 0x5eed0000ULL + (uint64_t)ngram);
	for (int i = 0; i < m->padded; i++) {
		m->a[i] = (uint32_t)sg_rng_next(&rng) | 1;
		m->b[i] = (uint32_t)sg_rng_next(&rng);
	}
	return m;
}

void
sg_minhash_free(struct sg_minhash *m)
{
	if (!m)
		return;
	free(m->a);
	free(m->b);
	free(m->sig);
	free(m->x);
	free(m);
}

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* A shingle's hash as the signature and the verifying sets read it: the
 * signature is of 32-bit values, and a set of them takes half the memory
 * (a million samples' sets were half a gigabyte). */
static uint32_t
fold(uint64_t x)
{
	return (uint32_t)(x ^ x >> 32);
}

/* Calls fn on the hash of each word n-gram of ws; a text of fewer words
 * than n is one shingle of all its words, and one of none is one empty
 * shingle. */
static void
shingles(const struct sg_words *ws, int n, void (*fn)(void *ctx, uint64_t x),
	void *ctx)
{
	const struct sg_word *w = ws->v;
	uint64_t all = 0, x;

	if (ws->n < (size_t)n) {
		for (size_t k = 0; k < ws->n; k++)
			all = mix(all ^ w[k].hash);
		fn(ctx, all);
		return;
	}
	for (size_t k = 0; k + (size_t)n <= ws->n; k++) {
		x = 0;
		for (int i = 0; i < n; i++)
			x = (x ^ w[k + (size_t)i].hash) *
				    0x9E3779B97F4A7C15ULL +
			    (uint64_t)i;
		fn(ctx, mix(x));
	}
}

/* The signature of the n shingles x64 into m->sig: each hash function's
 * least value over them.  A block of LANES functions goes over all the
 * shingles at once, its minima staying in a register: written as plain
 * loops, which GCC makes one vector multiply and one vector minimum a
 * shingle.  SSE2, the x86-64 baseline, has neither for 32-bit lanes; AVX2
 * has. */
SG_AVX2_CLONES
static void
signature(struct sg_minhash *m, const uint64_t *x64, size_t n)
{
	uint32_t *x;

	if (n > m->xcap) {
		m->xcap = n;
		m->x = sg_xrealloc(m->x, n * sizeof *m->x);
	}
	x = m->x;
	for (size_t k = 0; k < n; k++)
		x[k] = fold(x64[k]);
	for (int i = 0; i < m->padded; i += LANES) {
		const uint32_t *a = m->a + i, *b = m->b + i;
		uint32_t sig[LANES];

		for (int j = 0; j < LANES; j++)
			sig[j] = UINT32_MAX;
		for (size_t k = 0; k < n; k++)
			for (int j = 0; j < LANES; j++) {
				uint32_t h = a[j] * x[k] + b[j];

				sig[j] = h < sig[j] ? h : sig[j];
			}
		memcpy(m->sig + i, sig, sizeof sig);
	}
}

struct set {
	uint64_t *v;
	size_t n, cap;
};

static void
collect(void *ctx, uint64_t x)
{
	struct set *s = ctx;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = sg_xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = x;
}

static void
insertion_sort(uint64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t x = v[i];
		size_t j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static uint64_t
median3(uint64_t a, uint64_t b, uint64_t c)
{
	if (a > b) {
		uint64_t t = a;

		a = b, b = t;
	}
	return c < a ? a : c > b ? b : c;
}

/* Quicksort with the comparison inline, insertion sort below 16: qsort's
 * calls through a pointer cost more than the comparisons. */
static void
quicksort(uint64_t *v, size_t n)
{
	while (n > 16) {
		uint64_t pivot = median3(v[0], v[n / 2], v[n - 1]), t;
		size_t i = 0, j = n - 1;

		for (;;) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i >= j)
				break;
			t = v[i], v[i] = v[j], v[j] = t;
			i++, j--;
		}
		/* recurse into the smaller side, loop on the larger */
		if (j + 1 < n - j - 1) {
			quicksort(v, j + 1);
			v += j + 1, n -= j + 1;
		} else {
			quicksort(v + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	insertion_sort(v, n);
}

/* A sample's some 70 words or shingles are hashes, spread evenly: one
 * counting pass on the top byte leaves runs so short that insertion sort
 * ends the job with few moves, where quicksort's comparisons go either
 * way at random and the branch predictor misses half of them. */
void
sg_sort_u64(uint64_t *v, size_t n)
{
	uint64_t tmp[256];
	uint16_t at[257] = {0};

	if (n <= 16 || n > 256) {
		quicksort(v, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		at[(v[i] >> 56) + 1]++;
	for (int b = 1; b < 257; b++)
		at[b] += at[b - 1];
	for (size_t i = 0; i < n; i++)
		tmp[at[v[i] >> 56]++] = v[i];
	memcpy(v, tmp, n * sizeof *v);
	insertion_sort(v, n);
}

/* s's values folded, into *out (malloc'd, s's freed); their number. */
static size_t
folded(struct set *s, uint32_t **out)
{
	uint32_t *v = sg_xmalloc((s->n ? s->n : 1) * sizeof *v);

	for (size_t i = 0; i < s->n; i++)
		v[i] = fold(s->v[i]);
	free(s->v);
	*out = v;
	return s->n;
}

/* Sorted in the top half of 64 bits, where sg_sort_u64's counting pass
 * looks. */
size_t
sg_set_sort(uint32_t *v, size_t n)
{
	uint64_t *w = sg_xmalloc((n ? n : 1) * sizeof *w);
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		w[i] = (uint64_t)v[i] << 32;
	sg_sort_u64(w, n);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || (uint32_t)(w[i] >> 32) != v[k - 1])
			v[k++] = (uint32_t)(w[i] >> 32);
	free(w);
	return k;
}

static void
band_keys(const struct sg_minhash *m, uint64_t *keys)
{
	for (int j = 0; j < m->bands; j++) {
		uint64_t h = mix(0x6c7368ULL ^ ((uint64_t)j << 32) ^
				 (uint64_t)m->rows << 48 ^ (uint64_t)m->ngram);

		for (int i = 0; i < m->rows; i++)
			h = mix(h ^ m->sig[j * m->rows + i]);
		keys[j] = h ? h : 1;
	}
}

void
sg_minhash_keys(struct sg_minhash *m, const char *text, uint64_t *keys)
{
	struct sg_words ws = {0};
	struct set s = {NULL, 0, 0};

	sg_words_read(&ws, text);
	shingles(&ws, m->ngram, collect, &s);
	signature(m, s.v, s.n);
	band_keys(m, keys);
	free(s.v);
	free(ws.v);
}

size_t
sg_minhash_set(struct sg_minhash *m, const struct sg_words *ws, uint64_t *keys,
	uint32_t **out)
{
	struct set s = {NULL, 0, 0};

	shingles(ws, m->ngram, collect, &s);
	signature(m, s.v, s.n);
	band_keys(m, keys);
	return folded(&s, out);
}

size_t
sg_shingles(const char *text, int n, uint32_t **out)
{
	struct sg_words ws = {0};
	struct set s = {NULL, 0, 0};

	sg_words_read(&ws, text);
	shingles(&ws, n, collect, &s);
	free(ws.v);
	return folded(&s, out);
}

double
sg_jaccard_sets(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	size_t i = 0, j = 0, both = 0;

	while (i < na && j < nb) {
		if (a[i] == b[j])
			both++, i++, j++;
		else if (a[i] < b[j])
			i++;
		else
			j++;
	}
	return (double)both / (double)(na + nb - both);
}

double
sg_jaccard(const char *x, const char *y, int ngram)
{
	uint32_t *a, *b;
	size_t na = sg_shingles(x, ngram, &a), nb = sg_shingles(y, ngram, &b);
	double r;

	na = sg_set_sort(a, na);
	nb = sg_set_sort(b, nb);
	r = sg_jaccard_sets(a, na, b, nb);

	free(a);
	free(b);
	return r;
}
