/*
 * gen-internal.h - what the files of gen/ share, not exported: the records
 * of a job, the LLM client the arms share, the requests and samples of
 * each arm, WordNet and the operations of EDA and Evol-Instruct.
 */
#ifndef SG_GEN_INTERNAL_H
#define SG_GEN_INTERNAL_H

#include "base/base.h"
#include "recipe/recipe.h"
#include "llm/llm.h"
#include "score/score.h"
#include "gen/gen.h"

/* job.c, offline.c: the records of a job, and its knowledge base */
/* A sample of the job with the fields all its samples share. */
json_t *sg_job_sample(const struct sg_job *j, long long index);
/* Write a record and free it. */
void sg_job_put(const struct sg_job *j, json_t *rec);
/* Write sample index and free it once every earlier one is written: the
 * samples of a job leave in index order, however their answers arrive. */
void sg_job_put_at(struct sg_job *j, long long index, json_t *sample);
/* Writes a sample with data and, when not NULL, its "logprobs",
 * consuming both, and its "label_missed", why it lacks its planned
 * label. */
void sg_job_data(struct sg_job *j, long long index, json_t *data,
	json_t *logprobs, const char *missed);
/* Sample s, index of the job, failed: its "error", "error_kind" and
 * "error_scope" by whose fault it is (SG_FAULT_NONE: a request deferred
 * to the Batch API, no failure). */
void sg_job_mark(struct sg_job *j, json_t *s, long long index, const char *why,
	enum sg_llm_fault fault);
/* Writes sample index failed so. */
void sg_job_error(struct sg_job *j, long long index, const char *why,
	enum sg_llm_fault fault);
/* Whether the job's samples are JSON values, not strings. */
int sg_job_json(const struct sg_job *j);
/* The row of the batch input the job's plan gives sample index, or
 * NULL. */
const json_t *sg_job_row(const struct sg_job *j, long long index);
/* The job's knowledge base, loaded once per path; NULL and e. */
struct sg_kb *sg_job_kb(const struct sg_job *j, int search, struct sg_error *e);

/* client.c: the LLM client the arms share, made when a job first needs
 * it, and what they do with each request and answer */
/* Whether an arm may ask: an LLM is configured or requests are exported. */
int sg_gen_llm_configured(void);
/* The log-probabilities of the tokens a model wrote for a sample. */
struct sg_logprobs {
	double sum;
	long long tokens;
};
/* A sample's "logprobs": their mean over the tokens, the number of tokens
 * and the perplexity exp(-mean); NULL when there are none. */
json_t *sg_logprobs_json(const struct sg_logprobs *lp);
/* The client; NULL until sg_gen_llm made it. */
extern struct sg_llm *sg_gen_client;
/* Set once the server refused "logprobs": the run's requests go without. */
extern int sg_gen_no_logprobs;
/* The client, made when a job first needs it; NULL and e without one. */
struct sg_llm *sg_gen_llm(struct sg_error *e);
/* The model a job asks: -m, else its params' "model", else $OPENAI_MODEL,
 * else gpt-4o-mini. */
const char *sg_gen_model(const struct sg_job *j);
/* Tokens and cost of one answer, into the sample s (may be NULL) and the
 * job, whose request counts (counted) as sent or cached. */
void sg_gen_account(
	struct sg_job *j, const struct sg_llm_reply *r, json_t *s, int counted);
/* The job's progress on standard error, on a terminal only. */
void sg_gen_progress(const struct sg_job *j);
/* Asks body for log-probabilities when the recipe's perplexity check
 * wants them and the server has not refused them. */
void sg_gen_ask_logprobs(const struct sg_job *j, json_t *body);
/* The log-probabilities of the tokens of a choice of an answer into lp. */
void sg_logprobs_add(
	struct sg_logprobs *lp, const json_t *response, int choice);
/* Whether the server refused the request for its parameter key: then the
 * body goes without it, and so do the run's next requests (*never). */
int sg_gen_refused(const struct sg_llm_reply *r, json_t *body, const char *key,
	int *never);
/* A JSON answer that did not parse because max_tokens cut it (its
 * finish_reason "length"): the first time 1, body's max_tokens doubled
 * to ask again (*retried set); after that -1, e saying it was cut.  0
 * when it was not cut. */
int sg_gen_cut(const struct sg_llm_reply *r, json_t *body, int *retried,
	struct sg_error *e);

/* naive.c: the naive arm's requests and the parsing of their answers */
/* The /chat/completions body for sample index of a routed job: prompt
 * from the recipe, the sample's planned label and the passages ([id,
 * text] pairs, may be NULL), the job's params, seed + index; a
 * json_schema response_format when the data is JSON and response_format
 * is set. */
json_t *sg_naive_body(const struct sg_job *j, long long index,
	const char *model, int response_format, const json_t *passages);
/* An answer as a sample's data: the text, or the JSON value in it. */
json_t *sg_naive_parse(const char *content, int json, struct sg_error *e);
/* body followed by the bad answer and a request to correct it. */
json_t *sg_naive_repair(
	const json_t *body, const char *content, const char *why);

/* prompt.c: the task as an LLM arm tells it: domain, task, every field
 * of task_input and the row (a batch input's, may be NULL) and the
 * constraints but those a check owns, a readable line each; malloc'd. */
char *sg_task_text(const json_t *recipe, const json_t *row);

/* diverse.c: what makes each sample's prompt its own */
/* The job's angles, before its requests: each sample's attributes drawn
 * from the recipe's, or its sub-topic from those planned once per run
 * (a cached request; an answer without them is said and leaves none).
 * -1 when the planning request failed for the server or the setup: then
 * every sample of the job was written failed so. */
int sg_gen_angles(struct sg_job *j);
/* Sample to takes sample from's angle, as a request of several choices
 * gives them all the first one's. */
void sg_angle_copy(struct sg_job *j, long long to, long long from);
/* The prompt's lines of sample index's angle, malloc'd, or NULL. */
char *sg_job_angle(const struct sg_job *j, long long index);

/* templater.c: the templater's sg_fill_fn: ctx is a struct sg_fill, zeroed but
 * for its job and index, and fault SG_FAULT_CONTENT until a fill says
 * otherwise. */
struct sg_fill {
	struct sg_job *j;
	long long index, calls;
	char *out;
	struct sg_error err;
	json_t *body;		 /* the request in flight */
	struct sg_logprobs lp;	 /* of every leaf filled, when asked for */
	enum sg_llm_fault fault; /* of err */
};
char *sg_gen_fill(void *ctx, const char *prompt, struct sg_error *e);

/* rag.c: the rag arm's passages for sample index of the job, drawn from
 * kb, as [id, text] pairs; *prov their ids as the sample's provenance. */
json_t *sg_rag_passages(const struct sg_job *j, const struct sg_kb *kb,
	long long index, json_t **prov);

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
/* A seed example (task_input.examples) drawn by rng from those whose
 * label is label (NULL: from all), and its index in *k; NULL when there
 * is none. */
const json_t *sg_gen_example(const json_t *recipe, const struct sg_mix *mix,
	const char *label, struct sg_rng *rng, size_t *k);
/* Data from a seed example of label (NULL: any) changed by EDA, and *prov
 * its seed index and operation; NULL and e without such a seed. */
json_t *sg_eda_sample(const json_t *recipe, const struct sg_mix *mix,
	const char *label, double alpha, const struct sg_wordnet *wn,
	struct sg_rng *rng, json_t **prov, struct sg_error *e);

/* extractive.c: the extractive arm's samples */
struct sg_extract {
	struct sg_kb *kb;
	long long count; /* consecutive units a sample */
	int passages;	 /* units are passages, not sentences */
	int json;	 /* an unlabelled sample is {"text": ...} */
	/* with labels: the fields of a sample, its labeller, the floor */
	const struct sg_marginal_conf *mc;
	const struct sg_profile *model;
	double confidence;
	struct sg_feats f;
};
/* A sample of count consecutive units: as a string or {"text": ...}
 * without mc; with it {text_field: ..., label_field: label}, drawn until
 * the model gives it label with x->confidence.  *prov lists their ids
 * (and that probability); NULL and e when no draw has label. */
json_t *sg_extract_sample(struct sg_extract *x, const char *label,
	struct sg_rng *rng, json_t **prov, struct sg_error *e);

/* evol.c: Evol-Instruct's operations and elimination rules */
#define SG_EVOL_OPS 6
extern const char *const sg_evol_ops[SG_EVOL_OPS];
/* The prompt that evolves instruction by operation op, keeping its label
 * (NULL: none), told of the task (as sg_task_text, NULL: not);
 * malloc'd. */
char *sg_evol_prompt(
	int op, const char *instruction, const char *label, const char *task);
/* The prompt asking an LLM whether two instructions are equal. */
char *sg_evol_equal_prompt(const char *a, const char *b);
/* Why an evolved instruction is eliminated (judgement: the equality
 * answer, may be NULL), or NULL when it stays. */
const char *sg_evol_reject_instruction(
	const char *evolved, const char *judgement);
/* Why a response to an evolved instruction eliminates it, or NULL. */
const char *sg_evol_reject_response(const char *response);

#endif
