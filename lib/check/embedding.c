/*
 * embedding.c - sg-validate's checks by embeddings, for modelcheck.c,
 * which asks for them: relevance to the task (semantic), closeness to the
 * original input or to earlier samples (similarity) and the dispersion of
 * a batch (diversity); and whether the embeddings tell texts apart at
 * all, told once, after which those checks pass every sample, skipped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "check/check-internal.h"

/* A batch's embeddings so far: their dispersion, whether they tell texts
 * apart, and how many were asked for and are in. */
struct group {
	void *group;
	struct sg_dispersion d;
	struct sg_blind blind;
	int blind_seen; /* its dispersion measures nothing */
	size_t asked, answered;
	struct group *next;
};

static struct group *groups;
static char *blind; /* the embedding model found blind, or NULL */

/* What similarity compares a sample with, found as the Python system
 * finds it: the original_input of a task_input with an expected_output,
 * else for the domain task_rewrite the input of the first of
 * constraints.examples, else task_input; malloc'd, NULL when none. */
static char *
original_input(const json_t *recipe)
{
	const json_t *ti = json_object_get(recipe, "task_input");
	const json_t *ex =
		json_array_get(sg_path(recipe, "constraints.examples"), 0);
	const char *domain = sg_get_str(recipe, "domain");

	if (json_object_get(ti, "expected_output") &&
		json_object_get(ti, "original_input"))
		return sg_sample_text(json_object_get(ti, "original_input"));
	if (domain && strcmp(domain, "task_rewrite") == 0 && ex &&
		(!json_is_object(ex) || json_object_get(ex, "input")))
		return sg_sample_text(
			json_is_object(ex) ? json_object_get(ex, "input") : ex);
	return ti && !json_is_null(ti) ? sg_sample_text(ti) : NULL;
}

void
sg_embedding_config(struct sg_mcheck *m, const json_t *sim)
{
	const char *against = sg_get_str(sim, "against");
	struct sg_error e;

	m->near = against && strcmp(against, "samples") == 0;
	m->sim_t = sg_get_num(sim, "threshold", m->near ? 0.95 : 0.85);
	if (!m->near)
		m->ref[SG_K_ORIG - SG_K_DESC].text = original_input(m->recipe);
	else if (sg_vecs_fit(sg_mcheck_opts.vectors, m->model[SG_K_EMBED], 0,
			 &e) < 0)
		sg_die(SG_EXIT_CONFIG, "similarity: %s", e.text);
}

static struct group *
group_get(void *g)
{
	struct group *p;

	for (p = groups; p; p = p->next)
		if (p->group == g)
			return p;
	p = sg_xcalloc(1, sizeof *p);
	p->group = g;
	p->next = groups;
	groups = p;
	return p;
}

static void
group_free(struct group *p)
{
	sg_dispersion_clear(&p->d);
	sg_blind_clear(&p->blind);
	free(p);
}

/* Whether m's embeddings were found unable to tell texts apart, by this
 * process or an earlier one (said once). */
int
sg_embedding_blind(const struct sg_mcheck *m)
{
	static int told;
	const char *model = m->model[SG_K_EMBED];

	if (blind && strcmp(blind, model) == 0)
		return 1;
	if (!sg_vecs_blind(sg_mcheck_opts.vectors, model))
		return 0;
	if (!told++)
		sg_note("embeddings of model '%s' cannot tell texts apart, "
			"as an earlier process found: the semantic, "
			"similarity and diversity checks are skipped",
			model);
	return 1;
}

void
sg_embedding_asked(struct sg_held *h)
{
	h->nth = group_get(h->group)->asked++;
}

/* Into its batch's dispersion, and whether the model tells the batch's
 * texts apart. */
void
sg_embedding_in(struct sg_held *h, const double *v, size_t n)
{
	struct sg_mcheck *m = h->m;
	struct group *g = group_get(h->group);
	const char *id = sg_get_str(h->rec, "id");
	struct sg_error e;
	char *text;

	g->answered++;
	if (!v || g->blind_seen || (g->blind_seen = sg_embedding_blind(m)))
		return;
	if (m->diversity)
		sg_dispersion_add(&g->d, v, n);
	text = sg_sample_text(json_object_get(h->rec, "data"));
	if (sg_blind_add(&g->blind, v, n, text, h->nth, id ? id : h->where)) {
		blind = sg_xstrdup(m->model[SG_K_EMBED]);
		g->blind_seen = 1;
		sg_warn("embeddings of model '%s' cannot tell texts apart: "
			"samples %s, %s and %s differ in their words but are "
			"all at cosine above %.2f; the semantic, similarity "
			"and diversity checks are skipped from now on",
			blind, g->blind.three[0], g->blind.three[1],
			g->blind.three[2], SG_BLIND_COSINE);
		/* the next iterations are told through --seen's vectors */
		sg_vecs_set_blind(sg_mcheck_opts.vectors, blind, n, &e);
	}
	free(text);
}

/* A check skipped: the embeddings cannot tell texts apart. */
static json_t *
skipped(const struct sg_mcheck *m)
{
	char why[300];

	snprintf(why, sizeof why,
		"skipped: embeddings of model '%s' cannot tell texts apart",
		m->model[SG_K_EMBED]);
	return json_pack("{s:b, s:s}", "pass", 1, "skipped", why);
}

/* The similarity check against earlier samples: the highest embedding
 * cosine to the samples kept before this one, in input order, by this
 * process or, through the --seen file's vectors, by earlier runs and
 * processes beside it; whether this one is kept is for the caller to say
 * when it is released. */
static void
near_earlier(struct sg_held *h)
{
	struct sg_mcheck *m = h->m;
	struct sg_vecs *kept = sg_mcheck_opts.vectors;
	struct sg_error e;
	double best;
	long at;
	char why[600];

	if (sg_vecs_fit(kept, m->model[SG_K_EMBED], h->nvec, &e) < 0)
		sg_die(SG_EXIT_CONFIG, "%s: similarity: %s", h->where, e.text);
	if ((at = sg_vecs_nearest(kept, h->vec, &best)) < 0) {
		h->check[SG_K_SIMILAR] = json_pack("{s:b}", "pass", 1);
		h->kept = 1;
		return;
	}
	if (best > m->sim_t) {
		snprintf(why, sizeof why,
			"embedding cosine %.3f to sample %s, more than %.15g",
			best, sg_vecs_id(kept, (size_t)at), m->sim_t);
		h->check[SG_K_SIMILAR] = json_pack("{s:b, s:s, s:f, s:s}",
			"pass", 0, "why", why, "similarity", best, "nearest",
			sg_vecs_id(kept, (size_t)at));
		return;
	}
	h->check[SG_K_SIMILAR] = json_pack("{s:b, s:f, s:s}", "pass", 1,
		"similarity", best, "nearest", sg_vecs_id(kept, (size_t)at));
	h->kept = 1;
}

/* The embedding cosine to a reference (kind SG_K_DESC or SG_K_ORIG) into the
 * check of kind, at least min; what is compared with, for why. */
static void
close_to(struct sg_held *h, int kind, int to, double min, const char *what)
{
	const struct sg_mref *ref = &h->m->ref[to - SG_K_DESC];
	char why[300], none[100];
	double sim;
	json_t *c;

	snprintf(none, sizeof none, "%s has no embedding", what);
	if (!ref->v) {
		sg_mcheck_failed(h, kind, ref->error ? ref->error : none);
		return;
	}
	if (ref->n != h->nvec) {
		sg_mcheck_failed(h, kind, "embeddings of different sizes");
		return;
	}
	sim = sg_cosine(h->vec, ref->v, h->nvec);
	c = json_pack("{s:b, s:f}", "pass", sim >= min, "similarity", sim);
	snprintf(why, sizeof why,
		"embedding cosine %.2f to %s, less than %.15g", sim, what, min);
	if (sim < min)
		json_object_set_new(c, "why", json_string(why));
	h->check[kind] = c;
}

/* The diversity check: its batch's dispersion, at least the threshold;
 * with fewer than two embedded, nothing to measure. */
static void
diverse(struct sg_held *h)
{
	const struct sg_mcheck *m = h->m;
	double v = sg_dispersion_value(&group_get(h->group)->d);
	char why[300];
	json_t *c;

	if (isnan(v)) {
		h->check[SG_K_DIVERSE] = json_pack("{s:b}", "pass", 1);
		return;
	}
	c = json_pack("{s:b, s:f}", "pass", v >= m->div_min, "dispersion", v);
	snprintf(why, sizeof why,
		"its batch's embedding dispersion %.2f, less than %.15g", v,
		m->div_min);
	if (v < m->div_min)
		json_object_set_new(c, "why", json_string(why));
	h->check[SG_K_DIVERSE] = c;
}

/* A verdict on its batch's dispersion waits for the whole batch; one on
 * the embedding, for three of the batch, which tell whether they can be
 * told apart, while more are on the way. */
int
sg_embedding_waits(const struct sg_held *h)
{
	const struct sg_mcheck *m = h->m;
	const struct group *g;

	if (!(h->vec || h->vec_error) || sg_embedding_blind(m))
		return 0;
	if (m->diversity && !isnan(m->div_min))
		return 1;
	if (!m->semantic && !m->similar)
		return 0;
	g = group_get(h->group);
	return g->answered < 3 && g->answered < g->asked;
}

void
sg_embedding_checks(struct sg_held *h)
{
	struct sg_mcheck *m = h->m;
	int diverse_too = m->diversity && !isnan(m->div_min);

	if (sg_embedding_blind(m)) {
		if (m->semantic)
			h->check[SG_K_EMBED] = skipped(m);
		if (m->similar)
			h->check[SG_K_SIMILAR] = skipped(m);
		if (diverse_too)
			h->check[SG_K_DIVERSE] = skipped(m);
		return;
	}
	if (diverse_too)
		diverse(h);
	if (h->vec_error) {
		if (m->semantic)
			sg_mcheck_failed(h, SG_K_EMBED, h->vec_error);
		if (m->similar)
			sg_mcheck_failed(h, SG_K_SIMILAR, h->vec_error);
		if (!m->semantic && !m->similar)
			sg_warn("%s: embedding: %s", h->where, h->vec_error);
		return;
	}
	if (m->semantic)
		close_to(h, SG_K_EMBED, SG_K_DESC, m->sem_min, "the task");
	if (m->similar && m->near)
		near_earlier(h);
	else if (m->similar)
		close_to(h, SG_K_SIMILAR, SG_K_ORIG, m->sim_t,
			"the original input");
}

void
sg_mcheck_batch(void *group, json_t *rec)
{
	struct group **pp, *p;
	double v;

	for (pp = &groups; (p = *pp); pp = &p->next)
		if (p->group == group)
			break;
	if (!p)
		return;
	if (!p->blind_seen && !isnan(v = sg_dispersion_value(&p->d))) {
		json_object_set_new(rec, "embedding_dispersion", json_real(v));
		json_object_set_new(
			rec, "embedded", json_integer((json_int_t)p->d.n));
	}
	*pp = p->next;
	group_free(p);
}

double
sg_mcheck_similar_max(const struct sg_mcheck *m)
{
	return m && m->similar && m->near && !sg_embedding_blind(m) ? m->sim_t
								    : NAN;
}

void
sg_embedding_end(void)
{
	while (groups) {
		struct group *p = groups;

		groups = p->next;
		group_free(p);
	}
	free(blind);
	blind = NULL;
}
