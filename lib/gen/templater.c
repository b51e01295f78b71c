/*
 * templater.c - the templater arm: samples expanded from the recipe's
 * grammar (recipe/grammar.c), seeded by the job, its llm_fill leaves
 * asked of the LLM one by one, their tokens' log-probabilities kept.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "llm/llm.h"
#include "gen/gen-internal.h"

static void
on_fill(void *arg, const struct sg_llm_reply *r)
{
	struct sg_fill *fc = arg;

	sg_gen_account(fc->j, r, NULL, 1);
	if (sg_gen_refused(r, fc->body, "logprobs", &sg_gen_no_logprobs)) {
		sg_llm_chat(sg_gen_client, fc->body,
			fc->index << 16 | fc->calls++, NULL);
		return;
	}
	if (r->error) {
		snprintf(fc->err.text, sizeof fc->err.text, "%s", r->error);
		fc->fault = r->fault;
	} else {
		fc->out = sg_xstrdup(r->content);
		sg_logprobs_add(&fc->lp, r->response, 0);
	}
}

char *
sg_gen_fill(void *ctx, const char *prompt, struct sg_error *e)
{
	struct sg_fill *fc = ctx;
	json_t *body, *t = json_object_get(fc->j->params, "temperature");

	if (!sg_gen_llm(e)) {
		fc->fault = SG_FAULT_ARM;
		return NULL;
	}
	fc->body = body = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:I}",
		"model", sg_gen_model(fc->j), "messages", "role", "system",
		"content",
		"Answer with the text asked for only: no quotes, no preamble.",
		"role", "user", "content", prompt, "seed",
		(json_int_t)(fc->j->seed + fc->index));
	if (t)
		json_object_set(body, "temperature", t);
	sg_gen_ask_logprobs(fc->j, body);
	fc->out = NULL;
	sg_llm_chat(sg_gen_client, body, fc->index << 16 | fc->calls++, NULL);
	if (sg_llm_run(sg_gen_client, on_fill, fc, e) < 0)
		sg_die(SG_EXIT_IO, "%s", e->text);
	fc->body = NULL;
	json_decref(body);
	if (!fc->out)
		sg_seterr(e, "llm_fill: %s", fc->err.text);
	return fc->out;
}

void
sg_gen_templater(struct sg_job *j)
{
	json_t *recipe = json_object_get(j->rec, "recipe");
	json_t *gj = json_object_get(recipe, "grammar");
	json_t *temp = json_object_get(j->params, "temperature");
	const char *fmt =
		sg_get_str(json_object_get(j->rec, "context"), "format");
	long long depth = json_object_get(j->params, "max_depth")
				  ? sg_get_int(j->params, "max_depth", -1)
				  : 10;
	double t = temp ? json_number_value(temp) : 1.0;
	struct sg_grammar *g;
	struct sg_error e;
	struct sg_rng rng;
	json_error_t je;
	json_t *data;
	char *text;
	int json;

	if (temp && !(t > 0)) {
		sg_job_fail(
			j, "params \"temperature\" is not a positive number");
		return;
	}
	if (depth < 1 || depth > SG_GRAMMAR_MAX_DEPTH) {
		sg_job_fail(j,
			"params \"max_depth\" is not an integer from 1 to %d",
			SG_GRAMMAR_MAX_DEPTH);
		return;
	}
	if (!gj) {
		sg_job_fail(j, "recipe has no \"grammar\"");
		return;
	}
	if (!(g = sg_grammar_new(gj, &e))) {
		sg_job_fail(j, "bad grammar: %s", e.text);
		return;
	}
	if (!fmt)
		fmt = sg_get_str(recipe, "output_format");
	json = fmt && (strcmp(fmt, "json") == 0 || strcmp(fmt, "jsonl") == 0);
	sg_rng_seed(&rng, (uint64_t)j->seed);
	for (long long i = 0; i < j->n; i++) {
		struct sg_fill fc = {
			.j = j, .index = i, .fault = SG_FAULT_CONTENT};

		text = sg_grammar_expand(g, &rng, t, (int)depth, json,
			sg_gen_llm_configured() ? sg_gen_fill : NULL, &fc, &e);
		if (!text) {
			sg_job_error(j, i, e.text, fc.fault);
			continue;
		}
		if (json)
			data = json_loads(text,
				JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
		else
			data = json_string(text);
		free(text);
		if (data) {
			/* the leaves' tokens, one mean over them all */
			sg_job_data(j, i, data, sg_logprobs_json(&fc.lp));
		} else if (json) {
			snprintf(e.text, sizeof e.text,
				"template output is not valid JSON at column "
				"%d: %s",
				je.column, je.text);
			sg_job_error(j, i, e.text, SG_FAULT_CONTENT);
		} else {
			sg_job_error(j, i, "template output is not valid UTF-8",
				SG_FAULT_CONTENT);
		}
	}
	sg_grammar_free(g);
}
