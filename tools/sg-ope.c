/*
 * sg-ope - off-policy evaluation: what another routing policy would have
 * earned, estimated from a log of decisions and their rewards.
 *
 * Reads the log sg-update -l writes: job records (each with its "arm" and
 * the "decision" sg-route recorded, whose "p" and "offered" matter here)
 * and reward records, joined by (run, batch) in any order.  Writes one
 * "ope" record with the inverse propensity (IPS), self-normalised IPS and
 * doubly robust estimates of the target policy's mean reward; other
 * records are not passed on.  Owns every field of the record it writes.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "route/route.h"

static struct sg_filter f = {
	.usage = "usage: sg-ope [-huVv] [--strict] [-a arm | -g | -U]"
		 " [file ...]\n",
};

static const char *target_arm;
static int greedy;
static json_t *jobs, *rewards; /* by "run:batch" */

static void
collect(struct sg_filter *f, json_t *rec)
{
	const char *type = sg_rec_type(rec), *run;
	long long batch;
	struct sg_error e;
	char key[512];

	if (strcmp(type, "job") && strcmp(type, "reward"))
		return;
	if (sg_record_batch(rec, &run, &batch, &e) < 0) {
		sg_filter_bad(f, "%s", e.text);
		return;
	}
	snprintf(key, sizeof key, "%s:%lld", run, batch);
	if (strcmp(type, "job") == 0) {
		double p =
			sg_get_num(json_object_get(rec, "decision"), "p", -1);

		if (!sg_get_str(rec, "arm") || !(p > 0 && p <= 1) ||
			!json_is_array(sg_path(rec, "decision.offered"))) {
			sg_filter_bad(f,
				"job of batch %lld has no arm, decision"
				" \"p\" in (0, 1] or \"offered\"",
				batch);
			return;
		}
		json_object_set(jobs, key, rec);
	} else if (!json_is_number(json_object_get(rec, "reward")))
		sg_filter_bad(f, "reward of batch %lld has no number", batch);
	else
		json_object_set(rewards, key, json_object_get(rec, "reward"));
}

/* The reward model of the doubly robust estimate: the mean logged reward
 * of an arm in a context, else of the arm, else of everything. */
struct model {
	json_t *byctx, *byarm; /* {key: [n, sum]} */
	double all;
};

static void
tally(json_t *table, const char *key, double r)
{
	json_t *c = json_object_get(table, key);

	if (!c) {
		c = json_pack("[f, f]", 0.0, 0.0);
		json_object_set_new(table, key, c);
	}
	json_real_set(json_array_get(c, 0),
		json_real_value(json_array_get(c, 0)) + 1);
	json_real_set(json_array_get(c, 1),
		json_real_value(json_array_get(c, 1)) + r);
}

static double
mean_of(const json_t *table, const char *key, double dflt)
{
	json_t *c = json_object_get(table, key);

	return c ? json_real_value(json_array_get(c, 1)) /
			       json_real_value(json_array_get(c, 0))
		 : dflt;
}

static char *
ctx_arm(const json_t *job, const char *arm)
{
	char *ctx = sg_context_key(json_object_get(job, "context"));
	size_t n = strlen(ctx) + strlen(arm) + 2;
	char *key = sg_xmalloc(n);

	snprintf(key, n, "%s#%s", ctx, arm);
	free(ctx);
	return key;
}

static double
predict(const struct model *m, const json_t *job, const char *arm)
{
	char *key = ctx_arm(job, arm);
	double q = mean_of(m->byctx, key, mean_of(m->byarm, arm, m->all));

	free(key);
	return q;
}

/* pi(arm | job's context) of the target policy. */
static double
target(const struct model *m, const json_t *job, const char *arm)
{
	json_t *offered = sg_path(job, "decision.offered"), *v;
	size_t i, k = json_array_size(offered), nbest = 0;
	double best = -INFINITY;

	if (target_arm)
		return strcmp(arm, target_arm) == 0;
	if (!greedy)
		return 1.0 / (double)k;
	json_array_foreach (offered, i, v)
		best = fmax(best, predict(m, job, json_string_value(v)));
	json_array_foreach (offered, i, v)
		nbest += predict(m, job, json_string_value(v)) == best;
	return predict(m, job, arm) == best ? 1.0 / (double)nbest : 0;
}

static json_t *
estimate(void)
{
	struct model m = {json_object(), json_object(), 0};
	double ips = 0, ips2 = 0, wsum = 0, wr = 0, dr = 0, dr2 = 0, n = 0;
	const char *key;
	json_t *job, *out;

	json_object_foreach (jobs, key, job) {
		json_t *r = json_object_get(rewards, key);
		char *k;

		if (!r)
			continue;
		k = ctx_arm(job, sg_get_str(job, "arm"));
		tally(m.byctx, k, json_number_value(r));
		tally(m.byarm, sg_get_str(job, "arm"), json_number_value(r));
		m.all += json_number_value(r);
		n++;
		free(k);
	}
	m.all = n > 0 ? m.all / n : 0;
	json_object_foreach (jobs, key, job) {
		json_t *r = json_object_get(rewards, key), *v;
		const char *arm = sg_get_str(job, "arm");
		double w, x, d = 0;
		size_t i;

		if (!r)
			continue;
		w = target(&m, job, arm) /
		    sg_get_num(json_object_get(job, "decision"), "p", 1);
		x = w * json_number_value(r);
		ips += x;
		ips2 += x * x;
		wsum += w;
		wr += x;
		json_array_foreach (sg_path(job, "decision.offered"), i, v)
			d += target(&m, job, json_string_value(v)) *
			     predict(&m, job, json_string_value(v));
		d += w * (json_number_value(r) - predict(&m, job, arm));
		dr += d;
		dr2 += d * d;
	}
	out = json_pack("{s:s, s:s, s:I}", "type", "ope", "policy",
		target_arm ? "arm"
		: greedy   ? "greedy"
			   : "uniform",
		"n", (json_int_t)n);
	if (target_arm)
		json_object_set_new(out, "arm", json_string(target_arm));
	if (n > 0) {
		double mi = ips / n, md = dr / n;

		json_object_set_new(out, "ips", json_real(mi));
		json_object_set_new(out, "ips_se",
			json_real(sqrt(fmax(ips2 / n - mi * mi, 0) / n)));
		json_object_set_new(out, "snips",
			wsum > 0 ? json_real(wr / wsum) : json_null());
		json_object_set_new(out, "dr", json_real(md));
		json_object_set_new(out, "dr_se",
			json_real(sqrt(fmax(dr2 / n - md * md, 0) / n)));
	}
	json_decref(m.byctx);
	json_decref(m.byarm);
	return out;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"arm", required_argument, NULL, 'a'},
		{"greedy", no_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{"strict", no_argument, NULL, SG_OPT_STRICT},
		{"unbuffered", no_argument, NULL, 'u'},
		{"uniform", no_argument, NULL, 'U'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c, status, chosen = 0;
	json_t *out;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "a:ghUuVv", longopts, NULL)) !=
		-1) {
		if (sg_filter_option(&f, c))
			continue;
		switch (c) {
		case 'a':
			target_arm = optarg;
			chosen++;
			break;
		case 'g':
			greedy = 1;
			chosen++;
			break;
		case 'U':
			chosen++;
			break;
		default:
			sg_usage(f.usage, SG_EXIT_USAGE);
		}
	}
	if (chosen > 1)
		sg_usage(f.usage, SG_EXIT_USAGE);
	jobs = json_object();
	rewards = json_object();
	status = sg_filter_run(&f, argv + optind, argc - optind, collect);
	out = estimate();
	sg_filter_put(&f, out);
	json_decref(out);
	json_decref(jobs);
	json_decref(rewards);
	return sg_finish(status);
}
