/*
 * probe.c - one look at a server before a run asks it for anything: is it
 * there, does it take the key, is its base URL the OpenAI one (".../v1"),
 * has it the models the arms ask for.  GET /models answers all four on
 * OpenAI, vLLM, llama.cpp's server and Ollama's /v1; where it is refused,
 * one chat completion of a single token does.  A server that is busy or
 * still loading a model is given the benefit of the doubt: the requests
 * themselves retry.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "llm/llm-internal.h"

#define LISTED 12 /* models named when one is missing */

/* One answer of the server. */
struct look {
	int rc; /* sg_http_once's */
	long status;
	json_t *body; /* a JSON object, or NULL */
	int what;     /* sg_http_error_text's */
	char msg[512];
};

static void
ask(struct sg_http *h, const char *path, const json_t *req, struct look *k)
{
	struct sg_error e;
	char *resp = NULL;

	memset(k, 0, sizeof *k);
	k->rc = sg_http_once(h, path, req, &k->status, &resp, &e);
	if (k->rc < 0) {
		snprintf(k->msg, sizeof k->msg, "%s", e.text);
		return;
	}
	k->body = json_loads(resp, 0, NULL);
	if (!json_is_object(k->body)) {
		json_decref(k->body);
		k->body = NULL;
	}
	if (k->status < 200 || k->status >= 300) {
		sg_http_error_text(
			resp, strlen(resp), k->msg, sizeof k->msg, &k->what);
		sg_http_scrub(h, k->msg);
	}
	free(resp);
}

static int
ok(const struct look *k)
{
	return k->rc == 0 && k->status >= 200 && k->status < 300 && k->body;
}

/* The model list of a GET /models answer, or NULL. */
static json_t *
listed(const struct look *k)
{
	json_t *data = json_object_get(k->body, "data");

	return ok(k) && json_is_array(data) ? data : NULL;
}

static int
has_model(const json_t *data, const char *model)
{
	json_t *m;
	size_t i;

	json_array_foreach (data, i, m)
		if (sg_get_str(m, "id") &&
			strcmp(sg_get_str(m, "id"), model) == 0)
			return 1;
	return 0;
}

/* What the server said that no retry changes, as e; 0 when it said
 * nothing of the kind. */
static int
refused(const char *url, const struct look *k, struct sg_error *e)
{
	if (k->rc == -1) {
		sg_seterr(e, "cannot reach the LLM server at '%s': %s", url,
			k->msg);
		return -1;
	}
	if (k->rc < 0)
		return 0;
	if (k->status == 401 || k->status == 403) {
		sg_seterr(e,
			"the LLM server at '%s' refuses the key: HTTP %ld: %s"
			" (OPENAI_API_KEY)",
			url, k->status, k->msg);
		return -1;
	}
	if (k->what == SG_HTTP_QUOTA) {
		sg_seterr(e, "the LLM server at '%s' refuses: HTTP %ld: %s",
			url, k->status, k->msg);
		return -1;
	}
	return 0;
}

/* One chat completion of one token with model. */
static void
tiny(struct sg_http *h, const char *model, struct look *k)
{
	json_t *req = json_pack("{s:s, s:[{s:s, s:s}], s:i}", "model", model,
		"messages", "role", "user", "content", "Say OK.", "max_tokens",
		1);

	ask(h, "chat/completions", req, k);
	json_decref(req);
}

/* "a, b, c and 4 more" of the model list. */
static void
names(const json_t *data, char *out, size_t size)
{
	size_t i, len = 0;
	json_t *m;

	out[0] = '\0';
	json_array_foreach (data, i, m) {
		if (i == LISTED) {
			snprintf(out + len, size - len, " and %zu more",
				json_array_size(data) - LISTED);
			return;
		}
		if (len < size)
			len += (size_t)snprintf(out + len, size - len, "%s%s",
				i ? ", " : "",
				sg_get_str(m, "id") ? sg_get_str(m, "id")
						    : "?");
	}
	if (i == 0)
		snprintf(out, size, "none");
}

/* A model the list lacks: a server that takes any name (llama.cpp's
 * serves its one model whatever is asked) answers a chat anyway.  -1
 * and e when the server refuses more than the model; the model's fault,
 * if any, into models. */
static int
check_model(struct sg_http *h, const char *url, const json_t *data,
	json_t *models, const char *model, struct sg_error *e)
{
	struct look k;
	char list[1024];
	int rc = 0;

	if (has_model(data, model))
		return 0;
	tiny(h, model, &k);
	if (refused(url, &k, e) < 0) {
		rc = -1;
	} else if (k.rc == 0 && (k.what == SG_HTTP_NO_MODEL ||
					k.status == 404 || k.status == 400)) {
		names(data, list, sizeof list);
		json_object_set_new(models, model,
			json_sprintf("the LLM server at '%s' has no model"
				     " \"%s\"; it has: %s",
				url, model, list));
	}
	json_decref(k.body);
	return rc;
}

/* The same server without /v1 at the end of its base URL: Ollama's own
 * API, for one, answers there; with it, the OpenAI one. */
static int
check_v1(const struct sg_http_opts *o, struct sg_error *e)
{
	struct sg_http_opts v1 = *o;
	struct sg_http *h;
	struct look k;
	size_t n = strlen(o->base_url);
	char *url;
	int rc = 0;

	while (n > 0 && o->base_url[n - 1] == '/')
		n--;
	if (n >= 3 && strncmp(o->base_url + n - 3, "/v1", 3) == 0)
		return 0;
	url = sg_xmalloc(n + 4);
	snprintf(url, n + 4, "%.*s/v1", (int)n, o->base_url);
	v1.base_url = url;
	if (!(h = sg_http_new(&v1, e))) {
		free(url);
		return -1;
	}
	ask(h, "models", NULL, &k);
	if (listed(&k)) {
		sg_seterr(e,
			"the base URL '%s' lacks /v1: the server answers at "
			"'%s';"
			" set OPENAI_BASE_URL to that",
			o->base_url, url);
		rc = -1;
	}
	json_decref(k.body);
	sg_http_free(h);
	free(url);
	return rc;
}

int
sg_llm_probe(const struct sg_http_opts *o, json_t *models, struct sg_error *e)
{
	const char *url = o->base_url, *first = NULL, *name;
	struct sg_http *h;
	struct look k, chat;
	json_t *data, *m;
	int rc = 0;

	if (!(h = sg_http_new(o, e)))
		return -1;
	ask(h, "models", NULL, &k);
	if ((rc = refused(url, &k, e)) < 0)
		goto out;
	if ((data = listed(&k))) {
		json_object_foreach (models, name, m)
			if ((rc = check_model(h, url, data, models, name, e)) <
				0)
				break;
		goto out;
	}
	json_object_foreach (models, name, m)
		if (!first)
			first = name;
	/* no list: not an OpenAI base URL, or a server without /models */
	if (k.rc == 0 && (rc = check_v1(o, e)) < 0)
		goto out;
	if (!first || k.rc < 0)
		goto out;
	tiny(h, first, &chat);
	if ((rc = refused(url, &chat, e)) < 0 || chat.rc < 0) {
		;
	} else if (chat.what == SG_HTTP_NO_MODEL) {
		json_object_set_new(models, first,
			json_sprintf("the LLM server at '%s' has no model"
				     " \"%s\": HTTP %ld: %s",
				url, first, chat.status, chat.msg));
	} else if (chat.status == 404) {
		sg_seterr(e,
			"the LLM server at '%s' has no /chat/completions"
			" (HTTP 404: %s): is the base URL right?",
			url, chat.msg);
		rc = -1;
	}
	json_decref(chat.body);
out:
	json_decref(k.body);
	sg_http_free(h);
	return rc;
}
