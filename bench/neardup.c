/*
 * neardup - the near-duplicate benchmark: N synthetic documents of about
 * 450 bytes, one in ten an edited copy of an earlier one (0 to 8 words
 * replaced, which spreads the pairs' Jaccard similarity from 1 down to
 * about 0.5), through MinHash-LSH and the key set exactly as sg-validate
 * uses them.  Prints the wall time, then, on a sample of S documents, the
 * recall of LSH against the exact pairwise Jaccard similarity of all pairs
 * of the sample at J >= threshold, and how similar the flagged documents
 * really are to the document they were matched with: LSH's candidates
 * alone, and those that the exact Jaccard similarity of the two shingle
 * sets verified, as sg-validate flags them.  On the sample, too, the
 * documents flagged in the stream against those with an earlier document
 * at J >= threshold.
 *
 * usage: neardup N S [threshold]
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "check/check-internal.h"

#define VOCAB 20000
#define WORDS 66

static char vocab[VOCAB][12];

/* Document i, deterministically: its own words, or for one in ten those
 * of an earlier original with some replaced. */
static void
doc(size_t i, char *out, size_t *src, int *edits)
{
	struct sg_rng r;
	int w[WORDS], n = 0;
	char *p = out;

	*src = i;
	*edits = 0;
	sg_rng_seed(&r, i * 2654435761u + 7);
	if (i % 10 == 9 && i > 10) {
		size_t j = i - 1 - sg_rng_below(&r, i < 1000 ? i - 1 : 1000);

		if (j % 10 == 9)
			j--;
		*src = j;
		*edits = (int)sg_rng_below(&r, 9);
		sg_rng_seed(&r, j * 2654435761u + 7);
		sg_rng_next(&r);
	}
	/* Zipf-like: the square of a uniform favours the common words */
	for (n = 0; n < WORDS; n++) {
		double u = sg_rng_uniform(&r);

		w[n] = (int)(u * u * VOCAB);
	}
	if (*src != i) {
		struct sg_rng e;

		sg_rng_seed(&e, i);
		for (int k = 0; k < *edits; k++)
			w[sg_rng_below(&e, WORDS)] =
				(int)sg_rng_below(&e, VOCAB);
	}
	for (n = 0; n < WORDS; n++)
		p += sprintf(p, "%s%s", n ? " " : "", vocab[w[n]]);
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	size_t n, s, src, bytes = 0, flagged = 0, pairs = 0, found = 0;
	size_t cand = 0, nset, should = 0, both = 0, sflagged = 0;
	double t = argc > 3 ? atof(argv[3]) : 0.8, t0, t1;
	/* J >= t, >= 0.6, >= 0.4, below: of candidates, of flagged */
	size_t simhist[2][4] = {{0}};
	char *inflag, *hasdup;
	int bands, rows, edits;
	struct sg_minhash *m;
	struct sg_seen *seen;
	uint64_t *keys, *skeys;
	uint32_t **sets, *set;
	size_t *nsets;
	char buf[2048], id[32], **sample;
	struct sg_rng r;

	sg_init(argv);
	if (argc < 3)
		sg_die(SG_EXIT_USAGE, "usage: neardup N S [threshold]");
	n = strtoul(argv[1], NULL, 10);
	s = strtoul(argv[2], NULL, 10);
	sg_rng_seed(&r, 42);
	for (int i = 0; i < VOCAB; i++) {
		int len = 3 + (int)sg_rng_below(&r, 7);

		for (int k = 0; k < len; k++)
			vocab[i][k] = (char)('a' + sg_rng_below(&r, 26));
	}
	if (sg_minhash_params(t, 128, &bands, &rows) < 0)
		sg_die(SG_EXIT_USAGE, "no bands for threshold %g", t);
	m = sg_minhash_new(5, bands, rows);
	seen = sg_seen_new();
	keys = sg_xmalloc(sizeof *keys * (size_t)bands);
	inflag = sg_xmalloc(s + 1);
	memset(inflag, 0, s + 1);
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		const char *hit[2] = {NULL, NULL};

		doc(i, buf, &src, &edits);
		bytes += strlen(buf);
		sg_minhash_keys(m, buf, keys);
		nset = sg_shingles(buf, 5, &set);
		for (int b = 0; b < bands && !hit[0]; b++)
			hit[0] = sg_seen_find(seen, keys[b]);
		hit[1] = sg_seen_near(seen, keys, (size_t)bands, set, nset, t);
		cand += hit[0] != NULL;
		flagged += hit[1] != NULL;
		if (i < s)
			inflag[i] = hit[1] != NULL;
		/* the similarity of the match, on one in 100 of each */
		for (int k = 0; k < 2; k++) {
			char other[2048];
			size_t osrc;
			int oe;
			double j;

			if (!hit[k] || (k ? flagged : cand) % 100 != 0)
				continue;
			doc(strtoul(hit[k], NULL, 10), other, &osrc, &oe);
			j = sg_jaccard(buf, other, 5);
			simhist[k][j >= t     ? 0
				   : j >= 0.6 ? 1
				   : j >= 0.4 ? 2
					      : 3]++;
		}
		snprintf(id, sizeof id, "%zu", i);
		sg_seen_add(seen, keys, (size_t)bands, id, set, nset);
		free(set);
	}
	t1 = now();
	printf("documents %zu, mean %.0f bytes, bands %d x rows %d, "
	       "threshold %.2f\n",
		n, (double)bytes / (double)n, bands, rows, t);
	printf("minhash-lsh and verification wall %.2f s, %.0f docs/s, "
	       "candidates %zu, flagged %zu\n",
		t1 - t0, (double)n / (t1 - t0), cand, flagged);
	for (int k = 0; k < 2; k++)
		printf("%s, exact J to the match (1 in 100 checked): >= %.2f "
		       "%zu, 0.6-%.2f %zu, 0.4-0.6 %zu, < 0.4 %zu\n",
			k ? "flagged (verified)" : "candidates (LSH alone)", t,
			simhist[k][0], t, simhist[k][1], simhist[k][2],
			simhist[k][3]);

	/* recall on the first s documents: all pairs, exactly */
	sample = sg_xmalloc(sizeof *sample * s);
	sets = sg_xmalloc(sizeof *sets * s);
	nsets = sg_xmalloc(sizeof *nsets * s);
	skeys = sg_xmalloc(sizeof *skeys * s * (size_t)bands);
	hasdup = sg_xmalloc(s + 1);
	memset(hasdup, 0, s + 1);
	for (size_t i = 0; i < s; i++) {
		doc(i, buf, &src, &edits);
		sample[i] = sg_xstrdup(buf);
		nsets[i] = sg_shingles(buf, 5, &sets[i]);
		nsets[i] = sg_set_sort(sets[i], nsets[i]);
		sg_minhash_keys(m, buf, skeys + i * (size_t)bands);
	}
	for (size_t i = 0; i < s; i++)
		for (size_t k = i + 1; k < s; k++) {
			int shared = 0;

			if (sg_jaccard_sets(
				    sets[i], nsets[i], sets[k], nsets[k]) < t)
				continue;
			pairs++;
			hasdup[k] = 1;
			for (int b = 0; b < bands && !shared; b++)
				shared = skeys[i * (size_t)bands + (size_t)b] ==
					 skeys[k * (size_t)bands + (size_t)b];
			found += shared;
		}
	printf("recall on all %zu pairs of the first %zu documents with J >= "
	       "%.2f: %zu of %zu = %.4f\n",
		s * (s - 1) / 2, s, t, found, pairs,
		pairs ? (double)found / (double)pairs : 1.0);
	for (size_t i = 0; i < s; i++) {
		should += hasdup[i];
		sflagged += inflag[i];
		both += hasdup[i] && inflag[i];
	}
	printf("in the stream, of the first %zu documents: %zu have an earlier "
	       "one at J >= %.2f, %zu flagged, %zu both: recall %.4f, "
	       "precision %.4f\n",
		s, should, t, sflagged, both,
		should ? (double)both / (double)should : 1.0,
		sflagged ? (double)both / (double)sflagged : 1.0);
	free(inflag);
	free(hasdup);
	for (size_t i = 0; i < s; i++) {
		free(sample[i]);
		free(sets[i]);
	}
	free(sample);
	free(sets);
	free(nsets);
	free(skeys);
	free(keys);
	sg_minhash_free(m);
	sg_seen_free(seen);
	return sg_finish(0);
}
