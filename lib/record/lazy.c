/*
 * lazy.c - a record read for the fields a stage needs.  One pass over the
 * line checks all of it as JSON, but only the fields named become json_t
 * values; the rest stay bytes, for sg_splice.  Building every object and
 * hashtable of a record costs jansson more than the walk does.  The pass
 * accepts only what jansson accepts too (with JSON_REJECT_DUPLICATES) and
 * gives up on whatever it is unsure of (an escaped key, deep nesting, a
 * number near the limits, ...): jansson then reads the line whole and
 * says what is wrong with it, if anything.  fuzz/lazy.c holds it to that.
 */
#include <string.h>

#include "record/record-internal.h"

#define MAXDEPTH 32 /* jansson's is 2048 */
#define MAXKEYS 64  /* of one object, compared pairwise for duplicates */
#define MAXPATHS 32

struct scan {
	const char *p, *end;
	int esc;  /* the last string had an escape */
	int real; /* the last number was not an integer of up to 18 digits */
};

static void
skip_ws(struct scan *z)
{
	while (z->p < z->end && (*z->p == ' ' || *z->p == '\t' ||
					*z->p == '\n' || *z->p == '\r'))
		z->p++;
}

static int
digit(int c)
{
	return c >= '0' && c <= '9';
}

/* The four hex digits at p, or -1. */
static long
hex4(const unsigned char *p, const unsigned char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int c = p[i];

		if (digit(c))
			v = v << 4 | (c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v << 4 | ((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	return v;
}

/* The length of the escape at p (its backslash), 0 when jansson would
 * refuse it: \u0000 (without JSON_ALLOW_NUL) or a lone surrogate. */
static size_t
escape_len(const unsigned char *p, const unsigned char *end)
{
	long u, lo;

	if (end - p < 2)
		return 0;
	if (p[1] && strchr("\"\\/bfnrt", p[1]))
		return 2;
	if (p[1] != 'u' || (u = hex4(p + 2, end)) <= 0)
		return 0;
	if (u < 0xD800 || u > 0xDFFF)
		return 6;
	if (u > 0xDBFF || end - p < 12 || p[6] != '\\' || p[7] != 'u')
		return 0;
	lo = hex4(p + 8, end);
	return lo >= 0xDC00 && lo <= 0xDFFF ? 12 : 0;
}

/* Whether none of the 8 bytes at p ends or escapes a string, is a
 * control byte or starts a UTF-8 sequence: a string's text is mostly
 * such bytes, tested a word at a time (each test, of one byte value or
 * one bound, true of a word exactly when true of one of its bytes). */
static int
plain8(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;
	uint64_t x, quote, slash;

	memcpy(&x, p, sizeof x);
	quote = x ^ ones * '"';
	slash = x ^ ones * '\\';
	return !(((x - ones * 0x20) & ~x & high) |
		 ((quote - ones) & ~quote & high) |
		 ((slash - ones) & ~slash & high) | (x & high));
}

static int
string(struct scan *z)
{
	const unsigned char *p = (const unsigned char *)z->p + 1;
	const unsigned char *end = (const unsigned char *)z->end;
	size_t n;

	z->esc = 0;
	for (;;) {
		while (end - p >= 8 && plain8(p))
			p += 8;
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' &&
			*p != '\\')
			p++;
		if (p == end || *p < 0x20)
			return -1;
		if (*p == '"')
			break;
		if (*p == '\\') {
			n = escape_len(p, end);
			z->esc = 1;
		} else {
			n = sg_utf8_len(p, (size_t)(end - p));
		}
		if (n == 0)
			return -1;
		p += n;
	}
	z->p = (const char *)p + 1;
	return 0;
}

/* A number by JSON's grammar, and only one jansson stores without
 * complaint: an integer of up to 18 digits, or a real well short of
 * overflowing a double. */
static int
number(struct scan *z)
{
	const char *p = z->p, *end = z->end;
	int digits = 0, exp = 0, expdigits = 0, expneg = 0;

	z->real = 0;
	if (p < end && *p == '-')
		p++;
	if (p == end || !digit(*p))
		return -1;
	if (*p == '0')
		p++;
	else
		while (p < end && digit(*p))
			p++, digits++;
	if (p < end && *p == '.') {
		z->real = 1;
		if (++p == end || !digit(*p))
			return -1;
		while (p < end && digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		z->real = 1;
		if (++p < end && (*p == '+' || *p == '-'))
			expneg = *p++ == '-';
		if (p == end || !digit(*p))
			return -1;
		for (; p < end && digit(*p); p++)
			if (++expdigits > 3)
				return -1;
			else
				exp = 10 * exp + (*p - '0');
	}
	if ((!z->real && digits > 18) || digits + (expneg ? 0 : exp) > 300)
		return -1;
	z->p = p;
	return 0;
}

static int
word(struct scan *z, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(z->end - z->p) < n || memcmp(z->p, w, n) != 0)
		return -1;
	z->p += n;
	return 0;
}

/* The json_t of the value just scanned, from start to z->p: the cheap
 * ones made here, the rest by jansson from their bytes. */
static json_t *
decode(const struct scan *z, const char *start)
{
	json_error_t je;
	long long v = 0;
	const char *p = start;

	switch (*start) {
	case '"':
		if (!z->esc)
			return json_stringn_nocheck(
				start + 1, (size_t)(z->p - start) - 2);
		break;
	case 't':
		return json_true();
	case 'f':
		return json_false();
	case 'n':
		return json_null();
	case '{':
	case '[':
		break;
	default:
		if (z->real)
			break;
		for (p += *p == '-'; p < z->p; p++)
			v = 10 * v + (*p - '0');
		return json_integer(*start == '-' ? -v : v);
	}
	return json_loadb(start, (size_t)(z->p - start),
		JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
}

static int value(struct scan *z, int depth, const char *const paths[],
	int npaths, json_t **out);

/* Which of paths go on into the member key (klen bytes): *whole when
 * one names it, else the rest of those that go below it, in sub.  A key
 * with a dot is named by "*" alone. */
static int
select_paths(const char *const paths[], int npaths, const char *key,
	size_t klen, const char *sub[], int *whole)
{
	const char *rest;
	int nsub = 0;

	*whole = 0;
	for (int i = 0; i < npaths; i++) {
		if (paths[i][0] == '*' &&
			(paths[i][1] == '.' || paths[i][1] == '\0'))
			rest = paths[i] + 1;
		else if ((klen == 0 || paths[i][0] == key[0]) &&
			 strncmp(paths[i], key, klen) == 0 &&
			 (paths[i][klen] == '.' || paths[i][klen] == '\0') &&
			 !memchr(key, '.', klen))
			rest = paths[i] + klen;
		else
			continue;
		if (*rest == '\0')
			*whole = 1;
		else
			sub[nsub++] = rest + 1;
	}
	return *whole ? 0 : nsub;
}

/* The object at z->p; into *out (unless out is NULL) only the members
 * paths name. */
static int
object(struct scan *z, int depth, const char *const paths[], int npaths,
	json_t **out)
{
	struct {
		const char *s;
		size_t n;
	} keys[MAXKEYS];
	const char *sub[MAXPATHS], *key;
	json_t *obj = out ? json_object() : NULL, *v;
	int nkeys = 0, nsub, whole;
	size_t klen;

	if (depth >= MAXDEPTH)
		goto unsure;
	z->p++;
	skip_ws(z);
	if (z->p < z->end && *z->p == '}') {
		z->p++;
		goto done;
	}
	for (;;) {
		if (z->p == z->end || *z->p != '"' || nkeys == MAXKEYS)
			goto unsure;
		key = z->p + 1;
		if (string(z) < 0 || z->esc)
			goto unsure;
		klen = (size_t)(z->p - key) - 1;
		for (int i = 0; i < nkeys; i++)
			if (keys[i].n == klen &&
				memcmp(keys[i].s, key, klen) == 0)
				goto unsure;
		keys[nkeys].s = key;
		keys[nkeys++].n = klen;
		skip_ws(z);
		if (z->p == z->end || *z->p != ':')
			goto unsure;
		z->p++;
		skip_ws(z);
		nsub = obj ? select_paths(paths, npaths, key, klen, sub, &whole)
			   : (whole = 0);
		v = NULL;
		if (value(z, depth + 1, sub, nsub, whole || nsub ? &v : NULL) <
			0)
			goto unsure;
		if (v && json_object_setn_new_nocheck(obj, key, klen, v) < 0)
			goto unsure;
		skip_ws(z);
		if (z->p < z->end && *z->p == '}') {
			z->p++;
			break;
		}
		if (z->p == z->end || *z->p != ',')
			goto unsure;
		z->p++;
		skip_ws(z);
	}
done:
	if (out)
		*out = obj;
	return 0;
unsure:
	json_decref(obj);
	return -1;
}

static int
array(struct scan *z, int depth)
{
	if (depth >= MAXDEPTH)
		return -1;
	z->p++;
	skip_ws(z);
	if (z->p < z->end && *z->p == ']') {
		z->p++;
		return 0;
	}
	for (;;) {
		if (value(z, depth + 1, NULL, 0, NULL) < 0)
			return -1;
		skip_ws(z);
		if (z->p < z->end && *z->p == ']') {
			z->p++;
			return 0;
		}
		if (z->p == z->end || *z->p != ',')
			return -1;
		z->p++;
		skip_ws(z);
	}
}

/* Past the value at z->p.  With out, its json_t too: whole when npaths
 * is 0, else an object of only the members paths name (when it is an
 * object: any other value is whole). */
static int
value(struct scan *z, int depth, const char *const paths[], int npaths,
	json_t **out)
{
	const char *start = z->p;
	int r;

	if (z->p == z->end)
		return -1;
	switch (*z->p) {
	case '{':
		if (out && npaths > 0)
			return object(z, depth, paths, npaths, out);
		r = object(z, depth, NULL, 0, NULL);
		break;
	case '[':
		r = array(z, depth);
		break;
	case '"':
		r = string(z);
		break;
	case 't':
		r = word(z, "true");
		break;
	case 'f':
		r = word(z, "false");
		break;
	case 'n':
		r = word(z, "null");
		break;
	default:
		r = number(z);
	}
	if (r < 0 || !out)
		return r;
	return (*out = decode(z, start)) ? 0 : -1;
}

json_t *
sg_lazy_load(const char *line, size_t len, const char *const paths[])
{
	struct scan z = {line, line + len, 0, 0};
	json_t *rec = NULL;
	int npaths = 0;

	while (paths[npaths])
		if (++npaths > MAXPATHS)
			return NULL;
	skip_ws(&z);
	if (z.p == z.end || *z.p != '{' ||
		object(&z, 0, paths, npaths, &rec) < 0)
		return NULL;
	skip_ws(&z);
	if (z.p != z.end) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}
