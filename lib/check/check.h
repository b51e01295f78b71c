/*
 * check.h - the checks of sg-validate: a recipe's checks read once and run
 * on each sample, the checks by a language model and embeddings, and the
 * files of the keys and vectors a run has kept.
 */
#ifndef SG_CHECK_H
#define SG_CHECK_H

#include "base/base.h"
#include "recipe/recipe.h"

/* seen.c: the keys deduplication has taken, and the file that keeps them */
struct sg_seen;
struct sg_seen *sg_seen_new(void);
void sg_seen_free(struct sg_seen *s);
/* The id of the sample that took key; "" for a key from the file; NULL
 * when the key is free (or its sample's record cannot be read: see
 * sg_seen_failed).  The id lasts until the next call on s. */
const char *sg_seen_find(struct sg_seen *s, uint64_t key);
/* -1 and e when the records of the samples s took (in a temporary file
 * of $TMPDIR) could not be written or read back: answers since are not
 * to be trusted; else 0. */
int sg_seen_failed(const struct sg_seen *s, struct sg_error *e);
/* The number of keys taken: while it stays, so does every answer. */
size_t sg_seen_count(const struct sg_seen *s);
/* Loads the keys of path (a missing file has none): 0, or the exit status
 * (SG_EXIT_IO, SG_EXIT_CONFIG for a bad line) and e. */
int sg_seen_load(struct sg_seen *s, const char *path, struct sg_error *e);
/* Locks path and takes into s, and into fresh, the keys other processes
 * appended since s last read or wrote it: the lock, or -1 and e. */
int sg_seen_lock(struct sg_seen *s, const char *path, struct sg_seen *fresh,
	struct sg_error *e);
/* Appends keys to path, syncs them to disk and releases lock: 0, or -1
 * and e (released too). */
int sg_seen_unlock(struct sg_seen *s, const char *path, int lock,
	const uint64_t *keys, size_t n, struct sg_error *e);

/* vectors.c: the embeddings of the samples kept, for the similarity check,
 * and their file beside the --seen file (see the top of vectors.c) */
struct sg_vecs;
struct sg_vecs *sg_vecs_new(void);
void sg_vecs_free(struct sg_vecs *s);
/* Keeps v, of the dimensions fitted, under id; its index. */
size_t sg_vecs_add(struct sg_vecs *s, const double *v, const char *id);
/* The index of the vector of s closest by cosine to the i-th vector of
 * of, of the same dimensions, and that cosine; -1 when s has none. */
long sg_vecs_nearest_of(const struct sg_vecs *s, const struct sg_vecs *of,
	size_t i, double *cosine);
const char *sg_vecs_id(const struct sg_vecs *s, size_t i);
/* Whether the embeddings of model were found unable to tell texts apart,
 * by this process or, through the file, by an earlier one. */
int sg_vecs_blind(const struct sg_vecs *s, const char *model);
/* Says so of model, whose vectors have dim numbers, for the next append
 * to write: 0, or -1 and e when s holds another model's. */
int sg_vecs_set_blind(
	struct sg_vecs *s, const char *model, size_t dim, struct sg_error *e);
/* The vectors of path past what s read or wrote of it into s, and into
 * fresh when not NULL; the caller holds the lock.  0, or the exit status
 * and e (SG_EXIT_CONFIG for a file of another model or dimension). */
int sg_vecs_read(struct sg_vecs *s, const char *path, struct sg_vecs *fresh,
	struct sg_error *e);
/* Appends the vectors of s at the n indices which to path, and the word
 * that they are blind when it is new, flushed to disk; the caller holds
 * the lock and has read the file.  0, or -1 and e. */
int sg_vecs_append(struct sg_vecs *s, const char *path, const size_t *which,
	size_t n, struct sg_error *e);

/* config.c, validate.c: sg-validate's checks, read from a recipe once and
 * run on each sample */
struct sg_validator; /* what the checks of every recipe in a run share */
struct sg_checks;    /* the checks of one recipe */
/* seen (borrowed) holds the dedup keys taken; lexicon is the toxicity
 * lexicon when neither the recipe nor SG_LEXICON names one; warn (may be
 * NULL) gets each problem with a recipe and each custom check that fails
 * to run. */
struct sg_validator *sg_validator_new(
	struct sg_seen *seen, const char *lexicon, sg_warn_fn warn, void *ctx);
void sg_validator_free(struct sg_validator *v);
/* The checks of recipe.  Each problem goes to warn as lead, the field and
 * why, as in "<stdin>:3: job \"recipe." "constraints.pattern\" is not a
 * string"; *bad counts them.  A spoiled check fails every sample.  The
 * files it names are relative to recipe_path's directory (see
 * sg_recipe_relative). */
struct sg_checks *sg_checks_new(struct sg_validator *v, json_t *recipe,
	const char *recipe_path, const char *lead, int *bad);
void sg_checks_free(struct sg_checks *c);
/* The most dedup keys a sample gets: the size of sg_checks_run's keys. */
size_t sg_checks_nkeys(const struct sg_checks *c);
/* 1 when a check reads all of a sample (a custom check is given it), 0
 * when they read only its "data", "error", "logprobs" and the sources
 * sg_grounding looks for. */
int sg_checks_whole(const struct sg_checks *c);
/* The "checks" object of the sample rec (only "generate" when c is NULL);
 * a pii check in redact mode redacts rec's data.  The dedup keys of the
 * value compared go to keys, *nkeys of them, not yet taken in seen. */
json_t *sg_checks_run(
	struct sg_checks *c, json_t *rec, uint64_t *keys, size_t *nkeys);
/* validate.c's, for the model checks too: the source passages of a
 * grounded sample (its provenance's, its own, or its data's "sources" or
 * "passages") in *src and its output without them in *out, both malloc'd;
 * 0 when it has none. */
int sg_grounding(const json_t *rec, char **src, char **out);
/* The shingles of the sample sg_checks_run checked last (as sg_shingles
 * makes them), now the caller's to free; NULL without near_dedup. */
uint32_t *sg_checks_set(struct sg_checks *c, size_t *n);
/* dedup and near_dedup of a sample whose verdict waited: keys that
 * samples before it took since sg_checks_run fail them now. */
void sg_checks_retake(const struct sg_checks *c, json_t *checks,
	const uint64_t *keys, size_t nkeys, const uint32_t *set, size_t nset);
/* Takes a valid sample's keys, as sg_seen_add, and keeps a copy of its
 * shingle set (from sg_checks_set) to verify later near-duplicates against
 * it. */
void sg_checks_take(struct sg_checks *c, const uint64_t *keys, size_t n,
	const char *id, const uint32_t *set, size_t nset);
/* -1 and e when the keys dedup compares with could not be kept or read
 * (sg_seen_failed); else 0. */
int sg_checks_failed(const struct sg_checks *c, struct sg_error *e);

/* modelcheck.c: sg-validate's checks by a language model and embeddings,
 * in the tool layer beside record/filter.c (see the top of modelcheck.c) */
struct sg_mcheck_opts {
	const char *model, *embedding_model, *cache_dir; /* flags, or NULL */
	int jobs, no_cache;
	double timeout;
	struct sg_vecs *vectors; /* what similarity compares with */
	int no_llm; /* --no-llm: the caller said why there is none */
};
extern struct sg_mcheck_opts sg_mcheck_opts;
struct sg_mcheck;
/* The model checks the recipe's validators enable; NULL when none, with
 * --no-llm, or when no LLM is configured (said once on standard error).
 * The recipe's knowledge_base is found beside recipe_path (may be
 * NULL). */
struct sg_mcheck *sg_mcheck_new(const json_t *recipe, const char *recipe_path);
void sg_mcheck_free(struct sg_mcheck *m);
/* vec: the sample's embedding when it passed the similarity check, for
 * the caller to keep with sg_vecs_add if it keeps the sample; else NULL. */
typedef void (*sg_release_fn)(json_t *rec, const double *vec, void *arg);
/* Hands rec to release once the answers of the checks of m (NULL: none)
 * are in its "checks", and every record held before it is released.
 * sources and output: a grounded sample's sources and its text without
 * them (NULL: not grounded); where names it in messages; group is its
 * batch, whose embedding dispersion is gathered. */
void sg_mcheck_hold(struct sg_mcheck *m, json_t *rec, const char *sources,
	const char *output, const char *where, void *group,
	sg_release_fn release, void *arg);
/* Asks everything held and releases it. */
void sg_mcheck_flush(void);
/* Whether records are held: a record handed in now may outlive its line. */
int sg_mcheck_holding(void);
/* The threshold of m's similarity check; NAN when m has none. */
double sg_mcheck_similar_max(const struct sg_mcheck *m);
/* "embedding_dispersion" and "embedded" into the batch record rec of
 * group, when two samples or more were embedded; the group is forgotten. */
void sg_mcheck_batch(void *group, json_t *rec);
/* Flush, then free the client. */
void sg_mcheck_end(void);

#endif
