/*
 * gen.h - generation: the jobs of sg-gen and the arms that make their
 * samples.
 */
#ifndef SG_GEN_H
#define SG_GEN_H

#include "base/base.h"
#include "record/record.h"
#include "llm/llm.h"

/* What makes a sample's prompt its own: its attributes (an object) and its
 * sub-topic (a string), each NULL when it has none, references held.  A
 * struct a sample, not a JSON object: a job of 20,000 samples held 7 MiB
 * of objects. */
struct sg_angle {
	json_t *attributes, *subtopic;
};

/* job.c: a job of sg-gen, as its job record routes it, and the records
 * it writes.  The arms are in the tool layer beside record/filter.c: they write
 * records and report on stderr. */
struct sg_job {
	struct sg_filter *f;
	json_t *rec;
	const char *where; /* "<stdin>:4", for messages */
	const char *run, *arm, *generator;
	long long batch, n, seed;
	json_t *params;
	struct sg_mix mix;   /* the recipe's labels */
	long long generated; /* samples with data so far */
	long long infra;     /* samples failed, not for their content */
	char *infra_error;   /* the first of those errors */
	enum sg_llm_fault infra_fault;
	long long prompt_tokens, completion_tokens, sent, cached;
	double cost;
	json_t *evol;		 /* the evol arm's operations: tried and kept */
	json_t *pending;	 /* samples answered before an earlier one */
	struct sg_angle *angles; /* per sample, n of them, or NULL */
	/* the label plan, once the job record is out: each sample's
	 * label as an index into labels, the distinct ones */
	json_t *labels;
	uint32_t *plan;
	size_t nplan;
	long long next; /* the index sg_job_put_at writes next */
};
/* Every sample of the job fails with the same reason, said once: the
 * arm or its setup is at fault (SG_FAULT_ARM). */
void sg_job_fail(struct sg_job *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sg_job_batch(const struct sg_job *j);
/* Frees what the job's angles hold. */
void sg_job_angles_free(struct sg_job *j);
/* The job record's label_plan as indices, the array taken out of the
 * record: 4 bytes a sample rather than a JSON string.  Call once the
 * record is written; sg_job_label reads the plan from there alone. */
void sg_job_plan_compact(struct sg_job *j);
void sg_job_plan_free(struct sg_job *j);
/* When the jobs so far asked for samples and none has data: the status
 * sg-gen ends with (SG_EXIT_UNAVAILABLE when no error was the content's,
 * else SG_EXIT_DATA) and in e the first error, "<stdin>:1: sample 0:
 * ..." (*said when it was printed already); else 0. */
int sg_gen_nothing(struct sg_error *e, int *said);
/* The label the job's plan gives sample index, or NULL. */
const char *sg_job_label(const struct sg_job *j, long long index);

/* client.c: sg-gen's LLM options and its one client */
struct sg_gen_opts {
	const char *model, *cache_dir;
	const char *state; /* -s: the run's state, for extractive's labels */
	int jobs, no_cache;
	int quiet; /* -q: failed samples and jobs go unsaid */
	double timeout;
	double price_prompt, price_completion; /* < 0: the job's params */
	FILE *batch; /* --batch-export: the Batch API input file */
};
extern struct sg_gen_opts sg_gen_opts; /* sg-gen's LLM options */
/* With sg_gen_opts.batch: the requests exported, or -1 and e. */
long long sg_gen_exported(struct sg_error *e);
void sg_gen_llm_end(void);

/* The arms, a file each, named as in a recipe's router_config: each
 * writes the job's samples.  naive.c runs rag too, with rag.c's
 * passages; offline.c runs eda.c and extractive.c. */
void sg_gen_templater(struct sg_job *j);
void sg_gen_naive(struct sg_job *j, int rag);
void sg_gen_evol(struct sg_job *j);
void sg_gen_offline(struct sg_job *j, int eda);
void sg_gen_offline_end(void);
void sg_gen_command(struct sg_job *j);

#endif
