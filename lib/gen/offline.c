/*
 * offline.c - the job loop of the arms that need no LLM besides the
 * templater, eda (eda.c) and extractive (extractive.c), and the knowledge
 * base that extractive and rag share, loaded once per path.  Tool layer,
 * beside record/filter.c.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "llm/llm.h"
#include "gen/gen-internal.h"

static struct sg_wordnet *wordnet;
static struct sg_kb *kb;
static char *kb_path;

/* The job's knowledge base, loaded once per path: recipe.knowledge_base,
 * relative to the recipe's directory. */
struct sg_kb *
sg_job_kb(const struct sg_job *j, struct sg_error *e)
{
	const char *rel =
		sg_get_str(json_object_get(j->rec, "recipe"), "knowledge_base");
	char *path, *dir;
	int cached;

	if (!rel) {
		sg_seterr(e, "recipe has no \"knowledge_base\"");
		return NULL;
	}
	path = sg_recipe_relative(sg_get_str(j->rec, "recipe_path"), rel);
	if (kb && strcmp(kb_path, path) == 0) {
		free(path);
		return kb;
	}
	sg_kb_free(kb);
	free(kb_path);
	kb_path = path;
	dir = sg_gen_opts.no_cache ? NULL
				   : sg_llm_cache_dir(sg_gen_opts.cache_dir);
	if ((kb = sg_kb_load(path, dir, &cached, e)))
		sg_note("knowledge base '%s': index %s%s", path,
			!dir	 ? "built, not cached"
			: cached ? "read from the cache in "
				 : "built and cached in ",
			dir ? dir : "");
	free(dir);
	return kb;
}

/* eda and extractive: offline, one seeded generator per job. */
void
sg_gen_offline(struct sg_job *j, int eda)
{
	double alpha = sg_get_num(j->params, "alpha", 0.1);
	const char *label;
	struct sg_error e;
	struct sg_rng rng;
	json_t *data, *prov = NULL, *s;

	if (eda && !wordnet && !(wordnet = sg_wordnet_open(NULL, &e))) {
		sg_job_fail(j, "eda needs WordNet: %s", e.text);
		return;
	}
	if (!eda && !sg_job_kb(j, &e)) {
		sg_job_fail(j, "%s", e.text);
		return;
	}
	if (!(alpha > 0 && alpha <= 1)) {
		sg_job_fail(j, "params \"alpha\" is not a number in (0, 1]");
		return;
	}
	sg_rng_seed(&rng, (uint64_t)j->seed);
	for (long long i = 0; i < j->n; i++) {
		label = eda ? sg_job_label(j, i) : NULL;
		data = eda ? sg_eda_sample(json_object_get(j->rec, "recipe"),
				     &j->mix, label, alpha, wordnet, &rng,
				     &prov, &e)
			   : sg_extract_sample(kb, sg_job_json(j),
				     sg_get_int(j->params, "sentences", 1),
				     &rng, &prov);
		/* a label the seeds lack fails its samples, not the job */
		if (!data && label) {
			sg_job_error(j, i, e.text, SG_FAULT_CONTENT);
			continue;
		}
		if (!data) {
			sg_job_fail(j, "%s", e.text);
			return;
		}
		s = sg_job_sample(j, i);
		json_object_set_new(s, "provenance", prov);
		json_object_set_new(s, "data", data);
		j->generated++;
		sg_job_put(j, s);
	}
}

void
sg_gen_offline_end(void)
{
	sg_wordnet_close(wordnet);
	sg_kb_free(kb);
	free(kb_path);
	wordnet = NULL;
	kb = NULL;
	kb_path = NULL;
}
