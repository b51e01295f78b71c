/*
 * check-internal.h - what the files of check/ share, not exported: each
 * check family's measures, the state a run's checks keep, and the keys
 * and vectors as the checks take and compare them.
 */
#ifndef SG_CHECK_INTERNAL_H
#define SG_CHECK_INTERNAL_H

#include "base/base.h"
#include "recipe/recipe.h"
#include "check/check.h"

/* config.c, validate.c: the checks of a run and of a recipe */
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
	json_t *refs;	 /* a reference file and dedup settings -> its keys */
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
	const char *field;   /* a dotted path in data, or NULL for all of it */
	struct sg_seen *ref; /* the keys of the reference file, or NULL */
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

/* validate.c's: the value dedup compares in data, or NULL when it has
 * none; its key into keys[0], and for near_dedup its bands' keys after
 * it and its shingle set into c->set (data's words read anew when
 * changed, else those of c->tokens). */
const json_t *sg_dedup_keys(
	const json_t *data, struct sg_checks *c, int changed, uint64_t *keys);
/* The message to the validator's warn function, formatted. */
void sg_validator_warn(const struct sg_validator *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* seen.c: the keys as the checks take and compare them */
/* Starts loading where the keys would be: a million samples' keys are far
 * outside the caches, and a sample's probes can then miss all at once. */
void sg_seen_prefetch(const struct sg_seen *s, const uint64_t *keys, size_t n);
/* Takes the keys for the sample id (NULL: as keys of the file) and keeps
 * its shingle set (as sg_shingles makes them; NULL: none) to verify
 * matches with; no key is 0. */
void sg_seen_add(struct sg_seen *s, const uint64_t *keys, size_t n,
	const char *id, const uint32_t *set, size_t nset);
/* The id of a sample holding one of keys whose kept shingles are at
 * Jaccard threshold or more to set (shingles as sg_shingles makes them,
 * made sets to compare), or whose shingles are unknown ("" for a key from
 * the file); NULL when there is none.  The id lasts until the next call
 * on s. */
const char *sg_seen_near(struct sg_seen *s, const uint64_t *keys, size_t n,
	const uint32_t *set, size_t nset, double threshold);

/* vectors.c: fitting and comparing */
/* Whether vectors of model, of dim numbers (0: not known yet), can join
 * those of s; the first to ask sets them.  0, or -1 and e. */
int sg_vecs_fit(
	struct sg_vecs *s, const char *model, size_t dim, struct sg_error *e);
/* The index of the vector of s closest to v by cosine, and that cosine;
 * -1 when s has none. */
long sg_vecs_nearest(const struct sg_vecs *s, const double *v, double *cosine);

/* pii.c: personal data in text, found by shape, checksum and context */
struct sg_pii_span {
	size_t start, end; /* bytes */
	int type;
	double score; /* 0 to 1, context words included */
};

/* The spans of the types in the bit set types scoring at least threshold,
 * sorted, none overlapping; *out is malloc'd. */
size_t sg_pii_find(const char *text, size_t len, unsigned types,
	double threshold, struct sg_pii_span **out);
/* The spans of every string of data as a JSON array of {type, start, end,
 * score}, offsets in code points of sg_sample_text(data); among them, in
 * the order met, those of object keys, with "key": true, offsets in code
 * points of the keys joined the same way, depth first.  With redact, *redact is
 * a new value for data when data itself is a string or an object whose keys
 * changed, else NULL, and what is inside data is redacted in place: each span
 * becomes "[TYPE]", as in "[EMAIL]"; a redacted key that meets one
 * before it in its object is given " (2)", " (3)", ... */
json_t *sg_pii_data(
	json_t *data, unsigned types, double threshold, json_t **redact);
/* Checksums and numbering rules, on digits (upper-case letters and digits
 * for an IBAN) */
int sg_luhn_valid(const char *d, size_t n);
int sg_card_issuer(const char *d, size_t n);
int sg_iban_valid(const char *s, size_t n);
int sg_ssn_valid(const char *d);
int sg_aba_valid(const char *d);

/* minhash.c: near-duplicates by MinHash over word n-grams, LSH banding */
/* The bands and rows (bands x rows <= num_perm) that find pairs at the
 * Jaccard threshold at least 98 times in 100 with the fewest below it;
 * -1 when no split of num_perm can. */
int sg_minhash_params(double threshold, int num_perm, int *bands, int *rows);
struct sg_minhash;
struct sg_minhash *sg_minhash_new(int ngram, int bands, int rows);
void sg_minhash_free(struct sg_minhash *m);
/* The bucket key of each band of text's signature into keys[bands]; never
 * 0, and the same for the same parameters in every process. */
void sg_minhash_keys(struct sg_minhash *m, const char *text, uint64_t *keys);
/* sg_minhash_keys and sg_shingles (of m's n-grams) from one reading of a
 * text's words: the keys into keys[bands], the shingles into *out; their
 * number. */
size_t sg_minhash_set(struct sg_minhash *m, const struct sg_words *ws,
	uint64_t *keys, uint32_t **out);
/* The hashes of text's word n-grams, folded to the 32 bits the signature
 * reads, in no order, a repeated n-gram as often as it comes; *out
 * malloc'd.  Sorted and each once (sg_set_sort), they are its set: a
 * sample's set is sorted only to be compared, which few are. */
size_t sg_shingles(const char *text, int ngram, uint32_t **out);
/* Sorts v[n] and drops repeats; how many are left. */
size_t sg_set_sort(uint32_t *v, size_t n);
/* Of two sets as sg_set_sort leaves them. */
double sg_jaccard_sets(
	const uint32_t *a, size_t na, const uint32_t *b, size_t nb);
/* The exact Jaccard similarity of the word n-gram sets of x and y. */
double sg_jaccard(const char *x, const char *y, int ngram);
/* Sorts v[n] in place, ascending. */
void sg_sort_u64(uint64_t *v, size_t n);

/* toxicity.c: offensive words from a graded lexicon, whole words only */
struct sg_lexicon;
/* Lines "term<TAB>severity", severity an integer >= 0; "#" comments. */
struct sg_lexicon *sg_lexicon_load(const char *path, struct sg_error *e);
void sg_lexicon_free(struct sg_lexicon *lx);
/* The terms of at least severity in text, read through case, leetspeak and
 * stretched letters: an array of {start, end, severity}, in code points. */
json_t *sg_toxic_find(
	const struct sg_lexicon *lx, const char *text, long severity);

/* faithfulness.c: grounding and relevance, offline */
/* {"missing": [numbers and names of out not in src], "coverage": share of
 * out's content words found in src}. */
json_t *sg_faithfulness(const char *out, const char *src);
struct sg_tfidf;
struct sg_tfidf *sg_tfidf_new(void);
void sg_tfidf_free(struct sg_tfidf *t);
/* The TF-IDF cosine of a text's words and query; the text joins the
 * corpus first. */
double sg_tfidf_cosine(
	struct sg_tfidf *t, const struct sg_words *text, const char *query);

/* perplexity.c: a word bigram model with absolute discounting, for perplexity
 */
struct sg_lm;
/* Trained on text, each line a sentence. */
struct sg_lm *sg_lm_train(const char *text);
void sg_lm_free(struct sg_lm *lm);
double sg_lm_perplexity(const struct sg_lm *lm, const struct sg_words *ws);
/* The perplexity of each half of text's lines under a model trained on
 * the other, averaged: what unseen text of the same kind scores. */
double sg_lm_heldout(const char *text);

/* custom.c: a user's check, a command answering a line for each sample */
struct sg_coproc;
/* Starts cmd (an argv as a JSON array, or a string split on blanks). */
struct sg_coproc *sg_coproc_start(const json_t *cmd, struct sg_error *e);
/* rec to the command, its answer back: an object with a boolean "pass",
 * or NULL and e. */
json_t *sg_coproc_ask(
	struct sg_coproc *cp, const json_t *rec, struct sg_error *e);
/* Closes its input and waits: its exit status, as sg_wait. */
int sg_coproc_end(struct sg_coproc *cp, struct sg_error *e);

/* judge.c: what a language model is asked about a sample, how its answer
 * is read, and measures over embedding vectors */
/* The scales answers are asked on: the rubric judge's quality levels
 * (as the Python system's) and the 0 to 10 of the others; a score is
 * the number given over the top of its scale. */
#define SG_JUDGE_LOW 1
#define SG_JUDGE_HIGH 5
#define SG_RATE_HIGH 10
/* The prompts of the rubric judge (criteria: a string, a list of them or
 * a mapping of names to descriptions; NULL: a default), of entailment by
 * the sources and of toxicity; each asks for a JSON object {"score",
 * "reason"} when structured, else for a last line "Score: N/M";
 * malloc'd. */
char *sg_judge_prompt(const json_t *criteria, const char *task,
	const char *text, int structured);
char *sg_entail_prompt(const char *sources, const char *text, int structured);
char *sg_toxic_prompt(const char *text, int structured);
/* A /chat/completions body for prompt; with hi > 0 its response_format
 * json_schema "verdict" asks for {"score": an integer from lo to hi,
 * "reason": a string of at most 200 characters}. */
json_t *sg_judge_body(const char *model, const char *prompt, double temperature,
	long long max_tokens, int lo, int hi);
/* Whether an answer is what response_format asked for: a JSON object
 * with an integer "score", or the start of one cut short after it. */
int sg_judge_structured(const char *answer);
/* The score of a judge's answer in [0,1] (see judge.c for the shapes it
 * reads), scale the top of the scale asked for, and its "reason" into
 * *reason when it has one (malloc'd, else NULL): 0, or -1 and e when it
 * has no score or one out of range. */
int sg_judge_score(const char *answer, double scale, double *score,
	char **reason, struct sg_error *e);
double sg_cosine(const double *a, const double *b, size_t n);
/* An embedding as n numbers, malloc'd; NULL and e when it is not one. */
double *sg_embedding_vector(const json_t *v, size_t *n, struct sg_error *e);
/* The dispersion of a set of embeddings, 1 - their mean pairwise cosine,
 * kept as the sum of their unit vectors; start zeroed. */
struct sg_dispersion {
	double *sum;
	size_t dim, n;
};
void sg_dispersion_add(struct sg_dispersion *d, const double *v, size_t n);
double sg_dispersion_value(const struct sg_dispersion *d); /* NAN: n < 2 */
void sg_dispersion_clear(struct sg_dispersion *d);
/* Whether an embedding model tells texts apart at all, from the first
 * samples of a batch: three of clearly different words (the Jaccard
 * similarity of their word sets below SG_BLIND_JACCARD) whose embeddings
 * are all at cosine above SG_BLIND_COSINE say that it does not.  A real
 * model puts such texts far below that; a tiny one puts every text there.
 * Start zeroed. */
#define SG_BLIND_MAX 64
#define SG_BLIND_COSINE 0.95
#define SG_BLIND_JACCARD 0.5
struct sg_blind_one {
	double *v;
	uint32_t *set; /* the words, as sg_shingles of 1-grams, a set */
	size_t nset;
	size_t nth; /* its place in the batch's input */
	char *id;
};
struct sg_blind {
	struct sg_blind_one one[SG_BLIND_MAX];
	size_t n, dim;
	const char *three[3]; /* the ids of the three in input order, once
				 found */
};
/* Adds the embedding v of n numbers of the nth sample of a batch, its
 * text and id: 1 when it and two before it are three such, named in
 * three; after SG_BLIND_MAX samples, or one of another size, 0. */
int sg_blind_add(struct sg_blind *b, const double *v, size_t n,
	const char *text, size_t nth, const char *id);
void sg_blind_clear(struct sg_blind *b);

/* modelcheck.c, embedding.c: the model checks of a recipe, and a record
 * waiting for their answers */
/* The checks, in the order they go into a record, then the embeddings
 * every sample is compared with: the task's and the original input's. */
enum {
	SG_K_JUDGE,
	SG_K_ENTAIL,
	SG_K_TOXIC,
	SG_K_EMBED, /* semantic, and the sample's embedding */
	SG_K_SIMILAR,
	SG_K_DIVERSE,
	SG_K_DESC,
	SG_K_ORIG
};
/* An embedding every sample is compared with. */
struct sg_mref {
	char *text; /* NULL: none */
	double *v;  /* once in */
	size_t n;
	char *error;
	int asked;
};
struct sg_mcheck {
	int judge, entail, toxic, semantic, diversity, similar;
	int near; /* similarity to earlier samples, not to the original */
	double judge_min, entail_min, toxic_max, sem_min, sim_t, div_min;
	double temperature; /* the judge's */
	long long max_tokens;
	const json_t *criteria;
	const char *task;
	char *model[SG_K_EMBED + 1]; /* by kind */
	struct sg_mref ref[2];	     /* by kind - SG_K_DESC */
	json_t *recipe;
	char *kb_path;	 /* the knowledge base, or NULL */
	json_t *kb_text; /* its passage and sentence ids -> their text */
};
struct sg_held {
	json_t *rec;
	char *where;
	struct sg_mcheck *m;
	void *group;
	sg_release_fn release;
	void *arg;
	size_t nth;  /* its place among its batch's embedded samples */
	double *vec; /* the sample's embedding */
	size_t nvec;
	char *vec_error;
	int kept;    /* whether vec passed similarity, to be kept */
	int waiting; /* answers not yet in */
	json_t *check[SG_K_DIVERSE + 1]; /* by kind, set in this order */
	struct sg_held *next;
};
/* modelcheck.c: a call that failed after its retries fails the check. */
void sg_mcheck_failed(struct sg_held *h, int kind, const char *error);
/* embedding.c: the checks by embeddings */
/* validators.similarity into m: against what, its threshold, the
 * original input's text. */
void sg_embedding_config(struct sg_mcheck *m, const json_t *sim);
/* A sample's embedding asked for, and in (v NULL: it failed). */
void sg_embedding_asked(struct sg_held *h);
void sg_embedding_in(struct sg_held *h, const double *v, size_t n);
/* Whether h's verdicts on its embedding wait for more of its batch. */
int sg_embedding_waits(const struct sg_held *h);
/* The checks on h's embedding into h->check, its answers all in. */
void sg_embedding_checks(struct sg_held *h);
/* Whether m's embeddings were found unable to tell texts apart. */
int sg_embedding_blind(const struct sg_mcheck *m);
/* Forget every batch. */
void sg_embedding_end(void);

#endif
