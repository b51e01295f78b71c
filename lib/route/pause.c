/*
 * pause.c - arms paused for the run: a batch whose every sample failed for
 * the server or the setup, not for its content, is not a reward but a
 * sign that the arm cannot run until somebody fixes something (sg-state(5),
 * "paused").  When the server itself failed, every arm that asks it is
 * paused with the one that found out.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "record/record.h"
#include "route/route-internal.h"

int
sg_arm_asks_llm(const json_t *arm, const json_t *context)
{
	const char *gen = sg_get_str(arm, "generator");

	if (!gen)
		return 0;
	if (strcmp(gen, "templater") == 0)
		return sg_get_bool(context, "grammar_llm", 0);
	return strcmp(gen, "naive") == 0 || strcmp(gen, "rag") == 0 ||
	       strcmp(gen, "evol") == 0;
}

/* A pause: the error, when, and the arm and batch that found it (NULL
 * and -1 when none did). */
static json_t *
pause_entry(const char *error, const char *arm, long long batch, time_t when)
{
	char since[32];
	struct tm tm;
	json_t *p;

	gmtime_r(&when, &tm);
	strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
	p = json_pack("{s:s, s:s}", "error", error, "since", since);
	if (arm)
		json_object_set_new(p, "arm", json_string(arm));
	if (batch >= 0)
		json_object_set_new(p, "batch", json_integer(batch));
	return p;
}

/* The first pause of a kind stands: it quotes the error that began it. */
static void
pause_once(json_t *parent, const char *key, json_t *entry)
{
	if (json_object_get(parent, key))
		json_decref(entry);
	else
		json_object_set_new(parent, key, entry);
}

void
sg_pause_apply(json_t *state, const json_t *reward, time_t when)
{
	json_t *paused = sg_child(state, "paused"), *skipped, *pend;
	const char *scope = sg_get_str(reward, "error_scope");
	const char *arm = sg_get_str(reward, "arm");
	long long batch = sg_get_int(reward, "batch", -1);
	char id[32], *text;

	skipped = json_object_get(reward, "skipped");
	text = json_is_string(skipped) ? sg_xstrdup(json_string_value(skipped))
				       : sg_dumps(skipped);
	snprintf(id, sizeof id, "%lld", batch);
	pend = json_object_get(json_object_get(state, "pending"), id);
	if (sg_get_str(pend, "arm"))
		arm = sg_get_str(pend, "arm");
	if (scope && strcmp(scope, "server") == 0)
		pause_once(
			paused, "server", pause_entry(text, arm, batch, when));
	else if (arm)
		pause_once(sg_child(paused, "arms"), arm,
			pause_entry(text, arm, batch, when));
	if (pend)
		json_object_del(json_object_get(state, "pending"), id);
	free(text);
}

void
sg_pause(json_t *state, const char *arm, const char *error, time_t when)
{
	json_t *paused = sg_child(state, "paused");

	if (arm)
		pause_once(sg_child(paused, "arms"), arm,
			pause_entry(error, NULL, -1, when));
	else
		pause_once(
			paused, "server", pause_entry(error, NULL, -1, when));
}

void
sg_pause_clear(json_t *state)
{
	json_object_del(state, "paused");
}

const json_t *
sg_arm_paused(const json_t *state, const json_t *arm, const json_t *context)
{
	const json_t *paused = json_object_get(state, "paused"), *p;

	p = json_object_get(
		json_object_get(paused, "arms"), sg_get_str(arm, "name"));
	if (!p && sg_arm_asks_llm(arm, context))
		p = json_object_get(paused, "server");
	return json_is_object(p) ? p : NULL;
}

size_t
sg_arms_offer(const json_t *state, const json_t *arms, const json_t *context,
	json_t *offered, json_t *unavail)
{
	const char *why, *name;
	const json_t *p;
	json_t *arm;
	size_t i, n = 0;

	json_array_foreach (arms, i, arm) {
		name = sg_get_str(arm, "name");
		if ((why = sg_arm_unavailable(arm, context))) {
			if (unavail)
				json_object_set_new(
					unavail, name, json_string(why));
		} else if ((p = sg_arm_paused(state, arm, context))) {
			if (unavail)
				json_object_set_new(unavail, name,
					json_sprintf("paused: %s",
						sg_get_str(p, "error")
							? sg_get_str(p, "error")
							: "no reason kept"));
		} else {
			n++;
			if (offered)
				json_array_append_new(
					offered, json_string(name));
		}
	}
	return n;
}
