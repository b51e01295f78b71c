/*
 * grammar.c - the PCFG templater of sg-gen(1) and sg-recipe(5).  A grammar
 * is checked and compiled once: each template becomes a list of literal
 * and placeholder segments, each placeholder already knows its rule and
 * whether it stands inside a JSON string, so an expansion only copies and
 * draws.  The JSON Schema of a grammar's output is derived from the same
 * segments.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"

/* An enum is worth deriving only for a small set of strings. */
#define MAX_ENUM 50
/* Guards against grammars that explode (a: <a><a>) within max_depth. */
#define MAX_STEPS (1L << 22)

struct seg {
	const char *text; /* a literal: points into the owning template */
	size_t len;
	int rule;  /* a placeholder: the rule's index, else -1 */
	int instr; /* the placeholder stands inside a JSON string literal */
};

struct opt {
	char *tmpl; /* the template, or NULL for an llm_fill */
	char *prompt;
	struct seg *segs;
	size_t nseg;
	double logw;
};

struct rule {
	char *name;
	struct opt *opts;
	size_t nopt;
	double *cum; /* cumulative reshaped weights for g->temp */
};

enum mode { TEXT, ESCAPED, JSON };

struct sg_grammar {
	struct rule *rules;
	size_t nrule;
	int start;
	int uses_llm;
	double temp;	  /* the temperature rule->cum was computed for */
	json_t **memo[2]; /* schema: per rule, its expansions in text/JSON */
	unsigned char *busy;
	unsigned char *allow; /* the start rule's options drawn, NULL: all */
};

struct buf {
	char *p;
	size_t len, cap;
};

struct expansion {
	struct sg_grammar *g;
	struct sg_rng *rng;
	int max_depth;
	sg_fill_fn fill;
	void *fillctx;
	long steps;
	struct buf out;
	struct sg_error *e;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? 2 * b->cap : 256;
		b->p = sg_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* JSON string escaping; bytes from 0x80 up are UTF-8 and stay as they are. */
static void
buf_add_escaped(struct buf *b, const char *s, size_t n)
{
	const char *run = s, *end = s + n;
	char u[8];

	for (; s < end; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		u[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			u[1] = (char)c;
			break;
		case '\b':
			u[1] = 'b';
			break;
		case '\f':
			u[1] = 'f';
			break;
		case '\n':
			u[1] = 'n';
			break;
		case '\r':
			u[1] = 'r';
			break;
		case '\t':
			u[1] = 't';
			break;
		default:
			buf_add(b, u,
				(size_t)snprintf(u, sizeof u, "\\u%04x", c));
			continue;
		}
		buf_add(b, u, 2);
	}
	buf_add(b, run, (size_t)(end - run));
}

static int
find_rule(const struct sg_grammar *g, const char *name, size_t n)
{
	for (size_t i = 0; i < g->nrule; i++)
		if (strncmp(g->rules[i].name, name, n) == 0 &&
			g->rules[i].name[n] == '\0')
			return (int)i;
	return -1;
}

static size_t
placeholder_len(const char *p)
{
	size_t n = strspn(p + 1,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789_");

	return n > 0 && p[n + 1] == '>' ? n + 2 : 0;
}

/* Split a template into segments, following JSON string literals so each
 * placeholder knows whether it is quoted. */
static int
compile_template(
	struct sg_grammar *g, struct rule *r, size_t k, struct sg_error *e)
{
	struct opt *o = &r->opts[k];
	const char *p = o->tmpl, *lit = p;
	size_t cap = 4, n;
	int instr = 0, rule;

	o->segs = sg_xmalloc(cap * sizeof *o->segs);
	for (;;) {
		n = *p == '<' ? placeholder_len(p) : 0;
		if (n == 0 && *p != '\0') {
			if (*p == '"')
				instr = !instr;
			else if (*p == '\\' && instr && p[1] != '\0')
				p++;
			p++;
			continue;
		}
		if (o->nseg + 2 > cap)
			o->segs = sg_xrealloc(
				o->segs, (cap *= 2) * sizeof *o->segs);
		if (p > lit)
			o->segs[o->nseg++] =
				(struct seg){lit, (size_t)(p - lit), -1, 0};
		if (*p == '\0')
			return 0;
		rule = find_rule(g, p + 1, n - 2);
		if (rule < 0) {
			sg_seterr(e,
				"rule \"%s\" option %zu: unknown rule \"%.*s\"",
				r->name, k + 1, (int)(n - 2), p + 1);
			return -1;
		}
		o->segs[o->nseg++] = (struct seg){NULL, 0, rule, instr};
		p += n;
		lit = p;
	}
}

static int
load_option(struct rule *r, size_t k, const json_t *jo, struct sg_error *e)
{
	struct opt *o = &r->opts[k];
	json_t *t = json_object_get(jo, "template");
	json_t *f = json_object_get(jo, "llm_fill");
	json_t *w = json_object_get(jo, "weight");
	double wv = 1.0;

	if (!json_is_object(jo)) {
		sg_seterr(e, "rule \"%s\" option %zu is not an object", r->name,
			k + 1);
		return -1;
	}
	if (!t == !f) {
		sg_seterr(e,
			"rule \"%s\" option %zu needs exactly one of "
			"\"template\" and \"llm_fill\"",
			r->name, k + 1);
		return -1;
	}
	if (w) {
		wv = json_is_number(w) ? json_number_value(w) : -1;
		if (!(wv > 0) || !isfinite(wv)) {
			sg_seterr(e,
				"rule \"%s\" option %zu: weight must be a "
				"positive number",
				r->name, k + 1);
			return -1;
		}
	}
	o->logw = log(wv);
	if (f) {
		if (!json_is_string(json_object_get(f, "prompt"))) {
			sg_seterr(e,
				"rule \"%s\" option %zu: llm_fill has no "
				"string \"prompt\"",
				r->name, k + 1);
			return -1;
		}
		o->prompt = sg_xstrdup(sg_get_str(f, "prompt"));
		return 0;
	}
	if (!json_is_string(t)) {
		sg_seterr(e, "rule \"%s\" option %zu: template is not a string",
			r->name, k + 1);
		return -1;
	}
	o->tmpl = sg_xstrdup(json_string_value(t));
	return 0;
}

/* Depth-first over placeholders from the start rule. */
static int
reaches_llm(const struct sg_grammar *g, int i, unsigned char *seen)
{
	const struct rule *r = &g->rules[i];

	if (seen[i])
		return 0;
	seen[i] = 1;
	for (size_t k = 0; k < r->nopt; k++) {
		if (!r->opts[k].tmpl)
			return 1;
		for (size_t s = 0; s < r->opts[k].nseg; s++)
			if (r->opts[k].segs[s].rule >= 0 &&
				reaches_llm(g, r->opts[k].segs[s].rule, seen))
				return 1;
	}
	return 0;
}

struct sg_grammar *
sg_grammar_new(const json_t *grammar, struct sg_error *e)
{
	struct sg_grammar *g;
	const json_t *rules = json_object_get(grammar, "rules");
	const char *start = sg_get_str(grammar, "start");
	const char *name;
	json_t *opts;
	size_t i = 0;

	if (!json_is_object(grammar)) {
		sg_seterr(e, "grammar is not an object");
		return NULL;
	}
	if (!start) {
		sg_seterr(e, "grammar has no string \"start\"");
		return NULL;
	}
	if (!json_is_object(rules) || json_object_size(rules) == 0) {
		sg_seterr(e, "grammar has no \"rules\" object");
		return NULL;
	}
	g = sg_xmalloc(sizeof *g);
	memset(g, 0, sizeof *g);
	g->temp = NAN;
	g->rules = sg_xmalloc(json_object_size(rules) * sizeof *g->rules);
	json_object_foreach ((json_t *)rules, name, opts) {
		struct rule *r = &g->rules[g->nrule++];

		memset(r, 0, sizeof *r);
		r->name = sg_xstrdup(name);
		if (!json_is_array(opts) || json_array_size(opts) == 0) {
			sg_seterr(e, "rule \"%s\" has no options", name);
			goto fail;
		}
		r->opts = sg_xmalloc(json_array_size(opts) * sizeof *r->opts);
		memset(r->opts, 0, json_array_size(opts) * sizeof *r->opts);
		r->cum = sg_xmalloc(json_array_size(opts) * sizeof *r->cum);
		for (r->nopt = 0; r->nopt < json_array_size(opts); r->nopt++)
			if (load_option(r, r->nopt,
				    json_array_get(opts, r->nopt), e) < 0) {
				r->nopt++;
				goto fail;
			}
	}
	for (i = 0; i < g->nrule; i++)
		for (size_t k = 0; k < g->rules[i].nopt; k++)
			if (g->rules[i].opts[k].tmpl &&
				compile_template(g, &g->rules[i], k, e) < 0)
				goto fail;
	g->start = find_rule(g, start, strlen(start));
	if (g->start < 0) {
		sg_seterr(e, "start rule \"%s\" is not defined", start);
		goto fail;
	}
	g->busy = sg_xmalloc(g->nrule);
	memset(g->busy, 0, g->nrule);
	g->uses_llm = reaches_llm(g, g->start, g->busy);
	memset(g->busy, 0, g->nrule);
	return g;
fail:
	sg_grammar_free(g);
	return NULL;
}

void
sg_grammar_free(struct sg_grammar *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nrule; i++) {
		struct rule *r = &g->rules[i];

		for (size_t k = 0; k < r->nopt; k++) {
			free(r->opts[k].tmpl);
			free(r->opts[k].prompt);
			free(r->opts[k].segs);
		}
		free(r->opts);
		free(r->cum);
		free(r->name);
	}
	free(g->rules);
	free(g->busy);
	free(g->allow);
	free(g);
}

int
sg_grammar_uses_llm(const struct sg_grammar *g)
{
	return g->uses_llm;
}

/* Weights w^(1/T) in log space, scaled by the largest so a low
 * temperature cannot overflow or underflow to all zeros. */
static void
reshape(struct sg_grammar *g, double temp)
{
	if (g->temp == temp)
		return;
	for (size_t i = 0; i < g->nrule; i++) {
		struct rule *r = &g->rules[i];
		double top = -INFINITY, sum = 0;

		for (size_t k = 0; k < r->nopt; k++)
			if (r->opts[k].logw > top)
				top = r->opts[k].logw;
		for (size_t k = 0; k < r->nopt; k++) {
			sum += exp((r->opts[k].logw - top) / temp);
			r->cum[k] = sum;
		}
	}
	g->temp = temp;
}

static const struct opt *
choose(const struct rule *r, struct sg_rng *rng)
{
	double u;
	size_t k = 0;

	if (r->nopt == 1)
		return &r->opts[0];
	u = sg_rng_uniform(rng) * r->cum[r->nopt - 1];
	while (k + 1 < r->nopt && u >= r->cum[k])
		k++;
	return &r->opts[k];
}

/* choose() among the options allow marks. */
static const struct opt *
choose_among(
	const struct rule *r, const unsigned char *allow, struct sg_rng *rng)
{
	double u, total = 0;
	size_t k, last = 0, n = 0;

	for (k = 0; k < r->nopt; k++)
		if (allow[k]) {
			total += r->cum[k] - (k ? r->cum[k - 1] : 0);
			last = k;
			n++;
		}
	if (n == 1)
		return &r->opts[last];
	u = sg_rng_uniform(rng) * total;
	for (k = 0; k < r->nopt; k++)
		if (allow[k] && (u -= r->cum[k] - (k ? r->cum[k - 1] : 0)) < 0)
			return &r->opts[k];
	return &r->opts[last];
}

static void
emit(struct buf *b, const char *s, size_t n, enum mode m)
{
	if (m == ESCAPED)
		buf_add_escaped(b, s, n);
	else
		buf_add(b, s, n);
}

static int
expand(struct expansion *x, int ri, int depth, enum mode m)
{
	const struct rule *r = &x->g->rules[ri];
	const struct opt *o;
	struct sg_error sub;
	char *s;

	if (depth > x->max_depth) {
		sg_seterr(x->e, "max depth %d exceeded in rule \"%s\"",
			x->max_depth, r->name);
		return -1;
	}
	if (++x->steps > MAX_STEPS || x->out.len > SG_MAX_RECORD) {
		sg_seterr(x->e, "expansion of rule \"%s\" grew too large",
			r->name);
		return -1;
	}
	o = depth == 1 && x->g->allow ? choose_among(r, x->g->allow, x->rng)
				      : choose(r, x->rng);
	if (!o->tmpl) {
		if (!x->fill) {
			sg_seterr(x->e, "rule \"%s\" needs an LLM (llm_fill)",
				r->name);
			return -1;
		}
		s = x->fill(x->fillctx, o->prompt, &sub);
		if (!s) {
			sg_seterr(x->e, "rule \"%s\": %s", r->name, sub.text);
			return -1;
		}
		emit(&x->out, s, strlen(s), m);
		free(s);
		return 0;
	}
	for (size_t i = 0; i < o->nseg; i++) {
		const struct seg *sg = &o->segs[i];
		enum mode sm = m;

		if (sg->rule < 0) {
			emit(&x->out, sg->text, sg->len, m);
			continue;
		}
		if (m == JSON && sg->instr)
			sm = ESCAPED;
		if (expand(x, sg->rule, depth + 1, sm) < 0)
			return -1;
	}
	return 0;
}

char *
sg_grammar_expand(struct sg_grammar *g, struct sg_rng *rng, double temperature,
	int max_depth, int json, sg_fill_fn fill, void *fillctx,
	struct sg_error *e)
{
	struct expansion x = {g, rng, max_depth, fill, fillctx, 0, {0}, e};

	if (!(temperature > 0) || !isfinite(temperature)) {
		sg_seterr(e, "temperature %g is not a positive number",
			temperature);
		return NULL;
	}
	if (max_depth < 1 || max_depth > SG_GRAMMAR_MAX_DEPTH) {
		sg_seterr(e, "max_depth %d is not between 1 and %d", max_depth,
			SG_GRAMMAR_MAX_DEPTH);
		return NULL;
	}
	reshape(g, temperature);
	if (expand(&x, g->start, 1, json ? JSON : TEXT) < 0) {
		free(x.out.p);
		return NULL;
	}
	if (!x.out.p)
		return sg_xstrdup("");
	return x.out.p;
}

/*
 * Schema derivation.  expansions() lists every complete expansion of a rule
 * when there are at most MAX_ENUM of them, as a JSON array of strings
 * (text mode, or JSON mode where quoted parts come out escaped), or NULL
 * when the rule recurses, needs an LLM or has too many.
 */
static json_t *expansions(struct sg_grammar *g, int ri, int json);

static int
set_add(json_t *set, const char *s, size_t n)
{
	size_t i;
	json_t *v;

	json_array_foreach (set, i, v)
		if (json_string_length(v) == n &&
			memcmp(json_string_value(v), s, n) == 0)
			return 0;
	if (json_array_size(set) >= MAX_ENUM)
		return -1;
	return json_array_append_new(set, json_stringn(s, n));
}

/* All concatenations of the strings in prefixes with those in parts;
 * consumes prefixes. */
static json_t *
product(json_t *prefixes, const json_t *parts, int escape)
{
	json_t *out = json_array(), *p, *q;
	struct buf b = {0};
	size_t i, j;

	json_array_foreach (prefixes, i, p)
		json_array_foreach (parts, j, q) {
			b.len = 0;
			buf_add(&b, json_string_value(p),
				json_string_length(p));
			emit(&b, json_string_value(q), json_string_length(q),
				escape ? ESCAPED : TEXT);
			if (set_add(out, b.p, b.len) < 0) {
				json_decref(out);
				out = NULL;
				goto done;
			}
		}
done:
	free(b.p);
	json_decref(prefixes);
	return out;
}

static json_t *
option_expansions(struct sg_grammar *g, const struct opt *o, int json)
{
	json_t *acc = json_array(), *part;

	if (!o->tmpl) {
		json_decref(acc);
		return NULL;
	}
	json_array_append_new(acc, json_string(""));
	for (size_t i = 0; i < o->nseg && acc; i++) {
		const struct seg *s = &o->segs[i];
		int quoted = json && s->instr;

		if (s->rule < 0) {
			part = json_array();
			json_array_append_new(
				part, json_stringn(s->text, s->len));
		} else {
			part = json_incref(
				expansions(g, s->rule, json && !quoted));
			if (!part) {
				json_decref(acc);
				return NULL;
			}
		}
		acc = product(acc, part, quoted);
		json_decref(part);
	}
	return acc;
}

static json_t *
expansions(struct sg_grammar *g, int ri, int json)
{
	const struct rule *r = &g->rules[ri];
	unsigned char bit = (unsigned char)(json ? 2 : 1);
	json_t *set, *one, *v;
	size_t i;

	if (!g->memo[json]) {
		g->memo[json] = sg_xmalloc(g->nrule * sizeof(json_t *));
		memset(g->memo[json], 0, g->nrule * sizeof(json_t *));
	}
	if (g->memo[json][ri] || (g->busy[ri] & bit))
		return g->memo[json][ri];
	g->busy[ri] |= bit;
	set = json_array();
	for (size_t k = 0; k < r->nopt && set; k++) {
		one = option_expansions(g, &r->opts[k], json);
		if (!one) {
			json_decref(set);
			set = NULL;
			break;
		}
		json_array_foreach (one, i, v)
			if (set_add(set, json_string_value(v),
				    json_string_length(v)) < 0) {
				json_decref(set);
				set = NULL;
				break;
			}
		json_decref(one);
	}
	/* busy stays set: a rule found infinite is not tried again */
	g->memo[json][ri] = set;
	return set;
}

/* The sentinels that stand for placeholders while a template is parsed:
 * U+E000 i U+E001 inside a string, "U+E002 i U+E003" for a bare one. */
#define Q_OPEN "\xee\x80\x80"
#define Q_CLOSE "\xee\x80\x81"
#define B_OPEN "\xee\x80\x82"
#define B_CLOSE "\xee\x80\x83"

static json_t *placeholder_schema(struct sg_grammar *g, int ri);

static json_t *
parse_template(const struct opt *o)
{
	struct buf b = {0};
	char tok[40];
	json_t *v;

	if (!o->tmpl)
		return NULL;
	for (size_t i = 0; i < o->nseg; i++) {
		const struct seg *s = &o->segs[i];

		if (s->rule < 0)
			buf_add(&b, s->text, s->len);
		else if (s->instr)
			buf_add(&b, tok,
				(size_t)snprintf(tok, sizeof tok,
					"\\ue000%zu\\ue001", i));
		else
			buf_add(&b, tok,
				(size_t)snprintf(tok, sizeof tok,
					"\"\\ue002%zu\\ue003\"", i));
	}
	v = b.p ? json_loads(b.p, JSON_DECODE_ANY, NULL) : NULL;
	free(b.p);
	return v;
}

static void
add_type(json_t *types, const char *t)
{
	size_t i;
	json_t *v;

	json_array_foreach (types, i, v)
		if (strcmp(json_string_value(v), t) == 0)
			return;
	json_array_append_new(types, json_string(t));
}

static int
has_type(const json_t *types, const char *t)
{
	size_t i;
	json_t *v;

	json_array_foreach (types, i, v)
		if (strcmp(json_string_value(v), t) == 0)
			return 1;
	return 0;
}

/* The "type" of a schema as an array of names, merged into types. */
static void
add_types(json_t *types, const json_t *s)
{
	json_t *t = json_object_get(s, "type"), *v;
	size_t i;

	if (json_is_string(t))
		add_type(types, json_string_value(t));
	json_array_foreach (t, i, v)
		add_type(types, json_string_value(v));
}

static void
merge_type(json_t *m, const json_t *a, const json_t *b)
{
	json_t *types = json_array(), *v;
	size_t i;

	add_types(types, a);
	add_types(types, b);
	/* an integer is a number: "number" alone says the same */
	if (has_type(types, "number"))
		json_array_foreach (types, i, v)
			if (strcmp(json_string_value(v), "integer") == 0) {
				json_array_remove(types, i);
				break;
			}
	if (json_array_size(types) == 1)
		json_object_set(m, "type", json_array_get(types, 0));
	else if (json_array_size(types) > 1)
		json_object_set(m, "type", types);
	json_decref(types);
}

static void
merge_enum(json_t *m, const json_t *a, const json_t *b)
{
	json_t *ea = json_object_get(a, "enum"),
	       *eb = json_object_get(b, "enum");
	json_t *u, *v;
	size_t i, j;

	if (!ea || !eb)
		return;
	u = json_copy(ea);
	json_array_foreach (eb, i, v) {
		for (j = 0; j < json_array_size(u); j++)
			if (json_equal(json_array_get(u, j), v))
				break;
		if (j == json_array_size(u))
			json_array_append(u, v);
	}
	if (json_array_size(u) <= MAX_ENUM)
		json_object_set(m, "enum", u);
	json_decref(u);
}

static json_t *merge(const json_t *a, const json_t *b);

static void
merge_properties(json_t *m, const json_t *a, const json_t *b)
{
	json_t *pa = json_object_get(a, "properties");
	json_t *pb = json_object_get(b, "properties");
	json_t *rb = json_object_get(b, "required");
	json_t *props, *req, *v, *w;
	const char *key;
	size_t i, j;

	if (!pa && !pb)
		return;
	props = json_object();
	json_object_foreach (pa, key, v) {
		w = json_object_get(pb, key);
		json_object_set_new(
			props, key, w ? merge(v, w) : json_incref(v));
	}
	json_object_foreach (pb, key, v)
		if (!json_object_get(props, key))
			json_object_set(props, key, v);
	json_object_set_new(m, "properties", props);
	/* a key is required only where every alternative has it */
	req = json_array();
	json_array_foreach (json_object_get(a, "required"), i, v)
		for (j = 0; j < json_array_size(rb); j++)
			if (json_equal(v, json_array_get(rb, j)))
				json_array_append(req, v);
	json_object_set_new(m, "required", req);
	json_object_set_new(m, "additionalProperties", json_false());
}

/* The union of two schemas, loosened to what this subset can say. */
static json_t *
merge(const json_t *a, const json_t *b)
{
	json_t *m, *ia, *ib;

	if (json_object_size(a) == 0 || json_object_size(b) == 0)
		return json_object();
	m = json_object();
	merge_type(m, a, b);
	merge_enum(m, a, b);
	merge_properties(m, a, b);
	ia = json_object_get(a, "items");
	ib = json_object_get(b, "items");
	if (ia && ib)
		json_object_set_new(m, "items", merge(ia, ib));
	else if (ia || ib)
		json_object_set(m, "items", ia ? ia : ib);
	return m;
}

/* Folds s into *acc; consumes s. */
static void
merge_into(json_t **acc, json_t *s)
{
	json_t *m;

	if (!*acc) {
		*acc = s;
		return;
	}
	m = merge(*acc, s);
	json_decref(*acc);
	json_decref(s);
	*acc = m;
}

static json_t *
typed(const char *type, json_t *enumv)
{
	json_t *s = json_pack("{ss}", "type", type);

	if (enumv)
		json_object_set_new(s, "enum", enumv);
	return s;
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_STRING:
		return "string";
	case JSON_NULL:
		return "null";
	default:
		return NULL;
	}
}

/* The placeholder whose sentinel opens p, and where the sentinel ends;
 * -1 for text that only looks like one. */
static int
sentinel(
	const struct opt *o, const char *p, const char *close, const char **end)
{
	char *q;
	unsigned long idx = strtoul(p + 3, &q, 10);

	if (!isdigit((unsigned char)p[3]) || strncmp(q, close, 3) != 0 ||
		idx >= o->nseg || o->segs[idx].rule < 0)
		return -1;
	*end = q + 3;
	return o->segs[idx].rule;
}

/* A string value: the enum of its expansions when they are few. */
static json_t *
string_schema(struct sg_grammar *g, const struct opt *o, const char *s)
{
	const char *p = s, *q, *end;
	json_t *acc, *part;
	int ri;

	if (strncmp(s, B_OPEN, 3) == 0 &&
		(ri = sentinel(o, s, B_CLOSE, &end)) >= 0 && *end == '\0')
		return placeholder_schema(g, ri);
	acc = json_array();
	json_array_append_new(acc, json_string(""));
	while (acc && *p) {
		q = strstr(p, Q_OPEN);
		if (q == p && (ri = sentinel(o, p, Q_CLOSE, &end)) >= 0) {
			part = json_incref(expansions(g, ri, 0));
			p = end;
			if (!part) {
				json_decref(acc);
				return typed("string", NULL);
			}
		} else {
			if (q == p)
				q = strstr(p + 3, Q_OPEN);
			q = q ? q : p + strlen(p);
			part = json_array();
			json_array_append_new(
				part, json_stringn(p, (size_t)(q - p)));
			p = q;
		}
		acc = product(acc, part, 0);
		json_decref(part);
	}
	return typed("string", acc);
}

/* A template's parsed value: const-like for scalars, structure for the
 * rest, the placeholders' schemas where their sentinels stand. */
static json_t *
value_schema(struct sg_grammar *g, const struct opt *o, const json_t *v)
{
	json_t *s, *props, *req, *item, *items = NULL;
	const char *key;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		s = json_pack("{ss}", "type", "object");
		props = json_object();
		req = json_array();
		json_object_foreach ((json_t *)v, key, item) {
			if (strstr(key, Q_OPEN) || strstr(key, B_OPEN)) {
				json_decref(props);
				json_decref(req);
				return s;
			}
			json_object_set_new(
				props, key, value_schema(g, o, item));
			json_array_append_new(req, json_string(key));
		}
		json_object_set_new(s, "properties", props);
		json_object_set_new(s, "required", req);
		json_object_set_new(s, "additionalProperties", json_false());
		return s;
	case JSON_ARRAY:
		s = json_pack("{ss}", "type", "array");
		json_array_foreach (v, i, item)
			merge_into(&items, value_schema(g, o, item));
		if (items)
			json_object_set_new(s, "items", items);
		return s;
	case JSON_STRING:
		return string_schema(g, o, json_string_value(v));
	case JSON_NULL:
		return typed("null", NULL);
	default:
		return typed(json_type_name(v), json_pack("[O]", v));
	}
}

/* A placeholder outside any string: a small set of scalars gives a type
 * and an enum, JSON structure in every option gives its schema, anything
 * else is left unconstrained. */
static json_t *
placeholder_schema(struct sg_grammar *g, int ri)
{
	const struct rule *r = &g->rules[ri];
	json_t *set = expansions(g, ri, 1), *s = NULL, *v, *parsed;
	size_t i;

	if (set) {
		json_array_foreach (set, i, v) {
			parsed = json_loads(
				json_string_value(v), JSON_DECODE_ANY, NULL);
			if (!parsed || !json_type_name(parsed)) {
				json_decref(parsed);
				json_decref(s);
				s = NULL;
				break;
			}
			merge_into(&s, typed(json_type_name(parsed),
					       json_pack("[o]", parsed)));
		}
		if (s)
			return s;
	}
	if (g->busy[ri] & 4)
		return json_object();
	g->busy[ri] |= 4;
	for (size_t k = 0; k < r->nopt; k++) {
		parsed = parse_template(&r->opts[k]);
		if (!json_is_object(parsed) && !json_is_array(parsed)) {
			json_decref(parsed);
			json_decref(s);
			s = json_object();
			break;
		}
		merge_into(&s, value_schema(g, &r->opts[k], parsed));
		json_decref(parsed);
	}
	g->busy[ri] &= (unsigned char)~4;
	return s;
}

/* What an option of the start rule gives a JSON sample's field. */
enum { GIVES_NOT, GIVES_MAYBE, GIVES_LABEL };

static int
gives(const struct opt *o, const char *field, const char *label)
{
	json_t *v = parse_template(o), *x;
	const char *s;
	char *l;
	int r = GIVES_NOT;

	s = json_string_value(v);
	if (!o->tmpl || (s && strncmp(s, B_OPEN, 3) == 0)) {
		/* the whole sample is an LLM's or a rule's */
		r = GIVES_MAYBE;
	} else if (json_is_object(v) && (x = sg_path(v, field))) {
		s = json_string_value(x);
		if (s && (strstr(s, Q_OPEN) || strstr(s, B_OPEN)))
			r = GIVES_MAYBE;
		else if ((l = sg_label_string(x))) {
			r = strcmp(l, label) == 0 ? GIVES_LABEL : GIVES_NOT;
			free(l);
		}
	}
	json_decref(v);
	return r;
}

int
sg_grammar_want(struct sg_grammar *g, const char *field, const char *label)
{
	const struct rule *r = &g->rules[g->start];
	int any = 0, sure = 1, how;

	free(g->allow);
	g->allow = NULL;
	if (!label)
		return 1;
	g->allow = sg_xmalloc(r->nopt);
	for (size_t k = 0; k < r->nopt; k++) {
		how = gives(&r->opts[k], field, label);
		g->allow[k] = how != GIVES_NOT;
		any |= how != GIVES_NOT;
		sure &= how != GIVES_MAYBE;
	}
	if (!any) {
		free(g->allow);
		g->allow = NULL;
		return -1;
	}
	return sure;
}

json_t *
sg_grammar_schema(const struct sg_grammar *cg)
{
	/* the memo tables are a cache; the grammar itself stays as it was */
	struct sg_grammar *g = (struct sg_grammar *)cg;
	json_t *s;

	s = placeholder_schema(g, g->start);
	for (int json = 0; json < 2; json++) {
		for (size_t i = 0; g->memo[json] && i < g->nrule; i++)
			json_decref(g->memo[json][i]);
		free(g->memo[json]);
		g->memo[json] = NULL;
	}
	memset(g->busy, 0, g->nrule);
	if (!json_is_object(s) ||
		strcmp(sg_get_str(s, "type") ? sg_get_str(s, "type") : "",
			"object") != 0) {
		json_decref(s);
		return NULL;
	}
	return s;
}
