/*
 * llm.c - chat completions and embeddings through http.c with a response
 * cache, and the configuration the OpenAI ecosystem uses: OPENAI_BASE_URL and
 * OPENAI_API_KEY from the environment, else from a .env file.
 *
 * The cache is a directory of files, one per request, named by a hash of
 * the request body (model, messages, parameters, seed) and the sample's
 * index, and holding that key in full, so a hash collision is a miss, not
 * a wrong answer.  Files are written to a temporary name and renamed, so
 * processes sharing the directory never read half an entry.  Only
 * successful answers are stored; nothing of the key or server is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sg.h"

struct call {
	void *ctx;
	char *key, *path; /* the cache key and file; NULL without a cache */
	json_t *response; /* a cache hit waiting to be delivered */
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
};

/* Strip blanks, an "export " and matching quotes from a .env line. */
static void
env_line(char *line)
{
	char *eq, *v, *end;
	size_t n;

	while (*line == ' ' || *line == '\t')
		line++;
	if (strncmp(line, "export ", 7) == 0)
		line += 7;
	if (*line == '#' || !(eq = strchr(line, '=')))
		return;
	*eq = '\0';
	for (end = eq; end > line && (end[-1] == ' ' || end[-1] == '\t');)
		*--end = '\0';
	v = eq + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, "\r\n");
	v[n] = '\0';
	if ((v[0] == '"' || v[0] == '\'') && (end = strchr(v + 1, v[0]))) {
		*end = '\0';
		v++;
	} else if ((end = strstr(v, " #"))) {
		*end = '\0';
	}
	if ((strcmp(line, "OPENAI_API_KEY") == 0 ||
		    strcmp(line, "OPENAI_BASE_URL") == 0 ||
		    strcmp(line, "OPENAI_MODEL") == 0) &&
		!getenv(line))
		setenv(line, v, 0);
}

int
sg_llm_dotenv(const char *path, struct sg_error *e)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	if (!fp) {
		if (errno == ENOENT)
			return 0;
		sg_seterr(e, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, fp) >= 0)
		env_line(line);
	free(line);
	fclose(fp);
	return 0;
}

char *
sg_llm_cache_dir(const char *flag)
{
	const char *d = flag, *home;
	char buf[4096];

	if (!d || !*d)
		d = getenv("SG_CACHE_DIR");
	if (d && *d)
		return sg_xstrdup(d);
	if ((d = getenv("XDG_CACHE_HOME")) && *d)
		snprintf(buf, sizeof buf, "%s/sg", d);
	else if ((home = getenv("HOME")) && *home)
		snprintf(buf, sizeof buf, "%s/.cache/sg", home);
	else
		return NULL;
	return sg_xstrdup(buf);
}

static void
deliver(struct sg_llm *l, struct call *c, const json_t *resp, const char *error,
	int cached)
{
	struct sg_llm_reply r = {c->ctx, NULL, resp, error, cached, 0, 0, NULL};
	json_t *usage = json_object_get(resp, "usage");
	json_t *msg = sg_path(resp, "choices");

	msg = json_object_get(json_array_get(msg, 0), "message");
	r.content = sg_get_str(msg, "content");
	r.prompt_tokens = sg_get_int(usage, "prompt_tokens", 0);
	r.completion_tokens = sg_get_int(usage, "completion_tokens", 0);
	if (c->embed)
		r.embedding = json_object_get(
			json_array_get(json_object_get(resp, "data"), 0),
			"embedding");
	if (resp && !error && !c->embed && !r.content)
		r.error = "the answer has no choices[0].message.content";
	if (resp && !error && c->embed && !json_is_array(r.embedding))
		r.error = "the answer has no data[0].embedding";
	l->done(l->arg, &r);
	json_decref(c->response);
	free(c->key);
	free(c->path);
	free(c);
}

static void
flush_hits(struct sg_llm *l)
{
	struct call *c;

	while ((c = l->hits)) {
		l->hits = c->next;
		if (!l->hits)
			l->hits_tail = NULL;
		deliver(l, c, c->response, NULL, 1);
	}
}

static void
on_done(void *arg, const struct sg_http_result *r)
{
	struct sg_llm *l = arg;
	struct call *c = r->ctx;
	struct sg_error e;

	if (r->body && c->path) {
		json_t *entry = json_pack(
			"{s:s, s:O}", "key", c->key, "response", r->body);
		char *text = json_dumps(entry, JSON_COMPACT);

		/* A cache that cannot be written costs only speed. */
		sg_write_atomic(c->path, text, strlen(text), &e);
		free(text);
		json_decref(entry);
	}
	deliver(l, c, r->body, r->error, 0);
	flush_hits(l);
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
	if (!l)
		return;
	sg_http_free(l->http);
	free(l->cache);
	free(l);
}

/* Queue a request to path, or take its answer from the cache. */
static void
call(struct sg_llm *l, const char *path, const json_t *body, long long index,
	void *ctx)
{
	struct call *c = sg_xmalloc(sizeof *c);
	json_t *entry;
	char *text;
	size_t n;

	memset(c, 0, sizeof *c);
	c->ctx = ctx;
	c->embed = strcmp(path, "embeddings") == 0;
	l->requests++;
	if (l->cache) {
		text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
		n = strlen(text) + 32;
		c->key = sg_xmalloc(n);
		snprintf(c->key, n, "%lld %s", index, text);
		free(text);
		n = strlen(l->cache) + 32;
		c->path = sg_xmalloc(n);
		snprintf(c->path, n, "%s/%016llx.json", l->cache,
			(unsigned long long)sg_hash64(c->key, strlen(c->key)));
		entry = json_load_file(c->path, 0, NULL);
		if (entry &&
			json_is_object(json_object_get(entry, "response")) &&
			sg_get_str(entry, "key") &&
			strcmp(sg_get_str(entry, "key"), c->key) == 0) {
			c->response =
				json_incref(json_object_get(entry, "response"));
			json_decref(entry);
			l->cached++;
			if (l->hits_tail)
				l->hits_tail->next = c;
			else
				l->hits = c;
			l->hits_tail = c;
			return;
		}
		json_decref(entry);
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
sg_llm_run(struct sg_llm *l, sg_llm_done_fn done, void *arg, struct sg_error *e)
{
	l->done = done;
	l->arg = arg;
	do {
		flush_hits(l);
		if (sg_http_run(l->http, on_done, l, e) < 0)
			return -1;
	} while (l->hits);
	return 0;
}

void
sg_llm_counts(const struct sg_llm *l, long long *requests, long long *cached)
{
	*requests = l->requests;
	*cached = l->cached;
}
