/*
 * sg.h - the one public header of libsg, shared by every sg tool.
 *
 * Library functions report failure by returning NULL or -1 and filling a
 * struct sg_error; they never print and never exit.  Only the tool layer
 * (sg_die, sg_warn, sg_finish in lib/tool.c) talks to the user.
 */
#ifndef SG_H
#define SG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#define SG_VERSION "0.1.0"

/* The exit-code table of every tool, documented once in sg(7). */
enum sg_exit {
	SG_EXIT_OK = 0,
	SG_EXIT_DATA = 1,	/* bad records were reported and skipped */
	SG_EXIT_USAGE = 2,	/* bad command line */
	SG_EXIT_CONFIG = 3,	/* recipe or state file unusable */
	SG_EXIT_IO = 4,		/* a file could not be read or written */
	SG_EXIT_CHILD = 5,	/* a child command or pipeline stage failed */
	SG_EXIT_INCOMPLETE = 6, /* a budget ran out before the target */
	SG_EXIT_PIPE = 141,	/* stdout closed by the reader */
};

struct sg_error {
	char text[512];
};

void sg_seterr(struct sg_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* tool.c: the tool layer; these are the only functions that print or exit */
extern const char *sg_progname;
void sg_init(char *argv[]);
void sg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void sg_die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sg_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sg_finish(int status);
_Noreturn void sg_version(void);
void *sg_xmalloc(size_t n);
void *sg_xrealloc(void *p, size_t n);
void *sg_xcalloc(size_t n, size_t size); /* zeroed, as sg_xmalloc */
char *sg_xstrdup(const char *s);
int sg_isatty_stderr(void);
extern int sg_verbose;

/* filter.c: the tool layer of a record filter: its shared options, the
 * loop over its inputs, positions in its messages, its exit status */
enum { SG_OPT_STRICT = 0x100 }; /* the long-only --strict */

struct sg_filter {
	const char *usage; /* "usage: sg-x ...\n" */
	int strict, unbuffered;
	int status;	   /* the worst so far, as enum sg_exit */
	char where[4096];  /* "name:line" of the record in hand */
	const json_t *rec; /* the record in hand, */
	const char *text;  /* its bytes, and how many */
	size_t len;
	/* The paths a sample is read for (sg_lazy_load), "type" among them,
	 * or NULL for all of it; a tool may change them between records.
	 * Other records are read whole.  A sample read in part must go out
	 * spliced into its bytes (sg_filter_splice, sg_filter_keep). */
	const char *const *fields;
};

_Noreturn void sg_usage(const char *usage, int status);
/* -h, -u, -V, -v and --strict: 1 when c was one of them. */
int sg_filter_option(struct sg_filter *f, int c);
/* Calls fn on each record of the files in turn (standard input when there
 * are none; "-" names it too) and returns the exit status; fn borrows the
 * record.  Stops early under --strict once anything went wrong. */
int sg_filter_run(struct sg_filter *f, char *const files[], int nfiles,
	void (*fn)(struct sg_filter *f, json_t *rec));
/* "prog: name:line: why" for the record in hand; the status becomes 1. */
void sg_filter_bad(struct sg_filter *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sg_filter_fail(struct sg_filter *f, int status);
int sg_filter_stopped(const struct sg_filter *f);
/* Write a record to standard output; a failed write ends the program. */
void sg_filter_put(struct sg_filter *f, json_t *rec);
/* Write the record in hand as it was read, but for the fields named in
 * owned (NULL-terminated): each is rec's value, in its place or at the
 * end, or left out when rec has none.  Any other record (one held past its
 * line) is written whole, as sg_filter_put. */
void sg_filter_splice(
	struct sg_filter *f, json_t *rec, const char *const owned[]);
/* A copy of the bytes of the record in hand (len of them), for a record
 * held past its line; NULL when there are none. */
char *sg_filter_keep(const struct sg_filter *f, size_t *len);
/* sg_filter_splice into the bytes kept for rec; text NULL: as it. */
void sg_filter_splice_from(struct sg_filter *f, const char *text, size_t len,
	json_t *rec, const char *const owned[]);
/* sg_record_batch, reporting a record without its (run, batch) as
 * "prog: where: why". */
int sg_record_batch_at(const json_t *rec, const char *where, const char **run,
	long long *batch);
/* A filter's batches by (run, batch), the tool's own pointer for each, in
 * the order they came first; zeroed, it is empty. */
struct sg_batches {
	void **v;
	size_t n;
	json_t *index; /* "batch run" -> position in v */
	/* the one asked for last: a batch's records mostly come together */
	char *last_run;
	long long last_id;
	size_t last;
};
/* The pointer given for (run, id), or NULL when the batch is new. */
void *sg_batches_get(struct sg_batches *t, const char *run, long long id);
/* Gives b to a new batch (run, id), at v[n]. */
void sg_batches_add(
	struct sg_batches *t, const char *run, long long id, void *b);
/* Empties t; the pointers are the tool's to free first. */
void sg_batches_free(struct sg_batches *t);

/* jsonl.c: reading and writing records, one JSON object per line */
#define SG_MAX_RECORD (16u << 20)

struct sg_reader {
	FILE *fp;
	const char *name; /* "<stdin>" or the path, for messages */
	unsigned long line;
	char *buf;
	size_t cap;
	int owned;
	const char *text; /* the last record's bytes, in buf */
	size_t len;
	const char *const *fields; /* a sample is read for these, if set */
};

int sg_reader_open(struct sg_reader *r, const char *path, struct sg_error *e);
void sg_reader_close(struct sg_reader *r);
/* 1 and *out on a record, 0 at end, -1 on a bad line (e says why, r->line
 * says where); reading may go on after -1.  A sample is read for
 * r->fields only, when they are set and sg_lazy_load is sure of it. */
int sg_read_record(struct sg_reader *r, json_t **out, struct sg_error *e);
/* A tool's one way to read records: each bad line is reported as
 * "prog: name:line: why", counted, and skipped. */
json_t *sg_next_record(struct sg_reader *r, int *bad);
int sg_write_record(FILE *fp, json_t *rec, int unbuffered);
/* Ten significant digits keep 0.7 as 0.7 and are far finer than any score
 * needs; the output stays byte-identical from run to run. */
#define SG_REAL_PRECISION 10
#define SG_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(SG_REAL_PRECISION))
char *sg_dumps(const json_t *j);

const char *sg_rec_type(const json_t *rec);
const char *sg_get_str(const json_t *obj, const char *key);
double sg_get_num(const json_t *obj, const char *key, double dflt);
long long sg_get_int(const json_t *obj, const char *key, long long dflt);
int sg_get_bool(const json_t *obj, const char *key, int dflt);
json_t *sg_path(const json_t *obj, const char *dotted); /* null: NULL */
/* The (run, batch) a record belongs to, and for a sample its "id" too:
 * 0, or -1 and e saying what is missing or wrong. */
int sg_record_batch(const json_t *rec, const char **run, long long *batch,
	struct sg_error *e);

/* rng.c: xoshiro256**, small and serialisable into the state file */
struct sg_rng {
	uint64_t s[4];
};

void sg_rng_seed(struct sg_rng *r, uint64_t seed);
uint64_t sg_rng_next(struct sg_rng *r);
double sg_rng_uniform(struct sg_rng *r); /* [0,1) */
uint64_t sg_rng_below(struct sg_rng *r, uint64_t n);
uint64_t sg_rng_seed53(struct sg_rng *r); /* an exact JSON integer */
uint64_t sg_rng_fresh_seed(void);	  /* from the kernel, below 2^53 */
void sg_rng_format(const struct sg_rng *r, char out[65]);
int sg_rng_parse(struct sg_rng *r, const char *hex);
double sg_rng_normal(struct sg_rng *r);
double sg_rng_gamma(struct sg_rng *r, double shape);
double sg_rng_beta(struct sg_rng *r, double a, double b);
uint64_t sg_hash64(const void *p, size_t n);

/* file.c: atomic replacement and locking */
int sg_write_atomic(
	const char *path, const char *data, size_t len, struct sg_error *e);
int sg_lock(const char *path, struct sg_error *e); /* fd, or -1 */
void sg_unlock(int fd);
char *sg_slurp(const char *path, size_t *len, struct sg_error *e);
/* mkdir -p, mode 0700; path is changed and restored. */
int sg_mkdirs(char *path);
/* path with suffix appended, malloc'd: the files kept beside a state. */
char *sg_suffixed(const char *path, const char *suffix);
/* The files a lock guards and processes append to: path opened to read
 * from off; NULL with *status 0 when it does not exist, else with the exit
 * status and e. */
FILE *sg_open_from(
	const char *path, off_t off, int *status, struct sg_error *e);
/* Closes fp, opened to append to path, once what was written is on disk;
 * *size is then the file's.  0, or -1 and e. */
int sg_close_synced(
	FILE *fp, const char *path, off_t *size, struct sg_error *e);

/* state.c: the bandit state file, see sg-state(5) */
#define SG_STATE_FORMAT "sg-state"
#define SG_STATE_VERSION 1

struct sg_state {
	char *path;
	int lockfd;
	json_t *root;
};

/* Lock the state, then load it; a missing file gives root == NULL. */
int sg_state_begin(struct sg_state *st, const char *path, struct sg_error *e);
int sg_state_commit(struct sg_state *st, struct sg_error *e);
void sg_state_end(struct sg_state *st);
json_t *sg_state_new(const char *run, uint64_t seed, const json_t *router);
int sg_state_check(const json_t *root, struct sg_error *e);
int sg_state_rng(const json_t *root, struct sg_rng *r);
void sg_state_set_rng(json_t *root, const struct sg_rng *r);
/* The usage figures a batch record may carry, NULL-terminated. */
extern const char *const sg_usage_keys[];
/* Adds a batch record's usage figures to the state's "usage". */
void sg_state_add_usage(json_t *root, const json_t *batch);

/* proc.c: child processes, always from an argv, never through a shell */
/* Start argv[0] (searched in PATH) with the given descriptors as its stdin
 * and stdout (-1 keeps ours); the pid, or -1. */
pid_t sg_spawn(char *const argv[], int fdin, int fdout, struct sg_error *e);
/* The child's exit status, 128+N when killed by signal N, -1 on error. */
int sg_wait(pid_t pid, struct sg_error *e);
/* An argv from a JSON array of strings, or from a string split on blanks
 * (no quoting, no expansion); NULL-terminated, free with sg_argv_free. */
char **sg_argv_from_json(const json_t *cmd, struct sg_error *e);
void sg_argv_free(char **argv);

/* recipe.c: recipes in YAML or JSON, see sg-recipe(5) */
#define SG_MAX_RECIPE (8u << 20)
typedef void (*sg_warn_fn)(void *ctx, const char *msg);
/* The recipe as a JSON object; errors read "path:line:column: why".
 * Unknown fields go to warn (may be NULL) as "path:line:column: ...". */
json_t *sg_recipe_load(
	const char *path, sg_warn_fn warn, void *ctx, struct sg_error *e);
/* The same for a recipe in memory; name says where it came from and,
 * by its ending (.json), which syntax it is. */
json_t *sg_recipe_parse(const char *name, const char *src, size_t len,
	sg_warn_fn warn, void *ctx, struct sg_error *e);
/* A path the recipe names (rel), malloc'd: from the directory of the recipe
 * file at recipe_path, or as it is when absolute or recipe_path is NULL. */
char *sg_recipe_relative(const char *recipe_path, const char *rel);
/* Context features of a recipe: domain, task, complexity, format, kb,
 * grammar, grammar_llm, llm. */
json_t *sg_recipe_context(const json_t *recipe, int llm);
long long sg_recipe_batch_size(const json_t *recipe);
/* The entity types a pii check names, by their names in a recipe. */
enum {
	SG_PII_EMAIL,
	SG_PII_PHONE,
	SG_PII_CARD,
	SG_PII_IBAN,
	SG_PII_SSN,
	SG_PII_IP,
	SG_PII_ROUTING,
	SG_PII_NTYPES
};
const char *sg_pii_type_name(int type);
int sg_pii_type_parse(const char *name); /* -1 if unknown */

/* grammar.c: the PCFG templater */
/* Deeper recursion than this could overflow the C stack. */
#define SG_GRAMMAR_MAX_DEPTH 1000
struct sg_grammar;
/* The LLM hook for llm_fill leaves: a malloc'd string, or NULL and e. */
typedef char *(*sg_fill_fn)(void *ctx, const char *prompt, struct sg_error *e);
struct sg_grammar *sg_grammar_new(const json_t *grammar, struct sg_error *e);
void sg_grammar_free(struct sg_grammar *g);
/* Whether an llm_fill leaf can be reached from the start rule. */
int sg_grammar_uses_llm(const struct sg_grammar *g);
/* One expansion from the start rule: weights reshaped by temperature
 * (w^(1/T)), at most max_depth nested rules, placeholders inside JSON
 * string literals escaped when json is set.  malloc'd, or NULL and e. */
char *sg_grammar_expand(struct sg_grammar *g, struct sg_rng *rng,
	double temperature, int max_depth, int json, sg_fill_fn fill,
	void *fillctx, struct sg_error *e);
/* A JSON Schema derived from the start rule's JSON templates, or NULL. */
json_t *sg_grammar_schema(const struct sg_grammar *g);

/* schema.c: the JSON Schema 2020-12 keywords recipes use */
/* 0 when schema is a schema sg can apply, else -1 and e. */
int sg_schema_check(const json_t *schema, struct sg_error *e);
/* 0 when instance is valid; else -1 and e names the JSON pointer and the
 * failed keyword, as in "/rating: 7 is greater than maximum 5". */
int sg_schema_validate(
	const json_t *schema, const json_t *instance, struct sg_error *e);

/* text.c: the text view of a sample and measures over it */
/* A growing string, always NUL-terminated once anything was added. */
struct sg_buf {
	char *p;
	size_t len, cap;
};
void sg_buf_add(struct sg_buf *b, const char *s, size_t n);
/* A sample's data as text: a string as it is, else the string values of
 * an object or array joined by spaces, depth first; malloc'd. */
char *sg_sample_text(const json_t *data);
/* A byte of a word (a letter or digit, the apostrophe, any byte of a
 * UTF-8 sequence), and a byte folded to lower case: isalnum and tolower
 * in the C locale the tools run in, inline, as the text checks call them
 * on every byte of every sample. */
static inline int
sg_wordc(int c)
{
	return (unsigned)((c | 0x20) - 'a') < 26u ||
	       (unsigned)(c - '0') < 10u || c == '\'' || c >= 0x80;
}
static inline int
sg_lower(int c)
{
	return c + (int)(((unsigned)(c - 'A') < 26u) << 5);
}
size_t sg_count_words(const char *text);
/* Each byte folded to lower case (sg_lower) when it is one of a word
 * (sg_wordc), else 0: one lookup for the loops that read every byte of
 * every sample. */
extern const unsigned char sg_word_fold[256];
/* The length of the UTF-8 sequence at s (n bytes left, n > 0) as
 * jansson reads it, or 0 where jansson refuses it: overlong, a surrogate,
 * past U+10FFFF, or cut short. */
size_t sg_utf8_len(const unsigned char *s, size_t n);
/* The UTF-8 code points of the n bytes at s: the bytes that do not
 * continue a sequence. */
size_t sg_codepoints(const char *s, size_t n);
/* A text's words, read once for every check that reads them (the word
 * count, relevance, perplexity, near-duplicates): each a run of sg_wordc
 * bytes, with its hash as sg_word_hash makes it, where it is in text, and
 * whether a line break comes before it (after the word before). */
struct sg_word {
	uint64_t hash;
	size_t at, len;
	int newline;
};
struct sg_words {
	const char *text;
	struct sg_word *v;
	size_t n, cap;
};
/* text's words into w, whose array is reused; w keeps text, not a copy. */
void sg_words_read(struct sg_words *w, const char *text);
/* The next word of *s as [start, end), *s moved past it; 0 at the end. */
int sg_next_word(const char **s, const char **start, const char **end);
/* A word's hash, case folded as distinct-n folds it. */
uint64_t sg_word_hash(const char *start, const char *end);

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
	void *z; /* the deflate stream */
};
void sg_diversity_measure(struct sg_diversity *d, const struct sg_texts *t);
void sg_diversity_free(struct sg_diversity *d);

/* bandit.c: arms, contexts, and the router over policy.c's policies */
/* The recipe's router_config with every default filled in. */
json_t *sg_router_config(const json_t *recipe, struct sg_error *e);
/* The arms a recipe offers: router_config.arms resolved against the
 * presets, each {name, generator, temperature, ...}; NULL and e if bad. */
json_t *sg_arms_resolve(const json_t *recipe, struct sg_error *e);
/* Why an arm cannot run in a context, or NULL when it can. */
const char *sg_arm_unavailable(const json_t *arm, const json_t *context);
/* The context as a stable string key of the state's "contexts". */
char *sg_context_key(const json_t *context);
/* Choose an arm for a job; fills the job's batch, arm, generator, params,
 * seed and decision, records the decision as pending, and advances the
 * state's counters and generator. */
int sg_route(
	json_t *state, json_t *job, double initial_temp, struct sg_error *e);
/* Learn from one reward record, joined to its pending decision by batch
 * (else taking the record's own arm and context): the policy's statistics,
 * epsilon decay, temperature adaptation. */
int sg_reward_apply(json_t *state, const json_t *reward, struct sg_error *e);
/* Start a new state with what another run's state learnt: its arms,
 * contexts, linear model, windows and epsilon (not its counters, its
 * generator or its pending decisions). */
void sg_router_warm(json_t *state, const json_t *from);

/* merge.c: the learning of workers that started from one base state */
/* Add to acc (a copy of base, or of base merged with other workers) what
 * worker w learnt and routed since base; -1 and e when w did not start
 * from base, belongs to another run, or its policy forgets in order. */
int sg_state_merge(
	json_t *acc, const json_t *base, const json_t *w, struct sg_error *e);
/* Make state, a copy of the run's, worker k of n (0 <= k < n): its own
 * random draws, the batch numbers equal to k modulo n, and, when target
 * is above its accepted count, a cap of its share of the rest.  0, or -1
 * and e when it already is another worker's. */
int sg_state_worker(json_t *state, long long k, long long n, long long target,
	struct sg_error *e);
/* The accepted count at which state stops taking samples: its target, or
 * its worker's cap when lower; 0 for none. */
long long sg_state_cap(const json_t *state);
/* The length state records for output path (its "output", or one of its
 * workers' "outputs" since merged), or -1 when it records none. */
long long sg_state_output(const json_t *state, const char *path);
/* Record path as state's output, bytes long, keeping the length of the
 * output it wrote before among its "outputs". */
void sg_state_set_output(json_t *state, const char *path, long long bytes);
/* Whether state has decided and learnt nothing yet. */
int sg_state_is_empty(const json_t *state);
/* The base a worker that started from nothing merges into: an empty state
 * of its run, seed, router and target; NULL and e when w did not start
 * from nothing. */
json_t *sg_state_base(const json_t *w, struct sg_error *e);

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
int sg_policy_parse(const char *name); /* enum sg_policy, or -1 */
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

/* classify.c: a fastText-style text classifier and its measures */
struct sg_labelled { /* parallel arrays of malloc'd strings */
	char **label, **text;
	size_t n, cap;
};

void sg_labelled_add(
	struct sg_labelled *d, const char *label, const char *text);
void sg_labelled_free(struct sg_labelled *d);
/* A label as a malloc'd string: a JSON string as it is, an integer or a
 * boolean written out (so 0/1 labels work); NULL for anything else. */
char *sg_label_string(const json_t *v);
/* Append the examples of a file: JSON Lines (the label and text fields
 * of each object, or of its "data" object as in sg samples) or, when the
 * first line does not start with '{', label<TAB>text lines.  -1 and e
 * when the file cannot be read, -2 and e ("path:line: why") on the first
 * bad line or when it holds no example. */
int sg_labelled_load(struct sg_labelled *d, const char *path,
	const char *label_field, const char *text_field, struct sg_error *e);

struct sg_clf_params {
	int dim, epochs, ngrams; /* ngrams: 1 words, 2 words and bigrams */
	double lr;
	uint32_t buckets;
	uint64_t seed;
};
struct sg_clf;
struct sg_clf *sg_clf_train(const struct sg_clf_params *p,
	const struct sg_labelled *d, struct sg_error *e);
void sg_clf_free(struct sg_clf *c);
const char *sg_clf_predict(const struct sg_clf *c, const char *text);
/* {n, accuracy, macro_f1, f1: {label: F1}, labels, confusion: rows of
 * true labels, columns of predicted ones, majority: {label, accuracy}},
 * the majority class being the test set's most frequent label. */
json_t *sg_clf_evaluate(const struct sg_clf *c, const struct sg_labelled *test);
#define SG_MAX_NGRAM 16
/* {n, ngrams: share of the test's word n-grams found in train,
 * covered_texts: test texts all of whose n-grams are, exact_texts: test
 * texts whose whole word sequence is a training text's}; NULL if n is
 * outside [1, SG_MAX_NGRAM]. */
json_t *sg_ngram_overlap(
	const struct sg_labelled *train, const struct sg_labelled *test, int n);

/* svg.c: inline SVG charts for the HTML report, written to fp */
enum sg_svg_style { SG_SVG_LINE, SG_SVG_DOTS, SG_SVG_BOTH };
struct sg_series {
	const char *name, *color; /* color NULL: the palette's */
	const double *x, *y;
	size_t n;
	enum sg_svg_style style;
};

const char *sg_svg_color(size_t i);
void sg_html_escape(FILE *fp, const char *s);
/* Series over a shared x axis; y from ymin to ymax, or from the data
 * (and 0) when ymax <= ymin. */
void sg_svg_lines(FILE *fp, const char *title, const char *xlabel,
	const char *ylabel, const struct sg_series *s, size_t ns, double ymin,
	double ymax);
/* Grouped bars: v[series][bin]. */
void sg_svg_bars(FILE *fp, const char *title, const char *xlabel,
	const char *ylabel, const char *const names[], const double *const v[],
	size_t ns, const char *const bins[], size_t nbins);
#define SG_MAX_RESPONSE (64u << 20) /* a server's answer, at most */
/* http.c: JSON POSTs to an OpenAI-compatible server, many in flight,
 * with retries; see the top of http.c for what is retried and how */
struct sg_http_opts {
	const char *base_url; /* "http://host:port/v1" */
	const char *api_key;  /* NULL or "": no Authorization header */
	int jobs;	      /* requests in flight at most */
	double timeout;	      /* seconds per attempt; 0: none */
	double stall;	      /* seconds without a byte before giving up */
	int retries;	      /* retries per request after the first try */
	double backoff_cap;   /* seconds; 0: 8 */
	/* Told of each retry (the why never holds the key); may be NULL. */
	void (*on_retry)(void *ctx, const char *why, int attempt, double wait);
	void *retry_ctx;
};
struct sg_http_result {
	void *ctx;	    /* as given to sg_http_post */
	long status;	    /* the last HTTP status, 0 when none */
	const json_t *body; /* the JSON object of a 2xx answer, else NULL */
	const char *error;  /* why it failed, or NULL */
	int attempts;
};
struct sg_http_stats {
	long long attempts, retries, throttled, ok, failed;
};
struct sg_http;
typedef void (*sg_http_done_fn)(void *arg, const struct sg_http_result *r);
struct sg_http *sg_http_new(const struct sg_http_opts *o, struct sg_error *e);
void sg_http_free(struct sg_http *h);
/* Queue a POST of body to base_url/path; done may queue more. */
void sg_http_post(
	struct sg_http *h, const char *path, const json_t *body, void *ctx);
/* Send everything queued, calling done for each request as it ends, in
 * the order they end; 0, or -1 and e when libcurl itself fails. */
int sg_http_run(
	struct sg_http *h, sg_http_done_fn done, void *arg, struct sg_error *e);
const struct sg_http_stats *sg_http_stats(const struct sg_http *h);
/* From done: make sg_http_run return once the completions at hand are
 * handled; what is queued or in flight stays for the next run. */
void sg_http_stop(struct sg_http *h);
/* The message of an error body in any of the shapes servers use
 * ({"error":{"message"}}, {"error":"..."}, {"object":"error","message"},
 * {"detail"}), else its start; *quota when it says the quota is spent. */
void sg_http_error_text(
	const char *body, size_t len, char *out, size_t size, int *quota);
/* Seconds to wait from one header line (Retry-After in seconds or as an
 * HTTP date, retry-after-ms), -1 when it is neither; *ms for the latter. */
double sg_http_retry_after(const char *line, size_t len, int *ms);

/* llm.c: chat completions with a response cache shared by processes */
struct sg_llm;
struct sg_llm_reply {
	void *ctx;
	const char *content;	/* choices[0].message.content, or NULL */
	const json_t *response; /* the whole answer, or NULL */
	const char *error;	/* why it failed, or NULL */
	int cached;		/* from the cache: no request was made */
	long long prompt_tokens, completion_tokens;
	int deferred; /* written to the Batch API file, error says so */
	const json_t *embedding; /* data[0].embedding of sg_llm_embed's */
};
typedef void (*sg_llm_done_fn)(void *arg, const struct sg_llm_reply *r);
/* Set OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_MODEL from a .env file
 * where the environment lacks them; a missing file is no error. */
int sg_llm_dotenv(const char *path, struct sg_error *e);
/* Whether the environment names a server: OPENAI_BASE_URL or
 * OPENAI_API_KEY set and not empty. */
int sg_llm_configured(void);
/* The cache directory: flag, else $SG_CACHE_DIR, $XDG_CACHE_HOME/sg,
 * $HOME/.cache/sg; malloc'd, or NULL. */
char *sg_llm_cache_dir(const char *flag);
/* cache_dir NULL: no cache. */
struct sg_llm *sg_llm_new(const struct sg_http_opts *o, const char *cache_dir,
	struct sg_error *e);
void sg_llm_free(struct sg_llm *l);
/* Queue a /chat/completions request; index is the sample's, part of the
 * cache key.  The body is copied. */
void sg_llm_chat(
	struct sg_llm *l, const json_t *body, long long index, void *ctx);
/* Queue an /embeddings request for text, cached as chat answers are. */
void sg_llm_embed(
	struct sg_llm *l, const char *model, const char *text, void *ctx);
/* Answer everything queued, done once per request as each ends; done may
 * queue more. */
int sg_llm_run(
	struct sg_llm *l, sg_llm_done_fn done, void *arg, struct sg_error *e);
/* As sg_llm_run, returning as soon as at most left requests are asked
 * and not answered; the others go on at the next run. */
int sg_llm_run_some(struct sg_llm *l, sg_llm_done_fn done, void *arg,
	long long left, struct sg_error *e);
long long sg_llm_outstanding(const struct sg_llm *l);
void sg_llm_counts(
	const struct sg_llm *l, long long *requests, long long *cached);
/* Export mode: requests the cache cannot answer go to fp as Batch API
 * input lines, not to the server, and are answered as deferred. */
int sg_llm_batch_export(struct sg_llm *l, FILE *fp, struct sg_error *e);
/* The requests written so far, or -1 and e when their keys could not be
 * kept in the cache. */
long long sg_llm_batch_exported(const struct sg_llm *l, struct sg_error *e);
/* Store the answer of one Batch API output line in the cache, under the
 * key its exported request left there; 0, or -1 and e: nothing stored. */
int sg_llm_batch_import(
	const char *cache, const char *line, struct sg_error *e);

/* naive.c: the naive arm's requests and the parsing of their answers */
/* The /chat/completions body for sample index of a routed job: prompt
 * from the recipe and the passages ([id, text] pairs, may be NULL), the
 * job's params, seed + index; a json_schema response_format when the
 * data is JSON and response_format is set. */
json_t *sg_naive_body(const json_t *job, long long index, const char *model,
	int response_format, const json_t *passages);
/* An answer as a sample's data: the text, or the JSON value in it. */
json_t *sg_naive_parse(const char *content, int json, struct sg_error *e);
/* body followed by the bad answer and a request to correct it. */
json_t *sg_naive_repair(
	const json_t *body, const char *content, const char *why);

/* wordnet.c: synonyms from the WordNet 3.0 files (wordnet-base) */
struct sg_wordnet;
/* dir NULL: $SG_WORDNET, else /usr/share/wordnet. */
struct sg_wordnet *sg_wordnet_open(const char *dir, struct sg_error *e);
void sg_wordnet_close(struct sg_wordnet *w);
/* The other words of every synset of word, in WordNet's order. */
json_t *sg_wordnet_synonyms(const struct sg_wordnet *w, const char *word);

/* eda.c: Easy Data Augmentation (Wei and Zou, 2019) */
extern const char *const sg_eda_ops[]; /* "sr", "ri", "rs", "rd" */
/* text changed by one operation, chosen at random into *op, touching
 * about alpha of its words; malloc'd. */
char *sg_eda(const char *text, double alpha, const struct sg_wordnet *wn,
	struct sg_rng *rng, int *op);

/* kb.c: a knowledge base of passages and sentences, BM25 over passages */
struct sg_kb;
/* A text file or a directory of them.  cache_dir NULL: no index cache;
 * *cached says whether the index came from it. */
struct sg_kb *sg_kb_load(const char *path, const char *cache_dir, int *cached,
	struct sg_error *e);
void sg_kb_free(struct sg_kb *kb);
/* Arrays of [id, text]: ids like "faq.md#3" and "faq.md.s7". */
const json_t *sg_kb_passages(const struct sg_kb *kb);
const json_t *sg_kb_sentences(const struct sg_kb *kb);
/* The k best passages for query by BM25, best first, as [id, text]. */
json_t *sg_kb_search(const struct sg_kb *kb, const char *query, size_t k);

/* offline.c: the eda and extractive generators' samples */
/* Data from a seed example changed by EDA, and *prov its seed index and
 * operation; NULL and e without seed examples. */
json_t *sg_eda_sample(const json_t *recipe, double alpha,
	const struct sg_wordnet *wn, struct sg_rng *rng, json_t **prov,
	struct sg_error *e);
/* count consecutive sentences of the knowledge base, as a string, or as
 * {"text": ...} when json; *prov lists their ids. */
json_t *sg_extract_sample(const struct sg_kb *kb, int json, long long count,
	struct sg_rng *rng, json_t **prov);

/* evol.c: Evol-Instruct's operations and elimination rules */
#define SG_EVOL_OPS 6
extern const char *const sg_evol_ops[SG_EVOL_OPS];
/* The prompt that evolves instruction by operation op; malloc'd. */
char *sg_evol_prompt(int op, const char *instruction);
/* The prompt asking an LLM whether two instructions are equal. */
char *sg_evol_equal_prompt(const char *a, const char *b);
/* Why an evolved instruction is eliminated (judgement: the equality
 * answer, may be NULL), or NULL when it stays. */
const char *sg_evol_reject_instruction(
	const char *evolved, const char *judgement);
/* Why a response to an evolved instruction eliminates it, or NULL. */
const char *sg_evol_reject_response(const char *response);

/* genjob.c, genllm.c, genoff.c, gencmd.c: sg-gen's generators, in the
 * tool layer beside filter.c: they write records and report on stderr */
struct sg_job {
	struct sg_filter *f;
	json_t *rec;
	const char *where; /* "<stdin>:4", for messages */
	const char *run, *arm, *generator;
	long long batch, n, seed;
	json_t *params;
	long long generated; /* samples with data so far */
	long long prompt_tokens, completion_tokens, sent, cached;
	double cost;
	json_t *evol;	 /* the evol arm's operations: tried and kept */
	json_t *pending; /* samples answered before an earlier one */
	long long next;	 /* the index sg_job_put_at writes next */
};
/* A sample of the job with the fields all its samples share. */
json_t *sg_job_sample(const struct sg_job *j, long long index);
/* Write a record and free it. */
void sg_job_put(const struct sg_job *j, json_t *rec);
/* Write sample index and free it once every earlier one is written: the
 * samples of a job leave in index order, however their answers arrive. */
void sg_job_put_at(struct sg_job *j, long long index, json_t *sample);
/* Writes a sample with data and, when not NULL, its "logprobs",
 * consuming both. */
void sg_job_data(
	struct sg_job *j, long long index, json_t *data, json_t *logprobs);
void sg_job_error(struct sg_job *j, long long index, const char *why);
/* Every sample of the job fails with the same reason, said once. */
void sg_job_fail(struct sg_job *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sg_job_batch(const struct sg_job *j);
/* Whether the job's samples are JSON values, not strings. */
int sg_job_json(const struct sg_job *j);
/* The job's knowledge base, loaded once per path; NULL and e. */
struct sg_kb *sg_job_kb(const struct sg_job *j, struct sg_error *e);

struct sg_gen_opts {
	const char *model, *cache_dir;
	int jobs, no_cache;
	double timeout;
	double price_prompt, price_completion; /* < 0: the job's params */
	FILE *batch; /* --batch-export: the Batch API input file */
};
extern struct sg_gen_opts sg_gen_opts; /* sg-gen's LLM options */
/* Whether an arm may ask: an LLM is configured or requests are exported. */
int sg_gen_llm_configured(void);
void sg_gen_naive(struct sg_job *j, int rag);
void sg_gen_evol(struct sg_job *j);
/* With sg_gen_opts.batch: the requests exported, or -1 and e. */
long long sg_gen_exported(struct sg_error *e);
/* The log-probabilities of the tokens a model wrote for a sample. */
struct sg_logprobs {
	double sum;
	long long tokens;
};
/* A sample's "logprobs": their mean over the tokens, the number of tokens
 * and the perplexity exp(-mean); NULL when there are none. */
json_t *sg_logprobs_json(const struct sg_logprobs *lp);
/* The templater's sg_fill_fn: ctx is a struct sg_fill, zeroed but for its
 * job and index. */
struct sg_fill {
	struct sg_job *j;
	long long index, calls;
	char *out;
	struct sg_error err;
	json_t *body;	       /* the request in flight */
	struct sg_logprobs lp; /* of every leaf filled, when asked for */
};
char *sg_gen_fill(void *ctx, const char *prompt, struct sg_error *e);
void sg_gen_llm_end(void);
void sg_gen_offline(struct sg_job *j, int eda);
void sg_gen_offline_end(void);
void sg_gen_command(struct sg_job *j);

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
 * score}, offsets in code points of sg_sample_text(data).  With redact,
 * *redact is a new value for data when data itself is a string that
 * changed, else NULL, and strings inside data are redacted in place: each
 * span becomes "[TYPE]", as in "[EMAIL]". */
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

/* seen.c: the keys deduplication has taken, and the file that keeps them */
struct sg_seen;
struct sg_seen *sg_seen_new(void);
void sg_seen_free(struct sg_seen *s);
/* The id of the sample that took key; "" for a key from the file; NULL
 * when the key is free. */
const char *sg_seen_find(const struct sg_seen *s, uint64_t key);
/* Starts loading where the keys would be: a million samples' keys are far
 * outside the caches, and a sample's probes can then miss all at once. */
void sg_seen_prefetch(const struct sg_seen *s, const uint64_t *keys, size_t n);
/* The number of keys taken: while it stays, so does every answer. */
size_t sg_seen_count(const struct sg_seen *s);
/* Takes the keys for the sample id (NULL: from the file); no key is 0. */
void sg_seen_add(
	struct sg_seen *s, const uint64_t *keys, size_t n, const char *id);
/* Keeps a copy of set (shingles as sg_shingles makes them) with the sample
 * sg_seen_add took last, to verify matches with it. */
void sg_seen_keep(struct sg_seen *s, const uint32_t *set, size_t n);
/* The id of a sample holding one of keys whose kept shingles are at
 * Jaccard threshold or more to set (shingles as sg_shingles makes them,
 * made sets to compare), or whose shingles are unknown ("" for a key from
 * the file); NULL when there is none.  A kept sample's shingles are sorted
 * in place the first time they are compared. */
const char *sg_seen_near(struct sg_seen *s, const uint64_t *keys, size_t n,
	const uint32_t *set, size_t nset, double threshold);
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

/* toxic.c: offensive words from a graded lexicon, whole words only */
struct sg_lexicon;
/* Lines "term<TAB>severity", severity an integer >= 0; "#" comments. */
struct sg_lexicon *sg_lexicon_load(const char *path, struct sg_error *e);
void sg_lexicon_free(struct sg_lexicon *lx);
/* The terms of at least severity in text, read through case, leetspeak and
 * stretched letters: an array of {start, end, severity}, in code points. */
json_t *sg_toxic_find(
	const struct sg_lexicon *lx, const char *text, long severity);

/* faith.c: grounding, offline */
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

/* lm.c: a word bigram model with absolute discounting, for perplexity */
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

/* map.c: numbers by 64-bit key, an open-addressing table */
struct sg_map;
struct sg_map *sg_map_new(void); /* one number a key */
struct sg_map *sg_map_new_n(int numbers);
void sg_map_free(struct sg_map *m);
double *sg_map_get(const struct sg_map *m, uint64_t key); /* or NULL */
double *sg_map_put(struct sg_map *m, uint64_t key);	  /* new ones are 0 */
size_t sg_map_size(const struct sg_map *m);
/* Starts loading key's slot into the cache: a batch of these before the
 * probes lets their misses overlap. */
void sg_map_prefetch(const struct sg_map *m, uint64_t key);
/* bytes of zeros for a hash table, in huge pages when it is large: a probe
 * into hundreds of megabytes of 4 KiB pages misses the TLB too. */
void *sg_table_new(size_t bytes);
/* Such a table of old bytes made bytes long, what it held kept (moved, not
 * copied, when it is large), the new bytes zero. */
void *sg_table_resize(void *p, size_t old, size_t bytes);
void sg_table_free(void *p, size_t bytes);
/* A filter of 64-bit keys in nbits bits (a power of two; two bits a key):
 * "no" is sure, "maybe" asks the table.  It spares a cache miss on the
 * many keys a table of thousands does not hold. */
void sg_bloom_add(uint64_t *bits, size_t nbits, uint64_t key);
/* Inline, as it is asked about every word of every sample. */
static inline size_t
sg_bloom_bit(uint64_t key, size_t nbits, int i)
{
	uint64_t x = key * 0x9e3779b97f4a7c15ULL;

	return (size_t)(x >> (i ? 48 : 32)) & (nbits - 1);
}
static inline int
sg_bloom_has(const uint64_t *bits, size_t nbits, uint64_t key)
{
	size_t k0 = sg_bloom_bit(key, nbits, 0),
	       k1 = sg_bloom_bit(key, nbits, 1);

	/* both bits read, one branch: after a first bit set, whether the
	 * second was went either way, and missed */
	return (int)(bits[k0 / 64] >> (k0 % 64) & bits[k1 / 64] >> (k1 % 64) &
		     1);
}

/* judge.c: what a language model is asked about a sample, how its answer
 * is read, and measures over embedding vectors */
/* The prompts of the rubric judge (criteria: a string, a list of them or
 * a mapping of names to descriptions; NULL: a default), of entailment by
 * the sources and of toxicity; each asks for "Score: N/10"; malloc'd. */
char *sg_judge_prompt(
	const json_t *criteria, const char *task, const char *text);
char *sg_entail_prompt(const char *sources, const char *text);
char *sg_toxic_prompt(const char *text);
/* A /chat/completions body for prompt at temperature 0. */
json_t *sg_judge_body(const char *model, const char *prompt);
/* The score of a judge's answer in [0,1] (see judge.c for the shapes it
 * reads): 0, or -1 and e when it has none or one out of range. */
int sg_judge_score(const char *answer, double *score, struct sg_error *e);
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

/* vectors.c: the embeddings of the samples kept, for the similarity check,
 * and their file beside the --seen file (see the top of vectors.c) */
struct sg_vecs;
struct sg_vecs *sg_vecs_new(void);
void sg_vecs_free(struct sg_vecs *s);
/* Whether vectors of model, of dim numbers (0: not known yet), can join
 * those of s; the first to ask sets them.  0, or -1 and e. */
int sg_vecs_fit(
	struct sg_vecs *s, const char *model, size_t dim, struct sg_error *e);
/* Keeps v, of the dimensions fitted, under id; its index. */
size_t sg_vecs_add(struct sg_vecs *s, const double *v, const char *id);
/* The index of the vector of s closest to v by cosine, and that cosine;
 * -1 when s has none. */
long sg_vecs_nearest(const struct sg_vecs *s, const double *v, double *cosine);
/* As sg_vecs_nearest, to the i-th vector of of, of the same dimensions. */
long sg_vecs_nearest_of(const struct sg_vecs *s, const struct sg_vecs *of,
	size_t i, double *cosine);
const char *sg_vecs_id(const struct sg_vecs *s, size_t i);
/* The vectors of path past what s read or wrote of it into s, and into
 * fresh when not NULL; the caller holds the lock.  0, or the exit status
 * and e (SG_EXIT_CONFIG for a file of another model or dimension). */
int sg_vecs_read(struct sg_vecs *s, const char *path, struct sg_vecs *fresh,
	struct sg_error *e);
/* Appends the vectors of s at the n indices which to path, flushed to
 * disk; the caller holds the lock and has read the file.  0, or -1 and e. */
int sg_vecs_append(struct sg_vecs *s, const char *path, const size_t *which,
	size_t n, struct sg_error *e);

/* modelcheck.c: sg-validate's checks by a language model and embeddings,
 * in the tool layer beside filter.c (see the top of modelcheck.c) */
struct sg_mcheck_opts {
	const char *model, *embedding_model, *cache_dir; /* flags, or NULL */
	int jobs, no_cache;
	double timeout;
	struct sg_vecs *vectors; /* what similarity compares with */
};
extern struct sg_mcheck_opts sg_mcheck_opts;
struct sg_mcheck;
/* The model checks the recipe's validators enable; NULL when none, or
 * when no LLM is configured (said once on standard error).  The recipe's
 * knowledge_base is found beside recipe_path (may be NULL). */
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

/* valconf.c, validate.c: sg-validate's checks, read from a recipe once and
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

/* dump.c: v appended to b as json_dump_callback writes it with
 * SG_DUMP_FLAGS | JSON_ENCODE_ANY; -1 where jansson would fail (a string
 * that is not UTF-8), b then holding part of it. */
int sg_dump(struct sg_buf *b, const json_t *v);

/* lazy.c: a record read for the fields a stage needs */
/* The object in line (len bytes), as jansson reads it with
 * JSON_REJECT_DUPLICATES, but with only the members that paths name
 * (NULL-terminated, at most 32): "a" is member a, "a.b" member b of an
 * object a (any other a is whole), "*" any member.  The whole line is
 * checked all the same.  NULL when the line is not an object or when
 * anything about it is unsure (an escaped key, deep nesting, a number near
 * the limits, ...): jansson must read it, and say what is wrong if
 * anything is. */
json_t *sg_lazy_load(const char *line, size_t len, const char *const paths[]);

/* splice.c: a record written back from its bytes, owned fields replaced */
/* The object in line (len bytes, valid JSON) with each top-level field
 * named in owned taken from rec instead: in its place when line has it,
 * else appended; left out when rec has none.  The rest is copied byte for
 * byte.  Into out, from its start: the length, or 0 when line is not an
 * object or has a key with an escape, which only jansson reads right. */
size_t sg_splice(const char *line, size_t len, const json_t *rec,
	const char *const owned[], struct sg_buf *out);

#endif
