/*
 * sg-eval - what a synthetic dataset is worth on real data.
 *
 * Reads sg sample records (a dataset written by sg-update, or any stream
 * of samples) from the files named or standard input, trains a
 * fastText-style classifier on the label and text fields of their "data",
 * and tests it on a real, held-out labelled set (-T).  Writes one "eval"
 * record to standard output: the n-gram overlap between the synthetic
 * training texts and the test texts (measured before scoring, so test
 * sentences the generator happened to reproduce show up), accuracy,
 * macro-F1, the confusion matrix, the majority-class baseline and, with a
 * real training set (-L), the real-trained ceiling and the utility
 * (synthetic - majority) / (ceiling - majority).  With -R it also trains
 * without each arm's samples and writes one reward record per arm for
 * sg-update: the downstream signal the router learns from, and whether
 * the dataset is better without them.  A summary
 * goes to standard error.  sg-eval owns every field of what it writes.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record.h"
#include "score/score.h"
#include "recipe/recipe.h"
#include "eval/eval.h"

static struct sg_filter f = {
	.usage = "usage: sg-eval [-hRuVv] [--strict] [-b buckets] [-c recipe]"
		 " [-d dim] [-e epochs] [-g n] [-L real-train] [-l label-field]"
		 " [-r rate] [-s state] [--seed n] [-t text-field] [-W window]"
		 " [-w ngrams] -T test [file ...]\n",
};

/* The samples of one arm: their positions in the training set. */
struct arm {
	char *name, *run;
	long long batch; /* the latest batch seen */
	size_t *idx, n, cap;
	/* with -R: the dataset without the arm's latest w (train's strings,
	 * its own arrays), and its figures */
	struct sg_labelled without;
	size_t w;
	json_t *res;
};

static struct sg_labelled train;
static struct arm *arms;
static size_t narms;
/* The run and latest batch of the samples, to place an eval in time. */
static char *lastrun;
static long long lastbatch = -1;
/* From -l and -t, else the recipe's evaluation section, else these. */
static const char *label_field, *text_field;

static struct arm *
arm_of(const char *name)
{
	for (size_t i = 0; i < narms; i++)
		if (strcmp(arms[i].name, name) == 0)
			return &arms[i];
	arms = sg_xrealloc(arms, (narms + 1) * sizeof *arms);
	arms[narms] = (struct arm){.name = sg_xstrdup(name), .batch = -1};
	return &arms[narms++];
}

static void
take(struct sg_filter *f, json_t *rec)
{
	json_t *data = json_object_get(rec, "data");
	const char *text, *run, *armname = sg_get_str(rec, "arm");
	long long batch;
	struct sg_error e;
	struct arm *a;
	char *label;

	if (strcmp(sg_rec_type(rec), "sample") != 0 ||
		json_object_get(rec, "error") ||
		json_is_false(json_object_get(rec, "pass")))
		return;
	label = sg_label_string(sg_path(data, label_field));
	text = sg_get_str(data, text_field);
	if (!label || !text) {
		sg_filter_bad(f, "sample has no %s \"data.%s\"",
			label ? "string" : "label",
			label ? text_field : label_field);
		free(label);
		return;
	}
	sg_labelled_add(&train, label, text);
	free(label);
	if (sg_record_batch(rec, &run, &batch, &e) < 0)
		return;
	if (batch >= lastbatch) {
		lastbatch = batch;
		free(lastrun);
		lastrun = sg_xstrdup(run);
	}
	if (!armname)
		return;
	a = arm_of(armname);
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 64;
		a->idx = sg_xrealloc(a->idx, a->cap * sizeof *a->idx);
	}
	a->idx[a->n++] = train.n - 1;
	if (batch >= a->batch) {
		a->batch = batch;
		free(a->run);
		a->run = sg_xstrdup(run);
	}
}

/* A classifier to train on d and test: its figures land in *res. */
struct training {
	const struct sg_labelled *d;
	json_t **res;
};

static const struct sg_clf_params *params;
static const struct sg_labelled *testset;
static struct training *todo;
static size_t ntodo, taken;
static pthread_mutex_t taking = PTHREAD_MUTEX_INITIALIZER;

static void *
trainer(void *unused)
{
	struct sg_error e;
	struct sg_clf *c;
	size_t i;

	(void)unused;
	for (;;) {
		pthread_mutex_lock(&taking);
		i = taken++;
		pthread_mutex_unlock(&taking);
		if (i >= ntodo)
			return NULL;
		if (!(c = sg_clf_train(params, todo[i].d, &e)))
			sg_die(SG_EXIT_DATA, "cannot train: %s", e.text);
		*todo[i].res = sg_clf_evaluate(c, testset);
		sg_clf_free(c);
	}
}

/* The n trainings, on as many threads as there are processors: a
 * classifier's every draw comes from its own generator, seeded alike, so
 * the figures are those of one training after another. */
static void
train_all(const struct sg_clf_params *p, const struct sg_labelled *test,
	struct training *t, size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus > 1 ? (size_t)cpus : 1, k;
	pthread_t *th;

	params = p;
	testset = test;
	todo = t;
	ntodo = n;
	taken = 0;
	nt = nt < n ? nt : n;
	th = sg_xmalloc((nt ? nt : 1) * sizeof *th);
	for (k = 1; k < nt; k++)
		if (pthread_create(&th[k], NULL, trainer, NULL) != 0)
			break;
	nt = k;
	trainer(NULL);
	for (k = 1; k < nt; k++)
		pthread_join(th[k], NULL);
	free(th);
}

static double
num(const json_t *res, const char *path)
{
	return json_number_value(sg_path(res, path));
}

/* What sg-update needs to take an arm's samples out of the dataset: how
 * many there are of each label. */
static json_t *
withdrawal(const struct arm *a)
{
	json_t *labels = json_object();
	const char *l;

	for (size_t j = 0; j < a->n; j++) {
		l = train.label[a->idx[j]];
		json_object_set_new(
			labels, l, json_integer(sg_get_int(labels, l, 0) + 1));
	}
	return json_pack(
		"{s:I, s:o}", "samples", (json_int_t)a->n, "labels", labels);
}

/* For -R: each arm's dataset without its latest window samples (-W; all
 * of its samples when it has fewer, or when window is 0: the arm left
 * out), to be trained on beside the whole. */
static void
arm_datasets(size_t window)
{
	unsigned char *drop = sg_xmalloc(train.n ? train.n : 1);

	for (size_t i = 0; i < narms; i++) {
		struct arm *a = &arms[i];

		struct sg_labelled *d = &a->without;

		a->w = window == 0 || a->n < window ? a->n : window;
		memset(drop, 0, train.n);
		for (size_t j = a->n - a->w; j < a->n; j++)
			drop[a->idx[j]] = 1;
		/* the strings stay train's: an arm's copy would cost the
		 * dataset again */
		d->cap = train.n - a->w;
		d->label = sg_xmalloc((d->cap ? d->cap : 1) * sizeof *d->label);
		d->text = sg_xmalloc((d->cap ? d->cap : 1) * sizeof *d->text);
		for (size_t j = 0; j < train.n; j++)
			if (!drop[j]) {
				d->label[d->n] = train.label[j];
				d->text[d->n++] = train.text[j];
			}
	}
	free(drop);
}

/* Each arm's marginal contribution: the dataset trained on with and
 * without the arm's window, compared by the log-likelihood of the test
 * set's true labels.  Not their mean probability: real texts labelled
 * wrongly raise it on the samples they help while the confident mistakes
 * they teach lower accuracy (bench/RESULTS.md).  The difference, per unit
 * of the window's share of the dataset, is read on the logistic scale of
 * sg-score's dev part (sg_reward_dev), unclamped: an arm that hurts scores
 * below 1/2. */
static json_t *
arm_rewards(double all, json_t *evalrec)
{
	json_t *out = json_array(), *per = json_object();

	for (size_t i = 0; i < narms; i++) {
		struct arm *a = &arms[i];
		json_t *rec;
		double without, gain, r;
		int harmful;

		if (!a->res)
			continue;
		without = num(a->res, "log_likelihood");
		gain = (all - without) * (double)train.n / (double)a->w;
		r = sg_reward_dev(gain);
		harmful = a->w == a->n && sg_gain_harmful(gain);
		json_object_set_new(per, a->name,
			json_pack("{s:I, s:f, s:f, s:f, s:b}", "window",
				(json_int_t)a->w, "without", without, "gain",
				gain, "reward", r, "withdraw", harmful));
		rec = json_pack("{s:s, s:s, s:I, s:s, s:f, s:s, s:f, s:I}",
			"type", "reward", "run", a->run, "batch",
			(json_int_t)a->batch, "arm", a->name, "reward", r,
			"source", "sg-eval", "gain", gain, "window",
			(json_int_t)a->w);
		/* the dataset is better without all of them: sg-update takes
		 * them out of it */
		if (harmful)
			json_object_set_new(rec, "withdraw", withdrawal(a));
		json_array_append_new(out, rec);
	}
	json_object_set_new(evalrec, "arms", per);
	return out;
}

static void
load(struct sg_labelled *d, const char *path)
{
	struct sg_error e;
	int rc = sg_labelled_load(d, path, label_field, text_field, &e);

	if (rc < 0)
		sg_die(rc == -1 ? SG_EXIT_IO : SG_EXIT_DATA, "%s", e.text);
}

static void
summary(const json_t *ev)
{
	const json_t *syn = json_object_get(ev, "synthetic");
	const json_t *ov = json_object_get(ev, "overlap"), *labels, *row;
	const char *name;
	json_t *arm;
	size_t i, j;

	fprintf(stderr,
		"%s: trained on %lld synthetic examples, tested on %lld real"
		" ones from '%s'\n",
		sg_progname, sg_get_int(ev, "train_n", 0),
		sg_get_int(syn, "n", 0), sg_get_str(ev, "test"));
	fprintf(stderr,
		"%s: overlap: %.1f%% of the test's word %lld-grams occur in the"
		" training texts; %lld test texts are covered, %lld verbatim\n",
		sg_progname, 100 * num(ov, "ngrams"), sg_get_int(ov, "n", 0),
		sg_get_int(ov, "covered_texts", 0),
		sg_get_int(ov, "exact_texts", 0));
	fprintf(stderr, "%s: accuracy %.3f, macro-F1 %.3f; majority class %.3f",
		sg_progname, num(syn, "accuracy"), num(syn, "macro_f1"),
		num(ev, "majority"));
	if (json_object_get(ev, "ceiling"))
		fprintf(stderr, "; real-trained ceiling %.3f",
			num(ev, "ceiling"));
	if (json_is_number(json_object_get(ev, "utility")))
		fprintf(stderr, "; utility %.3f", num(ev, "utility"));
	fputc('\n', stderr);
	labels = json_object_get(syn, "labels");
	fprintf(stderr,
		"%s: confusion (rows true, columns predicted):", sg_progname);
	json_array_foreach (labels, i, row)
		fprintf(stderr, " %s", json_string_value(row));
	fputc('\n', stderr);
	json_array_foreach (json_object_get(syn, "confusion"), i, row) {
		fprintf(stderr, "%s:   %-12s", sg_progname,
			json_string_value(json_array_get(labels, i)));
		for (j = 0; j < json_array_size(row); j++)
			fprintf(stderr, " %6lld",
				(long long)json_integer_value(
					json_array_get(row, j)));
		fputc('\n', stderr);
	}
	json_object_foreach (json_object_get(ev, "arms"), name, arm)
		fprintf(stderr,
			"%s: arm %s: without its latest %lld samples the"
			" true labels' log-likelihood is %.3f; reward"
			" %.3f%s\n",
			sg_progname, name, sg_get_int(arm, "window", 0),
			num(arm, "without"), num(arm, "reward"),
			json_is_true(json_object_get(arm, "withdraw"))
				? "; better left out: to withdraw"
				: "");
}

/* Whether test is the dev set a run's router learnt from (its state
 * records the dev set's hash): state names it, else each input's
 * FILE.state, as sg-run keeps it.  Said once, and in the eval record. */
static void
dev_check(json_t *ev, const char *test, const char *state, char *const in[],
	int nin)
{
	char hash[17], *path;
	struct sg_error e;
	json_t *st;
	int hit = 0;

	if (sg_file_hash(test, hash, &e) < 0)
		return;
	for (int i = state ? -1 : 0; i < nin && !hit; i++) {
		path = i < 0 ? sg_xstrdup(state) : sg_suffixed(in[i], ".state");
		st = json_load_file(path, 0, NULL);
		if (st && sg_get_str(json_object_get(st, "dev"), "hash") &&
			strcmp(sg_get_str(json_object_get(st, "dev"), "hash"),
				hash) == 0) {
			sg_warn("'%s' is the dev set the router of '%s' learnt"
				" from: these figures are not on held-out data",
				test, path);
			hit = 1;
		}
		json_decref(st);
		free(path);
		if (state)
			break;
	}
	json_object_set_new(ev, "test_is_dev", json_boolean(hit));
}

static void
recipe_warning(void *ctx, const char *msg)
{
	(void)ctx;
	sg_warn("%s", msg);
}

static long long
count(const char *opt, const char *arg, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || *end || !*arg || v < min || v > max)
		sg_die(SG_EXIT_USAGE,
			"%s wants a whole number in %lld..%lld, not '%s'", opt,
			min, max, arg);
	return v;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"buckets", required_argument, NULL, 'b'},
		{"recipe", required_argument, NULL, 'c'},
		{"dim", required_argument, NULL, 'd'},
		{"epochs", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{"label-field", required_argument, NULL, 'l'},
		{"lr", required_argument, NULL, 'r'},
		{"overlap", required_argument, NULL, 'g'},
		{"real-train", required_argument, NULL, 'L'},
		{"rewards", no_argument, NULL, 'R'},
		{"seed", required_argument, NULL, 'S'},
		{"state", required_argument, NULL, 's'},
		{"strict", no_argument, NULL, SG_OPT_STRICT},
		{"test", required_argument, NULL, 'T'},
		{"text-field", required_argument, NULL, 't'},
		{"unbuffered", no_argument, NULL, 'u'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"window", required_argument, NULL, 'W'},
		{"word-ngrams", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	struct sg_clf_params p = {.dim = 50,
		.epochs = 20,
		.ngrams = 2,
		.lr = 0.5,
		.buckets = 1u << 18,
		.seed = 1};
	struct sg_labelled test = {0}, real = {0};
	const char *testpath = NULL, *realpath = NULL, *recipe_path = NULL;
	const char *state = NULL;
	size_t window = 50;
	json_t *recipe = NULL;
	struct sg_error e;
	json_t *ev, *syn = NULL, *rewards = NULL, *r = NULL;
	struct training *t;
	double maj, ceiling = -1;
	int c, status, overlap = 4, want_rewards = 0;
	size_t i, n = 0;
	char *end;

	sg_init(argv);
	/* a classifier's 52 MB of weights from the heap, kept there when it
	 * is freed: mmap'd, each of -R's classifiers faulted every page in
	 * again, which cost more than their training */
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	while ((c = getopt_long(argc, argv, "b:c:d:e:g:hL:l:Rr:s:T:t:uVvW:w:",
			longopts, NULL)) != -1) {
		if (sg_filter_option(&f, c))
			continue;
		switch (c) {
		case 'b':
			p.buckets = (uint32_t)count("-b", optarg, 1, 1 << 24);
			break;
		case 'c':
			recipe_path = optarg;
			break;
		case 'd':
			p.dim = (int)count("-d", optarg, 1, 1000);
			break;
		case 'e':
			p.epochs = (int)count("-e", optarg, 1, 10000);
			break;
		case 'g':
			overlap = (int)count("-g", optarg, 1, SG_MAX_NGRAM);
			break;
		case 'L':
			realpath = optarg;
			break;
		case 'l':
			label_field = optarg;
			break;
		case 'R':
			want_rewards = 1;
			break;
		case 'r':
			p.lr = strtod(optarg, &end);
			if (*end || !*optarg || !(p.lr > 0 && p.lr <= 10))
				sg_die(SG_EXIT_USAGE,
					"-r wants a rate in (0, 10], not '%s'",
					optarg);
			break;
		case 'S':
			p.seed = (uint64_t)count(
				"--seed", optarg, 1, (1LL << 53) - 1);
			break;
		case 's':
			state = optarg;
			break;
		case 'T':
			testpath = optarg;
			break;
		case 'W':
			/* 0: every sample of the arm */
			window = (size_t)count("-W", optarg, 0, 1 << 30);
			break;
		case 't':
			text_field = optarg;
			break;
		case 'w':
			p.ngrams = (int)count("-w", optarg, 1, 2);
			break;
		default:
			sg_usage(f.usage, SG_EXIT_USAGE);
		}
	}
	if (!testpath)
		sg_usage(f.usage, SG_EXIT_USAGE);
	if (recipe_path && !(recipe = sg_recipe_load(
				     recipe_path, recipe_warning, NULL, &e)))
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
	if (!label_field)
		label_field = sg_get_str(
			sg_path(recipe, "evaluation"), "label_field");
	if (!text_field)
		text_field =
			sg_get_str(sg_path(recipe, "evaluation"), "text_field");
	label_field = label_field ? label_field : "label";
	text_field = text_field ? text_field : "text";
	load(&test, testpath);
	if (realpath)
		load(&real, realpath);
	status = sg_filter_run(&f, argv + optind, argc - optind, take);
	if (train.n == 0)
		sg_die(status ? status : SG_EXIT_DATA,
			"no samples to train on");

	ev = json_pack("{s:s, s:s, s:I}", "type", "eval", "test", testpath,
		"train_n", (json_int_t)train.n);
	if (lastrun) {
		json_object_set_new(ev, "run", json_string(lastrun));
		json_object_set_new(ev, "batch", json_integer(lastbatch));
	}
	dev_check(ev, testpath, state, argv + optind, argc - optind);
	json_object_set_new(
		ev, "overlap", sg_ngram_overlap(&train, &test, overlap));
	/* every classifier at once: the dataset's, the real training set's,
	 * and with -R each arm's without its window */
	t = sg_xmalloc((2 + narms) * sizeof *t);
	t[n++] = (struct training){&train, &syn};
	if (realpath)
		t[n++] = (struct training){&real, &r};
	if (want_rewards) {
		arm_datasets(window);
		for (i = 0; i < narms; i++)
			if (arms[i].without.n > 0)
				t[n++] = (struct training){
					&arms[i].without, &arms[i].res};
	}
	train_all(&p, &test, t, n);
	free(t);
	maj = num(syn, "majority.accuracy");
	json_object_set_new(ev, "majority", json_real(maj));
	if (realpath) {
		ceiling = num(r, "accuracy");
		json_object_set_new(ev, "real_train", json_string(realpath));
		json_object_set_new(ev, "real", r);
		json_object_set_new(ev, "ceiling", json_real(ceiling));
		json_object_set_new(ev, "utility",
			ceiling > maj ? json_real((num(syn, "accuracy") - maj) /
						  (ceiling - maj))
				      : json_null());
	}
	json_object_set_new(ev, "synthetic", syn);
	json_object_set_new(ev, "params",
		json_pack("{s:i, s:i, s:i, s:f, s:I, s:I}", "dim", p.dim,
			"epochs", p.epochs, "word_ngrams", p.ngrams, "lr", p.lr,
			"buckets", (json_int_t)p.buckets, "seed",
			(json_int_t)p.seed));
	if (want_rewards)
		rewards = arm_rewards(num(syn, "log_likelihood"), ev);
	summary(ev);
	sg_filter_put(&f, ev);
	json_array_foreach (rewards, i, r)
		sg_filter_put(&f, r);
	json_decref(rewards);
	json_decref(ev);
	sg_labelled_free(&train);
	sg_labelled_free(&test);
	sg_labelled_free(&real);
	for (i = 0; i < narms; i++) {
		free(arms[i].name);
		free(arms[i].run);
		free(arms[i].idx);
		free(arms[i].without.label);
		free(arms[i].without.text);
		json_decref(arms[i].res);
	}
	free(arms);
	free(lastrun);
	json_decref(recipe);
	return sg_finish(status);
}
