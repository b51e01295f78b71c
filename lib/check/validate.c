/*
 * validate.c - sg-validate's checks on one sample, as its "checks": each
 * {"pass": bool}, with "why" when it failed and what the check measured.
 * A failed check is data in the record; only a custom check that cannot
 * run goes to the validator's warn function too.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "check/check-internal.h"

static uint64_t
fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* sg_hash64 of the n bytes at s as json_dumps writes them as a string
 * (quoted, with jansson's escapes), without writing them: most samples'
 * data is a string, and its dump cost more than the hash. */
static uint64_t
string_key(const char *s, size_t n)
{
	static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
	uint64_t h = fnv(0xcbf29ce484222325ULL, "\"", 1);
	const char *e;
	char esc[8];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\') {
			h = (h ^ c) * 0x100000001b3ULL;
			continue;
		}
		if (c && (e = strchr(from, c))) {
			esc[0] = '\\';
			esc[1] = to[e - from];
			h = fnv(h, esc, 2);
		} else {
			snprintf(esc, sizeof esc, "\\u%04X", c);
			h = fnv(h, esc, 6);
		}
	}
	return fnv(h, "\"", 1);
}

/* The key of a value, its strings in NFC: a text and its canonically
 * equivalent spellings ("é" as one code point, or "e" and an accent) are
 * one text.  The NFC of a dump is the dump of the NFC, as no code point
 * composes with the quote.  0 is the mark of an empty slot, so no key may
 * be 0. */
static uint64_t
dedup_key(const json_t *v)
{
	char *s, *nfc;
	size_t n;
	uint64_t h;

	if (json_is_string(v)) {
		s = (char *)json_string_value(v);
		n = json_string_length(v);
		nfc = sg_nfc(s, n, &n);
		h = string_key(nfc ? nfc : s, n);
	} else {
		s = json_dumps(
			v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
		n = strlen(s);
		nfc = sg_nfc(s, n, &n);
		h = sg_hash64(nfc ? nfc : s, n);
		free(s);
	}
	free(nfc);
	return h ? h : 1;
}

/* Check name's own object in checks, with "why" when it failed, for a
 * check that has more to report. */
static json_t *
check_new(json_t *checks, const char *name, int pass, const char *why)
{
	json_t *c = json_object();

	json_object_set_new(c, "pass", json_boolean(pass));
	if (!pass)
		json_object_set_new(c, "why", json_string(why));
	json_object_set_new(checks, name, c);
	return c;
}

/* A check with nothing to report but its verdict.  Those that passed
 * share one object, never changed once made, so that they cost a sample
 * a reference each instead of an object, its table and its key (about a
 * fifth of sg-validate's allocations). */
static void
check_set(json_t *checks, const char *name, int pass, const char *why)
{
	static json_t *passed;

	if (!pass) {
		check_new(checks, name, 0, why);
		return;
	}
	if (!passed) {
		passed = json_object();
		json_object_set_new(passed, "pass", json_true());
	}
	json_object_set(checks, name, passed);
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
taken(const char *id, const char *what, char *buf, size_t size)
{
	if (!id)
		return NULL;
	snprintf(buf, size, "%s of an earlier sample%s%s%s", what,
		*id ? " (" : "", id, *id ? ")" : "");
	return buf;
}

/* A key of the reference file: why, in buf, naming its line; else NULL. */
static const char *
listed(const char *id, const char *what, char *buf, size_t size)
{
	if (!id)
		return NULL;
	snprintf(buf, size, "%s of %s", what, id);
	return buf;
}

/* The slots the probes of the keys will read are asked for now: in a
 * million samples' table each is a cache miss, and the other checks run
 * while they load. */
const json_t *
sg_dedup_keys(
	const json_t *data, struct sg_checks *c, int changed, uint64_t *keys)
{
	const json_t *v = data;
	char *text;
	struct sg_words own = {0};

	if (c->field && json_is_object(data) && !(v = sg_path(data, c->field)))
		return NULL;
	keys[0] = dedup_key(v);
	if (c->near) {
		free(c->set);
		if (v == data && !changed) {
			c->nset = sg_minhash_set(
				c->near, &c->tokens, keys + 1, &c->set);
		} else {
			text = sg_sample_text(v);
			sg_words_read(&own, text);
			c->nset = sg_minhash_set(
				c->near, &own, keys + 1, &c->set);
			free(own.v);
			free(text);
		}
	}
	sg_seen_prefetch(
		c->v->seen, keys, 1 + (c->near ? (size_t)c->bands : 0));
	return v;
}

/* dedup and near_dedup of v, by the keys sg_dedup_keys made; how many keys
 * there are to take into *nkeys. */
static void
check_dedup(json_t *checks, const json_t *v, struct sg_checks *c,
	const uint64_t *keys, size_t *nkeys)
{
	const char *w;
	char why[300];

	if (!v) {
		snprintf(why, sizeof why, "data has no \"%s\" to compare",
			c->field);
		check_set(checks, "dedup", 0, why);
		return;
	}
	w = taken(sg_seen_find(c->v->seen, keys[0]), "duplicate", why,
		sizeof why);
	if (!w && c->ref)
		w = listed(sg_seen_find(c->ref, keys[0]), "duplicate", why,
			sizeof why);
	check_set(checks, "dedup", !w, w);
	*nkeys = 1;
	if (!c->near)
		return;
	w = taken(sg_seen_near(c->v->seen, keys + 1, (size_t)c->bands, c->set,
			  c->nset, c->threshold),
		"near-duplicate", why, sizeof why);
	if (!w && c->ref)
		w = listed(sg_seen_near(c->ref, keys + 1, (size_t)c->bands,
				   c->set, c->nset, c->threshold),
			"near-duplicate", why, sizeof why);
	check_set(checks, "near_dedup", !w, w);
	*nkeys += (size_t)c->bands;
}

static void
check_toxic(json_t *checks, const char *text, const struct sg_checks *c)
{
	char why[200];
	json_t *terms = sg_toxic_find(c->lexicon, text, c->severity);
	size_t n = json_array_size(terms);

	if (n)
		snprintf(why, sizeof why,
			"%zu offensive word%s of severity %ld or more", n,
			n == 1 ? "" : "s", c->severity);
	json_object_set_new(
		check_new(checks, "toxicity", n == 0, why), "terms", terms);
}

/* The source passages of a grounded sample: its provenance's, its own,
 * or its data's "sources" or "passages", a string or strings; in *src,
 * malloc'd, and the output without them in *out.  0 when it has none. */
int
sg_grounding(const json_t *rec, char **src, char **out)
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
check_grounding(json_t *checks, const json_t *rec, const struct sg_checks *c)
{
	char *src = NULL, *out = NULL, why[300];
	json_t *f, *missing;
	double cov, sim;

	if (c->faith && sg_grounding(rec, &src, &out)) {
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
		json_object_update(check_new(checks, "faithfulness",
					   !json_array_size(missing) &&
						   cov >= c->min_coverage,
					   why),
			f);
		json_decref(f);
	}
	free(src);
	free(out);
	if (!c->description)
		return;
	sim = sg_tfidf_cosine(c->v->tfidf, &c->tokens, c->description);
	if (sim < c->min_similarity)
		snprintf(why, sizeof why,
			"TF-IDF cosine %.2f to the task, less than %.15g", sim,
			c->min_similarity);
	json_object_set_new(
		check_new(checks, "relevance", sim >= c->min_similarity, why),
		"similarity", json_real(sim));
}

static void
check_perplexity(json_t *checks, const struct sg_checks *c)
{
	char why[200];
	double ppl = sg_lm_perplexity(c->lm, &c->tokens);

	if (!(ppl <= c->max_ppl))
		snprintf(why, sizeof why, "perplexity %.0f, more than %.4g",
			ppl, c->max_ppl);
	json_object_set_new(
		check_new(checks, "perplexity", ppl <= c->max_ppl, why),
		"perplexity", json_real(ppl));
}

/* The generating model's own perplexity of the sample, exp(-mean) of the
 * token log-probabilities sg-gen kept in its "logprobs", when the recipe
 * asked for them; 0 when the sample has none and the check is the offline
 * model's. */
static int
check_logprobs(json_t *checks, const json_t *rec, const struct sg_checks *c)
{
	json_t *v = sg_path(c->recipe, "validators.perplexity");
	json_t *mean = sg_path(rec, "logprobs.mean"), *p;
	double ppl, max = sg_get_num(v, "max_token_perplexity", 20);
	char why[200];

	if (!json_is_number(mean) ||
		!json_is_true(json_object_get(v, "logprobs")) ||
		json_is_false(json_object_get(v, "enabled")))
		return 0;
	ppl = exp(-json_number_value(mean));
	snprintf(why, sizeof why, "token perplexity %.3g, more than %.4g", ppl,
		max);
	p = check_new(checks, "perplexity", ppl <= max, why);
	json_object_set_new(p, "perplexity", json_real(ppl));
	json_object_set_new(p, "source", json_string("logprobs"));
	return 1;
}

/* The command's answer is the check, as it gave it; a command that cannot
 * start or answer fails the check, with why. */
static void
check_custom(json_t *checks, const json_t *rec, struct sg_checks *c)
{
	struct sg_error e, e2;
	json_t *ans = NULL;

	if (!c->unusable[SG_U_CUSTOM] && !c->cp &&
		!(c->cp = sg_coproc_start(c->custom, &e))) {
		c->unusable[SG_U_CUSTOM] = sg_xstrdup(e.text);
		sg_validator_warn(c->v, "custom check \"%s\": %s",
			c->custom_name, e.text);
	}
	if (c->cp && !(ans = sg_coproc_ask(c->cp, rec, &e))) {
		sg_coproc_end(c->cp, &e2);
		c->cp = NULL;
		c->unusable[SG_U_CUSTOM] = sg_xstrdup(e.text);
		sg_validator_warn(c->v, "custom check \"%s\": %s",
			c->custom_name, e.text);
	}
	if (ans)
		json_object_set_new(checks, c->custom_name, ans);
	else
		check_set(checks, c->custom_name, 0, c->unusable[SG_U_CUSTOM]);
}

/* Spans are told in every mode, as types and offsets only: the record
 * must not carry the personal data a second time.  Whether data was
 * redacted. */
static int
check_pii(json_t *checks, json_t *rec, const struct sg_checks *c)
{
	json_t *neu = NULL, *spans, *sp, *pii;
	char why[300], types[200] = "";
	size_t i, n;

	spans = sg_pii_data(json_object_get(rec, "data"), c->pii,
		c->pii_threshold, c->pii_mode == SG_PII_REDACT ? &neu : NULL);
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
	if (n)
		snprintf(why, sizeof why, "%zu span%s of personal data (%s)", n,
			n == 1 ? "" : "s", types);
	pii = check_new(checks, "pii", !n || c->pii_mode != SG_PII_REJECT, why);
	if (n && c->pii_mode == SG_PII_REDACT)
		json_object_set_new(pii, "redacted", json_true());
	json_object_set_new(pii, "spans", spans);
	return n && c->pii_mode == SG_PII_REDACT;
}

json_t *
sg_checks_run(struct sg_checks *c, json_t *rec, uint64_t *keys, size_t *nkeys)
{
	json_t *checks = json_object(), *data = json_object_get(rec, "data");
	json_t *err = json_object_get(rec, "error");
	struct sg_error e;
	char why[300], *own, *dumped;
	const char *w, *text;
	const json_t *compared = NULL;
	int redacted = 0;
	size_t len;

	*nkeys = 0;
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
	/* a string is its own text, not copied */
	own = json_is_string(data) ? NULL : sg_sample_text(data);
	text = own ? own : json_string_value(data);
	len = strlen(text);
	sg_words_read(&c->tokens, text);
	if (c->dedup)
		compared = sg_dedup_keys(data, c, 0, keys);
	if (c->length) {
		w = within(sg_codepoints(text, len), c->len, "character", why,
			sizeof why);
		check_set(checks, "length", !w, w);
	}
	if (c->words) {
		w = within(c->tokens.n, c->nwords, "word", why, sizeof why);
		check_set(checks, "words", !w, w);
	}
	if (c->unusable[SG_U_FORMAT]) {
		check_set(checks, "format", 0, c->unusable[SG_U_FORMAT]);
	} else if (c->format) {
		/* data itself when it is the text, else the text made one */
		json_t *s = own || len != json_string_length(data)
				    ? json_string(text)
				    : json_incref(data);
		int rc = sg_schema_validate(c->format, s, &e);

		/* the message names the schema's root: keep what follows */
		if (rc == SG_SCHEMA_UNDECIDED)
			snprintf(
				why, sizeof why, "%s", strchr(e.text, ' ') + 1);
		else if (rc < 0)
			snprintf(why, sizeof why,
				"does not match pattern \"%s\"", c->pattern);
		check_set(checks, "format", rc == 0, why);
		json_decref(s);
	}
	if (c->unusable[SG_U_SCHEMA])
		check_set(checks, "json_schema", 0, c->unusable[SG_U_SCHEMA]);
	else if (c->schema)
		check_set(checks, "json_schema",
			sg_schema_validate(c->schema, data, &e) == 0, e.text);
	check_grounding(checks, rec, c);
	if (check_logprobs(checks, rec, c))
		;
	else if (c->unusable[SG_U_PPL])
		check_set(checks, "perplexity", 0, c->unusable[SG_U_PPL]);
	else if (c->lm)
		check_perplexity(checks, c);
	if (c->unusable[SG_U_TOXIC])
		check_set(checks, "toxicity", 0, c->unusable[SG_U_TOXIC]);
	else if (c->lexicon)
		check_toxic(checks, text, c);
	free(own);
	if (c->pii)
		redacted = check_pii(checks, rec, c);
	if (c->custom)
		check_custom(checks, rec, c);
	if (c->dedup && redacted)
		compared =
			sg_dedup_keys(json_object_get(rec, "data"), c, 1, keys);
	if (c->dedup)
		check_dedup(checks, compared, c, keys, nkeys);
	return checks;
}

uint32_t *
sg_checks_set(struct sg_checks *c, size_t *n)
{
	uint32_t *set = c ? c->set : NULL;

	*n = set ? c->nset : 0;
	if (c)
		c->set = NULL;
	return set;
}

void
sg_checks_retake(const struct sg_checks *c, json_t *checks,
	const uint64_t *keys, size_t nkeys, const uint32_t *set, size_t nset)
{
	char why[300];
	const char *w;

	if (!c || nkeys == 0)
		return;
	if ((w = taken(sg_seen_find(c->v->seen, keys[0]), "duplicate", why,
		     sizeof why)))
		check_set(checks, "dedup", 0, w);
	if (nkeys > 1 && (w = taken(sg_seen_near(c->v->seen, keys + 1,
					    nkeys - 1, set, nset, c->threshold),
				  "near-duplicate", why, sizeof why)))
		check_set(checks, "near_dedup", 0, w);
}

void
sg_checks_take(struct sg_checks *c, const uint64_t *keys, size_t n,
	const char *id, const uint32_t *set, size_t nset)
{
	sg_seen_add(c->v->seen, keys, n, id, set, nset);
}

int
sg_checks_failed(const struct sg_checks *c, struct sg_error *e)
{
	if (c && (sg_seen_failed(c->v->seen, e) < 0 ||
			 sg_seen_failed(c->ref, e) < 0))
		return -1;
	return 0;
}
