/*
 * sg-update - learn from rewards and keep the accepted samples.
 *
 * Reads the stream after sg-score.  Samples are held per batch until the
 * batch's reward record arrives; then, under the state file's lock, the
 * accepted ones (pass not false, no error, the target not yet reached) are
 * appended to the output, the reward is applied to the state (counts and
 * sums per arm and context, epsilon decay, temperature), and the state is
 * committed, with the tokens and cost the batch record reports added to
 * its "usage" and, for a recipe with labels, the accepted samples' labels
 * to its "labels".  With -o the state also records the output's length, so a
 * batch is in both or in neither after a crash.  A reward that says to
 * withdraw its arm's samples (sg-eval -R) takes them out of the output,
 * into the rejects.  Job, batch and reward records are consumed (copied
 * to -l); other record types pass through.
 * With --merge it reads no records: it adds to the state what each worker
 * state, started from it (or from nothing), learnt since, and the length
 * of each worker's output, which the worker's next copy is cut back to.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record.h"
#include "route/route.h"

static struct sg_filter f = {
	.usage = "usage: sg-update [-huVv] [--strict] [-l log] [-o output]"
		 " [-r rejects] -s state [file ...]\n"
		 "       sg-update --merge -s state worker ...\n",
};

struct opts {
	const char *state, *output, *rejects, *log;
};

struct pending {
	char *run;
	long long batch;
	json_t *samples, *end; /* end: its batch record, or NULL */
	char *where;	       /* its first record's position */
};

static struct opts o;
static FILE *out;
/* appended to a record at a time, by processes side by side */
static int rejects = -1, logfd = -1;
static struct pending *pend;
static size_t npend;
/* The target of the latest job record, so the cap holds even when the
 * stage that records it in the state was replaced. */
static long long job_target;
/* The labels of the latest job's recipe: where a sample's label is. */
static json_t *job_recipe;
static struct sg_mix mix;

static int
open_append(const char *path)
{
	struct sg_error e;
	int fd = sg_open_nofollow(path, O_WRONLY | O_APPEND | O_CREAT, &e);

	if (fd < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	return fd;
}

static struct pending *
find_pending(const char *run, long long batch, int create)
{
	for (size_t i = 0; i < npend; i++)
		if (pend[i].batch == batch && strcmp(pend[i].run, run) == 0)
			return &pend[i];
	if (!create)
		return NULL;
	pend = sg_xrealloc(pend, (npend + 1) * sizeof *pend);
	pend[npend] = (struct pending){sg_xstrdup(run), batch, json_array(),
		NULL, sg_xstrdup(f.where)};
	return &pend[npend++];
}

static void
drop_pending(struct pending *p)
{
	free(p->run);
	free(p->where);
	json_decref(p->samples);
	json_decref(p->end);
	*p = pend[--npend];
}

/* Why a sample is not accepted, or NULL. */
static const char *
rejection(const json_t *s, char *buf, size_t size)
{
	json_t *checks = json_object_get(s, "checks"), *c;
	const char *name;
	size_t len = 0;

	if (json_object_get(s, "error"))
		return "generation failed";
	if (!json_object_get(s, "data"))
		return "no data";
	if (!json_is_false(json_object_get(s, "pass")) &&
		(json_object_get(s, "pass") ||
			!json_is_false(json_object_get(s, "valid"))))
		return NULL;
	len = (size_t)snprintf(buf, size, "failed");
	json_object_foreach (checks, name, c)
		if (json_is_false(json_object_get(c, "pass")) && len < size)
			len += (size_t)snprintf(
				buf + len, size - len, " %s", name);
	if (len == strlen("failed"))
		snprintf(buf, size, "quality below threshold");
	return buf;
}

static off_t
file_size(FILE *fp)
{
	struct stat sb;

	if (fflush(fp) == EOF || fstat(fileno(fp), &sb) < 0)
		sg_die(SG_EXIT_IO, "cannot write '%s': %s", o.output,
			strerror(errno));
	return sb.st_size;
}

/* A file whose length means something: not a pipe or a device. */
static int
regular(FILE *fp)
{
	struct stat sb;

	return fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The output written again without a withdrawn arm's samples, put in
 * place of the old once the state counts without them; appended to from
 * then on. */
static void
finish_withdrawal(const char *rewritten)
{
	struct sg_error e;

	if (sg_rename_synced(rewritten, o.output, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	fclose(out);
	if (!(out = sg_fopen_nofollow(o.output, "a", &e)))
		sg_die(SG_EXIT_IO, "%s", e.text);
}

/* Make the output agree with the state's record of it: bytes past the
 * last commit belong to a batch that never committed.  A worker's copy
 * (stamped by sg-route --worker) knows its output from the run's merged
 * state, or not at all when the run has merged none of it: then all of it
 * is from a round that was interrupted and is being run again. */
static void
reconcile_output(json_t *state)
{
	long long bytes = sg_state_output(state, o.output);
	char *rewritten = sg_suffixed(o.output, ".withdraw");
	struct stat sb;
	off_t size;

	/* a withdrawal stopped after the state's commit is finished; one
	 * stopped before it is undone */
	if (stat(rewritten, &sb) == 0) {
		if (sb.st_size == bytes) {
			sg_warn("finishing the withdrawal of samples from '%s'",
				o.output);
			finish_withdrawal(rewritten);
		} else {
			unlink(rewritten);
		}
	}
	free(rewritten);
	size = file_size(out);
	if (bytes < 0 && !json_object_get(state, "worker"))
		return;
	if (bytes < 0)
		bytes = 0;
	if (size < bytes)
		sg_die(SG_EXIT_CONFIG,
			"output '%s' has %lld bytes but state '%s' recorded "
			"%lld:"
			" was it edited?",
			o.output, (long long)size, o.state, bytes);
	if (size > bytes) {
		sg_warn("dropping %lld bytes of an unfinished batch from '%s'",
			(long long)(size - bytes), o.output);
		if (ftruncate(fileno(out), bytes) < 0)
			sg_die(SG_EXIT_IO, "cannot truncate '%s': %s", o.output,
				strerror(errno));
	}
}

/* n more in the count key of obj. */
static void
add_count(json_t *obj, const char *key, long long n)
{
	json_object_set_new(
		obj, key, json_integer(sg_get_int(obj, key, 0) + n));
}

/* One more accepted sample of its label in the state's "labels". */
static void
count_label(json_t *state, const json_t *sample)
{
	char *label =
		mix.n ? sg_mix_label(&mix, json_object_get(sample, "data"))
		      : NULL;
	json_t *counts = json_object_get(state, "labels");

	if (!label)
		return;
	if (!counts)
		json_object_set_new(state, "labels", counts = json_object());
	add_count(counts, label, 1);
	free(label);
}

static void
write_or_die(FILE *fp, json_t *rec, const char *name)
{
	if (sg_write_record(fp, rec, 0) < 0)
		sg_die(SG_EXIT_IO, "cannot write '%s': %s", name,
			strerror(errno));
}

static void
append_or_die(int fd, json_t *rec, const char *name)
{
	if (sg_append_record(fd, rec) < 0)
		sg_die(SG_EXIT_IO, "cannot write '%s': %s", name,
			strerror(errno));
}

/* An evaluation found the dataset better without an arm's samples (sg-eval
 * -R: the reward's "withdraw"): the output is written again without them
 * beside itself, they go to the rejects, and the state's counts lose them.
 * The arm is not paused: its reward tells the router, and an arm whose
 * samples were bad while the dataset was small (extractive, labelled by a
 * model of it) may make good ones later.  Returns the rewritten output's path,
 * to be renamed into place once the state is committed (reconcile_output
 * finishes that after a crash in between), or NULL when there is none;
 * *removed is how many samples went. */
static char *
withdraw(json_t *state, const json_t *reward, long long *removed)
{
	const json_t *w = json_object_get(reward, "withdraw"), *n;
	const char *arm = sg_get_str(reward, "arm"), *label, *of;
	json_t *counts = json_object_get(state, "labels"), *s, *armst;
	char why[256], *rewritten, *line = NULL;
	long long left;
	struct sg_error e;
	size_t cap = 0;
	ssize_t len;
	FILE *in, *kept = NULL;
	off_t size;

	*removed = 0;
	if (!json_is_object(w) || !arm)
		return NULL;
	snprintf(why, sizeof why,
		"the dataset is better without its %lld samples on the dev"
		" set (sg-eval: gain %.3f): withdrawn",
		sg_get_int(w, "samples", 0), sg_get_num(reward, "gain", 0));
	if (!o.output) {
		sg_warn("arm \"%s\": its samples cannot be taken back from"
			" <stdout>: give the output with -o",
			arm);
		return NULL;
	}
	left = sg_state_output(state, o.output);
	rewritten = sg_suffixed(o.output, ".withdraw");
	if (!(in = fopen(o.output, "r")) ||
		!(kept = sg_fopen_nofollow(rewritten, "w", &e)))
		sg_die(SG_EXIT_IO, "cannot withdraw samples from '%s': %s",
			o.output, in ? e.text : strerror(errno));
	while (left > 0 && (len = getline(&line, &cap, in)) > 0) {
		left -= len;
		s = json_loadb(line, (size_t)len, 0, NULL);
		of = sg_get_str(s, "arm");
		if (of && strcmp(of, arm) == 0) {
			(*removed)++;
			if (rejects >= 0) {
				json_object_set_new(
					s, "reject", json_string(why));
				append_or_die(rejects, s, o.rejects);
			}
		} else if (fwrite(line, 1, (size_t)len, kept) != (size_t)len) {
			sg_die(SG_EXIT_IO, "cannot write '%s': %s", rewritten,
				strerror(errno));
		}
		json_decref(s);
	}
	free(line);
	fclose(in);
	if (sg_close_synced(kept, rewritten, &size, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	if (*removed == 0) {
		unlink(rewritten);
		free(rewritten);
		return NULL;
	}
	if (*removed != sg_get_int(w, "samples", -1))
		sg_warn("arm \"%s\": %lld samples withdrawn from '%s', where"
			" the evaluation counted %lld",
			arm, *removed, o.output, sg_get_int(w, "samples", -1));
	sg_state_set_output(state, o.output, size);
	if ((armst = json_object_get(json_object_get(state, "arms"), arm)))
		add_count(armst, "withdrawn", *removed);
	json_object_foreach ((json_t *)json_object_get(w, "labels"), label, n)
		if (json_object_get(counts, label))
			add_count(counts, label, -json_integer_value(n));
	sg_note("arm \"%s\": %lld samples withdrawn from '%s'", arm, *removed,
		o.output);
	return rewritten;
}

/* Commit one batch: its samples, its batch record and its reward (either
 * may be NULL when the stream ended before it).  A batch of another run
 * than the state's is reported at where and skipped. */
static void
commit(const struct pending *p, json_t *reward, const char *where)
{
	const char *run = p->run, *owner;
	struct sg_state st;
	struct sg_error e;
	long long accepted, target, taken = 0, refused = 0, removed;
	char *rewritten = NULL;
	const char *why;
	off_t bytes;
	char buf[256];
	json_t *s;
	size_t i, n;
	int status;

	if ((status = sg_state_begin(&st, o.state, &e)))
		sg_die(status, "%s", e.text);
	if (!st.root)
		st.root = sg_state_new(run, sg_rng_fresh_seed(), NULL);
	if (strcmp((owner = sg_get_str(st.root, "run")), run) != 0) {
		n = json_array_size(p->samples);
		sg_warn("%s: batch %lld of run \"%s\" (%zu sample%s) skipped:"
			" state '%s' belongs to run \"%s\"",
			where, p->batch, run, n, n == 1 ? "" : "s", o.state,
			owner);
		sg_filter_fail(&f, SG_EXIT_DATA);
		sg_state_end(&st);
		return;
	}
	if (o.output)
		reconcile_output(st.root);
	/* the output's length before this state's first batch reaches the
	 * disk before that batch does: killed in between, the next run drops
	 * the batch rather than take what is there for earlier data */
	if (o.output && sg_state_output(st.root, o.output) < 0 &&
		regular(out)) {
		sg_state_set_output(st.root, o.output, file_size(out));
		if (sg_state_commit(&st, &e) < 0)
			sg_die(SG_EXIT_IO, "%s", e.text);
	}
	if (job_target > 0)
		json_object_set_new(
			st.root, "target", json_integer(job_target));
	accepted = sg_get_int(st.root, "accepted", 0);
	target = sg_state_cap(st.root);
	json_array_foreach (p->samples, i, s) {
		why = rejection(s, buf, sizeof buf);
		/* sg-score --gate refused the batch as a whole */
		if (!why)
			why = sg_get_str(reward, "reject");
		if (!why && target > 0 && accepted + taken >= target)
			why = "target reached";
		if (why) {
			refused++;
			if (rejects >= 0) {
				json_t *copy = json_copy(s);

				json_object_set_new(
					copy, "reject", json_string(why));
				append_or_die(rejects, copy, o.rejects);
				json_decref(copy);
			}
			continue;
		}
		taken++;
		count_label(st.root, s);
		write_or_die(out, s, o.output ? o.output : "<stdout>");
	}
	if (o.output) {
		/* flushed, then synced: the length the state records is on
		 * disk before the state is */
		bytes = file_size(out);
		if (fsync(fileno(out)) < 0 && errno != EINVAL)
			sg_die(SG_EXIT_IO, "cannot write '%s': %s", o.output,
				strerror(errno));
		sg_state_set_output(st.root, o.output, bytes);
	} else if (fflush(out) == EOF) {
		sg_die(SG_EXIT_IO, "cannot write to <stdout>: %s",
			strerror(errno));
	}
	if (p->end)
		sg_state_add_usage(st.root, p->end);
	/* only a reward that is learnt withdraws */
	if (reward && sg_reward_apply(st.root, reward, &e) < 0) {
		sg_filter_bad(&f, "%s", e.text);
	} else if (reward &&
		   (rewritten = withdraw(st.root, reward, &removed))) {
		accepted -= removed;
		refused += removed;
	}
	/* the dev set the rewards were measured on, for sg-eval to warn
	 * when it is given it as held-out data */
	if (reward && json_is_object(json_object_get(reward, "dev")))
		json_object_set(st.root, "dev", json_object_get(reward, "dev"));
	json_object_set_new(
		st.root, "accepted", json_integer(accepted + taken));
	add_count(st.root, "rejected", refused);
	if (sg_state_commit(&st, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	if (rewritten) {
		finish_withdrawal(rewritten);
		free(rewritten);
	}
	sg_note("batch of %s: %lld accepted, %lld rejected, %lld/%lld in all",
		run, taken, refused, accepted + taken, target);
	sg_state_end(&st);
	if (reward && logfd >= 0) {
		json_t *copy = json_copy(reward);

		json_object_set_new(copy, "accepted", json_integer(taken));
		json_object_set_new(copy, "rejected", json_integer(refused));
		append_or_die(logfd, copy, o.log);
		json_decref(copy);
	}
}

/* The latest job's recipe, whose labels are counted from now on. */
static void
use_recipe(json_t *recipe)
{
	if (!recipe)
		return;
	sg_mix_free(&mix);
	json_decref(job_recipe);
	job_recipe = json_incref(recipe);
	sg_mix_init(&mix, job_recipe);
}

static void
handle(struct sg_filter *f, json_t *rec)
{
	const char *type = sg_rec_type(rec), *run;
	long long batch;
	struct pending *p;
	struct sg_error e;

	if (strcmp(type, "sample") && strcmp(type, "reward") &&
		strcmp(type, "job") && strcmp(type, "batch")) {
		sg_filter_put(f, rec);
		return;
	}
	if (strcmp(type, "job") == 0 || strcmp(type, "batch") == 0) {
		if (sg_get_int(rec, "target", 0) > 0)
			job_target = sg_get_int(rec, "target", 0);
		if (strcmp(type, "job") == 0)
			use_recipe(json_object_get(rec, "recipe"));
		if (logfd >= 0)
			append_or_die(logfd, rec, o.log);
		/* held for the commit: what the batch spent */
		if (strcmp(type, "batch") == 0 &&
			sg_record_batch(rec, &run, &batch, &e) == 0) {
			p = find_pending(run, batch, 1);
			json_decref(p->end);
			p->end = json_incref(rec);
		}
		return;
	}
	if (sg_record_batch(rec, &run, &batch, &e) < 0) {
		sg_filter_bad(f, "%s", e.text);
		return;
	}
	if (strcmp(type, "sample") == 0) {
		json_array_append(find_pending(run, batch, 1)->samples, rec);
		return;
	}
	p = find_pending(run, batch, 1);
	commit(p, rec, f->where);
	drop_pending(p);
}

/* Workers that routed must have batch numbers of their own: each its
 * own index among the same count (sg-route --worker), or one alone. */
static void
check_clash(json_t *routed, const char *path, const json_t *w)
{
	const json_t *id = json_object_get(w, "worker");
	const char *other, *was;
	json_t *prev;
	char key[64] = "";

	if (id)
		snprintf(key, sizeof key, "%lld/%lld",
			sg_get_int(id, "index", -1),
			sg_get_int(id, "count", -1));
	json_object_foreach (routed, other, prev) {
		was = json_string_value(prev);
		if (!id || !*was || strcmp(was, key) == 0)
			sg_die(SG_EXIT_CONFIG,
				"state '%s' routed as '%s' did: their batch"
				" numbers may clash (sg-route --worker)",
				path, other);
		if (strcmp(strchr(was, '/'), strchr(key, '/')) != 0)
			sg_die(SG_EXIT_CONFIG,
				"state '%s' is worker %s, but '%s' is worker"
				" %s: their batch numbers may clash",
				path, key, other, was);
	}
	json_object_set_new(routed, path, json_string(key));
}

/* A worker's state, locked, or the end. */
static void
open_worker(struct sg_state *w, const char *path)
{
	struct sg_error e;
	int status;

	if ((status = sg_state_begin(w, path, &e)))
		sg_die(status, "%s", e.text);
	if (!w->root)
		sg_die(SG_EXIT_CONFIG, "cannot open state '%s': no such file",
			path);
}

/* Every worker is a state other than the base, and its output, when it
 * is here, as long as its state records: a longer one holds a batch that
 * never committed (the worker was stopped mid-round), a shorter one lost
 * samples the state counts.  Checked before anything is merged. */
static void
check_workers(char *const workers[], int n, const json_t *base)
{
	struct sg_state w;
	struct stat sb;
	char why[512];

	for (int i = 0; i < n; i++) {
		const char *path;
		long long bytes;

		if (strcmp(workers[i], o.state) == 0)
			sg_die(SG_EXIT_USAGE,
				"state '%s' is the base, not a worker",
				o.state);
		open_worker(&w, workers[i]);
		path = sg_get_str(json_object_get(w.root, "output"), "path");
		*why = '\0';
		if (path &&
			(bytes = sg_state_output(w.root, path)) !=
				sg_state_output(base, path) &&
			stat(path, &sb) == 0 && sb.st_size != bytes)
			snprintf(why, sizeof why,
				"state '%s': output '%s' has %lld bytes, not"
				" the %lld it recorded: %s",
				workers[i], path, (long long)sb.st_size, bytes,
				sb.st_size > bytes
					? "the worker was stopped mid-batch;"
					  " run the round again"
					: "was it edited?");
		sg_state_end(&w);
		if (*why)
			sg_die(SG_EXIT_CONFIG, "%s", why);
	}
}

/* The workers' learning into the base state they all started from, or
 * into a new one when they started from none. */
static int
merge(char *const workers[], int n)
{
	struct sg_state st, w;
	struct sg_error e;
	json_t *acc = NULL, *routed, *base = NULL;
	int status;

	if ((status = sg_state_begin(&st, o.state, &e)))
		sg_die(status, "%s", e.text);
	check_workers(workers, n, st.root);
	routed = json_object();
	for (int i = 0; i < n; i++) {
		open_worker(&w, workers[i]);
		if (!st.root) {
			/* every worker must have started from nothing */
			json_t *made = sg_state_base(w.root, &e);

			if (!made)
				sg_die(SG_EXIT_CONFIG,
					"no state '%s' to merge into, and"
					" state '%s' %s",
					o.state, workers[i], e.text);
			if (base)
				json_decref(made);
			else
				base = made;
		} else if (!base) {
			base = json_incref(st.root);
		}
		if (!acc)
			acc = json_deep_copy(base);
		if (sg_state_merge(acc, base, w.root, &e) < 0)
			sg_die(SG_EXIT_CONFIG, "state '%s': %s", workers[i],
				e.text);
		if (sg_get_int(w.root, "steps", 0) >
			sg_get_int(base, "steps", 0))
			check_clash(routed, workers[i], w.root);
		sg_state_end(&w);
	}
	json_decref(routed);
	json_decref(base);
	/* the next round's copies know which merge they follow */
	json_object_set_new(
		acc, "round", json_integer(sg_get_int(acc, "round", 0) + 1));
	json_decref(st.root);
	st.root = acc;
	if (sg_state_commit(&st, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	sg_state_end(&st);
	sg_note("merged %d workers into '%s'", n, o.state);
	return SG_EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"log", required_argument, NULL, 'l'},
		{"merge", no_argument, NULL, 'M'},
		{"output", required_argument, NULL, 'o'},
		{"rejects", required_argument, NULL, 'r'},
		{"state", required_argument, NULL, 's'},
		{"strict", no_argument, NULL, SG_OPT_STRICT},
		{"unbuffered", no_argument, NULL, 'u'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct sg_error e;
	int c, merging = 0;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "hl:o:r:s:uVv", longopts, NULL)) !=
		-1) {
		if (sg_filter_option(&f, c))
			continue;
		switch (c) {
		case 'l':
			o.log = optarg;
			break;
		case 'M':
			merging = 1;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'r':
			o.rejects = optarg;
			break;
		case 's':
			o.state = optarg;
			break;
		default:
			sg_usage(f.usage, SG_EXIT_USAGE);
		}
	}
	if (!o.state ||
		(merging && (optind == argc || o.output || o.log || o.rejects)))
		sg_usage(f.usage, SG_EXIT_USAGE);
	if (merging)
		return sg_finish(merge(argv + optind, argc - optind));
	out = o.output ? sg_fopen_nofollow(o.output, "a", &e) : stdout;
	if (!out)
		sg_die(SG_EXIT_IO, "%s", e.text);
	rejects = o.rejects ? open_append(o.rejects) : -1;
	logfd = o.log ? open_append(o.log) : -1;
	sg_filter_run(&f, argv + optind, argc - optind, handle);
	/* a stream cut short still keeps what was accepted, unlearned */
	while (npend > 0) {
		sg_note("batch %lld of %s ended without a reward",
			pend[0].batch, pend[0].run);
		commit(&pend[0], NULL, pend[0].where);
		drop_pending(&pend[0]);
	}
	if (rejects >= 0 && close(rejects) < 0)
		sg_die(SG_EXIT_IO, "cannot write '%s': %s", o.rejects,
			strerror(errno));
	if (logfd >= 0 && close(logfd) < 0)
		sg_die(SG_EXIT_IO, "cannot write '%s': %s", o.log,
			strerror(errno));
	if (o.output && fclose(out) == EOF)
		sg_die(SG_EXIT_IO, "cannot write '%s'", o.output);
	sg_mix_free(&mix);
	json_decref(job_recipe);
	return sg_finish(f.status);
}
