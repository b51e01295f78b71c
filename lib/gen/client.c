/*
 * client.c - sg-gen's LLM client, in the tool layer beside filter.c: one
 * client, made when a job first needs it, for the arms that ask (naive.c
 * and rag.c; evol, a chain of requests per sample, and the llm_fill leaves
 * of the templater, here), and what they share: the model, token usage and
 * cost to samples and the job, log-probabilities, a server's refusals.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "llm/llm.h"
#include "gen/gen-internal.h"

struct sg_gen_opts sg_gen_opts = {NULL, NULL, 8, 0, 600, -1, -1, NULL};
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
	const char *base = getenv("OPENAI_BASE_URL");
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
	o.base_url = base && *base ? base : "https://api.openai.com/v1";
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
	const char *m = sg_gen_opts.model ? sg_gen_opts.model
					  : sg_get_str(j->params, "model");

	if (!m)
		m = getenv("OPENAI_MODEL");
	return m && *m ? m : "gpt-4o-mini";
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
	if (!r->error || r->deferred || !json_object_get(body, key) ||
		!strstr(r->error, key))
		return 0;
	*never = 1;
	json_object_del(body, key);
	return 1;
}

/* One sample of the evol arm: a chain of requests per round, evolve,
 * judge, respond, each answer deciding the next request.  The texts kept
 * in the sample, the evolved instruction and (in JSON) its response, keep
 * their tokens' log-probabilities when the recipe asks for them. */
enum { EVOLVE, JUDGE, RESPOND };
struct evo {
	struct sg_job *j;
	long long index, step;
	int stage, round, rounds, op;
	char *parent, *child, *response;
	json_t *trail; /* per round: op, kept, why */
	json_t *body;  /* the request in flight */
	struct sg_logprobs parent_lp, child_lp, response_lp, answer_lp;
	struct sg_rng rng;
};

static void
evo_send(struct evo *v)
{
	sg_llm_chat(sg_gen_client, v->body, v->index << 16 | v->step++, v);
}

static void
evo_ask(struct evo *v, const char *prompt, double temperature, int logprobs)
{
	json_decref(v->body);
	v->body = json_pack("{s:s, s:[{s:s, s:s}], s:f, s:I}", "model",
		sg_gen_model(v->j), "messages", "role", "user", "content",
		prompt, "temperature", temperature, "seed",
		(json_int_t)(v->j->seed + v->index));
	if (logprobs)
		sg_gen_ask_logprobs(v->j, v->body);
	evo_send(v);
}

/* The operation of a round: by the job's "evol_weights", else uniform. */
static int
evo_op(struct evo *v)
{
	json_t *w = json_object_get(v->j->params, "evol_weights");
	double total = 0, x;
	int i;

	for (i = 0; i < SG_EVOL_OPS; i++)
		total += sg_get_num(w, sg_evol_ops[i], 1);
	x = sg_rng_uniform(&v->rng) * total;
	for (i = 0; i < SG_EVOL_OPS - 1; i++)
		if ((x -= sg_get_num(w, sg_evol_ops[i], 1)) < 0)
			break;
	return i;
}

static void
evo_round(struct evo *v)
{
	char *p;

	v->op = evo_op(v);
	v->stage = EVOLVE;
	p = sg_evol_prompt(v->op, v->parent);
	evo_ask(v, p, sg_get_num(v->j->params, "temperature", 0.7), 1);
	free(p);
}

static void
evo_done(struct evo *v, const char *error)
{
	struct sg_job *j = v->j;
	json_t *s = sg_job_sample(j, v->index);

	json_object_set_new(
		s, "provenance", json_pack("{s:o}", "rounds", v->trail));
	if (error) {
		json_object_set_new(s, "error", json_string(error));
		sg_note("%s: sample %lld: %s", j->where, v->index, error);
	} else if (!v->response) {
		json_object_set_new(s, "error",
			json_string("every evolution was eliminated"));
	} else {
		json_object_set_new(s, "data",
			sg_job_json(j)
				? json_pack("{s:s, s:s}", "instruction",
					  v->parent, "output", v->response)
				: json_string(v->parent));
		if (sg_job_json(j)) {
			v->parent_lp.sum += v->response_lp.sum;
			v->parent_lp.tokens += v->response_lp.tokens;
		}
		if (v->parent_lp.tokens)
			json_object_set_new(
				s, "logprobs", sg_logprobs_json(&v->parent_lp));
		j->generated++;
	}
	sg_job_put_at(j, v->index, s);
	sg_gen_progress(j);
	json_decref(v->body);
	free(v->parent);
	free(v->child);
	free(v->response);
	free(v);
}

/* A round ends: why is NULL when the evolved instruction is kept. */
static void
evo_end_round(struct evo *v, const char *why, const char *response)
{
	json_t *ops = json_object_get(v->j->evol, sg_evol_ops[v->op]);

	json_array_append_new(v->trail,
		json_pack("{s:s, s:b, s:s*}", "op", sg_evol_ops[v->op], "kept",
			why == NULL, "why", why));
	json_object_set_new(
		ops, "tried", json_integer(sg_get_int(ops, "tried", 0) + 1));
	json_object_set_new(ops, "kept",
		json_integer(sg_get_int(ops, "kept", 0) + (why == NULL)));
	if (!why) {
		free(v->parent);
		v->parent = v->child;
		v->child = NULL;
		v->parent_lp = v->child_lp;
		free(v->response);
		v->response = sg_xstrdup(response);
		v->response_lp = v->answer_lp;
	}
	if (++v->round < v->rounds)
		evo_round(v);
	else
		evo_done(v, NULL);
}

static void
on_evol(void *arg, const struct sg_llm_reply *r)
{
	struct evo *v = r->ctx;
	const char *why;
	char *p;

	(void)arg;
	sg_gen_account(v->j, r, NULL, 1);
	if (sg_gen_refused(r, v->body, "logprobs", &sg_gen_no_logprobs)) {
		evo_send(v);
		return;
	}
	if (r->error) {
		evo_done(v, r->error);
		return;
	}
	switch (v->stage) {
	case EVOLVE:
		free(v->child);
		v->child = sg_xstrdup(r->content);
		v->child_lp = (struct sg_logprobs){0, 0};
		sg_logprobs_add(&v->child_lp, r->response, 0);
		if ((why = sg_evol_reject_instruction(v->child, NULL))) {
			evo_end_round(v, why, NULL);
			return;
		}
		v->stage = JUDGE;
		p = sg_evol_equal_prompt(v->parent, v->child);
		evo_ask(v, p, 0, 0);
		free(p);
		return;
	case JUDGE:
		if ((why = sg_evol_reject_instruction(v->child, r->content))) {
			evo_end_round(v, why, NULL);
			return;
		}
		v->stage = RESPOND;
		/* the response is in the sample only as JSON's "output" */
		evo_ask(v, v->child,
			sg_get_num(v->j->params, "temperature", 0.7),
			sg_job_json(v->j));
		return;
	default:
		v->answer_lp = (struct sg_logprobs){0, 0};
		sg_logprobs_add(&v->answer_lp, r->response, 0);
		evo_end_round(
			v, sg_evol_reject_response(r->content), r->content);
	}
}

/* The instruction a sample starts from: a seed example, or the recipe's
 * description. */
static char *
evo_seed(const struct sg_job *j, struct sg_rng *rng)
{
	const json_t *recipe = json_object_get(j->rec, "recipe");
	json_t *ex = sg_path(recipe, "task_input.examples"), *e;
	static const char *const keys[] = {
		"instruction", "prompt", "question", "text"};
	const char *d;
	char buf[1024];

	if (json_array_size(ex) > 0) {
		e = json_array_get(ex, sg_rng_below(rng, json_array_size(ex)));
		if (json_is_string(e))
			return sg_xstrdup(json_string_value(e));
		for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
			if ((d = sg_get_str(e, keys[i])))
				return sg_xstrdup(d);
	}
	d = sg_get_str(sg_path(recipe, "task_input"), "description");
	snprintf(buf, sizeof buf, "Write a task about %s.",
		d ? d : sg_get_str(recipe, "domain"));
	return sg_xstrdup(buf);
}

void
sg_gen_evol(struct sg_job *j)
{
	long long rounds = sg_get_int(j->params, "rounds", 2);
	struct sg_error e;
	struct evo *v;

	if (!sg_gen_llm(&e)) {
		sg_job_fail(j, "%s", e.text);
		return;
	}
	if (rounds < 1 || rounds > 8) {
		sg_job_fail(
			j, "params \"rounds\" is not an integer from 1 to 8");
		return;
	}
	j->evol = json_object();
	for (int i = 0; i < SG_EVOL_OPS; i++)
		json_object_set_new(j->evol, sg_evol_ops[i], json_object());
	for (long long i = 0; i < j->n; i++) {
		v = sg_xmalloc(sizeof *v);
		memset(v, 0, sizeof *v);
		v->j = j;
		v->index = i;
		v->rounds = (int)rounds;
		v->trail = json_array();
		sg_rng_seed(&v->rng, (uint64_t)(j->seed + i));
		v->parent = evo_seed(j, &v->rng);
		evo_round(v);
	}
	if (sg_llm_run(sg_gen_client, on_evol, NULL, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
}

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

	if (!sg_gen_llm(e))
		return NULL;
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

long long
sg_gen_exported(struct sg_error *e)
{
	return sg_gen_client ? sg_llm_batch_exported(sg_gen_client, e) : 0;
}

void
sg_gen_llm_end(void)
{
	sg_llm_free(sg_gen_client);
	sg_gen_client = NULL;
}
