/*
 * gen.h - generation: the jobs of sg-gen and the arms that make their
 * samples.
 */
#ifndef SG_GEN_H
#define SG_GEN_H

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"

/* job.c, client.c, offline.c, command.c: sg-gen's generators, in the
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

#endif
