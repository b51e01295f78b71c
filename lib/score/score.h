/*
 * score.h - what a batch's reward is made of in sg-score(1).
 */
#ifndef SG_SCORE_H
#define SG_SCORE_H

#include "base/base.h"
#include "record/record.h"

/* diversity.c: how much a batch's texts differ (sg-score(1)) */
/* A batch's texts in one buffer, each followed by a newline; text i ends
 * at buf.p + end[i], where its newline is. */
struct sg_texts {
	struct sg_buf buf;
	size_t *end;
	size_t n, cap;
};
void sg_texts_add(struct sg_texts *t, const char *s, size_t len);
void sg_texts_free(struct sg_texts *t);
/* The measures, and the tables behind them, kept from batch to batch. */
struct sg_diversity {
	double distinct_1, distinct_2, repetition_rate, compression_ratio;
	uint64_t *keys, *pairs, *set;
	size_t keyscap, pairscap, setcap;
	struct libdeflate_compressor *z;
	unsigned char *zout; /* its output, zcap bytes */
	size_t zcap;
};
void sg_diversity_measure(struct sg_diversity *d, const struct sg_texts *t);
void sg_diversity_free(struct sg_diversity *d);

/* profile.c: what the samples a run has accepted hold: their word
 * n-grams, their labels, and per arm a naive Bayes model of label given
 * words, for the parts of a reward that weigh a batch against them */
/* A text's features: the hashes of its words, folded as sg_word_hash
 * folds them, and of its pairs of adjacent words; each once. */
struct sg_feats {
	uint64_t *v;
	size_t n, cap;
};
void sg_feats_read(struct sg_feats *f, const char *text);
void sg_feats_free(struct sg_feats *f);
struct sg_profile;
struct sg_profile *sg_profile_new(void);
void sg_profile_free(struct sg_profile *p);
/* A sample of arm (NULL: none named) with label (NULL: unlabelled),
 * added with w 1, taken back with w -1. */
void sg_profile_add(struct sg_profile *p, const char *arm, const char *label,
	const struct sg_feats *f, double w);
/* The profile as bytes appended to b, the last of them its counts' table
 * (sg_map_dump); the bytes before the table's cells.  And back: a profile
 * whose counts are the table at s, used in place (s, 8-byte aligned, must
 * stay valid and writable as long as the profile), *head set to the bytes
 * before the cells; NULL when the len bytes at s are not what
 * sg_profile_dump wrote. */
size_t sg_profile_dump(const struct sg_profile *p, struct sg_buf *b);
struct sg_profile *sg_profile_view(char *s, size_t len, size_t *head);
/* How many of f's features no sample of p has. */
size_t sg_profile_unseen(const struct sg_profile *p, const struct sg_feats *f);
/* The samples with label, or all labelled ones when label is NULL. */
double sg_profile_count(const struct sg_profile *p, const char *label);
/* P(label | f) by naive Bayes over the samples of every arm of p but
 * skip (NULL: all of them), and those of ref (NULL: none), with add-one
 * smoothing; -1 when p and ref together have fewer than two labels, do
 * not know label, or a label has fewer than min samples there. */
double sg_profile_prob(const struct sg_profile *p, const char *skip,
	const struct sg_profile *ref, const char *label,
	const struct sg_feats *f, double min);

/* reward.c: a batch's reward from its parts, as sg-score(1) tells */
enum sg_part {
	SG_PART_PASS_RATE,
	SG_PART_QUALITY,
	SG_PART_DIVERSITY,
	SG_PART_NOVELTY,
	SG_PART_FIDELITY,
	SG_PART_LABELS,
	SG_PART_DEV,
	SG_NPARTS
};
extern const char *const sg_part_names[SG_NPARTS];
extern const double sg_part_defaults[SG_NPARTS];
/* The weighted mean of the parts measured (the others are NAN): each part
 * and the result in [0, 1]. */
double sg_reward_value(const double w[SG_NPARTS], const double part[SG_NPARTS]);
/* The dev part of a batch that moved the mean probability a model of the
 * accepted samples gives the dev set's true labels by gain, per sample of
 * the batch relative to the samples the model had: 1/2 for none,
 * towards 1 (0) as it helps (hurts). */
double sg_reward_dev(double gain);
/* Whether a gain says the samples are better left out of the dataset: a
 * loss of at least a scale's worth, a reward of 1/(1+e), 0.27, or less. */
int sg_gain_harmful(double gain);

/* marginal.c: what a batch adds to the dataset being built */
/* What a recipe says about its samples' labels. */
struct sg_marginal_conf {
	int labelled;			      /* the recipe names labels */
	const char *label_field, *text_field; /* of a sample's data */
	const json_t *labels, *dist; /* task_input.labels, label_distribution */
};
struct sg_dev_example {
	char *label;
	struct sg_feats f;
};
struct sg_marginal {
	struct sg_profile *accepted; /* the run's, then what passed since */
	void *image;		     /* the snapshot its counts lie in */
	size_t image_len;
	struct sg_profile *devp; /* the dev set and examples, or NULL */
	struct sg_dev_example *dev;
	size_t ndev;
	struct sg_feats f; /* reused for each sample */
	int keep;	   /* batches keep their samples, to take back */
};
/* A sample a batch added to the accepted ones, kept to take it back. */
struct sg_taken {
	char *arm, *label;
	struct sg_feats f;
};
/* A batch's sums, from its first passing sample on. */
struct sg_batch_parts {
	double novelty, fidelity, mix, dev_before, had;
	size_t added, nfidelity, nmix;
	struct sg_taken *taken; /* when the marginal keeps them */
	size_t ntaken;
};
void sg_batch_parts_free(struct sg_batch_parts *b);
/* What recipe (NULL: none) says; the fields point into it. */
void sg_marginal_conf_read(struct sg_marginal_conf *c, const json_t *recipe);
void sg_marginal_init(struct sg_marginal *m);
void sg_marginal_free(struct sg_marginal *m);
/* The samples a run accepted: the sample records in the first bytes of
 * the output the state file at path names, read on from a snapshot of
 * them (STATE.profile-HASH) that it brings up to date; nothing when the
 * state does not exist yet. */
int sg_marginal_load_state(struct sg_marginal *m,
	const struct sg_marginal_conf *c, const char *path, struct sg_error *e);
/* The dev set, a labelled file as sg_labelled_load reads it. */
int sg_marginal_dev(struct sg_marginal *m, const struct sg_marginal_conf *c,
	const char *path, struct sg_error *e);
/* The recipe's labelled task_input.examples, beside the dev set in the
 * model that measures fidelity. */
void sg_marginal_examples(struct sg_marginal *m,
	const struct sg_marginal_conf *c, const json_t *recipe);
/* A sample accepted without being measured. */
void sg_marginal_accept(struct sg_marginal *m, const struct sg_marginal_conf *c,
	const char *arm, const json_t *data);
/* A passing sample of batch b: measured, then accepted unless the model
 * of the other arms' samples gives its label a probability below min;
 * whether it was.  *fidelity is that probability, or -1 when there is no
 * such model yet or the sample has no label. */
int sg_marginal_sample(struct sg_marginal *m, const struct sg_marginal_conf *c,
	struct sg_batch_parts *b, const char *arm, const json_t *data,
	double min, double *fidelity);
/* Batch b's samples taken back out of the accepted ones (m->keep set
 * before b's first sample). */
void sg_marginal_undo(struct sg_marginal *m, struct sg_batch_parts *b);
/* b's novelty, fidelity, labels and dev parts, NAN where unmeasured. */
void sg_marginal_parts(const struct sg_marginal *m,
	const struct sg_batch_parts *b, double part[SG_NPARTS]);

#endif
