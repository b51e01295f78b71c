/*
 * client.c - sg-gen's LLM client, in the tool layer beside record/filter.c: one
 * client, made when a job first needs it, for the arms that ask (naive.c,
 * rag.c, evol.c, and templater.c for its llm_fill leaves), and what they
 * share: the model, token usage and cost to samples and the job,
 * log-probabilities, a server's refusals, answers cut at max_tokens.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "llm/llm.h"
#include "gen/gen-internal.h"

struct sg_gen_opts sg_gen_opts = {
	.jobs = 8, .timeout = 600, .price_prompt = -1, .price_completion = -1};
struct sg_llm *sg_gen_client;
int sg_gen_no_logprobs;

static void
on_retry(void *ctx, const char *why, int attempt, double wait)
{
	(void)ctx;
	sg_note("retry %d in %.2fs: %s", attempt, wait, why);
}

int
sg_gen_llm_configured(void)
{
	/* exporting asks no server */
	return sg_llm_configured() || sg_gen_opts.batch;
}

/* The client, made when a job first needs it; NULL and e without one. */
struct sg_llm *
sg_gen_llm(struct sg_error *e)
{
	struct sg_http_opts o = {NULL, getenv("OPENAI_API_KEY"),
		sg_gen_opts.jobs, sg_gen_opts.timeout, 60, 4, 8, on_retry,
		NULL};
	char *cache;

	if (sg_gen_client)
		return sg_gen_client;
	if (!sg_gen_llm_configured()) {
		sg_seterr(e, "no LLM configured: set OPENAI_BASE_URL or "
			     "OPENAI_API_KEY");
		return NULL;
	}
	o.base_url = sg_llm_base_url();
	cache = sg_gen_opts.no_cache ? NULL
				     : sg_llm_cache_dir(sg_gen_opts.cache_dir);
	sg_gen_client = sg_llm_new(&o, cache, e);
	free(cache);
	if (sg_gen_client && sg_gen_opts.batch &&
		sg_llm_batch_export(sg_gen_client, sg_gen_opts.batch, e) < 0)
		sg_gen_llm_end();
	return sg_gen_client;
}

const char *
sg_gen_model(const struct sg_job *j)
{
	return sg_llm_model(sg_gen_opts.model, sg_get_str(j->params, "model"));
}

/* Tokens and cost of one answer, into the sample s (may be NULL) and the
 * job; prices are the params' US dollars per million tokens. */
void
sg_gen_account(
	struct sg_job *j, const struct sg_llm_reply *r, json_t *s, int counted)
{
	double in = sg_gen_opts.price_prompt >= 0
			    ? sg_gen_opts.price_prompt
			    : sg_get_num(j->params, "price_prompt", 0);
	double out = sg_gen_opts.price_completion >= 0
			     ? sg_gen_opts.price_completion
			     : sg_get_num(j->params, "price_completion", 0);
	double cost = ((double)r->prompt_tokens * in +
			      (double)r->completion_tokens * out) /
		      1e6;

	j->prompt_tokens += r->prompt_tokens;
	j->completion_tokens += r->completion_tokens;
	j->cost += cost;
	if (!counted || r->deferred)
		;
	else if (r->cached)
		j->cached++;
	else
		j->sent++;
	if (!s)
		return;
	json_object_set_new(s, "usage",
		json_pack("{s:I, s:I}", "prompt_tokens",
			(json_int_t)r->prompt_tokens, "completion_tokens",
			(json_int_t)r->completion_tokens));
	json_object_set_new(s, "cost", json_real(cost));
}

/* "sg-gen: <stdin>:3: 12/40 samples" over itself, only on a terminal
 * (and not with NO_COLOR); finished with a newline when all are in. */
void
sg_gen_progress(const struct sg_job *j)
{
	static int tty = -1;
	long long done = j->next;

	if (tty < 0)
		tty = sg_isatty_stderr();
	if (!tty)
		return;
	fprintf(stderr, "\r%s: %s: %lld/%lld samples, %lld requests\033[K%s",
		sg_progname, j->where, done, j->n, j->sent,
		done == j->n ? "\n" : "");
}

/* Asks body for the tokens' log-probabilities when the recipe's
 * perplexity check wants them and the server has not refused them. */
void
sg_gen_ask_logprobs(const struct sg_job *j, json_t *body)
{
	json_t *v = sg_path(
		json_object_get(j->rec, "recipe"), "validators.perplexity");

	if (!sg_gen_no_logprobs &&
		json_is_true(json_object_get(v, "logprobs")) &&
		!json_is_false(json_object_get(v, "enabled")))
		json_object_set_new(body, "logprobs", json_true());
}

/* The log-probabilities of the tokens of a choice of the answer into lp. */
void
sg_logprobs_add(struct sg_logprobs *lp, const json_t *response, int choice)
{
	json_t *c = json_array_get(
		json_object_get(response, "choices"), (size_t)choice);
	json_t *t, *v;
	size_t i;

	json_array_foreach (sg_path(c, "logprobs.content"), i, t)
		if (json_is_number(v = json_object_get(t, "logprob"))) {
			lp->sum += json_number_value(v);
			lp->tokens++;
		}
}

json_t *
sg_logprobs_json(const struct sg_logprobs *lp)
{
	double mean;

	if (lp->tokens == 0)
		return NULL;
	mean = lp->sum / (double)lp->tokens;
	return json_pack("{s:f, s:I, s:f}", "mean", mean, "tokens",
		(json_int_t)lp->tokens, "perplexity", exp(-mean));
}

/* Whether the server refused the request for its parameter key: then the
 * body goes without it, and so do the run's next requests (*never). */
int
sg_gen_refused(
	const struct sg_llm_reply *r, json_t *body, const char *key, int *never)
{
	if (!sg_llm_refused(r, body, key))
		return 0;
	*never = 1;
	json_object_del(body, key);
	return 1;
}

int
sg_gen_cut(const struct sg_llm_reply *r, json_t *body, int *retried,
	struct sg_error *e)
{
	long long max = sg_get_int(body, "max_tokens", 0);
	long long more = 2 * (max > 0 ? max : r->completion_tokens);

	if (!r->finish_reason || strcmp(r->finish_reason, "length") != 0)
		return 0;
	if (!*retried && more > 0) {
		json_object_set_new(body, "max_tokens", json_integer(more));
		*retried = 1;
		return 1;
	}
	if (max > 0)
		sg_seterr(e,
			"the answer was cut at max_tokens %lld (finish_reason "
			"\"length\") before its JSON was complete",
			max);
	else
		sg_seterr(e,
			"the answer was cut (finish_reason \"length\") before "
			"its JSON was complete");
	return -1;
}

long long
sg_gen_exported(struct sg_error *e)
{
	return sg_gen_client ? sg_llm_batch_exported(sg_gen_client, e) : 0;
}

void
sg_gen_llm_end(void)
{
	if (sg_gen_client && sg_llm_stale(sg_gen_client) > 0)
		sg_warn("%lld cached answers of an older sg name no server:"
			" asked again",
			sg_llm_stale(sg_gen_client));
	sg_llm_free(sg_gen_client);
	sg_gen_client = NULL;
}
