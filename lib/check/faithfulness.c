/*
 * faithfulness.c - offline grounding measures.  Faithfulness: the
 * numbers and the names (capitalised words not opening a sentence) of an
 * output must occur in its source passages, and the share of the output's
 * content words found in them is its lexical coverage.  Relevance: the
 * TF-IDF cosine of an output and a task description, the document
 * frequencies taken from the outputs seen so far.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "check/check-internal.h"

/* Words too common to say whether a text follows its sources. */
static const char *const stop[] = {"a", "an", "and", "are", "as", "at", "be",
	"but", "by", "for", "from", "had", "has", "have", "he", "her", "his",
	"i", "in", "is", "it", "its", "not", "of", "on", "or", "she", "that",
	"the", "their", "them", "there", "they", "this", "to", "was", "we",
	"were", "which", "who", "will", "with", "you", "your", NULL};

/* Called on every word of every output: no stop word is longer than five
 * letters, and the first letter settles most of the rest. */
static int
is_stop(const char *w, size_t n)
{
	int c = sg_lower((unsigned char)*w);

	if (n > 5)
		return 0;
	for (const char *const *s = stop; *s; s++)
		if ((*s)[0] == c && strlen(*s) == n &&
			strncasecmp(*s, w, n) == 0)
			return 1;
	return 0;
}

/* Whether the n bytes at w occur in src as a whole word (or number). */
static int
occurs(const char *src, const char *w, size_t n, int fold)
{
	for (const char *p = src; *p; p++) {
		if ((fold ? strncasecmp(p, w, n) : strncmp(p, w, n)) != 0)
			continue;
		if ((p == src || !sg_wordc((unsigned char)p[-1])) &&
			!sg_wordc((unsigned char)p[n]))
			return 1;
	}
	return 0;
}

/* A number as written, "1,250.5" read as "1250.5", in buf. */
static size_t
number(const char *s, size_t n, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < size; i++)
		if (s[i] != ',')
			buf[o++] = s[i];
	buf[o] = '\0';
	return o;
}

static int
num_occurs(const char *src, const char *num)
{
	char buf[64];
	size_t n;

	for (const char *p = src; *p; p++) {
		if (!isdigit((unsigned char)*p) ||
			(p > src && (isdigit((unsigned char)p[-1]) ||
					    p[-1] == '.' || p[-1] == ',')))
			continue;
		n = strspn(p, "0123456789.,");
		while (n && (p[n - 1] == '.' || p[n - 1] == ','))
			n--;
		number(p, n, buf, sizeof buf);
		if (strcmp(buf, num) == 0)
			return 1;
	}
	return 0;
}

json_t *
sg_faithfulness(const char *out, const char *src)
{
	json_t *missing = json_array();
	size_t content = 0, covered = 0;
	int opening = 1; /* the next word opens a sentence */
	const char *p = out;
	char buf[64];

	while (*p) {
		const char *w = p;
		size_t n;

		if (isdigit((unsigned char)*p)) {
			n = strspn(p, "0123456789.,");
			while (n && (p[n - 1] == '.' || p[n - 1] == ','))
				n--;
			number(p, n, buf, sizeof buf);
			if (!num_occurs(src, buf) &&
				json_array_size(missing) < 20)
				json_array_append_new(
					missing, json_string(buf));
			p += n;
			opening = 0;
			continue;
		}
		if (!sg_wordc((unsigned char)*p)) {
			if (strchr(".!?:\n", *p))
				opening = 1;
			p++;
			continue;
		}
		while (sg_wordc((unsigned char)*p))
			p++;
		n = (size_t)(p - w);
		if (isupper((unsigned char)*w) && !opening && n > 1 &&
			!occurs(src, w, n, 0) && json_array_size(missing) < 20)
			json_array_append_new(missing, json_stringn(w, n));
		if (!is_stop(w, n)) {
			content++;
			covered += occurs(src, w, n, 1);
		}
		opening = 0;
	}
	return json_pack("{soso}", "missing", missing, "coverage",
		json_real(content ? (double)covered / (double)content : 1.0));
}

/* Relevance: term frequencies of word hashes, idf from a growing corpus. */
struct sg_tfidf {
	struct sg_map *df; /* word -> documents it occurred in */
	size_t ndocs;
	/* a bit for the low byte of each stop word's hash: a word without
	 * one needs no is_stop */
	uint64_t stop[4];
	uint64_t *a; /* a text's terms, and their counts or idf: reused */
	double *ia;
	size_t cap;
	char *query; /* the last query, and its terms */
	uint64_t *b;
	size_t nb;
};

struct sg_tfidf *
sg_tfidf_new(void)
{
	struct sg_tfidf *t = sg_xmalloc(sizeof *t);

	memset(t, 0, sizeof *t);
	t->df = sg_map_new();
	for (const char *const *s = stop; *s; s++) {
		uint64_t h = sg_word_hash(*s, *s + strlen(*s)) & 255;

		t->stop[h / 64] |= 1ULL << (h % 64);
	}
	return t;
}

void
sg_tfidf_free(struct sg_tfidf *t)
{
	if (!t)
		return;
	sg_map_free(t->df);
	free(t->a);
	free(t->ia);
	free(t->query);
	free(t->b);
	free(t);
}

/* The hashes of the content words of ws into v, sorted, so that equal
 * words are runs; their number. */
static size_t
terms(const struct sg_tfidf *t, const struct sg_words *ws, uint64_t *v)
{
	size_t n = 0;

	for (size_t i = 0; i < ws->n; i++) {
		const struct sg_word *w = &ws->v[i];
		unsigned low = (unsigned)(w->hash & 255);

		if (!(w->len <= 5 && (t->stop[low / 64] >> (low % 64) & 1) &&
			    is_stop(ws->text + w->at, w->len)))
			v[n++] = w->hash;
	}
	sg_sort_u64(v, n);
	return n;
}

/* The terms of query in t->b, kept while the query stays the same. */
static void
query_terms(struct sg_tfidf *t, const char *query)
{
	struct sg_words qw = {0};

	if (t->query && strcmp(t->query, query) == 0)
		return;
	free(t->query);
	t->query = sg_xstrdup(query);
	sg_words_read(&qw, query);
	t->b = sg_xrealloc(t->b, (qw.n ? qw.n : 1) * sizeof *t->b);
	t->nb = terms(t, &qw, t->b);
	free(qw.v);
}

/* Smoothed idf, as scikit-learn's: never 0, even for a word in every
 * document. */
static double
idf_of(const struct sg_tfidf *t, double df)
{
	return log((1.0 + (double)t->ndocs) / (1.0 + df)) + 1.0;
}

static double
idf(const struct sg_tfidf *t, uint64_t w)
{
	double *df = sg_map_get(t->df, w);

	return idf_of(t, df ? df[0] : 0);
}

/* The next run of equal hashes at *i: its word, its count. */
static int
run(const uint64_t *v, size_t n, size_t *i, uint64_t *w, double *count)
{
	size_t j = *i;

	if (j >= n)
		return 0;
	*w = v[j];
	while (j < n && v[j] == *w)
		j++;
	*count = (double)(j - *i);
	*i = j;
	return 1;
}

/* Whether the sorted hashes a and b have one in common. */
static int
common(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t i = 0, j = 0;

	while (i < na && j < nb)
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else
			return 1;
	return 0;
}

double
sg_tfidf_cosine(
	struct sg_tfidf *t, const struct sg_words *text, const char *query)
{
	size_t na, nb, i = 0, j = 0, ra = 0, nr = 0;
	uint64_t *a, *b, wa = 0, wb = 0;
	double dot = 0, sa = 0, sb = 0, ca = 0, cb = 0, x, y;
	/* the document count of each of the text's words, the k-th distinct
	 * one at ia[k], taken as its count is raised (the count table
	 * outgrows the caches, and a second probe per word was a second
	 * miss), then made its idf */
	double *ia;
	int more_a, more_b;

	if (text->n > t->cap) {
		t->cap = text->n;
		t->a = sg_xrealloc(t->a, t->cap * sizeof *t->a);
		t->ia = sg_xrealloc(t->ia, t->cap * sizeof *t->ia);
	}
	a = t->a;
	ia = t->ia;
	na = terms(t, text, a);
	query_terms(t, query);
	b = t->b;
	nb = t->nb;
	t->ndocs++;
	for (size_t k = 0; k < na; k++)
		sg_map_prefetch(t->df, a[k]);
	for (size_t k = 0; run(a, na, &k, &wa, &ca);)
		ia[nr++] = ++sg_map_put(t->df, wa)[0];
	/* with no word in common the cosine is 0 whatever the weights: most
	 * texts share none with the task, and their logarithms were a tenth
	 * of the check */
	if (!common(a, na, b, nb))
		return 0.0;
	for (size_t k = 0; k < nr; k++)
		ia[k] = idf_of(t, ia[k]);
	more_a = run(a, na, &i, &wa, &ca);
	more_b = run(b, nb, &j, &wb, &cb);
	while (more_a || more_b) {
		if (more_a && (!more_b || wa <= wb)) {
			x = ca * ia[ra];
			sa += x * x;
		}
		if (more_b && (!more_a || wb <= wa)) {
			y = cb * idf(t, wb);
			sb += y * y;
		}
		if (more_a && more_b && wa == wb) {
			dot += ca * ia[ra] * cb * idf(t, wb);
			more_a = run(a, na, &i, &wa, &ca);
			ra++;
			more_b = run(b, nb, &j, &wb, &cb);
		} else if (more_a && (!more_b || wa < wb)) {
			more_a = run(a, na, &i, &wa, &ca);
			ra++;
		} else {
			more_b = run(b, nb, &j, &wb, &cb);
		}
	}
	return sa > 0 && sb > 0 ? dot / sqrt(sa * sb) : 0.0;
}
