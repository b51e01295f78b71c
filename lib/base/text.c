/*
 * text.c - the text view of a sample and the measures taken over it.
 * Words are maximal runs of letters, digits and apostrophes, folded to
 * lower case byte by byte (UTF-8 bytes count as letters), which is what
 * distinct-n in the literature counts.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

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
sg_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c < 0xC2 || c > 0xF4)
		return 0;
	len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = c & (0x3Fu >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3Fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

size_t
sg_codepoints(const char *s, size_t n)
{
	size_t cont = 0, i = 0;
	uint64_t x;

	/* eight bytes at a time: a continuation byte is 10xxxxxx, and the
	 * multiply adds up the bytes' marks in the top byte */
	for (; i + 8 <= n; i += 8) {
		memcpy(&x, s + i, sizeof x);
		x = (x & ~(x << 1) & 0x8080808080808080ULL) >> 7;
		cont += (size_t)((x * 0x0101010101010101ULL) >> 56);
	}
	for (; i < n; i++)
		cont += ((unsigned char)s[i] & 0xC0) == 0x80;
	return n - cont;
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

#define WORD_FOLD(c)                                                           \
	((unsigned)(((c) | 0x20) - 'a') < 26u ? ((c) | 0x20)                   \
		: (unsigned)((c) - '0') < 10u || (c) == '\'' || (c) >= 0x80    \
			? (c)                                                  \
			: 0)
#define WF4(c)                                                                 \
	WORD_FOLD(c), WORD_FOLD((c) + 1), WORD_FOLD((c) + 2), WORD_FOLD((c) + 3)
#define WF16(c) WF4(c), WF4((c) + 4), WF4((c) + 8), WF4((c) + 12)
#define WF64(c) WF16(c), WF16((c) + 16), WF16((c) + 32), WF16((c) + 48)
const unsigned char sg_word_fold[256] = {
	WF64(0), WF64(64), WF64(128), WF64(192)};

/* next_word and word_hash in one pass. */
void
sg_words_read(struct sg_words *w, const char *text)
{
	const unsigned char *p = (const unsigned char *)text, *a;
	int newline = 0;
	uint64_t h;

	w->text = text;
	w->n = 0;
	for (;;) {
		while (*p && !sg_word_fold[*p])
			newline |= *p++ == '\n';
		if (!*p)
			return;
		a = p;
		h = 0xcbf29ce484222325ULL;
		while (sg_word_fold[*p])
			h = (h ^ sg_word_fold[*p++]) * 0x100000001b3ULL;
		if (w->n == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 128;
			w->v = sg_xrealloc(w->v, w->cap * sizeof *w->v);
		}
		w->v[w->n++] = (struct sg_word){h,
			(size_t)(a - (const unsigned char *)text),
			(size_t)(p - a), newline};
		newline = 0;
	}
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

int
sg_among(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}
