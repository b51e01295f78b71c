/*
 * profile.c - what the samples a run has accepted hold, for the parts of a
 * reward that weigh a batch against them: which word n-grams they use
 * (novelty), how many carry each label (the label mix), and, per arm, a
 * multinomial naive Bayes model of label given words (label fidelity and
 * the marginal value on a real dev set).  Naive Bayes because its counts
 * add and subtract: the model of every arm but one is the whole minus that
 * arm, and a batch's effect is measured by adding its counts, exactly and
 * without training anything.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "score/score.h"

/* The arm and label indices of a count key; ANY is every arm's, or the
 * presence of an n-gram whatever its label. */
#define ANY 0xffff

struct name_table {
	char **v;
	size_t n;
};

struct sg_profile {
	struct sg_map *counts; /* mix(n-gram, arm, label) -> count */
	struct name_table arms, labels;
	/* per arm (ANY last), per label: the samples and their n-grams */
	double *docs, *tokens;
	size_t dims;  /* arms.n + 1 for ANY, the rows of docs and tokens */
	size_t ncols; /* labels allocated per row */
	double vocab; /* distinct n-grams */
};

static uint64_t
mix(uint64_t h, size_t arm, size_t label)
{
	uint64_t x = h ^ ((uint64_t)arm << 48 | (uint64_t)label << 32);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ x >> 33;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void
sg_feats_read(struct sg_feats *f, const char *text)
{
	const char *s = text, *a, *b;
	uint64_t prev = 0, h;
	size_t n = 0;
	int first = 1;

	f->n = 0;
	while (sg_next_word(&s, &a, &b)) {
		if (f->n + 2 > f->cap) {
			f->cap = f->cap ? 2 * f->cap : 64;
			f->v = sg_xrealloc(f->v, f->cap * sizeof *f->v);
		}
		h = sg_word_hash(a, b);
		f->v[f->n++] = h;
		/* a pair's hash is not any word's */
		if (!first)
			f->v[f->n++] = (prev * 0x100000001b3ULL ^ h) + 1;
		prev = h;
		first = 0;
	}
	/* a set: a sample's counts are the presence of its n-grams, steadier
	 * than raw counts on texts of any length */
	if (f->n > 1)
		qsort(f->v, f->n, sizeof *f->v, cmp_u64);
	for (size_t i = 0; i < f->n; i++)
		if (n == 0 || f->v[i] != f->v[n - 1])
			f->v[n++] = f->v[i];
	f->n = n;
}

void
sg_feats_free(struct sg_feats *f)
{
	free(f->v);
	memset(f, 0, sizeof *f);
}

struct sg_profile *
sg_profile_new(void)
{
	struct sg_profile *p = sg_xcalloc(1, sizeof *p);

	p->counts = sg_map_new();
	return p;
}

void
sg_profile_free(struct sg_profile *p)
{
	if (!p)
		return;
	sg_map_free(p->counts);
	for (size_t i = 0; i < p->arms.n; i++)
		free(p->arms.v[i]);
	for (size_t i = 0; i < p->labels.n; i++)
		free(p->labels.v[i]);
	free(p->arms.v);
	free(p->labels.v);
	free(p->docs);
	free(p->tokens);
	free(p);
}

/* name's index in t, or -1; added when add is set */
static long
lookup(struct name_table *t, const char *name, int add)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i], name) == 0)
			return (long)i;
	if (!add)
		return -1;
	t->v = sg_xrealloc(t->v, (t->n + 1) * sizeof *t->v);
	t->v[t->n] = sg_xstrdup(name);
	return (long)t->n++;
}

/* Rows for every arm and ANY, columns for every label: grown as arms and
 * labels come, ANY's row always the last. */
static void
reshape(struct sg_profile *p)
{
	size_t dims = p->arms.n + 1, cols = p->ncols;
	double *docs, *tokens;

	if (dims == p->dims && p->labels.n <= cols)
		return;
	while (cols < p->labels.n)
		cols = cols ? 2 * cols : 4;
	docs = sg_xcalloc(dims * cols, sizeof *docs);
	tokens = sg_xcalloc(dims * cols, sizeof *tokens);
	for (size_t r = 0; r < p->dims; r++) {
		size_t to = r + 1 == p->dims ? dims - 1 : r;

		memcpy(docs + to * cols, p->docs + r * p->ncols,
			p->ncols * sizeof *docs);
		memcpy(tokens + to * cols, p->tokens + r * p->ncols,
			p->ncols * sizeof *tokens);
	}
	free(p->docs);
	free(p->tokens);
	p->docs = docs;
	p->tokens = tokens;
	p->dims = dims;
	p->ncols = cols;
}

static double *
cell(const struct sg_profile *p, double *v, size_t arm, size_t label)
{
	size_t row = arm == ANY ? p->dims - 1 : arm;

	return &v[row * p->ncols + label];
}

void
sg_profile_add(struct sg_profile *p, const char *arm, const char *label,
	const struct sg_feats *f, double w)
{
	long a = lookup(&p->arms, arm ? arm : "", 1);
	long y = label ? lookup(&p->labels, label, 1) : -1;
	double *c;

	reshape(p);
	for (size_t i = 0; i < f->n; i++) {
		c = sg_map_put(p->counts, mix(f->v[i], ANY, ANY));
		if (*c == 0 && w > 0)
			p->vocab++;
		*c += w;
		if (*c <= 0 && w < 0)
			p->vocab--;
		if (y < 0)
			continue;
		*sg_map_put(p->counts, mix(f->v[i], (size_t)a, (size_t)y)) += w;
		*sg_map_put(p->counts, mix(f->v[i], ANY, (size_t)y)) += w;
		*cell(p, p->tokens, (size_t)a, (size_t)y) += w;
		*cell(p, p->tokens, ANY, (size_t)y) += w;
	}
	if (y >= 0) {
		*cell(p, p->docs, (size_t)a, (size_t)y) += w;
		*cell(p, p->docs, ANY, (size_t)y) += w;
	}
}

static void
put_u64(struct sg_buf *b, uint64_t v)
{
	sg_buf_add(b, (const char *)&v, sizeof v);
}

/* Names, the per-arm tables and the vocabulary, then the counts' table
 * as it is in memory (sg_map_dump), 8-byte aligned from the start, in the
 * machine's own byte order: a snapshot is read where it was written, and
 * the table is used where it lies.  Returns the bytes before the table's
 * cells. */
size_t
sg_profile_dump(const struct sg_profile *p, struct sg_buf *b)
{
	static const char zeros[8];
	size_t start = b->len;

	put_u64(b, p->arms.n);
	put_u64(b, p->labels.n);
	for (size_t i = 0; i < p->arms.n + p->labels.n; i++) {
		const char *s = i < p->arms.n ? p->arms.v[i]
					      : p->labels.v[i - p->arms.n];

		put_u64(b, strlen(s));
		sg_buf_add(b, s, strlen(s));
	}
	for (size_t r = 0; r < p->dims; r++)
		for (size_t l = 0; l < p->labels.n; l++) {
			sg_buf_add(b, (const char *)&p->docs[r * p->ncols + l],
				sizeof(double));
			sg_buf_add(b,
				(const char *)&p->tokens[r * p->ncols + l],
				sizeof(double));
		}
	sg_buf_add(b, (const char *)&p->vocab, sizeof p->vocab);
	sg_buf_add(b, zeros, (8 - (b->len - start) % 8) % 8);
	sg_map_dump(p->counts, b);
	return b->len - start - sg_map_bytes(p->counts);
}

/* n bytes from the cursor into out; 0 when fewer are left. */
static int
take(const char **s, const char *end, void *out, size_t n)
{
	if ((size_t)(end - *s) < n)
		return 0;
	memcpy(out, *s, n);
	*s += n;
	return 1;
}

static int
take_names(const char **s, const char *end, struct name_table *t, size_t n)
{
	uint64_t len;

	for (size_t i = 0; i < n; i++) {
		if (!take(s, end, &len, sizeof len) ||
			len > (uint64_t)(end - *s))
			return 0;
		t->v = sg_xrealloc(t->v, (t->n + 1) * sizeof *t->v);
		t->v[t->n] = sg_xmalloc(len + 1);
		memcpy(t->v[t->n], *s, len);
		t->v[t->n++][len] = '\0';
		*s += len;
	}
	return 1;
}

struct sg_profile *
sg_profile_view(char *s, size_t len, size_t *head)
{
	const char *at = s, *end = s + len;
	struct sg_profile *p = sg_profile_new();
	uint64_t narms, nlabels;
	struct sg_map *counts;

	if (!take(&at, end, &narms, sizeof narms) ||
		!take(&at, end, &nlabels, sizeof nlabels) || narms >= ANY ||
		nlabels >= ANY || !take_names(&at, end, &p->arms, narms) ||
		!take_names(&at, end, &p->labels, nlabels))
		goto bad;
	reshape(p);
	for (size_t r = 0; r < p->dims; r++)
		for (size_t l = 0; l < p->labels.n; l++)
			if (!take(&at, end, &p->docs[r * p->ncols + l],
				    sizeof(double)) ||
				!take(&at, end, &p->tokens[r * p->ncols + l],
					sizeof(double)))
				goto bad;
	if (!take(&at, end, &p->vocab, sizeof p->vocab))
		goto bad;
	at += (8 - (size_t)(at - s) % 8) % 8;
	if (at > end || !(counts = sg_map_view((char *)at, (size_t)(end - at))))
		goto bad;
	sg_map_free(p->counts);
	p->counts = counts;
	*head = len - sg_map_bytes(counts);
	return p;
bad:
	sg_profile_free(p);
	return NULL;
}

size_t
sg_profile_unseen(const struct sg_profile *p, const struct sg_feats *f)
{
	size_t n = 0;
	const double *c;

	/* a count taken back to 0 is a feature no sample has */
	for (size_t i = 0; i < f->n; i++) {
		c = sg_map_get(p->counts, mix(f->v[i], ANY, ANY));
		n += !c || *c <= 0;
	}
	return n;
}

double
sg_profile_count(const struct sg_profile *p, const char *label)
{
	long y;
	double n = 0;

	if (!label) {
		for (size_t i = 0; i < p->labels.n; i++)
			n += *cell(p, p->docs, ANY, i);
		return n;
	}
	y = lookup((struct name_table *)&p->labels, label, 0);
	return y < 0 ? 0 : *cell(p, p->docs, ANY, (size_t)y);
}

/* A count of the model: every arm's in p but skip's, plus ref's; py and
 * ry are the label's place in each, -1 where it has none. */
static double
count(const struct sg_profile *p, long skip, long py,
	const struct sg_profile *ref, long ry, uint64_t h)
{
	double n = 0, *c;

	if (py >= 0 && (c = sg_map_get(p->counts, mix(h, ANY, (size_t)py))))
		n += *c;
	if (py >= 0 && skip >= 0 &&
		(c = sg_map_get(p->counts, mix(h, (size_t)skip, (size_t)py))))
		n -= *c;
	if (ry >= 0 && (c = sg_map_get(ref->counts, mix(h, ANY, (size_t)ry))))
		n += *c;
	return n;
}

static double
total(const struct sg_profile *p, double *v, long skip, long py,
	const struct sg_profile *ref, double *rv, long ry)
{
	double n = 0;

	if (py >= 0)
		n += *cell(p, v, ANY, (size_t)py);
	if (py >= 0 && skip >= 0)
		n -= *cell(p, v, (size_t)skip, (size_t)py);
	if (ry >= 0)
		n += *cell(ref, rv, ANY, (size_t)ry);
	return n;
}

/* A label of the model: its place in p and in ref (-1 where it has
 * none), its samples and its log-probability. */
struct col {
	long py, ry;
	double docs, lp;
};

double
sg_profile_prob(const struct sg_profile *p, const char *skip,
	const struct sg_profile *ref, const char *label,
	const struct sg_feats *f, double min)
{
	struct name_table *labels = (struct name_table *)&p->labels;
	struct name_table *rlabels =
		ref ? (struct name_table *)&ref->labels : NULL;
	long s = skip ? lookup((struct name_table *)&p->arms, skip, 0) : -1;
	long want = -1;
	double top = -INFINITY, z = 0, alldocs = 0, tokens, v, r = -1;
	size_t k = 0, n = p->labels.n + (ref ? ref->labels.n : 0);
	struct col *y = sg_xmalloc((n ? n : 1) * sizeof *y);

	/* the model's labels are p's and ref's: a label only the dev set or
	 * the examples have yet is known before any sample of it is taken */
	for (size_t i = 0; i < n; i++) {
		const char *name = i < p->labels.n
					   ? p->labels.v[i]
					   : ref->labels.v[i - p->labels.n];

		if (i >= p->labels.n && lookup(labels, name, 0) >= 0)
			continue;
		y[k].py = i < p->labels.n ? (long)i : -1;
		y[k].ry = rlabels ? lookup(rlabels, name, 0) : -1;
		if (strcmp(name, label) == 0)
			want = (long)k;
		k++;
	}
	if (want < 0 || k < 2)
		goto done;
	for (size_t j = 0; j < k; j++) {
		y[j].docs = total(p, p->docs, s, y[j].py, ref,
			ref ? ref->docs : NULL, y[j].ry);
		if (y[j].docs < min)
			goto done;
		alldocs += y[j].docs;
	}
	v = p->vocab + (ref ? ref->vocab : 0) + 1;
	for (size_t j = 0; j < k; j++) {
		tokens = total(p, p->tokens, s, y[j].py, ref,
			ref ? ref->tokens : NULL, y[j].ry);
		y[j].lp = log((y[j].docs + 1) / (alldocs + (double)k));
		for (size_t i = 0; i < f->n; i++)
			y[j].lp += log(
				(count(p, s, y[j].py, ref, y[j].ry, f->v[i]) +
					1) /
				(tokens + v));
		top = fmax(top, y[j].lp);
	}
	for (size_t j = 0; j < k; j++)
		z += exp(y[j].lp - top);
	r = exp(y[want].lp - top) / z;
done:
	free(y);
	return r;
}
