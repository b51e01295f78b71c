/*
 * sg-validate - check every sample against its recipe.
 *
 * Reads records (sg-jsonl(5)) from the files named, or standard input.  A
 * routed job record sets the checks of its (run, batch) from the recipe it
 * carries; -r gives them to samples whose batch had no job.  Each sample is
 * written back with "checks" and "valid" set: those two fields are ours.  A
 * failed check is data, told in the record, not on standard error.  Every
 * other record and field passes through unchanged, in order.  With --seen,
 * the dedup keys of a batch's valid samples are appended to a file at its
 * batch record, so that later runs of the loop refuse them too; its
 * samples wait for that record, so the keys are claimed under the file's
 * lock against what processes running beside this one took meanwhile; the
 * embeddings the similarity check compares with go the same way, to the
 * vectors file beside it (lib/check/vectors.c).  The checks by a language model
 * or embeddings are lib/check/modelcheck.c's: records wait there, in order, for
 * their answers, records of other types and batches too, their lines' bytes
 * kept to be spliced.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "check/check.h"

#ifndef SG_DATADIR
#define SG_DATADIR "/usr/local/share/sg"
#endif

/* With --seen, a sample waiting for the end of its batch, where its keys
 * are in the batch's (none when it is not valid), and its embedding's
 * index in vecs (-1: none kept). */
struct held {
	json_t *rec;
	char *text; /* its line's bytes, or NULL */
	size_t len, k0, nk;
	long vec;
};

/* A (run, batch) of the input: its checks, and the keys of its valid
 * samples that are not in the seen file yet. */
struct batch {
	char *run;
	long long id;
	struct sg_checks *cfg;
	uint64_t *keys;		       /* of valid samples, for the seen file */
	struct sg_mcheck *mc, *own_mc; /* the model checks, or NULL */
	size_t nkeys, cap, nsamples, nvalid;
	json_t *failed; /* check name -> samples that failed it */
	struct held *held;
	size_t nheld;
};

static struct sg_seen *seen; /* the keys taken, by this run or earlier */
static struct sg_vecs *vecs; /* the embeddings of the samples taken */
static struct sg_validator *validator;
static struct sg_batches batches;
static struct sg_checks *rcfg;
/* The checks made from each job's recipe, shared by the batches whose
 * jobs carry the same: a batch keeps its checks for samples that come
 * late, and one made per batch (its patterns' compiled code above all)
 * grew by some 60 KB a batch over a run. */
struct made {
	char *recipe; /* compact, keys sorted, then NUL and its path */
	size_t len;
	struct sg_checks *cfg;
	int bad;
	struct made *next;
};
static struct made *made;
static struct sg_mcheck *rmc;
static const char *seenpath;
static char *vecpath; /* the vectors beside seenpath */
/* What a sample is read for: its place, and what the checks read (the
 * model checks too) unless a check is given the whole sample.  Every
 * sample goes out spliced into its line's bytes (emit_from). */
static const char *const fields[] = {"type", "id", "run", "batch", "data",
	"error", "logprobs", "provenance", "sources", "passages", NULL};
static struct sg_filter f = {
	.fields = fields,
	.usage = "usage: sg-validate [-huVv] [--strict] [-r recipe]"
		 " [-j jobs] [-m model] [--cache-dir dir]\n"
		 "                   [--embedding-model model] [--no-cache]"
		 " [--no-llm] [--seen file] [file ...]\n",
};

/* Only "checks" and "valid" are printed anew: every other field goes out
 * as it came in, but for data that the pii check redacted, and a batch's
 * embedding dispersion.  A record written after its line has gone goes
 * into the bytes kept for it (text, len), or whole without them. */
static void
emit_from(json_t *rec, const char *text, size_t len)
{
	static const char *const none[] = {NULL};
	static const char *const ours[] = {"checks", "valid", NULL};
	static const char *const redacted[] = {"checks", "valid", "data", NULL};
	static const char *const spread[] = {
		"embedding_dispersion", "embedded", NULL};
	const char *type = sg_rec_type(rec);
	json_t *pii = sg_path(rec, "checks.pii");

	if (strcmp(type, "batch") == 0)
		sg_filter_splice_from(&f, text, len, rec, spread);
	else if (strcmp(type, "sample") != 0)
		sg_filter_splice_from(&f, text, len, rec, none);
	else if (sg_get_bool(pii, "redacted", 0))
		sg_filter_splice_from(&f, text, len, rec, redacted);
	else
		sg_filter_splice_from(&f, text, len, rec, ours);
}

/* The batch of (run, id), made with the -r configuration if new. */
static struct batch *
batch_get(const char *run, long long id)
{
	struct batch *b = sg_batches_get(&batches, run, id);

	if (b)
		return b;
	b = sg_xcalloc(1, sizeof *b);
	b->run = sg_xstrdup(run);
	b->id = id;
	b->cfg = rcfg;
	b->mc = rmc;
	b->failed = json_object();
	sg_batches_add(&batches, run, id, b);
	return b;
}

/* A held sample fails check name now, as c says. */
static void
refuse(struct batch *b, const struct held *h, const char *name, json_t *c)
{
	json_object_set_new(json_object_get(h->rec, "checks"), name, c);
	json_object_set_new(h->rec, "valid", json_false());
	json_object_set_new(b->failed, name,
		json_integer(sg_get_int(b->failed, name, 0) + 1));
	b->nvalid--;
}

/* Whether a held sample's keys were taken by another process since this
 * one looked; if so its dedup check fails now. */
static int
retaken(struct batch *b, const struct held *h, struct sg_seen *fresh)
{
	size_t k = 0;

	while (k < h->nk && !sg_seen_find(fresh, b->keys[h->k0 + k]))
		k++;
	if (k == h->nk)
		return 0;
	refuse(b, h, k == 0 ? "dedup" : "near_dedup",
		json_pack("{s:b, s:s}", "pass", 0, "why",
			k == 0 ? "duplicate of a sample another process took"
			       : "near-duplicate of a sample another process"
				 " took"));
	return 1;
}

/* Whether a held sample's embedding is too close to one another process
 * took since this one looked; if so its similarity check fails now. */
static int
resembles(struct batch *b, const struct held *h, const struct sg_vecs *fresh)
{
	double max = sg_mcheck_similar_max(b->mc), cosine;
	char why[600];
	long at;

	if (h->vec < 0 || isnan(max) ||
		(at = sg_vecs_nearest_of(
			 fresh, vecs, (size_t)h->vec, &cosine)) < 0 ||
		cosine <= max)
		return 0;
	snprintf(why, sizeof why,
		"embedding cosine %.3f to sample %s, which another process "
		"took, more than %.15g",
		cosine, sg_vecs_id(fresh, (size_t)at), max);
	refuse(b, h, "similarity",
		json_pack("{s:b, s:s, s:f, s:s}", "pass", 0, "why", why,
			"similarity", cosine, "nearest",
			sg_vecs_id(fresh, (size_t)at)));
	return 1;
}

/* A batch's keys reach the disk before its samples go downstream, under
 * the lock, checked against what other processes took since this one
 * looked: no two processes let the same sample through, and a later run
 * never accepts again what this one did. */
static void
claim(struct batch *b)
{
	struct sg_seen *fresh;
	struct sg_vecs *freshvecs;
	struct sg_error e;
	size_t n = 0, nv = 0, *which;
	int lock, status;

	if (!seenpath)
		return;
	fresh = sg_seen_new();
	freshvecs = sg_vecs_new();
	which = sg_xmalloc((b->nheld + 1) * sizeof *which);
	if ((lock = sg_seen_lock(seen, seenpath, fresh, &e)) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	if ((status = sg_vecs_read(vecs, vecpath, freshvecs, &e)))
		sg_die(status, "%s", e.text);
	for (size_t i = 0; i < b->nheld; i++) {
		const struct held *h = &b->held[i];

		if ((!h->nk && h->vec < 0) || retaken(b, h, fresh) ||
			resembles(b, h, freshvecs))
			continue;
		if (h->nk)
			memmove(b->keys + n, b->keys + h->k0,
				h->nk * sizeof *b->keys);
		n += h->nk;
		if (h->vec >= 0)
			which[nv++] = (size_t)h->vec;
	}
	if (sg_vecs_append(vecs, vecpath, which, nv, &e) < 0 ||
		sg_seen_unlock(seen, seenpath, lock, b->keys, n, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	sg_seen_free(fresh);
	sg_vecs_free(freshvecs);
	free(which);
	for (size_t i = 0; i < b->nheld; i++) {
		emit_from(b->held[i].rec, b->held[i].text, b->held[i].len);
		json_decref(b->held[i].rec);
		free(b->held[i].text);
	}
	b->nheld = b->nkeys = 0;
}

/* The end of a batch: its keys go to the seen file and its samples on.
 * Its configuration stays for samples that come late. */
static void
batch_end(struct batch *b)
{
	char why[512] = "";
	const char *name;
	json_t *n;

	claim(b);
	json_object_foreach (b->failed, name, n)
		snprintf(why + strlen(why), sizeof why - strlen(why),
			"%s %s %lld", *why ? "," : "; failed:", name,
			(long long)json_integer_value(n));
	if (b->nsamples)
		sg_note("run %s batch %lld: %zu of %zu samples valid%s", b->run,
			b->id, b->nvalid, b->nsamples, why);
	b->nsamples = b->nvalid = 0;
	json_object_clear(b->failed);
}

/* The samples still waiting for the model checks are checked with them. */
static void
own_free(struct batch *b)
{
	if (b->own_mc)
		sg_mcheck_flush();
	sg_mcheck_free(b->own_mc);
	b->own_mc = NULL;
}

static void
batch_free(struct batch *b)
{
	own_free(b);
	json_decref(b->failed);
	free(b->held);
	free(b->keys);
	free(b->run);
	free(b);
}

/* The checks of recipe at path: those made already from the same, or new
 * ones (their problems said, as where's); *bad as sg_checks_new's. */
static struct sg_checks *
checks_for(json_t *recipe, const char *path, const char *where, int *bad)
{
	char *s = json_dumps(recipe, JSON_COMPACT | JSON_SORT_KEYS);
	size_t n = strlen(s), len = n + 1 + (path ? strlen(path) : 0);
	char lead[4200];
	struct made *m;

	s = sg_xrealloc(s, len + 1);
	strcpy(s + n + 1, path ? path : "");
	for (m = made; m; m = m->next)
		if (m->len == len && memcmp(m->recipe, s, len) == 0) {
			free(s);
			*bad = m->bad;
			return m->cfg;
		}
	snprintf(lead, sizeof lead, "%s: job \"recipe.", where);
	m = sg_xmalloc(sizeof *m);
	m->recipe = s;
	m->len = len;
	m->cfg = sg_checks_new(validator, recipe, path, lead, &m->bad);
	m->next = made;
	made = m;
	*bad = m->bad;
	return m->cfg;
}

static void
made_free(void)
{
	struct made *m, *next;

	for (m = made; m; m = next) {
		next = m->next;
		sg_checks_free(m->cfg);
		free(m->recipe);
		free(m);
	}
}

static int
handle_job(json_t *rec, const char *where)
{
	json_t *recipe = json_object_get(rec, "recipe");
	struct batch *b;
	const char *run;
	long long id;
	int bad;

	/* a job before sg-route has no batch yet: not ours */
	if (!json_object_get(rec, "batch"))
		return 0;
	if (sg_record_batch_at(rec, where, &run, &id) < 0)
		return -1;
	if (!json_is_object(recipe)) {
		sg_warn("%s: job has no \"recipe\"", where);
		return 1;
	}
	b = batch_get(run, id);
	own_free(b);
	b->cfg =
		checks_for(recipe, sg_get_str(rec, "recipe_path"), where, &bad);
	if (sg_checks_whole(b->cfg))
		f.fields = NULL;
	b->mc = b->own_mc =
		sg_mcheck_new(recipe, sg_get_str(rec, "recipe_path"));
	return bad;
}

/* A sample waiting for its verdict, its dedup keys and shingle set. */
struct pending {
	struct batch *b;
	uint64_t *keys;
	uint32_t *set;
	size_t nkeys, nset;
	size_t taken; /* sg_seen_count when it was checked */
	char *text;   /* the bytes of its line, when it may outlive it */
	size_t len;
	char *where; /* with model checks: the id of one without its own */
};

/* The keys dedup compares with are kept in a temporary file too: a
 * failure to write or read it back stops the run. */
static void
check_kept(const struct sg_checks *c)
{
	struct sg_error e;

	if (sg_checks_failed(c, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
}

/* A sample's verdict, once its model checks are in: dedup keys taken by
 * the samples before it since it was checked fail it too. */
static void
finish_sample(json_t *rec, const double *vec, void *arg)
{
	struct pending *p = arg;
	struct batch *b = p->b;
	json_t *checks = json_object_get(rec, "checks"), *c;
	const uint64_t *keys = p->keys;
	size_t nkeys = p->nkeys;
	int valid = 1;
	long kept = -1;
	const char *name, *id;

	if (sg_seen_count(seen) != p->taken) {
		sg_checks_retake(b->cfg, checks, keys, nkeys, p->set, p->nset);
		check_kept(b->cfg);
	}
	json_object_foreach (checks, name, c) {
		if (sg_get_bool(c, "pass", 0))
			continue;
		valid = 0;
		json_object_set_new(b->failed, name,
			json_integer(sg_get_int(b->failed, name, 0) + 1));
	}
	json_object_set_new(rec, "valid", json_boolean(valid));
	b->nsamples++;
	b->nvalid += valid;
	if (valid && nkeys) {
		sg_checks_take(b->cfg, keys, nkeys, sg_get_str(rec, "id"),
			p->set, p->nset);
		check_kept(b->cfg);
	}
	/* a batch's keys wait for its end only to go to the seen file */
	if (valid && nkeys && seenpath) {
		if (b->nkeys + nkeys > b->cap) {
			b->cap = 2 * (b->nkeys + nkeys);
			b->keys =
				sg_xrealloc(b->keys, b->cap * sizeof *b->keys);
		}
		memcpy(b->keys + b->nkeys, keys, nkeys * sizeof *keys);
		b->nkeys += nkeys;
	}
	if (valid && vec) {
		id = sg_get_str(rec, "id");
		kept = (long)sg_vecs_add(vecs, vec, id ? id : p->where);
	}
	free(p->set);
	free(p->keys);
	free(p->where);
	if (!seenpath) {
		emit_from(rec, p->text, p->len);
		free(p->text);
		free(p);
		return;
	}
	/* with --seen it waits for its batch's end */
	nkeys = valid ? nkeys : 0;
	b->held = sg_xrealloc(b->held, (b->nheld + 1) * sizeof *b->held);
	b->held[b->nheld++] = (struct held){json_incref(rec), p->text, p->len,
		b->nkeys - nkeys, nkeys, kept};
	free(p);
}

/* A record other than a sample, on its way behind the samples before it:
 * a batch record ends its batch. */
struct passing {
	struct batch *b; /* a batch record's, else NULL */
	char *text;	 /* the bytes of its line, when it may outlive it */
	size_t len;
};

static void
finish_other(json_t *rec, const double *vec, void *arg)
{
	struct passing *p = arg;

	(void)vec;
	if (p->b) {
		batch_end(p->b);
		sg_mcheck_batch(p->b, rec);
	}
	emit_from(rec, p->text, p->len);
	free(p->text);
	free(p);
}

static int
handle_sample(json_t *rec, const char *where)
{
	struct pending *p;
	struct batch *b;
	const char *run;
	long long id;
	char *src = NULL, *out = NULL;

	if (sg_record_batch_at(rec, where, &run, &id) < 0)
		return -1;
	b = batch_get(run, id);
	p = sg_xmalloc(sizeof *p);
	p->b = b;
	p->keys = sg_xmalloc(sizeof *p->keys * sg_checks_nkeys(b->cfg));
	json_object_set_new(
		rec, "checks", sg_checks_run(b->cfg, rec, p->keys, &p->nkeys));
	check_kept(b->cfg);
	p->set = sg_checks_set(b->cfg, &p->nset);
	p->taken = sg_seen_count(seen);
	p->len = 0;
	p->text = seenpath || b->mc || sg_mcheck_holding()
			  ? sg_filter_keep(&f, &p->len)
			  : NULL;
	p->where = b->mc ? sg_xstrdup(where) : NULL;
	if (b->mc && sg_grounding(rec, &src, &out) == 0)
		src = out = NULL;
	sg_mcheck_hold(b->mc, rec, src, out, where, b, finish_sample, p);
	free(src);
	free(out);
	return 0;
}

/* One record; the return value counts the problems reported.  A record
 * without its (run, batch) is left out; any other record goes on. */
static int
handle(json_t *rec, const char *where)
{
	const char *type = sg_rec_type(rec), *run;
	struct passing *p;
	long long id;
	int bad = 0;

	if (strcmp(type, "sample") == 0)
		return handle_sample(rec, where) < 0;
	if (strcmp(type, "job") == 0)
		bad = handle_job(rec, where);
	else if (strcmp(type, "batch") == 0)
		bad = sg_record_batch_at(rec, where, &run, &id);
	if (bad < 0)
		return 1;
	p = sg_xcalloc(1, sizeof *p);
	if (strcmp(type, "batch") == 0)
		p->b = batch_get(run, id);
	if (sg_mcheck_holding())
		p->text = sg_filter_keep(&f, &p->len);
	sg_mcheck_hold(NULL, rec, NULL, NULL, where, NULL, finish_other, p);
	return bad;
}

static void
validate(struct sg_filter *f, json_t *rec)
{
	if (handle(rec, f->where))
		sg_filter_fail(f, SG_EXIT_DATA);
}

static const struct option longopts[] = {
	{"cache-dir", required_argument, NULL, 'C'},
	{"embedding-model", required_argument, NULL, 'E'},
	{"help", no_argument, NULL, 'h'},
	{"jobs", required_argument, NULL, 'j'},
	{"model", required_argument, NULL, 'm'},
	{"no-cache", no_argument, NULL, 'N'},
	{"no-llm", no_argument, NULL, 'L'},
	{"recipe", required_argument, NULL, 'r'},
	{"seen", required_argument, NULL, 's'},
	{"strict", no_argument, NULL, SG_OPT_STRICT},
	{"unbuffered", no_argument, NULL, 'u'},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static void
recipe_warn(void *ctx, const char *msg)
{
	(void)ctx;
	sg_note("%s", msg);
}

static void
check_warn(void *ctx, const char *msg)
{
	(void)ctx;
	sg_warn("%s", msg);
}

static void
load_recipe(const char *path)
{
	struct sg_error e;
	json_t *recipe = sg_recipe_load(path, recipe_warn, NULL, &e);
	char lead[4200];
	int bad;

	if (!recipe)
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
	snprintf(lead, sizeof lead, "%s: \"", path);
	rcfg = sg_checks_new(validator, recipe, path, lead, &bad);
	if (sg_checks_whole(rcfg))
		f.fields = NULL;
	rmc = sg_mcheck_new(recipe, path);
	json_decref(recipe);
	if (bad)
		exit(SG_EXIT_CONFIG);
}

/* The keys and the vectors of --seen, before the first record. */
static void
load_seen(void)
{
	struct sg_error e;
	int lock, status;

	if ((status = sg_seen_load(seen, seenpath, &e)))
		sg_die(status, "%s", e.text);
	vecpath = sg_suffixed(seenpath, ".vectors");
	if ((lock = sg_lock(seenpath, &e)) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	if ((status = sg_vecs_read(vecs, vecpath, NULL, &e)))
		sg_die(status, "%s", e.text);
	sg_unlock(lock);
}

/* Validate the samples of each input in turn, as one stream. */
int
main(int argc, char *argv[])
{
	const char *recipe = NULL;
	char *end;
	int c;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "hj:m:r:uVv", longopts, NULL)) !=
		-1) {
		if (sg_filter_option(&f, c))
			continue;
		switch (c) {
		case 'C':
			sg_mcheck_opts.cache_dir = optarg;
			break;
		case 'E':
			sg_mcheck_opts.embedding_model = optarg;
			break;
		case 'j':
			sg_mcheck_opts.jobs = (int)strtol(optarg, &end, 10);
			if (*end || sg_mcheck_opts.jobs < 1 ||
				sg_mcheck_opts.jobs > 4096)
				sg_die(SG_EXIT_USAGE,
					"-j wants an integer from 1 to 4096");
			break;
		case 'm':
			sg_mcheck_opts.model = optarg;
			break;
		case 'N':
			sg_mcheck_opts.no_cache = 1;
			break;
		case 'L':
			sg_mcheck_opts.no_llm = 1;
			break;
		case 'r':
			recipe = optarg;
			break;
		case 's':
			seenpath = optarg;
			break;
		default:
			sg_usage(f.usage, SG_EXIT_USAGE);
		}
	}
	seen = sg_seen_new();
	vecs = sg_mcheck_opts.vectors = sg_vecs_new();
	validator = sg_validator_new(
		seen, SG_DATADIR "/toxicity.tsv", check_warn, NULL);
	/* the vectors' model first, so a recipe of another is told so */
	if (seenpath)
		load_seen();
	if (recipe)
		load_recipe(recipe);
	sg_filter_run(&f, argv + optind, argc - optind, validate);
	sg_mcheck_end();
	for (size_t i = 0; i < batches.n; i++) {
		batch_end(batches.v[i]);
		batch_free(batches.v[i]);
	}
	sg_batches_free(&batches);
	made_free();
	sg_checks_free(rcfg);
	sg_mcheck_free(rmc);
	sg_validator_free(validator);
	sg_seen_free(seen);
	sg_vecs_free(vecs);
	free(vecpath);
	return sg_finish(f.status);
}
