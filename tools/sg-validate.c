/*
 * sg-validate - check every sample against its recipe.
 *
 * Reads records (sg-jsonl(5)) from the files named, or standard input.  A
 * routed job record sets the checks of its (run, batch) from the recipe it
 * carries; -r gives them to samples whose batch had no job.  Each sample is
 * written back with "checks" and "valid" set: those two fields are ours.  A
 * failed check is data, told in the record, not on standard error.  Every
 * other record and field passes through unchanged, in order.  With --seen,
 * the dedup keys of a batch's valid samples are appended to a file at its
 * batch record, so that later runs of the loop refuse them too.  The
 * checks by a language model or embeddings are lib/modelcheck.c's: records
 * wait there, in order, for their answers.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sg.h"

/* The checks a recipe asks for; a bound that is NAN is not set. */
struct config {
	json_t *recipe;
	int length, words;
	double len[2], nwords[2];
	json_t *format; /* {"pattern": P}, checked by sg_schema_validate */
	const char *pattern;
	json_t *schema;
	char *unusable[5]; /* why a check cannot run, by U_ */
	int dedup;
	const char *field; /* a dotted path in data, or NULL for all of it */
	struct sg_minhash *near; /* near-duplicates, or NULL */
	int bands;
	int faith;
	double min_coverage;
	const char *description; /* relevance to it, or NULL */
	double min_similarity;
	json_t *custom;		 /* the command of the custom check */
	const char *custom_name; /* its name in "checks" */
	struct sg_coproc *cp;	 /* running, from the first sample on */
	struct sg_lm *lm;	 /* perplexity, or NULL; in models */
	double max_ppl;
	struct sg_lexicon *lexicon; /* toxicity, or NULL; in lexicons */
	long severity;
	unsigned pii; /* the entity types looked for, a bit set */
	double pii_threshold;
	enum { PII_FLAG, PII_REDACT, PII_REJECT } pii_mode;
	struct sg_mcheck *mc; /* the model checks, or NULL */
};

enum { U_FORMAT, U_SCHEMA, U_TOXIC, U_PPL, U_CUSTOM };

/* A (run, batch) of the input: its checks, and the keys of its valid
 * samples that are not in the seen file yet. */
struct batch {
	char *run;
	long long id;
	struct config *cfg, *own;
	uint64_t *keys; /* of valid samples, for the seen file */
	size_t nkeys, cap, nsamples, nvalid;
	json_t *failed; /* check name -> samples that failed it */
};

static struct sg_seen *seen;   /* the keys taken, by this run or earlier */
static json_t *lexicons;       /* path -> struct sg_lexicon *, loaded once */
static struct sg_tfidf *tfidf; /* the outputs so far, for relevance */
static json_t *models;	       /* reference text hash -> struct sg_lm * */
static struct batch **batches;
static size_t nbatches;
static json_t *batchindex; /* "batch run" -> position in batches */
static struct config *rcfg;
static const char *seenpath;
static struct sg_filter f = {
	.usage = "usage: sg-validate [-huVv] [--strict] [-r recipe]"
		 " [-j jobs] [-m model] [--cache-dir dir]\n"
		 "                   [--embedding-model model] [--no-cache]"
		 " [--seen file] [file ...]\n",
};

static void
emit(json_t *rec)
{
	sg_filter_put(&f, rec);
}

/* 0 is the mark of an empty slot, so no key may be 0. */
static uint64_t
dedup_key(const json_t *v)
{
	char *s =
		json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	uint64_t h = sg_hash64(s, strlen(s));

	free(s);
	return h ? h : 1;
}

/* A batch's keys reach the disk before its end goes downstream: a later
 * run never accepts again what this one let through. */
static void
seen_append(struct batch *b)
{
	struct sg_error e;

	if (seenpath && sg_seen_append(seenpath, b->keys, b->nkeys, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	b->nkeys = 0;
}

static void
config_free(struct config *c)
{
	struct sg_error e;

	if (!c)
		return;
	if (c->mc) /* its samples still waiting are checked by it */
		sg_mcheck_flush();
	sg_mcheck_free(c->mc);
	json_decref(c->recipe);
	json_decref(c->format);
	json_decref(c->schema);
	free(c->unusable[U_FORMAT]);
	free(c->unusable[U_SCHEMA]);
	free(c->unusable[U_TOXIC]);
	free(c->unusable[U_PPL]);
	free(c->unusable[U_CUSTOM]);
	sg_minhash_free(c->near);
	if (c->cp && sg_coproc_end(c->cp, &e) != 0)
		sg_warn("custom check \"%s\" ended badly", c->custom_name);
	free(c);
}

/* Whose recipe a problem is in, for messages: a job's at "<stdin>:3", its
 * fields written "job \"recipe.constraints...\"", or the -r file's. */
struct origin {
	const char *where, *lead;
	int bad;
	const char *path; /* the recipe's file, or NULL */
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
	sg_warn("%s: %s%s\" %s", o->where, o->lead, field, msg);
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

/* A validator is off only when its block says "enabled": false. */
static int
enabled(const json_t *recipe, const char *name)
{
	json_t *v = sg_path(sg_path(recipe, "validators"), name);

	return sg_get_bool(v, "enabled", 1);
}

/* Each bound from the first place that sets it.  Those of
 * validators.length count characters, or words when its unit says so. */
static void
config_bounds(struct config *c, struct origin *o)
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
config_format(struct config *c, struct origin *o)
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
		c->unusable[U_FORMAT] = sg_xstrdup("the pattern is unusable");
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
		c->unusable[U_FORMAT] = sg_xstrdup(why);
	}
}

static void
config_schema(struct config *c, struct origin *o)
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
		c->unusable[U_SCHEMA] = sg_xstrdup(why);
	}
}

/* The recipe checker has refused bad values already; here unknown ones
 * only come from a job made without sg-plan, and count as the default. */
static void
config_pii(struct config *c)
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
	c->pii_mode = mode && strcmp(mode, "flag") == 0	    ? PII_FLAG
		      : mode && strcmp(mode, "redact") == 0 ? PII_REDACT
							    : PII_REJECT;
}

#ifndef SG_DATADIR
#define SG_DATADIR "/usr/local/share/sg"
#endif

/* The lexicon of the recipe, of SG_LEXICON, or the one installed. */
static void
config_toxic(struct config *c, struct origin *o)
{
	json_t *v = sg_path(c->recipe, "validators.toxicity"), *have;
	const char *path = sg_get_str(v, "lexicon");
	struct sg_error e;
	char why[600];

	if (!v || !json_is_object(v) || !enabled(c->recipe, "toxicity"))
		return;
	c->severity = (long)sg_get_int(v, "severity", 2);
	if (!path && !(path = getenv("SG_LEXICON")))
		path = SG_DATADIR "/toxicity.tsv";
	if ((have = json_object_get(lexicons, path))) {
		c->lexicon = (struct sg_lexicon *)(uintptr_t)json_integer_value(
			have);
		return;
	}
	if (!(c->lexicon = sg_lexicon_load(path, &e))) {
		complain(
			o, "validators.toxicity", "has no lexicon: %s", e.text);
		snprintf(why, sizeof why, "no lexicon: %s", e.text);
		c->unusable[U_TOXIC] = sg_xstrdup(why);
		return;
	}
	json_object_set_new(lexicons, path,
		json_integer((json_int_t)(uintptr_t)c->lexicon));
}

static void
add_text(char **all, const char *s)
{
	size_t n = strlen(*all);

	*all = sg_xrealloc(*all, n + strlen(s) + 2);
	sprintf(*all + n, "%s\n", s);
}

/* The model of the recipe's reference text: the files of reference, the
 * knowledge base, the examples of task_input; trained once per text. */
static void
config_perplexity(struct config *c, struct origin *o)
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
	json_array_foreach (files, i, x) {
		if (!(s = sg_slurp(json_string_value(x), NULL, &e)))
			goto bad;
		add_text(&all, s);
		free(s);
	}
	if (kb && !(s = sg_slurp(kb, NULL, &e)))
		goto bad;
	if (kb) {
		add_text(&all, s);
		free(s);
	}
	json_array_foreach (sg_path(c->recipe, "task_input.examples"), i, x) {
		s = sg_sample_text(x);
		add_text(&all, s);
		free(s);
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
	if (!(have = json_object_get(models, key))) {
		have = json_pack("[If]",
			(json_int_t)(uintptr_t)sg_lm_train(all),
			sg_lm_heldout(all));
		json_object_set_new(models, key, have);
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
	c->unusable[U_PPL] = sg_xstrdup(e.text);
	json_decref(files);
	free(all);
}

static void
config_grounding(struct config *c)
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
config_near(struct config *c, const json_t *dedup, struct origin *o)
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
}

static struct config *
config_new(json_t *recipe, struct origin *o)
{
	struct config *c = sg_xmalloc(sizeof *c);
	const char *field;
	json_t *dedup;

	memset(c, 0, sizeof *c);
	c->recipe = json_incref(recipe);
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
	c->dedup = dedup && sg_get_bool(dedup, "enabled", 1);
	if (!(field = sg_get_str(dedup, "check_field")))
		field = sg_get_str(dedup, "field");
	if (field && strcmp(field, "content") != 0 &&
		strcmp(field, "data") != 0 && *field)
		c->field = field;
	if (c->dedup)
		config_near(c, dedup, o);
	c->mc = sg_mcheck_new(recipe, o->path);
	return c;
}

static void
check_set(json_t *checks, const char *name, int pass, const char *why)
{
	json_t *c = json_pack("{sb}", "pass", pass);

	if (!pass)
		json_object_set_new(c, "why", json_string(why));
	json_object_set_new(checks, name, c);
}

static size_t
codepoints(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* n against the bounds lim; NULL when inside, else why not. */
static const char *
within(size_t n, const double lim[2], const char *unit, char *why, size_t size)
{
	const char *s = n == 1 ? "" : "s";

	if (!isnan(lim[0]) && (double)n < lim[0])
		snprintf(why, size, "%zu %s%s, fewer than the minimum %.15g", n,
			unit, s, lim[0]);
	else if (!isnan(lim[1]) && (double)n > lim[1])
		snprintf(why, size, "%zu %s%s, more than the maximum %.15g", n,
			unit, s, lim[1]);
	else
		return NULL;
	return why;
}

/* One of keys already taken: why, in buf; else NULL. */
static const char *
taken(const uint64_t *keys, size_t n, const char *what, char *buf, size_t size)
{
	const char *id = NULL;

	for (size_t i = 0; i < n && !id; i++)
		id = sg_seen_find(seen, keys[i]);
	if (!id)
		return NULL;
	snprintf(buf, size, "%s of an earlier sample%s%s%s", what,
		*id ? " (" : "", id, *id ? ")" : "");
	return buf;
}

/* dedup and near_dedup; the keys of the value compared go to keys. */
static void
check_dedup(json_t *checks, const json_t *data, const struct config *c,
	uint64_t *keys, size_t *nkeys)
{
	const json_t *v = data;
	const char *w;
	char why[300], *text;

	if (c->field && json_is_object(data) &&
		!(v = sg_path(data, c->field))) {
		snprintf(why, sizeof why, "data has no \"%s\" to compare",
			c->field);
		check_set(checks, "dedup", 0, why);
		return;
	}
	keys[0] = dedup_key(v);
	w = taken(keys, 1, "duplicate", why, sizeof why);
	check_set(checks, "dedup", !w, w);
	*nkeys = 1;
	if (!c->near)
		return;
	text = sg_sample_text(v);
	sg_minhash_keys(c->near, text, keys + 1);
	free(text);
	w = taken(
		keys + 1, (size_t)c->bands, "near-duplicate", why, sizeof why);
	check_set(checks, "near_dedup", !w, w);
	*nkeys += (size_t)c->bands;
}

static void
check_toxic(json_t *checks, const json_t *data, const struct config *c)
{
	char *text = sg_sample_text(data), why[200];
	json_t *terms = sg_toxic_find(c->lexicon, text, c->severity);
	size_t n = json_array_size(terms);

	free(text);
	snprintf(why, sizeof why,
		"%zu offensive word%s of severity %ld or more", n,
		n == 1 ? "" : "s", c->severity);
	check_set(checks, "toxicity", n == 0, why);
	json_object_set_new(
		json_object_get(checks, "toxicity"), "terms", terms);
}

/* The source passages of a grounded sample: its provenance's, its own,
 * or its data's "sources" or "passages", a string or strings; in *src,
 * malloc'd, and the output without them in *out.  0 when it has none. */
static int
grounding(const json_t *rec, char **src, char **out)
{
	static const char *const where[] = {"provenance.sources",
		"provenance.passages", "sources", "passages", "data.sources",
		"data.passages", NULL};
	json_t *data = json_object_get(rec, "data"), *v = NULL, *copy;
	size_t i;

	for (i = 0; where[i] && !(v = sg_path(rec, where[i])); i++)
		;
	if (!v || !(json_is_string(v) || json_is_array(v)))
		return 0;
	*src = sg_sample_text(v);
	if (strncmp(where[i], "data.", 5) == 0) {
		copy = json_copy(data);
		json_object_del(copy, where[i] + 5);
		*out = sg_sample_text(copy);
		json_decref(copy);
	} else {
		*out = sg_sample_text(data);
	}
	return 1;
}

static void
check_grounding(json_t *checks, const json_t *rec, const struct config *c)
{
	char *src = NULL, *out = NULL, why[300];
	json_t *f, *missing;
	double cov, sim;

	if (c->faith && grounding(rec, &src, &out)) {
		f = sg_faithfulness(out, src);
		missing = json_object_get(f, "missing");
		cov = sg_get_num(f, "coverage", 0);
		if (json_array_size(missing))
			snprintf(why, sizeof why,
				"%zu numbers or names not in the sources",
				json_array_size(missing));
		else
			snprintf(why, sizeof why,
				"coverage %.2f, less than the minimum %.15g",
				cov, c->min_coverage);
		check_set(checks, "faithfulness",
			!json_array_size(missing) && cov >= c->min_coverage,
			why);
		json_object_update(json_object_get(checks, "faithfulness"), f);
		json_decref(f);
	}
	free(src);
	free(out);
	if (!c->description)
		return;
	out = sg_sample_text(json_object_get(rec, "data"));
	sim = sg_tfidf_cosine(tfidf, out, c->description);
	free(out);
	snprintf(why, sizeof why,
		"TF-IDF cosine %.2f to the task, less than %.15g", sim,
		c->min_similarity);
	check_set(checks, "relevance", sim >= c->min_similarity, why);
	json_object_set_new(json_object_get(checks, "relevance"), "similarity",
		json_real(sim));
}

static void
check_perplexity(json_t *checks, const json_t *data, const struct config *c)
{
	char *text = sg_sample_text(data), why[200];
	double ppl = sg_lm_perplexity(c->lm, text);

	free(text);
	snprintf(why, sizeof why, "perplexity %.0f, more than %.4g", ppl,
		c->max_ppl);
	check_set(checks, "perplexity", ppl <= c->max_ppl, why);
	json_object_set_new(json_object_get(checks, "perplexity"), "perplexity",
		json_real(ppl));
}

/* The command's answer is the check, as it gave it; a command that cannot
 * start or answer fails the check, with why. */
static void
check_custom(json_t *checks, const json_t *rec, struct config *c)
{
	struct sg_error e, e2;
	json_t *ans = NULL;

	if (!c->unusable[U_CUSTOM] && !c->cp &&
		!(c->cp = sg_coproc_start(c->custom, &e))) {
		c->unusable[U_CUSTOM] = sg_xstrdup(e.text);
		sg_warn("custom check \"%s\": %s", c->custom_name, e.text);
	}
	if (c->cp && !(ans = sg_coproc_ask(c->cp, rec, &e))) {
		sg_coproc_end(c->cp, &e2);
		c->cp = NULL;
		c->unusable[U_CUSTOM] = sg_xstrdup(e.text);
		sg_warn("custom check \"%s\": %s", c->custom_name, e.text);
	}
	if (ans)
		json_object_set_new(checks, c->custom_name, ans);
	else
		check_set(checks, c->custom_name, 0, c->unusable[U_CUSTOM]);
}

/* Spans are told in every mode, as types and offsets only: the record
 * must not carry the personal data a second time. */
static void
check_pii(json_t *checks, json_t *rec, const struct config *c)
{
	json_t *neu = NULL, *spans, *sp, *pii;
	char why[300], types[200] = "";
	size_t i, n;

	spans = sg_pii_data(json_object_get(rec, "data"), c->pii,
		c->pii_threshold, c->pii_mode == PII_REDACT ? &neu : NULL);
	if (neu)
		json_object_set_new(rec, "data", neu);
	n = json_array_size(spans);
	json_array_foreach (spans, i, sp) {
		const char *t = sg_get_str(sp, "type");

		if (!strstr(types, t) &&
			strlen(types) + strlen(t) + 3 < sizeof types)
			snprintf(types + strlen(types),
				sizeof types - strlen(types), "%s%s",
				*types ? ", " : "", t);
	}
	snprintf(why, sizeof why, "%zu span%s of personal data (%s)", n,
		n == 1 ? "" : "s", types);
	check_set(checks, "pii", !n || c->pii_mode != PII_REJECT, why);
	pii = json_object_get(checks, "pii");
	if (n && c->pii_mode == PII_REDACT)
		json_object_set_new(pii, "redacted", json_true());
	json_object_set_new(pii, "spans", spans);
}

/* The checks of one sample but deduplication, which waits for the model
 * checks of the samples before it. */
static json_t *
run_checks(json_t *rec, struct config *c)
{
	json_t *checks = json_object(), *data = json_object_get(rec, "data");
	json_t *err = json_object_get(rec, "error");
	struct sg_error e;
	char why[300], *text, *dumped;
	const char *w;

	if (err && !json_is_null(err)) {
		dumped = json_is_string(err) ? NULL : sg_dumps(err);
		check_set(checks, "generate", 0,
			dumped ? dumped : json_string_value(err));
		free(dumped);
		return checks;
	}
	if (!data || json_is_null(data)) {
		check_set(checks, "generate", 0, "no data");
		return checks;
	}
	check_set(checks, "generate", 1, NULL);
	if (!c)
		return checks;
	text = sg_sample_text(data);
	if (c->length) {
		w = within(
			codepoints(text), c->len, "character", why, sizeof why);
		check_set(checks, "length", !w, w);
	}
	if (c->words) {
		w = within(sg_count_words(text), c->nwords, "word", why,
			sizeof why);
		check_set(checks, "words", !w, w);
	}
	if (c->unusable[U_FORMAT]) {
		check_set(checks, "format", 0, c->unusable[U_FORMAT]);
	} else if (c->format) {
		json_t *s = json_string(text);
		int ok = sg_schema_validate(c->format, s, &e) == 0;

		snprintf(why, sizeof why, "does not match pattern \"%s\"",
			c->pattern);
		check_set(checks, "format", ok, why);
		json_decref(s);
	}
	free(text);
	if (c->unusable[U_SCHEMA])
		check_set(checks, "json_schema", 0, c->unusable[U_SCHEMA]);
	else if (c->schema)
		check_set(checks, "json_schema",
			sg_schema_validate(c->schema, data, &e) == 0, e.text);
	check_grounding(checks, rec, c);
	if (c->unusable[U_PPL])
		check_set(checks, "perplexity", 0, c->unusable[U_PPL]);
	else if (c->lm)
		check_perplexity(checks, json_object_get(rec, "data"), c);
	if (c->unusable[U_TOXIC])
		check_set(checks, "toxicity", 0, c->unusable[U_TOXIC]);
	else if (c->lexicon)
		check_toxic(checks, json_object_get(rec, "data"), c);
	if (c->pii)
		check_pii(checks, rec, c);
	if (c->custom)
		check_custom(checks, rec, c);
	return checks;
}

/* The batch of (run, id), made with the -r configuration if new. */
static struct batch *
batch_get(const char *run, long long id)
{
	size_t len = strlen(run) + 32;
	char *key = sg_xmalloc(len);
	struct batch *b;
	json_t *pos;

	snprintf(key, len, "%lld %s", id, run);
	if ((pos = json_object_get(batchindex, key))) {
		free(key);
		return batches[json_integer_value(pos)];
	}
	b = sg_xmalloc(sizeof *b);
	memset(b, 0, sizeof *b);
	b->run = sg_xstrdup(run);
	b->id = id;
	b->cfg = rcfg;
	b->failed = json_object();
	batches = sg_xrealloc(batches, (nbatches + 1) * sizeof *batches);
	batches[nbatches] = b;
	json_object_set_new(
		batchindex, key, json_integer((json_int_t)nbatches));
	nbatches++;
	free(key);
	return b;
}

/* The end of a batch: its keys go to the seen file.  Its configuration
 * stays for samples that come late. */
static void
batch_end(struct batch *b)
{
	char why[512] = "";
	const char *name;
	json_t *n;

	seen_append(b);
	json_object_foreach (b->failed, name, n)
		snprintf(why + strlen(why), sizeof why - strlen(why),
			"%s %s %lld", *why ? "," : "; failed:", name,
			(long long)json_integer_value(n));
	if (b->nsamples)
		sg_note("run %s batch %lld: %zu of %zu samples valid%s", b->run,
			b->id, b->nvalid, b->nsamples, why);
	b->nsamples = b->nvalid = 0;
	json_object_clear(b->failed);
}

static void
batch_free(struct batch *b)
{
	config_free(b->own);
	json_decref(b->failed);
	free(b->keys);
	free(b->run);
	free(b);
}

static int
handle_job(json_t *rec, const char *where)
{
	struct origin o = {
		where, "job \"recipe.", 0, sg_get_str(rec, "recipe_path")};
	json_t *recipe = json_object_get(rec, "recipe");
	struct batch *b;
	const char *run;
	long long id;

	/* a job before sg-route has no batch yet: not ours */
	if (!json_object_get(rec, "batch"))
		return 0;
	if (sg_record_batch_at(rec, where, &run, &id) < 0)
		return -1;
	if (!json_is_object(recipe)) {
		sg_warn("%s: job has no \"recipe\"", where);
		return 1;
	}
	b = batch_get(run, id);
	config_free(b->own);
	b->cfg = b->own = config_new(recipe, &o);
	return o.bad;
}

/* A sample whose checks are all in but deduplication: its verdict. */
static void
finish_sample(json_t *rec, void *arg)
{
	struct batch *b = arg;
	struct config *cfg = b->cfg;
	json_t *checks = json_object_get(rec, "checks"), *c;
	uint64_t *keys;
	size_t nkeys = 0;
	int valid = 1;
	const char *name;

	keys = sg_xmalloc(sizeof *keys * (1 + (size_t)(cfg ? cfg->bands : 0)));
	if (cfg && cfg->dedup &&
		sg_get_bool(sg_path(checks, "generate"), "pass", 0))
		check_dedup(checks, json_object_get(rec, "data"), cfg, keys,
			&nkeys);
	json_object_foreach (checks, name, c) {
		if (sg_get_bool(c, "pass", 0))
			continue;
		valid = 0;
		json_object_set_new(b->failed, name,
			json_integer(sg_get_int(b->failed, name, 0) + 1));
	}
	json_object_set_new(rec, "valid", json_boolean(valid));
	b->nsamples++;
	b->nvalid += valid;
	if (valid && nkeys) {
		sg_seen_add(seen, keys, nkeys, sg_get_str(rec, "id"));
		if (b->nkeys + nkeys > b->cap) {
			b->cap = 2 * (b->nkeys + nkeys);
			b->keys =
				sg_xrealloc(b->keys, b->cap * sizeof *b->keys);
		}
		memcpy(b->keys + b->nkeys, keys, nkeys * sizeof *keys);
		b->nkeys += nkeys;
	}
	free(keys);
	emit(rec);
}

static void
finish_batch(json_t *rec, void *arg)
{
	batch_end(arg);
	sg_mcheck_batch(arg, rec);
	emit(rec);
}

static void
finish_other(json_t *rec, void *arg)
{
	(void)arg;
	emit(rec);
}

static int
handle_sample(json_t *rec, const char *where)
{
	struct batch *b;
	const char *run;
	long long id;
	char *src = NULL, *out = NULL;
	struct sg_mcheck *mc;

	if (sg_record_batch_at(rec, where, &run, &id) < 0)
		return -1;
	b = batch_get(run, id);
	json_object_set_new(rec, "checks", run_checks(rec, b->cfg));
	mc = b->cfg ? b->cfg->mc : NULL;
	if (mc && grounding(rec, &src, &out) == 0)
		src = out = NULL;
	sg_mcheck_hold(mc, rec, src, out, where, b, finish_sample, b);
	free(src);
	free(out);
	return 0;
}

/* One record; the return value counts the problems reported.  A record
 * without its (run, batch) is left out; any other record goes on. */
static int
handle(json_t *rec, const char *where)
{
	const char *type = sg_rec_type(rec), *run;
	long long id;
	int bad = 0;

	if (strcmp(type, "sample") == 0)
		return handle_sample(rec, where) < 0;
	if (strcmp(type, "job") == 0) {
		bad = handle_job(rec, where);
	} else if (strcmp(type, "batch") == 0) {
		if (sg_record_batch_at(rec, where, &run, &id) < 0)
			return 1;
		sg_mcheck_hold(NULL, rec, NULL, NULL, where, batch_get(run, id),
			finish_batch, batch_get(run, id));
		return 0;
	}
	if (bad < 0)
		return 1;
	sg_mcheck_hold(NULL, rec, NULL, NULL, where, NULL, finish_other, NULL);
	return bad;
}

static void
validate(struct sg_filter *f, json_t *rec)
{
	if (handle(rec, f->where))
		sg_filter_fail(f, SG_EXIT_DATA);
}

static const struct option longopts[] = {
	{"cache-dir", required_argument, NULL, 'C'},
	{"embedding-model", required_argument, NULL, 'E'},
	{"help", no_argument, NULL, 'h'},
	{"jobs", required_argument, NULL, 'j'},
	{"model", required_argument, NULL, 'm'},
	{"no-cache", no_argument, NULL, 'N'},
	{"recipe", required_argument, NULL, 'r'},
	{"seen", required_argument, NULL, 's'},
	{"strict", no_argument, NULL, SG_OPT_STRICT},
	{"unbuffered", no_argument, NULL, 'u'},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static void
recipe_warn(void *ctx, const char *msg)
{
	(void)ctx;
	sg_note("%s", msg);
}

static void
load_recipe(const char *path)
{
	struct origin o = {path, "\"", 0, path};
	struct sg_error e;
	json_t *recipe = sg_recipe_load(path, recipe_warn, NULL, &e);

	if (!recipe)
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
	rcfg = config_new(recipe, &o);
	json_decref(recipe);
	if (o.bad)
		exit(SG_EXIT_CONFIG);
}

/* Validate the samples of each input in turn, as one stream. */
int
main(int argc, char *argv[])
{
	const char *recipe = NULL, *name;
	struct sg_error e;
	char *end;
	json_t *v;
	int c;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "hj:m:r:uVv", longopts, NULL)) !=
		-1) {
		if (sg_filter_option(&f, c))
			continue;
		switch (c) {
		case 'C':
			sg_mcheck_opts.cache_dir = optarg;
			break;
		case 'E':
			sg_mcheck_opts.embedding_model = optarg;
			break;
		case 'j':
			sg_mcheck_opts.jobs = (int)strtol(optarg, &end, 10);
			if (*end || sg_mcheck_opts.jobs < 1 ||
				sg_mcheck_opts.jobs > 4096)
				sg_die(SG_EXIT_USAGE,
					"-j wants an integer from 1 to 4096");
			break;
		case 'm':
			sg_mcheck_opts.model = optarg;
			break;
		case 'N':
			sg_mcheck_opts.no_cache = 1;
			break;
		case 'r':
			recipe = optarg;
			break;
		case 's':
			seenpath = optarg;
			break;
		default:
			sg_usage(f.usage, SG_EXIT_USAGE);
		}
	}
	batchindex = json_object();
	lexicons = json_object();
	tfidf = sg_tfidf_new();
	models = json_object();
	if (recipe)
		load_recipe(recipe);
	seen = sg_seen_new();
	if (seenpath && (c = sg_seen_load(seen, seenpath, &e)))
		sg_die(c, "%s", e.text);
	sg_filter_run(&f, argv + optind, argc - optind, validate);
	sg_mcheck_end();
	for (size_t i = 0; i < nbatches; i++) {
		batch_end(batches[i]);
		batch_free(batches[i]);
	}
	free(batches);
	json_decref(batchindex);
	config_free(rcfg);
	sg_seen_free(seen);
	json_object_foreach (lexicons, name, v)
		sg_lexicon_free(
			(struct sg_lexicon *)(uintptr_t)json_integer_value(v));
	json_decref(lexicons);
	sg_tfidf_free(tfidf);
	json_object_foreach (models, name, v)
		sg_lm_free((struct sg_lm *)(uintptr_t)json_integer_value(
			json_array_get(v, 0)));
	json_decref(models);
	return sg_finish(f.status);
}
