/*
 * modelcheck.c - sg-validate's checks by a language model and by
 * embeddings, in the tool layer beside record/filter.c: the rubric judge
 * (llm_judge), entailment of a grounded sample by its sources, the LLM
 * toxicity judgement (toxicity_llm), relevance to the task by embedding
 * cosine (semantic), closeness to the original input or semantic
 * near-duplicates by embedding cosine (similarity), and each batch's
 * embedding dispersion (diversity).  A sample that failed a check of its
 * own is sent to none of them.
 *
 * A record waits here, in input order, until the answers its checks asked
 * for are in; the records after it wait behind it, so the output keeps the
 * input's order.  Requests flow: up to 8 x -j (at least 64) are asked and
 * not answered at a time, -j of them in flight through one client, and
 * each answer lets the next record's requests start and releases the
 * records before it that are complete.  A slow answer holds back at most
 * four times that many records; a batch record (its batch is complete)
 * and the end wait for every answer, and so do the samples whose verdict
 * is their batch's dispersion.  Answers are cached like sg-gen's, so a
 * second run asks nothing.  A request that fails after its retries fails
 * its check, with "error" saying why, and is reported on standard error:
 * the sample is never dropped, and never passed unjudged.  Without an LLM
 * configured the model checks are not run, and standard error says so
 * once.
 *
 * Verdicts are asked for as JSON through response_format (judge.c); a
 * server that refuses it is asked in words for the rest of the run, and
 * one that ignores it is told of once.  Embeddings that cannot tell the
 * texts of a batch apart are told of once, and the checks on them pass
 * every sample, skipped, for the rest of the run: the vectors file of
 * --seen carries that to the next iterations.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "llm/llm.h"
#include "check/check-internal.h"

static const char *const kname[] = {"llm_judge", "entailment", "toxicity_llm",
	"semantic", "similarity", "diversity"};

struct ask {
	int kind;
	struct sg_held *h;   /* NULL for SG_K_DESC and SG_K_ORIG */
	struct sg_mcheck *m; /* for them */
	json_t *body;	     /* a verdict's request */
	char *words; /* the question in words while body asks for JSON */
};

struct sg_mcheck_opts sg_mcheck_opts = {NULL, NULL, NULL, 8, 0, 600, NULL, 0};
static struct sg_llm *client;
static struct sg_held *head, *tail;
static size_t nheld;
static int draining;	 /* release every record whose answers are in */
static int words_only;	 /* the server refused response_format */
static int told_ignores; /* that the server ignores it */

static void
on_retry(void *ctx, const char *why, int attempt, double wait)
{
	(void)ctx;
	sg_note("retry %d in %.2fs: %s", attempt, wait, why);
}

static struct sg_llm *
llm(void)
{
	const char *base = getenv("OPENAI_BASE_URL");
	struct sg_http_opts o = {
		base && *base ? base : "https://api.openai.com/v1",
		getenv("OPENAI_API_KEY"), sg_mcheck_opts.jobs,
		sg_mcheck_opts.timeout, 60, 4, 8, on_retry, NULL};
	struct sg_error e;
	char *cache;

	if (client)
		return client;
	cache = sg_mcheck_opts.no_cache
			? NULL
			: sg_llm_cache_dir(sg_mcheck_opts.cache_dir);
	client = sg_llm_new(&o, cache, &e);
	free(cache);
	if (!client)
		sg_die(SG_EXIT_UNAVAILABLE, "%s", e.text);
	return client;
}

/* validators.<name> when it runs (sg_validator_on), else NULL. */
static const json_t *
block(const json_t *recipe, const char *name)
{
	return sg_validator_on(recipe, name)
		       ? json_object_get(
				 json_object_get(recipe, "validators"), name)
		       : NULL;
}

/* The flag, else the block's key, else the environment, else dflt; an
 * embedding model also from the Python system's embedding_model, whose
 * "openai/" names the provider sg talks to anyway (another provider's
 * name goes to the server as it is). */
static char *
model_of(const json_t *v, const char *key, const char *flag, const char *env,
	const char *dflt)
{
	const char *m = flag ? flag : sg_get_str(v, key);

	if ((!m || !*m) && !flag && (m = sg_get_str(v, "embedding_model")) &&
		strncmp(m, "openai/", 7) == 0)
		m += 7;
	if (!m || !*m)
		m = getenv(env);
	return sg_xstrdup(m && *m ? m : dflt);
}

/* The judge's rubric, model and sampling; entailment's and toxicity's
 * models. */
static void
config_judges(
	struct sg_mcheck *m, const json_t *j, const json_t *en, const json_t *t)
{
	const json_t *recipe = m->recipe;

	m->judge_min = sg_get_num(j, "threshold", 0.7);
	m->temperature = sg_get_num(j, "temperature", 0);
	m->max_tokens = sg_get_int(j, "max_tokens", 300);
	m->entail_min = sg_get_num(en, "threshold", 0.5);
	m->toxic_max = sg_get_num(t, "llm_threshold", 0.5);
	if (!(m->criteria = json_object_get(j, "criteria")))
		m->criteria = json_object_get(j, "quality_criteria");
	if (!m->criteria)
		m->criteria = json_object_get(recipe, "quality_criteria");
	if (!m->criteria)
		m->criteria = sg_path(recipe, "task_input.quality_criteria");
	m->model[SG_K_JUDGE] = model_of(j, "model", sg_mcheck_opts.model,
		"OPENAI_MODEL", "gpt-4o-mini");
	m->model[SG_K_ENTAIL] = model_of(en, "model", sg_mcheck_opts.model,
		"OPENAI_MODEL", "gpt-4o-mini");
	m->model[SG_K_TOXIC] = model_of(t, "llm_model", sg_mcheck_opts.model,
		"OPENAI_MODEL", "gpt-4o-mini");
}

struct sg_mcheck *
sg_mcheck_new(const json_t *recipe, const char *recipe_path)
{
	static int told;
	const json_t *j = block(recipe, "llm_judge");
	const json_t *en = block(recipe, "entailment");
	const json_t *t = block(recipe, "toxicity");
	const json_t *s = block(recipe, "semantic");
	const json_t *d = block(recipe, "diversity");
	const json_t *sim = block(recipe, "similarity");
	const json_t *ti = json_object_get(recipe, "task_input");
	const json_t *emb = s ? s : d ? d : sim;
	const char *desc;
	struct sg_mcheck *m;

	t = sg_get_bool(t, "llm", 0) ? t : NULL;
	if ((!j && !en && !t && !s && !d && !sim) || sg_mcheck_opts.no_llm)
		return NULL;
	if (!sg_llm_configured()) {
		if (!told++)
			sg_warn("the model checks (llm_judge, entailment, "
				"toxicity llm, semantic, similarity, "
				"diversity) are not "
				"run: no LLM configured (set OPENAI_BASE_URL "
				"or OPENAI_API_KEY)");
		return NULL;
	}
	m = sg_xcalloc(1, sizeof *m);
	m->recipe = json_incref((json_t *)recipe);
	m->judge = j != NULL;
	m->entail = en != NULL;
	m->toxic = t != NULL;
	m->semantic = s != NULL;
	m->diversity = d != NULL;
	m->similar = sim != NULL;
	m->sem_min = sg_get_num(s, "min_similarity", 0.3);
	/* the Python system's threshold rejects a batch; sg's own
	 * min_dispersion alone only weighs on the reward (sg-score) */
	m->div_min = sg_get_num(d, "threshold",
		json_is_number(json_object_get(d, "min_dispersion")) ? NAN
								     : 0.3);
	if (!(m->task = json_string_value(ti)) &&
		!(m->task = sg_get_str(ti, "description")))
		m->task = sg_get_str(recipe, "task");
	if (!(desc = sg_get_str(s, "description")) && !(desc = m->task))
		desc = sg_get_str(recipe, "domain");
	m->ref[0].text = desc ? sg_xstrdup(desc) : NULL;
	config_judges(m, j, en, t);
	m->model[SG_K_EMBED] =
		model_of(emb, "model", sg_mcheck_opts.embedding_model,
			"OPENAI_EMBEDDING_MODEL", "text-embedding-3-small");
	if (m->similar)
		sg_embedding_config(m, sim);
	/* knowledge_base, relative to the recipe's directory as sg-gen
	 * reads it */
	if (sg_get_str(recipe, "knowledge_base"))
		m->kb_path = sg_recipe_relative(
			recipe_path, sg_get_str(recipe, "knowledge_base"));
	return m;
}

void
sg_mcheck_free(struct sg_mcheck *m)
{
	if (!m)
		return;
	for (int k = 0; k <= SG_K_EMBED; k++)
		free(m->model[k]);
	for (int r = 0; r < 2; r++) {
		free(m->ref[r].text);
		free(m->ref[r].v);
		free(m->ref[r].error);
	}
	free(m->kb_path);
	json_decref(m->kb_text);
	json_decref(m->recipe);
	free(m);
}

/* The body of a verdict's request: the judge's sampling, each one's
 * scale, and response_format when structured. */
static json_t *
verdict_body(
	const struct sg_mcheck *m, int kind, const char *prompt, int structured)
{
	int judge = kind == SG_K_JUDGE;

	return sg_judge_body(m->model[kind], prompt, judge ? m->temperature : 0,
		judge ? m->max_tokens : 300, judge ? SG_JUDGE_LOW : 0,
		!structured ? 0
		: judge	    ? SG_JUDGE_HIGH
			    : SG_RATE_HIGH);
}

static struct ask *
ask_new(struct sg_mcheck *m, struct sg_held *h, int kind)
{
	struct ask *a = sg_xcalloc(1, sizeof *a);

	a->kind = kind;
	a->h = h;
	a->m = m;
	if (h && kind == SG_K_EMBED)
		sg_embedding_asked(h);
	return a;
}

static void
ask_embedding(
	struct sg_mcheck *m, struct sg_held *h, int kind, const char *text)
{
	sg_llm_embed(llm(), m->model[SG_K_EMBED], text, ask_new(m, h, kind));
}

/* A verdict asked for as JSON, with the same question in words to fall
 * back on (both malloc'd, now the ask's); in words only once the server
 * refused JSON. */
static void
ask_verdict(struct sg_mcheck *m, struct sg_held *h, int kind, char *json,
	char *words)
{
	struct ask *a = ask_new(m, h, kind);

	if (words_only) {
		a->body = verdict_body(m, kind, words, 0);
		free(words);
	} else {
		a->body = verdict_body(m, kind, json, 1);
		a->words = words;
	}
	free(json);
	sg_llm_chat(llm(), a->body, 0, a);
}

static void
ask_free(struct ask *a)
{
	json_decref(a->body);
	free(a->words);
	free(a);
}

/* A server that refused response_format: the question again in words,
 * and every later one. */
static int
refused(struct ask *a, const struct sg_llm_reply *r)
{
	if (!a->words || !sg_llm_refused(r, a->body, "response_format"))
		return 0;
	if (!words_only)
		sg_note("the server refuses response_format: the model checks "
			"ask for their score in words (%s)",
			r->error);
	words_only = 1;
	json_decref(a->body);
	a->body = verdict_body(a->m, a->kind, a->words, 0);
	free(a->words);
	a->words = NULL;
	sg_llm_chat(llm(), a->body, 0, a);
	return 1;
}

/* A call that failed after its retries fails the check; standard error
 * says so when the record is released, as the record does. */
void
sg_mcheck_failed(struct sg_held *h, int kind, const char *error)
{
	char why[600];

	snprintf(why, sizeof why, "not checked: %s", error);
	json_decref(h->check[kind]);
	h->check[kind] = json_pack(
		"{s:b, s:s, s:s}", "pass", 0, "why", why, "error", error);
}

/* The check of a verdict's answer, asked as JSON (structured) or not. */
static void
judged(struct sg_held *h, int kind, const struct sg_llm_reply *r,
	int structured)
{
	const struct sg_mcheck *m = h->m;
	double scale = kind == SG_K_JUDGE ? SG_JUDGE_HIGH : SG_RATE_HIGH, s;
	int cut = r->finish_reason && strcmp(r->finish_reason, "length") == 0;
	struct sg_error e;
	char why[600], *reason;
	int pass;
	json_t *c;

	/* an answer cut before its score may still be the JSON asked for */
	if (structured && !sg_judge_structured(r->content) &&
		!(cut && r->content[strspn(r->content, " \t\r\n")] == '{') &&
		!told_ignores++)
		sg_warn("the server ignores response_format: model '%s' "
			"answered a model check in words, not with the JSON "
			"object asked for; its scores are read from the words",
			m->model[kind]);
	if (sg_judge_score(r->content, scale, &s, &reason, &e) < 0) {
		snprintf(why, sizeof why, "unreadable answer%s: %s",
			cut ? " (cut at max_tokens)" : "", e.text);
		h->check[kind] = json_pack("{s:b, s:s}", "pass", 0, "why", why);
		return;
	}
	if (kind == SG_K_TOXIC) {
		pass = s < m->toxic_max;
		snprintf(why, sizeof why, "toxicity %.2f, at least %.15g", s,
			m->toxic_max);
		c = json_pack("{s:b, s:f, s:f}", "pass", pass, "score", 1 - s,
			"toxicity", s);
	} else {
		double min = kind == SG_K_JUDGE ? m->judge_min : m->entail_min;

		pass = s >= min;
		snprintf(why, sizeof why, "%s %.2f, less than %.15g",
			kind == SG_K_JUDGE ? "score" : "support", s, min);
		c = json_pack("{s:b, s:f}", "pass", pass, "score", s);
	}
	if (!pass)
		json_object_set_new(c, "why", json_string(why));
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	free(reason);
	h->check[kind] = c;
}

static void
on_reply(void *arg, const struct sg_llm_reply *r)
{
	struct ask *a = r->ctx;
	const char *error = r->error;
	struct sg_error e;
	struct sg_mref *ref;
	double *v = NULL;
	size_t n = 0;

	(void)arg;
	if (refused(a, r))
		return;
	if (!error && a->kind >= SG_K_EMBED &&
		!(v = sg_embedding_vector(r->embedding, &n, &e)))
		error = e.text;
	if (a->h)
		a->h->waiting--;
	if (a->kind >= SG_K_DESC) {
		ref = &a->m->ref[a->kind - SG_K_DESC];
		ref->v = v;
		ref->n = n;
		if (error)
			ref->error = sg_xstrdup(error);
	} else if (a->kind == SG_K_EMBED) {
		a->h->vec = v;
		a->h->nvec = n;
		if (error)
			a->h->vec_error = sg_xstrdup(error);
		sg_embedding_in(a->h, v, n);
	} else if (error) {
		sg_mcheck_failed(a->h, a->kind, error);
	} else {
		judged(a->h, a->kind, r, a->words != NULL);
	}
	ask_free(a);
}

/* The checks into the record, in a fixed order whatever order the answers
 * came in, failed calls told on standard error. */
static void
checks_in(struct sg_held *h)
{
	json_t *checks = json_object_get(h->rec, "checks"), *c;

	if (h->vec || h->vec_error)
		sg_embedding_checks(h);
	for (int k = 0; k <= SG_K_DIVERSE; k++) {
		if (!(c = h->check[k]))
			continue;
		if (sg_get_str(c, "error"))
			sg_warn("%s: %s: %s", h->where, kname[k],
				sg_get_str(c, "error"));
		json_object_set_new(checks, kname[k], c);
	}
}

/* Whether a reference m's checks need is still being asked for. */
static int
awaited(const struct sg_mcheck *m, int to)
{
	const struct sg_mref *ref = &m->ref[to - SG_K_DESC];

	return ref->asked && !ref->v && !ref->error;
}

/* Whether every answer a held record waits for is in, the references its
 * checks compare with too, and, unless draining, what its verdicts on
 * embeddings wait for of its batch. */
static int
ready(const struct sg_held *h)
{
	const struct sg_mcheck *m = h->m;

	if (h->waiting)
		return 0;
	if (!m)
		return 1;
	if ((m->semantic && awaited(m, SG_K_DESC)) ||
		(m->similar && !m->near && awaited(m, SG_K_ORIG)))
		return 0;
	return draining || !sg_embedding_waits(h);
}

/* Release the complete records at the head, in order. */
static void
release_ready(void)
{
	struct sg_held *h;

	while ((h = head) && ready(h)) {
		head = h->next;
		if (!head)
			tail = NULL;
		nheld--;
		if (h->m)
			checks_in(h);
		h->release(h->rec, h->kept ? h->vec : NULL, h->arg);
		json_decref(h->rec);
		free(h->vec);
		free(h->vec_error);
		free(h->where);
		free(h);
	}
}

/* Answer until at most left requests are asked and not answered. */
static void
run(long long left)
{
	struct sg_error e;

	if (client && sg_llm_run_some(client, on_reply, NULL, left, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	release_ready();
}

static void
drain(void)
{
	draining = 1;
	run(0);
	draining = 0;
}

/* Keep the requests flowing within the bounds at the top; records that
 * wait for their batch's end go at the bound without it. */
static void
pump(void)
{
	long long limit = 8 * (long long)sg_mcheck_opts.jobs;

	if (limit < 64)
		limit = 64;
	run(limit);
	while (head && nheld > 4 * (size_t)limit)
		if (sg_llm_outstanding(client) > 0)
			run(sg_llm_outstanding(client) - 1);
		else
			drain();
}

void
sg_mcheck_flush(void)
{
	drain();
}

int
sg_mcheck_holding(void)
{
	return head != NULL;
}

static void
kb_index(json_t *ids, const json_t *pairs)
{
	json_t *p;
	size_t i;

	json_array_foreach (pairs, i, p)
		json_object_set(ids, json_string_value(json_array_get(p, 0)),
			json_array_get(p, 1));
}

/* The text of a sample's provenance.passages when they are ids of the
 * knowledge base, as those of rag and extractive samples are; malloc'd,
 * or NULL. */
static char *
kb_sources(struct sg_mcheck *m, const json_t *rec)
{
	json_t *ids = sg_path(rec, "provenance.passages"), *id, *text, *all;
	struct sg_error e;
	struct sg_kb *kb;
	char *out, *dir;
	size_t i;
	int cached;

	if (!m->kb_path || !json_array_size(ids))
		return NULL;
	if (!m->kb_text) {
		dir = sg_mcheck_opts.no_cache
			      ? NULL
			      : sg_llm_cache_dir(sg_mcheck_opts.cache_dir);
		m->kb_text = json_object();
		if ((kb = sg_kb_load(m->kb_path, dir, &cached, &e))) {
			kb_index(m->kb_text, sg_kb_passages(kb));
			kb_index(m->kb_text, sg_kb_sentences(kb));
			sg_kb_free(kb);
		} else {
			sg_warn("knowledge base: %s", e.text);
		}
		free(dir);
	}
	all = json_array();
	json_array_foreach (ids, i, id) {
		if (!(text = json_object_get(
			      m->kb_text, json_string_value(id)))) {
			json_decref(all);
			return NULL;
		}
		json_array_append(all, text);
	}
	out = sg_sample_text(all);
	json_decref(all);
	return out;
}

/* Whether a sample failed a check of its own: then the model is asked
 * nothing, as the Python system judges only what passed the others. */
static int
failed_own(const json_t *rec)
{
	const char *name;
	json_t *c;

	json_object_foreach (json_object_get(rec, "checks"), name, c)
		if (!sg_get_bool(c, "pass", 0))
			return 1;
	return 0;
}

void
sg_mcheck_hold(struct sg_mcheck *m, json_t *rec, const char *sources,
	const char *output, const char *where, void *group,
	sg_release_fn release, void *arg)
{
	struct sg_held *h;
	char *text, *kbsrc = NULL;
	const char *out = NULL;

	if (m && failed_own(rec))
		m = NULL;
	if (!m && !head) {
		release(rec, NULL, arg);
		return;
	}
	h = sg_xcalloc(1, sizeof *h);
	h->rec = json_incref(rec);
	h->where = sg_xstrdup(where);
	h->m = m;
	h->group = group;
	h->release = release;
	h->arg = arg;
	if (tail)
		tail->next = h;
	else
		head = h;
	tail = h;
	nheld++;
	if (!m) {
		if (strcmp(sg_rec_type(rec), "batch") == 0)
			sg_mcheck_flush(); /* its samples are all in */
		return;
	}
	text = sg_sample_text(json_object_get(rec, "data"));
	if (m->entail && (kbsrc = kb_sources(m, rec)))
		sources = kbsrc;
	if (m->entail && sources)
		out = output ? output : text;
	h->waiting = m->judge + (out != NULL) + m->toxic +
		     (m->semantic || m->diversity || m->similar);
	if (m->judge)
		ask_verdict(m, h, SG_K_JUDGE,
			sg_judge_prompt(m->criteria, m->task, text, 1),
			sg_judge_prompt(m->criteria, m->task, text, 0));
	if (out)
		ask_verdict(m, h, SG_K_ENTAIL,
			sg_entail_prompt(sources, out, 1),
			sg_entail_prompt(sources, out, 0));
	free(kbsrc);
	if (m->toxic)
		ask_verdict(m, h, SG_K_TOXIC, sg_toxic_prompt(text, 1),
			sg_toxic_prompt(text, 0));
	if (m->semantic || m->diversity || m->similar)
		ask_embedding(m, h, SG_K_EMBED, text);
	for (int to = SG_K_DESC; to <= SG_K_ORIG; to++)
		if (m->ref[to - SG_K_DESC].text &&
			!m->ref[to - SG_K_DESC].asked++ &&
			(to == SG_K_DESC ? m->semantic
					 : m->similar && !m->near))
			ask_embedding(m, NULL, to, m->ref[to - SG_K_DESC].text);
	free(text);
	pump();
}

void
sg_mcheck_end(void)
{
	long long requests, cached;

	sg_mcheck_flush();
	if (client) {
		sg_llm_counts(client, &requests, &cached);
		if (sg_verbose)
			sg_note("model checks: %lld calls, %lld from the cache",
				requests, cached);
		if (sg_llm_stale(client) > 0)
			sg_warn("%lld cached answers of an older sg name no"
				" server: asked again",
				sg_llm_stale(client));
	}
	sg_llm_free(client);
	client = NULL;
	sg_embedding_end();
}
