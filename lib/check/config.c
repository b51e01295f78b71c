/*
 * config.c - the checks of sg-validate a recipe asks for, read once per
 * recipe: bounds, patterns, schemas, and the lexicons and language models
 * they need, loaded once per run and shared by every recipe.  A problem
 * with the recipe goes to the validator's warn function and is counted;
 * the check it spoils then fails every sample, saying why.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "check/check-internal.h"

struct sg_validator *
sg_validator_new(
	struct sg_seen *seen, const char *lexicon, sg_warn_fn warn, void *ctx)
{
	struct sg_validator *v = sg_xmalloc(sizeof *v);

	v->seen = seen;
	v->lexicon = lexicon;
	v->warn = warn;
	v->ctx = ctx;
	v->lexicons = json_object();
	v->tfidf = sg_tfidf_new();
	v->models = json_object();
	v->kbtexts = json_object();
	v->refs = json_object();
	return v;
}

void
sg_validator_free(struct sg_validator *v)
{
	const char *name;
	json_t *x;

	if (!v)
		return;
	json_object_foreach (v->lexicons, name, x)
		sg_lexicon_free(
			(struct sg_lexicon *)(uintptr_t)json_integer_value(x));
	json_decref(v->lexicons);
	json_decref(v->kbtexts);
	sg_tfidf_free(v->tfidf);
	json_object_foreach (v->models, name, x)
		sg_lm_free((struct sg_lm *)(uintptr_t)json_integer_value(
			json_array_get(x, 0)));
	json_decref(v->models);
	json_object_foreach (v->refs, name, x)
		sg_seen_free(
			(struct sg_seen *)(uintptr_t)json_integer_value(x));
	json_decref(v->refs);
	free(v);
}

void
sg_validator_warn(const struct sg_validator *v, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (v->warn)
		v->warn(v->ctx, msg);
}

void
sg_checks_free(struct sg_checks *c)
{
	struct sg_error e;

	if (!c)
		return;
	json_decref(c->recipe);
	free(c->recipe_path);
	json_decref(c->format);
	json_decref(c->schema);
	free(c->unusable[SG_U_FORMAT]);
	free(c->unusable[SG_U_SCHEMA]);
	free(c->unusable[SG_U_TOXIC]);
	free(c->unusable[SG_U_PPL]);
	free(c->unusable[SG_U_CUSTOM]);
	sg_minhash_free(c->near);
	free(c->set);
	free(c->tokens.v);
	if (c->cp && sg_coproc_end(c->cp, &e) != 0)
		sg_validator_warn(c->v, "custom check \"%s\" ended badly",
			c->custom_name);
	free(c);
}

/* Whose recipe a problem is in, for messages: the start of each, as
 * "<stdin>:3: job \"recipe." or "recipe.yaml: \"", and how many. */
struct origin {
	const struct sg_validator *v;
	const char *lead;
	int bad;
};

static void complain(struct origin *o, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
complain(struct origin *o, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sg_validator_warn(o->v, "%s%s\" %s", o->lead, field, msg);
	o->bad++;
}

/* The bound at the dotted path fmt with "min" or "max" put in, a count
 * >= 0; NAN when it is unset, or bad and reported. */
static double
bound(const json_t *recipe, const char *fmt, const char *end, struct origin *o)
{
	char path[64];
	json_t *v;

	snprintf(path, sizeof path, fmt, end);
	if (!(v = sg_path(recipe, path)) || json_is_null(v))
		return NAN;
	if (json_is_number(v) && json_number_value(v) >= 0)
		return json_number_value(v);
	complain(o, path, "is not a number >= 0");
	return NAN;
}

static double
first(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			return v[i];
	return NAN;
}

/* Whether the checks the recipe's constraints ask for may run: unless
 * validators.<name> is listed and off (sg_validator_on). */
static int
enabled(const json_t *recipe, const char *name)
{
	json_t *v = sg_path(sg_path(recipe, "validators"), name);

	return !json_is_object(v) || sg_validator_on(recipe, name);
}

/* Each bound from the first place that sets it.  Those of
 * validators.length count characters, or words when its unit says so. */
static void
config_bounds(struct sg_checks *c, struct origin *o)
{
	const char *unit =
		sg_get_str(sg_path(c->recipe, "validators.length"), "unit");
	int on = enabled(c->recipe, "length"), w;
	json_t *r = c->recipe;

	w = unit && (strcmp(unit, "words") == 0 || strcmp(unit, "tokens") == 0);
	for (int i = 0; i < 2; i++) {
		const char *m = i ? "max" : "min";
		double v[] = {bound(r, "validators.length.%s", m, o),
			bound(r, "validators.length.%s_length", m, o)};
		double len[] = {bound(r, "constraints.%s_length", m, o),
			w ? NAN : first(v, 2),
			bound(r, "task_input.%s_length", m, o)};
		double words[] = {bound(r, "constraints.%s_words", m, o),
			bound(r, "validators.length.%s_words", m, o),
			w ? first(v, 2) : NAN,
			bound(r, "task_input.%s_words", m, o),
			bound(r, "task_input.review_length_tokens.%s", m, o),
			bound(r, "task_input.length.%s_words", m, o)};

		c->len[i] = first(len, 3);
		c->nwords[i] = first(words, 6);
	}
	c->length = on && !(isnan(c->len[0]) && isnan(c->len[1]));
	c->words = on && !(isnan(c->nwords[0]) && isnan(c->nwords[1]));
}

static void
config_format(struct sg_checks *c, struct origin *o)
{
	static const char *const paths[] = {"constraints.pattern",
		"validators.format.pattern", "validators.regex.pattern", NULL};
	struct sg_error e;
	json_t *v = NULL;
	size_t i;

	if (!enabled(c->recipe, "format") || !enabled(c->recipe, "regex"))
		return;
	for (i = 0; paths[i] && (!v || json_is_null(v)); i++)
		v = sg_path(c->recipe, paths[i]);
	if (!v || json_is_null(v))
		return;
	if (!json_is_string(v)) {
		complain(o, paths[i - 1], "is not a string");
		c->unusable[SG_U_FORMAT] =
			sg_xstrdup("the pattern is unusable");
		return;
	}
	c->pattern = json_string_value(v);
	c->format = json_pack("{sO}", "pattern", v);
	if (sg_schema_check(c->format, &e) < 0) {
		/* the message names the schema's root: keep what follows */
		const char *why = strstr(e.text, ": ")
					  ? strstr(e.text, ": ") + 2
					  : e.text;

		complain(o, paths[i - 1], "%s", why);
		c->unusable[SG_U_FORMAT] = sg_xstrdup(why);
	}
}

static void
config_schema(struct sg_checks *c, struct origin *o)
{
	const char *fmt = sg_get_str(c->recipe, "output_format");
	json_t *v = sg_path(c->recipe, "constraints.schema");
	const char *field = "constraints.schema";
	struct sg_grammar *g;
	struct sg_error e;
	char why[600];

	if (!enabled(c->recipe, "json_schema"))
		return;
	if (!v || json_is_null(v)) {
		field = "validators.json_schema.schema";
		v = sg_path(c->recipe, field);
	}
	if (v && !json_is_null(v)) {
		c->schema = json_incref(v);
	} else if (fmt &&
		   (strcmp(fmt, "json") == 0 || strcmp(fmt, "jsonl") == 0)) {
		field = "grammar";
		v = json_object_get(c->recipe, "grammar");
		if (!v || !(g = sg_grammar_new(v, &e)))
			return;
		c->schema = sg_grammar_schema(g);
		sg_grammar_free(g);
		if (!c->schema)
			return;
	} else {
		return;
	}
	if (sg_schema_check(c->schema, &e) < 0) {
		complain(o, field, "is unusable: %s", e.text);
		snprintf(why, sizeof why, "the schema is unusable: %s", e.text);
		c->unusable[SG_U_SCHEMA] = sg_xstrdup(why);
	}
}

/* The recipe checker has refused bad values already; here unknown ones
 * only come from a job made without sg-plan, and count as the default. */
static void
config_pii(struct sg_checks *c)
{
	json_t *v = sg_path(c->recipe, "validators.pii"), *t;
	const char *mode = sg_get_str(v, "mode");
	size_t i;
	int type;

	if (!v || !json_is_object(v) || !enabled(c->recipe, "pii"))
		return;
	c->pii = (1u << SG_PII_NTYPES) - 1;
	if (json_is_array(json_object_get(v, "entities"))) {
		c->pii = 0;
		json_array_foreach (json_object_get(v, "entities"), i, t)
			if ((type = sg_pii_type_parse(json_string_value(t))) >=
				0)
				c->pii |= 1u << type;
	}
	c->pii_threshold = sg_get_num(v, "threshold", 0.5);
	c->pii_mode = mode && strcmp(mode, "flag") == 0	    ? SG_PII_FLAG
		      : mode && strcmp(mode, "redact") == 0 ? SG_PII_REDACT
							    : SG_PII_REJECT;
}

/* The lexicon of the recipe, of SG_LEXICON, or the validator's. */
static void
config_toxic(struct sg_checks *c, struct origin *o)
{
	json_t *v = sg_path(c->recipe, "validators.toxicity"), *have;
	const char *rel = sg_get_str(v, "lexicon");
	struct sg_error e;
	char why[600], *path;

	if (!v || !json_is_object(v) || !enabled(c->recipe, "toxicity"))
		return;
	c->severity = (long)sg_get_int(v, "severity", 2);
	if (rel)
		path = sg_recipe_relative(c->recipe_path, rel);
	else if ((rel = getenv("SG_LEXICON")))
		path = sg_xstrdup(rel);
	else
		path = sg_xstrdup(c->v->lexicon);
	if ((have = json_object_get(c->v->lexicons, path))) {
		c->lexicon = (struct sg_lexicon *)(uintptr_t)json_integer_value(
			have);
	} else if (!(c->lexicon = sg_lexicon_load(path, &e))) {
		complain(
			o, "validators.toxicity", "has no lexicon: %s", e.text);
		snprintf(why, sizeof why, "no lexicon: %s", e.text);
		c->unusable[SG_U_TOXIC] = sg_xstrdup(why);
	} else {
		json_object_set_new(c->v->lexicons, path,
			json_integer((json_int_t)(uintptr_t)c->lexicon));
	}
	free(path);
}

static void
add_text(char **all, const char *s)
{
	size_t n = strlen(*all);

	*all = sg_xrealloc(*all, n + strlen(s) + 2);
	sprintf(*all + n, "%s\n", s);
}

/* The text of a file the recipe names, added to all; -1 and e if it
 * cannot be read. */
static int
add_file(const struct sg_checks *c, const char *rel, char **all,
	struct sg_error *e)
{
	char *path = sg_recipe_relative(c->recipe_path, rel);
	char *s = sg_slurp(path, NULL, e);

	free(path);
	if (!s)
		return -1;
	add_text(all, s);
	free(s);
	return 0;
}

/* The passages of the knowledge base (a file or a directory, as sg-gen
 * reads it), added to all; -1 and e if it cannot be read.  Read once a
 * process: every job record carries the recipe again. */
static int
add_kb(const struct sg_checks *c, const char *rel, char **all,
	struct sg_error *e)
{
	char *path = sg_recipe_relative(c->recipe_path, rel), *text;
	json_t *have = json_object_get(c->v->kbtexts, path);
	struct sg_kb *kb;
	const json_t *p;
	size_t i;
	int cached;

	if (!have) {
		if (!(kb = sg_kb_load(path, NULL, &cached, e))) {
			free(path);
			return -1;
		}
		text = sg_xstrdup("");
		json_array_foreach (sg_kb_passages(kb), i, p)
			add_text(
				&text, json_string_value(json_array_get(p, 1)));
		sg_kb_free(kb);
		/* add_text below ends the last passage's line */
		if (*text)
			text[strlen(text) - 1] = '\0';
		have = json_string(text);
		json_object_set_new(c->v->kbtexts, path, have);
		free(text);
	}
	free(path);
	if (*json_string_value(have))
		add_text(all, json_string_value(have));
	return 0;
}

/* The model of the recipe's reference text: the files of reference, the
 * knowledge base, the examples of task_input; trained once per text. */
static void
config_perplexity(struct sg_checks *c, struct origin *o)
{
	json_t *v = sg_path(c->recipe, "validators.perplexity"), *x, *have;
	const char *kb = sg_get_str(c->recipe, "knowledge_base");
	json_t *ref = sg_path(c->recipe, "validators.perplexity.reference");
	json_t *files;
	char *all, *s, key[17];
	struct sg_error e;
	size_t i;

	if (!json_is_object(v) || !enabled(c->recipe, "perplexity"))
		return;
	files = json_is_string(ref) ? json_pack("[O]", ref) : json_incref(ref);
	all = sg_xstrdup("");
	json_array_foreach (files, i, x)
		if (add_file(c, json_string_value(x), &all, &e) < 0)
			goto bad;
	if (kb && add_kb(c, kb, &all, &e) < 0)
		goto bad;
	json_array_foreach (sg_path(c->recipe, "task_input.examples"), i, x) {
		s = sg_sample_text(x);
		add_text(&all, s);
		free(s);
	}
	if (!*all && json_is_true(json_object_get(v, "logprobs"))) {
		/* the samples' logprobs alone, none to fall back on */
		json_decref(files);
		free(all);
		return;
	}
	if (!*all) {
		sg_seterr(&e, "no reference text: give reference, "
			      "knowledge_base or task_input.examples");
		goto bad;
	}
	snprintf(key, sizeof key, "%016llx",
		(unsigned long long)sg_hash64(all, strlen(all)));
	/* text of the same kind the model has not seen scores its held-out
	 * perplexity; three times that is far from it.  Both are kept, as
	 * [model, held-out perplexity], for the next job with this text. */
	if (!(have = json_object_get(c->v->models, key))) {
		have = json_pack("[If]",
			(json_int_t)(uintptr_t)sg_lm_train(all),
			sg_lm_heldout(all));
		json_object_set_new(c->v->models, key, have);
	}
	c->lm = (struct sg_lm *)(uintptr_t)json_integer_value(
		json_array_get(have, 0));
	c->max_ppl = sg_get_num(v, "max_perplexity", 0);
	if (c->max_ppl <= 0)
		c->max_ppl = 3 * json_real_value(json_array_get(have, 1));
	json_decref(files);
	free(all);
	return;
bad:
	complain(o, "validators.perplexity", "is unusable: %s", e.text);
	c->unusable[SG_U_PPL] = sg_xstrdup(e.text);
	json_decref(files);
	free(all);
}

static void
config_grounding(struct sg_checks *c)
{
	json_t *f = sg_path(c->recipe, "validators.faithfulness");
	json_t *r = sg_path(c->recipe, "validators.relevance");
	json_t *ti = json_object_get(c->recipe, "task_input");

	if (json_is_object(f) && enabled(c->recipe, "faithfulness")) {
		c->faith = 1;
		c->min_coverage = sg_get_num(f, "min_coverage", 0.5);
	}
	if (!json_is_object(r) || !enabled(c->recipe, "relevance"))
		return;
	c->min_similarity = sg_get_num(r, "min_similarity", 0.1);
	if (!(c->description = sg_get_str(r, "description")) &&
		!(c->description = json_string_value(ti)) &&
		!(c->description = sg_get_str(ti, "description")))
		c->description = sg_get_str(c->recipe, "task");
}

/* A threshold below 1 asks for near-duplicates too; the recipe checker
 * has refused values of the wrong kind already. */
static void
config_near(struct sg_checks *c, const json_t *dedup, struct origin *o)
{
	double t = sg_get_num(dedup, "threshold", 1);
	int ngram = (int)sg_get_int(dedup, "ngram", 5), rows;
	int perm = (int)sg_get_int(dedup, "num_perm", 128);

	if (t >= 1 || t <= 0 || ngram < 1 || perm < 1)
		return;
	c->bands = (int)sg_get_int(dedup, "bands", 0);
	rows = (int)sg_get_int(dedup, "rows", 0);
	if ((c->bands > 0) != (rows > 0) || c->bands < 0 || rows < 0) {
		complain(o, "validators.deduplication.bands",
			"and rows go together");
		return;
	}
	if (!c->bands && sg_minhash_params(t, perm, &c->bands, &rows) < 0) {
		complain(o, "validators.deduplication.num_perm",
			"is too small for threshold %g", t);
		return;
	}
	c->near = sg_minhash_new(ngram, c->bands, rows);
	c->threshold = t;
}

/* The value a line of a reference file holds: a sample record's data,
 * the Python system's "content", or the line itself. */
static json_t *
reference_value(json_t *line)
{
	json_t *v;

	if ((v = json_object_get(line, "data")) ||
		(v = json_object_get(line, "content")))
		return v;
	return line;
}

/* The keys of the reference file's values into a set of their own, read
 * once a process for the same file and settings; a missing file has none,
 * as in the Python system, where it is the output of runs to come. */
static void
config_reference(struct sg_checks *c, const char *rel, struct origin *o)
{
	char *path = sg_recipe_relative(c->recipe_path, rel), *line = NULL;
	char key[600], id[600];
	uint64_t *keys = sg_xmalloc((1 + (size_t)c->bands) * sizeof *keys);
	unsigned long n = 0;
	size_t cap = 0;
	json_t *have, *j;
	struct sg_error e;
	FILE *fp;

	snprintf(key, sizeof key, "%s\n%s\n%g %d", path,
		c->field ? c->field : "", c->threshold, c->bands);
	if ((have = json_object_get(c->v->refs, key))) {
		c->ref = (struct sg_seen *)(uintptr_t)json_integer_value(have);
		goto done;
	}
	c->ref = sg_seen_new();
	json_object_set_new(
		c->v->refs, key, json_integer((json_int_t)(uintptr_t)c->ref));
	if (!(fp = fopen(path, "r"))) {
		if (errno != ENOENT)
			complain(o, "validators.deduplication.reference_file",
				"cannot be read: '%s': %s", path,
				strerror(errno));
		goto done;
	}
	while (getline(&line, &cap, fp) >= 0) {
		n++;
		if (!*line || strspn(line, " \t\r\n") == strlen(line))
			continue;
		if (!(j = json_loads(line, JSON_DECODE_ANY, NULL))) {
			complain(o, "validators.deduplication.reference_file",
				"names '%s', whose line %lu is not JSON", path,
				n);
			continue;
		}
		if (sg_dedup_keys(reference_value(j), c, 1, keys)) {
			snprintf(id, sizeof id,
				"line %lu of the reference file '%s'", n, rel);
			sg_seen_add(c->ref, keys, 1 + (size_t)c->bands, id,
				c->near ? c->set : NULL, c->nset);
		}
		json_decref(j);
	}
	free(line);
	fclose(fp);
	if (sg_seen_failed(c->ref, &e) < 0)
		complain(o, "validators.deduplication.reference_file",
			"names '%s', whose keys cannot be kept: %s", path,
			e.text);
done:
	free(keys);
	free(path);
}

struct sg_checks *
sg_checks_new(struct sg_validator *v, json_t *recipe, const char *recipe_path,
	const char *lead, int *bad)
{
	struct sg_checks *c = sg_xmalloc(sizeof *c);
	struct origin ori = {v, lead, 0}, *o = &ori;
	const char *field;
	json_t *dedup;

	memset(c, 0, sizeof *c);
	c->v = v;
	c->recipe = json_incref(recipe);
	c->recipe_path = recipe_path ? sg_xstrdup(recipe_path) : NULL;
	config_bounds(c, o);
	config_format(c, o);
	config_schema(c, o);
	config_toxic(c, o);
	config_grounding(c);
	config_perplexity(c, o);
	config_pii(c);
	if (json_is_object(sg_path(recipe, "validators.custom")) &&
		enabled(recipe, "custom")) {
		c->custom = sg_path(recipe, "validators.custom.command");
		if (!(c->custom_name = sg_get_str(
			      sg_path(recipe, "validators.custom"), "name")))
			c->custom_name = "custom";
	}
	dedup = sg_path(recipe, "validators.deduplication");
	c->dedup = sg_validator_on(recipe, "deduplication");
	if (!(field = sg_get_str(dedup, "check_field")))
		field = sg_get_str(dedup, "field");
	if (field && strcmp(field, "content") != 0 &&
		strcmp(field, "data") != 0 && *field)
		c->field = field;
	if (c->dedup)
		config_near(c, dedup, o);
	if (c->dedup && sg_get_str(dedup, "reference_file"))
		config_reference(c, sg_get_str(dedup, "reference_file"), o);
	*bad = o->bad;
	return c;
}

size_t
sg_checks_nkeys(const struct sg_checks *c)
{
	return 1 + (size_t)(c ? c->bands : 0);
}

int
sg_checks_whole(const struct sg_checks *c)
{
	return c && c->custom;
}
