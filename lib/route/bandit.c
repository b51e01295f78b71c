/*
 * bandit.c - the arms a recipe offers, the router's configuration and the
 * context an arm's statistics are kept by; route.c decides and learns.
 */
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "route/route-internal.h"

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
	{"templater_balanced", "templater", 0.9, 0, 10},
	{"templater_exploratory", "templater", 1.2, 0, 12},
};

static const char *generators[] = {
	"templater", "naive", "rag", "evol", "command", "eda", "extractive"};

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
	json_t *arm = json_pack("{s:s, s:s, s:f}", "name", p->name, "generator",
		p->generator, "temperature", p->temperature);

	if (p->top_p > 0)
		json_object_set_new(arm, "top_p", json_real(p->top_p));
	if (p->max_depth > 0)
		json_object_set_new(
			arm, "max_depth", json_integer(p->max_depth));
	return arm;
}

json_t *
sg_router_config(const json_t *recipe, struct sg_error *e)
{
	static const char *numbers[] = {"epsilon_start", "epsilon_min",
		"epsilon_decay", "temperature_min", "temperature_max",
		"temperature_step", "temperature_step_up", "quality_low",
		"quality_high", "pass_low", "pass_high", "alpha", "tau",
		"sigma", "discount", "window", "draws"};
	json_t *rc = json_object_get(recipe, "router_config");
	/* the temperature rule's numbers are the original system's */
	json_t *cfg = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f,"
				" s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:i, s:i}",
		"policy", "discounted_gaussian_thompson", "epsilon_start", 0.4,
		"epsilon_min", 0.1, "epsilon_decay", 0.98, "temperature_min",
		0.3, "temperature_max", 1.2, "temperature_step", 0.05,
		"temperature_step_up", 0.025, "quality_low", 0.6,
		"quality_high", 0.8, "pass_low", 0.5, "pass_high", 0.8, "alpha",
		1.0, "tau", 0.1, "sigma", 0.5, "discount", 0.99, "window", 500,
		"draws", 1000);
	const char *policy;
	int kind;

	for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
		json_t *v = json_object_get(rc, numbers[i]);

		if (v && json_is_number(v))
			json_object_set(cfg, numbers[i], v);
	}
	policy = sg_get_str(rc, "policy");
	if (policy) {
		if ((kind = sg_policy_parse(policy)) < 0) {
			sg_seterr(e,
				"policy \"%s\" is not one of sg-route(1)'s",
				policy);
			json_decref(cfg);
			return NULL;
		}
		json_object_set_new(
			cfg, "policy", json_string(sg_policy_name(kind)));
	}
	/* the default policy's own defaults: rewards that move by tenths,
	 * and a memory of about twenty of them, as an arm's worth changes
	 * while the dataset fills (bench/RESULTS.md, Adaptation) */
	if (strcmp(sg_get_str(cfg, "policy"),
		    sg_policy_name(SG_DISCOUNTED_GAUSSIAN)) == 0) {
		if (!json_is_number(json_object_get(rc, "sigma")))
			json_object_set_new(cfg, "sigma", json_real(0.1));
		if (!json_is_number(json_object_get(rc, "discount")))
			json_object_set_new(cfg, "discount", json_real(0.95));
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
	arm = p ? preset_arm(p)
		: json_pack("{s:s, s:f}", "name", name, "temperature", 1.0);
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
		sg_seterr(e,
			"arm \"%s\": generator \"command\" needs \"command\"",
			name);
		goto fail;
	}
	return arm;
fail:
	json_decref(arm);
	return NULL;
}

/* An arm of router_config.arms: a preset's name or a user's arm. */
static json_t *
resolve_arm(const json_t *v, struct sg_error *e)
{
	const struct preset *p;

	if (!json_is_string(v))
		return user_arm(v, e);
	if (!(p = find_preset(json_string_value(v)))) {
		sg_seterr(e,
			"unknown arm \"%s\" (not a preset;"
			" declare it with a generator)",
			json_string_value(v));
		return NULL;
	}
	return preset_arm(p);
}

json_t *
sg_arms_resolve(const json_t *recipe, struct sg_error *e)
{
	json_t *list = sg_path(recipe, "router_config.arms"), *arms, *v, *arm;
	size_t i;

	arms = json_array();
	/* the original's rule: a grammar's templater arms, else the naive
	 * ones */
	if (!list || json_array_size(list) == 0) {
		const char *gen = json_object_get(recipe, "grammar")
					  ? "templater"
					  : "naive";

		for (i = 0; i < sizeof presets / sizeof *presets; i++)
			if (strcmp(presets[i].generator, gen) == 0)
				json_array_append_new(
					arms, preset_arm(&presets[i]));
		return arms;
	}
	json_array_foreach (list, i, v) {
		if (!(arm = resolve_arm(v, e))) {
			json_decref(arms);
			return NULL;
		}
		json_array_append_new(arms, arm);
	}
	return arms;
}

int
sg_router_check(
	const json_t *recipe, char *field, size_t size, struct sg_error *e)
{
	json_t *rc = json_object_get(recipe, "router_config"), *v, *arm;
	const char *policy = sg_get_str(rc, "policy");
	size_t i;

	if (policy && sg_policy_parse(policy) < 0) {
		snprintf(field, size, "router_config.policy");
		sg_seterr(
			e, "policy \"%s\" is not one of sg-route(1)'s", policy);
		return -1;
	}
	json_array_foreach (json_object_get(rc, "arms"), i, v) {
		if (!(arm = resolve_arm(v, e))) {
			snprintf(field, size, "router_config.arms[%zu]", i);
			return -1;
		}
		json_decref(arm);
	}
	return 0;
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
	if (strcmp(gen, "extractive") == 0)
		return sg_get_bool(context, "kb", 0)
			       ? NULL
			       : "recipe has no knowledge_base";
	if (!llm)
		return "no LLM configured";
	if (strcmp(gen, "rag") == 0 && !sg_get_bool(context, "kb", 0))
		return "recipe has no knowledge_base";
	return NULL;
}

char *
sg_context_key(const json_t *context)
{
	static const char *fields[] = {"domain", "task", "complexity", "format",
		"kb", "grammar", "grammar_llm", "llm"};
	char buf[1024];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		json_t *v = json_object_get(context, fields[i]);
		char *s = v ? sg_dumps(v) : NULL;

		len += (size_t)snprintf(buf + len,
			len < sizeof buf ? sizeof buf - len : 0, "%s%s=%s",
			i ? "|" : "", fields[i],
			s ? (json_is_string(v) ? json_string_value(v) : s)
			  : "");
		free(s);
	}
	return sg_xstrdup(buf);
}
