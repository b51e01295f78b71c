/*
 * route.h - routing: the bandit state file (sg-state(5)), the router that
 * chooses an arm for a job and learns from its rewards, and the merge of
 * workers' learning.
 */
#ifndef SG_ROUTE_H
#define SG_ROUTE_H

#include <time.h>

#include "base/base.h"

/* state.c: the bandit state file, see sg-state(5) */
struct sg_state {
	char *path;
	int lockfd;
	json_t *root;
};

/* Lock the state, then load it; a missing file gives root == NULL.  0, or
 * the exit status and e: SG_EXIT_IO when the lock or the file cannot be
 * opened or read, SG_EXIT_CONFIG when it is not a state sg can use. */
int sg_state_begin(struct sg_state *st, const char *path, struct sg_error *e);
int sg_state_commit(struct sg_state *st, struct sg_error *e);
void sg_state_end(struct sg_state *st);
json_t *sg_state_new(const char *run, uint64_t seed, const json_t *router);
int sg_state_check(const json_t *root, struct sg_error *e);
/* The policy the state's router decides by, or "none" before any. */
const char *sg_state_policy(const json_t *root);
/* Adds a batch record's usage figures to the state's "usage". */
void sg_state_add_usage(json_t *root, const json_t *batch);

/* bandit.c, route.c: the router over policy.c's policies */
/* The context as a stable string key of the state's "contexts". */
char *sg_context_key(const json_t *context);
/* A policy's number (its enum sg_policy) by its name or one of the
 * original system's, or -1: sg-route's and sg-run's flags check theirs. */
int sg_policy_parse(const char *name);
/* What a caller sets over the recipe: the arms' first temperature (0: the
 * arms' own) and fields of router_config, as "policy" (NULL: none). */
struct sg_route_opts {
	double initial_temp;
	const json_t *router;
};
/* Choose an arm for a job; fills the job's batch, arm, generator, params,
 * seed and decision, records the decision as pending, and advances the
 * state's counters and generator. */
int sg_route(json_t *state, json_t *job, const struct sg_route_opts *o,
	struct sg_error *e);
/* Learn from one reward record, joined to its pending decision by batch
 * (else taking the record's own arm and context): the policy's statistics,
 * epsilon decay, temperature adaptation. */
int sg_reward_apply(json_t *state, const json_t *reward, struct sg_error *e);
/* Start a new state with what another run's state learnt: its arms,
 * contexts, linear model, windows and epsilon (not its counters, its
 * generator or its pending decisions). */
void sg_router_warm(json_t *state, const json_t *from);

/* The arms a recipe offers: router_config.arms resolved against the
 * presets, each {name, generator, temperature, ...}; NULL and e if bad. */
json_t *sg_arms_resolve(const json_t *recipe, struct sg_error *e);
/* Why the recipe's router_config cannot route: an unknown policy or arm,
 * an arm without a generator sg has; -1 and e, the field named as in
 * "router_config.arms[2]" in field (size bytes).  0 when it can. */
int sg_router_check(
	const json_t *recipe, char *field, size_t size, struct sg_error *e);

/* pause.c: arms paused for the run (sg-state(5), "paused") */
/* Whether arm asks the LLM server in context. */
int sg_arm_asks_llm(const json_t *arm, const json_t *context);
/* Pause what a skipped reward ("reward": null, "skipped": why) names:
 * its arm, or with "error_scope": "server" every arm that asks the
 * server; its pending decision is dropped, nothing is learnt.  when:
 * the time of the pause. */
void sg_pause_apply(json_t *state, const json_t *reward, time_t when);
/* Pause arm, or with arm NULL every arm that asks the server, for
 * error. */
void sg_pause(json_t *state, const char *arm, const char *error, time_t when);
/* Forget every pause: a new run tries every arm again. */
void sg_pause_clear(json_t *state);
/* The pause that holds arm in context under state, or NULL. */
const json_t *sg_arm_paused(
	const json_t *state, const json_t *arm, const json_t *context);
/* Of arms (sg_arms_resolve's), those that can run in context and are
 * not paused in state (may be NULL): their names appended to
 * offered, the others' reasons set in unavail (either may be NULL); how
 * many can. */
size_t sg_arms_offer(const json_t *state, const json_t *arms,
	const json_t *context, json_t *offered, json_t *unavail);

/* merge.c: the learning of workers that started from one base state */
/* Add to acc (a copy of base, or of base merged with other workers) what
 * worker w learnt and routed since base; -1 and e when w did not start
 * from base, belongs to another run, or its policy forgets in order. */
int sg_state_merge(
	json_t *acc, const json_t *base, const json_t *w, struct sg_error *e);
/* Make state, a copy of the run's, worker k of n (0 <= k < n): its own
 * random draws, the batch numbers equal to k modulo n, and, when target
 * is above its accepted count, a cap of its share of the rest.  0, or -1
 * and e when it already is another worker's. */
int sg_state_worker(json_t *state, long long k, long long n, long long target,
	struct sg_error *e);
/* The accepted count at which state stops taking samples: its target, or
 * its worker's cap when lower; 0 for none. */
long long sg_state_cap(const json_t *state);
/* The length state records for output path (its "output", or one of its
 * workers' "outputs" since merged), or -1 when it records none. */
long long sg_state_output(const json_t *state, const char *path);
/* Record path as state's output, bytes long, keeping the length of the
 * output it wrote before among its "outputs". */
void sg_state_set_output(json_t *state, const char *path, long long bytes);
/* The base a worker that started from nothing merges into: an empty state
 * of its run, seed, router and target; NULL and e when w did not start
 * from nothing. */
json_t *sg_state_base(const json_t *w, struct sg_error *e);

#endif
