/*
 * text.c - the text view of a sample and the measures taken over it.
 * Words are maximal runs of letters, digits and apostrophes, folded to
 * lower case byte by byte (UTF-8 bytes count as letters), which is what
 * distinct-n in the literature counts.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "sg.h"

void
sg_buf_add(struct sg_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = 2 * (b->len + n + 1);
		b->p = sg_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
collect(const json_t *j, struct sg_buf *b)
{
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_STRING:
		if (b->len)
			sg_buf_add(b, " ", 1);
		sg_buf_add(b, json_string_value(j), json_string_length(j));
		break;
	case JSON_OBJECT:
		json_object_foreach ((json_t *)j, key, v)
			collect(v, b);
		break;
	case JSON_ARRAY:
		json_array_foreach (j, i, v)
			collect(v, b);
		break;
	default:
		break;
	}
}

char *
sg_sample_text(const json_t *data)
{
	struct sg_buf b = {0};

	sg_buf_add(&b, "", 0);
	if (data)
		collect(data, &b);
	return b.p;
}

/* Next word of *s as [start, end); 0 at the end of the text. */
static int
next_word(const char **s, const char **start, const char **end)
{
	const unsigned char *p = (const unsigned char *)*s;

	while (*p && !sg_wordc(*p))
		p++;
	if (!*p)
		return 0;
	*start = (const char *)p;
	while (*p && sg_wordc(*p))
		p++;
	*end = (const char *)p;
	*s = *end;
	return 1;
}

size_t
sg_count_words(const char *text)
{
	const char *a, *b;
	size_t n = 0;

	while (next_word(&text, &a, &b))
		n++;
	return n;
}

/* FNV-1a over the word folded to lower case. */
static uint64_t
word_hash(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; a < b; a++)
		h = (h ^ (unsigned char)sg_lower((unsigned char)*a)) *
		    0x100000001b3ULL;
	return h;
}

/* n-grams are hashed (64 bits: collisions are negligible at dataset
 * sizes) and counted distinct in an open-addressing set, one for each n. */
struct ngrams {
	uint64_t *set;
	size_t cap, distinct, total;
};

static void
ngram_add(struct ngrams *g, uint64_t h)
{
	h = h ? h : 1; /* 0 marks a free slot */
	if (2 * (g->distinct + 1) > g->cap) {
		uint64_t *old = g->set;
		size_t ocap = g->cap;

		g->cap = g->cap ? 2 * g->cap : 1024;
		g->set = sg_xmalloc(g->cap * sizeof *g->set);
		memset(g->set, 0, g->cap * sizeof *g->set);
		for (size_t i = 0; i < ocap; i++) {
			size_t j = (old[i] ^ old[i] >> 31) & (g->cap - 1);

			if (!old[i])
				continue;
			while (g->set[j])
				j = (j + 1) & (g->cap - 1);
			g->set[j] = old[i];
		}
		free(old);
	}
	g->total++;
	for (size_t j = (h ^ h >> 31) & (g->cap - 1);;
		j = (j + 1) & (g->cap - 1)) {
		if (g->set[j] == h)
			break;
		if (!g->set[j]) {
			g->set[j] = h;
			g->distinct++;
			break;
		}
	}
}

/* One pass over the words for every n from 1 to n: each word is read and
 * hashed once, not once per n. */
void
sg_distinct(char *const texts[], size_t count, int n, double out[])
{
	struct ngrams *g;
	uint64_t *win, h;
	const char *s, *a, *b;

	if (n < 1)
		return;
	win = sg_xmalloc(sizeof *win * (size_t)n);
	g = sg_xmalloc(sizeof *g * (size_t)n);
	memset(g, 0, sizeof *g * (size_t)n);
	for (size_t t = 0; t < count; t++) {
		size_t seen = 0;

		s = texts[t];
		while (next_word(&s, &a, &b)) {
			memmove(win, win + 1, sizeof *win * (size_t)(n - 1));
			win[n - 1] = word_hash(a, b);
			seen++;
			/* the k-gram is the last k words of the window */
			for (int k = 1; k <= n && (size_t)k <= seen; k++) {
				h = 0xcbf29ce484222325ULL;
				for (int i = n - k; i < n; i++)
					h = (h ^ win[i]) * 0x100000001b3ULL;
				ngram_add(&g[k - 1], h);
			}
		}
	}
	for (int k = 0; k < n; k++) {
		out[k] = g[k].total ? (double)g[k].distinct / (double)g[k].total
				    : 0.0;
		free(g[k].set);
	}
	free(g);
	free(win);
}

/* deflate at its default level over the texts joined by newlines; a
 * batch that says the same things over and over compresses well. */
double
sg_compression_ratio(char *const texts[], size_t count)
{
	struct sg_buf b = {0};
	unsigned char *out;
	uLongf outlen;
	double r;

	sg_buf_add(&b, "", 0);
	for (size_t i = 0; i < count; i++) {
		sg_buf_add(&b, texts[i], strlen(texts[i]));
		sg_buf_add(&b, "\n", 1);
	}
	if (b.len == 0) {
		free(b.p);
		return 0.0;
	}
	outlen = compressBound((uLong)b.len);
	out = sg_xmalloc(outlen);
	if (compress(out, &outlen, (const Bytef *)b.p, (uLong)b.len) != Z_OK)
		outlen = (uLongf)b.len;
	r = (double)outlen / (double)b.len;
	free(out);
	free(b.p);
	return r;
}

int
sg_next_word(const char **s, const char **start, const char **end)
{
	return next_word(s, start, end);
}

uint64_t
sg_word_hash(const char *start, const char *end)
{
	return word_hash(start, end);
}
