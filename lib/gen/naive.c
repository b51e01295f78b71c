/*
 * naive.c - the naive arm (and the rag arm's requests, with rag.c's
 * passages): one chat completion per sample, prompted from the recipe's
 * domain, task and task_input, and the parsing of its answers, with one
 * repair request for JSON that does not parse, or one with twice the
 * max_tokens for JSON they cut.  A sample is asked for the label the job's
 * plan gives it, in words and, where the schema lists the label field's
 * values, by that schema narrowed to it.  Requests go -j in flight,
 * each body built shortly before it is sent, and samples are written in
 * index order as soon as each and those before it are answered.
 */
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "llm/llm.h"
#include "gen/gen-internal.h"

static void add(json_t *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
add(json_t *buf, const char *fmt, ...)
{
	va_list ap, again;
	char *line;
	json_t *s;
	int n;

	va_start(ap, fmt);
	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	line = sg_xmalloc((size_t)n + 1);
	vsnprintf(line, (size_t)n + 1, fmt, again);
	va_end(again);
	va_end(ap);
	s = json_sprintf("%s%s", json_string_value(buf), line);
	json_string_set(buf, json_string_value(s));
	json_decref(s);
	free(line);
}

static char *
user_prompt(const struct sg_job *j, long long index, const json_t *schema,
	int json, const char *label)
{
	const json_t *recipe = json_object_get(j->rec, "recipe");
	const char *domain = sg_get_str(recipe, "domain");
	json_t *p = json_string("");
	char *out, *txt;

	if (domain && strcmp(domain, "task_rewrite") == 0)
		add(p, "Rewrite the input into one new variant for a synthetic "
		       "dataset.\n");
	else
		add(p, "Write one new, realistic example for a synthetic "
		       "dataset.\n");
	txt = sg_task_text(recipe, sg_job_row(j, index));
	add(p, "%s", txt);
	free(txt);
	if ((txt = sg_job_angle(j, index))) {
		add(p, "%s", txt);
		free(txt);
	}
	if (label)
		add(p, "Its label must be \"%s\".\n", label);
	if (json) {
		txt = schema ? sg_dumps(schema) : NULL;
		add(p,
			"Answer with one JSON value only, no prose and no code "
			"fence%s%s.\n",
			txt ? ", valid against this JSON Schema: " : "",
			txt ? txt : "");
		free(txt);
	} else {
		add(p, "Answer with the example's text only.\n");
	}
	out = sg_xstrdup(json_string_value(p));
	json_decref(p);
	return out;
}

/* The schema a sample must meet: the recipe's, else the grammar's. */
static json_t *
recipe_schema(const json_t *recipe)
{
	json_t *s = sg_path(recipe, "constraints.schema");
	struct sg_grammar *g;
	struct sg_error e;

	if (!s)
		s = sg_path(recipe, "validators.json_schema.schema");
	if (s)
		return json_incref(s);
	g = json_object_get(recipe, "grammar")
		    ? sg_grammar_new(json_object_get(recipe, "grammar"), &e)
		    : NULL;
	s = g ? sg_grammar_schema(g) : NULL;
	sg_grammar_free(g);
	return s;
}

/* schema with the values of the label field narrowed to label, when it
 * lists them: a server with structured output then cannot answer
 * another.  Consumes schema. */
static json_t *
narrowed(json_t *schema, const char *field, const char *label)
{
	json_t *prop =
		json_object_get(json_object_get(schema, "properties"), field);
	json_t *values = json_object_get(prop, "enum"), *keep, *v, *copy;
	size_t i;
	char *l;

	if (!label || !json_is_array(values))
		return schema;
	keep = json_array();
	json_array_foreach (values, i, v) {
		if ((l = sg_label_string(v)) && strcmp(l, label) == 0)
			json_array_append(keep, v);
		free(l);
	}
	if (json_array_size(keep) == 0) {
		json_decref(keep);
		return schema;
	}
	copy = json_deep_copy(schema);
	json_object_set_new(
		json_object_get(json_object_get(copy, "properties"), field),
		"enum", keep);
	json_decref(schema);
	return copy;
}

json_t *
sg_naive_body(const struct sg_job *j, long long index, const char *model,
	int response_format, const json_t *passages)
{
	const json_t *recipe = json_object_get(j->rec, "recipe");
	const char *label = sg_job_label(j, index);
	long long seed = j->seed + index;
	json_t *schema, *body, *v;
	char *prompt;
	int json = sg_job_json(j);

	schema = json ? narrowed(recipe_schema(recipe), j->mix.field, label)
		      : NULL;
	prompt = user_prompt(j, index, schema, json, label);
	if (json_array_size(passages) > 0) {
		json_t *p = json_string("Base it on these passages:\n"), *v;
		size_t i;

		json_array_foreach (passages, i, v)
			add(p, "[%s] %s\n",
				json_string_value(json_array_get(v, 0)),
				json_string_value(json_array_get(v, 1)));
		add(p, "\n%s", prompt);
		free(prompt);
		prompt = sg_xstrdup(json_string_value(p));
		json_decref(p);
	}
	body = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:I}", "model",
		model, "messages", "role", "system", "content",
		"You write varied, realistic data for machine learning "
		"datasets, following the instructions exactly.",
		"role", "user", "content", prompt, "seed", (json_int_t)seed);
	free(prompt);
	if ((v = json_object_get(j->params, "temperature")))
		json_object_set(body, "temperature", v);
	if ((v = json_object_get(j->params, "top_p")))
		json_object_set(body, "top_p", v);
	if ((v = json_object_get(j->params, "max_tokens")))
		json_object_set(body, "max_tokens", v);
	if (schema && response_format)
		json_object_set_new(body, "response_format",
			json_pack("{s:s, s:{s:s, s:O}}", "type", "json_schema",
				"json_schema", "name", "sample", "schema",
				schema));
	json_decref(schema);
	return body;
}

json_t *
sg_naive_parse(const char *content, int json, struct sg_error *e)
{
	const char *a, *b;
	json_error_t je;
	json_t *v;

	if (!json)
		return json_string(content);
	/* Models wrap JSON in prose or code fences even when told not to. */
	a = strpbrk(content, "{[");
	b = a ? strrchr(content, a[0] == '{' ? '}' : ']') : NULL;
	if (!a || !b || b < a) {
		sg_seterr(e, "the answer holds no JSON object or array");
		return NULL;
	}
	v = json_loadb(a, (size_t)(b - a + 1), JSON_REJECT_DUPLICATES, &je);
	if (!v)
		sg_seterr(e, "the answer is not valid JSON: %s", je.text);
	return v;
}

json_t *
sg_naive_repair(const json_t *body, const char *content, const char *why)
{
	json_t *b = json_deep_copy(body);
	json_t *msgs = json_object_get(b, "messages");

	json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "assistant",
					    "content", content));
	json_array_append_new(
		msgs, json_pack("{s:s, s:s+}", "role", "user", "content", why,
			      ". Reply with the corrected JSON only."));
	return b;
}

/* One request of the naive arm in flight. */
struct call {
	struct sg_job *j;
	long long index;
	json_t *body, *prov; /* prov: the rag passages' ids, or NULL */
	int repaired;
	int cut;    /* asked again for being cut at max_tokens */
	int count;  /* samples asked for at once (n), from index on */
	int shared; /* a later choice of a request counted already */
	int choice; /* which of the answer's choices is this sample's */
};

static int no_response_format, no_choices;

static struct call *
new_call(struct sg_job *j, long long index, json_t *body, int count)
{
	struct call *c = sg_xmalloc(sizeof *c);

	memset(c, 0, sizeof *c);
	c->j = j;
	c->index = index;
	c->body = body;
	c->count = count;
	return c;
}

/* The naive and rag arms' request for sample index. */
static json_t *
naive_body(const struct sg_job *j, long long index, const char *m,
	const json_t *passages)
{
	json_t *body =
		sg_naive_body(j, index, m, !no_response_format, passages);

	sg_gen_ask_logprobs(j, body);
	return body;
}

static void on_naive(void *arg, const struct sg_llm_reply *r);

/* A request for count samples at once: each choice is a sample, the
 * first carrying the request's usage; choices the server did not give,
 * or all of them when it refused n, are asked for one by one. */
static void
split(struct call *c, const struct sg_llm_reply *r)
{
	json_t *choices = json_object_get(r->response, "choices"), *body;
	struct sg_llm_reply one;
	struct call *k;

	/* a deferred answer says nothing of the server */
	if (!sg_gen_refused(r, c->body, "logprobs", &sg_gen_no_logprobs) &&
		r->error && !r->deferred)
		no_choices = 1;
	for (int i = 0; i < c->count; i++) {
		const char *content =
			r->error ? NULL
				 : sg_get_str(json_object_get(
						      json_array_get(choices,
							      (size_t)i),
						      "message"),
					   "content");

		if (!content && !r->deferred) {
			body = naive_body(c->j, c->index + i,
				sg_get_str(c->body, "model"), NULL);
			k = new_call(c->j, c->index + i, body, 1);
			sg_llm_chat(sg_gen_client, body, k->index, k);
			continue;
		}
		body = json_deep_copy(c->body);
		json_object_del(body, "n");
		k = new_call(c->j, c->index + i, body, 1);
		k->shared = i > 0;
		k->choice = i;
		one = *r;
		one.ctx = k;
		one.content = content;
		one.finish_reason = sg_get_str(
			json_array_get(choices, (size_t)i), "finish_reason");
		if (i > 0)
			one.prompt_tokens = one.completion_tokens = 0;
		on_naive(NULL, &one);
	}
	json_decref(c->body);
	free(c);
}

static void
on_naive(void *arg, const struct sg_llm_reply *r)
{
	struct call *c = r->ctx;
	struct sg_job *j = c->j;
	json_t *s, *data = NULL;
	struct sg_logprobs lp = {0, 0};
	enum sg_llm_fault fault = SG_FAULT_CONTENT;
	struct sg_error e;
	int cut = 0;

	(void)arg;
	if (c->count > 1) {
		if (r->error)
			sg_gen_account(j, r, NULL, 1);
		split(c, r);
		return;
	}
	s = sg_job_sample(j, c->index);
	sg_gen_account(j, r, s, !c->shared);
	/* A server without structured output is asked in words; a model
	 * without logprobs leaves perplexity to sg-validate's own model. */
	if (sg_gen_refused(
		    r, c->body, "response_format", &no_response_format) ||
		sg_gen_refused(r, c->body, "logprobs", &sg_gen_no_logprobs)) {
		sg_llm_chat(sg_gen_client, c->body, c->index, c);
		json_decref(s);
		return;
	}
	if (r->error) {
		snprintf(e.text, sizeof e.text, "%s", r->error);
		fault = r->fault;
	} else if (!(data = sg_naive_parse(r->content, sg_job_json(j), &e)) &&
		   (cut = sg_gen_cut(r, c->body, &c->cut, &e)) > 0) {
		/* more tokens, not a repair: the JSON was only unfinished */
		sg_llm_chat(sg_gen_client, c->body, c->index, c);
		json_decref(s);
		return;
	} else if (!data && !cut && !c->repaired) {
		/* One repair attempt: show the model its answer and why. */
		json_t *fix = sg_naive_repair(c->body, r->content, e.text);

		json_decref(c->body);
		c->body = fix;
		c->repaired = 1;
		sg_llm_chat(sg_gen_client, fix, c->index, c);
		json_decref(s);
		return;
	}
	if (c->prov)
		json_object_set_new(s, "provenance", c->prov);
	if (data) {
		json_object_set_new(s, "data", data);
		sg_logprobs_add(&lp, r->response, c->choice);
		if (lp.tokens)
			json_object_set_new(
				s, "logprobs", sg_logprobs_json(&lp));
		j->generated++;
	} else {
		sg_job_mark(j, s, c->index, e.text, fault);
		/* sg_job_mark tells only with -v; a cut answer always */
		if (cut && !sg_verbose)
			sg_warn("%s: sample %lld: %s", j->where, c->index,
				e.text);
	}
	sg_job_put_at(j, c->index, s);
	sg_gen_progress(j);
	json_decref(c->body);
	free(c);
}

static int
same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int
same_row(const json_t *a, const json_t *b)
{
	return a == b || json_equal(a, b);
}

void
sg_gen_naive(struct sg_job *j, int rag)
{
	long long choices = sg_get_int(j->params, "choices", 1);
	/* bodies are built as requests go, a few waiting per connection,
	 * so memory does not grow with the job's n */
	long long window = 2 * (long long)sg_gen_opts.jobs;
	struct sg_kb *kb = NULL;
	struct sg_error e;
	struct call *c;
	json_t *ps = NULL, *prov = NULL;

	if (!sg_gen_llm(&e) || (rag && !(kb = sg_job_kb(j, 1, &e)))) {
		sg_job_fail(j, "%s", e.text);
		return;
	}
	if (sg_gen_angles(j) < 0)
		return;
	if (rag || no_choices || choices < 1)
		choices = 1;
	for (long long i = 0, count; i < j->n; i += count) {
		/* the choices of one request share its label and row, and
		 * the angle of the first */
		for (count = 1;
			count < choices && i + count < j->n &&
			same(sg_job_label(j, i + count), sg_job_label(j, i)) &&
			same_row(sg_job_row(j, i + count), sg_job_row(j, i));)
			/* so the sample says what its prompt said */
			sg_angle_copy(j, i + count++, i);
		if (rag)
			ps = sg_rag_passages(j, kb, i, &prov);
		c = new_call(j, i, naive_body(j, i, sg_gen_model(j), ps),
			(int)count);
		c->prov = rag ? prov : NULL;
		if (count > 1)
			json_object_set_new(c->body, "n", json_integer(count));
		json_decref(ps);
		sg_llm_chat(sg_gen_client, c->body, i, c);
		if (sg_llm_outstanding(sg_gen_client) >= window &&
			sg_llm_run_some(sg_gen_client, on_naive, NULL,
				window - 1, &e) < 0)
			sg_die(SG_EXIT_IO, "%s", e.text);
	}
	if (sg_llm_run(sg_gen_client, on_naive, NULL, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
}
