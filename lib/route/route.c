/*
 * route.c - the router between the state file and the policies of
 * policy.c: a decision loads the offered arms' statistics (or their linear
 * models) into a struct sg_bandit, chooses, and records the decision as
 * pending; a reward is joined to its decision and learnt.  Everything a
 * decision depends on lives in the state file (counts, sums, windows,
 * LinUCB's matrices, epsilon, temperatures, the generator, the pending
 * decisions), so a resumed run decides exactly as an uninterrupted one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "route/route-internal.h"

static void
add_num(json_t *obj, const char *key, double v)
{
	json_object_set_new(obj, key, sg_jnum(sg_get_num(obj, key, 0) + v));
}

static json_t *
arm_params(const json_t *arm, double temperature)
{
	json_t *params = json_object(), *v;
	const char *key;

	json_object_set_new(params, "temperature", json_real(temperature));
	json_object_foreach ((json_t *)arm, key, v)
		if (strcmp(key, "name") && strcmp(key, "generator") &&
			strcmp(key, "command") && strcmp(key, "temperature"))
			json_object_set(params, key, v);
	return params;
}

/* The state's policy; a state no decision was taken with yet learns as
 * the default policy does. */
static enum sg_policy
policy_of(const json_t *router)
{
	const char *name = sg_get_str(router, "policy");
	int kind = name ? sg_policy_parse(name) : -1;

	return kind < 0 ? SG_EPSILON_GREEDY : (enum sg_policy)kind;
}

static void
policy_params(
	const json_t *router, const json_t *state, struct sg_policy_params *par)
{
	par->epsilon = sg_get_num(
		state, "epsilon", sg_get_num(router, "epsilon_start", 0.4));
	par->alpha = sg_get_num(router, "alpha", 1);
	par->tau = sg_get_num(router, "tau", 0.1);
	par->sigma = sg_get_num(router, "sigma", 0.5);
	par->gamma = sg_get_num(router, "discount", 0.99);
	par->window = (long)sg_get_int(router, "window", 500);
	par->draws = (long)sg_get_int(router, "draws", 1000);
}

/* The one-hot features of a context over the state's feature list,
 * "bias" first; values not seen before are appended to the list. */
static double *
features(json_t *state, const json_t *context, size_t *d)
{
	static const char *fields[] = {"domain", "task", "complexity", "format",
		"kb", "grammar", "grammar_llm", "llm"};
	json_t *lin = sg_child(state, "linear");
	json_t *list = json_object_get(lin, "features");
	double *x;
	char name[512];

	if (!json_is_array(list)) {
		list = json_pack("[s]", "bias");
		json_object_set_new(lin, "features", list);
	}
	x = sg_xcalloc(json_array_size(list) + 8, sizeof *x);
	x[0] = 1;
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		json_t *v = json_object_get(context, fields[i]), *f;
		char *s;
		size_t j;

		if (!v || json_is_null(v))
			continue;
		s = sg_dumps(v);
		snprintf(name, sizeof name, "%s=%s", fields[i],
			json_is_string(v) ? json_string_value(v) : s);
		free(s);
		json_array_foreach (list, j, f)
			if (strcmp(json_string_value(f), name) == 0)
				break;
		if (j == json_array_size(list))
			json_array_append_new(list, json_string(name));
		x[j] = 1;
	}
	*d = json_array_size(list);
	return x;
}

/* Arm i of b from the state: its statistics in the context, and for the
 * linear policies its A and b, padded with the identity for features it
 * has not seen. */
static void
load_arm(struct sg_bandit *b, size_t i, const json_t *stat, const json_t *lin)
{
	size_t d = b->d;
	json_t *A = json_object_get(lin, "A"), *bv = json_object_get(lin, "b");

	b->n[i] = sg_get_num(stat, "n", 0);
	b->sum[i] = sg_get_num(stat, "sum", 0);
	b->wins[i] = sg_get_num(stat, "wins", 0);
	b->pulls[i] = sg_get_num(stat, "pulls", 0);
	for (size_t r = 0; r < json_array_size(A) && r < d; r++) {
		json_t *row = json_array_get(A, r);

		b->b[i * d + r] = json_number_value(json_array_get(bv, r));
		for (size_t c = 0; c < json_array_size(row) && c < d; c++)
			b->A[i * d * d + r * d + c] =
				json_number_value(json_array_get(row, c));
	}
}

static void
store_linear(const struct sg_bandit *b, size_t i, json_t *lin)
{
	size_t d = b->d;
	json_t *A = json_array(), *bv = json_array();

	for (size_t r = 0; r < d; r++) {
		json_t *row = json_array();

		for (size_t c = 0; c < d; c++)
			json_array_append_new(
				row, sg_jnum(b->A[i * d * d + r * d + c]));
		json_array_append_new(A, row);
		json_array_append_new(bv, sg_jnum(b->b[i * d + r]));
	}
	json_object_set_new(lin, "A", A);
	json_object_set_new(lin, "b", bv);
}

/* The window of sliding-window UCB in a context: entries of arms not in
 * names are left out of the decision. */
static void
load_window(struct sg_bandit *b, const json_t *win, json_t *names)
{
	json_t *e;
	size_t i, j;

	json_array_foreach (win, i, e) {
		const char *arm = json_string_value(json_array_get(e, 0));

		for (j = 0; j < b->k; j++)
			if (strcmp(json_string_value(json_array_get(names, j)),
				    arm ? arm : "") == 0)
				break;
		if (j < b->k && b->wlen < (size_t)b->par.window) {
			b->warm[b->wlen] = j;
			b->wrew[b->wlen++] =
				json_number_value(json_array_get(e, 1));
		}
	}
}

/* A bandit over the named arms in a context, from the state. */
static int
load_bandit(struct sg_bandit *b, json_t *state, const json_t *router,
	const char *key, json_t *names, const double *x, size_t d,
	struct sg_error *e)
{
	struct sg_policy_params par;
	enum sg_policy kind = policy_of(router);
	json_t *ctx = json_object_get(json_object_get(state, "contexts"), key);
	json_t *linarms = sg_path(state, "linear.arms"), *name;
	size_t i;

	policy_params(router, state, &par);
	sg_bandit_init(b, kind, json_array_size(names), d, &par);
	json_array_foreach (names, i, name) {
		const char *s = json_string_value(name);

		load_arm(b, i, json_object_get(ctx, s),
			x ? json_object_get(linarms, s) : NULL);
	}
	if (kind == SG_SW_UCB)
		load_window(b,
			sg_path(state, "windows")
				? json_object_get(
					  sg_path(state, "windows"), key)
				: NULL,
			names);
	if (b->d && sg_bandit_refresh(b) < 0) {
		sg_seterr(e, "state: an arm's linear.arms A is not positive"
			     " definite");
		sg_bandit_free(b);
		return -1;
	}
	return 0;
}

static void
describe(char *buf, size_t size, const struct sg_bandit *b, json_t *names,
	const char *what)
{
	size_t len = (size_t)snprintf(buf, size, " (%s: ", what);

	for (size_t i = 0; i < b->k && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s %.3f",
			i ? ", " : "",
			json_string_value(json_array_get(names, i)),
			b->score[i]);
	if (len < size)
		snprintf(buf + len, size - len, ")");
}

static json_t *
by_name(json_t *names, const double *v, size_t k, int nullzero, const double *n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < k; i++)
		json_object_set_new(o,
			json_string_value(json_array_get(names, i)),
			nullzero && n[i] == 0 ? json_null()
			: isinf(v[i])	      ? json_string("inf")
					      : json_real(v[i]));
	return o;
}

static json_t *
decision_record(const struct sg_bandit *b, const struct sg_pick *pk,
	json_t *names, json_t *unavail, int init)
{
	char list[768];
	double *mean = sg_xmalloc((b->k + 1) * sizeof *mean);
	json_t *d, *counts = json_object();
	int eg = b->kind == SG_EPSILON_GREEDY || b->kind == SG_SOFTMAX;
	int sampled = !eg && b->kind != SG_UCB1 && b->kind != SG_SW_UCB &&
		      b->kind != SG_LINUCB;

	for (size_t i = 0; i < b->k; i++) {
		mean[i] = b->n[i] > 0 ? b->sum[i] / b->n[i] : 0;
		json_object_set_new(counts,
			json_string_value(json_array_get(names, i)),
			sg_jnum(b->n[i]));
	}
	d = json_pack("{s:s, s:s, s:f, s:o, s:o, s:o, s:O, s:O}", "policy",
		sg_policy_name(b->kind), "mode", pk->mode, "p", pk->p, "draw",
		pk->draw < 0 ? json_null() : json_real(pk->draw), "means",
		by_name(names, mean, b->k, 1, b->n), "counts", counts,
		"offered", names, "unavailable", unavail);
	if (b->kind == SG_EPSILON_GREEDY)
		json_object_set_new(d, "epsilon", json_real(b->par.epsilon));
	list[0] = '\0';
	if (!init) {
		json_object_set_new(d, sampled ? "draws" : "scores",
			by_name(names, b->score, b->k, 0, NULL));
		describe(list, sizeof list, b, names,
			eg	  ? "means"
			: sampled ? "draws"
				  : "upper bounds");
	}
	if (b->kind != SG_EPSILON_GREEDY)
		json_object_set_new(d, "params",
			json_pack("{s:f, s:f, s:f, s:f, s:I, s:I}", "alpha",
				b->par.alpha, "tau", b->par.tau, "sigma",
				b->par.sigma, "discount", b->par.gamma,
				"window", (json_int_t)b->par.window, "draws",
				(json_int_t)b->par.draws));
	{
		char reason[1024];

		snprintf(reason, sizeof reason, "%s%s", pk->why, list);
		json_object_set_new(d, "reason", json_string(reason));
	}
	free(mean);
	return d;
}

/* The recipe's router_config with the caller's fields over it. */
static json_t *
router_config(const json_t *recipe, const json_t *over, struct sg_error *e)
{
	json_t *copy, *rc, *router;

	if (!over)
		return sg_router_config(recipe, e);
	copy = json_copy((json_t *)recipe);
	rc = json_copy(json_object_get(recipe, "router_config"));
	if (!json_is_object(rc)) {
		json_decref(rc);
		rc = json_object();
	}
	json_object_update(rc, (json_t *)over);
	json_object_set_new(copy, "router_config", rc);
	router = sg_router_config(copy, e);
	json_decref(copy);
	return router;
}

int
sg_route(json_t *state, json_t *job, const struct sg_route_opts *o,
	struct sg_error *e)
{
	const json_t *recipe = json_object_get(job, "recipe");
	const json_t *context = json_object_get(job, "context");
	json_t *router, *arms, *offered, *unavail, *arm = NULL, *armst, *ctx;
	struct sg_bandit b;
	struct sg_pick pk;
	struct sg_rng rng;
	const char *name;
	double *x = NULL, temp;
	char *key = NULL, batch[32];
	size_t i, d = 0;
	int rc = -1;
	long long step = sg_get_int(state, "steps", 0);
	const json_t *worker = json_object_get(state, "worker");

	if (!json_is_object(recipe) || !json_is_object(context)) {
		sg_seterr(e, "job has no \"%s\" object",
			json_is_object(recipe) ? "context" : "recipe");
		return -1;
	}
	if (!(router = router_config(recipe, o->router, e)))
		return -1;
	if (!(arms = sg_arms_resolve(recipe, e))) {
		json_decref(router);
		return -1;
	}
	offered = json_array();
	unavail = json_object();
	if (sg_arms_offer(state, arms, context, offered, unavail) == 0) {
		sg_seterr(e,
			"no arm can run in this context (%zu unavailable;"
			" see sg-route(1))",
			json_object_size(unavail));
		goto out;
	}
	json_object_set(state, "router", router);
	if (!json_is_number(json_object_get(state, "epsilon")))
		json_object_set(state, "epsilon",
			json_object_get(router, "epsilon_start"));
	key = sg_context_key(context);
	if (sg_policy_linear(policy_of(router)))
		x = features(state, context, &d);
	if (load_bandit(&b, state, router, key, offered, x, d, e) < 0)
		goto out;
	sg_state_rng(state, &rng);
	sg_bandit_choose(&b, x, &rng, &pk);
	name = json_string_value(json_array_get(offered, pk.arm));
	json_array_foreach (arms, i, arm)
		if (strcmp(sg_get_str(arm, "name"), name) == 0)
			break;
	armst = sg_child(sg_child(state, "arms"), name);
	if (!json_is_number(json_object_get(armst, "temperature")))
		json_object_set_new(armst, "temperature",
			json_real(o->initial_temp > 0
					  ? o->initial_temp
					  : sg_get_num(arm, "temperature", 1)));
	temp = sg_get_num(armst, "temperature", 1);
	add_num(armst, "pulls", 1);
	ctx = sg_child(sg_child(sg_child(state, "contexts"), key), name);
	add_num(ctx, "pulls", 1);

	/* a worker's batches are the numbers equal to its index modulo the
	 * count of workers, so the copies of one state never share one */
	if (worker) {
		long long k = sg_get_int(worker, "index", 0);
		long long n = sg_get_int(worker, "count", 1);

		step += ((k - step) % n + n) % n;
	}
	json_object_set_new(job, "batch", json_integer(step));
	json_object_set_new(job, "arm", json_string(name));
	json_object_set(job, "generator", json_object_get(arm, "generator"));
	json_object_set_new(job, "params", arm_params(arm, temp));
	json_object_set_new(
		job, "seed", json_integer((json_int_t)sg_rng_seed53(&rng)));
	if (json_object_get(arm, "command"))
		json_object_set(
			job, "command", json_object_get(arm, "command"));
	json_object_set_new(job, "decision",
		decision_record(&b, &pk, offered, unavail,
			strcmp(pk.mode, "init") == 0));
	/* what sg-update needs to learn from a reward naming only its batch */
	snprintf(batch, sizeof batch, "%lld", step);
	json_object_set_new(sg_child(state, "pending"), batch,
		json_pack("{s:s, s:O, s:f, s:s, s:O}", "arm", name, "context",
			context, "p", pk.p, "policy", sg_policy_name(b.kind),
			"params", json_object_get(job, "params")));

	json_object_set_new(state, "steps", json_integer(step + 1));
	if (json_is_integer(json_object_get(job, "target")))
		json_object_set(
			state, "target", json_object_get(job, "target"));
	sg_state_set_rng(state, &rng);
	sg_bandit_free(&b);
	rc = 0;
out:
	free(x);
	free(key);
	json_decref(offered);
	json_decref(unavail);
	json_decref(arms);
	json_decref(router);
	return rc;
}

/* epsilon0 decayed once per reward, computed afresh rather than
 * multiplied in, so that merged states agree with a single learner's. */
void
sg_epsilon_update(json_t *state)
{
	json_t *router = json_object_get(state, "router");

	if (!json_is_number(json_object_get(state, "epsilon0")))
		json_object_set_new(state, "epsilon0",
			json_real(sg_get_num(state, "epsilon",
				sg_get_num(router, "epsilon_start", 0.4))));
	json_object_set_new(state, "epsilon",
		json_real(fmax(sg_get_num(router, "epsilon_min", 0.1),
			sg_get_num(state, "epsilon0", 0.4) *
				pow(sg_get_num(router, "epsilon_decay", 0.98),
					(double)sg_get_int(state,
						"epsilon_rewards", 0)))));
}

void
sg_router_warm(json_t *state, const json_t *from)
{
	static const char *learnt[] = {
		"arms", "contexts", "linear", "windows", "epsilon"};

	for (size_t i = 0; i < sizeof learnt / sizeof *learnt; i++) {
		json_t *v = json_object_get(from, learnt[i]);

		if (v)
			json_object_set_new(
				state, learnt[i], json_deep_copy(v));
	}
}

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* The Bernoulli trick's coin for a reward: a function of the run's seed
 * and the batch alone, so rewards may arrive in any order, or at several
 * workers, and still flip the same coins. */
static double
reward_coin(const json_t *state, const char *run, long long batch)
{
	char buf[600];
	int n = snprintf(buf, sizeof buf, "%lld:%s:%lld",
		sg_get_int(state, "seed", 0), run, batch);

	struct sg_rng r;

	/* FNV's high bits barely change with the last characters: seed a
	 * generator with the hash to spread them */
	sg_rng_seed(&r, sg_hash64(buf, (size_t)n));
	return sg_rng_uniform(&r);
}

/* Learn one reward of arm in the context whose key is key (context, when
 * known, for a linear policy's features): the context's statistics (all
 * its arms, since a discounted policy forgets on every reward), its
 * window, and for a linear policy the arm's A and b. */
static int
learn_in(json_t *state, const char *arm, const char *key, const json_t *context,
	double value, double coin, struct sg_error *e)
{
	json_t *router = json_object_get(state, "router");
	json_t *ctxs = sg_child(state, "contexts"), *ctx, *names, *v;
	enum sg_policy kind = policy_of(router);
	struct sg_bandit b;
	double *x = NULL;
	size_t d = 0, i, at = 0;
	const char *name;

	ctx = sg_child(ctxs, key);
	names = json_array();
	json_object_foreach (ctx, name, v)
		json_array_append_new(names, json_string(name));
	if (!json_object_get(ctx, arm))
		json_array_append_new(names, json_string(arm));
	json_array_foreach (names, i, v)
		if (strcmp(json_string_value(v), arm) == 0)
			at = i;
	if (sg_policy_linear(kind) && context)
		x = features(state, context, &d);
	if (load_bandit(&b, state, router, key, names, x, d, e) < 0) {
		free(x);
		json_decref(names);
		return -1;
	}
	sg_bandit_update(&b, at, x, value, coin);
	json_array_foreach (names, i, v) {
		json_t *st = sg_child(ctx, json_string_value(v));

		if (b.n[i] == 0 && !json_object_get(st, "n"))
			continue;
		json_object_set_new(st, "n", sg_jnum(b.n[i]));
		json_object_set_new(st, "sum", sg_jnum(b.sum[i]));
		json_object_set_new(st, "wins", sg_jnum(b.wins[i]));
	}
	if (kind == SG_SW_UCB) {
		json_t *win = json_array();

		for (i = 0; i < b.wlen; i++)
			json_array_append_new(
				win, json_pack("[O, f]",
					     json_array_get(names, b.warm[i]),
					     b.wrew[i]));
		json_object_set_new(sg_child(state, "windows"), key, win);
	}
	if (x)
		store_linear(&b, at,
			sg_child(sg_child(sg_child(state, "linear"), "arms"),
				arm));
	sg_bandit_free(&b);
	free(x);
	json_decref(names);
	return 0;
}

/* Learn a reward of arm in its context; without one (a downstream
 * reward of the arm as a whole, sg-eval's) in every context the arm has
 * been learnt in, since the router decides by a context's statistics
 * alone, or in the empty context when there is none yet. */
static int
learn(json_t *state, const char *arm, const json_t *context, double value,
	double coin, struct sg_error *e)
{
	json_t *ctxs = json_object_get(state, "contexts"), *ctx, *none;
	const char *name;
	char *key;
	int rc, learnt = 0;

	/* learn_in changes what a context holds, never which contexts
	 * there are, so walking them meanwhile is safe */
	if (!context)
		json_object_foreach (ctxs, name, ctx) {
			if (!json_object_get(ctx, arm))
				continue;
			if (learn_in(state, arm, name, NULL, value, coin, e) <
				0)
				return -1;
			learnt = 1;
		}
	if (learnt)
		return 0;
	none = json_object();
	key = sg_context_key(context ? context : none);
	json_decref(none);
	rc = learn_in(state, arm, key, context, value, coin, e);
	free(key);
	return rc;
}

/* The most rewards one record may stand for: an evaluation every 1000
 * iterations is already rare. */
#define MAX_WEIGHT 1000

int
sg_reward_apply(json_t *state, const json_t *reward, struct sg_error *e)
{
	json_t *r = json_object_get(reward, "reward"), *w;
	json_t *router = json_object_get(state, "router"), *armst, *pend;
	long long weight;
	const json_t *context = json_object_get(reward, "context");
	const json_t *params = json_object_get(reward, "params");
	const char *arm = sg_get_str(reward, "arm");
	const char *run = sg_get_str(reward, "run");
	long long batch = sg_get_int(reward, "batch", -1);
	double value, q, pr, t, coin;
	char id[32];

	if (json_is_null(r) && json_object_get(reward, "skipped")) {
		sg_pause_apply(state, reward, time(NULL));
		return 0;
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
	w = json_object_get(reward, "weight");
	weight = w ? json_integer_value(w) : 1;
	if (w && !(json_is_integer(w) && weight >= 1 && weight <= MAX_WEIGHT)) {
		sg_seterr(e,
			"reward's \"weight\" is not a whole number from 1"
			" to %d",
			MAX_WEIGHT);
		return -1;
	}
	snprintf(id, sizeof id, "%lld", batch);
	pend = json_object_get(json_object_get(state, "pending"), id);
	if (pend) {
		/* the decision sg-route recorded rules over the record; a
		 * second reward of the batch (an evaluation's) names its own */
		arm = sg_get_str(pend, "arm");
		context = json_object_get(pend, "context");
		params = json_object_get(pend, "params");
	}
	if (!arm) {
		sg_seterr(e,
			"reward for batch %lld has no \"arm\" and no"
			" pending decision",
			batch);
		return -1;
	}
	coin = reward_coin(state, run ? run : "", batch);
	if (!json_is_object(context))
		context = NULL;
	/* a reward that stands for several batches (an evaluation's, every
	 * few iterations) is learnt as that many */
	for (long long k = weight; k > 0; k--)
		if (learn(state, arm, context, value, coin, e) < 0)
			return -1;
	armst = sg_child(sg_child(state, "arms"), arm);
	add_num(armst, "n", 1);
	add_num(armst, "sum", value);
	json_object_set_new(state, "rewards",
		json_integer(sg_get_int(state, "rewards", 0) + 1));
	json_object_set_new(state, "epsilon_rewards",
		json_integer(sg_get_int(state, "epsilon_rewards", 0) + 1));
	sg_epsilon_update(state);

	/* The original system's rule: a step down when the batch's pass
	 * rate or quality is low, a smaller step up when both are high.
	 * Only a batch's own figures move it; a downstream reward (sg-eval)
	 * says nothing about the samples' quality. */
	q = sg_get_num(reward, "mean_quality", -1);
	pr = sg_get_num(reward, "pass_rate", -1);
	t = sg_get_num(
		armst, "temperature", sg_get_num(params, "temperature", 1.0));
	if (q >= 0 &&
		(q < sg_get_num(router, "quality_low", 0.6) ||
			(pr >= 0 && pr < sg_get_num(router, "pass_low", 0.5))))
		t -= sg_get_num(router, "temperature_step", 0.05);
	else if (q > sg_get_num(router, "quality_high", 0.8) &&
		 (pr < 0 || pr > sg_get_num(router, "pass_high", 0.8)))
		t += sg_get_num(router, "temperature_step_up", 0.025);
	json_object_set_new(armst, "temperature",
		json_real(clamp(t, sg_get_num(router, "temperature_min", 0.3),
			sg_get_num(router, "temperature_max", 1.2))));
	if (pend)
		json_object_del(json_object_get(state, "pending"), id);
	return 0;
}
