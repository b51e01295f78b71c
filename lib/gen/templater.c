/*
 * templater.c - the templater arm: samples expanded from the recipe's
 * grammar (recipe/grammar.c), seeded by the job, its llm_fill leaves
 * asked of the LLM one by one, their tokens' log-probabilities kept.  A
 * sample with a planned label is drawn from the start rule's options
 * that can give it, again while a rule gives another, up to DRAWS times.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "llm/llm.h"
#include "gen/gen-internal.h"

/* Draws of a sample whose label a rule's expansion gives: enough for a
 * label one expansion in six gives to come 97 times in 100. */
#define DRAWS 20

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

/* One expansion as a sample's data; NULL and e when it is none. */
static json_t *
draw(struct sg_grammar *g, struct sg_rng *rng, double t, int depth, int json,
	struct sg_fill *fc, struct sg_error *e)
{
	json_error_t je;
	json_t *data;
	char *text;

	text = sg_grammar_expand(g, rng, t, depth, json,
		sg_gen_llm_configured() ? sg_gen_fill : NULL, fc, e);
	if (!text)
		return NULL;
	if (json)
		data = json_loads(
			text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	else
		data = json_string(text);
	free(text);
	if (!data && json)
		snprintf(e->text, sizeof e->text,
			"template output is not valid JSON at column %d: %s",
			je.column, je.text);
	else if (!data)
		sg_seterr(e, "template output is not valid UTF-8");
	return data;
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
	json_t *data;
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
		struct sg_fill fc = {.j = j, .index = i};
		const char *want = json ? sg_job_label(j, i) : NULL;
		int sure = sg_grammar_want(g, j->mix.field, want), draws = 0;
		char *label = NULL, missed[256];

		data = NULL;
		do {
			json_decref(data);
			free(label);
			fc.lp = (struct sg_logprobs){0, 0};
			fc.fault = SG_FAULT_CONTENT;
			data = draw(g, &rng, t, (int)depth, json, &fc, &e);
			label = data && want ? sg_mix_label(&j->mix, data)
					     : NULL;
		} while (data && sure == 0 && ++draws < DRAWS &&
			 (!label || strcmp(label, want) != 0));
		if (!data) {
			sg_job_error(j, i, e.text, fc.fault);
			continue;
		}
		*missed = '\0';
		if (sure < 0)
			snprintf(missed, sizeof missed,
				"no option of the start rule gives \"%s\" the"
				" value \"%s\"",
				j->mix.field, want);
		else if (want && (!label || strcmp(label, want) != 0))
			snprintf(missed, sizeof missed,
				"%d draws gave no sample whose \"%s\" is"
				" \"%s\"",
				DRAWS, j->mix.field, want);
		free(label);
		/* the leaves' tokens, one mean over them all */
		sg_job_data(j, i, data, sg_logprobs_json(&fc.lp),
			*missed ? missed : NULL);
	}
	sg_grammar_free(g);
}
