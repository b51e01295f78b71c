/*
 * llm-internal.h - what llm.c asks of http.c, and http.c of libcurl.c;
 * not exported.
 */
#ifndef SG_LLM_INTERNAL_H
#define SG_LLM_INTERNAL_H

#include <curl/curl.h>

#include "base/base.h"
#include "llm/llm.h"

/* libcurl.c: the functions of libcurl that http.c calls, resolved when
 * sg_curl_load first runs (sg_http_new calls it): 0, or -1 and e naming
 * the library and why it could not be loaded. */
struct sg_curl {
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_reset) *easy_reset;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_getdate) *getdate;
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_assign) *multi_assign;
	__typeof__(curl_multi_cleanup) *multi_cleanup;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_multi_init) *multi_init;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_setopt) *multi_setopt;
	__typeof__(curl_multi_socket_action) *multi_socket_action;
	__typeof__(curl_multi_strerror) *multi_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
};
extern struct sg_curl sg_curl;
/* curl.h checks each option's value against the option's type in macros
 * (typecheck-gcc.h) that end in a call of curl_easy_setopt or
 * curl_easy_getinfo by name; these keep the check by giving that name to
 * the function loaded, in a scope of their own.  Its warnings come from a
 * system header: the Makefile builds http.c with -Wsystem-headers. */
#define sg_curl_setopt(c, opt, v)                                              \
	__extension__({                                                        \
		__typeof__(sg_curl.easy_setopt) const curl_easy_setopt =       \
			sg_curl.easy_setopt;                                   \
		curl_easy_setopt(c, opt, v);                                   \
	})
#define sg_curl_getinfo(c, info, p)                                            \
	__extension__({                                                        \
		__typeof__(sg_curl.easy_getinfo) const curl_easy_getinfo =     \
			sg_curl.easy_getinfo;                                  \
		curl_easy_getinfo(c, info, p);                                 \
	})

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
 * HTTP date, retry-after-ms), -1 when it is neither; *ms for the latter.
 * A date is read by libcurl: sg_curl_load first. */
double sg_http_retry_after(const char *line, size_t len, int *ms);

#endif
