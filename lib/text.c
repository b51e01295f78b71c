/*
 * text.c - the text view of a sample and the measures taken over it.
 * Words are maximal runs of letters, digits and apostrophes, folded to
 * lower case byte by byte (UTF-8 bytes count as letters), which is what
 * distinct-n in the literature counts.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sg.h"

struct buf {
	char *p;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
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
collect(const json_t *j, struct buf *b)
{
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_STRING:
		if (b->len)
			buf_add(b, " ", 1);
		buf_add(b, json_string_value(j), json_string_length(j));
		break;
	case JSON_OBJECT:
		json_object_foreach((json_t *)j, key, v) collect(v, b);
		break;
	case JSON_ARRAY:
		json_array_foreach(j, i, v) collect(v, b);
		break;
	default:
		break;
	}
}

char *
sg_sample_text(const json_t *data)
{
	struct buf b = {0};

	buf_add(&b, "", 0);
	if (data)
		collect(data, &b);
	return b.p;
}

static int
wordbyte(unsigned char c)
{
	return isalnum(c) || c == '\'' || c >= 0x80;
}

/* Next word of *s as [start, end); 0 at the end of the text. */
static int
next_word(const char **s, const char **start, const char **end)
{
	const unsigned char *p = (const unsigned char *)*s;

	while (*p && !wordbyte(*p))
		p++;
	if (!*p)
		return 0;
	*start = (const char *)p;
	while (*p && wordbyte(*p))
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

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* FNV-1a over the word folded to lower case. */
static uint64_t
word_hash(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; a < b; a++)
		h = (h ^ (unsigned char)tolower((unsigned char)*a)) *
			0x100000001b3ULL;
	return h;
}

/* n-grams are hashed (64 bits: collisions are negligible at dataset
 * sizes) and counted distinct by sorting. */
double
sg_distinct_n(char *const texts[], size_t count, int n)
{
	uint64_t *grams = NULL, *win, h;
	size_t len = 0, cap = 0, distinct;
	const char *s, *a, *b;

	if (n < 1)
		return 0.0;
	win = sg_xmalloc(sizeof *win * (size_t)n);
	for (size_t t = 0; t < count; t++) {
		size_t seen = 0;

		s = texts[t];
		while (next_word(&s, &a, &b)) {
			memmove(win, win + 1, sizeof *win * (size_t)(n - 1));
			win[n - 1] = word_hash(a, b);
			if (++seen < (size_t)n)
				continue;
			if (len == cap) {
				cap = cap ? 2 * cap : 256;
				grams = sg_xrealloc(grams, cap * sizeof *grams);
			}
			h = 0xcbf29ce484222325ULL;
			for (int i = 0; i < n; i++)
				h = (h ^ win[i]) * 0x100000001b3ULL;
			grams[len++] = h;
		}
	}
	free(win);
	if (len == 0) {
		free(grams);
		return 0.0;
	}
	qsort(grams, len, sizeof *grams, cmp_u64);
	distinct = 1;
	for (size_t i = 1; i < len; i++)
		distinct += grams[i] != grams[i - 1];
	free(grams);
	return (double)distinct / (double)len;
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
