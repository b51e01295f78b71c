/*
 * state.c - the bandit state file (sg-state(5)): plain JSON a user can read
 * with jq, changed only under its lock and only by atomic replacement, so
 * sg-route and sg-update can share it while the pipeline runs.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "record/record.h"
#include "route/route-internal.h"

json_t *
sg_child(json_t *parent, const char *key)
{
	json_t *c = json_object_get(parent, key);

	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(parent, key, c);
	}
	return c;
}

json_t *
sg_jnum(double v)
{
	if (v == floor(v) && fabs(v) < 0x1p53)
		return json_integer((json_int_t)v);
	return json_real(v);
}

int
sg_state_begin(struct sg_state *st, const char *path, struct sg_error *e)
{
	json_error_t je;
	struct stat sb;
	char *text;
	int status = SG_EXIT_IO;

	memset(st, 0, sizeof *st);
	st->lockfd = -1;
	st->path = sg_xstrdup(path);
	st->lockfd = sg_lock(path, e);
	if (st->lockfd < 0)
		goto fail;
	if (stat(path, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		sg_seterr(
			e, "cannot open state '%s': %s", path, strerror(errno));
		goto fail;
	}
	text = sg_slurp(path, NULL, e);
	if (!text)
		goto fail;
	status = SG_EXIT_CONFIG;
	st->root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!st->root) {
		sg_seterr(e, "%s:%d: state is not valid JSON: %s", path,
			je.line, je.text);
		goto fail;
	}
	if (sg_state_check(st->root, e) < 0) {
		char why[sizeof e->text];

		memcpy(why, e->text, sizeof why);
		sg_seterr(e, "%s: refusing state: %s", path, why);
		goto fail;
	}
	return 0;
fail:
	sg_state_end(st);
	return status;
}

int
sg_state_commit(struct sg_state *st, struct sg_error *e)
{
	char *text =
		json_dumps(st->root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	size_t len;
	int rc;

	if (!text) {
		sg_seterr(e, "cannot encode state");
		return -1;
	}
	len = strlen(text);
	text = sg_xrealloc(text, len + 2);
	text[len++] = '\n';
	rc = sg_write_atomic(st->path, text, len, e);
	free(text);
	return rc;
}

void
sg_state_end(struct sg_state *st)
{
	sg_unlock(st->lockfd);
	st->lockfd = -1;
	json_decref(st->root);
	st->root = NULL;
	free(st->path);
	st->path = NULL;
}

json_t *
sg_state_new(const char *run, uint64_t seed, const json_t *router)
{
	struct sg_rng rng;
	json_t *root;

	sg_rng_seed(&rng, seed);
	root = json_pack("{s:s, s:i, s:s, s:I, s:i, s:i, s:i, s:i, s:O,"
			 " s:{}, s:{}}",
		"format", SG_STATE_FORMAT, "version", SG_STATE_VERSION, "run",
		run, "seed", (json_int_t)seed, "steps", 0, "rewards", 0,
		"accepted", 0, "rejected", 0, "router",
		router ? router : json_null(), "arms", "contexts");
	sg_state_set_rng(root, &rng);
	return root;
}

static int
need(const json_t *root, const char *key, json_type type, struct sg_error *e)
{
	static const char *names[] = {"an object", "an array", "a string",
		"an integer", "a number", "a boolean", "a boolean", "null"};
	json_t *v = json_object_get(root, key);

	if (!v) {
		sg_seterr(e, "missing field \"%s\"", key);
		return -1;
	}
	if (json_typeof(v) != type &&
		!(type == JSON_REAL && json_is_number(v))) {
		sg_seterr(e, "field \"%s\" is not %s", key, names[type]);
		return -1;
	}
	return 0;
}

/* A state written by another program, or by a newer sg, is refused rather
 * than overwritten: it may hold a run somebody cares about. */
int
sg_state_check(const json_t *root, struct sg_error *e)
{
	static const char *counters[] = {
		"steps", "rewards", "accepted", "rejected"};
	struct sg_rng rng;
	const char *fmt;
	long long v;

	if (!json_is_object(root)) {
		sg_seterr(e, "not a JSON object");
		return -1;
	}
	fmt = sg_get_str(root, "format");
	if (!fmt || strcmp(fmt, SG_STATE_FORMAT) != 0) {
		sg_seterr(e, "not an sg state file (no \"format\": \"%s\")",
			SG_STATE_FORMAT);
		return -1;
	}
	if (need(root, "version", JSON_INTEGER, e) < 0)
		return -1;
	v = sg_get_int(root, "version", 0);
	if (v != SG_STATE_VERSION) {
		sg_seterr(e, "state version %lld, this sg reads version %d", v,
			SG_STATE_VERSION);
		return -1;
	}
	if (need(root, "run", JSON_STRING, e) < 0 ||
		need(root, "arms", JSON_OBJECT, e) < 0 ||
		need(root, "contexts", JSON_OBJECT, e) < 0 ||
		need(root, "rng", JSON_STRING, e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof counters / sizeof *counters; i++) {
		if (need(root, counters[i], JSON_INTEGER, e) < 0)
			return -1;
		if (sg_get_int(root, counters[i], -1) < 0) {
			sg_seterr(e, "field \"%s\" is negative", counters[i]);
			return -1;
		}
	}
	if (sg_state_rng(root, &rng) < 0) {
		sg_seterr(e, "field \"rng\" is not 64 hex digits of a "
			     "non-zero generator state");
		return -1;
	}
	return 0;
}

int
sg_state_rng(const json_t *root, struct sg_rng *r)
{
	return sg_rng_parse(r, sg_get_str(root, "rng"));
}

void
sg_state_set_rng(json_t *root, const struct sg_rng *r)
{
	char hex[65];

	sg_rng_format(r, hex);
	json_object_set_new(root, "rng", json_string(hex));
}

const char *const sg_usage_keys[] = {
	"prompt_tokens", "completion_tokens", "cost", NULL};

void
sg_state_add_usage(json_t *root, const json_t *batch)
{
	const char *k;
	json_t *v, *u;

	for (int i = 0; (k = sg_usage_keys[i]); i++) {
		if (!json_is_number(v = json_object_get(batch, k)))
			continue;
		u = sg_child(root, "usage");
		json_object_set_new(u, k,
			sg_jnum(sg_get_num(u, k, 0) + json_number_value(v)));
	}
}

const char *
sg_state_policy(const json_t *root)
{
	const char *p = sg_get_str(json_object_get(root, "router"), "policy");

	return p ? p : "none";
}
