/*
 * llm-internal.h - what llm.c asks of http.c, not exported.
 */
#ifndef SG_LLM_INTERNAL_H
#define SG_LLM_INTERNAL_H

#include "base/base.h"
#include "llm/llm.h"

#define SG_MAX_RESPONSE (64u << 20) /* a server's answer, at most */
/* http.c: JSON POSTs to an OpenAI-compatible server, many in flight,
 * with retries; see the top of http.c for what is retried and how */
struct sg_http_result {
	void *ctx;	    /* as given to sg_http_post */
	long status;	    /* the last HTTP status, 0 when none */
	const json_t *body; /* the JSON object of a 2xx answer, else NULL */
	const char *error;  /* why it failed, or NULL */
	int attempts;
	enum sg_llm_fault fault; /* with error */
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
/* One request, now and once: a GET of path when body is NULL, else a
 * POST of it.  0 with the answer's status and body (malloc'd) in *status
 * and *resp; -1 and e when the server was not reached (no such host,
 * connection refused, TLS refused), -2 and e when it gave no answer. */
int sg_http_once(struct sg_http *h, const char *path, const json_t *body,
	long *status, char **resp, struct sg_error *e);
/* The server as the answer cache tells servers apart: the base URL
 * without a trailing slash, a user name or a password, then the
 * OpenAI-Organization and OpenAI-Project headers sent, if any. */
const char *sg_http_server(const struct sg_http *h);
/* Every stretch of s holding 8 or more characters of the key replaced
 * by "***" (sg_mask). */
void sg_http_scrub(const struct sg_http *h, char *s);
/* From done: make sg_http_run return once the completions at hand are
 * handled; what is queued or in flight stays for the next run. */
void sg_http_stop(struct sg_http *h);
/* From any thread: make sg_http_run return soon, as sg_http_stop does. */
void sg_http_wake(struct sg_http *h);
/* Whether requests are queued or in flight. */
int sg_http_busy(const struct sg_http *h);
/* What an error body says beyond its message. */
enum { SG_HTTP_PLAIN, SG_HTTP_QUOTA, SG_HTTP_NO_MODEL };
/* The message of an error body in any of the shapes servers use
 * ({"error":{"message"}}, {"error":"..."}, {"object":"error","message"},
 * {"detail"}), else its start; *what SG_HTTP_QUOTA when it says the quota
 * is spent, SG_HTTP_NO_MODEL when the model asked for is not there. */
void sg_http_error_text(
	const char *body, size_t len, char *out, size_t size, int *what);
/* Seconds to wait from one header line (Retry-After in seconds or as an
 * HTTP date, retry-after-ms), -1 when it is neither; *ms for the latter. */
double sg_http_retry_after(const char *line, size_t len, int *ms);

#endif
