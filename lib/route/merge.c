/*
 * merge.c - the learning of several workers in one state.  Each worker
 * started from the same base state and learnt from its own rewards; what
 * it learnt is its state minus the base, and the merge adds every
 * worker's part to the base: counts and sums add, LinUCB's A and b add
 * (A = A1 + A2 - A0, with A0 = I for an arm new since the base), pending
 * decisions a worker consumed are gone and those it left are added.
 * Counts of whole numbers add exactly, so the result is the state one
 * worker fed all the rewards would have (sums of rewards too, whenever
 * they add without rounding).  A worker that routes is stamped with its
 * place among n (sg_state_worker): its batch numbers are its own, so no
 * two workers' decisions or rewards clash when they merge.  The length
 * of each worker's output at its last commit is merged too, so that the
 * run's state knows every worker's file: a round that was interrupted is
 * run again from the run's state, and each worker's sg-update cuts its
 * file back to what the run's state has (sg_state_output).  Workers that
 * started from no state at all merge into a base made for them
 * (sg_state_base).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "route/route-internal.h"

/* acc.key += w.key - base.key, for the numbers of one statistic. */
static void
add_delta(json_t *acc, const json_t *w, const json_t *base, const char *key)
{
	double d = sg_get_num(w, key, 0) - sg_get_num(base, key, 0);

	if (d != 0 || json_object_get(w, key))
		json_object_set_new(
			acc, key, sg_jnum(sg_get_num(acc, key, 0) + d));
}

/* Each statistic of w's stat objects (by name) into acc's. */
static void
add_stats(json_t *acc, const json_t *w, const json_t *base)
{
	static const char *keys[] = {"pulls", "n", "sum", "wins", "withdrawn"};
	const char *name;
	json_t *ws;

	json_object_foreach ((json_t *)w, name, ws)
		for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
			if (json_object_get(ws, keys[i]))
				add_delta(sg_child(acc, name), ws,
					json_object_get(base, name), keys[i]);
}

static size_t
feature_index(json_t *list, const char *name)
{
	json_t *f;
	size_t j;

	json_array_foreach (list, j, f)
		if (strcmp(json_string_value(f), name) == 0)
			return j;
	json_array_append_new(list, json_string(name));
	return json_array_size(list) - 1;
}

/* Element (r, c) of an arm's A, the identity where it has none. */
static double
element(const json_t *A, size_t r, size_t c)
{
	json_t *v = json_array_get(json_array_get(A, r), c);

	return v ? json_number_value(v) : r == c;
}

/* acc's model of one arm plus the worker's change to it, with the
 * worker's features mapped onto acc's list by name. */
static void
add_linear(json_t *accl, const json_t *wl, const json_t *basel, const char *arm)
{
	json_t *wf = json_object_get(wl, "features");
	json_t *af = json_object_get(accl, "features");
	json_t *wa = json_object_get(json_object_get(wl, "arms"), arm);
	json_t *ba = json_object_get(json_object_get(basel, "arms"), arm);
	json_t *aa = sg_child(sg_child(accl, "arms"), arm), *A, *b;
	size_t d = json_array_size(wf), *map, n;

	map = sg_xmalloc((d + 1) * sizeof *map);
	for (size_t i = 0; i < d; i++)
		map[i] = feature_index(
			af, json_string_value(json_array_get(wf, i)));
	n = json_array_size(af);
	A = json_array();
	b = json_array();
	for (size_t r = 0; r < n; r++) {
		json_t *row = json_array();

		for (size_t c = 0; c < n; c++)
			json_array_append_new(
				row, json_real(element(
					     json_object_get(aa, "A"), r, c)));
		json_array_append_new(A, row);
		json_array_append_new(b,
			json_real(json_number_value(
				json_array_get(json_object_get(aa, "b"), r))));
	}
	for (size_t r = 0; r < d; r++) {
		json_t *cell = json_array_get(b, map[r]);

		json_real_set(
			cell, json_real_value(cell) +
				      json_number_value(json_array_get(
					      json_object_get(wa, "b"), r)) -
				      json_number_value(json_array_get(
					      json_object_get(ba, "b"), r)));
		for (size_t c = 0; c < d; c++) {
			cell = json_array_get(
				json_array_get(A, map[r]), map[c]);
			json_real_set(
				cell, json_real_value(cell) +
					      element(json_object_get(wa, "A"),
						      r, c) -
					      element(json_object_get(ba, "A"),
						      r, c));
		}
	}
	for (size_t r = 0; r < n; r++) {
		json_t *row = json_array_get(A, r);

		for (size_t c = 0; c < n; c++)
			json_array_set_new(row, c,
				sg_jnum(json_real_value(
					json_array_get(row, c))));
		json_array_set_new(
			b, r, sg_jnum(json_real_value(json_array_get(b, r))));
	}
	json_object_set_new(aa, "A", A);
	json_object_set_new(aa, "b", b);
	free(map);
}

/* Whether an "output" record is of path. */
static int
names(const json_t *rec, const char *path)
{
	const char *p = sg_get_str(rec, "path");

	return p && strcmp(p, path) == 0;
}

long long
sg_state_output(const json_t *state, const char *path)
{
	const json_t *rec = json_object_get(state, "output");
	const json_t *all = json_object_get(state, "outputs");

	if (names(rec, path))
		return sg_get_int(rec, "bytes", -1);
	return json_object_get(all, path) ? sg_get_int(all, path, -1) : -1;
}

/* Record path's length in the place state keeps it. */
static void
put_output(json_t *state, const char *path, long long bytes)
{
	json_t *rec = json_object_get(state, "output");

	if (names(rec, path))
		json_object_set_new(rec, "bytes", json_integer(bytes));
	else
		json_object_set_new(
			sg_child(state, "outputs"), path, json_integer(bytes));
}

void
sg_state_set_output(json_t *state, const char *path, long long bytes)
{
	json_t *rec = json_object_get(state, "output");
	json_t *all = json_object_get(state, "outputs");

	/* the output written before keeps its length, for the merge */
	if (rec && sg_get_str(rec, "path") &&
		strcmp(sg_get_str(rec, "path"), path) != 0)
		json_object_set(sg_child(state, "outputs"),
			sg_get_str(rec, "path"), json_object_get(rec, "bytes"));
	json_object_set_new(state, "output",
		json_pack("{s:s, s:I}", "path", path, "bytes",
			(json_int_t)bytes));
	if (all) {
		json_object_del(all, path);
		if (json_object_size(all) == 0)
			json_object_del(state, "outputs");
	}
}

/* Whether w took samples out of its output since base (sg-update's
 * withdrawal), which writes it again shorter. */
static int
withdrew(const json_t *base, const json_t *w)
{
	const json_t *ba = json_object_get(base, "arms"), *a;
	const char *name;

	json_object_foreach ((json_t *)json_object_get(w, "arms"), name, a)
		if (sg_get_int(a, "withdrawn", 0) >
			sg_get_int(json_object_get(ba, name), "withdrawn", 0))
			return 1;
	return 0;
}

/* The lengths of the outputs w wrote since base, into acc: each output
 * is one worker's, and only grows, but for the one w writes when it
 * withdrew samples from it. */
static int
merge_outputs(
	json_t *acc, const json_t *base, const json_t *w, struct sg_error *e)
{
	json_t *recs = json_deep_copy(json_object_get(w, "outputs")), *v;
	const json_t *rec = json_object_get(w, "output");
	const char *path, *own = sg_get_str(rec, "path");
	int rc = 0, rewrote = withdrew(base, w);

	if (!recs)
		recs = json_object();
	if (own)
		json_object_set(recs, own, json_object_get(rec, "bytes"));
	json_object_foreach (recs, path, v) {
		long long was = sg_state_output(base, path);

		if (json_integer_value(v) == was)
			continue;
		if (json_integer_value(v) < was &&
			!(rewrote && own && strcmp(path, own) == 0)) {
			sg_seterr(e,
				"records output '%s' shorter than the state"
				" does: it was copied from an older state",
				path);
			rc = -1;
			break;
		}
		if (sg_state_output(acc, path) != was) {
			sg_seterr(e,
				"wrote output '%s', as another worker did: "
				"each worker needs an output of its own",
				path);
			rc = -1;
			break;
		}
		put_output(acc, path, json_integer_value(v));
	}
	json_decref(recs);
	return rc;
}

/* The round of merges state has had, which its workers' stamps carry. */
static long long
merged_round(const json_t *state)
{
	return sg_get_int(state, "round", 0);
}

int
sg_state_merge(
	json_t *acc, const json_t *base, const json_t *w, struct sg_error *e)
{
	static const char *counters[] = {
		"rewards", "accepted", "rejected", "epsilon_rewards"};
	const char *policy =
		sg_get_str(json_object_get(base, "router"), "policy");
	json_t *router = json_object_get(acc, "router"), *v, *pend;
	const char *key;

	if (strcmp(sg_get_str(w, "run"), sg_get_str(base, "run")) != 0) {
		sg_seterr(e, "belongs to run \"%s\", not \"%s\"",
			sg_get_str(w, "run"), sg_get_str(base, "run"));
		return -1;
	}
	if (json_object_get(w, "worker") &&
		sg_get_int(json_object_get(w, "worker"), "round", 0) !=
			merged_round(base)) {
		sg_seterr(e,
			"was copied from this state after %lld merges, not"
			" after its %lld: merged already?",
			sg_get_int(json_object_get(w, "worker"), "round", 0),
			merged_round(base));
		return -1;
	}
	if (sg_get_int(w, "steps", 0) < sg_get_int(base, "steps", 0) ||
		sg_get_int(w, "rewards", 0) < sg_get_int(base, "rewards", 0)) {
		sg_seterr(e, "did not start from this state (it has fewer steps"
			     " or rewards): copy the state to it first");
		return -1;
	}
	if (policy && (strcmp(policy, "discounted_thompson") == 0 ||
			      strcmp(policy, "sliding_window_ucb") == 0)) {
		sg_seterr(e,
			"%s forgets in the order rewards come: its states"
			" do not merge",
			policy);
		return -1;
	}
	if (merge_outputs(acc, base, w, e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof counters / sizeof *counters; i++)
		add_delta(acc, w, base, counters[i]);
	for (int i = 0; json_object_get(w, "usage") && sg_usage_keys[i]; i++)
		add_delta(sg_child(acc, "usage"), json_object_get(w, "usage"),
			json_object_get(base, "usage"), sg_usage_keys[i]);
	json_object_foreach (json_object_get(w, "labels"), key, v)
		add_delta(sg_child(acc, "labels"), json_object_get(w, "labels"),
			json_object_get(base, "labels"), key);
	add_stats(sg_child(acc, "arms"), json_object_get(w, "arms"),
		json_object_get(base, "arms"));
	json_object_foreach (json_object_get(w, "arms"), key, v) {
		json_t *a = sg_child(sg_child(acc, "arms"), key);
		json_t *ba =
			json_object_get(json_object_get(base, "arms"), key);
		double t;

		/* temperatures move by the sum of the workers' moves */
		t = sg_get_num(
			    a, "temperature", sg_get_num(v, "temperature", 1)) +
		    sg_get_num(v, "temperature", 1) -
		    sg_get_num(
			    ba, "temperature", sg_get_num(v, "temperature", 1));
		json_object_set_new(a, "temperature",
			json_real(fmin(fmax(t, sg_get_num(router,
						       "temperature_min", 0.1)),
				sg_get_num(router, "temperature_max", 1.5))));
	}
	json_object_foreach (json_object_get(w, "contexts"), key, v)
		add_stats(sg_child(sg_child(acc, "contexts"), key), v,
			json_object_get(
				json_object_get(base, "contexts"), key));
	if (json_object_get(w, "linear")) {
		json_t *accl = sg_child(acc, "linear");

		if (!json_is_array(json_object_get(accl, "features")))
			json_object_set_new(
				accl, "features", json_pack("[s]", "bias"));
		json_object_foreach (sg_path(w, "linear.arms"), key, v)
			add_linear(accl, json_object_get(w, "linear"),
				json_object_get(base, "linear"), key);
	}
	pend = sg_child(acc, "pending");
	json_object_foreach (json_object_get(base, "pending"), key, v)
		if (!json_object_get(json_object_get(w, "pending"), key))
			json_object_del(pend, key);
	json_object_foreach (json_object_get(w, "pending"), key, v)
		if (!json_object_get(json_object_get(base, "pending"), key))
			json_object_set(pend, key, v);
	/* the next round's workers draw afresh from the merged state */
	if (sg_get_int(w, "steps", 0) > sg_get_int(base, "steps", 0) &&
		strcmp(sg_get_str(acc, "rng"), sg_get_str(base, "rng")) == 0) {
		struct sg_rng rng;

		sg_state_rng(acc, &rng);
		sg_rng_seed(&rng, sg_rng_next(&rng));
		sg_state_set_rng(acc, &rng);
	}
	/* past every batch number any worker took */
	if (sg_get_int(w, "steps", 0) > sg_get_int(acc, "steps", 0))
		json_object_set(acc, "steps", json_object_get(w, "steps"));
	if (json_object_get(acc, "epsilon_rewards"))
		sg_epsilon_update(acc);
	return 0;
}

int
sg_state_worker(json_t *state, long long k, long long n, long long target,
	struct sg_error *e)
{
	const json_t *id = json_object_get(state, "worker");
	long long accepted = sg_get_int(state, "accepted", 0), left;
	struct sg_rng rng;
	json_t *stamp;

	if (id) {
		if (sg_get_int(id, "index", -1) == k &&
			sg_get_int(id, "count", -1) == n)
			return 0;
		sg_seterr(e, "is worker %lld/%lld's, not %lld/%lld's",
			sg_get_int(id, "index", -1),
			sg_get_int(id, "count", -1), k, n);
		return -1;
	}
	stamp = json_pack("{s:I, s:I, s:I}", "index", (json_int_t)k, "count",
		(json_int_t)n, "round", (json_int_t)merged_round(state));
	/* a copy of nothing, which merges into a state made for it */
	if (sg_state_is_empty(state))
		json_object_set_new(stamp, "new", json_true());
	/* its share of what the run still needs, so that n workers together
	 * stop at the target */
	if (target > accepted) {
		left = target - accepted;
		json_object_set_new(stamp, "cap",
			json_integer(accepted + left / n + (k < left % n)));
	}
	json_object_set_new(state, "worker", stamp);
	/* copies of one state draw the same numbers: each worker's own */
	sg_state_rng(state, &rng);
	sg_rng_seed(&rng, sg_rng_next(&rng) + (uint64_t)k);
	sg_state_set_rng(state, &rng);
	return 0;
}

int
sg_state_is_empty(const json_t *state)
{
	static const char *counts[] = {
		"steps", "rewards", "accepted", "rejected"};
	static const char *learnt[] = {"arms", "contexts", "linear", "windows",
		"pending", "usage", "output", "outputs"};

	for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
		if (sg_get_int(state, counts[i], 0) != 0)
			return 0;
	for (size_t i = 0; i < sizeof learnt / sizeof *learnt; i++)
		if (json_object_size(json_object_get(state, learnt[i])) > 0)
			return 0;
	return 1;
}

json_t *
sg_state_base(const json_t *w, struct sg_error *e)
{
	const json_t *router = json_object_get(w, "router");
	json_t *base;

	if (!json_is_true(
		    json_object_get(json_object_get(w, "worker"), "new"))) {
		sg_seterr(e, "did not start from nothing (sg-route --worker on"
			     " a new state): it needs the state it was copied"
			     " from");
		return NULL;
	}
	base = sg_state_new(sg_get_str(w, "run"),
		(uint64_t)json_integer_value(json_object_get(w, "seed")),
		json_is_object(router) ? router : NULL);
	if (json_is_object(router))
		json_object_set(base, "epsilon",
			json_object_get(router, "epsilon_start"));
	if (json_object_get(w, "target"))
		json_object_set(base, "target", json_object_get(w, "target"));
	return base;
}

long long
sg_state_cap(const json_t *state)
{
	long long target = sg_get_int(state, "target", 0);
	long long cap = sg_get_int(json_object_get(state, "worker"), "cap", 0);

	return cap > 0 && (target <= 0 || cap < target) ? cap : target;
}
