/*
 * reward.c - a batch's reward from its parts: each a number in [0, 1] that
 * says one thing a user values in a batch (that it passed, its quality,
 * how much it adds that the accepted samples lack, whether its labels are
 * the ones its texts call for, whether it fills the label mix, and what it
 * does for a model tested on real data), weighted as the recipe says.  A
 * part that could not be measured for a batch is left out and the others
 * keep their weights among themselves.
 */
#include <math.h>

#include "base/base.h"
#include "score/score.h"

const char *const sg_part_names[SG_NPARTS] = {
	[SG_PART_PASS_RATE] = "pass_rate",
	[SG_PART_QUALITY] = "quality",
	[SG_PART_DIVERSITY] = "diversity",
	[SG_PART_NOVELTY] = "novelty",
	[SG_PART_FIDELITY] = "fidelity",
	[SG_PART_LABELS] = "labels",
	[SG_PART_DEV] = "dev",
};

/* Measured on bench/adaptive (bench/RESULTS.md): the parts that weigh a
 * batch against the accepted samples decide; pass rate and quality, which
 * any arm that writes valid samples maxes out, only break ties; the dev
 * set, when there is one, is real data and outweighs the guesses: at 4,
 * more than they weigh together, since real text is always novel and an
 * arm of real text with wrong labels otherwise wins on novelty. */
const double sg_part_defaults[SG_NPARTS] = {
	[SG_PART_PASS_RATE] = 0.2,
	[SG_PART_QUALITY] = 0.1,
	[SG_PART_DIVERSITY] = 0,
	[SG_PART_NOVELTY] = 0.3,
	[SG_PART_FIDELITY] = 0.4,
	[SG_PART_LABELS] = 0.2,
	[SG_PART_DEV] = 4,
};

double
sg_reward_value(const double w[SG_NPARTS], const double part[SG_NPARTS])
{
	double sum = 0, wsum = 0;

	for (int i = 0; i < SG_NPARTS; i++) {
		if (isnan(part[i]) || w[i] <= 0)
			continue;
		sum += w[i] * part[i];
		wsum += w[i];
	}
	return wsum > 0 ? sum / wsum : 0;
}

/* The scale a gain is read on: a batch that raises the dev set's mean
 * probability of its true labels by a quarter of what an average sample
 * of the accepted ones brought scores 0.73. */
#define DEV_SCALE 0.25

double
sg_reward_dev(double gain)
{
	return 1 / (1 + exp(-gain / DEV_SCALE));
}

/* A loss of a whole scale: in bench/adaptive, labels from another domain
 * passed -0.4 within 20 iterations, while an arm that helps the test set
 * crossed it only now and then, with a few dozen samples at most, which
 * the other arms then make again (bench/RESULTS.md). */
int
sg_gain_harmful(double gain)
{
	return gain <= -DEV_SCALE;
}
