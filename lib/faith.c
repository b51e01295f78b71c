/*
 * faith.c - offline grounding measures.  Faithfulness: the numbers and
 * the names (capitalised words not opening a sentence) of an output must
 * occur in its source passages, and the share of the output's content
 * words found in them is its lexical coverage.  Relevance: the TF-IDF
 * cosine of an output and a task description, the document frequencies
 * taken from the outputs seen so far.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sg.h"

/* Words too common to say whether a text follows its sources. */
static const char *const stop[] = {"a", "an", "and", "are", "as", "at", "be",
	"but", "by", "for", "from", "had", "has", "have", "he", "her", "his",
	"i", "in", "is", "it", "its", "not", "of", "on", "or", "she", "that",
	"the", "their", "them", "there", "they", "this", "to", "was", "we",
	"were", "which", "who", "will", "with", "you", "your", NULL};

static int
is_stop(const char *w, size_t n)
{
	for (const char *const *s = stop; *s; s++)
		if (strlen(*s) == n && strncasecmp(*s, w, n) == 0)
			return 1;
	return 0;
}

static int
wordc(int c)
{
	return isalnum(c) || c == '\'' || c >= 0x80;
}

/* Whether the n bytes at w occur in src as a whole word (or number). */
static int
occurs(const char *src, const char *w, size_t n, int fold)
{
	for (const char *p = src; *p; p++) {
		if ((fold ? strncasecmp(p, w, n) : strncmp(p, w, n)) != 0)
			continue;
		if ((p == src || !wordc((unsigned char)p[-1])) &&
			!wordc((unsigned char)p[n]))
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
		if (!wordc((unsigned char)*p)) {
			if (strchr(".!?:\n", *p))
				opening = 1;
			p++;
			continue;
		}
		while (wordc((unsigned char)*p))
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
	json_t *df; /* word -> documents it occurred in */
	size_t ndocs;
};

struct sg_tfidf *
sg_tfidf_new(void)
{
	struct sg_tfidf *t = sg_xmalloc(sizeof *t);

	t->df = json_object();
	t->ndocs = 0;
	return t;
}

void
sg_tfidf_free(struct sg_tfidf *t)
{
	if (!t)
		return;
	json_decref(t->df);
	free(t);
}

/* The text's content words folded to lower case, with their counts. */
static json_t *
terms(const char *s)
{
	json_t *tf = json_object();
	char w[64];

	while (*s) {
		size_t n = 0;

		if (!wordc((unsigned char)*s)) {
			s++;
			continue;
		}
		while (wordc((unsigned char)*s)) {
			if (n + 1 < sizeof w)
				w[n++] = (char)tolower((unsigned char)*s);
			s++;
		}
		w[n] = '\0';
		if (!is_stop(w, n))
			json_object_set_new(
				tf, w, json_integer(sg_get_int(tf, w, 0) + 1));
	}
	return tf;
}

static double
weight(const struct sg_tfidf *t, const char *w, json_t *count)
{
	double df = (double)sg_get_int(t->df, w, 0);

	/* smoothed idf, as scikit-learn's: never 0, even for a word in every
	 * document */
	return (double)json_integer_value(count) *
	       (log((1.0 + (double)t->ndocs) / (1.0 + df)) + 1.0);
}

double
sg_tfidf_cosine(struct sg_tfidf *t, const char *text, const char *query)
{
	json_t *a = terms(text), *b = terms(query), *c, *d;
	double dot = 0, na = 0, nb = 0, wa, wb;
	const char *w;

	t->ndocs++;
	json_object_foreach (a, w, c)
		json_object_set_new(
			t->df, w, json_integer(sg_get_int(t->df, w, 0) + 1));
	json_object_foreach (a, w, c) {
		wa = weight(t, w, c);
		na += wa * wa;
		if ((d = json_object_get(b, w)))
			dot += wa * weight(t, w, d);
	}
	json_object_foreach (b, w, d) {
		wb = weight(t, w, d);
		nb += wb * wb;
	}
	json_decref(a);
	json_decref(b);
	return na > 0 && nb > 0 ? dot / sqrt(na * nb) : 0.0;
}
