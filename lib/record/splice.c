/*
 * splice.c - a record written back from the bytes it was read from, with
 * only the fields a stage owns replaced.  Printing a whole record again
 * costs a stage as much as parsing it; copying the fields it did not
 * change costs a memcpy, and passes them through byte for byte.
 */
#include <string.h>

#include "base/base.h"
#include "record/record-internal.h"

static int
dump_put(const char *buffer, size_t size, void *data)
{
	sg_buf_add(data, buffer, size);
	return 0;
}

static const char *
skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	return s;
}

/* Past the string starting at s (its opening quote); *esc set when it
 * holds an escape. */
static const char *
skip_string(const char *s, const char *end, int *esc)
{
	const char *q = memchr(s + 1, '"', (size_t)(end - s - 1));

	/* most strings have no escape: two memchr, not a loop a byte */
	if (q && !memchr(s + 1, '\\', (size_t)(q - s - 1)))
		return q + 1;
	for (s++; s < end && *s != '"'; s++)
		if (*s == '\\') {
			*esc = 1;
			s++;
		}
	return s + 1;
}

static int
delim(char c)
{
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' ||
	       c == '\n' || c == '\r';
}

/* Past the value starting at s: the line parsed already, so it is valid
 * JSON and only strings and nesting need care. */
static const char *
skip_value(const char *s, const char *end)
{
	int depth = 0, esc = 0;

	if (*s == '"')
		return skip_string(s, end, &esc);
	if (*s != '{' && *s != '[') {
		while (s < end && !delim(*s))
			s++;
		return s;
	}
	do {
		if (*s == '"') {
			s = skip_string(s, end, &esc);
			continue;
		}
		if (*s == '{' || *s == '[')
			depth++;
		else if (*s == '}' || *s == ']')
			depth--;
		s++;
	} while (s < end && depth > 0);
	return s;
}

/* The index of the key of n bytes in owned, or -1. */
static int
owned_at(const char *const owned[], const char *key, size_t n)
{
	for (int i = 0; owned[i]; i++)
		if (strlen(owned[i]) == n && memcmp(owned[i], key, n) == 0)
			return i;
	return -1;
}

static void
put_member(struct sg_buf *o, const json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);
	size_t at;

	if (!v)
		return;
	if (o->p[o->len - 1] != '{')
		sg_buf_add(o, ",", 1);
	sg_buf_add(o, "\"", 1);
	sg_buf_add(o, key, strlen(key));
	sg_buf_add(o, "\":", 2);
	at = o->len;
	if (sg_dump(o, v) < 0) {
		o->len = at;
		json_dump_callback(
			v, dump_put, o, SG_DUMP_FLAGS | JSON_ENCODE_ANY);
	}
}

size_t
sg_splice(const char *line, size_t len, const json_t *rec,
	const char *const owned[], struct sg_buf *out)
{
	const char *s, *end = line + len, *key, *kend;
	struct sg_buf o = *out;
	unsigned done = 0; /* the owned fields written, a bit set */
	int esc = 0, i;

	o.len = 0;
	s = skip_ws(line, end);
	if (s == end || *s != '{')
		return 0;
	sg_buf_add(&o, "{", 1);
	for (s = skip_ws(s + 1, end); s < end && *s == '"';) {
		key = s;
		kend = skip_string(s, end, &esc);
		/* "\u0063hecks" is "checks": leave such keys to jansson */
		if (esc || kend >= end)
			goto fail;
		s = skip_ws(kend, end);
		if (s == end || *s != ':')
			goto fail;
		s = skip_value(skip_ws(s + 1, end), end);
		i = owned_at(owned, key + 1, (size_t)(kend - key) - 2);
		if (i >= 0 && i < 32) {
			put_member(&o, rec, owned[i]);
			done |= 1u << i;
		} else {
			if (o.p[o.len - 1] != '{')
				sg_buf_add(&o, ",", 1);
			sg_buf_add(&o, key, (size_t)(s - key));
		}
		s = skip_ws(s, end);
		if (s < end && *s == ',')
			s = skip_ws(s + 1, end);
	}
	if (s == end || *s != '}')
		goto fail;
	for (i = 0; owned[i] && i < 32; i++)
		if (!(done & 1u << i))
			put_member(&o, rec, owned[i]);
	sg_buf_add(&o, "}", 1);
	*out = o;
	return o.len;
fail:
	*out = o;
	return 0;
}
