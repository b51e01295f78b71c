/*
 * rag.c - the rag arm: the naive arm's request (naive.c), prompted with
 * passages of the recipe's knowledge base that BM25 finds for its domain,
 * task and description, drawn with the sample's seed.
 */
#include <stdio.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "gen/gen-internal.h"

/* The rag arm's passages for a sample: k of the 3k best by BM25 for the
 * recipe's description, drawn with the sample's seed. */
json_t *
sg_rag_passages(const struct sg_job *j, const struct sg_kb *kb, long long index,
	json_t **prov)
{
	const json_t *recipe = json_object_get(j->rec, "recipe");
	long long k = sg_get_int(j->params, "top_k", 3);
	json_t *ti = json_object_get(recipe, "task_input"), *best, *out;
	struct sg_rng rng;
	char query[4096];
	size_t n;

	snprintf(query, sizeof query, "%s %s %s", sg_get_str(recipe, "domain"),
		sg_get_str(recipe, "task") ? sg_get_str(recipe, "task") : "",
		json_is_string(ti)		? json_string_value(ti)
		: sg_get_str(ti, "description") ? sg_get_str(ti, "description")
						: "");
	for (char *p = query; *p; p++)
		if (*p == '_')
			*p = ' ';
	best = sg_kb_search(kb, query, (size_t)(k < 1 ? 1 : 3 * k));
	sg_rng_seed(&rng, (uint64_t)(j->seed + index));
	out = json_array();
	while ((long long)json_array_size(out) < k &&
		(n = json_array_size(best)) > 0) {
		size_t at = sg_rng_below(&rng, n);

		json_array_append(out, json_array_get(best, at));
		json_array_remove(best, at);
	}
	json_decref(best);
	*prov = json_array();
	for (size_t i = 0; i < json_array_size(out); i++)
		json_array_append(
			*prov, json_array_get(json_array_get(out, i), 0));
	*prov = json_pack("{s:o}", "passages", *prov);
	return out;
}
