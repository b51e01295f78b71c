/*
 * recipe.c - recipes (sg-recipe(5)) in YAML or JSON, turned into one JSON
 * object and checked field by field.  Every value keeps its line and column
 * until the checks are done, so each complaint points into the file.
 * Plain YAML scalars are resolved as PyYAML's safe_load resolves them
 * (YAML 1.1), because recipes are shared with the Python system sg follows:
 * a recipe must mean the same thing to both.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"

/* Bounds that keep a hostile file from exhausting the stack, or memory
 * through aliases that each double the size of the recipe. */
#define MAX_DEPTH 512
#define MAX_VALUES (1L << 20)
#define NAMELEN 256 /* of a dotted field name in messages */

struct key {
	const char *s; /* borrowed from a node that lives as long */
	int line, col;
};

/* A value of the recipe and where it was written. */
struct node {
	json_t *v;
	int line, col;
	size_t n, cap;
	struct node **kid; /* the items, or the values of the pairs */
	struct key *key;   /* the keys of a mapping's pairs */
	long size;	   /* values once aliases are expanded */
};

struct load {
	const char *path;
	struct sg_error *e;
	sg_warn_fn warn;
	void *ctx;
	struct node **all; /* every node, freed together */
	size_t nall, capall;
	int aliased;
	/* YAML only */
	yaml_document_t *doc;
	struct node **memo;
	unsigned char *busy;
	const char *src;
	size_t len;
	size_t *lines, nlines;
	int utf8;
	regex_t re_int, re_float;
};

static int
vfail(struct load *L, int line, int col, const char *fmt, va_list ap)
{
	char why[sizeof L->e->text];

	vsnprintf(why, sizeof why, fmt, ap);
	sg_seterr(L->e, "%s:%d:%d: %s", L->path, line, col, why);
	return -1;
}

static int __attribute__((format(printf, 4, 5)))
failat(struct load *L, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(L, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

static int __attribute__((format(printf, 3, 4)))
fail(struct load *L, const struct node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(L, n->line, n->col, fmt, ap);
	va_end(ap);
	return -1;
}

static void __attribute__((format(printf, 4, 5)))
warnat(struct load *L, int line, int col, const char *fmt, ...)
{
	char why[NAMELEN + 64], *msg;
	size_t size;
	va_list ap;

	if (!L->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	size = strlen(L->path) + strlen(why) + 32;
	msg = sg_xmalloc(size);
	snprintf(msg, size, "%s:%d:%d: %s", L->path, line, col, why);
	L->warn(L->ctx, msg);
	free(msg);
}

static struct node *
newnode(struct load *L, json_t *v, int line, int col)
{
	struct node *n = sg_xmalloc(sizeof *n);

	memset(n, 0, sizeof *n);
	n->v = v;
	n->line = line;
	n->col = col;
	n->size = 1;
	if (L->nall == L->capall) {
		L->capall = L->capall ? 2 * L->capall : 64;
		L->all = sg_xrealloc(L->all, L->capall * sizeof *L->all);
	}
	L->all[L->nall++] = n;
	return n;
}

static void
addkid(struct node *p, struct node *kid, const char *key, int line, int col)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 8;
		p->kid = sg_xrealloc(p->kid, p->cap * sizeof *p->kid);
		if (key)
			p->key = sg_xrealloc(p->key, p->cap * sizeof *p->key);
	}
	p->kid[p->n] = kid;
	if (key)
		p->key[p->n] = (struct key){key, line, col};
	p->n++;
	p->size += kid->size;
	if (p->size > MAX_VALUES)
		p->size = MAX_VALUES + 1;
}

/* The value of key in a mapping node, or NULL. */
static struct node *
get(const struct node *map, const char *key)
{
	for (size_t i = 0; map->key && i < map->n; i++)
		if (strcmp(map->key[i].s, key) == 0)
			return map->kid[i];
	return NULL;
}

/* YAML */

/* Where each line starts, counting breaks as libyaml does, so a mark
 * (line, column in characters) can be found in the source again. */
static void
index_lines(struct load *L)
{
	const unsigned char *s = (const unsigned char *)L->src;
	size_t i = 0, cap = 64;

	L->lines = sg_xmalloc(cap * sizeof *L->lines);
	if (L->len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	L->lines[0] = i;
	L->nlines = 1;
	while (i < L->len) {
		size_t brk = 0;

		if (s[i] == '\r')
			brk = i + 1 < L->len && s[i + 1] == '\n' ? 2 : 1;
		else if (s[i] == '\n')
			brk = 1;
		else if (i + 1 < L->len && s[i] == 0xC2 && s[i + 1] == 0x85)
			brk = 2;
		else if (i + 2 < L->len && s[i] == 0xE2 && s[i + 1] == 0x80 &&
			 (s[i + 2] == 0xA8 || s[i + 2] == 0xA9))
			brk = 3;
		if (!brk) {
			i++;
			continue;
		}
		i += brk;
		if (L->nlines == cap)
			L->lines = sg_xrealloc(
				L->lines, (cap *= 2) * sizeof *L->lines);
		L->lines[L->nlines++] = i;
	}
}

static const char *
at(const struct load *L, yaml_mark_t m)
{
	const char *p, *end = L->src + L->len;

	if (!L->utf8 || m.line >= L->nlines)
		return NULL;
	p = L->src + L->lines[m.line];
	for (size_t c = 0; c < m.column && p < end; c++)
		while (++p < end && (*p & 0xC0) == 0x80)
			;
	return p < end ? p : NULL;
}

/* libyaml gives a scalar tagged "!!str" or "!" the tag of an untagged one,
 * but PyYAML resolves an untagged plain scalar, and any scalar tagged "!",
 * by its value: only the source tells them apart. */
static int
resolvable(const struct load *L, const yaml_node_t *y)
{
	const char *p = at(L, y->start_mark), *end = L->src + L->len;

	if (strcmp((const char *)y->tag, YAML_STR_TAG) != 0)
		return 0;
	if (p && *p == '&') {
		while (p < end && !strchr(" \t\r\n", *p))
			p++;
		while (p < end && strchr(" \t\r\n", *p))
			p++;
	}
	if (!p || p == end || *p != '!')
		return y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return p + 1 == end || strchr(" \t\r\n", p[1]);
}

static int
matches(const regex_t *re, const char *s)
{
	return regexec(re, s, 0, NULL, 0) == 0;
}

static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
static const char *const trues[] = {
	"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
static const char *const falses[] = {
	"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};

#define AMONG(s, list) sg_among(s, list, sizeof list / sizeof *list)

/* The tag PyYAML's resolver gives an untagged plain scalar. */
static const char *
resolve(const struct load *L, const char *s)
{
	if (AMONG(s, nulls))
		return YAML_NULL_TAG;
	if (AMONG(s, trues) || AMONG(s, falses))
		return YAML_BOOL_TAG;
	if (matches(&L->re_float, s))
		return YAML_FLOAT_TAG;
	if (matches(&L->re_int, s))
		return YAML_INT_TAG;
	return YAML_STR_TAG;
}

/* Underscores dropped and the sign taken off, as PyYAML's constructors do;
 * 0 when what is left is too long to be a number. */
static int
digits(const char *s, char *buf, size_t size, int *neg)
{
	size_t n = 0;

	*neg = 0;
	if (*s == '-' || *s == '+')
		*neg = *s++ == '-';
	for (; *s; s++) {
		if (*s == '_')
			continue;
		if (n + 1 >= size)
			return 0;
		buf[n++] = *s;
	}
	buf[n] = '\0';
	return 1;
}

/* PyYAML's construct_yaml_int: 0b binary, 0x hex, a leading 0 octal, and
 * colon-separated base-60 groups. */
static int
make_int(const char *s, long long *out)
{
	char buf[128], *p = buf, *end;
	long long v = 0, d;
	int neg, base = 10;

	if (!digits(s, buf, sizeof buf, &neg) || *p < '0' || *p > '9')
		return -1;
	errno = 0;
	if (strchr(p, ':')) {
		for (;;) {
			d = strtoll(p, &end, 10);
			if (end == p || errno || v > (LLONG_MAX - d) / 60)
				return -1;
			v = v * 60 + d;
			if (*end != ':')
				break;
			p = end + 1;
		}
		p = end;
	} else {
		if (strncmp(p, "0b", 2) == 0)
			base = 2, p += 2;
		else if (strncmp(p, "0x", 2) == 0)
			base = 16, p += 2;
		else if (p[0] == '0' && p[1])
			base = 8, p++;
		if (*p == '-' || *p == '+')
			return -1;
		v = strtoll(p, &end, base);
		if (end == p || errno)
			return -1;
		p = end;
	}
	if (*p)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

static int
make_float(const char *s, double *out)
{
	char buf[128], *p = buf, *end;
	double v = 0, d;
	int neg;

	if (!digits(s, buf, sizeof buf, &neg))
		return -1;
	for (char *q = buf; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q += 'a' - 'A';
	if (strcmp(p, ".inf") == 0) {
		v = INFINITY;
	} else if (strcmp(p, ".nan") == 0) {
		v = NAN;
	} else if (strchr(p, ':')) {
		for (;;) {
			d = strtod(p, &end);
			if (end == p)
				return -1;
			v = v * 60 + d;
			if (*end != ':')
				break;
			p = end + 1;
		}
		if (*end)
			return -1;
	} else {
		if (*p == '-' || *p == '+')
			return -1;
		v = strtod(p, &end);
		if (end == p || *end)
			return -1;
	}
	*out = neg ? -v : v;
	return 0;
}

static const char *
kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static json_t *
scalar(struct load *L, const yaml_node_t *y, int line, int col)
{
	const char *s = (const char *)y->data.scalar.value;
	size_t len = y->data.scalar.length;
	const char *tag = (const char *)y->tag;
	long long i;
	double d;

	if (resolvable(L, y))
		tag = resolve(L, s);
	if (strcmp(tag, YAML_STR_TAG) == 0 ||
		strcmp(tag, YAML_TIMESTAMP_TAG) == 0)
		return json_stringn(s, len);
	if (strlen(s) != len) {
		failat(L, line, col, "%s value holds a NUL byte", tag);
		return NULL;
	}
	if (strcmp(tag, YAML_NULL_TAG) == 0)
		return json_null();
	if (strcmp(tag, YAML_BOOL_TAG) == 0) {
		if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
			strcasecmp(s, "on") == 0)
			return json_true();
		if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
			strcasecmp(s, "off") == 0)
			return json_false();
		failat(L, line, col, "\"%s\" is not a boolean", s);
		return NULL;
	}
	if (strcmp(tag, YAML_INT_TAG) == 0) {
		if (make_int(s, &i) == 0)
			return json_integer(i);
		failat(L, line, col, "\"%s\" is not an integer in range", s);
		return NULL;
	}
	if (strcmp(tag, YAML_FLOAT_TAG) == 0) {
		if (make_float(s, &d) < 0) {
			failat(L, line, col, "\"%s\" is not a number", s);
			return NULL;
		}
		if (!isfinite(d)) {
			failat(L, line, col,
				"\"%s\" is not finite, which JSON cannot hold",
				s);
			return NULL;
		}
		return json_real(d);
	}
	failat(L, line, col, "unsupported tag \"%s\"", tag);
	return NULL;
}

static struct node *conv(struct load *L, int index, int depth);

static int
ismerge(const struct load *L, const yaml_node_t *k)
{
	return k->type == YAML_SCALAR_NODE && resolvable(L, k) &&
	       strcmp((const char *)k->data.scalar.value, "<<") == 0;
}

/* The pairs "<<" brings in, as PyYAML's flatten_mapping orders them: of a
 * list of mappings, the first listed wins, so it goes last. */
static int
merge(struct load *L, struct node *into, const struct node *v)
{
	const struct node *m;

	if (json_is_object(v->v)) {
		for (size_t i = 0; i < v->n; i++)
			addkid(into, v->kid[i], v->key[i].s, v->key[i].line,
				v->key[i].col);
		return 0;
	}
	if (!json_is_array(v->v))
		return fail(L, v,
			"\"<<\" merges a mapping or a list of "
			"mappings, not %s",
			kind(v->v));
	for (size_t i = v->n; i-- > 0;) {
		m = v->kid[i];
		if (!json_is_object(m->v))
			return fail(L, m, "\"<<\" merges mappings, not %s",
				kind(m->v));
		merge(L, into, m);
	}
	return 0;
}

static struct node *
mapping(struct load *L, const yaml_node_t *y, int line, int col, int depth)
{
	struct node *n = newnode(L, json_object(), line, col);
	struct node all = {0}, *k, *v;
	json_t *seen = json_object(), *winner = json_object();
	const char *ks;
	size_t merged;

	for (yaml_node_pair_t *p = y->data.mapping.pairs.start;
		p < y->data.mapping.pairs.top; p++) {
		if (!ismerge(L, yaml_document_get_node(L->doc, p->key)))
			continue;
		if (!(v = conv(L, p->value, depth + 1)) ||
			merge(L, &all, v) < 0)
			goto fail;
	}
	merged = all.n;
	for (yaml_node_pair_t *p = y->data.mapping.pairs.start;
		p < y->data.mapping.pairs.top; p++) {
		if (ismerge(L, yaml_document_get_node(L->doc, p->key)))
			continue;
		if (!(k = conv(L, p->key, depth + 1)))
			goto fail;
		if (!json_is_string(k->v)) {
			if (json_is_object(k->v) || json_is_array(k->v))
				fail(L, k, "a mapping key must be a string");
			else
				fail(L, k,
					"mapping key \"%s\" is read as %s "
					"(YAML 1.1); quote it",
					(const char *)yaml_document_get_node(
						L->doc, p->key)
						->data.scalar.value,
					kind(k->v));
			goto fail;
		}
		ks = json_string_value(k->v);
		if (strlen(ks) != json_string_length(k->v)) {
			fail(L, k, "a mapping key holds a NUL byte");
			goto fail;
		}
		if (json_object_get(seen, ks)) {
			fail(L, k, "duplicate key \"%s\" (first on line %lld)",
				ks,
				json_integer_value(json_object_get(seen, ks)));
			goto fail;
		}
		json_object_set_new(seen, ks, json_integer(k->line));
		if (!(v = conv(L, p->value, depth + 1)))
			goto fail;
		addkid(&all, v, ks, k->line, k->col);
	}
	/* later pairs win, in the place of the first: a Python dict */
	for (size_t i = 0; i < all.n; i++) {
		json_object_set(n->v, all.key[i].s, all.kid[i]->v);
		json_object_set_new(winner, all.key[i].s, json_integer(i));
	}
	for (void *it = json_object_iter(n->v); it;
		it = json_object_iter_next(n->v, it)) {
		size_t i = json_integer_value(
			json_object_get(winner, json_object_iter_key(it)));

		addkid(n, all.kid[i], all.key[i].s, all.key[i].line,
			all.key[i].col);
	}
	if (merged)
		L->aliased = 1;
	free(all.kid);
	free(all.key);
	json_decref(seen);
	json_decref(winner);
	return n;
fail:
	free(all.kid);
	free(all.key);
	json_decref(seen);
	json_decref(winner);
	return NULL;
}

static struct node *
conv(struct load *L, int index, int depth)
{
	const yaml_node_t *y = yaml_document_get_node(L->doc, index);
	int line = (int)y->start_mark.line + 1;
	int col = (int)y->start_mark.column + 1;
	struct node *n = NULL, *kid;
	const char *tag = (const char *)y->tag;
	json_t *v;

	if (L->memo[index - 1]) {
		L->aliased = 1;
		return L->memo[index - 1];
	}
	if (L->busy[index - 1]) {
		failat(L, line, col, "an alias refers to a node that holds it");
		return NULL;
	}
	if (depth > MAX_DEPTH) {
		failat(L, line, col, "nested more than %d levels deep",
			MAX_DEPTH);
		return NULL;
	}
	L->busy[index - 1] = 1;
	switch (y->type) {
	case YAML_SCALAR_NODE:
		if ((v = scalar(L, y, line, col)))
			n = newnode(L, v, line, col);
		break;
	case YAML_SEQUENCE_NODE:
		if (strcmp(tag, YAML_SEQ_TAG) != 0) {
			failat(L, line, col, "unsupported tag \"%s\"", tag);
			break;
		}
		n = newnode(L, json_array(), line, col);
		for (yaml_node_item_t *i = y->data.sequence.items.start;
			i < y->data.sequence.items.top; i++) {
			if (!(kid = conv(L, *i, depth + 1))) {
				n = NULL;
				break;
			}
			json_array_append(n->v, kid->v);
			addkid(n, kid, NULL, 0, 0);
		}
		break;
	case YAML_MAPPING_NODE:
		if (strcmp(tag, YAML_MAP_TAG) != 0)
			failat(L, line, col, "unsupported tag \"%s\"", tag);
		else
			n = mapping(L, y, line, col, depth);
		break;
	default:
		failat(L, line, col, "empty node");
		break;
	}
	L->busy[index - 1] = 0;
	if (n && n->size > MAX_VALUES) {
		failat(L, line, col,
			"more than %ld values once aliases are "
			"expanded",
			MAX_VALUES);
		return NULL;
	}
	return L->memo[index - 1] = n;
}

static void
yaml_fail(struct load *L, const yaml_parser_t *p)
{
	size_t line = 0, off = p->problem_offset;
	int col = 1;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		failat(L, 1, 1, "out of memory");
		break;
	case YAML_READER_ERROR:
		while (line + 1 < L->nlines && L->lines[line + 1] <= off)
			line++;
		for (size_t i = L->lines[line]; i < off && i < L->len; i++)
			col += (L->src[i] & 0xC0) != 0x80;
		failat(L, (int)line + 1, col, "%s", p->problem);
		break;
	default:
		if (p->context)
			failat(L, (int)p->problem_mark.line + 1,
				(int)p->problem_mark.column + 1,
				"%s (%s on line %d)", p->problem, p->context,
				(int)p->context_mark.line + 1);
		else
			failat(L, (int)p->problem_mark.line + 1,
				(int)p->problem_mark.column + 1, "%s",
				p->problem);
		break;
	}
}

/* One pass over the parser's events before the document is built, which
 * refuses a recipe nested too deep at the first node past the limit, and
 * one of too many values at the first past theirs: libyaml spends time on
 * every token for each flow collection open around it, and memory on every
 * node.  A second document is refused here too, before it is built. */
static int
yaml_bounds(struct load *L)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int open = 0, docs = 0, rc = 0;
	long values = 0;

	if (!yaml_parser_initialize(&p))
		return failat(L, 1, 1, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)L->src, L->len);
	while (rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			yaml_fail(L, &p);
			rc = -1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			rc = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = failat(L, (int)ev.start_mark.line + 1,
					(int)ev.start_mark.column + 1,
					"a recipe is one YAML document, this "
					"is "
					"a second");
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			open--;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (open > MAX_DEPTH)
				rc = failat(L, (int)ev.start_mark.line + 1,
					(int)ev.start_mark.column + 1,
					"nested more than %d levels deep",
					MAX_DEPTH);
			else if (++values > MAX_VALUES)
				rc = failat(L, (int)ev.start_mark.line + 1,
					(int)ev.start_mark.column + 1,
					"more than %ld values", MAX_VALUES);
			open += ev.type == YAML_SEQUENCE_START_EVENT ||
				ev.type == YAML_MAPPING_START_EVENT;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc < 0 ? -1 : 0;
}

static struct node *
load_yaml(struct load *L)
{
	/* PyYAML's int and float resolvers, in POSIX ERE */
	static const char re_int[] =
		"^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)"
		"|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$";
	static const char re_float[] =
		"^([-+]?[0-9][0-9_]*\\.[0-9_]*([eE][-+][0-9]+)?"
		"|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"
		"|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*"
		"|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$";
	yaml_parser_t p;
	yaml_document_t doc;
	struct node *root = NULL;
	size_t count;

	index_lines(L);
	L->utf8 = !(L->len >= 2 && ((unsigned char)L->src[0] == 0xFF ||
					   (unsigned char)L->src[0] == 0xFE));
	if (yaml_bounds(L) < 0)
		return NULL;
	if (!yaml_parser_initialize(&p)) {
		failat(L, 1, 1, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)L->src, L->len);
	if (!yaml_parser_load(&p, &doc)) {
		yaml_fail(L, &p);
		yaml_parser_delete(&p);
		return NULL;
	}
	if (!yaml_document_get_root_node(&doc)) {
		failat(L, 1, 1, "recipe is empty");
		goto done;
	}
	if (regcomp(&L->re_int, re_int, REG_EXTENDED | REG_NOSUB) != 0) {
		failat(L, 1, 1, "cannot compile the YAML 1.1 resolvers");
		goto done;
	}
	if (regcomp(&L->re_float, re_float, REG_EXTENDED | REG_NOSUB) != 0) {
		failat(L, 1, 1, "cannot compile the YAML 1.1 resolvers");
		regfree(&L->re_int);
		goto done;
	}
	count = (size_t)(doc.nodes.top - doc.nodes.start);
	L->doc = &doc;
	L->memo = calloc(count, sizeof *L->memo);
	L->busy = calloc(count, 1);
	if (!L->memo || !L->busy)
		failat(L, 1, 1, "out of memory");
	else
		root = conv(L, 1, 0);
	free(L->memo);
	free(L->busy);
	L->doc = NULL;
	regfree(&L->re_int);
	regfree(&L->re_float);
done:
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return root;
}

/* JSON: jansson parses, then a walk over the text it accepted finds where
 * each value starts (objects keep the order of their keys). */

struct scan {
	const char *p, *end;
	int line, col;
};

static void
adv(struct scan *s)
{
	if (s->p >= s->end)
		return;
	if (*s->p == '\n')
		s->line++, s->col = 0;
	s->p++;
	if (s->p < s->end && (*s->p & 0xC0) != 0x80)
		s->col++;
}

static void
blanks(struct scan *s)
{
	while (s->p < s->end && strchr(" \t\r\n", *s->p))
		adv(s);
}

static void
skip_token(struct scan *s)
{
	if (s->p < s->end && *s->p == '"') {
		adv(s);
		while (s->p < s->end && *s->p != '"') {
			if (*s->p == '\\')
				adv(s);
			adv(s);
		}
		adv(s);
		return;
	}
	while (s->p < s->end && !strchr(",:]} \t\r\n", *s->p))
		adv(s);
}

static struct node *
jnode(struct load *L, struct scan *s, json_t *v)
{
	struct node *n;
	int line, col;

	blanks(s);
	n = newnode(L, json_incref(v), s->line, s->col);
	if (json_is_object(v)) {
		adv(s);
		for (void *it = json_object_iter(v); it;
			it = json_object_iter_next(v, it)) {
			blanks(s);
			line = s->line;
			col = s->col;
			skip_token(s);
			blanks(s);
			adv(s);
			addkid(n, jnode(L, s, json_object_iter_value(it)),
				json_object_iter_key(it), line, col);
			blanks(s);
			if (s->p < s->end && *s->p == ',')
				adv(s);
		}
		blanks(s);
		adv(s);
	} else if (json_is_array(v)) {
		adv(s);
		for (size_t i = 0; i < json_array_size(v); i++) {
			addkid(n, jnode(L, s, json_array_get(v, i)), NULL, 0,
				0);
			blanks(s);
			if (s->p < s->end && *s->p == ',')
				adv(s);
		}
		blanks(s);
		adv(s);
	} else {
		skip_token(s);
	}
	return n;
}

static struct node *
load_json(struct load *L)
{
	struct scan s = {L->src, L->src + L->len, 1, 1};
	json_error_t je;
	struct node *n;
	json_t *root;

	if (L->len >= 3 && memcmp(s.p, "\xEF\xBB\xBF", 3) == 0)
		s.p += 3;
	root = json_loadb(
		s.p, (size_t)(s.end - s.p), JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		failat(L, je.line, je.column, "%s", je.text);
		return NULL;
	}
	n = jnode(L, &s, root);
	json_decref(root);
	return n;
}

static int
isjson(const char *path, const char *src, size_t len)
{
	size_t plen = strlen(path), i = 0;

	if (plen >= 5 && strcmp(path + plen - 5, ".json") == 0)
		return 1;
	if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && strchr(" \t\r\n", src[i]))
		i++;
	return i < len && src[i] == '{';
}

/* Checks.  A field is checked by its kind, or by a function for those
 * with parts; a null value of an optional field counts as leaving the
 * field out, as it does for the Python system. */

enum kind {
	STRING,
	BOOL,
	MAPPING,
	POSINT,
	DEPTH, /* sg-gen's limit on nested rules */
	NUMBER,
	NONNEG,
	POSITIVE,
	UNIT,
	DECAY,
	PATTERN, /* a string that compiles (pattern.c) */
	SCHEMA,	 /* a mapping sg_schema_check takes */
};

/* A pattern compiles where sg-validate will compile it; a fault is the
 * recipe's, not each sample's. */
static int
c_pattern(struct load *L, const struct node *n, const char *name)
{
	struct sg_pattern *p;
	struct sg_error e;

	p = sg_pattern_new(
		json_string_value(n->v), json_string_length(n->v), &e);
	if (!p)
		return fail(L, n, "\"%s\" is not a usable pattern: %s", name,
			e.text);
	sg_pattern_free(p);
	return 0;
}

/* The node at the JSON pointer at the start of s (as sg_schema_check
 * begins its messages, "/properties/code/pattern: ..."), or the nearest
 * one above it that exists. */
static const struct node *
pointed(const struct node *n, const char *s)
{
	char seg[NAMELEN], *end;
	size_t len, i, k;

	while (*s == '/') {
		s++;
		len = strcspn(s, "/:");
		for (i = k = 0; i < len && k + 1 < sizeof seg; i++, k++)
			seg[k] = s[i] == '~' && i + 1 < len
					 ? (s[++i] == '1' ? '/' : '~')
					 : s[i];
		seg[k] = '\0';
		s += len;
		if (json_is_array(n->v)) {
			i = strtoul(seg, &end, 10);
			if (*end || i >= n->n)
				break;
			n = n->kid[i];
		} else if (n->key && get(n, seg)) {
			n = get(n, seg);
		} else {
			break;
		}
	}
	return n;
}

/* A schema is one sg can apply; a fault is shown where it is written. */
static int
c_schema(struct load *L, const struct node *n, const char *name)
{
	struct sg_error e;

	if (sg_schema_check(n->v, &e) == 0)
		return 0;
	n = pointed(n, e.text);
	/* a pattern's fault is in its text, not in the schema holding it */
	if (strstr(e.text, ": pattern \"") && get(n, "pattern"))
		n = get(n, "pattern");
	return fail(L, n, "\"%s\" is unusable: %s", name, e.text);
}

#define STR(x) STR_(x)
#define STR_(x) #x

static int
c_is(struct load *L, const struct node *n, const char *name, enum kind k)
{
	static const char *const what[] = {
		[STRING] = "a string",
		[BOOL] = "true or false",
		[MAPPING] = "a mapping",
		[POSINT] = "a positive integer",
		[DEPTH] = ("an integer from 1 to " STR(SG_GRAMMAR_MAX_DEPTH)),
		[NUMBER] = "a number",
		[NONNEG] = "a number not less than 0",
		[POSITIVE] = "a number greater than 0",
		[UNIT] = "a number from 0 to 1",
		[DECAY] = "a number greater than 0 and at most 1",
		[PATTERN] = "a string",
		[SCHEMA] = "a mapping",
	};
	const json_t *v = n->v;
	long long i = json_integer_value(v);
	double d = json_number_value(v);
	int ok = json_is_number(v);

	switch (k) {
	case STRING:
	case PATTERN:
		ok = json_is_string(v);
		break;
	case BOOL:
		ok = json_is_boolean(v);
		break;
	case MAPPING:
	case SCHEMA:
		ok = json_is_object(v);
		break;
	case POSINT:
		ok = json_is_integer(v) && i > 0;
		break;
	case DEPTH:
		ok = json_is_integer(v) && i > 0 && i <= SG_GRAMMAR_MAX_DEPTH;
		break;
	case NUMBER:
		break;
	case NONNEG:
		ok &= d >= 0;
		break;
	case POSITIVE:
		ok &= d > 0;
		break;
	case UNIT:
		ok &= d >= 0 && d <= 1;
		break;
	case DECAY:
		ok &= d > 0 && d <= 1;
		break;
	}
	if (!ok)
		return fail(L, n, "\"%s\" must be %s", name, what[k]);
	if (k == PATTERN)
		return c_pattern(L, n, name);
	if (k == SCHEMA)
		return c_schema(L, n, name);
	return 0;
}

typedef int checkfn(struct load *L, const struct node *n, const char *name);

struct field {
	const char *name;
	enum kind kind;
	checkfn *check; /* instead of the kind */
};

/* prefix.key in buf of NAMELEN bytes, cut short if need be. */
static void
dotted(char *buf, const char *prefix, const char *key)
{
	size_t n = strlen(prefix), k = strlen(key);

	if (n > NAMELEN - 1)
		n = NAMELEN - 1;
	memmove(buf, prefix, n);
	if (n && n < NAMELEN - 1)
		buf[n++] = '.';
	if (k > NAMELEN - 1 - n)
		k = NAMELEN - 1 - n;
	memcpy(buf + n, key, k);
	buf[n + k] = '\0';
}

enum {
	OPEN = 1,  /* keys the table lacks are not warned about */
	NONULL = 2 /* null is checked, not taken as absent */
};

/* Each pair of a mapping checked by the table, in the order written.
 * Grammar options and arms take no null: grammar.c refuses a null weight
 * and sg-route would copy a null over a preset's value. */
static int
fields(struct load *L, const struct node *map, const struct field *tab,
	size_t ntab, const char *prefix, int flags)
{
	char name[NAMELEN];

	for (size_t i = 0; i < map->n; i++) {
		const struct field *f = NULL;

		dotted(name, prefix, map->key[i].s);
		for (size_t j = 0; j < ntab && !f; j++)
			if (strcmp(tab[j].name, map->key[i].s) == 0)
				f = &tab[j];
		if (!f) {
			if (!(flags & OPEN))
				warnat(L, map->key[i].line, map->key[i].col,
					"unknown field \"%s\"", name);
			continue;
		}
		if (json_is_null(map->kid[i]->v) && !(flags & NONULL))
			continue;
		if (f->check ? f->check(L, map->kid[i], name)
			     : c_is(L, map->kid[i], name, f->kind))
			return -1;
	}
	return 0;
}

#define FIELDS(L, map, tab, prefix, flags)                                     \
	fields(L, map, tab, sizeof tab / sizeof *tab, prefix, flags)

/* After fields(): a required field must be there, and not null. */
static int
required(struct load *L, const struct node *map, const char *key,
	const char *prefix, enum kind kind)
{
	const struct node *v = get(map, key);
	char name[NAMELEN];

	dotted(name, prefix, key);
	if (!v)
		return fail(L, map, "missing required field \"%s\"", name);
	return json_is_null(v->v) ? c_is(L, v, name, kind) : 0;
}

/* min_x must not exceed max_x where both are given. */
static int
ordered(struct load *L, const struct node *map, const char *min,
	const char *max, const char *prefix)
{
	const struct node *lo = get(map, min), *hi = get(map, max);
	char a[NAMELEN], b[NAMELEN];

	if (!lo || !hi || !json_is_number(lo->v) || !json_is_number(hi->v) ||
		json_number_value(lo->v) <= json_number_value(hi->v))
		return 0;
	dotted(a, prefix, min);
	dotted(b, prefix, max);
	return fail(L, lo, "\"%s\" is greater than \"%s\"", a, b);
}

static int
c_format(struct load *L, const struct node *n, const char *name)
{
	const char *s = json_string_value(n->v);

	if (!s || (strcmp(s, "text") != 0 && strcmp(s, "json") != 0 &&
			  strcmp(s, "jsonl") != 0 && strcmp(s, "csv") != 0))
		return fail(
			L, n, "\"%s\" must be text, json, jsonl or csv", name);
	return 0;
}

/* The labels sg-plan plans jobs by (sg_mix_init): strings, or integers
 * and booleans, which sg_label_string writes out. */
static int
c_labels(struct load *L, const struct node *n, const char *name)
{
	if (!json_is_array(n->v))
		return fail(L, n, "\"%s\" must be a list of labels", name);
	for (size_t i = 0; i < n->n; i++)
		if (!json_is_string(n->kid[i]->v) &&
			!json_is_integer(n->kid[i]->v) &&
			!json_is_boolean(n->kid[i]->v))
			return fail(L, n->kid[i],
				"\"%s\" has a label that is not a string,"
				" an integer or a boolean",
				name);
	return 0;
}

/* A mapping whose every value is of kind k. */
static int
map_of(struct load *L, const struct node *n, const char *name, enum kind k)
{
	char sub[NAMELEN];

	if (c_is(L, n, name, MAPPING) < 0)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		dotted(sub, name, n->key[i].s);
		if (c_is(L, n->kid[i], sub, k) < 0)
			return -1;
	}
	return 0;
}

static int
c_weights(struct load *L, const struct node *n, const char *name)
{
	return map_of(L, n, name, NONNEG);
}

static int
c_label_distribution(struct load *L, const struct node *n, const char *name)
{
	double sum = 0;

	if (c_weights(L, n, name) < 0)
		return -1;
	for (size_t i = 0; i < n->n; i++)
		sum += json_number_value(n->kid[i]->v);
	if (n->n > 0 && !(sum > 0))
		return fail(L, n, "\"%s\" gives every label weight 0", name);
	return 0;
}

/* dataset_fields: a mapping from a name the prompt uses to a column. */
static int
c_columns(struct load *L, const struct node *n, const char *name)
{
	return map_of(L, n, name, STRING);
}

static int
c_task_input(struct load *L, const struct node *n, const char *name)
{
	static const struct field tab[] = {
		{"dataset_fields", 0, c_columns},
		{"dataset_path", STRING, NULL},
		{"input_column", STRING, NULL},
		{"input_file", STRING, NULL},
		{"label_distribution", 0, c_label_distribution},
		{"labels", 0, c_labels},
		{"output_column", STRING, NULL},
	};

	if (!json_is_string(n->v) && !json_is_object(n->v))
		return fail(L, n, "\"%s\" must be a string or a mapping", name);
	if (json_is_object(n->v))
		return FIELDS(L, n, tab, name, OPEN);
	return 0;
}

/* Bounds are counts or rates: sg-validate and sg-score refuse negative
 * ones, so they are refused here, before a run starts. */
static int
c_constraints(struct load *L, const struct node *n, const char *name)
{
	static const struct field tab[] = {
		{"max_repetition_rate", UNIT, NULL},
		{"min_diversity", UNIT, NULL},
		{"pattern", PATTERN, NULL},
		{"schema", SCHEMA, NULL},
	};
	char sub[NAMELEN];
	const char *k;

	if (c_is(L, n, name, MAPPING) < 0 || FIELDS(L, n, tab, name, OPEN) < 0)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		k = n->key[i].s;
		dotted(sub, name, k);
		if ((strncmp(k, "min_", 4) == 0 ||
			    strncmp(k, "max_", 4) == 0) &&
			!json_is_null(n->kid[i]->v) &&
			c_is(L, n->kid[i], sub, NONNEG) < 0)
			return -1;
	}
	for (size_t i = 0; i < n->n; i++) {
		k = n->key[i].s;
		if (strncmp(k, "min_", 4) != 0)
			continue;
		snprintf(sub, sizeof sub, "max_%s", k + 4);
		if (ordered(L, n, k, sub, name) < 0)
			return -1;
	}
	return 0;
}

static const struct field v_dedup[] = {
	{"bands", POSINT, NULL},
	{"check_field", STRING, NULL},
	{"enabled", BOOL, NULL},
	{"field", STRING, NULL},
	{"ngram", POSINT, NULL},
	{"num_perm", POSINT, NULL},
	{"reference_file", STRING, NULL},
	{"rows", POSINT, NULL},
	{"threshold", UNIT, NULL},
};
static const struct field v_pattern[] = {
	{"enabled", BOOL, NULL},
	{"pattern", PATTERN, NULL},
};
static const struct field v_schema[] = {
	{"enabled", BOOL, NULL},
	{"schema", SCHEMA, NULL},
	{"threshold", UNIT, NULL},
};
static const struct field v_length[] = {
	{"enabled", BOOL, NULL},
	{"max", NONNEG, NULL},
	{"max_length", NONNEG, NULL},
	{"max_words", NONNEG, NULL},
	{"min", NONNEG, NULL},
	{"min_length", NONNEG, NULL},
	{"min_words", NONNEG, NULL},
	{"unit", STRING, NULL},
};
static int
c_pii_mode(struct load *L, const struct node *n, const char *name)
{
	const char *s = json_string_value(n->v);

	if (!s || (strcmp(s, "flag") != 0 && strcmp(s, "redact") != 0 &&
			  strcmp(s, "reject") != 0))
		return fail(
			L, n, "\"%s\" must be flag, redact or reject", name);
	return 0;
}

/* The entity types of the pii check, by enum value. */
static const char *const pii_types[SG_PII_NTYPES] = {
	"email", "phone", "card", "iban", "ssn", "ip", "routing"};

const char *
sg_pii_type_name(int type)
{
	return type >= 0 && type < SG_PII_NTYPES ? pii_types[type] : NULL;
}

int
sg_pii_type_parse(const char *name)
{
	for (int i = 0; i < SG_PII_NTYPES; i++)
		if (strcmp(pii_types[i], name) == 0)
			return i;
	return -1;
}

static int
c_pii_entities(struct load *L, const struct node *n, const char *name)
{
	if (!json_is_array(n->v))
		return fail(
			L, n, "\"%s\" must be a list of entity types", name);
	for (size_t i = 0; i < n->n; i++)
		if (!json_is_string(n->kid[i]->v) ||
			sg_pii_type_parse(json_string_value(n->kid[i]->v)) < 0)
			return fail(L, n->kid[i],
				"\"%s\" has an unknown entity type; known: "
				"email, phone, card, iban, ssn, ip, routing",
				name);
	return 0;
}

static const struct field v_pii[] = {
	{"enabled", BOOL, NULL},
	{"entities", 0, c_pii_entities},
	{"mode", 0, c_pii_mode},
	{"threshold", UNIT, NULL},
};
static const struct field v_toxic[] = {
	{"enabled", BOOL, NULL},
	{"lexicon", STRING, NULL},
	{"llm", BOOL, NULL},
	{"llm_model", STRING, NULL},
	{"llm_threshold", UNIT, NULL},
	{"severity", NONNEG, NULL},
};
/* A rubric: a string, a list of strings, or names mapped to strings. */
static int
c_criteria(struct load *L, const struct node *n, const char *name)
{
	int ok = json_is_string(n->v) || json_is_array(n->v) ||
		 json_is_object(n->v);

	for (size_t i = 0; ok && i < n->n; i++)
		ok = json_is_string(n->kid[i]->v) ||
		     (json_is_object(n->v) && json_is_null(n->kid[i]->v));
	if (!ok)
		return fail(L, n,
			"\"%s\" must be a string, a list of strings or a "
			"mapping of names to strings",
			name);
	return 0;
}
static const struct field v_judge[] = {
	{"criteria", 0, c_criteria},
	{"enabled", BOOL, NULL},
	{"max_tokens", POSINT, NULL},
	{"model", STRING, NULL},
	{"quality_criteria", 0, c_criteria},
	{"temperature", NONNEG, NULL},
	{"threshold", UNIT, NULL},
};
static const struct field v_entail[] = {
	{"enabled", BOOL, NULL},
	{"model", STRING, NULL},
	{"threshold", UNIT, NULL},
};
static const struct field v_semantic[] = {
	{"description", STRING, NULL},
	{"embedding_model", STRING, NULL},
	{"enabled", BOOL, NULL},
	{"min_similarity", UNIT, NULL},
	{"model", STRING, NULL},
};
static const struct field v_diversity[] = {
	{"embedding_model", STRING, NULL},
	{"enabled", BOOL, NULL},
	{"min_dispersion", UNIT, NULL},
	{"model", STRING, NULL},
	{"threshold", UNIT, NULL},
};
static checkfn c_command;
static const struct field v_custom[] = {
	{"command", 0, c_command},
	{"enabled", BOOL, NULL},
	{"name", STRING, NULL},
};
static const struct field v_faith[] = {
	{"enabled", BOOL, NULL},
	{"min_coverage", UNIT, NULL},
};
static const struct field v_perplexity[] = {
	{"enabled", BOOL, NULL},
	{"logprobs", BOOL, NULL},
	{"max_perplexity", POSITIVE, NULL},
	{"max_token_perplexity", POSITIVE, NULL},
	{"reference", 0, c_command},
};
static const struct field v_relevance[] = {
	{"description", STRING, NULL},
	{"enabled", BOOL, NULL},
	{"min_similarity", UNIT, NULL},
};
static int
c_against(struct load *L, const struct node *n, const char *name)
{
	const char *s = json_string_value(n->v);

	if (!s || (strcmp(s, "original") != 0 && strcmp(s, "samples") != 0))
		return fail(L, n, "\"%s\" must be original or samples", name);
	return 0;
}
static const struct field v_similarity[] = {
	{"against", 0, c_against},
	{"embedding_model", STRING, NULL},
	{"enabled", BOOL, NULL},
	{"model", STRING, NULL},
	{"threshold", UNIT, NULL},
};
static const struct field v_other[] = {
	{"enabled", BOOL, NULL},
	{"threshold", NUMBER, NULL},
};

/* The validators sg-validate applies have closed sets of keys; the others
 * of the Python system are accepted with their keys as they are. */
static const struct validator {
	const char *name;
	const struct field *tab;
	size_t ntab;
} validators[] = {
#define V(name, tab)                                                           \
	{                                                                      \
		name, tab, sizeof tab / sizeof *tab                            \
	}
	V("custom", v_custom),
	V("deduplication", v_dedup),
	V("diversity", v_diversity),
	V("entailment", v_entail),
	V("faithfulness", v_faith),
	V("format", v_pattern),
	V("json_schema", v_schema),
	V("length", v_length),
	V("llm_judge", v_judge),
	V("perplexity", v_perplexity),
	V("pii", v_pii),
	V("regex", v_pattern),
	V("relevance", v_relevance),
	V("semantic", v_semantic),
	V("similarity", v_similarity),
	V("toxicity", v_toxic),
#undef V
};

/* Whether name is a validator of the Python system, which runs only
 * when its mapping says enabled: true. */
static int
python_validator(const char *name)
{
	static const char *const python[] = {"deduplication", "diversity",
		"entailment", "json_schema", "llm_judge", "similarity"};

	for (size_t i = 0; i < sizeof python / sizeof *python; i++)
		if (strcmp(python[i], name) == 0)
			return 1;
	return 0;
}

int
sg_validator_on(const json_t *recipe, const char *name)
{
	json_t *v =
		json_object_get(json_object_get(recipe, "validators"), name);

	return json_is_object(v) &&
	       sg_get_bool(v, "enabled", !python_validator(name));
}

static int
c_validators(struct load *L, const struct node *n, const char *name)
{
	const struct validator *v;
	const struct node *kid;
	char sub[NAMELEN];

	if (c_is(L, n, name, MAPPING) < 0)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		v = NULL;
		for (size_t j = 0; j < sizeof validators / sizeof *validators;
			j++)
			if (strcmp(validators[j].name, n->key[i].s) == 0)
				v = &validators[j];
		kid = n->kid[i];
		if (!v)
			warnat(L, n->key[i].line, n->key[i].col,
				"unknown validator \"%s\"", n->key[i].s);
		else if (json_is_object(kid->v) &&
			 !json_object_get(kid->v, "enabled") &&
			 python_validator(n->key[i].s))
			warnat(L, n->key[i].line, n->key[i].col,
				"validator \"%s\" is off: as in the Python "
				"system, it runs only with \"enabled: true\"",
				n->key[i].s);
		dotted(sub, name, n->key[i].s);
		if (json_is_null(kid->v))
			continue;
		if (c_is(L, kid, sub, MAPPING) < 0 ||
			fields(L, kid, v ? v->tab : v_other,
				v ? v->ntab : sizeof v_other / sizeof *v_other,
				sub, !v || v->tab == v_other ? OPEN : 0) < 0 ||
			ordered(L, kid, "min", "max", sub) < 0 ||
			ordered(L, kid, "min_length", "max_length", sub) < 0 ||
			ordered(L, kid, "min_words", "max_words", sub) < 0)
			return -1;
	}
	return 0;
}

static int
isname(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* The next "<name>" of a template: where the name starts, and its length
 * in *len; NULL when there is none. */
static const char *
placeholder(const char *p, size_t *len)
{
	const char *q;

	for (; (p = strchr(p, '<')); p++) {
		for (q = p + 1; isname(*q); q++)
			;
		if (q > p + 1 && *q == '>') {
			*len = (size_t)(q - p - 1);
			return p + 1;
		}
	}
	return NULL;
}

struct rules {
	size_t nrule, nopt, nref;
	size_t *first;	/* per rule: its first option, nrule + 1 of them */
	size_t *refs;	/* per option: its first reference, nopt + 1 */
	size_t *target; /* per reference: the rule it names */
};

static void
push(size_t **v, size_t n, size_t x)
{
	if ((n & (n - 1)) == 0)
		*v = sg_xrealloc(*v, (n ? 2 * n : 1) * sizeof **v);
	(*v)[n] = x;
}

static int
c_option(struct load *L, const struct node *o, const char *name,
	const struct node *rules, const char *rule, struct rules *R)
{
	static const struct field tab[] = {
		{"llm_fill", MAPPING, NULL},
		{"template", STRING, NULL},
		{"weight", POSITIVE, NULL},
	};
	static const struct field filltab[] = {
		{"prompt", STRING, NULL},
	};
	const struct node *t, *f;
	const char *s = NULL, *ref;
	char sub[NAMELEN];
	size_t len, k;

	if (!json_is_object(o->v))
		return fail(L, o, "\"%s\" must be a mapping", name);
	t = get(o, "template");
	f = get(o, "llm_fill");
	if (!t == !f)
		return fail(L, o,
			"\"%s\" must have one of \"template\" and \"llm_fill\"",
			name);
	if (FIELDS(L, o, tab, name, NONULL) < 0)
		return -1;
	if (f) {
		dotted(sub, name, "llm_fill");
		if (c_is(L, f, sub, MAPPING) < 0 ||
			FIELDS(L, f, filltab, sub, NONULL) < 0 ||
			required(L, f, "prompt", sub, STRING) < 0)
			return -1;
	} else if (!(s = json_string_value(t->v))) {
		dotted(sub, name, "template");
		return c_is(L, t, sub, STRING);
	}
	for (ref = s; !f && (ref = placeholder(ref, &len)); ref += len + 1) {
		for (k = 0; k < rules->n; k++)
			if (strncmp(rules->key[k].s, ref, len) == 0 &&
				rules->key[k].s[len] == '\0')
				break;
		if (k == rules->n)
			return fail(L, t,
				"rule \"%s\" refers to undefined rule \"%.*s\"",
				rule, (int)len, ref);
		push(&R->target, R->nref++, k);
	}
	push(&R->refs, ++R->nopt, R->nref);
	return 0;
}

/* Whether rule r comes back to itself through rules that cannot finish. */
static int
loops(const struct rules *R, const unsigned char *ok, size_t r,
	unsigned char *seen, size_t *stack)
{
	size_t top = 0, x;

	memset(seen, 0, R->nrule);
	stack[top++] = r;
	while (top > 0) {
		x = stack[--top];
		for (size_t i = R->refs[R->first[x]];
			i < R->refs[R->first[x + 1]]; i++) {
			size_t t = R->target[i];

			if (t == r)
				return 1;
			if (!ok[t] && !seen[t]) {
				seen[t] = 1;
				stack[top++] = t;
			}
		}
	}
	return 0;
}

/* A rule can finish when one of its options names only rules that can.
 * Of those that never can, the first caught in a loop is named: the loop
 * is what the author has to break. */
static int
productive(struct load *L, const struct node *rules, const struct rules *R)
{
	size_t n = R->nrule ? R->nrule : 1, bad = R->nrule, *stack;
	unsigned char *ok = sg_xmalloc(2 * n), *seen = ok + n;
	int changed = 1;

	memset(ok, 0, n);
	while (changed) {
		changed = 0;
		for (size_t r = 0; r < R->nrule; r++)
			for (size_t o = R->first[r];
				!ok[r] && o < R->first[r + 1]; o++) {
				size_t x = R->refs[o];

				while (x < R->refs[o + 1] && ok[R->target[x]])
					x++;
				if (x == R->refs[o + 1])
					ok[r] = changed = 1;
			}
	}
	stack = sg_xmalloc(n * sizeof *stack);
	for (size_t r = R->nrule; r-- > 0;)
		if (!ok[r] && (bad == R->nrule || loops(R, ok, r, seen, stack)))
			bad = r;
	free(stack);
	free(ok);
	if (bad == R->nrule)
		return 0;
	return failat(L, rules->key[bad].line, rules->key[bad].col,
		"rule \"%s\" can never finish expanding: every option ends "
		"in a loop",
		rules->key[bad].s);
}

static int
c_rules(struct load *L, const struct node *rules, const char *name)
{
	struct rules R = {0};
	char sub[NAMELEN];
	int rc = -1;

	if (c_is(L, rules, name, MAPPING) < 0)
		return -1;
	push(&R.refs, 0, 0);
	for (size_t r = 0; r < rules->n; r++) {
		const struct node *opts = rules->kid[r];

		push(&R.first, R.nrule++, R.nopt);
		if (!json_is_array(opts->v) || opts->n == 0) {
			fail(L, opts,
				"rule \"%s\" must be a non-empty list of "
				"options",
				rules->key[r].s);
			goto done;
		}
		for (size_t o = 0; o < opts->n; o++) {
			snprintf(sub, sizeof sub, "%s.%s[%zu]", name,
				rules->key[r].s, o);
			if (c_option(L, opts->kid[o], sub, rules,
				    rules->key[r].s, &R) < 0)
				goto done;
		}
	}
	push(&R.first, R.nrule, R.nopt);
	rc = productive(L, rules, &R);
done:
	free(R.first);
	free(R.refs);
	free(R.target);
	return rc;
}

static int
c_grammar(struct load *L, const struct node *n, const char *name)
{
	static const struct field tab[] = {
		{"rules", 0, c_rules},
		{"start", STRING, NULL},
	};
	const struct node *start, *rules;

	if (c_is(L, n, name, MAPPING) < 0 || FIELDS(L, n, tab, name, 0) < 0)
		return -1;
	if (required(L, n, "rules", name, MAPPING) < 0 ||
		required(L, n, "start", name, STRING) < 0)
		return -1;
	start = get(n, "start");
	rules = get(n, "rules");
	if (!get(rules, json_string_value(start->v)))
		return fail(L, start,
			"\"%s.start\" names undefined rule \"%s\"", name,
			json_string_value(start->v));
	return 0;
}

static int
c_command(struct load *L, const struct node *n, const char *name)
{
	int ok = json_is_string(n->v) ||
		 (json_is_array(n->v) && json_array_size(n->v) > 0);

	for (size_t i = 0; ok && i < n->n; i++)
		ok = json_is_string(n->kid[i]->v);
	if (!ok)
		return fail(L, n,
			"\"%s\" must be a list of strings or a string", name);
	return 0;
}

static int
c_arms(struct load *L, const struct node *n, const char *name)
{
	static const struct field tab[] = {
		{"alpha", UNIT, NULL},
		{"choices", POSINT, NULL},
		{"command", 0, c_command},
		{"confidence", UNIT, NULL},
		{"generator", STRING, NULL},
		{"max_depth", DEPTH, NULL},
		{"max_tokens", POSINT, NULL},
		{"model", STRING, NULL},
		{"name", STRING, NULL},
		{"passages", POSINT, NULL},
		{"price_completion", NONNEG, NULL},
		{"price_prompt", NONNEG, NULL},
		{"sentences", POSINT, NULL},
		{"temperature", POSITIVE, NULL},
		{"top_k", POSINT, NULL},
		{"top_p", UNIT, NULL},
	};
	json_t *seen;
	char sub[NAMELEN];
	const char *arm;
	int rc = 0;

	if (!json_is_array(n->v))
		return fail(L, n, "\"%s\" must be a list", name);
	seen = json_object();
	for (size_t i = 0; i < n->n && rc == 0; i++) {
		const struct node *a = n->kid[i];

		snprintf(sub, sizeof sub, "%s[%zu]", name, i);
		if (json_is_object(a->v)) {
			if (FIELDS(L, a, tab, sub, NONULL) < 0 ||
				required(L, a, "name", sub, STRING) < 0) {
				rc = -1;
				break;
			}
			arm = sg_get_str(a->v, "name");
		} else if (!(arm = json_string_value(a->v))) {
			rc = fail(L, a,
				"\"%s\" must be an arm name or a mapping", sub);
			break;
		}
		if (json_object_get(seen, arm))
			rc = fail(L, a, "arm \"%s\" is listed twice", arm);
		json_object_set_new(seen, arm, json_true());
	}
	json_decref(seen);
	return rc;
}

static int
c_router(struct load *L, const struct node *n, const char *name)
{
	static const struct field tab[] = {
		{"alpha", POSITIVE, NULL},
		{"arms", 0, c_arms},
		{"batch_size", POSINT, NULL},
		{"discount", DECAY, NULL},
		{"draws", POSINT, NULL},
		{"epsilon_decay", DECAY, NULL},
		{"epsilon_min", UNIT, NULL},
		{"epsilon_start", UNIT, NULL},
		{"pass_high", UNIT, NULL},
		{"pass_low", UNIT, NULL},
		{"policy", STRING, NULL},
		{"quality_high", UNIT, NULL},
		{"quality_low", UNIT, NULL},
		{"sigma", POSITIVE, NULL},
		{"tau", POSITIVE, NULL},
		{"temperature_max", POSITIVE, NULL},
		{"temperature_min", POSITIVE, NULL},
		{"temperature_step", POSITIVE, NULL},
		{"temperature_step_up", POSITIVE, NULL},
		{"window", POSINT, NULL},
	};

	if (c_is(L, n, name, MAPPING) < 0 || FIELDS(L, n, tab, name, 0) < 0 ||
		ordered(L, n, "epsilon_min", "epsilon_start", name) < 0 ||
		ordered(L, n, "quality_low", "quality_high", name) < 0 ||
		ordered(L, n, "pass_low", "pass_high", name) < 0 ||
		ordered(L, n, "temperature_min", "temperature_max", name) < 0)
		return -1;
	return 0;
}

static int
c_reward(struct load *L, const struct node *n, const char *name)
{
	static const struct field tab[] = {
		{"cost", NONNEG, NULL},
		{"dev", NONNEG, NULL},
		{"diversity", NONNEG, NULL},
		{"fidelity", NONNEG, NULL},
		{"labels", NONNEG, NULL},
		{"novelty", NONNEG, NULL},
		{"pass_rate", NONNEG, NULL},
		{"quality", NONNEG, NULL},
	};

	if (c_is(L, n, name, MAPPING) < 0)
		return -1;
	return FIELDS(L, n, tab, name, 0);
}

static int
c_quality(struct load *L, const struct node *n, const char *name)
{
	static const struct field tab[] = {
		{"min_fidelity", UNIT, NULL},
		{"reward", 0, c_reward},
		{"threshold", UNIT, NULL},
		{"weights", 0, c_weights},
	};

	if (c_is(L, n, name, MAPPING) < 0)
		return -1;
	return FIELDS(L, n, tab, name, 0);
}

static int
c_evaluation(struct load *L, const struct node *n, const char *name)
{
	static const struct field tab[] = {
		{"label_field", STRING, NULL},
		{"text_field", STRING, NULL},
	};

	if (c_is(L, n, name, MAPPING) < 0)
		return -1;
	return FIELDS(L, n, tab, name, 0);
}

/* What sg-run may spend; its flags override these. */
static int
c_budget(struct load *L, const struct node *n, const char *name)
{
	static const struct field tab[] = {
		{"max_cost", POSITIVE, NULL},
		{"max_tokens", POSINT, NULL},
	};

	if (c_is(L, n, name, MAPPING) < 0)
		return -1;
	return FIELDS(L, n, tab, name, 0);
}

/* The attributes a sample's prompt draws: each a list of values, alike
 * in weight, or a mapping from value to weight. */
static int
c_attributes(struct load *L, const struct node *n, const char *name)
{
	char sub[NAMELEN];
	const struct node *a;

	if (c_is(L, n, name, MAPPING) < 0)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		a = n->kid[i];
		dotted(sub, name, n->key[i].s);
		if (json_is_object(a->v)) {
			if (c_label_distribution(L, a, sub) < 0)
				return -1;
			if (a->n == 0)
				return fail(L, a, "\"%s\" has no value", sub);
			continue;
		}
		if (!json_is_array(a->v) || a->n == 0)
			return fail(L, a,
				"\"%s\" must be a list of values or a mapping"
				" of values to weights",
				sub);
		for (size_t k = 0; k < a->n; k++)
			if (!json_is_string(a->kid[k]->v))
				return fail(L, a->kid[k],
					"\"%s\" has a value that is not a "
					"string",
					sub);
	}
	return 0;
}

static int
c_subtopics(struct load *L, const struct node *n, const char *name)
{
	if (!json_is_integer(n->v) || json_integer_value(n->v) < 0)
		return fail(L, n, "\"%s\" must be an integer not less than 0",
			name);
	return 0;
}

static int
check(struct load *L, const struct node *root)
{
	static const struct field tab[] = {
		{"attributes", 0, c_attributes},
		{"budget", 0, c_budget},
		{"constraints", 0, c_constraints},
		{"domain", STRING, NULL},
		{"evaluation", 0, c_evaluation},
		{"grammar", 0, c_grammar},
		{"job_id", STRING, NULL},
		{"knowledge_base", STRING, NULL},
		{"num_samples", POSINT, NULL},
		{"output_format", 0, c_format},
		{"output_path", STRING, NULL},
		{"quality", 0, c_quality},
		{"quality_criteria", 0, c_criteria},
		{"reward", 0, c_reward},
		{"router_config", 0, c_router},
		{"subtopics", 0, c_subtopics},
		{"task", STRING, NULL},
		{"task_input", 0, c_task_input},
		{"validators", 0, c_validators},
	};

	if (!json_is_object(root->v))
		return fail(L, root, "a recipe must be a mapping, not %s",
			kind(root->v));
	if (FIELDS(L, root, tab, "", 0) < 0 ||
		required(L, root, "domain", "", STRING) < 0 ||
		required(L, root, "num_samples", "", POSINT) < 0)
		return -1;
	return 0;
}

/* What a recipe names, checked before a run starts rather than in its
 * first batch (sg_recipe_load_checked). */

/* The node of a dotted field name, as "router_config.arms[2].name", or
 * NULL. */
static const struct node *
find(const struct node *n, const char *field)
{
	char key[NAMELEN];
	size_t len;
	char *end;

	while (n && *field) {
		if (*field == '[') {
			size_t i = strtoul(field + 1, &end, 10);

			if (*end != ']' || !json_is_array(n->v) || i >= n->n)
				return NULL;
			n = n->kid[i];
			field = end + 1;
		} else {
			len = strcspn(field, ".[");
			if (len >= sizeof key)
				return NULL;
			memcpy(key, field, len);
			key[len] = '\0';
			n = get(n, key);
			field += len;
		}
		if (*field == '.')
			field++;
	}
	return n;
}

/* A file the recipe names (relative to the recipe's directory) can be
 * read. */
static int
readable(struct load *L, const struct node *n, const char *name)
{
	char *path;
	int rc = 0;

	if (!json_is_string(n->v))
		return 0;
	path = sg_recipe_relative(L->path, json_string_value(n->v));
	if (access(path, R_OK) < 0)
		rc = fail(L, n, "\"%s\": cannot open '%s': %s", name, path,
			strerror(errno));
	free(path);
	return rc;
}

/* The directory output_path is written in exists and takes files, or the
 * nearest one above it that exists can take the directories sg-run
 * makes; relative to where the tools run, as sg-run takes it. */
static int
writable_dir(struct load *L, const struct node *n)
{
	const char *out = json_string_value(n->v), *why = NULL;
	struct stat sb;
	char *dir, *slash;
	int rc = 0;

	if (!out)
		return 0;
	dir = sg_xmalloc(strlen(out) + 3);
	snprintf(dir, strlen(out) + 3, out[0] == '/' ? "%s" : "./%s", out);
	do { /* up a directory; "/" stays "/" */
		slash = strrchr(dir, '/');
		slash[slash == dir] = '\0';
	} while (stat(dir, &sb) < 0 && errno == ENOENT && slash != dir);
	if (stat(dir, &sb) < 0)
		why = strerror(errno);
	else if (!S_ISDIR(sb.st_mode))
		why = "not a directory";
	else if (access(dir, W_OK | X_OK) < 0)
		why = strerror(errno);
	if (why)
		rc = fail(L, n, "\"output_path\": cannot write in '%s': %s",
			out[0] == '/' || !dir[1] ? dir : dir + 2, why);
	free(dir);
	return rc;
}

/* The column a field of ti names is in the file's columns, and in every
 * row of JSON Lines. */
static int
has_column(struct load *L, const struct node *col, const char *name,
	const char *path, const json_t *rows, const json_t *columns)
{
	const char *c = json_string_value(col->v);
	char *names = sg_xstrdup("");
	size_t i, n = 0, m;
	json_t *v;
	int known = 0;

	json_array_foreach (columns, i, v) {
		known |= strcmp(json_string_value(v), c) == 0;
		m = strlen(json_string_value(v));
		names = sg_xrealloc(names, n + m + 3);
		n += (size_t)snprintf(names + n, m + 3, "%s%s", n ? ", " : "",
			json_string_value(v));
	}
	if (!known) {
		fail(L, col,
			"\"%s\": '%s' has no column \"%s\" (its columns: %s)",
			name, path, c, names);
		free(names);
		return -1;
	}
	free(names);
	json_array_foreach (rows, i, v)
		if (!json_object_get(json_object_get(v, "columns"), c))
			return fail(L, col, "\"%s\": %s:%lld has no \"%s\"",
				name, path, sg_get_int(v, "line", 0), c);
	return 0;
}

/* A batch input the task_input names can be read, is CSV (or JSON Lines)
 * and has the columns it names. */
static int
batch_input(struct load *L, const struct node *ti)
{
	const struct node *file = get(ti, "input_file"), *f, *col;
	const char *name = "task_input.input_file";
	char sub[NAMELEN];
	json_t *rows, *columns = NULL;
	struct sg_error e;
	char *path;
	int rc = 0;

	if (!file) {
		file = get(ti, "dataset_path");
		name = "task_input.dataset_path";
	}
	if (!file || !json_is_string(file->v))
		return 0;
	if (get(ti, "input_file") && !get(ti, "input_column"))
		return fail(L, ti,
			"missing field \"task_input.input_column\": the "
			"column of task_input.input_file to transform");
	path = sg_recipe_relative(L->path, json_string_value(file->v));
	if (!(rows = sg_rows_read(path, &columns, &e))) {
		rc = fail(L, file, "\"%s\": %s", name, e.text);
		free(path);
		return rc;
	}
	if ((col = get(ti, "input_column")) && get(ti, "input_file"))
		rc = has_column(
			L, col, "task_input.input_column", path, rows, columns);
	if (!rc && (col = get(ti, "output_column")) && get(ti, "input_file"))
		rc = has_column(L, col, "task_input.output_column", path, rows,
			columns);
	f = get(ti, "dataset_fields");
	for (size_t i = 0; !rc && !get(ti, "input_file") && f &&
			   json_is_object(f->v) && i < f->n;
		i++) {
		dotted(sub, "task_input.dataset_fields", f->key[i].s);
		rc = has_column(L, f->kid[i], sub, path, rows, columns);
	}
	json_decref(rows);
	json_decref(columns);
	free(path);
	return rc;
}

static int
deep(struct load *L, const struct node *root, sg_recipe_check_fn more)
{
	static const char *const files[] = {"knowledge_base",
		"validators.perplexity.reference",
		"validators.toxicity.lexicon"};
	const struct node *n;
	char field[NAMELEN];
	struct sg_error why;
	size_t i, k;

	for (i = 0; i < sizeof files / sizeof *files; i++) {
		if (!(n = find(root, files[i])))
			continue;
		if (readable(L, n, files[i]) < 0)
			return -1;
		for (k = 0; json_is_array(n->v) && k < n->n; k++)
			if (readable(L, n->kid[k], files[i]) < 0)
				return -1;
	}
	if ((n = get(root, "output_path")) && writable_dir(L, n) < 0)
		return -1;
	if ((n = get(root, "task_input")) && batch_input(L, n) < 0)
		return -1;
	if (more && more(root->v, field, sizeof field, &why) < 0) {
		n = find(root, field);
		return fail(L, n ? n : root, "%s", why.text);
	}
	return 0;
}

/* A recipe from its text; deeply: what it names is checked too. */
static json_t *
parse(const char *name, const char *src, size_t len, sg_warn_fn warn, void *ctx,
	int deeply, sg_recipe_check_fn more, struct sg_error *e)
{
	struct load L = {.path = name,
		.e = e,
		.warn = warn,
		.ctx = ctx,
		.src = src,
		.len = len};
	struct node *root;
	json_t *out = NULL;

	if (len > SG_MAX_RECIPE) {
		sg_seterr(e, "%s: recipe larger than %u bytes", name,
			SG_MAX_RECIPE);
		return NULL;
	}
	root = isjson(name, src, len) ? load_json(&L) : load_yaml(&L);
	if (root && check(&L, root) == 0 &&
		(!deeply || deep(&L, root, more) == 0))
		out = L.aliased ? json_deep_copy(root->v)
				: json_incref(root->v);
	for (size_t i = 0; i < L.nall; i++) {
		json_decref(L.all[i]->v);
		free(L.all[i]->kid);
		free(L.all[i]->key);
		free(L.all[i]);
	}
	free(L.all);
	free(L.lines);
	return out;
}

json_t *
sg_recipe_parse(const char *name, const char *src, size_t len, sg_warn_fn warn,
	void *ctx, struct sg_error *e)
{
	return parse(name, src, len, warn, ctx, 0, NULL, e);
}

char *
sg_recipe_relative(const char *recipe_path, const char *rel)
{
	const char *slash = recipe_path ? strrchr(recipe_path, '/') : NULL;
	size_t n;
	char *path;

	if (rel[0] == '/' || !slash)
		return sg_xstrdup(rel);
	n = (size_t)(slash - recipe_path) + strlen(rel) + 2;
	path = sg_xmalloc(n);
	snprintf(path, n, "%.*s/%s", (int)(slash - recipe_path), recipe_path,
		rel);
	return path;
}

static json_t *
load(const char *path, sg_warn_fn warn, void *ctx, int deeply,
	sg_recipe_check_fn more, struct sg_error *e)
{
	json_t *out;
	size_t len;
	char *src;

	src = sg_slurp(path, &len, e);
	if (!src) {
		/* "cannot open 'x'" from sg_slurp, said of a recipe */
		char why[sizeof e->text];
		const char *q = e ? strchr(e->text, '\'') : NULL;

		if (q) {
			memcpy(why, e->text, sizeof why);
			sg_seterr(e, "%.*srecipe %s", (int)(q - e->text), why,
				why + (q - e->text));
		}
		return NULL;
	}
	out = parse(path, src, len, warn, ctx, deeply, more, e);
	free(src);
	return out;
}

json_t *
sg_recipe_load(const char *path, sg_warn_fn warn, void *ctx, struct sg_error *e)
{
	return load(path, warn, ctx, 0, NULL, e);
}

json_t *
sg_recipe_load_checked(const char *path, sg_warn_fn warn, void *ctx,
	sg_recipe_check_fn more, struct sg_error *e)
{
	return load(path, warn, ctx, 1, more, e);
}

static int
uses_llm(const json_t *rules)
{
	const char *name;
	json_t *opts, *o;
	size_t i;

	json_object_foreach ((json_t *)rules, name, opts)
		json_array_foreach (opts, i, o)
			if (json_is_object(json_object_get(o, "llm_fill")))
				return 1;
	return 0;
}

json_t *
sg_recipe_context(const json_t *recipe, int llm)
{
	const json_t *cons = json_object_get(recipe, "constraints");
	const json_t *grammar = json_object_get(recipe, "grammar");
	const json_t *rules = json_object_get(grammar, "rules");
	const char *fmt = sg_get_str(recipe, "output_format");
	const char *cx =
		sg_get_str(json_object_get(recipe, "task_input"), "complexity");
	int kb = json_is_string(json_object_get(recipe, "knowledge_base"));
	size_t ncons = json_object_size(cons);

	if (!cx)
		cx = sg_get_str(cons, "complexity");
	if (!cx) {
		if (ncons > 3 || kb || json_object_size(rules) > 20)
			cx = "complex";
		else if (ncons == 0 && !json_is_object(grammar))
			cx = "simple";
		else
			cx = "medium";
	}
	return json_pack("{s:s?, s:s?, s:s, s:s, s:b, s:b, s:b, s:b}", "domain",
		sg_get_str(recipe, "domain"), "task",
		sg_get_str(recipe, "task"), "complexity", cx, "format",
		fmt ? fmt : "text", "kb", kb, "grammar",
		json_is_object(grammar), "grammar_llm",
		json_is_object(rules) && uses_llm(rules), "llm", llm != 0);
}

char *
sg_recipe_run(const json_t *recipe, const char *path)
{
	const char *id = sg_get_str(recipe, "job_id");
	const char *base = strrchr(path, '/');
	char *s, *dot;

	if (id && *id)
		return sg_xstrdup(id);
	s = sg_xstrdup(base && base[1] ? base + 1 : path);
	dot = strrchr(s, '.');
	if (dot && dot != s)
		*dot = '\0';
	return s;
}

long long
sg_recipe_batch_size(const json_t *recipe)
{
	long long n = sg_get_int(
		json_object_get(recipe, "router_config"), "batch_size", 5);

	return n > 0 ? n : 5;
}
