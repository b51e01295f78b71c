/*
 * extractive.c - the extractive arm's samples: consecutive sentences drawn
 * from the knowledge base, with their ids as the sample's provenance.
 */
#include "base/base.h"
#include "recipe/recipe.h"
#include "gen/gen-internal.h"

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
