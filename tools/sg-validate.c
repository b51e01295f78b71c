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
 * batch record, so that later runs of the loop refuse them too.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sg.h"

#ifndef SG_DATADIR
#define SG_DATADIR "/usr/local/share/sg"
#endif

/* A (run, batch) of the input: its checks, and the keys of its valid
 * samples that are not in the seen file yet. */
struct batch {
	char *run;
	long long id;
	struct sg_checks *cfg, *own;
	uint64_t *keys; /* of valid samples, for the seen file */
	size_t nkeys, cap, nsamples, nvalid;
	json_t *failed; /* check name -> samples that failed it */
};

static struct sg_seen *seen; /* the keys taken, by this run or earlier */
static struct sg_validator *validator;
static struct batch **batches;
static size_t nbatches;
static json_t *batchindex; /* "batch run" -> position in batches */
static struct sg_checks *rcfg;
static const char *seenpath;
static struct sg_filter f = {
	.usage = "usage: sg-validate [-huVv] [--strict] [-r recipe]"
		 " [--seen file] [file ...]\n",
};

/* Only "checks" and "valid" are printed anew: every other field goes out
 * as it came in, but for data that the pii check redacted. */
static void
emit(json_t *rec)
{
	static const char *const none[] = {NULL};
	static const char *const ours[] = {"checks", "valid", NULL};
	static const char *const redacted[] = {"checks", "valid", "data", NULL};
	json_t *pii = sg_path(rec, "checks.pii");

	if (strcmp(sg_rec_type(rec), "sample") != 0)
		sg_filter_splice(&f, rec, none);
	else if (sg_get_bool(pii, "redacted", 0))
		sg_filter_splice(&f, rec, redacted);
	else
		sg_filter_splice(&f, rec, ours);
}

/* A batch's keys reach the disk before its end goes downstream: a later
 * run never accepts again what this one let through. */
static void
seen_append(struct batch *b)
{
	struct sg_error e;

	if (seenpath && sg_seen_append(seenpath, b->keys, b->nkeys, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	b->nkeys = 0;
}

/* The batch of (run, id), made with the -r configuration if new. */
static struct batch *
batch_get(const char *run, long long id)
{
	size_t len = strlen(run) + 32;
	char *key = sg_xmalloc(len);
	struct batch *b;
	json_t *pos;

	snprintf(key, len, "%lld %s", id, run);
	if ((pos = json_object_get(batchindex, key))) {
		free(key);
		return batches[json_integer_value(pos)];
	}
	b = sg_xmalloc(sizeof *b);
	memset(b, 0, sizeof *b);
	b->run = sg_xstrdup(run);
	b->id = id;
	b->cfg = rcfg;
	b->failed = json_object();
	batches = sg_xrealloc(batches, (nbatches + 1) * sizeof *batches);
	batches[nbatches] = b;
	json_object_set_new(
		batchindex, key, json_integer((json_int_t)nbatches));
	nbatches++;
	free(key);
	return b;
}

/* The end of a batch: its keys go to the seen file.  Its configuration
 * stays for samples that come late. */
static void
batch_end(struct batch *b)
{
	char why[512] = "";
	const char *name;
	json_t *n;

	seen_append(b);
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

static void
batch_free(struct batch *b)
{
	sg_checks_free(b->own);
	json_decref(b->failed);
	free(b->keys);
	free(b->run);
	free(b);
}

static int
handle_job(json_t *rec, const char *where)
{
	json_t *recipe = json_object_get(rec, "recipe");
	struct batch *b;
	const char *run;
	char lead[4200];
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
	sg_checks_free(b->own);
	snprintf(lead, sizeof lead, "%s: job \"recipe.", where);
	b->cfg = b->own = sg_checks_new(validator, recipe, lead, &bad);
	return bad;
}

static int
handle_sample(json_t *rec, const char *where)
{
	struct batch *b;
	const char *run;
	long long id;
	uint64_t *keys;
	size_t nkeys;
	json_t *checks;
	int valid = 1;
	const char *name;
	json_t *c;

	if (sg_record_batch_at(rec, where, &run, &id) < 0)
		return -1;
	b = batch_get(run, id);
	keys = sg_xmalloc(sizeof *keys * sg_checks_nkeys(b->cfg));
	checks = sg_checks_run(b->cfg, rec, keys, &nkeys);
	json_object_foreach (checks, name, c) {
		if (sg_get_bool(c, "pass", 0))
			continue;
		valid = 0;
		json_object_set_new(b->failed, name,
			json_integer(sg_get_int(b->failed, name, 0) + 1));
	}
	json_object_set_new(rec, "checks", checks);
	json_object_set_new(rec, "valid", json_boolean(valid));
	b->nsamples++;
	b->nvalid += valid;
	if (valid && nkeys) {
		sg_checks_take(b->cfg, keys, nkeys, sg_get_str(rec, "id"));
		if (b->nkeys + nkeys > b->cap) {
			b->cap = 2 * (b->nkeys + nkeys);
			b->keys =
				sg_xrealloc(b->keys, b->cap * sizeof *b->keys);
		}
		memcpy(b->keys + b->nkeys, keys, nkeys * sizeof *keys);
		b->nkeys += nkeys;
	}
	free(keys);
	return 0;
}

/* One record; the return value counts the problems reported.  A record
 * without its (run, batch) is left out; any other record goes on. */
static int
handle(json_t *rec, const char *where)
{
	const char *type = sg_rec_type(rec), *run;
	long long id;
	int bad = 0;

	if (strcmp(type, "job") == 0) {
		bad = handle_job(rec, where);
	} else if (strcmp(type, "sample") == 0) {
		bad = handle_sample(rec, where);
	} else if (strcmp(type, "batch") == 0) {
		if (sg_record_batch_at(rec, where, &run, &id) < 0)
			return 1;
		batch_end(batch_get(run, id));
	}
	if (bad < 0)
		return 1;
	emit(rec);
	return bad;
}

static void
validate(struct sg_filter *f, json_t *rec)
{
	if (handle(rec, f->where))
		sg_filter_fail(f, SG_EXIT_DATA);
}

static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
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
	rcfg = sg_checks_new(validator, recipe, lead, &bad);
	json_decref(recipe);
	if (bad)
		exit(SG_EXIT_CONFIG);
}

/* Validate the samples of each input in turn, as one stream. */
int
main(int argc, char *argv[])
{
	const char *recipe = NULL;
	struct sg_error e;
	int c;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "hr:uVv", longopts, NULL)) != -1) {
		if (sg_filter_option(&f, c))
			continue;
		switch (c) {
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
	batchindex = json_object();
	seen = sg_seen_new();
	validator = sg_validator_new(
		seen, SG_DATADIR "/toxicity.tsv", check_warn, NULL);
	if (recipe)
		load_recipe(recipe);
	if (seenpath && (c = sg_seen_load(seen, seenpath, &e)))
		sg_die(c, "%s", e.text);
	sg_filter_run(&f, argv + optind, argc - optind, validate);
	for (size_t i = 0; i < nbatches; i++) {
		batch_end(batches[i]);
		batch_free(batches[i]);
	}
	free(batches);
	json_decref(batchindex);
	sg_checks_free(rcfg);
	sg_validator_free(validator);
	sg_seen_free(seen);
	return sg_finish(f.status);
}
