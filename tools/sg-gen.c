/*
 * sg-gen - generate the samples of routed jobs.
 *
 * Reads records (sg-jsonl(5)) from the files named, or standard input.
 * Each job record (from sg-route) is written through unchanged, followed
 * by its n sample records and one batch record; every other record passes
 * through unchanged, in order.  sg-gen owns sample and batch records.
 * Generators: "templater" expands the recipe's grammar (asking the LLM for
 * llm_fill leaves), "command" runs the job's argv without a shell, "naive"
 * asks an OpenAI-compatible server for each sample, -j at a time; its
 * samples are written as they complete and carry their token usage and
 * cost, which the batch record sums.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sg.h"

struct job {
	json_t *rec;
	const char *where; /* "<stdin>:4", for messages */
	const char *run, *arm, *generator;
	long long batch, n, seed;
	json_t *params;
	long long generated; /* samples with data so far */
	long long prompt_tokens, completion_tokens, sent, cached;
	double cost;
	json_t *evol; /* the evol arm's operations: tried and kept */
};

/* One request of the naive arm in flight. */
struct call {
	struct job *j;
	long long index;
	json_t *body, *prov; /* prov: the rag passages' ids, or NULL */
	int repaired;
};

static struct {
	struct sg_llm *llm;
	struct sg_wordnet *wordnet;
	struct sg_kb *kb;
	char *kb_path;
	const char *model, *cache_dir;
	int jobs, no_cache, no_response_format;
	double timeout;
} L = {NULL, NULL, NULL, NULL, NULL, NULL, 8, 0, 0, 600};

static struct sg_filter f = {
	.usage = "usage: sg-gen [-huVv] [-j jobs] [-m model] [--cache-dir dir] "
		 "[--no-cache] [--strict]\n"
		 "              [--timeout seconds] [file ...]\n",
};

static void
put_new(json_t *rec)
{
	sg_filter_put(&f, rec);
	json_decref(rec);
}

/* The fields every sample of the job shares, in the documented order. */
static json_t *
new_sample(const struct job *j, long long index)
{
	json_t *s = json_object();

	json_object_set_new(s, "type", json_string("sample"));
	json_object_set_new(
		s, "id", json_sprintf("%s:%lld:%lld", j->run, j->batch, index));
	json_object_set_new(s, "run", json_string(j->run));
	json_object_set_new(s, "batch", json_integer(j->batch));
	json_object_set_new(s, "index", json_integer(index));
	json_object_set_new(s, "arm", json_string(j->arm));
	json_object_set_new(s, "generator", json_string(j->generator));
	json_object_set(s, "params", j->params);
	json_object_set_new(s, "seed", json_integer(j->seed));
	return s;
}

/* Writes a sample with data, consuming data. */
static void
put_data(struct job *j, long long index, json_t *data)
{
	json_t *s = new_sample(j, index);

	json_object_set_new(s, "data", data);
	j->generated++;
	put_new(s);
}

static void
put_error(struct job *j, long long index, const char *why)
{
	json_t *s = new_sample(j, index);

	json_object_set_new(s, "error", json_string(why));
	sg_note("%s: sample %lld: %s", j->where, index, why);
	put_new(s);
}

/* The whole job failed: every sample says why, once on stderr too. */
static void __attribute__((format(printf, 2, 3)))
fail_job(struct job *j, const char *fmt, ...)
{
	struct sg_error why;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why.text, sizeof why.text, fmt, ap);
	va_end(ap);
	sg_warn("%s: %s", j->where, why.text);
	sg_filter_fail(&f, SG_EXIT_DATA);
	for (long long i = 0; i < j->n; i++)
		put_error(j, i, why.text);
}

static void
put_batch(const struct job *j)
{
	json_t *b = json_object(), *ctx = json_object_get(j->rec, "context");

	json_object_set_new(b, "type", json_string("batch"));
	json_object_set_new(b, "run", json_string(j->run));
	json_object_set_new(b, "batch", json_integer(j->batch));
	json_object_set_new(b, "arm", json_string(j->arm));
	json_object_set_new(b, "generator", json_string(j->generator));
	json_object_set(b, "params", j->params);
	json_object_set_new(
		b, "context", ctx ? json_incref(ctx) : json_object());
	json_object_set_new(b, "n", json_integer(j->n));
	json_object_set_new(b, "generated", json_integer(j->generated));
	json_object_set_new(b, "errors", json_integer(j->n - j->generated));
	if (strcmp(j->generator, "naive") == 0 ||
		strcmp(j->generator, "rag") == 0 || j->evol || j->sent ||
		j->cached) {
		json_object_set_new(
			b, "prompt_tokens", json_integer(j->prompt_tokens));
		json_object_set_new(b, "completion_tokens",
			json_integer(j->completion_tokens));
		json_object_set_new(b, "cost", json_real(j->cost));
		json_object_set_new(b, "requests", json_integer(j->sent));
		json_object_set_new(b, "cached", json_integer(j->cached));
	}
	if (j->evol)
		json_object_set(b, "evol", j->evol);
	put_new(b);
}

static void
on_retry(void *ctx, const char *why, int attempt, double wait)
{
	(void)ctx;
	sg_note("retry %d in %.2fs: %s", attempt, wait, why);
}

static int
llm_configured(void)
{
	const char *url = getenv("OPENAI_BASE_URL");
	const char *key = getenv("OPENAI_API_KEY");

	return (url && *url) || (key && *key);
}

/* The client, made when a job first needs it; NULL and e without one. */
static struct sg_llm *
llm(struct sg_error *e)
{
	const char *base = getenv("OPENAI_BASE_URL");
	struct sg_http_opts o = {NULL, getenv("OPENAI_API_KEY"), L.jobs,
		L.timeout, 60, 4, 8, on_retry, NULL};
	char *cache;

	if (L.llm)
		return L.llm;
	if (!llm_configured()) {
		sg_seterr(e, "no LLM configured: set OPENAI_BASE_URL or "
			     "OPENAI_API_KEY");
		return NULL;
	}
	o.base_url = base && *base ? base : "https://api.openai.com/v1";
	cache = L.no_cache ? NULL : sg_llm_cache_dir(L.cache_dir);
	L.llm = sg_llm_new(&o, cache, e);
	free(cache);
	return L.llm;
}

static const char *
model(const struct job *j)
{
	const char *m = L.model ? L.model : sg_get_str(j->params, "model");

	if (!m)
		m = getenv("OPENAI_MODEL");
	return m && *m ? m : "gpt-4o-mini";
}

/* Tokens and cost of one answer, into the sample s (may be NULL) and the
 * job; prices are the params' US dollars per million tokens. */
static void
account(struct job *j, const struct sg_llm_reply *r, json_t *s)
{
	double cost =
		((double)r->prompt_tokens *
				sg_get_num(j->params, "price_prompt", 0) +
			(double)r->completion_tokens *
				sg_get_num(j->params, "price_completion", 0)) /
		1e6;

	j->prompt_tokens += r->prompt_tokens;
	j->completion_tokens += r->completion_tokens;
	j->cost += cost;
	if (r->cached)
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

static int
json_output(const struct job *j)
{
	const char *fmt =
		sg_get_str(json_object_get(j->rec, "context"), "format");

	if (!fmt)
		fmt = sg_get_str(
			json_object_get(j->rec, "recipe"), "output_format");
	return fmt && (strcmp(fmt, "json") == 0 || strcmp(fmt, "jsonl") == 0);
}

static void
on_naive(void *arg, const struct sg_llm_reply *r)
{
	struct call *c = r->ctx;
	struct job *j = c->j;
	json_t *s = new_sample(j, c->index), *data = NULL;
	struct sg_error e;

	(void)arg;
	account(j, r, s);
	if (r->error && json_object_get(c->body, "response_format") &&
		strstr(r->error, "response_format")) {
		/* The server knows no structured output: ask in words. */
		L.no_response_format = 1;
		json_object_del(c->body, "response_format");
		sg_llm_chat(L.llm, c->body, c->index, c);
		json_decref(s);
		return;
	}
	if (r->error) {
		snprintf(e.text, sizeof e.text, "%s", r->error);
	} else if (!(data = sg_naive_parse(r->content, json_output(j), &e)) &&
		   !c->repaired) {
		/* One repair attempt: show the model its answer and why. */
		json_t *fix = sg_naive_repair(c->body, r->content, e.text);

		json_decref(c->body);
		c->body = fix;
		c->repaired = 1;
		sg_llm_chat(L.llm, fix, c->index, c);
		json_decref(s);
		return;
	}
	if (c->prov)
		json_object_set_new(s, "provenance", c->prov);
	if (data) {
		json_object_set_new(s, "data", data);
		j->generated++;
	} else {
		json_object_set_new(s, "error", json_string(e.text));
		sg_note("%s: sample %lld: %s", j->where, c->index, e.text);
	}
	put_new(s);
	json_decref(c->body);
	free(c);
}

/* The job's knowledge base, loaded once per path: recipe.knowledge_base,
 * relative to the recipe's directory. */
static struct sg_kb *
knowledge_base(const struct job *j, struct sg_error *e)
{
	const char *kb =
		sg_get_str(json_object_get(j->rec, "recipe"), "knowledge_base");
	const char *recipe = sg_get_str(j->rec, "recipe_path");
	const char *slash = recipe ? strrchr(recipe, '/') : NULL;
	char path[4096];

	if (!kb) {
		sg_seterr(e, "recipe has no \"knowledge_base\"");
		return NULL;
	}
	if (kb[0] != '/' && slash)
		snprintf(path, sizeof path, "%.*s/%s", (int)(slash - recipe),
			recipe, kb);
	else
		snprintf(path, sizeof path, "%s", kb);
	if (L.kb && strcmp(L.kb_path, path) == 0)
		return L.kb;
	sg_kb_free(L.kb);
	free(L.kb_path);
	L.kb_path = sg_xstrdup(path);
	return L.kb = sg_kb_load(path, e);
}

/* The rag arm's passages for a sample: k of the 3k best by BM25 for the
 * recipe's description, drawn with the sample's seed. */
static json_t *
passages(const struct job *j, long long index, json_t **prov)
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
	best = sg_kb_search(L.kb, query, (size_t)(k < 1 ? 1 : 3 * k));
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

static void
gen_naive(struct job *j, int rag)
{
	struct sg_error e;
	struct call *c;
	json_t *ps = NULL;

	if (!llm(&e) || (rag && !knowledge_base(j, &e))) {
		fail_job(j, "%s", e.text);
		return;
	}
	for (long long i = 0; i < j->n; i++) {
		c = sg_xmalloc(sizeof *c);
		c->j = j;
		c->index = i;
		c->repaired = 0;
		c->prov = NULL;
		if (rag)
			ps = passages(j, i, &c->prov);
		c->body = sg_naive_body(
			j->rec, i, model(j), !L.no_response_format, ps);
		json_decref(ps);
		sg_llm_chat(L.llm, c->body, i, c);
	}
	if (sg_llm_run(L.llm, on_naive, NULL, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
}

/* One sample of the evol arm: a chain of requests per round, evolve,
 * judge, respond, each answer deciding the next request. */
enum { EVOLVE, JUDGE, RESPOND };
struct evo {
	struct job *j;
	long long index, step;
	int stage, round, rounds, op;
	char *parent, *child, *response;
	json_t *trail; /* per round: op, kept, why */
	struct sg_rng rng;
};

static void
evo_ask(struct evo *v, const char *prompt, double temperature)
{
	json_t *body = json_pack("{s:s, s:[{s:s, s:s}], s:f, s:I}", "model",
		model(v->j), "messages", "role", "user", "content", prompt,
		"temperature", temperature, "seed",
		(json_int_t)(v->j->seed + v->index));

	sg_llm_chat(L.llm, body, v->index << 16 | v->step++, v);
	json_decref(body);
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
	evo_ask(v, p, sg_get_num(v->j->params, "temperature", 0.7));
	free(p);
}

static void
evo_done(struct evo *v, const char *error)
{
	struct job *j = v->j;
	json_t *s = new_sample(j, v->index);

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
			json_output(j)
				? json_pack("{s:s, s:s}", "instruction",
					  v->parent, "output", v->response)
				: json_string(v->parent));
		j->generated++;
	}
	put_new(s);
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
		free(v->response);
		v->response = sg_xstrdup(response);
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
	account(v->j, r, NULL);
	if (r->error) {
		evo_done(v, r->error);
		return;
	}
	switch (v->stage) {
	case EVOLVE:
		free(v->child);
		v->child = sg_xstrdup(r->content);
		if ((why = sg_evol_reject_instruction(v->child, NULL))) {
			evo_end_round(v, why, NULL);
			return;
		}
		v->stage = JUDGE;
		p = sg_evol_equal_prompt(v->parent, v->child);
		evo_ask(v, p, 0);
		free(p);
		return;
	case JUDGE:
		if ((why = sg_evol_reject_instruction(v->child, r->content))) {
			evo_end_round(v, why, NULL);
			return;
		}
		v->stage = RESPOND;
		evo_ask(v, v->child,
			sg_get_num(v->j->params, "temperature", 0.7));
		return;
	default:
		evo_end_round(
			v, sg_evol_reject_response(r->content), r->content);
	}
}

/* The instruction a sample starts from: a seed example, or the recipe's
 * description. */
static char *
evo_seed(const struct job *j, struct sg_rng *rng)
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

static void
gen_evol(struct job *j)
{
	long long rounds = sg_get_int(j->params, "rounds", 2);
	struct sg_error e;
	struct evo *v;

	if (!llm(&e)) {
		fail_job(j, "%s", e.text);
		return;
	}
	if (rounds < 1 || rounds > 8) {
		fail_job(j, "params \"rounds\" is not an integer from 1 to 8");
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
	if (sg_llm_run(L.llm, on_evol, NULL, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
}

/* eda and extractive: offline, one seeded generator per job. */
static void
gen_offline(struct job *j, int eda)
{
	double alpha = sg_get_num(j->params, "alpha", 0.1);
	struct sg_error e;
	struct sg_rng rng;
	json_t *data, *prov = NULL, *s;

	if (eda && !L.wordnet && !(L.wordnet = sg_wordnet_open(NULL, &e))) {
		fail_job(j, "eda needs WordNet: %s", e.text);
		return;
	}
	if (!eda && !knowledge_base(j, &e)) {
		fail_job(j, "%s", e.text);
		return;
	}
	if (!(alpha > 0 && alpha <= 1)) {
		fail_job(j, "params \"alpha\" is not a number in (0, 1]");
		return;
	}
	sg_rng_seed(&rng, (uint64_t)j->seed);
	for (long long i = 0; i < j->n; i++) {
		data = eda ? sg_eda_sample(json_object_get(j->rec, "recipe"),
				     alpha, L.wordnet, &rng, &prov, &e)
			   : sg_extract_sample(L.kb, json_output(j),
				     sg_get_int(j->params, "sentences", 1),
				     &rng, &prov);
		if (!data) {
			fail_job(j, "%s", e.text);
			return;
		}
		s = new_sample(j, i);
		json_object_set_new(s, "provenance", prov);
		json_object_set_new(s, "data", data);
		j->generated++;
		put_new(s);
	}
}

/* An llm_fill leaf of sample index, asked and answered at once. */
struct fill {
	struct job *j;
	long long index, calls;
	char *out;
	struct sg_error err;
};

static void
on_fill(void *arg, const struct sg_llm_reply *r)
{
	struct fill *fc = arg;

	account(fc->j, r, NULL);
	if (r->error)
		snprintf(fc->err.text, sizeof fc->err.text, "%s", r->error);
	else
		fc->out = sg_xstrdup(r->content);
}

static char *
fill(void *ctx, const char *prompt, struct sg_error *e)
{
	struct fill *fc = ctx;
	json_t *body, *t = json_object_get(fc->j->params, "temperature");

	if (!llm(e))
		return NULL;
	body = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:I}", "model",
		model(fc->j), "messages", "role", "system", "content",
		"Answer with the text asked for only: no quotes, no preamble.",
		"role", "user", "content", prompt, "seed",
		(json_int_t)(fc->j->seed + fc->index));
	if (t)
		json_object_set(body, "temperature", t);
	fc->out = NULL;
	sg_llm_chat(L.llm, body, fc->index << 16 | fc->calls++, NULL);
	json_decref(body);
	if (sg_llm_run(L.llm, on_fill, fc, e) < 0)
		sg_die(SG_EXIT_IO, "%s", e->text);
	if (!fc->out)
		sg_seterr(e, "llm_fill: %s", fc->err.text);
	return fc->out;
}

static void
gen_templater(struct job *j)
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
		fail_job(j, "params \"temperature\" is not a positive number");
		return;
	}
	if (depth < 1 || depth > SG_GRAMMAR_MAX_DEPTH) {
		fail_job(j,
			"params \"max_depth\" is not an integer from 1 to %d",
			SG_GRAMMAR_MAX_DEPTH);
		return;
	}
	if (!gj) {
		fail_job(j, "recipe has no \"grammar\"");
		return;
	}
	if (!(g = sg_grammar_new(gj, &e))) {
		fail_job(j, "bad grammar: %s", e.text);
		return;
	}
	if (!fmt)
		fmt = sg_get_str(recipe, "output_format");
	json = fmt && (strcmp(fmt, "json") == 0 || strcmp(fmt, "jsonl") == 0);
	sg_rng_seed(&rng, (uint64_t)j->seed);
	for (long long i = 0; i < j->n; i++) {
		struct fill fc = {j, i, 0, NULL, {{0}}};

		text = sg_grammar_expand(g, &rng, t, (int)depth, json,
			llm_configured() ? fill : NULL, &fc, &e);
		if (!text) {
			put_error(j, i, e.text);
			continue;
		}
		if (json)
			data = json_loads(text,
				JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
		else
			data = json_string(text);
		free(text);
		if (data) {
			put_data(j, i, data);
		} else if (json) {
			snprintf(e.text, sizeof e.text,
				"template output is not valid JSON at column "
				"%d: %s",
				je.column, je.text);
			put_error(j, i, e.text);
		} else {
			put_error(j, i, "template output is not valid UTF-8");
		}
	}
	sg_grammar_free(g);
}

/* One line of a command's output as sample index: a sample record keeps
 * its own fields, anything else becomes the data. */
static void
command_sample(struct job *j, long long index, const char *line, size_t len)
{
	static const char *const mine[] = {"type", "id", "run", "batch",
		"index", "arm", "generator", "params", "seed", "data", "error"};
	json_t *v = json_loadb(line, len, JSON_DECODE_ANY, NULL), *s, *x;
	const char *key;

	if (!v && !(v = json_stringn(line, len))) {
		put_error(j, index, "command output is not valid UTF-8");
		return;
	}
	if (!json_is_object(v) || !sg_rec_type(v) ||
		strcmp(sg_rec_type(v), "sample") != 0) {
		put_data(j, index, v);
		return;
	}
	s = new_sample(j, index);
	for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
		if ((x = json_object_get(v, mine[i])))
			json_object_set(s, mine[i], x);
	json_object_foreach (v, key, x)
		if (!json_object_get(s, key))
			json_object_set(s, key, x);
	if (!json_object_get(s, "data") && !json_object_get(s, "error"))
		json_object_set_new(s, "error",
			json_string("command sample has neither \"data\" nor "
				    "\"error\""));
	if (!json_object_get(s, "error"))
		j->generated++;
	json_decref(v);
	put_new(s);
}

static void
setenv_int(const char *name, long long v)
{
	char num[32];

	snprintf(num, sizeof num, "%lld", v);
	setenv(name, num, 1);
}

/* The job goes to the child's stdin through an unlinked temporary file,
 * not a pipe: a child that writes before it reads cannot deadlock us. */
static FILE *
job_file(const struct job *j, struct sg_error *e)
{
	FILE *tmp = tmpfile();

	if (!tmp) {
		sg_seterr(e, "cannot create a temporary file: %s",
			strerror(errno));
		return NULL;
	}
	if (sg_write_record(tmp, j->rec, 1) < 0 ||
		lseek(fileno(tmp), 0, SEEK_SET) < 0) {
		sg_seterr(e, "cannot write a temporary file: %s",
			strerror(errno));
		fclose(tmp);
		return NULL;
	}
	fcntl(fileno(tmp), F_SETFD, FD_CLOEXEC);
	return tmp;
}

/* A command named by a relative path ("./gen.sh") is the recipe's own
 * script: look for it beside the recipe, wherever the pipeline runs. */
static void
resolve_beside_recipe(char **argv, const json_t *job)
{
	const char *recipe = sg_get_str(job, "recipe_path");
	const char *slash = recipe ? strrchr(recipe, '/') : NULL;
	size_t n;
	char *path;

	if (!slash || argv[0][0] == '/' || !strchr(argv[0], '/'))
		return;
	n = (size_t)(slash - recipe) + strlen(argv[0]) + 2;
	path = sg_xmalloc(n);
	snprintf(path, n, "%.*s/%s", (int)(slash - recipe), recipe, argv[0]);
	free(argv[0]);
	argv[0] = path;
}

static void
gen_command(struct job *j)
{
	json_t *cmd = json_object_get(j->rec, "command");
	long long lines = 0, extra = 0;
	struct sg_error e;
	char **argv, *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *tmp, *out;
	pid_t pid;
	int fd[2], rc;

	if (!cmd) {
		fail_job(j, "job has no \"command\"");
		return;
	}
	if (!(argv = sg_argv_from_json(cmd, &e))) {
		fail_job(j, "%s", e.text);
		return;
	}
	resolve_beside_recipe(argv, j->rec);
	if (!(tmp = job_file(j, &e)) || pipe(fd) < 0) {
		if (tmp)
			fclose(tmp);
		sg_warn("%s: %s", j->where, tmp ? strerror(errno) : e.text);
		sg_filter_fail(&f, SG_EXIT_IO);
		sg_argv_free(argv);
		return;
	}
	fcntl(fd[0], F_SETFD, FD_CLOEXEC);
	fcntl(fd[1], F_SETFD, FD_CLOEXEC);
	setenv("SG_RUN", j->run, 1);
	setenv_int("SG_BATCH", j->batch);
	setenv_int("SG_SEED", j->seed);
	setenv_int("SG_N", j->n);
	pid = sg_spawn(argv, fileno(tmp), fd[1], &e);
	fclose(tmp);
	close(fd[1]);
	if (pid < 0) {
		sg_warn("%s: %s", j->where, e.text);
		sg_filter_fail(&f, SG_EXIT_CHILD);
		close(fd[0]);
		sg_argv_free(argv);
		return;
	}
	out = fdopen(fd[0], "r");
	while ((len = getline(&line, &cap, out)) >= 0) {
		while (len > 0 &&
			(line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (strspn(line, " \t") >= (size_t)len)
			continue;
		if (lines < j->n)
			command_sample(j, lines++, line, (size_t)len);
		else
			extra++;
	}
	free(line);
	fclose(out);
	rc = sg_wait(pid, &e);
	if (extra > 0)
		sg_warn("%s: command \"%s\" printed %lld lines more than n = "
			"%lld; ignored them",
			j->where, argv[0], extra, j->n);
	if (lines < j->n)
		sg_note("%s: command \"%s\" printed %lld of %lld samples",
			j->where, argv[0], lines, j->n);
	if (rc < 0) {
		sg_warn("%s: %s", j->where, e.text);
		sg_filter_fail(&f, SG_EXIT_CHILD);
	} else if (rc > 0) {
		sg_warn("%s: command \"%s\" exited with status %d", j->where,
			argv[0], rc);
		sg_filter_fail(&f, SG_EXIT_CHILD);
	}
	sg_argv_free(argv);
}

/* 0 when the job has every field sg-gen needs, else -1 and a warning. */
static int
check_job(struct job *j)
{
	static const struct {
		const char *name;
		int integer;
	} need[] = {{"arm", 0}, {"generator", 0}, {"batch", 1}, {"run", 0},
		{"n", 1}, {"seed", 1}};
	size_t i;

	for (i = 0; i < sizeof need / sizeof need[0]; i++)
		if (!json_object_get(j->rec, need[i].name)) {
			sg_warn("%s: job has no \"%s\"", j->where,
				need[i].name);
			return -1;
		}
	for (i = 0; i < sizeof need / sizeof need[0]; i++) {
		if (!need[i].integer && !sg_get_str(j->rec, need[i].name)) {
			sg_warn("%s: job \"%s\" is not a string", j->where,
				need[i].name);
			return -1;
		}
		if (need[i].integer &&
			sg_get_int(j->rec, need[i].name, -1) < 0) {
			sg_warn("%s: job \"%s\" is not a non-negative integer",
				j->where, need[i].name);
			return -1;
		}
	}
	j->run = sg_get_str(j->rec, "run");
	j->arm = sg_get_str(j->rec, "arm");
	j->generator = sg_get_str(j->rec, "generator");
	j->batch = sg_get_int(j->rec, "batch", 0);
	j->n = sg_get_int(j->rec, "n", 0);
	j->seed = sg_get_int(j->rec, "seed", 0);
	return 0;
}

static void
run_job(json_t *rec, const char *where)
{
	struct job j = {rec, where, NULL, NULL, NULL, 0, 0, 0, NULL, 0, 0, 0, 0,
		0, 0, NULL};
	json_t *params = json_object_get(rec, "params");

	if (check_job(&j) < 0) {
		sg_filter_fail(&f, SG_EXIT_DATA);
		return;
	}
	j.params = json_is_object(params) ? json_incref(params) : json_object();
	sg_filter_put(&f, rec);
	if (strcmp(j.generator, "templater") == 0)
		gen_templater(&j);
	else if (strcmp(j.generator, "command") == 0)
		gen_command(&j);
	else if (strcmp(j.generator, "naive") == 0 ||
		 strcmp(j.generator, "rag") == 0)
		gen_naive(&j, strcmp(j.generator, "rag") == 0);
	else if (strcmp(j.generator, "evol") == 0)
		gen_evol(&j);
	else if (strcmp(j.generator, "eda") == 0 ||
		 strcmp(j.generator, "extractive") == 0)
		gen_offline(&j, strcmp(j.generator, "eda") == 0);
	else
		fail_job(&j, "generator \"%s\" is not available", j.generator);
	put_batch(&j);
	sg_note("%s: run \"%s\" batch %lld arm \"%s\": %lld of %lld generated",
		where, j.run, j.batch, j.arm, j.generated, j.n);
	json_decref(j.params);
	json_decref(j.evol);
}

static void
gen(struct sg_filter *f, json_t *rec)
{
	if (strcmp(sg_rec_type(rec), "job") == 0)
		run_job(rec, f->where);
	else
		sg_filter_put(f, rec);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"cache-dir", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'j'},
		{"model", required_argument, NULL, 'm'},
		{"no-cache", no_argument, NULL, 'N'},
		{"strict", no_argument, NULL, SG_OPT_STRICT},
		{"timeout", required_argument, NULL, 'T'},
		{"unbuffered", no_argument, NULL, 'u'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct sg_error e;
	char *end;
	int c, status;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "hj:m:uVv", longopts, NULL)) !=
		-1) {
		switch (c) {
		case 'C':
			L.cache_dir = optarg;
			break;
		case 'j':
			L.jobs = (int)strtol(optarg, &end, 10);
			if (*end || L.jobs < 1 || L.jobs > 4096)
				sg_die(SG_EXIT_USAGE,
					"-j wants an integer from 1 to 4096");
			break;
		case 'm':
			L.model = optarg;
			break;
		case 'N':
			L.no_cache = 1;
			break;
		case 'T':
			L.timeout = strtod(optarg, &end);
			if (*end || !(L.timeout > 0))
				sg_die(SG_EXIT_USAGE, "--timeout wants a "
						      "number of seconds > 0");
			break;
		default:
			if (!sg_filter_option(&f, c))
				sg_usage(f.usage, SG_EXIT_USAGE);
		}
	}
	if (sg_llm_dotenv(".env", &e) < 0)
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
	status = sg_filter_run(&f, argv + optind, argc - optind, gen);
	sg_llm_free(L.llm);
	sg_wordnet_close(L.wordnet);
	sg_kb_free(L.kb);
	free(L.kb_path);
	return sg_finish(status);
}
