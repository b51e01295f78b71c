/*
 * schema.c - the JSON Schema draft 2020-12 keywords recipes use: type,
 * enum, const, the numeric and length bounds, pattern, required,
 * properties, additionalProperties, items, the item and property counts,
 * allOf, anyOf, oneOf and not.  Other keywords are ignored, as the
 * specification asks of unknown ones; $ref is refused, since a schema that
 * relies on it would be checked only in part.
 *
 * Patterns are ECMA-262 regular expressions.  The common subset is
 * translated to a POSIX extended regular expression and compiled with
 * regcomp(3) under a UTF-8 locale, so "." and bracket expressions match
 * code points; what cannot be translated is refused, never approximated.
 */
#include <locale.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "recipe/recipe.h"

/* The longest excerpt of a value quoted in a message. */
#define SHOW_MAX 40
/* Wider non-ASCII ranges than this in a bracket expression are refused:
 * glibc's C.UTF-8 cannot compile them, so they are spelled out. */
#define RANGE_MAX 1024
#define CACHE_MAX 256
#define NBUCKETS 64

/* A place in a document: a chain of segments from the root (NULL), kept on
 * the stack and spelled out as a JSON pointer only for a message. */
struct at {
	const struct at *up;
	const char *key; /* NULL for an array index */
	size_t idx;
};

static void
spell(const struct at *at, char *out, size_t size)
{
	size_t n;

	if (!at)
		return;
	spell(at->up, out, size);
	n = strlen(out);
	if (!at->key) {
		snprintf(out + n, size - n, "/%zu", at->idx);
		return;
	}
	if (n + 1 < size)
		out[n++] = '/';
	/* RFC 6901 escapes */
	for (const char *k = at->key; *k && n + 2 < size; k++) {
		if (*k == '~' || *k == '/') {
			out[n++] = '~';
			out[n++] = *k == '~' ? '0' : '1';
		} else {
			out[n++] = *k;
		}
	}
	out[n] = '\0';
}

static int fail(struct sg_error *e, const struct at *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "pointer: message", always -1. */
static int
fail(struct sg_error *e, const struct at *at, const char *fmt, ...)
{
	char ptr[256] = "", msg[sizeof e->text];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	spell(at, ptr, sizeof ptr);
	sg_seterr(e, "%s: %s", *ptr ? ptr : "/", msg);
	return -1;
}

/* A value as compact JSON, cut short at a character boundary. */
static void
show(const json_t *v, char out[SHOW_MAX + 8])
{
	char *s = json_dumps(
		v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
	size_t n;

	if (!s) {
		strcpy(out, "?");
		return;
	}
	n = strlen(s);
	if (n > SHOW_MAX) {
		n = SHOW_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		memcpy(out, s, n);
		strcpy(out + n, "...");
	} else {
		memcpy(out, s, n + 1);
	}
	free(s);
}

/* -- ECMA-262 patterns as POSIX extended regular expressions -- */

struct item {
	enum { CHAR, RANGE, CLASS } kind;
	unsigned lo, hi;
	const char *cls; /* CLASS: text to put inside brackets */
};

/* \d \D \w \W \s \S outside brackets and, the positive ones, inside */
static const char classes[] = "dDwWsS";
static const char *const class_out[] = {"[0-9]", "[^0-9]", "[A-Za-z0-9_]",
	"[^A-Za-z0-9_]", "[[:space:]]", "[^[:space:]]"};
static const char *const class_in[] = {
	"0-9", NULL, "A-Za-z0-9_", NULL, "[:space:]", NULL};

struct atom {
	enum { A_CHAR, A_CLASS, A_ANCHOR } kind;
	unsigned cp;
	char c; /* A_CLASS: d D w W s S; A_ANCHOR: b B */
};

static unsigned
hexval(const char *s, int n)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (unsigned)(c - 'A' + 10);
		else
			return ~0u;
	}
	return v;
}

/* The code point at *s, advancing; invalid bytes stand for themselves. */
static unsigned
decode(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	unsigned cp;
	int n;

	if (p[0] < 0x80 || p[0] < 0xC2 || p[0] > 0xF4) {
		(*s)++;
		return p[0];
	}
	n = p[0] >= 0xF0 ? 3 : p[0] >= 0xE0 ? 2 : 1;
	cp = p[0] & (0x3F >> n);
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			(*s)++;
			return p[0];
		}
		cp = cp << 6 | (p[i] & 0x3F);
	}
	*s += n + 1;
	return cp;
}

static void
put_cp(FILE *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	fwrite(u, 1, n, b);
}

/* The escape after a backslash at *s, advancing past it. */
static int
escape(const char **s, int inbracket, struct atom *a, struct sg_error *e)
{
	static const char ctl[] = "n\nt\tr\rf\fv\vb\b";
	const char *p = *s, *q;
	unsigned cp = 0, lo;
	char c = *p++;

	a->kind = A_CHAR;
	if (c == '\0') {
		sg_seterr(e, "pattern ends with a backslash");
		return -1;
	} else if (strchr("dDwWsS", c)) {
		a->kind = A_CLASS;
	} else if ((c == 'b' || c == 'B') && !inbracket) {
		a->kind = A_ANCHOR;
	} else if ((q = strchr(ctl, c)) && (q - ctl) % 2 == 0) {
		cp = (unsigned char)q[1];
	} else if (c == 'x') {
		if ((cp = hexval(p, 2)) == ~0u)
			goto bad;
		p += 2;
	} else if (c == 'u' && *p == '{') {
		if (!(q = strchr(p, '}')) || q - p < 2 || q - p > 7 ||
			(cp = hexval(p + 1, (int)(q - p - 1))) > 0x10FFFF)
			goto bad;
		p = q + 1;
	} else if (c == 'u') {
		if ((cp = hexval(p, 4)) == ~0u)
			goto bad;
		p += 4;
		/* a surrogate pair written as two escapes */
		if (cp >= 0xD800 && cp < 0xDC00 && p[0] == '\\' &&
			p[1] == 'u' && (lo = hexval(p + 2, 4)) >= 0xDC00 &&
			lo < 0xE000) {
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			p += 6;
		}
	} else if (c >= '1' && c <= '9') {
		sg_seterr(e, "backreferences are not supported");
		return -1;
	} else if (c == '_' || (c >= '0' && c <= '9') ||
		   (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
		sg_seterr(e, "escape \\%c is not supported", c);
		return -1;
	} else {
		p--;
		cp = decode(&p);
	}
	if (a->kind == A_CHAR && cp == 0) {
		sg_seterr(e, "NUL characters are not supported");
		return -1;
	}
	a->c = c;
	a->cp = cp;
	*s = p;
	return 0;
bad:
	sg_seterr(e, "malformed escape \\%c", c);
	return -1;
}

/* A character inside brackets: the four that are special there are
 * written as collating symbols, which glibc accepts anywhere. */
static void
put_member(FILE *b, unsigned cp)
{
	if (cp == ']' || cp == '-' || cp == '[' || cp == '^')
		fprintf(b, "[.%c.]", (char)cp);
	else
		put_cp(b, cp);
}

static int
bracket_atom(const char **s, struct item *it, struct sg_error *e)
{
	struct atom a;

	if (**s != '\\') {
		it->kind = CHAR;
		it->lo = decode(s);
		return 0;
	}
	(*s)++;
	if (escape(s, 1, &a, e) < 0)
		return -1;
	if (a.kind == A_CHAR) {
		it->kind = CHAR;
		it->lo = a.cp;
		return 0;
	}
	it->kind = CLASS;
	if (!(it->cls = class_in[strchr(classes, a.c) - classes])) {
		sg_seterr(e, "\\%c inside brackets is not supported", a.c);
		return -1;
	}
	return 0;
}

static int
put_item(FILE *b, const struct item *it, struct sg_error *e)
{
	switch (it->kind) {
	case CHAR:
		put_member(b, it->lo);
		break;
	case CLASS:
		fputs(it->cls, b);
		break;
	case RANGE:
		if (it->hi < 0x80) {
			put_member(b, it->lo);
			fputc('-', b);
			put_member(b, it->hi);
			break;
		}
		if (it->hi - it->lo >= RANGE_MAX) {
			sg_seterr(e,
				"ranges of more than %d non-ASCII "
				"characters are not supported",
				RANGE_MAX);
			return -1;
		}
		for (unsigned cp = it->lo; cp <= it->hi; cp++)
			put_member(b, cp);
		break;
	}
	return 0;
}

/* [...] at *s (past the '['), advancing past the ']'. */
static int
bracket(const char **s, FILE *b, struct sg_error *e)
{
	struct item it, hi;
	const char *p = *s;

	fputc('[', b);
	if (*p == '^')
		fputc('^', b), p++;
	if (*p == ']') {
		sg_seterr(e, "empty brackets are not supported");
		return -1;
	}
	while (*p != ']') {
		if (!*p) {
			sg_seterr(e, "unterminated brackets");
			return -1;
		}
		if (bracket_atom(&p, &it, e) < 0)
			return -1;
		if (it.kind == CHAR && p[0] == '-' && p[1] && p[1] != ']') {
			p++;
			if (bracket_atom(&p, &hi, e) < 0)
				return -1;
			if (hi.kind == CHAR) {
				if (hi.lo < it.lo) {
					sg_seterr(e, "range out of order");
					return -1;
				}
				it.kind = RANGE;
				it.hi = hi.lo;
			} else {
				put_member(b, it.lo);
				it = hi;
				put_member(b, '-');
			}
		}
		if (put_item(b, &it, e) < 0)
			return -1;
	}
	fputc(']', b);
	*s = p + 1;
	return 0;
}

/* {n}, {n,} or {n,m} at s: its length, or 0 when s is a literal '{'. */
static size_t
interval(const char *s)
{
	const char *p = s + 1;

	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == ',') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '}' ? (size_t)(p + 1 - s) : 0;
}

static int
group(const char **s, FILE *b, struct sg_error *e)
{
	const char *p = *s;

	if (*p == '?') {
		if (p[1] == ':') {
			p += 2;
		} else if (p[1] == '<' && p[2] != '=' && p[2] != '!') {
			p = strchr(p, '>');
			if (!p) {
				sg_seterr(e, "unterminated group name");
				return -1;
			}
			p++;
		} else {
			sg_seterr(e, "lookaround and (?...) groups are not "
				     "supported");
			return -1;
		}
	}
	fputc('(', b);
	*s = p;
	return 0;
}

/* The ERE for an ECMA-262 pattern, malloc'd, or NULL and e. */
static char *
ecma_to_ere(const char *pat, struct sg_error *e)
{
	const char *p = pat;
	char *ere = NULL;
	struct atom a;
	size_t n;
	FILE *b = open_memstream(&ere, &n);

	if (!b) {
		sg_seterr(e, "out of memory");
		return NULL;
	}
	while (*p) {
		char c = *p++;

		switch (c) {
		case '(':
			if (group(&p, b, e) < 0)
				goto fail;
			continue;
		case '[':
			if (bracket(&p, b, e) < 0)
				goto fail;
			continue;
		case '.':
			fputs("[^\n\r]", b);
			continue;
		case ')':
		case '|':
		case '^':
		case '$':
			fputc(c, b);
			continue;
		case '*':
		case '+':
		case '?':
			fputc(c, b);
			break;
		case '{':
			if ((n = interval(p - 1)) == 0) {
				fputs("\\{", b);
				continue;
			}
			fwrite(p - 1, 1, n, b);
			p += n - 1;
			break;
		case '\\':
			if (escape(&p, 0, &a, e) < 0)
				goto fail;
			if (a.kind == A_CLASS)
				fputs(class_out[strchr(classes, a.c) - classes],
					b);
			else if (a.kind == A_ANCHOR)
				fputs(a.c == 'b' ? "\\b" : "\\B", b);
			else if (a.cp < 0x80 &&
				 strchr("^.[$()|*+?{\\", (int)a.cp))
				fputc('\\', b), put_cp(b, a.cp);
			else
				put_cp(b, a.cp);
			continue;
		default:
			p--;
			put_cp(b, decode(&p));
			continue;
		}
		/* a lazy quantifier matches wherever the greedy one does */
		if (*p == '?')
			p++;
	}
	if (fclose(b) == EOF) {
		sg_seterr(e, "out of memory");
		free(ere);
		return NULL;
	}
	return ere;
fail:
	fclose(b);
	free(ere);
	return NULL;
}

/* Compiled patterns by their text: recipes repeat one schema per job, and
 * the text, unlike a node's address, cannot be reused for another one. */
struct cached {
	char *pattern;
	regex_t re;
	struct cached *next;
};

static struct cached *cache[NBUCKETS];
static size_t ncached;
static locale_t utf8;
static int utf8_tried;

static locale_t
enter_utf8(void)
{
	if (!utf8_tried) {
		utf8_tried = 1;
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	return utf8 ? uselocale(utf8) : (locale_t)0;
}

static void
leave_utf8(locale_t old)
{
	if (old)
		uselocale(old);
}

static void
cache_clear(void)
{
	for (size_t i = 0; i < NBUCKETS; i++) {
		while (cache[i]) {
			struct cached *c = cache[i];

			cache[i] = c->next;
			regfree(&c->re);
			free(c->pattern);
			free(c);
		}
	}
	ncached = 0;
}

static const regex_t *
regex_get(const char *pattern, struct sg_error *e)
{
	size_t h = sg_hash64(pattern, strlen(pattern)) % NBUCKETS;
	struct cached *c;
	locale_t old;
	char *ere, msg[200];
	int rc;

	for (c = cache[h]; c; c = c->next)
		if (strcmp(c->pattern, pattern) == 0)
			return &c->re;
	if (!(ere = ecma_to_ere(pattern, e)))
		return NULL;
	if (ncached >= CACHE_MAX)
		cache_clear();
	c = sg_xmalloc(sizeof *c);
	old = enter_utf8();
	rc = regcomp(&c->re, ere, REG_EXTENDED | REG_NOSUB);
	leave_utf8(old);
	free(ere);
	if (rc != 0) {
		regerror(rc, &c->re, msg, sizeof msg);
		sg_seterr(e, "%s", msg);
		free(c);
		return NULL;
	}
	c->pattern = sg_xstrdup(pattern);
	c->next = cache[h];
	cache[h] = c;
	ncached++;
	return &c->re;
}

/* Matches anywhere in the string, NUL bytes included. */
static int
regex_match(const regex_t *re, const char *s, size_t len)
{
	regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)len};
	locale_t old = enter_utf8();
	int rc = regexec(re, s, 1, &m, REG_STARTEND);

	leave_utf8(old);
	return rc == 0;
}

/* -- checking a schema -- */

static const char *const types[] = {
	"null", "boolean", "object", "array", "number", "string", "integer"};

static int
is_type_name(const json_t *v)
{
	const char *s = json_string_value(v);

	for (size_t i = 0; s && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(s, types[i]) == 0)
			return 1;
	return 0;
}

static int
is_count(const json_t *v)
{
	double d;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0;
	d = json_real_value(v);
	return json_is_real(v) && d >= 0 && d == floor(d);
}

static int check(const json_t *s, const struct at *at, struct sg_error *e);

/* The schemas of kw, a non-empty array of them when present. */
static int
check_list(const json_t *s, const char *kw, const struct at *at,
	struct sg_error *e)
{
	json_t *v = json_object_get(s, kw), *sub;
	struct at list = {at, kw, 0}, item = {&list, NULL, 0};

	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(e, at,
			"\"%s\" must be a non-empty array of schemas", kw);
	json_array_foreach (v, item.idx, sub) {
		if (check(sub, &item, e) < 0)
			return -1;
	}
	return 0;
}

static int
check_type(const json_t *v, const struct at *at, struct sg_error *e)
{
	json_t *t;
	size_t i;

	if (json_is_string(v) && !is_type_name(v))
		return fail(e, at, "\"type\" names an unknown type \"%s\"",
			json_string_value(v));
	if (json_is_string(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		goto bad;
	json_array_foreach (v, i, t) {
		if (!is_type_name(t))
			goto bad;
	}
	return 0;
bad:
	return fail(e, at, "\"type\" must be a type name or an array of them");
}

/* The keywords whose values are counts, numbers, or single schemas. */
static const char *const counts[] = {"minLength", "maxLength", "minItems",
	"maxItems", "minProperties", "maxProperties"};
static const char *const bounds[] = {
	"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
static const char *const subs[] = {"items", "additionalProperties", "not"};

static int
check_values(const json_t *s, const struct at *at, struct sg_error *e)
{
	struct sg_error re;
	json_t *v, *sub;
	size_t i;

	for (i = 0; i < sizeof counts / sizeof counts[0]; i++)
		if ((v = json_object_get(s, counts[i])) && !is_count(v))
			return fail(e, at,
				"\"%s\" must be a non-negative integer",
				counts[i]);
	for (i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
		if ((v = json_object_get(s, bounds[i])) && !json_is_number(v))
			return fail(
				e, at, "\"%s\" must be a number", bounds[i]);
	if ((v = json_object_get(s, "required"))) {
		if (!json_is_array(v))
			goto notstrings;
		json_array_foreach (v, i, sub) {
			if (!json_is_string(sub))
				goto notstrings;
		}
	}
	if ((v = json_object_get(s, "enum")) && !json_is_array(v))
		return fail(e, at, "\"enum\" must be an array");
	if ((v = json_object_get(s, "pattern")) && !json_is_string(v))
		return fail(e, at, "\"pattern\" must be a string");
	if (v && !regex_get(json_string_value(v), &re))
		return fail(e, at, "pattern \"%s\": %s", json_string_value(v),
			re.text);
	return 0;
notstrings:
	return fail(e, at, "\"required\" must be an array of strings");
}

static int
check(const json_t *s, const struct at *at, struct sg_error *e)
{
	struct at props = {at, "properties", 0}, sub = {&props, NULL, 0};
	json_t *v, *kid;

	if (json_is_boolean(s))
		return 0;
	if (!json_is_object(s))
		return fail(e, at, "a schema must be an object or a boolean");
	if (json_object_get(s, "$ref") || json_object_get(s, "$dynamicRef"))
		return fail(e, at, "\"$ref\" is not supported");
	if ((v = json_object_get(s, "type")) && check_type(v, at, e) < 0)
		return -1;
	if (check_values(s, at, e) < 0)
		return -1;
	if ((v = json_object_get(s, "properties")) && !json_is_object(v))
		return fail(e, at, "\"properties\" must be an object");
	json_object_foreach (v, sub.key, kid) {
		if (check(kid, &sub, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		sub = (struct at){at, subs[i], 0};
		v = json_object_get(s, subs[i]);
		if (v && !json_is_object(v) && !json_is_boolean(v))
			return fail(e, at, "\"%s\" must be a schema", subs[i]);
		if (v && check(v, &sub, e) < 0)
			return -1;
	}
	if (check_list(s, "allOf", at, e) < 0 ||
		check_list(s, "anyOf", at, e) < 0 ||
		check_list(s, "oneOf", at, e) < 0)
		return -1;
	return 0;
}

int
sg_schema_check(const json_t *schema, struct sg_error *e)
{
	return check(schema, NULL, e);
}

int
sg_pattern_check(const char *pattern, struct sg_error *e)
{
	return regex_get(pattern, e) ? 0 : -1;
}

/* -- validating an instance -- */

static int
is_integral(const json_t *v)
{
	double d = json_real_value(v);

	return json_is_integer(v) ||
	       (json_is_real(v) && isfinite(d) && d == floor(d));
}

static int
has_type(const json_t *v, const char *type)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
		return strcmp(type, "null") == 0;
	case JSON_TRUE:
	case JSON_FALSE:
		return strcmp(type, "boolean") == 0;
	case JSON_OBJECT:
		return strcmp(type, "object") == 0;
	case JSON_ARRAY:
		return strcmp(type, "array") == 0;
	case JSON_STRING:
		return strcmp(type, "string") == 0;
	case JSON_INTEGER:
	case JSON_REAL:
		return strcmp(type, "number") == 0 ||
		       (strcmp(type, "integer") == 0 && is_integral(v));
	}
	return 0;
}

static int
num_cmp(const json_t *a, const json_t *b)
{
	double x, y;

	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t i = json_integer_value(a), j = json_integer_value(b);

		return (i > j) - (i < j);
	}
	x = json_number_value(a);
	y = json_number_value(b);
	return (x > y) - (x < y);
}

/* Equality as JSON Schema defines it: 1 and 1.0 are the same number. */
static int
equal(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return num_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b),
			       json_string_length(a)) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		json_array_foreach (a, i, v) {
			if (!equal(v, json_array_get(b, i)))
				return 0;
		}
		return 1;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach ((json_t *)a, key, v) {
			json_t *w = json_object_get(b, key);

			if (!w || !equal(v, w))
				return 0;
		}
		return 1;
	default:
		return 1;
	}
}

static int validate(const json_t *s, const json_t *v, const struct at *at,
	struct sg_error *e);

static int
validate_type(const json_t *t, const json_t *v, const struct at *at,
	struct sg_error *e)
{
	char shown[SHOW_MAX + 8], names[200] = "";
	json_t *name;
	size_t i;

	if (json_is_string(t)) {
		if (has_type(v, json_string_value(t)))
			return 0;
		snprintf(names, sizeof names, "\"%s\"", json_string_value(t));
	} else if (json_is_array(t)) {
		json_array_foreach (t, i, name) {
			const char *n = json_string_value(name);
			size_t len = strlen(names);

			if (n && has_type(v, n))
				return 0;
			snprintf(names + len, sizeof names - len, "%s\"%s\"",
				i ? " or " : "", n ? n : "?");
		}
	} else {
		return 0;
	}
	show(v, shown);
	return fail(e, at, "%s is not of type %s", shown, names);
}

static int
validate_number(const json_t *s, const json_t *v, const struct at *at,
	struct sg_error *e)
{
	static const struct {
		const char *kw, *what;
		int bad1, bad2;
	} rules[] = {
		{"minimum", "less than minimum", -1, -1},
		{"maximum", "greater than maximum", 1, 1},
		{"exclusiveMinimum", "not greater than exclusiveMinimum", -1,
			0},
		{"exclusiveMaximum", "not less than exclusiveMaximum", 1, 0},
	};
	char shown[SHOW_MAX + 8], lim[SHOW_MAX + 8];

	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		json_t *b = json_object_get(s, rules[i].kw);
		int c;

		if (!json_is_number(b))
			continue;
		c = num_cmp(v, b);
		if (c == rules[i].bad1 || c == rules[i].bad2) {
			show(v, shown);
			show(b, lim);
			return fail(e, at, "%s is %s %s", shown, rules[i].what,
				lim);
		}
	}
	return 0;
}

/* minLength and its kin: a size against its two bounds. */
static int
validate_size(const json_t *s, size_t n, const char *what, const char *min,
	const char *max, const struct at *at, struct sg_error *e)
{
	json_t *lo = json_object_get(s, min), *hi = json_object_get(s, max);

	if (json_is_number(lo) && (double)n < json_number_value(lo))
		return fail(e, at, "%s %zu is less than %s %.0f", what, n, min,
			json_number_value(lo));
	if (json_is_number(hi) && (double)n > json_number_value(hi))
		return fail(e, at, "%s %zu is greater than %s %.0f", what, n,
			max, json_number_value(hi));
	return 0;
}

static int
validate_string(const json_t *s, const json_t *v, const struct at *at,
	struct sg_error *e)
{
	char shown[SHOW_MAX + 8];
	const regex_t *re;
	const char *pat;
	struct sg_error re_err;

	if (validate_size(s,
		    sg_codepoints(json_string_value(v), json_string_length(v)),
		    "length", "minLength", "maxLength", at, e) < 0)
		return -1;
	if (!(pat = json_string_value(json_object_get(s, "pattern"))))
		return 0;
	if (!(re = regex_get(pat, &re_err)))
		return fail(e, at, "pattern \"%s\" is unusable: %s", pat,
			re_err.text);
	if (regex_match(re, json_string_value(v), json_string_length(v)))
		return 0;
	show(v, shown);
	return fail(e, at, "%s does not match pattern \"%s\"", shown, pat);
}

static int
validate_array(const json_t *s, const json_t *v, const struct at *at,
	struct sg_error *e)
{
	json_t *items = json_object_get(s, "items"), *item;
	struct at sub = {at, NULL, 0};

	if (validate_size(s, json_array_size(v), "size", "minItems", "maxItems",
		    at, e) < 0)
		return -1;
	if (!items)
		return 0;
	json_array_foreach (v, sub.idx, item) {
		if (validate(items, item, &sub, e) < 0)
			return -1;
	}
	return 0;
}

static int
validate_object(const json_t *s, const json_t *v, const struct at *at,
	struct sg_error *e)
{
	json_t *req = json_object_get(s, "required"), *props, *extra, *val;
	const char *key;
	size_t i;

	json_array_foreach (req, i, val) {
		key = json_string_value(val);
		if (key && !json_object_get(v, key))
			return fail(
				e, at, "missing required property \"%s\"", key);
	}
	props = json_object_get(s, "properties");
	extra = json_object_get(s, "additionalProperties");
	json_object_foreach ((json_t *)v, key, val) {
		json_t *sub = json_object_get(props, key);

		if (!sub && json_is_false(extra))
			return fail(e, at,
				"additional property \"%s\" is not allowed",
				key);
		if (!sub)
			sub = extra;
		if (sub && validate(sub, val, &(struct at){at, key, 0}, e) < 0)
			return -1;
	}
	return validate_size(s, json_object_size(v), "size", "minProperties",
		"maxProperties", at, e);
}

/* How many schemas of the list v matches; stops counting at stop. */
static size_t
matches(const json_t *list, const json_t *v, const struct at *at, size_t stop)
{
	struct sg_error ignored;
	size_t n = 0, i;
	json_t *sub;

	json_array_foreach (list, i, sub) {
		if (validate(sub, v, at, &ignored) == 0 && ++n == stop)
			break;
	}
	return n;
}

static int
validate_logic(const json_t *s, const json_t *v, const struct at *at,
	struct sg_error *e)
{
	char shown[SHOW_MAX + 8];
	struct sg_error ignored;
	json_t *list, *sub;
	size_t i, n;

	json_array_foreach (json_object_get(s, "allOf"), i, sub) {
		if (validate(sub, v, at, e) < 0)
			return -1;
	}
	list = json_object_get(s, "anyOf");
	if (json_is_array(list) && matches(list, v, at, 1) == 0) {
		show(v, shown);
		return fail(
			e, at, "%s does not match any schema in anyOf", shown);
	}
	list = json_object_get(s, "oneOf");
	if (json_is_array(list) && (n = matches(list, v, at, 2)) != 1) {
		show(v, shown);
		return fail(e, at,
			n ? "%s matches more than one schema in oneOf"
			  : "%s does not match any schema in oneOf",
			shown);
	}
	sub = json_object_get(s, "not");
	if (sub && validate(sub, v, at, &ignored) == 0) {
		show(v, shown);
		return fail(e, at, "%s matches the schema in not", shown);
	}
	return 0;
}

static int
validate(const json_t *s, const json_t *v, const struct at *at,
	struct sg_error *e)
{
	char shown[SHOW_MAX + 8], allowed[SHOW_MAX + 8];
	json_t *k, *x;
	size_t i;

	if (json_is_true(s))
		return 0;
	if (json_is_false(s)) {
		show(v, shown);
		return fail(e, at, "%s is not allowed by schema false", shown);
	}
	if (!json_is_object(s))
		return 0;
	if ((k = json_object_get(s, "type")) && validate_type(k, v, at, e) < 0)
		return -1;
	if ((k = json_object_get(s, "const")) && !equal(k, v)) {
		show(v, shown);
		show(k, allowed);
		return fail(
			e, at, "%s is not equal to const %s", shown, allowed);
	}
	if (json_is_array(k = json_object_get(s, "enum"))) {
		json_array_foreach (k, i, x) {
			if (equal(x, v))
				break;
		}
		if (i == json_array_size(k)) {
			show(v, shown);
			show(k, allowed);
			return fail(
				e, at, "%s is not one of %s", shown, allowed);
		}
	}
	if ((json_is_number(v) && validate_number(s, v, at, e) < 0) ||
		(json_is_string(v) && validate_string(s, v, at, e) < 0) ||
		(json_is_array(v) && validate_array(s, v, at, e) < 0) ||
		(json_is_object(v) && validate_object(s, v, at, e) < 0))
		return -1;
	return validate_logic(s, v, at, e);
}

int
sg_schema_validate(
	const json_t *schema, const json_t *instance, struct sg_error *e)
{
	return validate(schema, instance, NULL, e);
}
