/*
 * sg-score - grade every sample and reward every batch.
 *
 * Reads the record stream after sg-validate from standard input or the
 * files named.  A job record gives its (run, batch) the recipe's quality
 * block and diversity constraints.  Each sample is written back with
 * "quality" and "pass" set: those two fields are ours.  Each batch record
 * is followed by one reward record; a batch whose batch record never came
 * gets its reward at the end of input.  Every other record and field
 * passes through unchanged, in order.  With -s, a batch is also weighed
 * against the samples the run has accepted (read from the output the
 * state names, then those passing here), and with --dev against a real
 * labelled dev set.  sg-score(1) has the formulas.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record.h"
#include "score/score.h"

enum { OPT_DEV = 0x101, OPT_GATE };

/* What a reward copies from its batch, job or samples. */
static const char *const metakeys[] = {"arm", "generator", "params", "context"};
#define NMETAKEYS (sizeof metakeys / sizeof *metakeys)

/* What a job's recipe says about scoring its batch. */
struct recipe {
	double threshold;
	double min_fidelity; /* a sample's label less likely is not taken */
	json_t *weights;     /* check name -> weight, only the valid ones */
	double w[SG_NPARTS];
	int has_mindiv, has_maxrep, has_mindisp;
	double mindiv, maxrep, mindisp;
	double wcost;	/* reward lost per unit of a batch record's "cost" */
	json_t *recipe; /* the job's, which mc points into */
	struct sg_marginal_conf mc;
};

/* How many of a batch's samples passed and failed a check, for the
 * reward: which checks cost the batch. */
struct tally {
	char *name;
	long long pass, fail;
};

struct batch {
	char *run;
	long long id;
	int done;
	struct recipe rc;
	json_t *meta; /* arm, generator, params, context: job, then samples */
	long long job_n;
	size_t seen, passed;
	size_t infra;	    /* samples failed for the server or the setup */
	json_t *infra_what; /* the first one's error and error_scope */
	json_t *error;	    /* the first error of another kind */
	double qsum;
	struct sg_texts texts; /* the text views of the samples with data */
	struct tally *tally;   /* in the order first met */
	size_t ntally, tallycap;
	struct sg_batch_parts parts;
};

static struct sg_batches batches;
static struct sg_diversity diversity;
/* With -s or --dev: the dataset a batch is weighed against, loaded at the
 * first job, whose recipe says which fields are label and text. */
static const char *state_path, *dev_path;
static int gate; /* --gate: a batch that lowers the dev score is refused */
static char dev_hash[17];
static struct sg_marginal marginal;
static int marginal_ready;
/* What a sample is read for: of its checks, only whether each passed and
 * its score.  Every sample goes out spliced into its line (emit). */
static const char *const fields[] = {"type", "id", "run", "batch", "data",
	"error", "error_kind", "error_scope", "valid", "checks.*.pass",
	"checks.*.score", "arm", "generator", "params", "context", NULL};
static struct sg_filter f = {
	.usage = "usage: sg-score [-huVv] [--strict] [--dev file [--gate]]"
		 " [-s state] [file ...]\n",
	.fields = fields,
};

/* The record in hand as it came in, but for the fields named. */
static void
emit(json_t *rec, const char *const owned[])
{
	sg_filter_splice(&f, rec, owned);
}

static void
recipe_defaults(struct recipe *rc)
{
	json_decref(rc->weights);
	json_decref(rc->recipe);
	memset(rc, 0, sizeof *rc);
	rc->threshold = 0.5;
	rc->min_fidelity = 0.001;
	memcpy(rc->w, sg_part_defaults, sizeof rc->w);
	sg_marginal_conf_read(&rc->mc, NULL);
}

/* A number in [0,1] at path, NULL when absent; a bad one is reported. */
static json_t *
unit(const json_t *recipe, const char *path, const char *where, int *bad)
{
	json_t *v = sg_path(recipe, path);

	if (!v || json_is_null(v))
		return NULL;
	if (json_is_number(v) && json_number_value(v) >= 0 &&
		json_number_value(v) <= 1)
		return v;
	sg_warn("%s: job \"recipe.%s\" is not a number between 0 and 1", where,
		path);
	(*bad)++;
	return NULL;
}

/* The recipe of a job; a bad field is reported and keeps its default. */
static void
recipe_parse(struct recipe *rc, const json_t *job, const char *where, int *bad)
{
	const json_t *recipe = json_object_get(job, "recipe");
	json_t *v, *w;
	const char *key, *at = "reward";

	recipe_defaults(rc);
	rc->recipe = json_incref((json_t *)recipe);
	sg_marginal_conf_read(&rc->mc, recipe);
	if ((v = unit(recipe, "quality.threshold", where, bad)))
		rc->threshold = json_number_value(v);
	if ((v = unit(recipe, "quality.min_fidelity", where, bad)))
		rc->min_fidelity = json_number_value(v);
	if ((v = unit(recipe, "constraints.min_diversity", where, bad)))
		rc->has_mindiv = 1, rc->mindiv = json_number_value(v);
	if ((v = unit(recipe, "constraints.max_repetition_rate", where, bad)))
		rc->has_maxrep = 1, rc->maxrep = json_number_value(v);
	/* the embedding dispersion sg-validate measured, when it did */
	if ((v = unit(recipe, "validators.diversity.min_dispersion", where,
		     bad)))
		rc->has_mindisp = 1, rc->mindisp = json_number_value(v);
	else if (rc->has_mindiv)
		rc->has_mindisp = 1, rc->mindisp = rc->mindiv;
	v = sg_path(recipe, "quality.weights");
	if (json_is_object(v)) {
		rc->weights = json_object();
		json_object_foreach (v, key, w) {
			if (json_is_number(w) && json_number_value(w) >= 0) {
				json_object_set(rc->weights, key, w);
				continue;
			}
			sg_warn("%s: job \"recipe.quality.weights.%s\" is not "
				"a number >= 0",
				where, key);
			(*bad)++;
		}
	} else if (v && !json_is_null(v)) {
		sg_warn("%s: job \"recipe.quality.weights\" is not an object",
			where);
		(*bad)++;
	}
	/* reward, or quality.reward as recipes wrote it before */
	v = json_object_get(recipe, "reward");
	if (!v || json_is_null(v)) {
		v = sg_path(recipe, "quality.reward");
		at = "quality.reward";
	}
	if (v && !json_is_null(v) && !json_is_object(v)) {
		sg_warn("%s: job \"recipe.%s\" is not an object", where, at);
		(*bad)++;
	}
	for (int i = 0; i <= SG_NPARTS; i++) {
		const char *name = i < SG_NPARTS ? sg_part_names[i] : "cost";
		double *to = i < SG_NPARTS ? &rc->w[i] : &rc->wcost;

		w = json_object_get(v, name);
		if (json_is_number(w) && json_number_value(w) >= 0) {
			*to = json_number_value(w);
		} else if (w && !json_is_null(w)) {
			sg_warn("%s: job \"recipe.%s.%s\" is not a number >= 0",
				where, at, name);
			(*bad)++;
		}
	}
}

/* Forget the batch's samples; its recipe stays for late samples. */
static void
batch_close(struct batch *b)
{
	sg_texts_free(&b->texts);
	for (size_t i = 0; i < b->ntally; i++)
		free(b->tally[i].name);
	free(b->tally);
	b->tally = NULL;
	b->ntally = b->tallycap = 0;
	b->seen = b->passed = b->infra = 0;
	json_decref(b->infra_what);
	b->infra_what = NULL;
	json_decref(b->error);
	b->error = NULL;
	b->qsum = 0;
	sg_batch_parts_free(&b->parts);
	memset(&b->parts, 0, sizeof b->parts);
	b->done = 1;
}

static void
batch_reset(struct batch *b)
{
	batch_close(b);
	b->done = 0;
	b->job_n = -1;
	json_decref(b->meta);
	b->meta = json_object();
	recipe_defaults(&b->rc);
}

static void
batch_free(struct batch *b)
{
	batch_close(b);
	json_decref(b->meta);
	json_decref(b->rc.weights);
	json_decref(b->rc.recipe);
	free(b->run);
	free(b);
}

static struct batch *
batch_get(const char *run, long long id)
{
	struct batch *b = sg_batches_get(&batches, run, id);

	if (b)
		return b;
	b = sg_xcalloc(1, sizeof *b);
	b->run = sg_xstrdup(run);
	b->id = id;
	batch_reset(b);
	sg_batches_add(&batches, run, id, b);
	return b;
}

static void
meta_fill(json_t *meta, const json_t *rec)
{
	json_t *v;

	for (size_t i = 0; i < NMETAKEYS; i++)
		if (!json_object_get(meta, metakeys[i]) &&
			(v = json_object_get(rec, metakeys[i])))
			json_object_set(meta, metakeys[i], v);
}

static int
has(const json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	return v && !json_is_null(v);
}

/* Count the i-th check of a sample; samples mostly list their checks in
 * the same order, so the i-th tally is tried first. */
static void
tally_check(struct batch *b, size_t i, const char *name, int pass)
{
	struct tally *t = NULL;

	if (i < b->ntally && strcmp(b->tally[i].name, name) == 0)
		t = &b->tally[i];
	for (size_t k = 0; !t && k < b->ntally; k++)
		if (strcmp(b->tally[k].name, name) == 0)
			t = &b->tally[k];
	if (!t) {
		if (b->ntally == b->tallycap) {
			b->tallycap = b->tallycap ? 2 * b->tallycap : 16;
			b->tally = sg_xrealloc(
				b->tally, b->tallycap * sizeof *b->tally);
		}
		t = &b->tally[b->ntally++];
		t->name = sg_xstrdup(name);
		t->pass = t->fail = 0;
	}
	if (pass)
		t->pass++;
	else
		t->fail++;
}

/* The sample's quality, from one walk over its checks that also counts
 * them for the batch when count is set. */
static double
walk_checks(const json_t *s, struct batch *b, int count)
{
	json_t *c, *w, *score;
	const char *name;
	double sum = 0, wsum = 0, wt, value;
	size_t i = 0;
	int pass;

	json_object_foreach (json_object_get(s, "checks"), name, c) {
		pass = sg_get_bool(c, "pass", 0);
		if (count)
			tally_check(b, i++, name, pass);
		score = json_object_get(c, "score");
		if (json_is_number(score) && json_number_value(score) >= 0 &&
			json_number_value(score) <= 1)
			value = json_number_value(score);
		else
			value = pass;
		w = json_object_get(b->rc.weights, name);
		wt = w ? json_number_value(w) : 1;
		sum += wt * value;
		wsum += wt;
	}
	if (has(s, "error") || !has(s, "data"))
		return 0;
	/* no check, or only weightless ones: nothing said it was bad */
	return wsum > 0 ? sum / wsum : 1;
}

/* A sample that failed for the server or the setup, not its content:
 * a batch of nothing else teaches the router nothing.  The first error
 * of another kind is kept to tell the user why the arm's samples fail. */
static void
error_count(struct batch *b, const json_t *s)
{
	const char *kind = sg_get_str(s, "error_kind");

	if (!has(s, "error"))
		return;
	if (!kind || strcmp(kind, "infrastructure") != 0) {
		if (!b->error)
			b->error = json_incref(json_object_get(s, "error"));
		return;
	}
	if (b->infra++ == 0)
		b->infra_what = json_pack("{s:O, s:s}", "skipped",
			json_object_get(s, "error"), "error_scope",
			sg_get_str(s, "error_scope")
				? sg_get_str(s, "error_scope")
				: "arm");
}

static void
score_sample(json_t *s, struct batch *b, int count)
{
	double q = walk_checks(s, b, count), fid;
	int pass = has(s, "data") && !has(s, "error") &&
		   !json_is_false(json_object_get(s, "valid")) &&
		   q >= b->rc.threshold;
	char *text;

	json_object_set_new(s, "quality", json_real(q));
	if (count && marginal_ready && pass) {
		pass = sg_marginal_sample(&marginal, &b->rc.mc, &b->parts,
			sg_get_str(s, "arm"), json_object_get(s, "data"),
			b->rc.min_fidelity, &fid);
		if (fid >= 0)
			json_object_set_new(s, "fidelity", json_real(fid));
	}
	json_object_set_new(s, "pass", json_boolean(pass));
	if (!count)
		return;
	b->seen++;
	b->passed += pass;
	b->qsum += q;
	meta_fill(b->meta, s);
	error_count(b, s);
	if (!has(s, "data"))
		return;
	text = sg_sample_text(json_object_get(s, "data"));
	sg_texts_add(&b->texts, text, strlen(text));
	free(text);
}

/* The reward of batch b; end is its batch record, NULL when it never
 * came. */
static json_t *
reward(struct batch *b, const json_t *end)
{
	json_t *r = json_object(), *v, *w, *parts, *checks = json_object();
	long long n = end ? sg_get_int(end, "n", b->job_n) : b->job_n;
	double pass_rate, quality, d2, rep, value, part[SG_NPARTS];
	int gated = 0;
	json_t *cost, *disp = json_object_get(end, "embedding_dispersion");

	if (!json_is_number(disp))
		disp = NULL;
	if (n < (long long)b->seen)
		n = (long long)b->seen;
	pass_rate = n > 0 ? (double)b->passed / (double)n : 0;
	quality = b->seen ? b->qsum / (double)b->seen : 0;
	sg_diversity_measure(&diversity, &b->texts);
	d2 = diversity.distinct_2;
	rep = diversity.repetition_rate;
	if (marginal_ready)
		sg_marginal_parts(&marginal, &b->parts, part);
	else
		for (int i = 0; i < SG_NPARTS; i++)
			part[i] = NAN;
	/* a batch that leaves the dataset's model worse on the dev set is
	 * taken back out of the samples the next batches are weighed
	 * against, and sg-update accepts none of it; its arm still gets
	 * the reward it earned */
	if (gate && part[SG_PART_DEV] < 0.5) {
		sg_marginal_undo(&marginal, &b->parts);
		gated = 1;
	}
	part[SG_PART_PASS_RATE] = pass_rate;
	part[SG_PART_QUALITY] = quality;
	part[SG_PART_DIVERSITY] = d2;
	value = sg_reward_value(b->rc.w, part);
	if (b->rc.has_mindiv && d2 < b->rc.mindiv)
		value *= 0.5;
	if (b->rc.has_maxrep && rep > b->rc.maxrep)
		value *= 0.5;
	if (disp && b->rc.has_mindisp &&
		json_number_value(disp) < b->rc.mindisp)
		value *= 0.5;
	cost = json_object_get(end, "cost");
	if (json_is_number(cost) && json_number_value(cost) >= 0)
		value -= b->rc.wcost * json_number_value(cost);
	else
		cost = NULL;

	json_object_set_new(r, "type", json_string("reward"));
	json_object_set_new(r, "run", json_string(b->run));
	json_object_set_new(r, "batch", json_integer((json_int_t)b->id));
	for (size_t i = 0; i < NMETAKEYS; i++)
		if ((v = json_object_get(end, metakeys[i])) ||
			(v = json_object_get(b->meta, metakeys[i])))
			json_object_set(r, metakeys[i], v);
	if (b->infra > 0 && (long long)b->infra >= n) {
		json_object_set_new(r, "reward", json_null());
		json_object_update(r, b->infra_what);
	} else {
		json_object_set_new(r, "reward", json_real(value));
	}
	if (gated)
		json_object_set_new(r, "reject",
			json_string("its samples lower the dev score"));
	json_object_set_new(r, "n", json_integer((json_int_t)n));
	json_object_set_new(r, "passed", json_integer((json_int_t)b->passed));
	json_object_set_new(r, "pass_rate", json_real(pass_rate));
	json_object_set_new(r, "mean_quality", json_real(quality));
	json_object_set_new(r, "diversity", json_real(d2));
	json_object_set_new(r, "distinct_1", json_real(diversity.distinct_1));
	json_object_set_new(r, "distinct_2", json_real(d2));
	json_object_set_new(r, "repetition_rate", json_real(rep));
	if (cost) {
		json_object_set(r, "cost", cost);
		json_object_set_new(r, "cost_weight", json_real(b->rc.wcost));
	}
	json_object_set_new(
		r, "compression_ratio", json_real(diversity.compression_ratio));
	if (disp)
		json_object_set(r, "embedding_dispersion", disp);
	for (size_t i = 0; i < b->ntally; i++)
		json_object_set_new(checks, b->tally[i].name,
			json_pack("{sIsI}", "pass",
				(json_int_t)b->tally[i].pass, "fail",
				(json_int_t)b->tally[i].fail));
	json_object_set_new(r, "checks", checks);
	if (b->error)
		json_object_set(r, "first_error", b->error);
	w = json_object();
	parts = json_object();
	for (int i = 0; i < SG_NPARTS; i++) {
		json_object_set_new(w, sg_part_names[i], json_real(b->rc.w[i]));
		json_object_set_new(parts, sg_part_names[i],
			isnan(part[i]) ? json_null() : json_real(part[i]));
	}
	json_object_set_new(r, "parts", parts);
	/* so that sg-eval can tell a figure on the dev set from one on data
	 * the router never saw */
	if (dev_path)
		json_object_set_new(r, "dev",
			json_pack("{s:s, s:s}", "path", dev_path, "hash",
				dev_hash));
	json_object_set_new(r, "weights", w);
	if (b->rc.has_mindiv)
		json_object_set_new(
			r, "diversity_ok", json_boolean(d2 >= b->rc.mindiv));
	if (b->rc.has_maxrep)
		json_object_set_new(
			r, "repetition_ok", json_boolean(rep <= b->rc.maxrep));
	if (disp && b->rc.has_mindisp)
		json_object_set_new(r, "dispersion_ok",
			json_boolean(json_number_value(disp) >= b->rc.mindisp));
	sg_note("run %s batch %lld: reward %.4f", b->run, b->id, value);
	return r;
}

static void
emit_reward(struct batch *b, const json_t *end)
{
	json_t *r = reward(b, end);

	sg_filter_put(&f, r);
	json_decref(r);
	batch_close(b);
}

/* The accepted samples of the state's output, and the dev set, read once
 * the first job says which fields hold label and text. */
static void
marginal_load(const struct recipe *rc)
{
	struct sg_error e;

	sg_marginal_init(&marginal);
	marginal.keep = gate;
	marginal_ready = 1;
	if (dev_path &&
		(sg_marginal_dev(&marginal, &rc->mc, dev_path, &e) < 0 ||
			sg_file_hash(dev_path, dev_hash, &e) < 0))
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
	sg_marginal_examples(&marginal, &rc->mc, rc->recipe);
	if (state_path &&
		sg_marginal_load_state(&marginal, &rc->mc, state_path, &e) < 0)
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
}

/* One record: job, sample and batch records are ours to look at; the
 * return value counts the problems reported. */
static int
handle(json_t *rec, const char *where)
{
	static const char *const none[] = {NULL};
	static const char *const ours[] = {"quality", "pass", "fidelity", NULL};
	const char *type = sg_rec_type(rec), *run;
	struct batch *b;
	long long id;
	int bad = 0;

	if (strcmp(type, "job") == 0) {
		/* a job before sg-route has no batch yet: not ours */
		if (json_object_get(rec, "batch")) {
			if (sg_record_batch_at(rec, where, &run, &id) < 0)
				return 1;
			b = batch_get(run, id);
			if (b->done)
				batch_reset(b);
			recipe_parse(&b->rc, rec, where, &bad);
			if (!marginal_ready && (state_path || dev_path))
				marginal_load(&b->rc);
			json_object_clear(b->meta);
			meta_fill(b->meta, rec);
			b->job_n = sg_get_int(rec, "n", -1);
		}
		emit(rec, none);
	} else if (strcmp(type, "sample") == 0) {
		if (sg_record_batch_at(rec, where, &run, &id) < 0)
			return 1;
		b = batch_get(run, id);
		if (b->done) {
			sg_warn("%s: sample \"%s\" comes after the end of its "
				"batch",
				where, sg_get_str(rec, "id"));
			bad++;
		}
		score_sample(rec, b, !b->done);
		emit(rec, ours);
	} else if (strcmp(type, "batch") == 0) {
		if (sg_record_batch_at(rec, where, &run, &id) < 0)
			return 1;
		b = batch_get(run, id);
		emit(rec, none);
		if (b->done) {
			sg_warn("%s: batch %lld of run \"%s\" ends twice",
				where, id, run);
			return 1;
		}
		emit_reward(b, rec);
	} else {
		emit(rec, none);
	}
	return bad;
}

static void
score(struct sg_filter *f, json_t *rec)
{
	if (handle(rec, f->where))
		sg_filter_fail(f, SG_EXIT_DATA);
}

static const struct option longopts[] = {
	{"dev", required_argument, NULL, OPT_DEV},
	{"gate", no_argument, NULL, OPT_GATE},
	{"help", no_argument, NULL, 'h'},
	{"state", required_argument, NULL, 's'},
	{"strict", no_argument, NULL, SG_OPT_STRICT},
	{"unbuffered", no_argument, NULL, 'u'},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/* Score the samples of each input in turn, as one stream. */
int
main(int argc, char *argv[])
{
	int c;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "hs:uVv", longopts, NULL)) != -1) {
		if (sg_filter_option(&f, c))
			continue;
		if (c == 's')
			state_path = optarg;
		else if (c == OPT_DEV)
			dev_path = optarg;
		else if (c == OPT_GATE)
			gate = 1;
		else
			sg_usage(f.usage, SG_EXIT_USAGE);
	}
	if (gate && !dev_path) {
		sg_warn("--gate needs --dev");
		sg_usage(f.usage, SG_EXIT_USAGE);
	}
	sg_filter_run(&f, argv + optind, argc - optind, score);
	for (size_t i = 0; i < batches.n; i++) {
		struct batch *b = batches.v[i];

		if (!sg_filter_stopped(&f) && !b->done && b->seen > 0) {
			sg_note("run %s batch %lld has no batch record", b->run,
				b->id);
			emit_reward(b, NULL);
		}
		batch_free(b);
	}
	sg_batches_free(&batches);
	sg_diversity_free(&diversity);
	if (marginal_ready)
		sg_marginal_free(&marginal);
	return sg_finish(f.status);
}
