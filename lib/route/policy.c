/*
 * policy.c - the bandit policies, over plain arrays so that sg-route (which
 * loads them from the state file for each decision) and the benchmark
 * simulator (which keeps them in memory for a million steps) run the same
 * code.  A policy never reads a clock or a global: every draw comes from
 * the generator it is handed, so a decision is a function of the state.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "route/route-internal.h"

static const char *names[] = {
	[SG_EPSILON_GREEDY] = "epsilon_greedy",
	[SG_UCB1] = "ucb1",
	[SG_THOMPSON] = "thompson",
	[SG_GAUSSIAN_THOMPSON] = "gaussian_thompson",
	[SG_SOFTMAX] = "softmax",
	[SG_LINUCB] = "linucb",
	[SG_LINEAR_THOMPSON] = "linear_thompson",
	[SG_DISCOUNTED_THOMPSON] = "discounted_thompson",
	[SG_SW_UCB] = "sliding_window_ucb",
	[SG_DISCOUNTED_GAUSSIAN] = "discounted_gaussian_thompson",
};

const char *
sg_policy_name(enum sg_policy kind)
{
	return names[kind];
}

int
sg_policy_parse(const char *name)
{
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	/* the original system's names */
	if (strcmp(name, "epsilon-greedy") == 0)
		return SG_EPSILON_GREEDY;
	if (strcmp(name, "thompson_sampling") == 0)
		return SG_THOMPSON;
	if (strcmp(name, "ucb") == 0)
		return SG_UCB1;
	return -1;
}

int
sg_policy_linear(enum sg_policy kind)
{
	return kind == SG_LINUCB || kind == SG_LINEAR_THOMPSON;
}

void
sg_bandit_init(struct sg_bandit *b, enum sg_policy kind, size_t k, size_t d,
	const struct sg_policy_params *par)
{
	memset(b, 0, sizeof *b);
	b->kind = kind;
	b->par = *par;
	b->k = k;
	b->d = sg_policy_linear(kind) ? d : 0;
	b->n = sg_xcalloc(k, sizeof *b->n);
	b->sum = sg_xcalloc(k, sizeof *b->sum);
	b->wins = sg_xcalloc(k, sizeof *b->wins);
	b->pulls = sg_xcalloc(k, sizeof *b->pulls);
	b->score = sg_xcalloc(k, sizeof *b->score);
	b->alt = sg_xcalloc(k, sizeof *b->alt);
	b->idx = sg_xcalloc(k, sizeof *b->idx);
	b->tmp = sg_xcalloc(2 * k + b->d * b->d + 2 * b->d + 1, sizeof *b->tmp);
	if (b->d) {
		b->A = sg_xmalloc(k * b->d * b->d * sizeof *b->A);
		b->Ainv = sg_xmalloc(k * b->d * b->d * sizeof *b->Ainv);
		b->b = sg_xcalloc(k * b->d, sizeof *b->b);
		for (size_t a = 0; a < k; a++)
			for (size_t i = 0; i < b->d * b->d; i++)
				b->A[a * b->d * b->d + i] =
					b->Ainv[a * b->d * b->d + i] =
						i % (b->d + 1) == 0;
	}
	if (kind == SG_SW_UCB && par->window > 0) {
		b->warm = sg_xmalloc((size_t)par->window * sizeof *b->warm);
		b->wrew = sg_xmalloc((size_t)par->window * sizeof *b->wrew);
	}
}

void
sg_bandit_free(struct sg_bandit *b)
{
	free(b->n);
	free(b->sum);
	free(b->wins);
	free(b->pulls);
	free(b->score);
	free(b->alt);
	free(b->idx);
	free(b->tmp);
	free(b->A);
	free(b->Ainv);
	free(b->b);
	free(b->warm);
	free(b->wrew);
	memset(b, 0, sizeof *b);
}

/* Cholesky factor L (lower, row-major) of the d x d matrix M; -1 when M
 * is not positive definite. */
static int
cholesky(const double *M, double *L, size_t d)
{
	memset(L, 0, d * d * sizeof *L);
	for (size_t i = 0; i < d; i++)
		for (size_t j = 0; j <= i; j++) {
			double s = M[i * d + j];

			for (size_t k = 0; k < j; k++)
				s -= L[i * d + k] * L[j * d + k];
			if (i == j) {
				if (!(s > 0))
					return -1;
				L[i * d + i] = sqrt(s);
			} else
				L[i * d + j] = s / L[j * d + j];
		}
	return 0;
}

int
sg_bandit_refresh(struct sg_bandit *b)
{
	size_t d = b->d, dd = d * d;
	double *L = b->tmp, *y = L + dd;

	/* A^-1 column by column from A = L L^T: solve L y = e, L^T x = y */
	for (size_t a = 0; a < b->k; a++) {
		if (cholesky(b->A + a * dd, L, d) < 0)
			return -1;
		for (size_t c = 0; c < d; c++) {
			for (size_t i = 0; i < d; i++) {
				double s = i == c;

				for (size_t k = 0; k < i; k++)
					s -= L[i * d + k] * y[k];
				y[i] = s / L[i * d + i];
			}
			for (size_t i = d; i-- > 0;) {
				double s = y[i];

				for (size_t k = i + 1; k < d; k++)
					s -= L[k * d + i] *
					     b->Ainv[a * dd + k * d + c];
				b->Ainv[a * dd + i * d + c] = s / L[i * d + i];
			}
		}
	}
	return 0;
}

static double
dot(const double *u, const double *v, size_t d)
{
	double s = 0;

	for (size_t i = 0; i < d; i++)
		s += u[i] * v[i];
	return s;
}

/* M v into out. */
static void
matvec(const double *M, const double *v, double *out, size_t d)
{
	for (size_t i = 0; i < d; i++)
		out[i] = dot(M + i * d, v, d);
}

static double
mean(const struct sg_bandit *b, size_t a)
{
	return b->n[a] > 0 ? b->sum[a] / b->n[a] : 0;
}

/* Counts over the window for sliding-window UCB, into n and sum. */
static void
window_stats(const struct sg_bandit *b, double *n, double *sum)
{
	memset(n, 0, b->k * sizeof *n);
	memset(sum, 0, b->k * sizeof *sum);
	for (size_t i = 0; i < b->wlen; i++) {
		n[b->warm[i]] += 1;
		sum[b->warm[i]] += b->wrew[i];
	}
}

/* Score every arm for one draw of a randomised policy (or its fixed
 * score); the linear ones read the features x. */
static void
score_arms(
	struct sg_bandit *b, const double *x, struct sg_rng *rng, double *score)
{
	size_t d = b->d, dd = d * d;
	double *L = b->tmp, *mu = L + dd, *w = mu + d;

	for (size_t a = 0; a < b->k; a++) {
		switch (b->kind) {
		case SG_THOMPSON:
		case SG_DISCOUNTED_THOMPSON:
			score[a] = sg_rng_beta(
				rng, 1 + b->wins[a], 1 + b->n[a] - b->wins[a]);
			break;
		case SG_GAUSSIAN_THOMPSON:
			score[a] = b->sum[a] / (b->n[a] + 1) +
				   b->par.sigma / sqrt(b->n[a] + 1) *
					   sg_rng_normal(rng);
			break;
		case SG_DISCOUNTED_GAUSSIAN:
			/* no pull toward a prior: an arm left alone keeps its
			 * mean while its discounted count, and so its
			 * certainty, fades */
			score[a] = b->sum[a] / b->n[a] +
				   b->par.sigma / sqrt(b->n[a]) *
					   sg_rng_normal(rng);
			break;
		case SG_LINEAR_THOMPSON:
			/* theta ~ N(A^-1 b, sigma^2 A^-1): with A = L L^T and
			 * L w = x, x^T theta = x^T A^-1 b + sigma w^T z */
			matvec(b->Ainv + a * dd, b->b + a * d, mu, d);
			cholesky(b->A + a * dd, L, d);
			score[a] = dot(mu, x, d);
			for (size_t i = 0; i < d; i++) {
				double s = x[i];

				for (size_t j = 0; j < i; j++)
					s -= L[i * d + j] * w[j];
				w[i] = s / L[i * d + i];
				score[a] += b->par.sigma * w[i] *
					    sg_rng_normal(rng);
			}
			break;
		default:
			abort();
		}
	}
}

static size_t
argmax(const double *v, size_t k, size_t *ties, size_t *nties)
{
	double top = -INFINITY;
	size_t best = 0;

	*nties = 0;
	for (size_t a = 0; a < k; a++)
		if (v[a] > top)
			top = v[a];
	for (size_t a = 0; a < k; a++)
		if (v[a] == top) {
			if (*nties == 0)
				best = a;
			ties[(*nties)++] = a;
		}
	return best;
}

/* The arms no reward has reached, those not chosen yet first: an arm
 * must be tried before a policy can weigh it.  Their count, in u. */
static size_t
untried(const struct sg_bandit *b, size_t *u)
{
	size_t nu = 0;

	for (size_t a = 0; a < b->k; a++)
		if (b->n[a] == 0 && b->pulls[a] == 0)
			u[nu++] = a;
	if (nu > 0 || b->kind != SG_DISCOUNTED_GAUSSIAN)
		return nu;
	/* the discounted Gaussian draws around a mean: an arm chosen whose
	 * reward has not come back has none yet */
	for (size_t a = 0; a < b->k; a++)
		if (b->n[a] == 0)
			u[nu++] = a;
	return nu;
}

static void
pick_untried(struct sg_bandit *b, struct sg_rng *rng, struct sg_pick *p)
{
	size_t *u = b->idx, nu = untried(b, u);

	p->arm = u[sg_rng_below(rng, nu)];
	p->p = 1.0 / (double)nu;
	p->mode = "init";
	snprintf(p->why, sizeof p->why,
		"init: %zu of %zu arms not yet %s; uniform choice among "
		"them",
		nu, b->k,
		b->kind == SG_DISCOUNTED_GAUSSIAN ? "rewarded" : "chosen");
}

static int
has_untried(struct sg_bandit *b)
{
	return untried(b, b->idx) > 0;
}

/* The deterministic scores: UCB indices, softmax means. */
static void
index_scores(struct sg_bandit *b, const double *x)
{
	size_t d = b->d, dd = d * d;
	double t = 0, *n = b->n, *sum = b->sum, *mu = b->tmp;

	if (b->kind == SG_SW_UCB) {
		n = b->tmp;
		sum = n + b->k;
		window_stats(b, n, sum);
		t = (double)b->wlen;
	} else
		for (size_t a = 0; a < b->k; a++)
			t += b->n[a];
	for (size_t a = 0; a < b->k; a++) {
		switch (b->kind) {
		case SG_EPSILON_GREEDY:
		case SG_SOFTMAX:
			b->score[a] = mean(b, a);
			break;
		case SG_UCB1:
		case SG_SW_UCB:
			b->score[a] = INFINITY;
			if (n[a] > 0)
				b->score[a] = sum[a] / n[a] +
					      b->par.alpha *
						      sqrt(2 * log(fmax(t, 1)) /
							      n[a]);
			break;
		case SG_LINUCB:
			matvec(b->Ainv + a * dd, x, mu, d);
			b->score[a] =
				dot(b->b + a * d, mu, d) +
				b->par.alpha * sqrt(fmax(dot(x, mu, d), 0));
			break;
		default:
			abort();
		}
	}
}

static void
choose_epsilon(struct sg_bandit *b, struct sg_rng *rng, struct sg_pick *p)
{
	size_t *ties = b->idx, nties, pick;
	double eps = b->par.epsilon, draw;

	argmax(b->score, b->k, ties, &nties);
	draw = sg_rng_uniform(rng);
	p->draw = draw;
	if (draw < eps) {
		p->mode = "explore";
		pick = sg_rng_below(rng, b->k);
		snprintf(p->why, sizeof p->why,
			"explore: draw %.3f < epsilon %.3f; uniform choice "
			"among "
			"%zu arms",
			draw, eps, b->k);
	} else {
		p->mode = "exploit";
		pick = ties[sg_rng_below(rng, nties)];
		snprintf(p->why, sizeof p->why,
			"exploit: draw %.3f >= epsilon %.3f; best mean reward "
			"%.3f",
			draw, eps, b->score[pick]);
	}
	p->arm = pick;
	p->p = eps / (double)b->k;
	if (b->score[pick] == b->score[ties[0]])
		p->p += (1 - eps) / (double)nties;
}

static void
choose_softmax(struct sg_bandit *b, struct sg_rng *rng, struct sg_pick *p)
{
	double top = -INFINITY, z = 0, u, acc = 0;
	double *w = b->tmp;

	for (size_t a = 0; a < b->k; a++)
		top = fmax(top, b->score[a]);
	for (size_t a = 0; a < b->k; a++)
		z += w[a] = exp((b->score[a] - top) / b->par.tau);
	u = sg_rng_uniform(rng) * z;
	p->draw = u / z;
	p->arm = b->k - 1;
	for (size_t a = 0; a < b->k; a++) {
		acc += w[a];
		if (u < acc) {
			p->arm = a;
			break;
		}
	}
	p->p = w[p->arm] / z;
	p->mode = "sample";
	snprintf(p->why, sizeof p->why,
		"softmax: draw %.3f; mean %.3f at temperature %.3g gives "
		"probability %.3f",
		p->draw, b->score[p->arm], b->par.tau, p->p);
}

static void
choose_index(struct sg_bandit *b, struct sg_rng *rng, struct sg_pick *p)
{
	size_t *ties = b->idx, nties;

	argmax(b->score, b->k, ties, &nties);
	p->arm = ties[sg_rng_below(rng, nties)];
	p->p = 1.0 / (double)nties;
	p->mode = "exploit";
	if (isinf(b->score[p->arm]))
		snprintf(p->why, sizeof p->why,
			"%s: no reward yet for %zu arms (index infinite); "
			"chosen among them",
			names[b->kind], nties);
	else
		snprintf(p->why, sizeof p->why,
			"%s: highest upper confidence bound %.3f%s",
			names[b->kind], b->score[p->arm],
			nties > 1 ? " (tied, chosen uniformly)" : "");
}

/* Thompson sampling: one draw decides; draws more from the generator
 * estimate how often this arm would win. */
static void
choose_thompson(struct sg_bandit *b, const double *x, struct sg_rng *rng,
	struct sg_pick *p)
{
	size_t *ties = b->idx, nties, wins = 1;

	score_arms(b, x, rng, b->score);
	p->arm = argmax(b->score, b->k, ties, &nties);
	for (long i = 0; i < b->par.draws; i++) {
		score_arms(b, x, rng, b->alt);
		if (argmax(b->alt, b->k, ties, &nties) == p->arm)
			wins++;
	}
	p->p = (double)wins / (double)(b->par.draws + 1);
	p->mode = "sample";
	snprintf(p->why, sizeof p->why,
		"%s: highest posterior draw %.3f; it wins %.3f of %ld draws",
		names[b->kind], b->score[p->arm], p->p, b->par.draws + 1);
}

int
sg_bandit_choose(struct sg_bandit *b, const double *x, struct sg_rng *rng,
	struct sg_pick *p)
{
	memset(p, 0, sizeof *p);
	p->draw = -1;
	if (b->k == 0)
		return -1;
	switch (b->kind) {
	case SG_EPSILON_GREEDY:
	case SG_SOFTMAX:
		if (has_untried(b)) {
			pick_untried(b, rng, p);
			break;
		}
		index_scores(b, x);
		if (b->kind == SG_SOFTMAX)
			choose_softmax(b, rng, p);
		else
			choose_epsilon(b, rng, p);
		break;
	case SG_UCB1:
	case SG_SW_UCB:
	case SG_LINUCB:
		index_scores(b, x);
		choose_index(b, rng, p);
		break;
	case SG_DISCOUNTED_GAUSSIAN:
		if (has_untried(b)) {
			pick_untried(b, rng, p);
			break;
		}
		choose_thompson(b, x, rng, p);
		break;
	default:
		choose_thompson(b, x, rng, p);
	}
	b->pulls[p->arm]++;
	return 0;
}

void
sg_bandit_update(struct sg_bandit *b, size_t arm, const double *x,
	double reward, double coin)
{
	size_t d = b->d, dd = d * d;
	double win = coin < reward;

	if (b->kind == SG_DISCOUNTED_THOMPSON ||
		b->kind == SG_DISCOUNTED_GAUSSIAN)
		for (size_t a = 0; a < b->k; a++) {
			b->n[a] *= b->par.gamma;
			b->sum[a] *= b->par.gamma;
			b->wins[a] *= b->par.gamma;
		}
	b->n[arm] += 1;
	b->sum[arm] += reward;
	b->wins[arm] += win;
	if (b->kind == SG_SW_UCB && b->par.window > 0) {
		if (b->wlen == (size_t)b->par.window) {
			memmove(b->warm, b->warm + 1,
				(b->wlen - 1) * sizeof *b->warm);
			memmove(b->wrew, b->wrew + 1,
				(b->wlen - 1) * sizeof *b->wrew);
			b->wlen--;
		}
		b->warm[b->wlen] = arm;
		b->wrew[b->wlen++] = reward;
	}
	if (d) {
		/* A += x x^T, b += r x, and A^-1 by Sherman-Morrison */
		double *A = b->A + arm * dd, *Ai = b->Ainv + arm * dd;
		double *u = b->tmp, den;

		for (size_t i = 0; i < d; i++) {
			b->b[arm * d + i] += reward * x[i];
			for (size_t j = 0; j < d; j++)
				A[i * d + j] += x[i] * x[j];
		}
		matvec(Ai, x, u, d);
		den = 1 + dot(x, u, d);
		for (size_t i = 0; i < d; i++)
			for (size_t j = 0; j < d; j++)
				Ai[i * d + j] -= u[i] * u[j] / den;
	}
}
