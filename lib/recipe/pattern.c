/*
 * pattern.c - recipe patterns: ECMA-262 regular expressions, as JSON
 * Schema's "pattern" takes them, compiled and matched by PCRE2 under
 * limits, so that no pattern and no text can take more than a bounded time
 * and memory.  PCRE2's options give most of ECMA-262 (\u escapes, empty
 * brackets, $ only at the end, unset backreferences matching empty); the
 * little they do not is rewritten before compiling, and what PCRE2 would
 * read but ECMA-262 has no meaning for is refused.  The one place recipe
 * patterns are compiled: the regex check and the schema keyword share it.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "recipe/recipe.h"

/* A match gives up after this many steps (PCRE2's own default), this much
 * JIT stack, or, without the JIT, this much heap and backtracking depth. */
#define MATCH_LIMIT 10000000u
#define DEPTH_LIMIT 1000000u
#define HEAP_LIMIT_KIB (64u << 10)
#define JIT_STACK_MAX (8u << 20)

struct sg_pattern {
	pcre2_code *code;
	pcre2_match_data *md;
};

/* ECMA-262's \s: WhiteSpace and LineTerminator; PCRE2's is ASCII unless
 * PCRE2_UCP, which would make \d, \w and \b Unicode too, as ECMA-262's
 * are not.  NOSPACE is the rest of Unicode, for \S inside brackets. */
#define SPACE                                                                  \
	"\\t\\n\\x0b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029"        \
	"\\u202f\\u205f\\u3000\\ufeff"
#define NOSPACE                                                                \
	"\\x00-\\x08\\x0e-\\x1f!-\\u009f\\u00a1-\\u167f\\u1681-\\u1fff"        \
	"\\u200b-\\u2027\\u202a-\\u202e\\u2030-\\u205e\\u2060-\\u2fff"         \
	"\\u3001-\\ufefe\\uff00-\\u{10ffff}"

/* General_Category values by their long names, which PCRE2 10.42 does not
 * know, and the aliases ECMA-262 takes. */
static const char *const categories[][2] = {{"Other", "C"}, {"Control", "Cc"},
	{"cntrl", "Cc"}, {"Format", "Cf"}, {"Unassigned", "Cn"},
	{"Private_Use", "Co"}, {"Surrogate", "Cs"}, {"Letter", "L"},
	{"Cased_Letter", "LC"}, {"Lowercase_Letter", "Ll"},
	{"Modifier_Letter", "Lm"}, {"Other_Letter", "Lo"},
	{"Titlecase_Letter", "Lt"}, {"Uppercase_Letter", "Lu"}, {"Mark", "M"},
	{"Combining_Mark", "M"}, {"Spacing_Mark", "Mc"},
	{"Enclosing_Mark", "Me"}, {"Nonspacing_Mark", "Mn"}, {"Number", "N"},
	{"Decimal_Number", "Nd"}, {"digit", "Nd"}, {"Letter_Number", "Nl"},
	{"Other_Number", "No"}, {"Punctuation", "P"}, {"punct", "P"},
	{"Connector_Punctuation", "Pc"}, {"Dash_Punctuation", "Pd"},
	{"Close_Punctuation", "Pe"}, {"Final_Punctuation", "Pf"},
	{"Initial_Punctuation", "Pi"}, {"Other_Punctuation", "Po"},
	{"Open_Punctuation", "Ps"}, {"Symbol", "S"}, {"Currency_Symbol", "Sc"},
	{"Modifier_Symbol", "Sk"}, {"Math_Symbol", "Sm"},
	{"Other_Symbol", "So"}, {"Separator", "Z"}, {"Line_Separator", "Zl"},
	{"Paragraph_Separator", "Zp"}, {"Space_Separator", "Zs"}};

/* The rewritten pattern, and for each of its bytes the offset in the
 * source it came from, so PCRE2's error offsets point into the source. */
struct out {
	struct sg_buf b;
	size_t *from, cap;
	size_t at; /* the source offset of what is emitted now */
};

static void
emit(struct out *o, const char *s, size_t n)
{
	if (o->b.len + n > o->cap) {
		o->cap = 2 * (o->b.len + n);
		o->from = sg_xrealloc(o->from, o->cap * sizeof *o->from);
	}
	for (size_t i = 0; i < n; i++)
		o->from[o->b.len + i] = o->at;
	sg_buf_add(&o->b, s, n);
}

static void
emits(struct out *o, const char *s)
{
	emit(o, s, strlen(s));
}

static int
hexdigits(const char *s, const char *end, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s + i >= end || !strchr("0123456789abcdefABCDEF", s[i]) ||
			!s[i])
			return 0;
	return 1;
}

/* \p{...} or \P{...} at p (past the letter), to its PCRE2 spelling. */
static const char *
property(struct out *o, int neg, const char *p, const char *end)
{
	const char *close = memchr(p, '}', (size_t)(end - p)), *eq;
	char name[64], buf[80];
	size_t n;

	if (*p != '{' || !close || (n = (size_t)(close - p - 1)) == 0 ||
		n >= sizeof name)
		return NULL;
	memcpy(name, p + 1, n);
	name[n] = '\0';
	eq = strchr(name, '=');
	if (eq && (strncmp(name, "General_Category=", 17) == 0 ||
			  strncmp(name, "gc=", 3) == 0))
		memmove(name, eq + 1, strlen(eq + 1) + 1);
	else if (eq)
		goto out; /* Script= and Script_Extensions= PCRE2 reads */
	if (strcmp(name, "Assigned") == 0) {
		neg = !neg;
		strcpy(name, "Cn");
	}
	for (size_t i = 0; i < sizeof categories / sizeof *categories; i++)
		if (strcmp(name, categories[i][0]) == 0)
			strcpy(name, categories[i][1]);
out:
	snprintf(buf, sizeof buf, "\\%c{%s}", neg ? 'P' : 'p', name);
	emits(o, buf);
	return close + 1;
}

/* The escape at p (past the backslash); the next character, or NULL and
 * why in e. */
static const char *
escape(struct out *o, const char *p, const char *end, int bracket,
	struct sg_error *e)
{
	char c = p < end ? *p : '\0', buf[32];
	unsigned long n, hi, lo;
	char *stop;

	if (p == end) {
		emits(o, "\\");
		return p;
	}
	switch (c) {
	case 'd':
	case 'D':
	case 'w':
	case 'W':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		emit(o, p - 1, 2);
		return p + 1;
	case 's':
		emits(o, bracket ? SPACE : "[" SPACE "]");
		return p + 1;
	case 'S':
		emits(o, bracket ? NOSPACE : "[^" SPACE "]");
		return p + 1;
	case 'v':
		emits(o, "\\x0b");
		return p + 1;
	case 'b':
	case 'B':
		if (bracket && c == 'B')
			break;
		emits(o, c == 'b' && bracket ? "\\x08"
			 : c == 'b'	     ? "\\b"
					     : "\\B");
		return p + 1;
	case 'c':
		if (p + 1 == end ||
			!strchr("abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
				p[1]) ||
			!p[1])
			break;
		emit(o, p - 1, 3);
		return p + 2;
	case '0':
		if (p + 1 < end && p[1] >= '0' && p[1] <= '9')
			break;
		emits(o, "\\x00");
		return p + 1;
	case 'x':
		if (!hexdigits(p + 1, end, 2))
			break;
		emit(o, p - 1, 4);
		return p + 3;
	case 'u':
		if (p + 1 < end && p[1] == '{') {
			n = strtoul(p + 2, &stop, 16);
			if (stop == p + 2 || stop >= end || *stop != '}' ||
				!hexdigits(p + 2, end, (size_t)(stop - p - 2)))
				break;
			emit(o, p - 1, (size_t)(stop + 2 - p));
			return stop + 1;
		}
		if (!hexdigits(p + 1, end, 4))
			break;
		hi = strtoul((char[]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
		/* a surrogate pair written as two escapes is one character */
		if (hi >= 0xD800 && hi < 0xDC00 && end - p >= 11 &&
			p[5] == '\\' && p[6] == 'u' &&
			hexdigits(p + 7, end, 4) &&
			(lo = strtoul((char[]){p[7], p[8], p[9], p[10], 0},
				 NULL, 16)) >= 0xDC00 &&
			lo < 0xE000) {
			snprintf(buf, sizeof buf, "\\u{%lx}",
				0x10000 + ((hi - 0xD800) << 10) +
					(lo - 0xDC00));
			emits(o, buf);
			return p + 11;
		}
		emit(o, p - 1, 6);
		return p + 5;
	case 'p':
	case 'P':
		if (!(p = property(o, c == 'P', p + 1, end)))
			break;
		return p;
	case 'k':
		if (bracket || p + 1 == end || p[1] != '<' ||
			!memchr(p, '>', (size_t)(end - p)))
			break;
		stop = memchr(p, '>', (size_t)(end - p));
		emit(o, p - 1, (size_t)(stop + 2 - p));
		return stop + 1;
	default:
		if (c >= '1' && c <= '9' && !bracket) {
			/* \g{N}: never read as an octal escape */
			n = strtoul(p, &stop, 10);
			snprintf(buf, sizeof buf, "\\g{%lu}", n);
			emits(o, buf);
			return stop;
		}
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			(c >= 'A' && c <= 'Z') || c == '_')
			break;
		/* any other character stands for itself, as in PCRE2 */
		n = 1;
		while (p + n < end && ((unsigned char)p[n] & 0xC0) == 0x80)
			n++;
		emit(o, p - 1, n + 1);
		return p + n;
	}
	sg_seterr(e, "\\%c is not an ECMA-262 escape%s", c,
		bracket ? " inside brackets" : "");
	return NULL;
}

/* {n}, {n,} or {n,m} at p: its length, or 0 when '{' is a character. */
static size_t
interval(const char *p, const char *end)
{
	const char *s = p + 1;

	if (s == end || *s < '0' || *s > '9')
		return 0;
	while (s < end && *s >= '0' && *s <= '9')
		s++;
	if (s < end && *s == ',')
		for (s++; s < end && *s >= '0' && *s <= '9';)
			s++;
	return s < end && *s == '}' ? (size_t)(s + 1 - p) : 0;
}

/* The pattern in PCRE2's syntax, or -1 and e with the source offset in
 * *at. */
static int
rewrite(const char *src, size_t len, struct out *o, size_t *at,
	struct sg_error *e)
{
	const char *p = src, *end = src + len;
	int bracket = 0;
	size_t n;

	while (p < end) {
		char c = *p;

		o->at = (size_t)(p - src);
		*at = o->at;
		if (c == '\\') {
			if (!(p = escape(o, p + 1, end, bracket, e)))
				return -1;
			continue;
		}
		if (c == '\0') {
			/* messages and the cache take patterns as C strings */
			sg_seterr(e, "a NUL character: write \\u0000");
			return -1;
		}
		if (bracket) {
			/* '[' is a character here: never a POSIX class */
			emits(o, c == '[' ? "\\[" : (char[]){c, 0});
			bracket = c != ']';
			p++;
			continue;
		}
		switch (c) {
		case '[':
			emit(o, p, 1);
			p++;
			if (p < end && *p == '^')
				emit(o, p++, 1);
			/* "[]" and "[^]": PCRE2_ALLOW_EMPTY_CLASS */
			if (p < end && *p == ']')
				emit(o, p++, 1);
			else
				bracket = 1;
			continue;
		case '.':
			emits(o, "[^\\n\\r\\u2028\\u2029]");
			p++;
			continue;
		case '(':
			if (p + 1 < end && p[1] == '*') {
				sg_seterr(e, "\"(*\" is not ECMA-262 syntax");
				return -1;
			}
			if (p + 1 < end && p[1] == '?' &&
				!(p + 2 < end && p[2] &&
					strchr(":=!<", p[2]))) {
				sg_seterr(e,
					"\"(?%.*s\" is not ECMA-262 syntax",
					p + 2 < end ? 1 : 0, p + 2);
				return -1;
			}
			emit(o, p, 1);
			p++;
			continue;
		case '{':
			if (!(n = interval(p, end))) {
				emits(o, "\\{");
				p++;
				continue;
			}
			emit(o, p, n);
			p += n;
			break;
		case '}':
		case ']':
			emits(o, c == '}' ? "\\}" : "\\]");
			p++;
			continue;
		case '*':
		case '+':
		case '?':
			emit(o, p++, 1);
			break;
		default:
			emit(o, p++, 1);
			continue;
		}
		/* after a quantifier: '?' makes it lazy; '+' would make it
		 * possessive in PCRE2, and is an error in ECMA-262 */
		if (p < end && *p == '?')
			emit(o, p++, 1);
		if (p < end && *p == '+') {
			*at = (size_t)(p - src);
			sg_seterr(e, "a quantifier cannot follow a quantifier");
			return -1;
		}
	}
	o->at = len;
	emit(o, "", 0);
	return 0;
}

/* The limits every match runs under; one context, made once. */
static pcre2_match_context *
limits(void)
{
	static pcre2_match_context *mc;
	static pcre2_jit_stack *stack;

	if (mc)
		return mc;
	if (!(mc = pcre2_match_context_create(NULL)))
		sg_die(SG_EXIT_IO, "out of memory");
	pcre2_set_match_limit(mc, MATCH_LIMIT);
	pcre2_set_depth_limit(mc, DEPTH_LIMIT);
	pcre2_set_heap_limit(mc, HEAP_LIMIT_KIB);
	/* without one, the JIT has 32 KiB of stack: too little for a
	 * repeated group over a long text */
	if ((stack = pcre2_jit_stack_create(32u << 10, JIT_STACK_MAX, NULL)))
		pcre2_jit_stack_assign(mc, NULL, stack);
	return mc;
}

struct sg_pattern *
sg_pattern_new(const char *src, size_t len, struct sg_error *e)
{
	struct out o = {0};
	struct sg_error why;
	struct sg_pattern *p;
	pcre2_compile_context *cc;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	size_t at = 0;
	int err;

	if (rewrite(src, len, &o, &at, &why) < 0) {
		sg_seterr(e, "%s at position %zu", why.text,
			sg_codepoints(src, at));
		free(o.b.p);
		free(o.from);
		return NULL;
	}
	if (!(cc = pcre2_compile_context_create(NULL)))
		sg_die(SG_EXIT_IO, "out of memory");
	pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
	p = sg_xmalloc(sizeof *p);
	p->code = pcre2_compile((PCRE2_SPTR)o.b.p, o.b.len,
		PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS |
			PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_UNSET_BACKREF |
			PCRE2_NEVER_BACKSLASH_C,
		&err, &off, cc);
	pcre2_compile_context_free(cc);
	if (!p->code) {
		pcre2_get_error_message(err, msg, sizeof msg);
		at = off < o.b.len ? o.from[off] : len;
		sg_seterr(e, "%s at position %zu", (char *)msg,
			sg_codepoints(src, at));
		free(p);
		p = NULL;
	} else {
		/* without the JIT, where it is missing, matching is slower
		 * but bound by the same limits */
		pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE);
		if (!(p->md = pcre2_match_data_create(1, NULL)))
			sg_die(SG_EXIT_IO, "out of memory");
	}
	free(o.b.p);
	free(o.from);
	return p;
}

void
sg_pattern_free(struct sg_pattern *p)
{
	if (!p)
		return;
	pcre2_match_data_free(p->md);
	pcre2_code_free(p->code);
	free(p);
}

int
sg_pattern_match(
	struct sg_pattern *p, const char *s, size_t len, struct sg_error *e)
{
	PCRE2_UCHAR msg[256];
	int rc =
		pcre2_match(p->code, (PCRE2_SPTR)s, len, 0, 0, p->md, limits());

	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	pcre2_get_error_message(rc, msg, sizeof msg);
	sg_seterr(e, "%s", (char *)msg);
	return -1;
}
