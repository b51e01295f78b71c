/*
 * route-internal.h - what the files of route/ share, not exported: the
 * state file's JSON helpers (state.c), the arms and the router's
 * configuration (bandit.c), the epsilon decay (route.c) and the policies
 * (policy.c), which the benchmark simulator also runs.
 */
#ifndef SG_ROUTE_INTERNAL_H
#define SG_ROUTE_INTERNAL_H

#include "base/base.h"
#include "route/route.h"

/* state.c: the state file's format, its generator, its usage figures */
#define SG_STATE_FORMAT "sg-state"
#define SG_STATE_VERSION 1

int sg_state_rng(const json_t *root, struct sg_rng *r);
void sg_state_set_rng(json_t *root, const struct sg_rng *r);
/* The usage figures a batch record may carry, NULL-terminated. */
extern const char *const sg_usage_keys[];

/* state.c: the object under key, made when missing or not an object. */
json_t *sg_child(json_t *parent, const char *key);
/* A number for the state file: an integer while it is whole. */
json_t *sg_jnum(double v);
/* route.c: epsilon after the state's epsilon_rewards rewards. */
void sg_epsilon_update(json_t *state);

/* bandit.c: the arms and the router's configuration */
/* The recipe's router_config with every default filled in. */
json_t *sg_router_config(const json_t *recipe, struct sg_error *e);
/* Why an arm cannot run in a context, or NULL when it can. */
const char *sg_arm_unavailable(const json_t *arm, const json_t *context);
/* merge.c */
/* Whether state has decided and learnt nothing yet. */
int sg_state_is_empty(const json_t *state);

/* policy.c: the bandit policies over plain arrays, shared by sg-route
 * (through bandit.c and the state file) and the benchmark simulator */
enum sg_policy {
	SG_EPSILON_GREEDY,
	SG_UCB1,
	SG_THOMPSON,
	SG_GAUSSIAN_THOMPSON,
	SG_SOFTMAX,
	SG_LINUCB,
	SG_LINEAR_THOMPSON,
	SG_DISCOUNTED_THOMPSON,
	SG_SW_UCB,
	SG_DISCOUNTED_GAUSSIAN,
};

struct sg_policy_params {
	double epsilon; /* epsilon_greedy: the chance of exploring */
	double alpha;	/* UCB and LinUCB: the width of the bonus */
	double tau;	/* softmax: its temperature */
	double sigma;	/* Gaussian and linear Thompson: posterior scale */
	double gamma;	/* discounted Thompson: the discount per reward */
	long window;	/* sliding-window UCB: rewards remembered */
	long draws;	/* Thompson: Monte Carlo draws estimating p */
};

/* k arms; per arm n rewards (discounted for discounted_thompson), their
 * sum, wins (Bernoulli successes), pulls (decisions); the linear policies
 * keep per arm A (d x d, row-major), its inverse and b; sliding-window
 * UCB its window, oldest first.  Set the fields after sg_bandit_init,
 * then call sg_bandit_refresh when A was set from outside. */
struct sg_bandit {
	enum sg_policy kind;
	struct sg_policy_params par;
	size_t k, d;
	double *n, *sum, *wins, *pulls;
	double *A, *Ainv, *b;
	size_t *warm, wlen;
	double *wrew;
	double *score; /* the scores or draws of the last decision */
	double *alt, *tmp;
	size_t *idx;
};

struct sg_pick {
	size_t arm;
	double p;    /* its probability: exact, or estimated for Thompson */
	double draw; /* the uniform draw that decided, or -1 */
	const char *mode;
	char why[256];
};

const char *sg_policy_name(enum sg_policy kind);
int sg_policy_linear(enum sg_policy kind);
void sg_bandit_init(struct sg_bandit *b, enum sg_policy kind, size_t k,
	size_t d, const struct sg_policy_params *par);
void sg_bandit_free(struct sg_bandit *b);
/* Recompute A^-1 from A; -1 when an A is not positive definite. */
int sg_bandit_refresh(struct sg_bandit *b);
/* Choose an arm for features x (d values; NULL for the others). */
int sg_bandit_choose(struct sg_bandit *b, const double *x, struct sg_rng *rng,
	struct sg_pick *p);
/* Learn reward r in [0,1] of arm; coin in [0,1) makes it a Bernoulli
 * success when coin < r (the Beta posterior's trick). */
void sg_bandit_update(struct sg_bandit *b, size_t arm, const double *x,
	double r, double coin);

#endif
