/*
 * offline.c - the samples of the generators that need no LLM besides the
 * templater: eda, which augments the recipe's seed examples
 * (task_input.examples), and extractive, which draws sentences from the
 * knowledge base.  Each returns the sample's data and its provenance.
 */
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "gen/gen-internal.h"

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

json_t *
sg_eda_sample(const json_t *recipe, double alpha, const struct sg_wordnet *wn,
	struct sg_rng *rng, json_t **prov, struct sg_error *e)
{
	json_t *seeds = sg_path(recipe, "task_input.examples"), *ex, *data;
	const char *field = NULL;
	size_t k, n = json_array_size(seeds);
	char *out;
	int op;

	if (n == 0) {
		sg_seterr(e, "eda needs seed examples in task_input.examples");
		return NULL;
	}
	k = sg_rng_below(rng, n);
	ex = json_array_get(seeds, k);
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

json_t *
sg_extract_sample(const struct sg_kb *kb, int json, long long count,
	struct sg_rng *rng, json_t **prov)
{
	const json_t *all = sg_kb_sentences(kb);
	size_t n = json_array_size(all), start, i;
	json_t *ids = json_array(), *text = json_string(""), *s, *data;

	if (n == 0) {
		json_decref(ids);
		json_decref(text);
		return NULL;
	}
	if (count < 1)
		count = 1;
	if ((size_t)count > n)
		count = (long long)n;
	start = sg_rng_below(rng, n - (size_t)count + 1);
	for (i = start; i < start + (size_t)count; i++) {
		s = json_array_get(all, i);
		json_array_append(ids, json_array_get(s, 0));
		data = json_sprintf("%s%s%s", json_string_value(text),
			i > start ? " " : "",
			json_string_value(json_array_get(s, 1)));
		json_decref(text);
		text = data;
	}
	*prov = json_pack("{s:o}", "passages", ids);
	if (!json)
		return text;
	return json_pack("{s:o}", "text", text);
}
