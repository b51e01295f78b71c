/*
 * embedding.c - sg-validate's checks by embeddings, for modelcheck.c,
 * which asks for them: relevance to the task (semantic), closeness to the
 * original input or to earlier samples (similarity) and the dispersion of
 * a batch (diversity).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "check/check-internal.h"

/* A batch's dispersion so far. */
struct group {
	void *group;
	struct sg_dispersion d;
	struct group *next;
};

static struct group *groups;

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
	free(p);
}

/* Into its batch's dispersion. */
void
sg_embedding_in(struct sg_held *h, const double *v, size_t n)
{
	if (v && h->m->diversity)
		sg_dispersion_add(&group_get(h->group)->d, v, n);
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

/* A verdict on its batch's dispersion waits for the whole batch. */
int
sg_embedding_waits(const struct sg_held *h)
{
	const struct sg_mcheck *m = h->m;

	return (h->vec || h->vec_error) && m->diversity && !isnan(m->div_min);
}

void
sg_embedding_checks(struct sg_held *h)
{
	struct sg_mcheck *m = h->m;

	if (m->diversity && !isnan(m->div_min))
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
	if (!isnan(v = sg_dispersion_value(&p->d))) {
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
	return m && m->similar && m->near ? m->sim_t : NAN;
}

void
sg_embedding_end(void)
{
	while (groups) {
		struct group *p = groups;

		groups = p->next;
		group_free(p);
	}
}
