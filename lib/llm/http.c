/*
 * http.c - JSON POSTs to one OpenAI-compatible server over libcurl's multi
 * interface (libcurl.c loads it on the first sg_http_new): a bounded pool of
 * connections, requests answered as they complete, and every fault a
 * hosted API produces retried or reported.
 *
 * Retried: connection errors, timeouts, 408, 409, 425, 429, 5xx and 2xx
 * bodies that are not JSON (a connection cut mid-body).  Never: other 4xx,
 * nor a 429 saying the quota is exhausted, which waiting cannot fix.  A
 * request that fails is the server's fault when another request would
 * fail the same way: no answer, a refused key (401, 403), a path the
 * server lacks (404), a spent quota, a fault still there after every
 * retry; the model's when the server has no such model; else the
 * request's own (400, 413, 422: its content).  A
 * retry waits what the server asks (retry-after-ms, Retry-After in seconds
 * or as an HTTP date, up to a minute), else min(cap, 0.5 * 2^k) seconds
 * times a random factor in [0.75, 1].  A 429 also pauses new requests
 * until the wait is over and halves the requests in flight, which grow
 * back by one each time as many requests succeed as are allowed in flight
 * (additive increase, multiplicative decrease, as TCP does).
 *
 * The API key goes only into the Authorization header: curl never runs
 * verbose, and any text from the server is masked of the key, whole or in
 * part (sg_mask), before it becomes an error message.  $OPENAI_ORG_ID and
 * $OPENAI_PROJECT_ID, when set, go as the OpenAI-Organization and
 * OpenAI-Project headers, as OpenAI's own libraries send them.
 *
 * The loop runs on libcurl's socket interface: curl names the sockets it
 * waits on and one timer, the loop waits for them in one epoll(7) set
 * and hands curl only the sockets that are ready, so a completion costs
 * the same at 64 connections as at one.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <curl/curl.h>

#include "base/base.h"
#include "record/record.h"
#include "llm/llm-internal.h"

#define MAX_WAIT 60.0 /* a longer Retry-After is not believed */

/* The variables whose values go as headers of every request. */
static const char *const account[][2] = {
	{"OPENAI_ORG_ID", "OpenAI-Organization"},
	{"OPENAI_PROJECT_ID", "OpenAI-Project"},
};
#define NACCOUNT (sizeof account / sizeof *account)

struct req {
	char *url, *body;
	void *ctx;
	int attempt;
	double not_before; /* monotonic seconds */
	CURL *easy;
	struct curl_slist *hdrs;
	char *resp;
	size_t len, cap;
	double retry_after; /* from the last response's headers, or -1 */
	int toolarge;	    /* the body passed SG_MAX_RESPONSE */
	char errbuf[CURL_ERROR_SIZE];
	struct req *next;
};

struct sg_http {
	struct sg_http_opts o;
	char *base, *auth;
	char *account[NACCOUNT]; /* "OpenAI-Project: ...", or NULL */
	char *server;		 /* sg_http_server's */
	CURLM *multi;
	int epoll;		  /* curl's sockets and wakefd */
	int wakefd;		  /* an eventfd sg_http_wake writes */
	double timer_at;	  /* curl's timer, monotonic seconds, or -1 */
	struct req *queue, *tail; /* waiting to be sent, FIFO */
	int inflight, limit;
	int credit; /* successes since the limit last moved */
	int stop;   /* sg_http_stop: return once the completions are handled */
	atomic_int woken; /* sg_http_wake: return now */
	double pause_until;
	struct sg_rng rng;
	struct sg_http_stats stats;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* url into b without the user name and password it may hold. */
static void
add_url(struct sg_buf *b, const char *url)
{
	const char *host = strstr(url, "://"), *end, *at = NULL;

	host = host ? host + 3 : url;
	end = host + strcspn(host, "/?#");
	for (const char *p = host; p < end; p++)
		if (*p == '@')
			at = p;
	if (!at) {
		sg_buf_add(b, url, strlen(url));
		return;
	}
	sg_buf_add(b, url, (size_t)(host - url));
	sg_buf_add(b, at + 1, strlen(at + 1));
}

/* The headers of the account the environment names, and the server as
 * the answer cache tells servers apart: 0, or -1 and e. */
static int
add_account(struct sg_http *h, struct sg_error *e)
{
	struct sg_buf server = {NULL, 0, 0};
	const char *v;
	size_t n;

	add_url(&server, h->base);
	for (size_t i = 0; i < NACCOUNT; i++) {
		if (!(v = getenv(account[i][0])) || !*v)
			continue;
		if (strpbrk(v, "\r\n")) {
			sg_seterr(e, "%s holds a line break", account[i][0]);
			free(server.p);
			return -1;
		}
		n = strlen(account[i][1]) + strlen(v) + 3;
		h->account[i] = sg_xmalloc(n);
		snprintf(h->account[i], n, "%s: %s", account[i][1], v);
		sg_buf_add(&server, " ", 1);
		sg_buf_add(&server, h->account[i], n - 1);
	}
	h->server = server.p;
	return 0;
}

/* The epoll set with the wake-up eventfd in it: 0, or -1 and e. */
static int
watch_init(struct sg_http *h, struct sg_error *e)
{
	struct epoll_event ev = {.events = EPOLLIN};

	if ((h->epoll = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		(h->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		sg_seterr(
			e, "cannot wait for connections: %s", strerror(errno));
		return -1;
	}
	ev.data.fd = h->wakefd;
	if (epoll_ctl(h->epoll, EPOLL_CTL_ADD, h->wakefd, &ev) < 0) {
		sg_seterr(
			e, "cannot wait for connections: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: s into the epoll set for what curl waits on,
 * or out of it.  curl_multi_assign marks a socket already in the set. */
static int
on_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *in_set)
{
	struct sg_http *h = arg;
	struct epoll_event ev = {0};

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		/* curl may have closed it already, which removed it */
		epoll_ctl(h->epoll, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
		    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.fd = s;
	if (in_set)
		return epoll_ctl(h->epoll, EPOLL_CTL_MOD, s, &ev) < 0 ? -1 : 0;
	if (epoll_ctl(h->epoll, EPOLL_CTL_ADD, s, &ev) < 0)
		return -1;
	sg_curl.multi_assign(h->multi, s, h);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: when curl wants CURL_SOCKET_TIMEOUT, if ever. */
static int
on_timer(CURLM *multi, long ms, void *arg)
{
	struct sg_http *h = arg;

	(void)multi;
	h->timer_at = ms < 0 ? -1 : now() + (double)ms / 1000;
	return 0;
}

struct sg_http *
sg_http_new(const struct sg_http_opts *o, struct sg_error *e)
{
	struct sg_http *h;
	size_t n;

	if (sg_curl_load(e) < 0)
		return NULL;
	h = sg_xmalloc(sizeof *h);
	memset(h, 0, sizeof *h);
	h->o = *o;
	if (h->o.jobs < 1)
		h->o.jobs = 1;
	if (h->o.backoff_cap <= 0)
		h->o.backoff_cap = 8;
	h->limit = h->o.jobs;
	h->epoll = h->wakefd = -1;
	h->timer_at = -1;
	h->base = sg_xstrdup(o->base_url);
	n = strlen(h->base);
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	if (add_account(h, e) < 0) {
		sg_http_free(h);
		return NULL;
	}
	if (o->api_key && *o->api_key) {
		n = strlen(o->api_key) + 32;
		h->auth = sg_xmalloc(n);
		snprintf(h->auth, n, "Authorization: Bearer %s", o->api_key);
		h->o.api_key = sg_xstrdup(o->api_key);
		sg_secret(o->api_key);
	} else {
		h->o.api_key = NULL;
	}
	if (watch_init(h, e) < 0) {
		sg_http_free(h);
		return NULL;
	}
	h->multi = sg_curl.multi_init();
	sg_curl.multi_setopt(
		h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)h->o.jobs);
	sg_curl.multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	sg_curl.multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	sg_curl.multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	sg_curl.multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	sg_rng_seed(&h->rng, sg_rng_fresh_seed());
	return h;
}

static void
req_free(struct req *r)
{
	if (r->easy)
		sg_curl.easy_cleanup(r->easy);
	sg_curl.slist_free_all(r->hdrs);
	free(r->url);
	free(r->body);
	free(r->resp);
	free(r);
}

void
sg_http_free(struct sg_http *h)
{
	struct req *r, *next;

	if (!h)
		return;
	for (r = h->queue; r; r = next) {
		next = r->next;
		req_free(r);
	}
	sg_curl.multi_cleanup(h->multi);
	if (h->epoll >= 0)
		close(h->epoll);
	if (h->wakefd >= 0)
		close(h->wakefd);
	if (h->auth)
		memset(h->auth, 0, strlen(h->auth));
	if (h->o.api_key)
		memset((char *)h->o.api_key, 0, strlen(h->o.api_key));
	free((char *)h->o.api_key);
	free(h->auth);
	free(h->base);
	for (size_t i = 0; i < NACCOUNT; i++)
		free(h->account[i]);
	free(h->server);
	free(h);
}

const char *
sg_http_server(const struct sg_http *h)
{
	return h->server;
}

void
sg_http_stop(struct sg_http *h)
{
	h->stop = 1;
}

void
sg_http_wake(struct sg_http *h)
{
	atomic_store(&h->woken, 1);
	/* fails only when the counter is full, a wake-up pending anyway */
	eventfd_write(h->wakefd, 1);
}

int
sg_http_busy(const struct sg_http *h)
{
	return h->queue || h->inflight > 0;
}

const struct sg_http_stats *
sg_http_stats(const struct sg_http *h)
{
	return &h->stats;
}

static void
enqueue(struct sg_http *h, struct req *r)
{
	r->next = NULL;
	if (h->tail)
		h->tail->next = r;
	else
		h->queue = r;
	h->tail = r;
}

void
sg_http_post(struct sg_http *h, const char *path, const json_t *body, void *ctx)
{
	struct req *r = sg_xmalloc(sizeof *r);
	size_t n = strlen(h->base) + strlen(path) + 2;

	memset(r, 0, sizeof *r);
	r->url = sg_xmalloc(n);
	snprintf(r->url, n, "%s/%s", h->base, path[0] == '/' ? path + 1 : path);
	r->body = json_dumps(body, JSON_COMPACT);
	r->ctx = ctx;
	enqueue(h, r);
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb;

	if (r->len + n > SG_MAX_RESPONSE) {
		r->toolarge = 1;
		return 0; /* curl ends the transfer */
	}
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		r->resp = sg_xrealloc(r->resp, r->cap);
	}
	memcpy(r->resp + r->len, p, n);
	r->len += n;
	r->resp[r->len] = '\0';
	return n;
}

/* The value of header name in line, or NULL. */
static const char *
header(const char *line, size_t len, const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	len -= n + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
				  line[len - 1] == ' '))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	return buf;
}

double
sg_http_retry_after(const char *line, size_t len, int *ms)
{
	char v[128], *end;
	double d;

	*ms = header(line, len, "retry-after-ms", v, sizeof v) != NULL;
	if (!*ms && !header(line, len, "retry-after", v, sizeof v))
		return -1;
	d = strtod(v, &end);
	if (end != v && *end == '\0' && d >= 0)
		return *ms ? d / 1000 : d;
	if (*ms)
		return -1;
	{
		time_t t = sg_curl.getdate(v, NULL);

		return t == -1 ? -1 : fmax(0, difftime(t, time(NULL)));
	}
}

/* retry-after-ms wins over Retry-After, whichever comes first. */
static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb;
	int ms;
	double d = sg_http_retry_after(p, n, &ms);

	if (d >= 0 && (ms || r->retry_after < 0))
		r->retry_after = d;
	return n;
}

/* The easy handle of r set up for its next attempt. */
static void
setup(struct sg_http *h, struct req *r)
{
	CURL *c = r->easy ? r->easy : sg_curl.easy_init();

	r->easy = c;
	sg_curl.easy_reset(c);
	r->len = 0;
	r->toolarge = 0;
	if (r->resp)
		r->resp[0] = '\0';
	r->retry_after = -1;
	r->errbuf[0] = '\0';
	if (!r->hdrs) {
		r->hdrs = sg_curl.slist_append(
			NULL, "Content-Type: application/json");
		r->hdrs = sg_curl.slist_append(
			r->hdrs, "Accept: application/json");
		r->hdrs = sg_curl.slist_append(r->hdrs, "Expect:");
		if (h->auth)
			r->hdrs = sg_curl.slist_append(r->hdrs, h->auth);
		for (size_t i = 0; i < NACCOUNT; i++)
			if (h->account[i])
				r->hdrs = sg_curl.slist_append(
					r->hdrs, h->account[i]);
	}
	sg_curl_setopt(c, CURLOPT_URL, r->url);
	sg_curl_setopt(c, CURLOPT_HTTPHEADER, r->hdrs);
	sg_curl_setopt(c, CURLOPT_POSTFIELDS, r->body);
	sg_curl_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	sg_curl_setopt(c, CURLOPT_WRITEDATA, r);
	sg_curl_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	sg_curl_setopt(c, CURLOPT_HEADERDATA, r);
	sg_curl_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	sg_curl_setopt(c, CURLOPT_PRIVATE, r);
	sg_curl_setopt(c, CURLOPT_NOSIGNAL, 1L);
	sg_curl_setopt(c, CURLOPT_USERAGENT, "sg/" SG_VERSION);
	sg_curl_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	sg_curl_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	if (h->o.timeout > 0)
		sg_curl_setopt(
			c, CURLOPT_TIMEOUT_MS, (long)(h->o.timeout * 1000));
	if (h->o.stall > 0) {
		sg_curl_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		sg_curl_setopt(
			c, CURLOPT_LOW_SPEED_TIME, (long)ceil(h->o.stall));
	}
	r->attempt++;
}

static void
start(struct sg_http *h, struct req *r)
{
	setup(h, r);
	h->stats.attempts++;
	h->inflight++;
	sg_curl.multi_add_handle(h->multi, r->easy);
}

/* Every stretch of s holding 8 or more characters of the key masked. */
void
sg_http_scrub(const struct sg_http *h, char *s)
{
	sg_mask(s, h->o.api_key);
}

/* The message of an error body in any of the shapes servers use:
 * {"error":{"message":...}}, {"error":"..."}, {"object":"error",
 * "message":...}, {"detail":...}; else the start of the body itself. */
void
sg_http_error_text(
	const char *body, size_t len, char *out, size_t size, int *what)
{
	json_t *j = len ? json_loadb(body, len, JSON_DECODE_ANY, NULL) : NULL;
	json_t *err = json_object_get(j, "error");
	const char *msg = NULL, *code = NULL, *type = NULL;

	if (json_is_object(err)) {
		msg = sg_get_str(err, "message");
		code = sg_get_str(err, "code");
		type = sg_get_str(err, "type");
	} else if (json_is_string(err)) {
		msg = json_string_value(err);
	} else if (json_is_object(j)) {
		msg = sg_get_str(j, "message");
		if (!msg)
			msg = sg_get_str(j, "detail");
		code = sg_get_str(j, "code");
		type = sg_get_str(j, "type");
	}
	if (msg)
		snprintf(out, size, "%s", msg);
	else if (len > 0)
		snprintf(out, size, "%.*s", (int)(len < 200 ? len : 200), body);
	else
		snprintf(out, size, "empty body");
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	if ((code && strcmp(code, "insufficient_quota") == 0) ||
		(type && strcmp(type, "insufficient_quota") == 0) ||
		(msg && (strstr(msg, "exceeded your current quota") ||
				strstr(msg, "quota exceeded") ||
				strstr(msg, "Quota exceeded"))))
		*what = SG_HTTP_QUOTA;
	/* OpenAI's code; vLLM, Ollama and LM Studio say it in words */
	else if ((code && strcmp(code, "model_not_found") == 0) ||
		 (msg && (strstr(msg, "model") || strstr(msg, "Model")) &&
			 (strstr(msg, "not found") ||
				 strstr(msg, "does not exist"))))
		*what = SG_HTTP_NO_MODEL;
	else
		*what = SG_HTTP_PLAIN;
	json_decref(j);
}

static int
retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_BAD_CONTENT_ENCODING:
		return 1;
	default:
		return 0;
	}
}

static int
retryable_status(long s)
{
	return s == 408 || s == 409 || s == 425 || s == 429 || s >= 500;
}

static double
backoff(struct sg_http *h, const struct req *r)
{
	double d = 0.5 * pow(2, r->attempt - 1);

	if (r->retry_after >= 0 && r->retry_after <= MAX_WAIT)
		return r->retry_after;
	return fmin(h->o.backoff_cap, d) *
	       (0.75 + 0.25 * sg_rng_uniform(&h->rng));
}

/* Whose fault a final error status is; what: sg_http_error_text's. */
static enum sg_llm_fault
status_fault(long status, int what)
{
	if (what == SG_HTTP_NO_MODEL)
		return SG_FAULT_ARM;
	if (status == 400 || status == 413 || status == 422)
		return SG_FAULT_CONTENT;
	return SG_FAULT_SERVER;
}

/* A request's attempt ended: retry it, or hand its result over. */
static void
finish(struct sg_http *h, struct req *r, CURLcode rc, sg_http_done_fn done,
	void *arg)
{
	struct sg_http_result res = {
		r->ctx, 0, NULL, NULL, r->attempt, SG_FAULT_SERVER};
	json_t *body = NULL;
	char why[600], msg[512];
	int retry = 0, what = SG_HTTP_PLAIN;
	json_error_t je;

	sg_curl_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
	if (r->toolarge) {
		snprintf(why, sizeof why, "response larger than %u bytes",
			SG_MAX_RESPONSE);
		res.fault = SG_FAULT_CONTENT;
	} else if (rc != CURLE_OK) {
		snprintf(why, sizeof why, "%s",
			r->errbuf[0] ? r->errbuf : sg_curl.easy_strerror(rc));
		retry = retryable_curl(rc);
	} else if (res.status >= 200 && res.status < 300) {
		body = json_loadb(r->resp ? r->resp : "", r->len, 0, &je);
		if (!json_is_object(body)) {
			snprintf(why, sizeof why,
				"HTTP %ld with a body that is not a JSON object"
				" (%s)",
				res.status, body ? "not an object" : je.text);
			json_decref(body);
			body = NULL;
			retry = 1;
		}
	} else {
		sg_http_error_text(r->resp, r->len, msg, sizeof msg, &what);
		snprintf(why, sizeof why, "HTTP %ld: %s", res.status, msg);
		retry = retryable_status(res.status) && what != SG_HTTP_QUOTA;
		res.fault = retry ? SG_FAULT_SERVER
				  : status_fault(res.status, what);
	}
	sg_http_scrub(h, why);
	if (!body && retry && r->attempt <= h->o.retries) {
		double wait = backoff(h, r), t = now();

		r->not_before = t + wait;
		h->stats.retries++;
		if (res.status == 429) {
			h->stats.throttled++;
			if (r->not_before > h->pause_until)
				h->pause_until = r->not_before;
			h->limit = h->limit > 1 ? h->limit / 2 : 1;
			h->credit = 0;
		}
		if (h->o.on_retry)
			h->o.on_retry(h->o.retry_ctx, why, r->attempt, wait);
		enqueue(h, r);
		return;
	}
	res.body = body;
	if (body) {
		res.fault = SG_FAULT_NONE;
		h->stats.ok++;
		if (h->limit < h->o.jobs && ++h->credit >= h->limit) {
			h->limit++;
			h->credit = 0;
		}
	} else {
		h->stats.failed++;
		res.error = why;
	}
	done(arg, &res);
	json_decref(body);
	req_free(r);
}

/* The first request in the queue whose wait is over, unlinked. */
static struct req *
next_ready(struct sg_http *h, double t, double *soonest)
{
	struct req *r, *prev = NULL;

	for (r = h->queue; r; prev = r, r = r->next) {
		if (r->not_before <= t) {
			if (prev)
				prev->next = r->next;
			else
				h->queue = r->next;
			if (h->tail == r)
				h->tail = prev;
			return r;
		}
		if (r->not_before < *soonest)
			*soonest = r->not_before;
	}
	return NULL;
}

/* Hand curl the socket s that is ready (or the timer when s is
 * CURL_SOCKET_TIMEOUT) and every transfer that ended to finish; the
 * number that ended, or -1 and e. */
static int
act(struct sg_http *h, curl_socket_t s, int ready, sg_http_done_fn done,
	void *arg, struct sg_error *e)
{
	int running, left, n = 0;
	struct req *r;
	CURLMsg *m;
	CURLMcode mc;

	if ((mc = sg_curl.multi_socket_action(h->multi, s, ready, &running)) !=
		CURLM_OK) {
		sg_seterr(e, "libcurl: %s", sg_curl.multi_strerror(mc));
		return -1;
	}
	while ((m = sg_curl.multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		sg_curl_getinfo(m->easy_handle, CURLINFO_PRIVATE, &r);
		sg_curl.multi_remove_handle(h->multi, m->easy_handle);
		h->inflight--;
		finish(h, r, m->data.result, done, arg);
		n++;
	}
	return n;
}

int
sg_http_run(
	struct sg_http *h, sg_http_done_fn done, void *arg, struct sg_error *e)
{
	struct epoll_event ev[64];
	struct req *r;
	eventfd_t woke;
	int n, ended;

	h->stop = 0;
	while ((h->queue || h->inflight > 0) && !h->stop) {
		double t = now(), soonest = t + 1;
		int wait_ms;

		while (h->inflight < h->limit && t >= h->pause_until &&
			(r = next_ready(h, t, &soonest)))
			start(h, r);
		if (h->pause_until > t && h->pause_until < soonest)
			soonest = h->pause_until;
		ended = 0;
		/* The timer stays set: curl moves it through on_timer, and
		 * leaves it alone when its next timeout is the same one. */
		if (h->timer_at >= 0 && h->timer_at <= now() &&
			(ended = act(h, CURL_SOCKET_TIMEOUT, 0, done, arg, e)) <
				0)
			return -1;
		if (h->stop || atomic_exchange(&h->woken, 0))
			break;
		/* After a completion, go round at once to start the next. */
		if (ended > 0)
			continue;
		if (h->timer_at >= 0 && h->timer_at < soonest)
			soonest = h->timer_at;
		wait_ms = (int)ceil((soonest - now()) * 1000);
		if (wait_ms > 1000)
			wait_ms = 1000;
		if (wait_ms < 0)
			wait_ms = 0;
		if ((n = epoll_wait(h->epoll, ev, 64, wait_ms)) < 0 &&
			errno != EINTR) {
			sg_seterr(e, "cannot wait for connections: %s",
				strerror(errno));
			return -1;
		}
		/* a socket left ready stays so for the next run */
		for (int i = 0; i < n && !h->stop; i++) {
			int fd = ev[i].data.fd, ready = 0;

			if (fd == h->wakefd) {
				eventfd_read(h->wakefd, &woke);
				continue;
			}
			if (ev[i].events & EPOLLIN)
				ready |= CURL_CSELECT_IN;
			if (ev[i].events & EPOLLOUT)
				ready |= CURL_CSELECT_OUT;
			if (ev[i].events & (EPOLLERR | EPOLLHUP))
				ready |= CURL_CSELECT_ERR;
			if (act(h, fd, ready, done, arg, e) < 0)
				return -1;
		}
		if (h->stop || atomic_exchange(&h->woken, 0))
			break;
	}
	return 0;
}

/* Errors that say the server was never reached. */
static int
unreachable(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		return 1;
	default:
		return 0;
	}
}

int
sg_http_once(struct sg_http *h, const char *path, const json_t *body,
	long *status, char **resp, struct sg_error *e)
{
	struct req *r;
	CURLcode rc;
	int ret = 0;

	sg_http_post(h, path, body, NULL);
	r = h->queue;
	h->queue = h->tail = NULL;
	setup(h, r);
	if (!body)
		sg_curl_setopt(r->easy, CURLOPT_HTTPGET, 1L);
	rc = sg_curl.easy_perform(r->easy);
	*status = 0;
	*resp = NULL;
	if (rc != CURLE_OK && !r->toolarge) {
		sg_seterr(e, "%s",
			r->errbuf[0] ? r->errbuf : sg_curl.easy_strerror(rc));
		sg_http_scrub(h, e->text);
		ret = unreachable(rc) ? -1 : -2;
	} else {
		sg_curl_getinfo(r->easy, CURLINFO_RESPONSE_CODE, status);
		*resp = r->resp ? r->resp : sg_xstrdup("");
		r->resp = NULL;
	}
	req_free(r);
	return ret;
}
