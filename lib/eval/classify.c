/*
 * classify.c - a fastText-style supervised text classifier and the
 * measures sg-eval reports: training, accuracy, macro-F1, the confusion
 * matrix, and the n-gram overlap between a training and a test set.
 *
 * The model is fastText's supervised one (Joulin et al., 2017): each word
 * unigram and bigram is hashed into one of a fixed number of buckets, a
 * text is the average of its buckets' embeddings, a linear layer and a
 * softmax give the label, and plain SGD trains both layers with a learning
 * rate that decays linearly to zero over all epochs.  Everything comes
 * from seeded sg_rngs, so training is deterministic.
 *
 * Only the buckets of the training texts' features are stored: training
 * changes no other, and each bucket's initial embedding comes from a
 * generator seeded by the bucket, so one that only a test text has is
 * drawn again when it is needed.  A small training set thus costs its own
 * features' rows, not buckets x dim floats drawn and written in full.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/base.h"
#include "record/record.h"
#include "eval/eval.h"

#define HUGE_PAGE (2u << 20)

struct sg_clf {
	struct sg_clf_params p;
	char **labels;
	int nlabels;
	uint32_t *row; /* buckets: 1 + the bucket's row of in, 0 for none */
	float *in;     /* the rows: dim floats each */
	float *out;    /* nlabels x dim */
};

/* The features of a text: bucket numbers of its word unigrams and, with
 * ngrams 2, bigrams.  *feat grows as needed; returns the count. */
static size_t
features(const struct sg_clf_params *p, const char *text, uint32_t **feat,
	size_t *cap)
{
	const char *a, *b;
	uint64_t h, prev = 0;
	size_t n = 0, words = 0;

	while (sg_next_word(&text, &a, &b)) {
		h = sg_word_hash(a, b);
		for (int k = 0; k < (words && p->ngrams > 1 ? 2 : 1); k++) {
			if (n == *cap) {
				*cap = *cap ? 2 * *cap : 64;
				*feat = sg_xrealloc(
					*feat, *cap * sizeof **feat);
			}
			/* fastText's bigram mix: h(prev) * 116049371 + h */
			(*feat)[n++] =
				(uint32_t)((k ? prev * 116049371u + h : h) %
					   p->buckets);
		}
		prev = h;
		words++;
	}
	return n;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted distinct strings of v[0..n), malloc'd copies; the count. */
static int
distinct(char *const v[], size_t n, char ***out)
{
	char **s = sg_xmalloc((n ? n : 1) * sizeof *s);
	int m = 0;

	memcpy(s, v, n * sizeof *s);
	qsort(s, n, sizeof *s, cmp_str);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || strcmp(s[m - 1], s[i]) != 0)
			s[m++] = s[i];
	for (int i = 0; i < m; i++)
		s[i] = sg_xstrdup(s[i]);
	*out = s;
	return m;
}

static int
find_label(char *const labels[], int n, const char *l)
{
	char *const *hit =
		bsearch(&l, labels, (size_t)n, sizeof *labels, cmp_str);

	return hit ? (int)(hit - labels) : -1;
}

/* A bucket's initial embedding, fastText's uniform in +-1/dim, from a
 * generator of the bucket's own. */
static void
init_row(const struct sg_clf_params *p, uint32_t bucket, float *row)
{
	struct sg_rng rng;

	sg_rng_seed(
		&rng, p->seed ^ ((uint64_t)bucket + 1) * 0x9e3779b97f4a7c15ULL);
	for (int j = 0; j < p->dim; j++)
		row[j] = (float)((2 * sg_rng_uniform(&rng) - 1) / p->dim);
}

/* prob (nlabels) = the softmax of the labels' scores for the hidden
 * vector h. */
static void
output(const struct sg_clf *c, const float *h, float *prob)
{
	int dim = c->p.dim;
	float max = -INFINITY, sum = 0;

	for (int k = 0; k < c->nlabels; k++) {
		const float *w = c->out + (size_t)k * (size_t)dim;
		float s = 0;

		for (int j = 0; j < dim; j++)
			s += w[j] * h[j];
		prob[k] = s;
		if (s > max)
			max = s;
	}
	for (int k = 0; k < c->nlabels; k++)
		sum += prob[k] = expf(prob[k] - max);
	for (int k = 0; k < c->nlabels; k++)
		prob[k] /= sum;
}

/* h = the mean of row[0..n), each dim floats. */
static void
mean(const float *const row[], size_t n, int dim, float *h)
{
	memset(h, 0, (size_t)dim * sizeof *h);
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < dim; j++)
			h[j] += row[i][j];
	for (int j = 0; n && j < dim; j++)
		h[j] /= (float)n;
}

/* The input weights, written in full at once: in huge pages where the
 * kernel has them, so that they fault in by the 2 MB rather than by the
 * 4 KB. */
static float *
weights(size_t size)
{
	void *p;

	if (posix_memalign(&p, HUGE_PAGE, size) != 0)
		p = sg_xmalloc(size);
	else
		madvise(p, size, MADV_HUGEPAGE);
	return p;
}

/* The training texts' features, as rows of c->in: a bucket gets its row
 * when a text first has it, and the rows their initial embeddings. */
static void
rows(struct sg_clf *c, const struct sg_labelled *d, uint32_t **feat,
	size_t *nfeat)
{
	uint32_t *bucket = NULL, *buf = NULL, nrows = 0;
	size_t cap = 0, bcap = 0;
	int dim = c->p.dim;

	c->row = sg_xcalloc(c->p.buckets, sizeof *c->row);
	for (size_t i = 0; i < d->n; i++) {
		nfeat[i] = features(&c->p, d->text[i], &buf, &cap);
		feat[i] = sg_xmalloc((nfeat[i] ? nfeat[i] : 1) * sizeof **feat);
		for (size_t f = 0; f < nfeat[i]; f++) {
			uint32_t b = buf[f];

			if (!c->row[b]) {
				if (nrows == bcap) {
					bcap = bcap ? 2 * bcap : 1024;
					bucket = sg_xrealloc(
						bucket, bcap * sizeof *bucket);
				}
				bucket[nrows] = b;
				c->row[b] = ++nrows;
			}
			feat[i][f] = c->row[b] - 1;
		}
	}
	c->in = weights((nrows ? nrows : 1) * (size_t)dim * sizeof *c->in);
	for (uint32_t r = 0; r < nrows; r++)
		init_row(&c->p, bucket[r], c->in + (size_t)r * (size_t)dim);
	free(bucket);
	free(buf);
}

/* The embeddings' loops take 8 floats a step with AVX2, 4 without. */
SG_AVX2_CLONES
struct sg_clf *
sg_clf_train(const struct sg_clf_params *p, const struct sg_labelled *d,
	struct sg_error *e)
{
	struct sg_clf *c;
	struct sg_rng rng;
	uint32_t **feat;
	size_t *nfeat, *order, steps, step = 0, cap = 0;
	int *y, dim = p->dim;
	float *h, *prob, *grad;
	const float **in = NULL;

	if (d->n == 0 || p->dim < 1 || p->epochs < 1 || p->buckets < 1 ||
		!(p->lr > 0)) {
		sg_seterr(e, d->n ? "bad training parameters"
				  : "no training examples");
		return NULL;
	}
	c = sg_xmalloc(sizeof *c);
	c->p = *p;
	c->nlabels = distinct(d->label, d->n, &c->labels);
	c->out = sg_xcalloc((size_t)c->nlabels * (size_t)dim, sizeof *c->out);
	feat = sg_xmalloc(d->n * sizeof *feat);
	nfeat = sg_xmalloc(d->n * sizeof *nfeat);
	rows(c, d, feat, nfeat);
	y = sg_xmalloc(d->n * sizeof *y);
	order = sg_xmalloc(d->n * sizeof *order);
	for (size_t i = 0; i < d->n; i++) {
		y[i] = find_label(c->labels, c->nlabels, d->label[i]);
		order[i] = i;
	}
	h = sg_xmalloc((size_t)dim * sizeof *h);
	grad = sg_xmalloc((size_t)dim * sizeof *grad);
	prob = sg_xmalloc((size_t)c->nlabels * sizeof *prob);
	sg_rng_seed(&rng, p->seed);
	steps = (size_t)p->epochs * d->n;
	for (int ep = 0; ep < p->epochs; ep++) {
		/* a fresh order each epoch: datasets come sorted by batch */
		for (size_t i = d->n - 1; i > 0; i--) {
			size_t j = (size_t)sg_rng_below(&rng, i + 1),
			       t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (size_t s = 0; s < d->n; s++, step++) {
			size_t i = order[s];
			float lr =
				(float)(p->lr * (1.0 - (double)step / steps));

			if (nfeat[i] == 0)
				continue;
			if (nfeat[i] > cap) {
				cap = nfeat[i];
				in = sg_xrealloc(in, cap * sizeof *in);
			}
			for (size_t f = 0; f < nfeat[i]; f++)
				in[f] = c->in +
					(size_t)feat[i][f] * (size_t)dim;
			mean(in, nfeat[i], dim, h);
			output(c, h, prob);
			memset(grad, 0, (size_t)dim * sizeof *grad);
			for (int k = 0; k < c->nlabels; k++) {
				float *w = c->out + (size_t)k * (size_t)dim;
				float g = lr * ((k == y[i]) - prob[k]);

				for (int j = 0; j < dim; j++) {
					grad[j] += g * w[j];
					w[j] += g * h[j];
				}
			}
			/* each row's share, divided once rather than per row */
			for (int j = 0; j < dim; j++)
				grad[j] /= (float)nfeat[i];
			for (size_t f = 0; f < nfeat[i]; f++) {
				float *row = c->in +
					     (size_t)feat[i][f] * (size_t)dim;

				for (int j = 0; j < dim; j++)
					row[j] += grad[j];
			}
		}
	}
	for (size_t i = 0; i < d->n; i++)
		free(feat[i]);
	free(feat);
	free(nfeat);
	free(in);
	free(y);
	free(order);
	free(h);
	free(grad);
	free(prob);
	return c;
}

void
sg_clf_free(struct sg_clf *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nlabels; i++)
		free(c->labels[i]);
	free(c->labels);
	free(c->row);
	free(c->in);
	free(c->out);
	free(c);
}

/* The classifier's probabilities for text, in prob (nlabels); the index
 * of the likeliest label, ties and a text without words to the first.  A
 * bucket without a row has its initial embedding, drawn into spare. */
SG_AVX2_CLONES
static int
classify(const struct sg_clf *c, const char *text, float *prob)
{
	uint32_t *feat = NULL;
	size_t cap = 0, n = features(&c->p, text, &feat, &cap);
	size_t dim = (size_t)c->p.dim;
	const float **in = sg_xmalloc((n ? n : 1) * sizeof *in);
	float *spare = sg_xmalloc((n ? n : 1) * dim * sizeof *spare);
	float *h = sg_xmalloc(dim * sizeof *h);
	int best = 0;

	for (size_t f = 0; f < n; f++) {
		uint32_t r = c->row[feat[f]];

		if (r)
			in[f] = c->in + (size_t)(r - 1) * dim;
		else {
			init_row(&c->p, feat[f], spare + f * dim);
			in[f] = spare + f * dim;
		}
	}
	mean(in, n, c->p.dim, h);
	output(c, h, prob);
	for (int k = 1; k < c->nlabels; k++)
		if (prob[k] > prob[best])
			best = k;
	free(feat);
	free(in);
	free(spare);
	free(h);
	return best;
}

/* The most frequent label of d, ties to the first in sorted order. */
static const char *
majority(
	const struct sg_labelled *d, char *const labels[], int n, size_t *count)
{
	size_t *cnt = sg_xcalloc((size_t)n, sizeof *cnt);
	int best = 0;

	for (size_t i = 0; i < d->n; i++)
		cnt[find_label(labels, n, d->label[i])]++;
	for (int k = 1; k < n; k++)
		if (cnt[k] > cnt[best])
			best = k;
	*count = cnt[best];
	free(cnt);
	return labels[best];
}

/* The least probability a true label's log is taken of: a label the
 * classifier never saw, or a float that underflowed, costs log 1e-6 (about
 * -13.8) rather than minus infinity. */
#define PROB_FLOOR 1e-6

/* The log-likelihood is a proper scoring rule: a confident wrong answer
 * costs far more than an unsure one, where the mean probability counts
 * both alike. */
json_t *
sg_clf_evaluate(const struct sg_clf *c, const struct sg_labelled *test)
{
	char **all, **labels;
	const char *maj;
	size_t n = test->n + (size_t)c->nlabels, correct = 0, majn;
	long long *cm;
	int m;
	double f1sum = 0, psum = 0, lsum = 0;
	float *prob;
	json_t *res, *jl, *jcm, *row, *f1s;

	all = sg_xmalloc(n * sizeof *all);
	memcpy(all, test->label, test->n * sizeof *all);
	memcpy(all + test->n, c->labels, (size_t)c->nlabels * sizeof *all);
	m = distinct(all, n, &labels);
	free(all);
	cm = sg_xcalloc((size_t)m * (size_t)m, sizeof *cm);
	prob = sg_xmalloc((size_t)c->nlabels * sizeof *prob);
	for (size_t i = 0; i < test->n; i++) {
		int t = find_label(labels, m, test->label[i]);
		int best = classify(c, test->text[i], prob);
		int p = find_label(labels, m, c->labels[best]);
		int k = find_label(c->labels, c->nlabels, test->label[i]);

		cm[t * m + p]++;
		correct += t == p;
		psum += k < 0 ? 0 : prob[k];
		lsum += log(k < 0 ? PROB_FLOOR : fmax(prob[k], PROB_FLOOR));
	}
	free(prob);
	jl = json_array();
	jcm = json_array();
	f1s = json_object();
	for (int k = 0; k < m; k++) {
		long long tp = cm[k * m + k], fp = 0, fn = 0;
		double f1;

		row = json_array();
		for (int j = 0; j < m; j++) {
			json_array_append_new(row, json_integer(cm[k * m + j]));
			if (j != k) {
				fn += cm[k * m + j];
				fp += cm[j * m + k];
			}
		}
		json_array_append_new(jcm, row);
		json_array_append_new(jl, json_string(labels[k]));
		f1 = tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
		json_object_set_new(f1s, labels[k], json_real(f1));
		f1sum += f1;
	}
	maj = majority(test, labels, m, &majn);
	res = json_pack("{s:I, s:f, s:f, s:o, s:o, s:o, s:{s:s, s:f}}", "n",
		(json_int_t)test->n, "accuracy",
		test->n ? (double)correct / test->n : 0.0, "macro_f1",
		f1sum / m, "f1", f1s, "labels", jl, "confusion", jcm,
		"majority", "label", maj, "accuracy",
		test->n ? (double)majn / test->n : 0.0);
	json_object_set_new(res, "mean_probability",
		json_real(test->n ? psum / (double)test->n : 0.0));
	json_object_set_new(res, "log_likelihood",
		json_real(test->n ? lsum / (double)test->n : 0.0));
	for (int k = 0; k < m; k++)
		free(labels[k]);
	free(labels);
	free(cm);
	return res;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void
push_u64(uint64_t **v, size_t *len, size_t *cap, uint64_t h)
{
	if (*len == *cap) {
		*cap = *cap ? 2 * *cap : 1024;
		*v = sg_xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[(*len)++] = h;
}

/* Hashes of the word n-grams of a text (1 <= n <= SG_MAX_NGRAM) appended
 * to *v, and the hash of its whole word sequence returned. */
static uint64_t
ngram_hashes(const char *text, int n, uint64_t **v, size_t *len, size_t *cap)
{
	const char *a, *b;
	uint64_t win[SG_MAX_NGRAM] = {0}, h, all = 0xcbf29ce484222325ULL;
	size_t seen = 0;

	while (sg_next_word(&text, &a, &b)) {
		memmove(win, win + 1, sizeof *win * (SG_MAX_NGRAM - 1));
		win[SG_MAX_NGRAM - 1] = sg_word_hash(a, b);
		all = (all ^ win[SG_MAX_NGRAM - 1]) * 0x100000001b3ULL;
		if (++seen < (size_t)n)
			continue;
		h = 0xcbf29ce484222325ULL;
		for (int i = SG_MAX_NGRAM - n; i < SG_MAX_NGRAM; i++)
			h = (h ^ win[i]) * 0x100000001b3ULL;
		push_u64(v, len, cap, h);
	}
	return all;
}

static int
member(const uint64_t *v, size_t len, uint64_t h)
{
	return len && bsearch(&h, v, len, sizeof *v, cmp_u64) != NULL;
}

json_t *
sg_ngram_overlap(
	const struct sg_labelled *train, const struct sg_labelled *test, int n)
{
	uint64_t *tr = NULL, *whole, *te = NULL;
	size_t trlen = 0, trcap = 0, telen, tecap = 0, hit = 0, total = 0;
	size_t exact = 0, covered = 0;

	if (n < 1 || n > SG_MAX_NGRAM)
		return NULL;
	whole = sg_xmalloc((train->n ? train->n : 1) * sizeof *whole);
	for (size_t i = 0; i < train->n; i++)
		whole[i] = ngram_hashes(train->text[i], n, &tr, &trlen, &trcap);
	if (trlen)
		qsort(tr, trlen, sizeof *tr, cmp_u64);
	qsort(whole, train->n, sizeof *whole, cmp_u64);
	for (size_t i = 0; i < test->n; i++) {
		size_t h0;

		telen = 0;
		exact += member(whole, train->n,
			ngram_hashes(test->text[i], n, &te, &telen, &tecap));
		h0 = hit;
		for (size_t j = 0; j < telen; j++)
			hit += member(tr, trlen, te[j]);
		total += telen;
		/* a test text all of whose n-grams occur in training */
		covered += telen > 0 && hit - h0 == telen;
	}
	free(tr);
	free(te);
	free(whole);
	return json_pack("{s:i, s:f, s:I, s:I}", "n", n, "ngrams",
		total ? (double)hit / total : 0.0, "covered_texts",
		(json_int_t)covered, "exact_texts", (json_int_t)exact);
}
