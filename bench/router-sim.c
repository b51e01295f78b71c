/*
 * router-sim - the router's policies in simulated worlds, through the same
 * lib/route/policy.c code sg-route runs: Chapelle and Li's (2011) delayed
 * feedback, a stationary Bernoulli bandit against the Lai-Robbins bound,
 * a drifting bandit and a contextual one.  Prints a table of mean regret
 * and its standard error over seeds.
 *
 * usage: router-sim quick|full [scenario]
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "route/route-internal.h"

struct stats {
	double sum, sumsq;
	int n;
};

static void
add(struct stats *s, double v)
{
	s->sum += v;
	s->sumsq += v * v;
	s->n++;
}

static void
report(const char *scenario, const char *policy, const char *setting,
	const struct stats *s)
{
	double m = s->sum / s->n;
	double var = s->n > 1 ? (s->sumsq - s->n * m * m) / (s->n - 1) : 0;

	printf("%-12s %-22s %-22s %12.1f %10.1f %4d\n", scenario, policy,
		setting, m, sqrt(fmax(var, 0) / s->n), s->n);
	fflush(stdout);
}

static struct sg_policy_params
params(void)
{
	return (struct sg_policy_params){.epsilon = 0.1,
		.alpha = 1,
		.tau = 0.1,
		.sigma = 0.5,
		.gamma = 0.99,
		.window = 500,
		.draws = 0};
}

static void
reset_arm(struct sg_bandit *b, size_t a)
{
	b->n[a] = b->sum[a] = b->wins[a] = b->pulls[a] = 0;
}

/* Chapelle and Li 2011, the delayed-feedback table: K arms of means ~
 * Beta(4,4); with probability 1e-3 per step one arm, chosen uniformly, is
 * replaced by a new one (whose statistics the policy starts afresh);
 * rewards delivered every delta steps; the regret of T steps.  Replacing
 * each arm with that probability instead gives about five times their
 * regret (bench/RESULTS.md). */
static double
chapelle(enum sg_policy kind, long T, long delta, uint64_t seed)
{
	enum { K = 10 };
	struct sg_rng rng, world;
	struct sg_bandit b;
	struct sg_policy_params par = params();
	struct sg_pick pk;
	double mu[K], regret = 0, *rew = sg_xmalloc(delta * sizeof *rew);
	size_t *arm = sg_xmalloc(delta * sizeof *arm);
	long *gen = sg_xmalloc(delta * sizeof *gen), g[K] = {0};
	long pending = 0;

	sg_rng_seed(&rng, seed);
	sg_rng_seed(&world, seed ^ 0x5eed);
	sg_bandit_init(&b, kind, K, 0, &par);
	for (int a = 0; a < K; a++)
		mu[a] = sg_rng_beta(&world, 4, 4);
	for (long t = 0; t < T; t++) {
		double best = 0;

		if (sg_rng_uniform(&world) < 1e-3) {
			int a = (int)sg_rng_below(&world, K);

			mu[a] = sg_rng_beta(&world, 4, 4);
			reset_arm(&b, a);
			g[a]++;
		}
		for (int a = 0; a < K; a++)
			best = fmax(best, mu[a]);
		sg_bandit_choose(&b, NULL, &rng, &pk);
		regret += best - mu[pk.arm];
		arm[pending] = pk.arm;
		gen[pending] = g[pk.arm];
		rew[pending++] = sg_rng_uniform(&world) < mu[pk.arm];
		if (pending == delta) {
			for (long i = 0; i < pending; i++)
				if (gen[i] == g[arm[i]])
					sg_bandit_update(
						&b, arm[i], NULL, rew[i], 0);
			pending = 0;
		}
	}
	sg_bandit_free(&b);
	free(rew);
	free(arm);
	free(gen);
	return regret;
}

/* K Bernoulli arms, the best 0.5 and the others 0.5 - eps; the expected
 * regret (sum of gaps) at T1 and at T2. */
static void
stationary(enum sg_policy kind, double eps, long T1, long T2, uint64_t seed,
	double *r1, double *r2)
{
	enum { K = 10 };
	struct sg_rng rng, world;
	struct sg_bandit b;
	struct sg_policy_params par = params();
	struct sg_pick pk;
	double regret = 0;

	sg_rng_seed(&rng, seed);
	sg_rng_seed(&world, seed ^ 0x5eed);
	sg_bandit_init(&b, kind, K, 0, &par);
	for (long t = 0; t < T2; t++) {
		double mu;

		if (t == T1)
			*r1 = regret;
		sg_bandit_choose(&b, NULL, &rng, &pk);
		mu = pk.arm == 0 ? 0.5 : 0.5 - eps;
		regret += 0.5 - mu;
		sg_bandit_update(
			&b, pk.arm, NULL, sg_rng_uniform(&world) < mu, 0);
	}
	*r2 = regret;
	sg_bandit_free(&b);
}

static double
kl(double p, double q)
{
	return p * log(p / q) + (1 - p) * log((1 - p) / (1 - q));
}

/* Five arms; at T/2 the best arm falls from 0.7 to 0.4 and the worst
 * rises from 0.3 to 0.8.  Discounted Thompson remembers about 1000
 * rewards, sliding-window UCB 2000 with a narrower bonus (alpha 1 or a
 * window of 1000 explore too much here: bench/RESULTS.md). */
static double
drift(enum sg_policy kind, long T, uint64_t seed)
{
	enum { K = 5 };
	struct sg_rng rng, world;
	struct sg_bandit b;
	struct sg_policy_params par = params();
	struct sg_pick pk;
	double mu[K] = {0.7, 0.5, 0.45, 0.4, 0.3}, regret = 0;

	par.gamma = 0.999;
	par.window = 2000;
	par.alpha = 0.3;
	sg_rng_seed(&rng, seed);
	sg_rng_seed(&world, seed ^ 0x5eed);
	sg_bandit_init(&b, kind, K, 0, &par);
	for (long t = 0; t < T; t++) {
		double best = 0;

		if (t == T / 2) {
			mu[0] = 0.4;
			mu[4] = 0.8;
		}
		for (int a = 0; a < K; a++)
			best = fmax(best, mu[a]);
		sg_bandit_choose(&b, NULL, &rng, &pk);
		regret += best - mu[pk.arm];
		sg_bandit_update(&b, pk.arm, NULL,
			sg_rng_uniform(&world) < mu[pk.arm],
			sg_rng_uniform(&rng));
	}
	sg_bandit_free(&b);
	return regret;
}

/* 12 arms, 4 generators x 3 temperatures; a context is one of 4 domains
 * and one of 3 complexities, one-hot with a bias (d = 8).  An arm's mean
 * is linear in the context: its generator suits one domain, its
 * temperature one complexity, so the best arm differs by context. */
static double
contextual(enum sg_policy kind, long T, uint64_t seed)
{
	enum { K = 12, D = 8 };
	struct sg_rng rng, world;
	struct sg_bandit b;
	struct sg_policy_params par = params();
	struct sg_pick pk;
	double x[D], regret = 0;

	par.alpha = 0.5;
	par.sigma = 0.2;
	sg_rng_seed(&rng, seed);
	sg_rng_seed(&world, seed ^ 0x5eed);
	sg_bandit_init(&b, kind, K, D, &par);
	for (long t = 0; t < T; t++) {
		int dom = (int)sg_rng_below(&world, 4);
		int cx = (int)sg_rng_below(&world, 3);
		double mu[K], best = 0;

		memset(x, 0, sizeof x);
		x[0] = 1;
		x[1 + dom] = 1;
		x[5 + cx] = 1;
		for (int a = 0; a < K; a++) {
			mu[a] = 0.2 + 0.4 * (a / 3 == dom) +
				0.3 * (a % 3 == cx);
			best = fmax(best, mu[a]);
		}
		sg_bandit_choose(&b, x, &rng, &pk);
		regret += best - mu[pk.arm];
		sg_bandit_update(&b, pk.arm, x,
			sg_rng_uniform(&world) < mu[pk.arm],
			sg_rng_uniform(&rng));
	}
	sg_bandit_free(&b);
	return regret;
}

int
main(int argc, char *argv[])
{
	int full, seeds;
	const char *only;
	struct stats s;
	char setting[64];

	sg_init(argv);
	if (argc < 2 || argc > 3 ||
		(strcmp(argv[1], "quick") && strcmp(argv[1], "full")))
		sg_die(SG_EXIT_USAGE,
			"usage: router-sim quick|full [scenario]");
	full = strcmp(argv[1], "full") == 0;
	only = argc == 3 ? argv[2] : NULL;
	seeds = full ? 10 : 4;
	printf("%-12s %-22s %-22s %12s %10s %4s\n", "scenario", "policy",
		"setting", "regret", "stderr", "runs");
	if (!only || strcmp(only, "chapelle") == 0) {
		static const long deltas[] = {1, 10, 100};
		static const enum sg_policy pols[] = {SG_THOMPSON, SG_UCB1};
		long T = full ? 1000000 : 20000;

		for (int d = 0; d < 3; d++)
			for (int p = 0; p < 2; p++) {
				memset(&s, 0, sizeof s);
				for (int i = 0; i < (full ? 5 : seeds); i++)
					add(&s, chapelle(pols[p], T, deltas[d],
							(uint64_t)i + 1));
				snprintf(setting, sizeof setting,
					"T=%ld,delta=%ld", T, deltas[d]);
				report("chapelle", sg_policy_name(pols[p]),
					setting, &s);
			}
	}
	if (!only || strcmp(only, "stationary") == 0) {
		static const double epss[] = {0.1, 0.02};
		long T2 = full ? 1000000 : 20000;

		for (int e = 0; e < 2; e++) {
			struct stats s1 = {0}, s2 = {0}, gr = {0};
			double bound = 9 * (epss[e] / kl(0.5 - epss[e], 0.5)) *
				       log(10);

			for (int i = 0; i < seeds; i++) {
				double r1 = 0, r2 = 0;

				stationary(SG_THOMPSON, epss[e], T2 / 10, T2,
					(uint64_t)i + 1, &r1, &r2);
				add(&s1, r1);
				add(&s2, r2);
				add(&gr, (r2 - r1) / bound);
			}
			snprintf(setting, sizeof setting, "eps=%g,T=%ld",
				epss[e], T2 / 10);
			report("stationary", "thompson", setting, &s1);
			snprintf(setting, sizeof setting, "eps=%g,T=%ld",
				epss[e], T2);
			report("stationary", "thompson", setting, &s2);
			snprintf(setting, sizeof setting, "eps=%g,growth/bound",
				epss[e]);
			printf("%-12s %-22s %-22s %12.3f %10.3f %4d"
			       " (Lai-Robbins per decade %.1f)\n",
				"stationary", "thompson", setting,
				gr.sum / gr.n,
				sqrt(fmax((gr.sumsq - gr.sum * gr.sum / gr.n) /
						     (gr.n - 1),
					     0) /
					gr.n),
				gr.n, bound);
		}
	}
	if (!only || strcmp(only, "drift") == 0) {
		static const enum sg_policy pols[] = {
			SG_THOMPSON, SG_DISCOUNTED_THOMPSON, SG_SW_UCB};
		long T = full ? 100000 : 10000;

		for (int p = 0; p < 3; p++) {
			memset(&s, 0, sizeof s);
			for (int i = 0; i < seeds; i++)
				add(&s, drift(pols[p], T, (uint64_t)i + 1));
			snprintf(setting, sizeof setting, "T=%ld", T);
			report("drift", sg_policy_name(pols[p]), setting, &s);
		}
	}
	if (!only || strcmp(only, "context") == 0) {
		static const enum sg_policy pols[] = {
			SG_THOMPSON, SG_LINUCB, SG_LINEAR_THOMPSON};
		long T = full ? 50000 : 5000;

		for (int p = 0; p < 3; p++) {
			memset(&s, 0, sizeof s);
			for (int i = 0; i < seeds; i++)
				add(&s, contextual(
						pols[p], T, (uint64_t)i + 1));
			snprintf(setting, sizeof setting, "T=%ld", T);
			report("context", sg_policy_name(pols[p]), setting, &s);
		}
	}
	return sg_finish(SG_EXIT_OK);
}
