/*
 * validate.h - what valconf.c (a recipe's checks) and validate.c (running
 * them on a sample) share inside libsg, not exported.
 */
#ifndef SG_VALIDATE_H
#define SG_VALIDATE_H

#include "sg.h"

/* What the checks of every recipe in a run share. */
struct sg_validator {
	struct sg_seen *seen; /* the keys taken, by this run or earlier */
	const char *lexicon;  /* the default toxicity lexicon */
	sg_warn_fn warn;
	void *ctx;
	json_t *lexicons;	/* path -> struct sg_lexicon *, loaded once */
	struct sg_tfidf *tfidf; /* the outputs so far, for relevance */
	json_t *models;		/* reference text hash -> [sg_lm *, ppl] */
	json_t *kbtexts; /* knowledge base path -> its passages, read once */
};

/* Why a check cannot run, by index into sg_checks.unusable. */
enum { SG_U_FORMAT, SG_U_SCHEMA, SG_U_TOXIC, SG_U_PPL, SG_U_CUSTOM };

/* The checks a recipe asks for; a bound that is NAN is not set. */
struct sg_checks {
	struct sg_validator *v;
	json_t *recipe;
	char *recipe_path; /* the paths it names are relative to, or NULL */
	int length, words;
	double len[2], nwords[2];
	json_t *format; /* {"pattern": P}, checked by sg_schema_validate */
	const char *pattern;
	json_t *schema;
	char *unusable[5]; /* why a check cannot run, by SG_U_ */
	int dedup;
	const char *field; /* a dotted path in data, or NULL for all of it */
	struct sg_minhash *near; /* near-duplicates, or NULL */
	int bands;
	double threshold; /* of Jaccard similarity, for near-duplicates */
	uint32_t *set;	  /* the last sample's shingles, till it is taken */
	size_t nset;
	int faith;
	double min_coverage;
	const char *description; /* relevance to it, or NULL */
	double min_similarity;
	json_t *custom;		 /* the command of the custom check */
	const char *custom_name; /* its name in "checks" */
	struct sg_coproc *cp;	 /* running, from the first sample on */
	struct sg_lm *lm;	 /* perplexity, or NULL; in models */
	double max_ppl;
	struct sg_lexicon *lexicon; /* toxicity, or NULL; in lexicons */
	long severity;
	unsigned pii; /* the entity types looked for, a bit set */
	double pii_threshold;
	enum { SG_PII_FLAG, SG_PII_REDACT, SG_PII_REJECT } pii_mode;
	struct sg_words
		tokens; /* the sample's words, read once for the checks */
};

/* The message to the validator's warn function, formatted. */
void sg_validator_warn(const struct sg_validator *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
