/*
 * llm.h - the client of an OpenAI-compatible server: chat completions and
 * embeddings with a response cache shared by processes, the Batch API,
 * and the configuration from the environment or a .env file.
 */
#ifndef SG_LLM_H
#define SG_LLM_H

#include "base/base.h"

/* http.c: how the server is reached */
/* The OpenAI-Organization and OpenAI-Project headers are taken from
 * $OPENAI_ORG_ID and $OPENAI_PROJECT_ID when set. */
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

/* libcurl.c: libcurl and the thirty libraries under it are loaded when
 * the first request is made; a tool sure to make one can load them while
 * it waits for input.  0, or -1 and e naming why (each request then
 * fails with the same). */
int sg_curl_load(struct sg_error *e);

/* Whose fault a failure is (sg-gen's "error_kind" and "error_scope",
 * sg-jsonl(5)): the answer's own, or one no other answer could change:
 * the arm's (a model the server lacks; in sg-gen, a command that cannot
 * run or a setup that cannot work), or the server's (out of reach, the
 * key refused, the quota spent, failing after every retry). */
enum sg_llm_fault {
	SG_FAULT_NONE,
	SG_FAULT_CONTENT,
	SG_FAULT_ARM,
	SG_FAULT_SERVER
};

/* env.c: the configuration, from the environment */
/* Whether the environment names a server: OPENAI_BASE_URL or
 * OPENAI_API_KEY set and not empty. */
int sg_llm_configured(void);
/* $OPENAI_BASE_URL, else OpenAI's. */
const char *sg_llm_base_url(void);
/* The model to ask: flag, else the arm's, else $OPENAI_MODEL, else
 * gpt-4o-mini. */
const char *sg_llm_model(const char *flag, const char *arm);
/* The cache directory: flag, else $SG_CACHE_DIR, $XDG_CACHE_HOME/sg,
 * $HOME/.cache/sg; malloc'd, or NULL. */
char *sg_llm_cache_dir(const char *flag);

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
	const json_t *embedding;   /* data[0].embedding of sg_llm_embed's */
	const char *finish_reason; /* choices[0].finish_reason, or NULL */
	enum sg_llm_fault fault;   /* with error */
};
typedef void (*sg_llm_done_fn)(void *arg, const struct sg_llm_reply *r);
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
/* Whether the server refused the request body for its parameter key (a
 * deferred answer says nothing of the server): an error naming the key,
 * which the body has.  The caller may ask again without it. */
int sg_llm_refused(
	const struct sg_llm_reply *r, const json_t *body, const char *key);
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
/* The requests sent although the cache held an answer to them stored by
 * an older sg, whose key names no server: it may be another server's. */
long long sg_llm_stale(const struct sg_llm *l);
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

/* probe.c: one look at the server of o before a run asks it anything:
 * whether it is there, takes the key, answers at this base URL and has
 * the models that are the keys of models.  -1 and e naming the problem
 * in one line when it cannot serve any; else 0, each model it lacks
 * given why as its value.  A server that cannot tell (busy, or loading
 * a model) passes: the requests themselves retry. */
int sg_llm_probe(
	const struct sg_http_opts *o, json_t *models, struct sg_error *e);

#endif
