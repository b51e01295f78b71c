/*
 * eda.c - Easy Data Augmentation (Wei and Zou, 2019): a new sentence from
 * a seed by one of synonym replacement (SR), random insertion (RI),
 * random swap (RS) and random deletion (RD), changing about alpha of its
 * words.  Words keep their punctuation and the case of their first
 * letter; stop words are never replaced nor give synonyms to insert.
 * The eda arm's samples are the recipe's seed examples (task_input.examples)
 * so augmented.
 */
#include <ctype.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "gen/gen-internal.h"

/* The stop words of the EDA paper's code, shortened to the common ones. */
static const char *const stop[] = {"a", "about", "above", "after", "again",
	"against", "all", "am", "an", "and", "any", "are", "as", "at", "be",
	"because", "been", "before", "being", "below", "between", "both", "but",
	"by", "can", "could", "did", "do", "does", "doing", "down", "during",
	"each", "few", "for", "from", "further", "had", "has", "have", "having",
	"he", "her", "here", "hers", "herself", "him", "himself", "his", "how",
	"i", "if", "in", "into", "is", "it", "its", "itself", "just", "me",
	"more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off",
	"on", "once", "only", "or", "other", "our", "ours", "out", "over",
	"own", "same", "she", "should", "so", "some", "such", "than", "that",
	"the", "their", "them", "then", "there", "these", "they", "this",
	"those", "through", "to", "too", "under", "until", "up", "very", "was",
	"we", "were", "what", "when", "where", "which", "while", "who", "whom",
	"why", "will", "with", "would", "you", "your", "yours"};

const char *const sg_eda_ops[] = {"sr", "ri", "rs", "rd"};

/* The word in a token, lowercased, without surrounding punctuation. */
static void
core(const char *tok, char *out, size_t size, size_t *start, size_t *len)
{
	size_t n = strlen(tok), a = 0, b = n, i;

	while (a < n && !isalnum((unsigned char)tok[a]))
		a++;
	while (b > a && !isalnum((unsigned char)tok[b - 1]))
		b--;
	*start = a;
	*len = b - a < size ? b - a : size - 1;
	for (i = 0; i < *len; i++)
		out[i] = (char)tolower((unsigned char)tok[a + i]);
	out[*len] = '\0';
}

static int
is_stop(const char *w)
{
	if (!*w)
		return 1;
	for (size_t i = 0; i < sizeof stop / sizeof *stop; i++)
		if (strcmp(stop[i], w) == 0)
			return 1;
	return 0;
}

/* Synonyms of token i (none for stop words), as a JSON array. */
static json_t *
synonyms(json_t *toks, size_t i, const struct sg_wordnet *wn)
{
	char w[128];
	size_t a, n;

	core(json_string_value(json_array_get(toks, i)), w, sizeof w, &a, &n);
	if (is_stop(w))
		return json_array();
	return sg_wordnet_synonyms(wn, w);
}

/* Token i with its word replaced by syn, keeping punctuation and an
 * initial capital. */
static json_t *
replaced(const char *tok, const char *syn)
{
	char w[128], *s;
	size_t a, n;
	json_t *r;

	core(tok, w, sizeof w, &a, &n);
	s = sg_xstrdup(syn);
	if (isupper((unsigned char)tok[a]))
		s[0] = (char)toupper((unsigned char)s[0]);
	r = json_sprintf("%.*s%s%s", (int)a, tok, s, tok + a + n);
	free(s);
	return r;
}

static size_t
count(double alpha, size_t words)
{
	size_t n = (size_t)(alpha * (double)words);

	return n < 1 ? 1 : n;
}

static void
op_sr(json_t *toks, double alpha, const struct sg_wordnet *wn,
	struct sg_rng *rng)
{
	size_t len = json_array_size(toks), n = count(alpha, len), done = 0;
	size_t *order = sg_xmalloc((len + 1) * sizeof *order), i, j, t;

	for (i = 0; i < len; i++)
		order[i] = i;
	for (i = len; i > 1; i--) {
		j = sg_rng_below(rng, i);
		t = order[i - 1], order[i - 1] = order[j], order[j] = t;
	}
	for (i = 0; i < len && done < n; i++) {
		json_t *syn = synonyms(toks, order[i], wn);
		size_t k = json_array_size(syn);

		if (k > 0) {
			json_array_set_new(toks, order[i],
				replaced(json_string_value(json_array_get(
						 toks, order[i])),
					json_string_value(json_array_get(
						syn, sg_rng_below(rng, k)))));
			done++;
		}
		json_decref(syn);
	}
	free(order);
}

static void
op_ri(json_t *toks, double alpha, const struct sg_wordnet *wn,
	struct sg_rng *rng)
{
	size_t len = json_array_size(toks), n = count(alpha, len);

	for (size_t done = 0, tries = 0; done < n && tries < 10 * n; tries++) {
		size_t at = sg_rng_below(rng, json_array_size(toks));
		json_t *syn = synonyms(toks, at, wn);
		size_t k = json_array_size(syn);

		if (k > 0) {
			const char *s = json_string_value(
				json_array_get(syn, sg_rng_below(rng, k)));

			json_array_insert_new(toks,
				sg_rng_below(rng, json_array_size(toks) + 1),
				json_string(s));
			done++;
		}
		json_decref(syn);
	}
}

static void
op_rs(json_t *toks, double alpha, struct sg_rng *rng)
{
	size_t len = json_array_size(toks), n = count(alpha, len);

	if (len < 2)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t a = sg_rng_below(rng, len), b = sg_rng_below(rng, len);
		json_t *x = json_incref(json_array_get(toks, a));

		json_array_set(toks, a, json_array_get(toks, b));
		json_array_set_new(toks, b, x);
	}
}

static void
op_rd(json_t *toks, double alpha, struct sg_rng *rng)
{
	size_t len = json_array_size(toks), keep;
	json_t *last;

	if (len < 2)
		return;
	keep = sg_rng_below(rng, len);
	last = json_incref(json_array_get(toks, keep));
	for (size_t i = len; i-- > 0;)
		if (sg_rng_uniform(rng) < alpha)
			json_array_remove(toks, i);
	if (json_array_size(toks) == 0)
		json_array_append(toks, last);
	json_decref(last);
}

char *
sg_eda(const char *text, double alpha, const struct sg_wordnet *wn,
	struct sg_rng *rng, int *op)
{
	json_t *toks = json_array(), *v;
	size_t i, len = 0, n;
	char *out, *copy = sg_xstrdup(text), *save, *t;

	for (t = strtok_r(copy, " \t\n", &save); t;
		t = strtok_r(NULL, " \t\n", &save))
		json_array_append_new(toks, json_string(t));
	free(copy);
	*op = (int)sg_rng_below(rng, 4);
	switch (*op) {
	case 0:
		op_sr(toks, alpha, wn, rng);
		break;
	case 1:
		op_ri(toks, alpha, wn, rng);
		break;
	case 2:
		op_rs(toks, alpha, rng);
		break;
	default:
		op_rd(toks, alpha, rng);
	}
	json_array_foreach (toks, i, v)
		len += strlen(json_string_value(v)) + 1;
	out = sg_xmalloc(len + 1);
	out[0] = '\0';
	n = 0;
	json_array_foreach (toks, i, v)
		n += (size_t)sprintf(
			out + n, "%s%s", i ? " " : "", json_string_value(v));
	json_decref(toks);
	return out;
}

/* The field of an example object that holds its text: the dedup field,
 * else "text", else its first string field. */
static const char *
text_field(const json_t *recipe, const json_t *ex)
{
	const char *f = sg_get_str(
		sg_path(recipe, "validators.deduplication"), "check_field");
	const char *key;
	json_t *v;

	if (f && json_is_string(json_object_get(ex, f)))
		return f;
	if (json_is_string(json_object_get(ex, "text")))
		return "text";
	json_object_foreach ((json_t *)ex, key, v)
		if (json_is_string(v))
			return key;
	return NULL;
}

static int
has_label(const struct sg_mix *mix, const json_t *ex, const char *label)
{
	char *l = sg_mix_label(mix, ex);
	int r = l && strcmp(l, label) == 0;

	free(l);
	return r;
}

const json_t *
sg_gen_example(const json_t *recipe, const struct sg_mix *mix,
	const char *label, struct sg_rng *rng, size_t *k)
{
	json_t *seeds = sg_path(recipe, "task_input.examples"), *ex = NULL;
	size_t n = 0, i, pick;

	if (!label) {
		if (json_array_size(seeds) == 0)
			return NULL;
		*k = sg_rng_below(rng, json_array_size(seeds));
		return json_array_get(seeds, *k);
	}
	json_array_foreach (seeds, i, ex)
		n += (size_t)has_label(mix, ex, label);
	if (n == 0)
		return NULL;
	pick = sg_rng_below(rng, n);
	json_array_foreach (seeds, i, ex)
		if (has_label(mix, ex, label) && pick-- == 0)
			break;
	*k = i;
	return ex;
}

json_t *
sg_eda_sample(const json_t *recipe, const struct sg_mix *mix, const char *label,
	double alpha, const struct sg_wordnet *wn, struct sg_rng *rng,
	json_t **prov, struct sg_error *e)
{
	const json_t *ex;
	json_t *data;
	const char *field = NULL;
	size_t k;
	char *out;
	int op;

	if (!(ex = sg_gen_example(recipe, mix, label, rng, &k))) {
		sg_seterr(e,
			"eda needs seed examples%s%s%s in"
			" task_input.examples",
			label ? " whose label is \"" : "", label ? label : "",
			label ? "\"" : "");
		return NULL;
	}
	if (!json_is_string(ex) &&
		!(json_is_object(ex) && (field = text_field(recipe, ex)))) {
		sg_seterr(e, "task_input.examples[%zu] has no text to augment",
			k);
		return NULL;
	}
	out = sg_eda(field ? sg_get_str(ex, field) : json_string_value(ex),
		alpha, wn, rng, &op);
	if (field) {
		data = json_deep_copy(ex);
		json_object_set_new(data, field, json_string(out));
	} else {
		data = json_string(out);
	}
	free(out);
	*prov = json_pack("{s:I, s:s}", "seed", (json_int_t)k, "operation",
		sg_eda_ops[op]);
	return data;
}
