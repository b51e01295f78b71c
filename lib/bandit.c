/*
 * bandit.c - the arms a recipe offers and the epsilon-greedy router that
 * chooses among them per context.  Everything a decision depends on lives
 * in the state file (counts, sums, epsilon, temperatures, the generator),
 * so a resumed run decides exactly as an uninterrupted one.
 */
#include <math.h>
#include <string.h>

#include "sg.h"

/* The original system's arms, so its recipes keep working. */
static const struct preset {
	const char *name, *generator;
	double temperature, top_p;
	int max_depth;
} presets[] = {
	{"naive_conservative", "naive", 0.3, 0.8, 0},
	{"naive_balanced", "naive", 0.7, 1.0, 0},
	{"naive_creative", "naive", 1.2, 1.0, 0},
	{"templater_conservative", "templater", 0.7, 0, 8},
	{"templater_balanced", "templater", 1.0, 0, 10},
	{"templater_exploratory", "templater", 1.2, 0, 12},
};

static const char *generators[] = {"templater", "naive", "rag", "evol",
	"command", "eda", "extractive"};

static const struct preset *
find_preset(const char *name)
{
	for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

static json_t *
preset_arm(const struct preset *p)
{
	json_t *arm = json_pack("{s:s, s:s, s:f}", "name", p->name,
		"generator", p->generator, "temperature", p->temperature);

	if (p->top_p > 0)
		json_object_set_new(arm, "top_p", json_real(p->top_p));
	if (p->max_depth > 0)
		json_object_set_new(arm, "max_depth",
			json_integer(p->max_depth));
	return arm;
}

json_t *
sg_router_config(const json_t *recipe, struct sg_error *e)
{
	static const char *numbers[] = {"epsilon_start", "epsilon_min",
		"epsilon_decay", "temperature_min", "temperature_max",
		"temperature_step", "quality_low", "quality_high"};
	json_t *rc = json_object_get(recipe, "router_config");
	json_t *cfg = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
		"policy", "epsilon_greedy", "epsilon_start", 0.4, "epsilon_min",
		0.1, "epsilon_decay", 0.98, "temperature_min", 0.1,
		"temperature_max", 1.5, "temperature_step", 0.1, "quality_low",
		0.6, "quality_high", 0.85);
	const char *policy;

	if (!rc)
		return cfg;
	for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
		json_t *v = json_object_get(rc, numbers[i]);

		if (v && json_is_number(v))
			json_object_set(cfg, numbers[i], v);
	}
	policy = sg_get_str(rc, "policy");
	if (policy && strcmp(policy, "epsilon_greedy") != 0 &&
		strcmp(policy, "epsilon-greedy") != 0) {
		sg_seterr(e, "policy \"%s\" is not supported (epsilon_greedy is)",
			policy);
		json_decref(cfg);
		return NULL;
	}
	return cfg;
}

static int
known_generator(const char *g)
{
	for (size_t i = 0; i < sizeof generators / sizeof *generators; i++)
		if (strcmp(generators[i], g) == 0)
			return 1;
	return 0;
}

/* A user's arm: a preset's fields overridden by the recipe's. */
static json_t *
user_arm(const json_t *spec, struct sg_error *e)
{
	const char *name = sg_get_str(spec, "name"), *gen;
	const struct preset *p;
	json_t *arm;

	if (!name) {
		sg_seterr(e, "router_config.arms: an arm has no \"name\"");
		return NULL;
	}
	p = find_preset(name);
	arm = p ? preset_arm(p) : json_pack("{s:s, s:f}", "name", name,
					    "temperature", 1.0);
	json_object_update(arm, (json_t *)spec);
	if (!json_object_get(arm, "generator") &&
		json_object_get(arm, "command"))
		json_object_set_new(arm, "generator", json_string("command"));
	gen = sg_get_str(arm, "generator");
	if (!gen || !known_generator(gen)) {
		sg_seterr(e, "arm \"%s\": unknown generator \"%s\"", name,
			gen ? gen : "");
		goto fail;
	}
	if (strcmp(gen, "command") == 0 && !json_object_get(arm, "command")) {
		sg_seterr(e, "arm \"%s\": generator \"command\" needs \"command\"",
			name);
		goto fail;
	}
	return arm;
fail:
	json_decref(arm);
	return NULL;
}

json_t *
sg_arms_resolve(const json_t *recipe, struct sg_error *e)
{
	json_t *list = sg_path(recipe, "router_config.arms"), *arms, *v, *arm;
	const struct preset *p;
	size_t i;

	arms = json_array();
	if (!list || json_array_size(list) == 0) {
		for (i = 0; i < sizeof presets / sizeof *presets; i++)
			json_array_append_new(arms, preset_arm(&presets[i]));
		return arms;
	}
	json_array_foreach(list, i, v) {
		if (json_is_string(v)) {
			p = find_preset(json_string_value(v));
			if (!p) {
				sg_seterr(e, "unknown arm \"%s\" (not a preset;"
					     " declare it with a generator)",
					json_string_value(v));
				goto fail;
			}
			arm = preset_arm(p);
		} else if (!(arm = user_arm(v, e)))
			goto fail;
		json_array_append_new(arms, arm);
	}
	return arms;
fail:
	json_decref(arms);
	return NULL;
}

const char *
sg_arm_unavailable(const json_t *arm, const json_t *context)
{
	const char *gen = sg_get_str(arm, "generator");
	int llm = sg_get_bool(context, "llm", 0);

	if (strcmp(gen, "templater") == 0) {
		if (!sg_get_bool(context, "grammar", 0))
			return "recipe has no grammar";
		if (sg_get_bool(context, "grammar_llm", 0) && !llm)
			return "grammar uses llm_fill and no LLM is configured";
		return NULL;
	}
	if (strcmp(gen, "command") == 0 || strcmp(gen, "eda") == 0)
		return NULL;
	if (strcmp(gen, "extractive") == 0 && !sg_get_bool(context, "kb", 0))
		return "recipe has no knowledge_base";
	if (strcmp(gen, "extractive") == 0)
		return NULL;
	if (!llm)
		return "no LLM configured";
	if (strcmp(gen, "rag") == 0 && !sg_get_bool(context, "kb", 0))
		return "recipe has no knowledge_base";
	return NULL;
}

char *
sg_context_key(const json_t *context)
{
	static const char *fields[] = {"domain", "task", "complexity",
		"format", "kb", "grammar", "grammar_llm", "llm"};
	char buf[1024];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		json_t *v = json_object_get(context, fields[i]);
		char *s = v ? sg_dumps(v) : NULL;

		len += (size_t)snprintf(buf + len, len < sizeof buf ?
					sizeof buf - len : 0, "%s%s=%s",
			i ? "|" : "", fields[i],
			s ? (json_is_string(v) ? json_string_value(v) : s)
			  : "");
		free(s);
	}
	return sg_xstrdup(buf);
}

static json_t *
child(json_t *parent, const char *key)
{
	json_t *c = json_object_get(parent, key);

	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(parent, key, c);
	}
	return c;
}

static void
count_pull(json_t *stat)
{
	json_object_set_new(stat, "pulls",
		json_integer(sg_get_int(stat, "pulls", 0) + 1));
}

static void
add_stat(json_t *stat, double reward)
{
	json_object_set_new(stat, "n",
		json_integer(sg_get_int(stat, "n", 0) + 1));
	json_object_set_new(stat, "sum",
		json_real(sg_get_num(stat, "sum", 0) + reward));
}

static json_t *
arm_params(const json_t *arm, double temperature)
{
	json_t *params = json_object(), *v;
	const char *key;

	json_object_set_new(params, "temperature", json_real(temperature));
	json_object_foreach((json_t *)arm, key, v)
		if (strcmp(key, "name") && strcmp(key, "generator") &&
			strcmp(key, "command") && strcmp(key, "temperature"))
			json_object_set(params, key, v);
	return params;
}

struct choice {
	size_t k, nbest, nuntried;
	size_t *untried, *best;
	double *mean;
	long long *n;
};

static void
describe_means(char *buf, size_t size, json_t *offered,
	const struct choice *c)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->k && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s %.3f",
			i ? ", " : "",
			json_string_value(json_array_get(offered, i)),
			c->mean[i]);
}

int
sg_route(json_t *state, json_t *job, double initial_temp,
	struct sg_error *e)
{
	const json_t *recipe = json_object_get(job, "recipe");
	const json_t *context = json_object_get(job, "context");
	json_t *router, *arms, *offered, *unavail, *ctx, *arm, *armst;
	json_t *means, *counts, *decision;
	struct choice c = {0};
	struct sg_rng rng;
	const char *mode, *why, *name;
	char reason[1024], list[768];
	double eps, draw = -1, p, temp;
	size_t i, pick;
	long long pulls;
	int rc = -1;

	if (!json_is_object(recipe) || !json_is_object(context)) {
		sg_seterr(e, "job has no \"%s\" object",
			json_is_object(recipe) ? "context" : "recipe");
		return -1;
	}
	if (!(router = sg_router_config(recipe, e)))
		return -1;
	if (!(arms = sg_arms_resolve(recipe, e))) {
		json_decref(router);
		return -1;
	}
	json_object_set(state, "router", router);
	if (!json_is_number(json_object_get(state, "epsilon")))
		json_object_set(state, "epsilon",
			json_object_get(router, "epsilon_start"));
	eps = sg_get_num(state, "epsilon", 0.4);
	sg_state_rng(state, &rng);

	offered = json_array();
	unavail = json_object();
	json_array_foreach(arms, i, arm) {
		name = sg_get_str(arm, "name");
		if ((why = sg_arm_unavailable(arm, context)))
			json_object_set_new(unavail, name, json_string(why));
		else
			json_array_append_new(offered, json_integer((json_int_t)i));
	}
	c.k = json_array_size(offered);
	if (c.k == 0) {
		sg_seterr(e, "no arm can run in this context (%zu unavailable;"
			     " see sg-route(1))",
			json_object_size(unavail));
		goto out;
	}

	{
		char *key = sg_context_key(context);

		ctx = child(child(state, "contexts"), key);
		free(key);
	}
	c.mean = sg_xmalloc(c.k * sizeof *c.mean);
	c.n = sg_xmalloc(c.k * sizeof *c.n);
	c.untried = sg_xmalloc(c.k * sizeof *c.untried);
	c.best = sg_xmalloc(c.k * sizeof *c.best);
	means = json_object();
	counts = json_object();
	for (i = 0; i < c.k; i++) {
		json_t *a = json_array_get(arms,
			(size_t)json_integer_value(json_array_get(offered, i)));
		json_t *st = json_object_get(ctx, sg_get_str(a, "name"));

		name = sg_get_str(a, "name");
		json_array_set_new(offered, i, json_string(name));
		c.n[i] = sg_get_int(st, "n", 0);
		pulls = sg_get_int(st, "pulls", 0);
		c.mean[i] = c.n[i] ? sg_get_num(st, "sum", 0) / (double)c.n[i]
				   : 0;
		json_object_set_new(means, name,
			c.n[i] ? json_real(c.mean[i]) : json_null());
		json_object_set_new(counts, name, json_integer(c.n[i]));
		if (c.n[i] == 0 && pulls == 0)
			c.untried[c.nuntried++] = i;
	}

	if (c.nuntried > 0) {
		mode = "init";
		pick = c.untried[sg_rng_below(&rng, c.nuntried)];
		p = 1.0 / (double)c.nuntried;
		snprintf(reason, sizeof reason,
			"init: %zu of %zu arms not yet chosen in this context;"
			" uniform choice among them",
			c.nuntried, c.k);
	} else {
		double top = -INFINITY;

		for (i = 0; i < c.k; i++)
			if (c.mean[i] > top)
				top = c.mean[i];
		for (i = 0; i < c.k; i++)
			if (c.mean[i] == top)
				c.best[c.nbest++] = i;
		draw = sg_rng_uniform(&rng);
		describe_means(list, sizeof list, offered, &c);
		if (draw < eps) {
			mode = "explore";
			pick = sg_rng_below(&rng, c.k);
			snprintf(reason, sizeof reason,
				"explore: draw %.3f < epsilon %.3f; uniform"
				" choice among %zu arms (means: %s)",
				draw, eps, c.k, list);
		} else {
			mode = "exploit";
			pick = c.best[sg_rng_below(&rng, c.nbest)];
			snprintf(reason, sizeof reason,
				"exploit: draw %.3f >= epsilon %.3f; best mean"
				" reward %.3f (means: %s)",
				draw, eps, top, list);
		}
		p = eps / (double)c.k;
		if (c.mean[pick] == top)
			p += (1 - eps) / (double)c.nbest;
	}

	name = json_string_value(json_array_get(offered, pick));
	arm = NULL;
	json_array_foreach(arms, i, arm)
		if (strcmp(sg_get_str(arm, "name"), name) == 0)
			break;
	armst = child(child(state, "arms"), name);
	if (!json_is_number(json_object_get(armst, "temperature")))
		json_object_set_new(armst, "temperature",
			json_real(initial_temp > 0
					? initial_temp
					: sg_get_num(arm, "temperature", 1)));
	temp = sg_get_num(armst, "temperature", 1);
	count_pull(armst);
	count_pull(child(ctx, name));

	decision = json_pack("{s:s, s:s, s:f, s:o, s:f, s:o, s:o, s:O, s:O,"
			     " s:s}",
		"policy", "epsilon_greedy", "mode", mode, "epsilon", eps,
		"draw", draw < 0 ? json_null() : json_real(draw), "p", p,
		"means", means, "counts", counts, "offered", offered,
		"unavailable", unavail, "reason", reason);
	json_object_set_new(job, "batch",
		json_integer(sg_get_int(state, "steps", 0)));
	json_object_set_new(job, "arm", json_string(name));
	json_object_set(job, "generator", json_object_get(arm, "generator"));
	json_object_set_new(job, "params", arm_params(arm, temp));
	json_object_set_new(job, "seed", json_integer((json_int_t)sg_rng_seed53(&rng)));
	if (json_object_get(arm, "command"))
		json_object_set(job, "command", json_object_get(arm, "command"));
	json_object_set_new(job, "decision", decision);

	json_object_set_new(state, "steps",
		json_integer(sg_get_int(state, "steps", 0) + 1));
	if (json_is_integer(json_object_get(job, "target")))
		json_object_set(state, "target", json_object_get(job, "target"));
	sg_state_set_rng(state, &rng);
	rc = 0;
	free(c.mean);
	free(c.n);
	free(c.untried);
	free(c.best);
out:
	json_decref(offered);
	json_decref(unavail);
	json_decref(arms);
	json_decref(router);
	return rc;
}

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

int
sg_reward_apply(json_t *state, const json_t *reward, struct sg_error *e)
{
	const char *arm = sg_get_str(reward, "arm");
	json_t *r = json_object_get(reward, "reward");
	json_t *context = json_object_get(reward, "context");
	json_t *router = json_object_get(state, "router"), *armst;
	double value, q, t, step;

	if (!arm) {
		sg_seterr(e, "reward has no \"arm\"");
		return -1;
	}
	if (!json_is_number(r)) {
		sg_seterr(e, "reward has no numeric \"reward\"");
		return -1;
	}
	value = json_number_value(r);
	if (!(value >= 0 && value <= 1)) {
		sg_seterr(e, "reward %g is outside [0, 1]", value);
		return -1;
	}
	armst = child(child(state, "arms"), arm);
	add_stat(armst, value);
	if (json_is_object(context)) {
		char *key = sg_context_key(context);

		add_stat(child(child(child(state, "contexts"), key), arm),
			value);
		free(key);
	}
	json_object_set_new(state, "rewards",
		json_integer(sg_get_int(state, "rewards", 0) + 1));

	json_object_set_new(state, "epsilon",
		json_real(fmax(sg_get_num(router, "epsilon_min", 0.1),
			sg_get_num(state, "epsilon", 0.4) *
				sg_get_num(router, "epsilon_decay", 0.98))));

	/* Lower temperature when quality drops, raise it when quality is
	 * high: the arm's parameters adapt alongside the choice of arm. */
	q = sg_get_num(reward, "mean_quality", value);
	t = sg_get_num(armst, "temperature",
		sg_get_num(json_object_get(reward, "params"), "temperature",
			1.0));
	step = sg_get_num(router, "temperature_step", 0.1);
	if (q < sg_get_num(router, "quality_low", 0.6))
		t -= step;
	else if (q >= sg_get_num(router, "quality_high", 0.85))
		t += step;
	json_object_set_new(armst, "temperature",
		json_real(clamp(t, sg_get_num(router, "temperature_min", 0.1),
			sg_get_num(router, "temperature_max", 1.5))));
	return 0;
}
