/*
 * offline.c - the job loop of the arms that need no LLM besides the
 * templater, eda (eda.c) and extractive (extractive.c), the knowledge
 * base that extractive and rag share, loaded once per path, and the model
 * that labels extractive's samples, built once per recipe.  Tool layer,
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
static int kb_indexed;
/* extractive's labeller: the recipe it was built for, what that says of
 * a sample's fields, and naive Bayes counts of its labelled samples */
static json_t *model_recipe;
static struct sg_marginal_conf model_conf;
static struct sg_marginal model;

/* The job's knowledge base, loaded once per path: recipe.knowledge_base,
 * relative to the recipe's directory; with its index when search. */
struct sg_kb *
sg_job_kb(const struct sg_job *j, int search, struct sg_error *e)
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
	if (kb && strcmp(kb_path, path) == 0 && (kb_indexed || !search)) {
		free(path);
		return kb;
	}
	sg_kb_free(kb);
	free(kb_path);
	kb_path = path;
	kb_indexed = search;
	if (!search)
		return kb = sg_kb_text(path, e);
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

/* The labeller of the job's recipe: its examples, and with
 * sg_gen_opts.state the samples the run has accepted. */
static int
job_model(const struct sg_job *j, struct sg_error *e)
{
	const json_t *recipe = json_object_get(j->rec, "recipe"), *ex;
	size_t i;

	if (model_recipe && json_equal(model_recipe, recipe))
		return 0;
	sg_marginal_free(&model);
	json_decref(model_recipe);
	model_recipe = json_incref((json_t *)recipe);
	sg_marginal_conf_read(&model_conf, recipe);
	sg_marginal_init(&model);
	/* unlabelled passages need no labeller */
	if (!model_conf.labelled)
		return 0;
	json_array_foreach (sg_path(recipe, "task_input.examples"), i, ex)
		if (json_is_object(ex))
			sg_marginal_accept(&model, &model_conf, "examples", ex);
	if (sg_gen_opts.state && sg_marginal_load_state(&model, &model_conf,
					 sg_gen_opts.state, e) < 0) {
		json_decref(model_recipe);
		model_recipe = NULL;
		return -1;
	}
	return 0;
}

/* extractive's sampler for the job, or -1 and e. */
static int
job_extract(struct sg_job *j, struct sg_extract *x, struct sg_error *e)
{
	if (!sg_job_kb(j, 0, e) || job_model(j, e) < 0)
		return -1;
	*x = (struct sg_extract){
		.kb = kb,
		.count = sg_get_int(j->params, "passages",
			sg_get_int(j->params, "sentences", 1)),
		.passages = json_object_get(j->params, "passages") != NULL,
		.json = sg_job_json(j),
		.mc = model_conf.labelled ? &model_conf : NULL,
		.model = model.accepted,
		.confidence = sg_get_num(j->params, "confidence", 0.9999),
	};
	if (!(x->confidence >= 0 && x->confidence <= 1)) {
		sg_seterr(e, "params \"confidence\" is not a number in [0, 1]");
		return -1;
	}
	return 0;
}

/* eda and extractive: offline, one seeded generator per job. */
void
sg_gen_offline(struct sg_job *j, int eda)
{
	double alpha = sg_get_num(j->params, "alpha", 0.1);
	const char *label;
	struct sg_error e;
	struct sg_extract x = {0};
	struct sg_rng rng;
	json_t *data, *prov = NULL, *s;

	if (eda && !wordnet && !(wordnet = sg_wordnet_open(NULL, &e))) {
		sg_job_fail(j, "eda needs WordNet: %s", e.text);
		return;
	}
	if (!eda && job_extract(j, &x, &e) < 0) {
		sg_job_fail(j, "%s", e.text);
		return;
	}
	if (!(alpha > 0 && alpha <= 1)) {
		sg_job_fail(j, "params \"alpha\" is not a number in (0, 1]");
		return;
	}
	sg_rng_seed(&rng, (uint64_t)j->seed);
	for (long long i = 0; i < j->n; i++) {
		label = eda || x.mc ? sg_job_label(j, i) : NULL;
		data = eda ? sg_eda_sample(json_object_get(j->rec, "recipe"),
				     &j->mix, label, alpha, wordnet, &rng,
				     &prov, &e)
			   : sg_extract_sample(&x, label, &rng, &prov, &e);
		/* a label the seeds or the model lack fails its samples, not
		 * the job */
		if (!data && label) {
			sg_job_error(j, i, e.text, SG_FAULT_CONTENT);
			continue;
		}
		if (!data) {
			sg_job_fail(j, "%s", e.text);
			break;
		}
		s = sg_job_sample(j, i);
		json_object_set_new(s, "provenance", prov);
		json_object_set_new(s, "data", data);
		j->generated++;
		sg_job_put(j, s);
	}
	sg_feats_free(&x.f);
}

void
sg_gen_offline_end(void)
{
	sg_wordnet_close(wordnet);
	sg_kb_free(kb);
	free(kb_path);
	sg_marginal_free(&model);
	json_decref(model_recipe);
	model_recipe = NULL;
	wordnet = NULL;
	kb = NULL;
	kb_path = NULL;
}
