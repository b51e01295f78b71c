/*
 * schema.c - the JSON Schema draft 2020-12 keywords recipes use: type,
 * enum, const, the numeric and length bounds, pattern, required,
 * properties, additionalProperties, items, the item and property counts,
 * allOf, anyOf, oneOf and not.  Other keywords are ignored, as the
 * specification asks of unknown ones; $ref is refused, since a schema that
 * relies on it would be checked only in part.
 *
 * Patterns are ECMA-262 regular expressions, compiled and matched by
 * pattern.c; a match a limit stopped fails validation with that reason,
 * under "not" as anywhere else.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "recipe/recipe.h"

/* The longest excerpt of a value quoted in a message. */
#define SHOW_MAX 40
#define CACHE_MAX 256
#define NBUCKETS 64
/* What validating returns when a pattern's match was stopped by a limit:
 * neither valid nor invalid, so "not" cannot turn it into valid. */
#define UNDECIDED SG_SCHEMA_UNDECIDED

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

/* -- patterns -- */

/* Compiled patterns by their text: recipes repeat one schema per job, and
 * the text, unlike a node's address, cannot be reused for another one. */
struct cached {
	char *pattern;
	struct sg_pattern *re;
	struct cached *next;
};

static struct cached *cache[NBUCKETS];
static size_t ncached;

static void
cache_clear(void)
{
	for (size_t i = 0; i < NBUCKETS; i++) {
		while (cache[i]) {
			struct cached *c = cache[i];

			cache[i] = c->next;
			sg_pattern_free(c->re);
			free(c->pattern);
			free(c);
		}
	}
	ncached = 0;
}

static struct sg_pattern *
regex_get(const char *pattern, struct sg_error *e)
{
	size_t h = sg_hash64(pattern, strlen(pattern)) % NBUCKETS;
	struct sg_pattern *re;
	struct cached *c;

	for (c = cache[h]; c; c = c->next)
		if (strcmp(c->pattern, pattern) == 0)
			return c->re;
	if (!(re = sg_pattern_new(pattern, strlen(pattern), e)))
		return NULL;
	if (ncached >= CACHE_MAX)
		cache_clear();
	c = sg_xmalloc(sizeof *c);
	c->re = re;
	c->pattern = sg_xstrdup(pattern);
	c->next = cache[h];
	cache[h] = c;
	ncached++;
	return re;
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
	if (v && strlen(json_string_value(v)) != json_string_length(v))
		return fail(e, at,
			"\"pattern\" holds a NUL character: write \\u0000");
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
	struct sg_pattern *re;
	const char *pat;
	struct sg_error why;
	int rc;

	if (validate_size(s,
		    sg_codepoints(json_string_value(v), json_string_length(v)),
		    "length", "minLength", "maxLength", at, e) < 0)
		return -1;
	if (!(pat = json_string_value(json_object_get(s, "pattern"))))
		return 0;
	if (!(re = regex_get(pat, &why)))
		return fail(
			e, at, "pattern \"%s\" is unusable: %s", pat, why.text);
	rc = sg_pattern_match(
		re, json_string_value(v), json_string_length(v), &why);
	if (rc == 1)
		return 0;
	show(v, shown);
	if (rc < 0) {
		fail(e, at, "cannot tell whether %s matches pattern \"%s\": %s",
			shown, pat, why.text);
		return UNDECIDED;
	}
	return fail(e, at, "%s does not match pattern \"%s\"", shown, pat);
}

static int
validate_array(const json_t *s, const json_t *v, const struct at *at,
	struct sg_error *e)
{
	json_t *items = json_object_get(s, "items"), *item;
	struct at sub = {at, NULL, 0};
	int rc;

	if (validate_size(s, json_array_size(v), "size", "minItems", "maxItems",
		    at, e) < 0)
		return -1;
	if (!items)
		return 0;
	json_array_foreach (v, sub.idx, item) {
		if ((rc = validate(items, item, &sub, e)) < 0)
			return rc;
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
	int rc;

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
		if (sub && (rc = validate(
				    sub, val, &(struct at){at, key, 0}, e)) < 0)
			return rc;
	}
	return validate_size(s, json_object_size(v), "size", "minProperties",
		"maxProperties", at, e);
}

/* How many schemas of the list v matches, counting up to stop; -1 and e
 * when a pattern could not tell. */
static long
matches(const json_t *list, const json_t *v, const struct at *at, long stop,
	struct sg_error *e)
{
	struct sg_error why;
	long n = 0;
	json_t *sub;
	size_t i;
	int rc;

	json_array_foreach (list, i, sub) {
		if ((rc = validate(sub, v, at, &why)) == UNDECIDED) {
			*e = why;
			return -1;
		}
		if (rc == 0 && ++n == stop)
			break;
	}
	return n;
}

static int
validate_logic(const json_t *s, const json_t *v, const struct at *at,
	struct sg_error *e)
{
	char shown[SHOW_MAX + 8];
	struct sg_error why;
	json_t *list, *sub;
	size_t i;
	long n;
	int rc;

	json_array_foreach (json_object_get(s, "allOf"), i, sub) {
		if ((rc = validate(sub, v, at, e)) < 0)
			return rc;
	}
	list = json_object_get(s, "anyOf");
	if (json_is_array(list)) {
		if ((n = matches(list, v, at, 1, e)) < 0)
			return UNDECIDED;
		if (n == 0) {
			show(v, shown);
			return fail(e, at,
				"%s does not match any schema in anyOf", shown);
		}
	}
	list = json_object_get(s, "oneOf");
	if (json_is_array(list)) {
		if ((n = matches(list, v, at, 2, e)) < 0)
			return UNDECIDED;
		if (n != 1) {
			show(v, shown);
			return fail(e, at,
				n ? "%s matches more than one schema in oneOf"
				  : "%s does not match any schema in oneOf",
				shown);
		}
	}
	if ((sub = json_object_get(s, "not"))) {
		if ((rc = validate(sub, v, at, &why)) == UNDECIDED) {
			*e = why;
			return UNDECIDED;
		}
		if (rc == 0) {
			show(v, shown);
			return fail(
				e, at, "%s matches the schema in not", shown);
		}
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
	int rc = 0;

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
	if (json_is_number(v))
		rc = validate_number(s, v, at, e);
	else if (json_is_string(v))
		rc = validate_string(s, v, at, e);
	else if (json_is_array(v))
		rc = validate_array(s, v, at, e);
	else if (json_is_object(v))
		rc = validate_object(s, v, at, e);
	return rc < 0 ? rc : validate_logic(s, v, at, e);
}

int
sg_schema_validate(
	const json_t *schema, const json_t *instance, struct sg_error *e)
{
	return validate(schema, instance, NULL, e);
}
