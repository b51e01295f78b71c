/*
 * text.c - the text view of a sample and the measures taken over it.
 * Words are maximal runs of letters, marks, digits and apostrophes,
 * folded as Unicode's NFKC_Casefold folds them: ASCII by a table, the
 * rest by utf8proc, Debian's library of the Unicode tables.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/base.h"

#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
/* NFKC with case folding and the default-ignorable code points dropped */
#define FOLD                                                                   \
	(UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |                \
		UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

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

/* Each ASCII byte folded to lower case when it is one of a word, else 0
 * (the NUL too): one lookup for the loops that read every byte of every
 * sample. */
#define WORD_FOLD(c)                                                           \
	((unsigned)(((c) | 0x20) - 'a') < 26u		     ? ((c) | 0x20)    \
		: (unsigned)((c) - '0') < 10u || (c) == '\'' ? (c)             \
							     : 0)
#define WF4(c)                                                                 \
	WORD_FOLD(c), WORD_FOLD((c) + 1), WORD_FOLD((c) + 2), WORD_FOLD((c) + 3)
#define WF16(c) WF4(c), WF4((c) + 4), WF4((c) + 8), WF4((c) + 12)
#define WF64(c) WF16(c), WF16((c) + 16), WF16((c) + 32), WF16((c) + 48)
static const unsigned char word_fold[256] = {WF64(0), WF64(64)};

/* The typographic apostrophe (U+2019) folds to the ASCII one. */
static utf8proc_int32_t
apostrophe(utf8proc_int32_t cp, void *data)
{
	(void)data;
	return cp == 0x2019 ? '\'' : cp;
}

/* A code point beyond ASCII that belongs to a word: a letter, a mark, a
 * number, the typographic apostrophe, and inside a word the soft hyphen
 * and the joiners, which folding drops. */
static int
wide_wordc(utf8proc_int32_t cp, int inside)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return 1;
	default:
		return cp == 0x2019 ||
		       (inside && (cp == 0xAD || cp == 0x200C || cp == 0x200D ||
					  cp == 0x2060));
	}
}

/* FNV-1a over the UTF-8 of the NFKC_Casefold of the n bytes at s, or
 * over the bytes folded as ASCII where they are not UTF-8 (text read
 * from JSON always is). */
static uint64_t
fold(const unsigned char *s, size_t n)
{
	utf8proc_int32_t local[64], *cp = local;
	utf8proc_ssize_t m;
	utf8proc_uint8_t u[4];
	uint64_t h = FNV_BASIS;

	m = utf8proc_decompose_custom(
		s, (utf8proc_ssize_t)n, cp, 64, FOLD, apostrophe, NULL);
	if (m > 64) {
		cp = sg_xmalloc((size_t)m * sizeof *cp);
		m = utf8proc_decompose_custom(
			s, (utf8proc_ssize_t)n, cp, m, FOLD, apostrophe, NULL);
	}
	if (m >= 0)
		m = utf8proc_normalize_utf32(cp, m, FOLD);
	for (utf8proc_ssize_t j = 0; j < m; j++) {
		utf8proc_ssize_t k = utf8proc_encode_char(cp[j], u);

		for (utf8proc_ssize_t b = 0; b < k; b++)
			h = (h ^ u[b]) * FNV_PRIME;
	}
	if (m < 0)
		for (size_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)sg_lower(s[i])) * FNV_PRIME;
	if (cp != local)
		free(cp);
	return h;
}

/* fold, remembered by the hash of the bytes folded: words recur, and
 * folding one beyond ASCII took most of the time sg-validate spent on
 * Cyrillic text. */
static uint64_t
fold_hash(const unsigned char *s, size_t n)
{
	static struct {
		uint64_t raw, folded;
	} memo[4096];
	uint64_t raw = FNV_BASIS;
	size_t i;

	for (i = 0; i < n; i++)
		raw = (raw ^ s[i]) * FNV_PRIME;
	i = (size_t)(raw ^ raw >> 32) & 4095;
	if (memo[i].raw != raw || raw == 0) {
		memo[i].raw = raw;
		memo[i].folded = fold(s, n);
	}
	return memo[i].folded;
}

/* The end of a word that goes on past ASCII at p (word starts it when
 * p is the word's start): where its code points stop being a word's. */
static const unsigned char *
wide_end(const unsigned char *word, const unsigned char *p)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;

	for (;;) {
		if (*p < 0x80) {
			if (!word_fold[*p])
				return p;
			p++;
			continue;
		}
		n = utf8proc_iterate(p, -1, &cp);
		if (n < 0)
			n = 1; /* a byte that is not UTF-8 is a word's */
		else if (!wide_wordc(cp, p > word))
			return p;
		p += n;
	}
}

/* sg_word_next, inline for sg_words_read.  ASCII goes by the table, and
 * utf8proc is asked only about the bytes beyond it. */
static inline int
word_next(const char **s, const char **start, uint64_t *hash, int *newline)
{
	const unsigned char *p = (const unsigned char *)*s, *a, *e;
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	uint64_t h = FNV_BASIS;

	for (;;) {
		if (*p < 0x80) {
			if (word_fold[*p])
				break;
			if (!*p)
				return 0;
			*newline |= *p++ == '\n';
			continue;
		}
		n = utf8proc_iterate(p, -1, &cp);
		if (n < 0 || wide_wordc(cp, 0))
			break;
		p += n;
	}
	for (a = p; word_fold[*p]; p++)
		h = (h ^ word_fold[*p]) * FNV_PRIME;
	if (*p >= 0x80 && (e = wide_end(a, p)) != p) {
		p = e;
		h = fold_hash(a, (size_t)(p - a));
	}
	*start = (const char *)a;
	*s = (const char *)p;
	*hash = h;
	return 1;
}

int
sg_word_next(const char **s, const char **start, uint64_t *hash, int *newline)
{
	return word_next(s, start, hash, newline);
}

size_t
sg_count_words(const char *text)
{
	const char *a;
	uint64_t h;
	size_t n = 0;
	int nl = 0;

	while (word_next(&text, &a, &h, &nl))
		n++;
	return n;
}

void
sg_words_read(struct sg_words *w, const char *text)
{
	const char *s = text, *a;
	int newline = 0;
	uint64_t h;

	w->text = text;
	w->n = 0;
	while (word_next(&s, &a, &h, &newline)) {
		if (w->n == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 128;
			w->v = sg_xrealloc(w->v, w->cap * sizeof *w->v);
		}
		w->v[w->n++] = (struct sg_word){
			h, (size_t)(a - text), (size_t)(s - a), newline};
		newline = 0;
	}
}

int
sg_next_word(const char **s, const char **start, const char **end)
{
	uint64_t h;
	int nl = 0;

	if (!word_next(s, start, &h, &nl))
		return 0;
	*end = *s;
	return 1;
}

uint64_t
sg_word_hash(const char *start, const char *end)
{
	const unsigned char *a = (const unsigned char *)start;
	size_t n = (size_t)(end - start), i;
	uint64_t h = FNV_BASIS;

	for (i = 0; i < n && a[i] < 0x80; i++)
		h = (h ^ (unsigned char)sg_lower(a[i])) * FNV_PRIME;
	return i == n ? h : fold_hash(a, n);
}

int
sg_blank(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;

	for (; *p; p += n) {
		if ((n = utf8proc_iterate(p, -1, &cp)) < 0)
			return 0;
		switch (utf8proc_category(cp)) {
		case UTF8PROC_CATEGORY_ZS:
		case UTF8PROC_CATEGORY_ZL:
		case UTF8PROC_CATEGORY_ZP:
		case UTF8PROC_CATEGORY_CC:
		case UTF8PROC_CATEGORY_CF:
			break;
		default:
			return 0;
		}
	}
	return 1;
}

/* A bit for each code point below 0x10000 that leaves any text it is in
 * as NFC has it: a starter that NFC keeps as it is and that follows no
 * decomposition's first code point, so that nothing before composes with
 * it.  No composition beyond 0x10000 ends in a code point below it, and
 * those beyond take the long way.  Made once, from utf8proc's tables, in
 * about 3 ms, for the first text that is not ASCII. */
static const unsigned char *
nfc_keeps(void)
{
	static unsigned char *keeps;
	const utf8proc_option_t nfc = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
	utf8proc_int32_t d[8];
	utf8proc_ssize_t n;
	int last;

	if (keeps)
		return keeps;
	keeps = sg_xmalloc(0x10000 / 8);
	memset(keeps, 0, 0x10000 / 8);
	for (utf8proc_int32_t cp = 0; cp < 0x10000; cp++) {
		last = 0;
		n = utf8proc_decompose_char(cp, d, 8, nfc, &last);
		if (n > 0 && utf8proc_get_property(cp)->combining_class == 0 &&
			utf8proc_normalize_utf32(d, n, nfc) == 1 && d[0] == cp)
			keeps[cp >> 3] |= (unsigned char)(1u << (cp & 7));
	}
	for (utf8proc_int32_t cp = 0; cp < 0x10000; cp++) {
		last = 0;
		n = utf8proc_decompose_char(cp, d, 8, nfc, &last);
		for (utf8proc_ssize_t i = 1; i < n; i++)
			if (d[i] < 0x10000)
				keeps[d[i] >> 3] &=
					(unsigned char)~(1u << (d[i] & 7));
	}
	return keeps;
}

char *
sg_nfc(const char *s, size_t n, size_t *len)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	const unsigned char *keeps;
	utf8proc_uint8_t *out;
	utf8proc_int32_t cp;
	utf8proc_ssize_t m;
	size_t i;

	for (i = 0; i < n && p[i] < 0x80; i++)
		;
	if (i == n)
		return NULL;
	keeps = nfc_keeps();
	for (; i < n; i += (size_t)m) {
		m = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
		if (m < 0)
			return NULL;
		if (cp >= 0x10000 || !(keeps[cp >> 3] & (1u << (cp & 7))))
			break;
	}
	if (i == n)
		return NULL;
	m = utf8proc_map(p, (utf8proc_ssize_t)n, &out,
		UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (m < 0)
		return NULL;
	*len = (size_t)m;
	return (char *)out;
}

int
sg_among(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}
