/*
 * llm.c - chat completions and embeddings through http.c with a response
 * cache (the configuration from the environment is env.c's).
 *
 * The cache is a directory of files, one per request, named by a hash of
 * its key: the server (sg_http_server: the base URL, and the organization
 * and project when set), the sample's index and the request body (model,
 * messages, parameters, seed); each holds that key in full, so a hash
 * collision is a miss, not a wrong answer.  Files are written to a
 * temporary name and renamed, so processes sharing the directory never
 * read half an entry.  A thread of its own stores the answers, as many
 * together as have come in while it stored the last ones, each group
 * made durable by one syncfs(2); an answer is handed to the caller only
 * once it is, so a crash never loses one a sample was made of, and the
 * requests in flight never wait for the disk.  Only answers a sample can
 * be made of are stored (see unusable); nothing of the API key is.  An
 * entry of an older sg, whose key named no server, is never used: it may
 * be another server's answer; the misses it would have answered are
 * counted, for the tools to say so.
 *
 * The Batch API: in export mode a request the cache cannot answer is
 * written as a line of a Batch API input file instead of sent, its key
 * kept in the cache as HASH.request; its custom_id "sg-HASH" names the
 * cache entry, so a line of the output file is stored under exactly the
 * key of its request, and the next run finds it there.
 */
#define _GNU_SOURCE /* syncfs */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record.h"
#include "llm/llm-internal.h"

struct call {
	void *ctx;
	char *key, *path; /* the cache key and file; NULL without a cache */
	json_t *response; /* a cache hit, or an answer to store, to deliver */
	char *entry;	  /* the cache entry of an answer to store */
	int deferred;	  /* written to the batch file: no answer now */
	int embed;	  /* an /embeddings request */
	struct call *next;
};

struct sg_llm {
	struct sg_http *http;
	char *cache;
	struct call *hits, *hits_tail;
	sg_llm_done_fn done;
	void *arg;
	long long requests, cached;
	long long stale; /* misses an older sg's entry would have answered */
	long long outstanding, left; /* asked and not answered; run's bound */
	FILE *batch;		     /* export mode: the Batch API input file */
	struct sg_map *ids;	     /* the custom_ids written to it */
	long long exported;
	int batch_err; /* a request's key could not be kept */
	/* the storing thread's: answers to store, and those stored and
	 * durable, to deliver; both FIFO */
	pthread_t writer;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct call *todo, *todo_tail, *kept, *kept_tail;
	long long storing; /* answers in todo or being stored */
	int writing, quit; /* the thread runs; it is to end */
};

static const char deferred_error[] =
	"deferred: the request is in the Batch API file, awaiting its answer";

/* Why an answer gives no sample, or NULL: a chat answer without text in
 * choices[0].message.content ("choices": [], "content": null), an
 * embeddings answer without data[0].embedding.  Such an answer is
 * delivered as an error and never cached: a run against a server that
 * has recovered asks again. */
static const char *
unusable(const json_t *resp, int embed)
{
	json_t *first;

	if (embed) {
		first = json_array_get(json_object_get(resp, "data"), 0);
		return json_is_array(json_object_get(first, "embedding"))
			       ? NULL
			       : "the answer has no data[0].embedding";
	}
	first = json_array_get(json_object_get(resp, "choices"), 0);
	return json_is_string(json_object_get(
		       json_object_get(first, "message"), "content"))
		       ? NULL
		       : "the answer has no choices[0].message.content";
}

/* c at the end of the list from *head to *tail. */
static void
append(struct call **head, struct call **tail, struct call *c)
{
	c->next = NULL;
	if (*tail)
		(*tail)->next = c;
	else
		*head = c;
	*tail = c;
}

static void
call_free(struct call *c)
{
	json_decref(c->response);
	free(c->key);
	free(c->path);
	free(c);
}

static void
deliver(struct sg_llm *l, struct call *c, const json_t *resp, const char *error,
	enum sg_llm_fault fault, int cached)
{
	struct sg_llm_reply r = {c->ctx, NULL, resp, error, cached, 0, 0,
		c->deferred, NULL, NULL, error ? fault : SG_FAULT_NONE};
	json_t *usage = json_object_get(resp, "usage");
	json_t *msg = sg_path(resp, "choices");

	r.finish_reason = sg_get_str(json_array_get(msg, 0), "finish_reason");
	msg = json_object_get(json_array_get(msg, 0), "message");
	r.content = sg_get_str(msg, "content");
	r.prompt_tokens = sg_get_int(usage, "prompt_tokens", 0);
	r.completion_tokens = sg_get_int(usage, "completion_tokens", 0);
	if (c->embed)
		r.embedding = json_object_get(
			json_array_get(json_object_get(resp, "data"), 0),
			"embedding");
	if (resp && !error && (r.error = unusable(resp, c->embed)))
		r.fault = SG_FAULT_CONTENT;
	l->outstanding--;
	l->done(l->arg, &r);
	call_free(c);
}

/* The cache hits, then the answers stored since the last flush. */
static void
flush_hits(struct sg_llm *l)
{
	struct call *c, *kept = NULL;

	while ((c = l->hits)) {
		l->hits = c->next;
		if (!l->hits)
			l->hits_tail = NULL;
		deliver(l, c, c->response, c->deferred ? deferred_error : NULL,
			SG_FAULT_NONE, !c->deferred);
	}
	if (l->writing) {
		pthread_mutex_lock(&l->lock);
		kept = l->kept;
		l->kept = l->kept_tail = NULL;
		pthread_mutex_unlock(&l->lock);
	}
	while ((c = kept)) {
		kept = c->next;
		deliver(l, c, c->response, NULL, SG_FAULT_NONE, 0);
	}
}

/* The text of the cache entry of key, malloc'd. */
static char *
cache_entry(const char *key, const json_t *response)
{
	json_t *entry =
		json_pack("{s:s, s:O}", "key", key, "response", response);
	char *text = json_dumps(entry, JSON_COMPACT);

	json_decref(entry);
	return text;
}

static int
cache_put(const char *path, const char *key, const json_t *response,
	struct sg_error *e)
{
	char *text = cache_entry(key, response);
	int rc = sg_write_atomic(path, text, strlen(text), e);

	free(text);
	return rc;
}

/* The storing thread: each group of answers written, made durable at
 * once, and handed back to the event loop, which it wakes.  A cache that
 * cannot be written costs only speed: the answers go on all the same. */
static void *
writer(void *arg)
{
	struct sg_llm *l = arg;
	struct call *group, *c, *next;
	struct sg_error e;
	long long n;
	int dir = open(l->cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (!l->todo && !l->quit)
			pthread_cond_wait(&l->cond, &l->lock);
		if (!(group = l->todo))
			break;
		l->todo = l->todo_tail = NULL;
		pthread_mutex_unlock(&l->lock);
		for (c = group; c; c = c->next)
			sg_write_renamed(
				c->path, c->entry, strlen(c->entry), &e);
		if (dir >= 0)
			syncfs(dir);
		pthread_mutex_lock(&l->lock);
		for (n = 0, c = group; c; c = next, n++) {
			next = c->next;
			free(c->entry);
			c->entry = NULL;
			append(&l->kept, &l->kept_tail, c);
		}
		l->storing -= n;
		pthread_cond_broadcast(&l->cond);
		sg_http_wake(l->http);
	}
	pthread_mutex_unlock(&l->lock);
	if (dir >= 0)
		close(dir);
	return NULL;
}

/* The answer of c stored in the cache before it is delivered: by the
 * storing thread, started at the first, else at once. */
static void
store(struct sg_llm *l, struct call *c, const json_t *response)
{
	struct sg_error e;

	if (!l->writing && pthread_create(&l->writer, NULL, writer, l) == 0)
		l->writing = 1;
	if (!l->writing) {
		cache_put(c->path, c->key, response, &e);
		deliver(l, c, response, NULL, SG_FAULT_NONE, 0);
		return;
	}
	c->response = json_incref((json_t *)response);
	c->entry = cache_entry(c->key, response);
	pthread_mutex_lock(&l->lock);
	append(&l->todo, &l->todo_tail, c);
	l->storing++;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* Wait until the storing thread hands answers back; 0 when it holds
 * none. */
static int
await_stored(struct sg_llm *l)
{
	int any;

	if (!l->writing)
		return 0;
	pthread_mutex_lock(&l->lock);
	while (!l->kept && l->storing > 0)
		pthread_cond_wait(&l->cond, &l->lock);
	any = l->kept != NULL;
	pthread_mutex_unlock(&l->lock);
	return any;
}

static void
on_done(void *arg, const struct sg_http_result *r)
{
	struct sg_llm *l = arg;
	struct call *c = r->ctx;

	if (r->body && !r->error && c->path && !unusable(r->body, c->embed))
		store(l, c, r->body);
	else
		deliver(l, c, r->body, r->error, r->fault, 0);
	flush_hits(l);
	if (l->outstanding <= l->left)
		sg_http_stop(l->http);
}

struct sg_llm *
sg_llm_new(
	const struct sg_http_opts *o, const char *cache_dir, struct sg_error *e)
{
	struct sg_llm *l;
	struct sg_http *h;

	if (!(h = sg_http_new(o, e)))
		return NULL;
	l = sg_xmalloc(sizeof *l);
	memset(l, 0, sizeof *l);
	l->http = h;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	if (cache_dir) {
		l->cache = sg_xstrdup(cache_dir);
		if (sg_mkdirs(l->cache) < 0) {
			sg_seterr(e, "cannot create cache directory '%s': %s",
				cache_dir, strerror(errno));
			sg_llm_free(l);
			return NULL;
		}
	}
	return l;
}

void
sg_llm_free(struct sg_llm *l)
{
	struct call *c;

	if (!l)
		return;
	if (l->writing) {
		/* what is left to store is stored, never delivered */
		pthread_mutex_lock(&l->lock);
		l->quit = 1;
		pthread_cond_signal(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->writer, NULL);
		while ((c = l->kept)) {
			l->kept = c->next;
			call_free(c);
		}
	}
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	sg_http_free(l->http);
	sg_map_free(l->ids);
	free(l->cache);
	free(l);
}

/* An answer to deliver at the next flush, in the order queued. */
static void
queue(struct sg_llm *l, struct call *c)
{
	append(&l->hits, &l->hits_tail, c);
}

/* The request as a line of the Batch API input file, once per custom_id,
 * its key beside the cache entry its answer will fill. */
static void
defer(struct sg_llm *l, struct call *c, const char *path, const json_t *body)
{
	uint64_t h = sg_hash64(c->key, strlen(c->key));
	size_t n = strlen(c->path) + 8;
	char id[32], url[64], *req;
	struct sg_error e;
	json_t *line;

	c->deferred = 1;
	queue(l, c);
	if (sg_map_get(l->ids, h))
		return;
	sg_map_put(l->ids, h);
	snprintf(id, sizeof id, "sg-%016llx", (unsigned long long)h);
	snprintf(url, sizeof url, "/v1/%s", path);
	line = json_pack("{s:s, s:s, s:s, s:O}", "custom_id", id, "method",
		"POST", "url", url, "body", body);
	/* a failed write shows in the stream's error flag, checked by the
	 * caller when it closes it */
	sg_write_record(l->batch, line, 0);
	json_decref(line);
	req = sg_xmalloc(n);
	snprintf(req, n, "%.*s.request",
		(int)(strlen(c->path) - strlen(".json")), c->path);
	if (sg_write_atomic(req, c->key, strlen(c->key), &e) < 0)
		l->batch_err = 1;
	free(req);
	l->exported++;
}

/* The cache file of key, malloc'd. */
static char *
entry_path(const struct sg_llm *l, const char *key)
{
	size_t n = strlen(l->cache) + 32;
	char *path = sg_xmalloc(n);

	snprintf(path, n, "%s/%016llx.json", l->cache,
		(unsigned long long)sg_hash64(key, strlen(key)));
	return path;
}

/* The answer path keeps for exactly key, or NULL. */
static json_t *
lookup(const char *path, const char *key, int embed)
{
	json_t *entry = json_load_file(path, 0, NULL), *resp = NULL;
	const char *was = sg_get_str(entry, "key");

	if (was && strcmp(was, key) == 0 &&
		json_is_object(json_object_get(entry, "response")) &&
		!unusable(json_object_get(entry, "response"), embed))
		resp = json_incref(json_object_get(entry, "response"));
	json_decref(entry);
	return resp;
}

/* Queue a request to path, or take its answer from the cache. */
static void
call(struct sg_llm *l, const char *path, const json_t *body, long long index,
	void *ctx)
{
	struct call *c = sg_xmalloc(sizeof *c);
	const char *server;
	char *text, *old, *oldpath;
	json_t *was;
	size_t n;

	memset(c, 0, sizeof *c);
	c->ctx = ctx;
	c->embed = strcmp(path, "embeddings") == 0;
	l->requests++;
	l->outstanding++;
	if (l->cache) {
		/* an older sg's key, which a new one begins with the server */
		text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
		n = strlen(text) + 32;
		old = sg_xmalloc(n);
		snprintf(old, n, "%lld %s", index, text);
		free(text);
		server = sg_http_server(l->http);
		n = strlen(server) + strlen(old) + 2;
		c->key = sg_xmalloc(n);
		snprintf(c->key, n, "%s\n%s", server, old);
		c->path = entry_path(l, c->key);
		if ((c->response = lookup(c->path, c->key, c->embed))) {
			free(old);
			l->cached++;
			queue(l, c);
			return;
		}
		oldpath = entry_path(l, old);
		if ((was = lookup(oldpath, old, c->embed)))
			l->stale++;
		json_decref(was);
		free(oldpath);
		free(old);
		if (l->batch) {
			defer(l, c, path, body);
			return;
		}
	}
	sg_http_post(l->http, path, body, c);
}

void
sg_llm_chat(struct sg_llm *l, const json_t *body, long long index, void *ctx)
{
	call(l, "chat/completions", body, index, ctx);
}

/* The body names its input and model, so chat and embedding requests
 * never share a cache key. */
void
sg_llm_embed(struct sg_llm *l, const char *model, const char *text, void *ctx)
{
	json_t *body = json_pack("{s:s, s:s}", "model", model, "input", text);

	call(l, "embeddings", body, 0, ctx);
	json_decref(body);
}

int
sg_llm_refused(
	const struct sg_llm_reply *r, const json_t *body, const char *key)
{
	return r->error && !r->deferred && json_object_get(body, key) &&
	       strstr(r->error, key);
}

int
sg_llm_run(struct sg_llm *l, sg_llm_done_fn done, void *arg, struct sg_error *e)
{
	return sg_llm_run_some(l, done, arg, 0, e);
}

int
sg_llm_run_some(struct sg_llm *l, sg_llm_done_fn done, void *arg,
	long long left, struct sg_error *e)
{
	l->done = done;
	l->arg = arg;
	l->left = left;
	for (;;) {
		flush_hits(l);
		if (l->outstanding <= left)
			return 0;
		if (sg_http_busy(l->http)) {
			if (sg_http_run(l->http, on_done, l, e) < 0)
				return -1;
		} else if (!l->hits && !await_stored(l)) {
			return 0;
		}
	}
}

long long
sg_llm_outstanding(const struct sg_llm *l)
{
	return l->outstanding;
}

void
sg_llm_counts(const struct sg_llm *l, long long *requests, long long *cached)
{
	*requests = l->requests;
	*cached = l->cached;
}

long long
sg_llm_stale(const struct sg_llm *l)
{
	return l->stale;
}

int
sg_llm_batch_export(struct sg_llm *l, FILE *fp, struct sg_error *e)
{
	if (!l->cache) {
		sg_seterr(e, "the Batch API needs a cache");
		return -1;
	}
	l->batch = fp;
	l->ids = sg_map_new();
	return 0;
}

long long
sg_llm_batch_exported(const struct sg_llm *l, struct sg_error *e)
{
	if (l->batch_err) {
		sg_seterr(e, "cannot keep the requests' keys in the cache '%s'",
			l->cache);
		return -1;
	}
	return l->exported;
}

/* The cache file of custom_id id with extension ext, or NULL when id is
 * not one sg made. */
static char *
id_path(const char *cache, const char *id, const char *ext)
{
	size_t n = strlen(cache) + 32;
	char *p;

	if (strlen(id) != 19 || strncmp(id, "sg-", 3) != 0 ||
		strspn(id + 3, "0123456789abcdef") != 16)
		return NULL;
	p = sg_xmalloc(n);
	snprintf(p, n, "%s/%s%s", cache, id + 3, ext);
	return p;
}

/* Why a Batch API output line holds no answer to store, or NULL; msg is
 * room for the server's message. */
static const char *
refusal(const json_t *line, char *msg, size_t size)
{
	json_t *resp = json_object_get(line, "response");
	json_t *err = json_object_get(line, "error");
	json_t *body = json_object_get(resp, "body"), *first;
	long long status = sg_get_int(resp, "status_code", -1);
	char *text;
	int what;

	if (err && !json_is_null(err)) {
		first = json_pack("{s:O}", "error", err);
		text = json_dumps(first, JSON_COMPACT);
		sg_http_error_text(text, strlen(text), msg, size, &what);
		free(text);
		json_decref(first);
		return msg;
	}
	if (!json_is_object(resp))
		return "no \"response\" object";
	if (status != 200) {
		size_t n = (size_t)snprintf(msg, size, "status %lld", status);

		text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text && n + 2 < size) {
			memcpy(msg + n, ": ", 3);
			sg_http_error_text(text, strlen(text), msg + n + 2,
				size - n - 2, &what);
		}
		free(text);
		return msg;
	}
	return unusable(body, 0);
}

int
sg_llm_batch_import(const char *cache, const char *line, struct sg_error *e)
{
	json_error_t je;
	json_t *rec = json_loads(line, JSON_REJECT_DUPLICATES, &je);
	const char *id = sg_get_str(rec, "custom_id"), *why;
	char msg[400], *req = NULL, *path = NULL, *key = NULL;
	size_t len;
	int rc = -1;

	if (!rec) {
		sg_seterr(e, "not JSON: %s", je.text);
		return -1;
	}
	if (!json_is_object(rec) || !id) {
		sg_seterr(e, "not a Batch API output line: no \"custom_id\"");
	} else if (!(req = id_path(cache, id, ".request")) ||
		   !(key = sg_slurp(req, &len, e))) {
		sg_seterr(e,
			"%s: unknown custom_id: no request of that id was"
			" exported with this cache",
			id);
	} else if ((why = refusal(rec, msg, sizeof msg))) {
		sg_seterr(e, "%s: %s", id, why);
	} else {
		path = id_path(cache, id, ".json");
		rc = cache_put(path, key,
			json_object_get(
				json_object_get(rec, "response"), "body"),
			e);
	}
	free(req);
	free(path);
	free(key);
	json_decref(rec);
	return rc;
}
