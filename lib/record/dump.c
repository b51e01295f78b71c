/*
 * dump.c - a value written as jansson's json_dump_callback writes it with
 * SG_DUMP_FLAGS, byte for byte, without its call per token: the fields a
 * stage owns (sg-validate's "checks", ten small objects a sample) are
 * printed into every record, and jansson's dump of them cost as much as
 * some of the checks.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "record/record-internal.h"

/* sg_buf_add, inline while the buffer has room: a record's "checks" are
 * some sixty short pieces. */
static inline void
add(struct sg_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		sg_buf_add(b, s, n);
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static int
put_string(struct sg_buf *b, const char *str, size_t n)
{
	static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run, len;
	const char *e;
	char esc[8];

	add(b, "\"", 1);
	while (i < n) {
		for (run = i;
			i < n && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\';) {
			if (s[i] < 0x80)
				i++;
			else if ((len = sg_utf8_len(s + i, n - i)))
				i += len;
			else
				return -1;
		}
		add(b, str + run, i - run);
		if (i == n)
			break;
		if (s[i] && (e = strchr(from, s[i]))) {
			esc[0] = '\\';
			esc[1] = to[e - from];
			add(b, esc, 2);
		} else {
			snprintf(esc, sizeof esc, "\\u%04X", s[i]);
			add(b, esc, 6);
		}
		i++;
	}
	add(b, "\"", 1);
	return 0;
}

/* jansson's jsonp_dtostr: "%.*g", ".0" when that reads as an integer, the
 * exponent without its "+" and leading zeros. */
static void
put_real(struct sg_buf *b, double x)
{
	char s[64], *p, *q;
	int n;

	/* most similarities are 0, and printf takes thousands of
	 * instructions */
	if (x == 0) {
		add(b, signbit(x) ? "-0.0" : "0.0", signbit(x) ? 4 : 3);
		return;
	}
	n = snprintf(s, sizeof s, "%.*g", SG_REAL_PRECISION, x);

	if (!strchr(s, '.') && !strchr(s, 'e')) {
		memcpy(s + n, ".0", 3);
		n += 2;
	}
	if ((p = strchr(s, 'e'))) {
		q = ++p + 1;
		if (*p == '-')
			p++;
		while (*q == '0')
			q++;
		memmove(p, q, (size_t)(s + n - q) + 1);
		n -= (int)(q - p);
	}
	add(b, s, (size_t)n);
}

static void
put_int(struct sg_buf *b, json_int_t v)
{
	char s[24], *p = s + sizeof s;
	unsigned long long u =
		v < 0 ? -(unsigned long long)v : (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	add(b, p, (size_t)(s + sizeof s - p));
}

int
sg_dump(struct sg_buf *b, const json_t *v)
{
	void *it, *first;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		add(b, "{", 1);
		first = json_object_iter((json_t *)v);
		for (it = first; it;
			it = json_object_iter_next((json_t *)v, it)) {
			if (it != first)
				add(b, ",", 1);
			if (put_string(b, json_object_iter_key(it),
				    json_object_iter_key_len(it)) < 0)
				return -1;
			add(b, ":", 1);
			if (sg_dump(b, json_object_iter_value(it)) < 0)
				return -1;
		}
		add(b, "}", 1);
		return 0;
	case JSON_ARRAY:
		add(b, "[", 1);
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				add(b, ",", 1);
			if (sg_dump(b, json_array_get(v, i)) < 0)
				return -1;
		}
		add(b, "]", 1);
		return 0;
	case JSON_STRING:
		return put_string(
			b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		put_int(b, json_integer_value(v));
		return 0;
	case JSON_REAL:
		put_real(b, json_real_value(v));
		return 0;
	case JSON_TRUE:
		add(b, "true", 4);
		return 0;
	case JSON_FALSE:
		add(b, "false", 5);
		return 0;
	default:
		add(b, "null", 4);
		return 0;
	}
}
