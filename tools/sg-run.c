/*
 * sg-run - drive the pipeline until the recipe's target count.
 *
 * Each iteration runs the six filters as separate processes joined by
 * pipes, exactly as a user would in the shell:
 *
 *   sg-plan -n 1 | sg-route | sg-gen | sg-validate | sg-score | sg-update
 *
 * and stops when the state file counts num_samples accepted samples or a
 * budget runs out: iterations, or the tokens and cost sg-update adds up in
 * the state's "usage".  All progress lives in the state file and the
 * output, so running sg-run again resumes where it stopped.  Writes the
 * dataset to -o; on stderr, a status line kept in place on a terminal, or
 * a line an iteration (with -v its decision and batch metrics), what the
 * stages say (each line once a run) and a final per-arm table.  What a rerun
 * cannot fix stops it at once: a recipe sg-plan refuses, before the first
 * batch; an LLM server that cannot serve the run, found by one look at it
 * before the first batch that asks it; arms paused by batches that failed for
 * the server or the setup, until no arm can run.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "llm/llm.h"
#include "route/route.h"

static const char usage_text[] =
	"usage: sg-run [-hqVv] [--arm-rewards] [-b size] [--dev file"
	" [--dev-gate]] [-e every] [--embedding-model model] [--eval-train "
	"file] [-i iterations]"
	" [--initial-exploration epsilon] [-m model] [--max-cost usd]"
	" [--max-tokens n] [--no-filter] [-o output] [--policy name]"
	" [-s state] [--save-state] [--seed n] [-T temperature]"
	" recipe | --config recipe\n";

/* The loop's six stages, then the evaluation. */
enum { PLAN, ROUTE, GEN, VALIDATE, SCORE, UPDATE, EVAL, NSTAGES };
enum {
	OPT_ARM_REWARDS = 0x100,
	OPT_CONFIG,
	OPT_DEV,
	OPT_DEV_GATE,
	OPT_EMBEDDING_MODEL,
	OPT_EVAL_TRAIN,
	OPT_EXPLORATION,
	OPT_MAX_COST,
	OPT_MAX_TOKENS,
	OPT_NO_FILTER,
	OPT_POLICY,
	OPT_SAVE_STATE
};

/* With --dev-gate, so many batches refused in a row end the run: the
 * dataset has stopped gaining on the dev set, and more batches spend
 * the budget on samples that will be rejected too. */
#define GATE_PATIENCE 20

/* So many batches in a row that add no sample end the run, whichever
 * arms made them: the rest of the budget would most likely go the same
 * way. */
#define BARREN_PATIENCE 20

/* The files of the original system's --output DIR/. */
static const char accepted_name[] = "accepted_samples.jsonl";
static const char rejected_name[] = "rejected_samples.jsonl";

static const char *stage_names[NSTAGES] = {"sg-plan", "sg-route", "sg-gen",
	"sg-validate", "sg-score", "sg-update", "sg-eval"};

struct run {
	const char *recipe_path, *output, *state, *seed, *temp, *batch;
	const char *dev, *eval_train;
	const char *model, *embedding_model; /* -m, --embedding-model */
	const char *policy, *epsilon;	     /* for sg-route */
	int no_filter;			     /* no sg-validate stage */
	int dev_gate;			     /* sg-score --gate */
	int arm_rewards;       /* the evaluations' rewards to sg-update */
	long long refused;     /* batches refused in a row */
	long long barren;      /* batches in a row that added no sample */
	int verbosity;	       /* -1 with -q, else how many -v */
	int tty;	       /* a status line kept in place on stderr */
	struct sg_map *lines;  /* the lines the stages said, by hash */
	long long repeats;     /* lines not said again */
	struct sg_buf held;    /* with -q, what the stages said */
	long long first;       /* accepted when this invocation began */
	struct timespec start; /* when it began */
	long long evaluations; /* made by this invocation */
	double eval_secs;      /* and the time they took */
	char arm[64];	       /* the latest batch's */
	char *seen, *log, *rejects, *evals;
	char *owned_output, *owned_state;
	char *run; /* the run's name, as sg-plan names it */
	json_t *recipe, *arms, *context; /* as sg-route sees them */
	json_t *said;			 /* the pauses reported so far */
	char bindir[PATH_MAX];
	long long target, max_iter, eval_every, max_tokens;
	double max_cost;
	struct sg_mix mix; /* the recipe's labels */
	int look;	   /* the look at the server is to be made */
	int preload;	   /* sg-gen loads libcurl while the job is routed */
};

/* The stages are taken from beside sg-run itself, so a build tree runs
 * its own programs; an installed sg finds them in the same directory. */
static void
find_bindir(struct run *r)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	r->bindir[0] = '\0';
	if (n <= 0)
		return;
	self[n] = '\0';
	snprintf(r->bindir, sizeof r->bindir, "%s", dirname(self));
}

static char *
stage_path(const struct run *r, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof path, "%s/%s", r->bindir, name);
	return sg_xstrdup(
		r->bindir[0] && access(path, X_OK) == 0 ? path : name);
}

static void
push(char **argv, int *argc, const char *a)
{
	argv[(*argc)++] = sg_xstrdup(a);
	argv[*argc] = NULL;
}

/* An option and its value, unless the value is NULL. */
static void
push_opt(char **argv, int *argc, const char *opt, const char *value)
{
	if (!value)
		return;
	push(argv, argc, opt);
	push(argv, argc, value);
}

static void
stage_argv(const struct run *r, int stage, char **argv)
{
	int n = 0;

	argv[n++] = stage_path(r, stage_names[stage]);
	argv[n] = NULL;
	if (r->verbosity > 1)
		push(argv, &n, "-v");
	switch (stage) {
	case PLAN:
		push(argv, &n, "-n1");
		push_opt(argv, &n, "-s", r->state);
		push_opt(argv, &n, "-b", r->batch);
		push(argv, &n, r->recipe_path);
		break;
	case ROUTE:
		push_opt(argv, &n, "-s", r->state);
		push_opt(argv, &n, "--seed", r->seed);
		push_opt(argv, &n, "-T", r->temp);
		push_opt(argv, &n, "--policy", r->policy);
		push_opt(argv, &n, "--epsilon", r->epsilon);
		break;
	case GEN:
		/* its failures are reported here, once, as pauses */
		push(argv, &n, "-q");
		push_opt(argv, &n, "-m", r->model);
		push_opt(argv, &n, "-s", r->state);
		if (r->preload)
			push(argv, &n, "--preload");
		break;
	case VALIDATE:
		push_opt(argv, &n, "--seen", r->seen);
		push_opt(argv, &n, "-m", r->model);
		push_opt(argv, &n, "--embedding-model", r->embedding_model);
		/* what the LLM server's pause is, is said; its checks would
		 * fail every sample the offline arms make */
		if (json_object_get(r->said, "server"))
			push(argv, &n, "--no-llm");
		break;
	case SCORE:
		push_opt(argv, &n, "-s", r->state);
		push_opt(argv, &n, "--dev", r->dev);
		if (r->dev_gate)
			push(argv, &n, "--gate");
		break;
	case EVAL:
		if (r->arm_rewards) {
			push(argv, &n, "-R");
			push_opt(argv, &n, "-W", "0");
		}
		push_opt(argv, &n, "-c", r->recipe_path);
		push_opt(argv, &n, "-T", r->dev);
		push_opt(argv, &n, "-L", r->eval_train);
		push(argv, &n, r->output);
		break;
	case UPDATE:
		push_opt(argv, &n, "-s", r->state);
		push_opt(argv, &n, "-o", r->output);
		push_opt(argv, &n, "-l", r->log);
		push_opt(argv, &n, "-r", r->rejects);
		break;
	}
}

/* Close-on-exec, so each stage holds only its own two ends and sees end
 * of file when its writer exits. */
static int
make_pipe(int fds[2])
{
	if (pipe(fds) < 0)
		return -1;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

/* Whether the status line is on the terminal now. */
static int drawn;

/* Clear the status line, for a line to be written in its place. */
static void
status_clear(void)
{
	if (drawn)
		fputs("\r\033[K", stderr);
	drawn = 0;
}

/* A line a stage wrote to standard error: said once a run, however often
 * a stage says it again; with -q held, for when the iteration fails. */
static void
relay(struct run *r, const char *line, size_t len)
{
	double *seen;

	if (r->verbosity < 0) {
		sg_buf_add(&r->held, line, len);
		sg_buf_add(&r->held, "\n", 1);
		return;
	}
	seen = sg_map_put(r->lines, sg_hash64(line, len));
	if (*seen != 0) {
		r->repeats++;
		return;
	}
	*seen = 1;
	status_clear();
	fprintf(stderr, "%.*s\n", (int)len, line);
}

/* Read what a stage wrote to standard error and relay its whole lines;
 * 0 at its end, when the rest of its last line is relayed too. */
static int
read_said(struct run *r, int fd, struct sg_buf *b)
{
	char chunk[4096], *nl;
	size_t done = 0;
	ssize_t n = read(fd, chunk, sizeof chunk);

	if (n < 0 && errno == EINTR)
		return 1;
	if (n > 0)
		sg_buf_add(b, chunk, (size_t)n);
	while (b->len > done &&
		(nl = memchr(b->p + done, '\n', b->len - done))) {
		relay(r, b->p + done, (size_t)(nl - (b->p + done)));
		done = (size_t)(nl - b->p) + 1;
	}
	if (n <= 0 && b->len > done) {
		relay(r, b->p + done, b->len - done);
		done = b->len;
	}
	if (done > 0) {
		memmove(b->p, b->p + done, b->len - done);
		b->len -= done;
	}
	return n > 0;
}

static void check_server(struct run *r);
static int runnable(const struct run *r, char *list, size_t size);

/* Whether stage runs: sg-validate not with --no-filter. */
static int
runs(const struct run *r, int stage)
{
	return stage != VALIDATE || !r->no_filter;
}

/* The pipes joining stages first..last, the last one writing to outfd;
 * -1 for a stage's end that has none, and for a stage not run. */
static void
join_stages(const struct run *r, int first, int last, int outfd,
	int in[NSTAGES], int out[NSTAGES])
{
	int fds[2], prev = -1;

	for (int i = first; i <= last; i++) {
		in[i] = out[i] = -1;
		if (!runs(r, i))
			continue;
		if (prev >= 0) {
			if (make_pipe(fds) < 0)
				sg_die(SG_EXIT_IO, "cannot make a pipe: %s",
					strerror(errno));
			out[prev] = fds[1];
			in[i] = fds[0];
		}
		prev = i;
	}
	out[prev] = outfd;
}

/* Stages first..last joined by pipes, the last one writing to outfd (-1:
 * our standard output), what each says on standard error relayed; 0 when
 * all succeeded.  sg-gen starts first when it preloads libcurl, and
 * sg-route not before the look at the server, made while sg-gen and
 * sg-plan start: a run that cannot go on then ends once they have.  (A
 * thread looking at the server while the stages start would not do:
 * posix_spawn waits for its loading of libcurl.) */
static int
run_stages(struct run *r, int first, int last, int outfd)
{
	char *argv[NSTAGES][16], why[1024];
	pid_t pid[NSTAGES];
	struct pollfd said[NSTAGES];
	struct sg_buf line[NSTAGES] = {{0}};
	struct sg_error e[NSTAGES];
	int in[NSTAGES], out[NSTAGES], order[NSTAGES], n = 0, errfds[2];
	int status[NSTAGES], failed = 0, open = 0, stop = 0;

	r->held.len = 0;
	join_stages(r, first, last, outfd, in, out);
	if (r->preload && first <= GEN && GEN <= last)
		order[n++] = GEN;
	for (int i = first; i <= last; i++) {
		said[i] = (struct pollfd){-1, POLLIN, 0};
		pid[i] = 0;
		if (i != GEN || !r->preload)
			order[n++] = i;
	}
	for (int k = 0; k < n; k++) {
		int i = order[k];

		if (!runs(r, i))
			continue;
		if (i == ROUTE && r->look && !stop) {
			r->look = 0;
			check_server(r);
			stop = !runnable(r, why, sizeof why);
		}
		if (stop) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0 && out[i] != outfd)
				close(out[i]);
			continue;
		}
		stage_argv(r, i, argv[i]);
		if (make_pipe(errfds) < 0)
			sg_die(SG_EXIT_IO, "cannot make a pipe: %s",
				strerror(errno));
		pid[i] = sg_spawn_err(argv[i], in[i], out[i], errfds[1], &e[i]);
		if (pid[i] < 0)
			sg_die(SG_EXIT_CHILD, "%s", e[i].text);
		close(errfds[1]);
		said[i].fd = errfds[0];
		open++;
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0 && out[i] != outfd)
			close(out[i]);
	}
	while (open > 0) {
		if (poll(said + first, (nfds_t)(last - first + 1), -1) < 0) {
			if (errno == EINTR)
				continue;
			sg_die(SG_EXIT_IO, "cannot poll: %s", strerror(errno));
		}
		for (int i = first; i <= last; i++)
			if (said[i].fd >= 0 && said[i].revents &&
				!read_said(r, said[i].fd, &line[i])) {
				close(said[i].fd);
				said[i].fd = -1;
				open--;
			}
	}
	for (int i = first; i <= last; i++) {
		free(line[i].p);
		if (pid[i] == 0)
			continue;
		status[i] = sg_wait(pid[i], &e[i]);
		/* samples that failed: the records say which, and the batch
		 * is scored, or its arm paused, as any other */
		if (i == GEN && (status[i] == SG_EXIT_DATA ||
					status[i] == SG_EXIT_UNAVAILABLE))
			status[i] = 0;
		failed |= status[i] != 0;
		for (char **a = argv[i]; *a; a++)
			free(*a);
	}
	/* what the stages cut short said of it is beside the point */
	if (stop)
		sg_die(SG_EXIT_UNAVAILABLE, "no arm can run: %s", why);
	if (failed && r->held.len > 0)
		fputs(r->held.p, stderr);
	for (int i = first; i <= last; i++) {
		if (pid[i] == 0 || status[i] == 0)
			continue;
		if (status[i] < 0)
			sg_warn("%s", e[i].text);
		else
			sg_warn("%s exited with status %d", stage_names[i],
				status[i]);
	}
	return failed;
}

/* The state's counters, read under its lock; 0 when there is no state. */
static json_t *
read_state(const struct run *r)
{
	struct sg_state st;
	struct sg_error e;
	json_t *root;
	int status;

	if ((status = sg_state_begin(&st, r->state, &e)))
		sg_die(status, "%s", e.text);
	root = st.root ? json_incref(st.root) : NULL;
	sg_state_end(&st);
	return root;
}

static long long
accepted(const struct run *r)
{
	json_t *st = read_state(r);
	long long n = st ? sg_get_int(st, "accepted", 0) : 0;

	json_decref(st);
	return n;
}

/* Why the next batch may not start: the tokens or the cost the state
 * counts have reached their budget; NULL while they have not. */
static const char *
spent(const struct run *r, char *buf, size_t size)
{
	json_t *st = read_state(r), *u = json_object_get(st, "usage");
	long long tokens = sg_get_int(u, "prompt_tokens", 0) +
			   sg_get_int(u, "completion_tokens", 0);
	double cost = sg_get_num(u, "cost", 0);

	json_decref(st);
	if (r->max_tokens > 0 && tokens >= r->max_tokens)
		snprintf(buf, size,
			"the token budget is spent: %lld tokens of %lld",
			tokens, r->max_tokens);
	else if (r->max_cost > 0 && cost >= r->max_cost)
		snprintf(buf, size, "the cost budget is spent: $%.6f of $%.6f",
			cost, r->max_cost);
	else
		return NULL;
	return buf;
}

/* The checks that failed in the batch, as the reward counts them, and
 * its embedding dispersion when sg-validate measured one. */
static void
report_checks(const json_t *reward)
{
	json_t *c, *disp = json_object_get(reward, "embedding_dispersion");
	const char *name, *sep = ": ";

	fprintf(stderr, "%s:   failed checks", sg_progname);
	json_object_foreach (json_object_get(reward, "checks"), name, c) {
		if (sg_get_int(c, "fail", 0) <= 0)
			continue;
		fprintf(stderr, "%s%s %lld", sep, name,
			sg_get_int(c, "fail", 0));
		sep = ", ";
	}
	if (*sep == ':')
		fputs(": none", stderr);
	if (json_is_number(disp))
		fprintf(stderr, "; embedding dispersion %.3f",
			json_number_value(disp));
	fputc('\n', stderr);
}

/* The parts the reward was made of, those measured and weighed. */
static void
report_parts(const json_t *reward)
{
	json_t *w = json_object_get(reward, "weights"), *v;
	const char *name, *sep = "";

	fprintf(stderr, "%s:   ", sg_progname);
	json_object_foreach (json_object_get(reward, "parts"), name, v) {
		if (!json_is_number(v) || !(sg_get_num(w, name, 0) > 0))
			continue;
		fprintf(stderr, "%s%s %.3f", sep, name, json_number_value(v));
		sep = ", ";
	}
	fputc('\n', stderr);
}

/* Seconds as the status line shows them. */
static void
duration(char *buf, size_t size, double secs)
{
	long long s = (long long)(secs + 0.5);

	if (s < 60)
		snprintf(buf, size, "%llds", s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, size, "%lldh%02lldm", s / 3600, s / 60 % 60);
}

/* The seconds since t. */
static double
since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* ", R UNIT, ETA T" since this invocation began, or "" before its first
 * sample. */
static void
pace(const struct run *r, long long now, const char *unit, char *buf,
	size_t size)
{
	double secs = since(&r->start), rate;
	char eta[32];

	rate = secs > 0 ? (double)(now - r->first) / secs : 0;
	buf[0] = '\0';
	if (!(rate > 0))
		return;
	duration(eta, sizeof eta,
		now < r->target ? (double)(r->target - now) / rate : 0);
	snprintf(buf, size, ", %.*f%s, ETA %s", rate < 9.95 ? 1 : 0, rate, unit,
		eta);
}

/* The status line in place on the terminal: the count, the pace, the
 * tokens and cost so far and the latest batch's arm, cut to its width. */
static void
status_draw(const struct run *r)
{
	json_t *st = read_state(r), *u = json_object_get(st, "usage");
	long long now = sg_get_int(st, "accepted", 0);
	long long tokens = sg_get_int(u, "prompt_tokens", 0) +
			   sg_get_int(u, "completion_tokens", 0);
	double cost = sg_get_num(u, "cost", 0);
	struct winsize ws;
	char line[512], speed[96], spent[96] = "";
	int width = 80;

	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		width = ws.ws_col;
	pace(r, now, " samples/s", speed, sizeof speed);
	if (tokens > 0 || cost > 0)
		snprintf(spent, sizeof spent, ", %lld tokens, $%.4f", tokens,
			cost);
	snprintf(line, sizeof line, "%s: %lld/%lld accepted%s%s%s%s",
		sg_progname, now, r->target, speed, spent,
		r->arm[0] ? ", arm " : "", r->arm);
	json_decref(st);
	/* the last column left free: a terminal wraps a full line */
	fprintf(stderr, "\r%.*s\033[K", width - 1, line);
	fflush(stderr);
	drawn = 1;
}

/* The iteration in one line of at most 100 columns, for a pipe: the
 * arm's name is cut to fit. */
static void
report_line(const struct run *r, long long iter, const char *value,
	const json_t *reward)
{
	long long now = accepted(r);
	char head[64], tail[192], speed[96], line[384];
	int room;

	pace(r, now, "/s", speed, sizeof speed);
	snprintf(head, sizeof head, "%s: iteration %lld: ", sg_progname, iter);
	snprintf(tail, sizeof tail,
		": %lld/%lld passed, %s; %lld/%lld accepted%s",
		sg_get_int(reward, "passed", 0), sg_get_int(reward, "n", 0),
		value, now, r->target, speed);
	room = 100 - (int)(strlen(head) + strlen(tail));
	snprintf(line, sizeof line, "%s%.*s%s", head, room > 8 ? room : 8,
		r->arm, tail);
	fprintf(stderr, "%.100s\n", line);
}

/* The first error of an arm's samples, said once a run (not with -q):
 * "0/10 passed" alone does not tell what to mend. */
static void
said_error(struct run *r, const json_t *reward, long long iter)
{
	const char *arm = sg_get_str(reward, "arm");
	const char *why = sg_get_str(reward, "first_error");
	char key[300];

	if (!arm || !why || r->verbosity < 0)
		return;
	snprintf(key, sizeof key, "error %s", arm);
	if (json_object_get(r->said, key))
		return;
	json_object_set_new(r->said, key, json_true());
	status_clear();
	sg_warn("iteration %lld: arm \"%s\": a sample failed: %s", iter, arm,
		why);
}

/* Report the iteration from the records sg-update logged for it: with -v
 * its decision, reward and failed checks; else one line in a pipe, and
 * on a terminal the status line (drawn by the loop). */
static void
report(struct run *r, FILE *log, long long iter)
{
	json_t *rec, *job = NULL, *reward = NULL, *d;
	struct sg_reader rd = {.fp = log, .name = r->log};
	char value[32];
	int bad = 0;

	while ((rec = sg_next_record(&rd, &bad))) {
		const char *t = sg_rec_type(rec);

		if (strcmp(t, "job") == 0) {
			json_decref(job);
			job = rec;
		} else if (strcmp(t, "reward") == 0) {
			json_decref(reward);
			reward = rec;
		} else
			json_decref(rec);
	}
	clearerr(log);
	free(rd.buf);
	if (!job || !reward) {
		sg_warn("iteration %lld: no decision or reward was logged",
			iter);
		goto out;
	}
	d = json_object_get(job, "decision");
	snprintf(r->arm, sizeof r->arm, "%s", sg_get_str(job, "arm"));
	r->refused = sg_get_str(reward, "reject") ? r->refused + 1 : 0;
	r->barren = sg_get_int(reward, "accepted", 1) == 0 ? r->barren + 1 : 0;
	if (json_is_number(json_object_get(reward, "reward")))
		snprintf(value, sizeof value, "reward %.3f%s",
			sg_get_num(reward, "reward", 0),
			r->refused ? ", refused" : "");
	else
		snprintf(value, sizeof value, "no reward");
	said_error(r, reward, iter);
	if (r->verbosity == 0 && !r->tty)
		report_line(r, iter, value, reward);
	if (r->verbosity <= 0)
		goto out;
	status_clear();
	fprintf(stderr,
		"%s: iteration %lld: batch %lld: %s (%s, p=%.2f):"
		" %lld/%lld passed, %s; %lld/%lld accepted\n",
		sg_progname, iter, sg_get_int(job, "batch", -1),
		sg_get_str(job, "arm"), sg_get_str(d, "mode"),
		sg_get_num(d, "p", 0), sg_get_int(reward, "passed", 0),
		sg_get_int(reward, "n", 0), value, accepted(r), r->target);
	if (json_is_number(json_object_get(reward, "reward")))
		report_parts(reward);
	fprintf(stderr, "%s:   %s\n", sg_progname, sg_get_str(d, "reason"));
	report_checks(reward);
out:
	json_decref(job);
	json_decref(reward);
}

/* The rewards of the arms, as lines, learnt by sg-update; it dies when
 * sg-update fails, since the state may then be behind the output. */
static void
learn_rewards(struct run *r, const struct sg_buf *lines, long long iter)
{
	char *argv[16];
	struct sg_error e;
	int fds[2], status;
	pid_t pid;

	stage_argv(r, UPDATE, argv);
	if (make_pipe(fds) < 0)
		sg_die(SG_EXIT_IO, "cannot make a pipe: %s", strerror(errno));
	if ((pid = sg_spawn(argv, fds[0], -1, &e)) < 0)
		sg_die(SG_EXIT_CHILD, "%s", e.text);
	close(fds[0]);
	/* a few short lines: the pipe holds them */
	if (write(fds[1], lines->p, lines->len) != (ssize_t)lines->len)
		sg_die(SG_EXIT_IO, "cannot write to sg-update: %s",
			strerror(errno));
	close(fds[1]);
	status = sg_wait(pid, &e);
	for (char **a = argv; *a; a++)
		free(*a);
	if (status != 0)
		sg_die(SG_EXIT_CHILD,
			"the arms' rewards after iteration %lld were not"
			" learnt (sg-update: status %d); run again to resume",
			iter, status);
}

/* An arm whose samples an evaluation withdraws (sg-eval -R), said once
 * each time, even with -q: the dataset has lost samples. */
static void
said_withdrawn(const json_t *reward, long long iter)
{
	status_clear();
	sg_warn("evaluation after iteration %lld: arm \"%s\": its %lld samples"
		" withdrawn: the dataset is better without them on the dev set"
		" (gain %.3f)",
		iter, sg_get_str(reward, "arm"),
		sg_get_int(json_object_get(reward, "withdraw"), "samples", 0),
		sg_get_num(reward, "gain", 0));
}

/* Train on the dataset so far and test on the dev set, for the record of
 * how the data's worth grew; the eval records collect in STATE.evals.
 * The router learns from the dev set through sg-score, batch by batch,
 * and with --arm-rewards from each arm left out of the dataset. */
static void
evaluate(struct run *r, FILE *evals, long long iter)
{
	struct sg_reader rd = {.fp = evals, .name = r->evals};
	json_t *rec, *last = NULL;
	struct sg_buf rewards = {0};
	struct sg_error e;
	struct timespec t0;
	int bad = 0, fd, failed;
	char *line;

	clock_gettime(CLOCK_MONOTONIC, &t0);

	/* a descriptor of its own: one shared with evals would move the
	 * offset we read from to the end of what the child wrote */
	if ((fd = sg_open_nofollow(r->evals, O_WRONLY | O_APPEND, &e)) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	failed = run_stages(r, EVAL, EVAL, fd);
	close(fd);
	if (failed)
		sg_die(SG_EXIT_CHILD,
			"evaluation after iteration %lld failed; run again to"
			" resume",
			iter);
	while ((rec = sg_next_record(&rd, &bad))) {
		if (strcmp(sg_rec_type(rec), "eval") == 0) {
			json_decref(last);
			last = rec;
			continue;
		}
		if (strcmp(sg_rec_type(rec), "reward") == 0) {
			if (json_object_get(rec, "withdraw"))
				said_withdrawn(rec, iter);
			/* an arm's reward stands for the batches since the
			 * last evaluation, as many as the batch rewards it
			 * weighs against */
			json_object_set_new(
				rec, "weight", json_integer(r->eval_every));
			if ((line = json_dumps(rec, JSON_COMPACT))) {
				sg_buf_add(&rewards, line, strlen(line));
				sg_buf_add(&rewards, "\n", 1);
				free(line);
			}
		}
		json_decref(rec);
	}
	clearerr(evals);
	free(rd.buf);
	if (rewards.len > 0)
		learn_rewards(r, &rewards, iter);
	free(rewards.p);
	r->evaluations++;
	r->eval_secs += since(&t0);
	if (!last) {
		sg_warn("evaluation after iteration %lld wrote no eval record",
			iter);
		return;
	}
	if (r->verbosity < 0) {
		json_decref(last);
		return;
	}
	status_clear();
	fprintf(stderr,
		"%s: evaluation after iteration %lld: accuracy %.3f on '%s'"
		" (majority %.3f",
		sg_progname, iter,
		sg_get_num(json_object_get(last, "synthetic"), "accuracy", 0),
		r->dev, sg_get_num(last, "majority", 0));
	if (json_is_number(json_object_get(last, "utility")))
		fprintf(stderr, ", utility %.3f",
			sg_get_num(last, "utility", 0));
	fputs(")\n", stderr);
	json_decref(last);
}

/* The samples evaluations took out of the dataset, by arm, when there
 * are any. */
static void
report_withdrawn(const json_t *st)
{
	const char *name;
	json_t *a;
	long long n;
	int said = 0;

	json_object_foreach ((json_t *)json_object_get(st, "arms"), name, a) {
		if ((n = sg_get_int(a, "withdrawn", 0)) <= 0)
			continue;
		if (said++)
			fputs(", ", stderr);
		else
			fprintf(stderr, "%s: withdrawn from the dataset: ",
				sg_progname);
		fprintf(stderr, "%s %lld", name, n);
	}
	if (said)
		fputc('\n', stderr);
}

/* The accepted samples of each label, their share of those labelled and
 * the share the recipe asks for; those of no label apart. */
static void
report_labels(const struct run *r, const json_t *st)
{
	json_t *counts = json_object_get(st, "labels"), *v;
	long long all = 0, n;
	const char *label, *sep = ": ";
	size_t i;

	if (r->mix.n == 0)
		return;
	json_object_foreach (counts, label, v)
		all += json_integer_value(v);
	fprintf(stderr, "%s: labels", sg_progname);
	for (i = 0; i < r->mix.n; i++, sep = ", ") {
		n = sg_get_int(counts, r->mix.label[i], 0);
		fprintf(stderr, "%s%s %lld (%.1f%%, mix %.1f%%)", sep,
			r->mix.label[i], n,
			all ? 100.0 * (double)n / (double)all : 0.0,
			100 * r->mix.share[i]);
	}
	json_object_foreach (counts, label, v) {
		for (i = 0; i < r->mix.n; i++)
			if (strcmp(r->mix.label[i], label) == 0)
				break;
		n = json_integer_value(v);
		if (i == r->mix.n)
			fprintf(stderr, ", %s %lld (%.1f%%, mix 0.0%%)", label,
				n, all ? 100.0 * (double)n / (double)all : 0.0);
	}
	n = sg_get_int(st, "accepted", 0) - all;
	if (n > 0)
		fprintf(stderr, "; %lld with no label", n);
	fputc('\n', stderr);
}

static void
summary(const struct run *r, long long iters)
{
	json_t *st = read_state(r), *arms, *a, *u;
	const char *name;
	long long n;

	if (!st || r->verbosity < 0) {
		json_decref(st);
		return;
	}
	status_clear();
	arms = json_object_get(st, "arms");
	fprintf(stderr,
		"%s: %lld/%lld accepted in '%s' after %lld batches"
		" (%lld this run); policy %s\n",
		sg_progname, sg_get_int(st, "accepted", 0), r->target,
		r->output ? r->output : "<stdout>", sg_get_int(st, "steps", 0),
		iters, sg_state_policy(st));
	if ((u = json_object_get(st, "usage")))
		fprintf(stderr,
			"%s: spent %lld prompt and %lld completion tokens,"
			" $%.6f\n",
			sg_progname, sg_get_int(u, "prompt_tokens", 0),
			sg_get_int(u, "completion_tokens", 0),
			sg_get_num(u, "cost", 0));
	report_labels(r, st);
	report_withdrawn(st);
	/* what learning from the dev set costs, apart from what the arms
	 * it leads to cost */
	if (r->evaluations > 0)
		fprintf(stderr,
			"%s: %lld evaluation%s took %.1f s of this run's"
			" %.1f s\n",
			sg_progname, r->evaluations,
			r->evaluations == 1 ? "" : "s", r->eval_secs,
			since(&r->start));
	if (r->repeats > 0)
		fprintf(stderr,
			"%s: %lld line%s the stages said again not shown\n",
			sg_progname, r->repeats, r->repeats == 1 ? "" : "s");
	fprintf(stderr, "%-26s %6s %8s %12s %12s\n", "arm", "pulls", "rewards",
		"mean reward", "temperature");
	json_object_foreach (arms, name, a) {
		n = sg_get_int(a, "n", 0);
		fprintf(stderr, "%-26s %6lld %8lld %12.3f %12.2f\n", name,
			sg_get_int(a, "pulls", 0), n,
			n ? sg_get_num(a, "sum", 0) / (double)n : 0.0,
			sg_get_num(a, "temperature", 0));
	}
	json_decref(st);
}

/* Stop short of the target once the last patience batches in a row went
 * as how says: the rest of the budget would most likely go the same way. */
static void
stop_after(const struct run *r, long long iter, long long inarow, int patience,
	const char *how)
{
	if (inarow < patience)
		return;
	summary(r, iter);
	sg_die(SG_EXIT_INCOMPLETE,
		"the last %d batches %s: stopped short of the target", patience,
		how);
}

/* A file we append to through children and read back from where it ended
 * when we opened it. */
static FILE *
open_tail(const char *path)
{
	struct sg_error e;
	FILE *fp = sg_fopen_nofollow(path, "a+", &e);

	if (!fp)
		sg_die(SG_EXIT_IO, "%s", e.text);
	fseek(fp, 0, SEEK_END);
	return fp;
}

/* A new run tries every arm again: the pauses of an earlier one are for
 * faults somebody may have fixed since. */
static void
clear_pauses(const struct run *r)
{
	struct sg_state st;
	struct sg_error e;
	int status;

	if ((status = sg_state_begin(&st, r->state, &e)))
		sg_die(status, "%s", e.text);
	if (st.root && json_object_get(st.root, "paused")) {
		sg_pause_clear(st.root);
		if (sg_state_commit(&st, &e) < 0)
			sg_die(SG_EXIT_IO, "%s", e.text);
	}
	sg_state_end(&st);
}

/* arm, or with arm NULL the arms that ask the LLM server, paused for
 * why, in the state, made as sg-route makes it when the run has none
 * yet. */
static void
pause_arms(struct run *r, const char *arm, const char *why)
{
	struct sg_state st;
	struct sg_error e;
	char key[300];
	int status;

	if ((status = sg_state_begin(&st, r->state, &e)))
		sg_die(status, "%s", e.text);
	if (!st.root)
		st.root = sg_state_new(r->run,
			r->seed ? strtoull(r->seed, NULL, 10)
				: sg_rng_fresh_seed(),
			NULL);
	if (strcmp(sg_get_str(st.root, "run"), r->run) != 0)
		sg_die(SG_EXIT_CONFIG,
			"state '%s' belongs to run \"%s\", not \"%s\"",
			r->state, sg_get_str(st.root, "run"), r->run);
	sg_pause(st.root, arm, why, time(NULL));
	if (sg_state_commit(&st, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	sg_state_end(&st);
	snprintf(key, sizeof key, "arm %s", arm ? arm : "");
	json_object_set_new(r->said, arm ? key : "server", json_true());
	r->preload &= arm != NULL;
}

/* The arms that ask for a model the server lacks, paused, said once. */
static void
pause_model(struct run *r, const char *model, const char *why)
{
	json_t *arm;
	char names[512];
	size_t i, len = 0, n = 0;
	const char *name;

	names[0] = '\0';
	json_array_foreach (r->arms, i, arm) {
		name = sg_get_str(arm, "name");
		if (!sg_arm_asks_llm(arm, r->context) ||
			strcmp(sg_llm_model(r->model, sg_get_str(arm, "model")),
				model) != 0)
			continue;
		pause_arms(r, name, why);
		if (len < sizeof names)
			len += (size_t)snprintf(names + len, sizeof names - len,
				"%s\"%s\"", n++ ? ", " : "", name);
	}
	sg_warn("arm%s %s %s paused for this run: %s", n == 1 ? "" : "s", names,
		n == 1 ? "is" : "are", why);
}

/* Whether an arm asks the LLM server, when one is configured. */
static int
asks_server(const struct run *r)
{
	json_t *arm;
	size_t i;

	if (!sg_get_bool(r->context, "llm", 0))
		return 0;
	json_array_foreach (r->arms, i, arm)
		if (sg_arm_asks_llm(arm, r->context))
			return 1;
	return 0;
}

/* One look at the LLM server before the first batch that asks it, for
 * the models the arms ask for: a server that cannot serve the run is
 * named once, here, and its arms paused, not failed batch by batch. */
static void
check_server(struct run *r)
{
	struct sg_http_opts o = {sg_llm_base_url(), getenv("OPENAI_API_KEY"), 1,
		30, 30, 0, 0, NULL, NULL};
	json_t *models = json_object(), *arm, *why;
	struct sg_error e;
	const char *model;
	size_t i;

	json_array_foreach (r->arms, i, arm)
		if (sg_arm_asks_llm(arm, r->context))
			json_object_set_new(models,
				sg_llm_model(
					r->model, sg_get_str(arm, "model")),
				json_null());
	if (sg_llm_probe(&o, models, &e) < 0) {
		sg_warn("the arms that ask the LLM server are paused for this"
			" run: %s",
			e.text);
		pause_arms(r, NULL, e.text);
	}
	json_object_foreach (models, model, why)
		if (json_is_string(why))
			pause_model(r, model, json_string_value(why));
	json_decref(models);
}

/* The error a pause quotes; a state edited by hand may lack it. */
static const char *
pause_error(const json_t *p)
{
	const char *s = sg_get_str(p, "error");

	return s ? s : "no error kept";
}

/* Each pause of the state not reported yet, once; whether there was
 * one. */
static int
report_pauses(struct run *r, long long iter)
{
	json_t *st = read_state(r), *paused = json_object_get(st, "paused");
	json_t *p, *arms = json_object_get(paused, "arms");
	const char *name;
	char key[300];
	int fresh = 0;

	if ((p = json_object_get(paused, "server")) &&
		!json_object_get(r->said, "server")) {
		sg_warn("iteration %lld: batch %lld: the arms that ask the LLM"
			" server are paused for this run: %s",
			iter, sg_get_int(p, "batch", -1), pause_error(p));
		json_object_set_new(r->said, "server", json_true());
		r->preload = 0;
		fresh = 1;
	}
	json_object_foreach (arms, name, p) {
		snprintf(key, sizeof key, "arm %s", name);
		if (json_object_get(r->said, key))
			continue;
		sg_warn("iteration %lld: batch %lld: arm \"%s\" is paused for"
			" this run: %s",
			iter, sg_get_int(p, "batch", -1), name, pause_error(p));
		json_object_set_new(r->said, key, json_true());
		fresh = 1;
	}
	json_decref(st);
	return fresh;
}

/* Whether an arm can run, offered in this context and not paused; when
 * none can, why, each reason with the arms it holds back, in list. */
static int
runnable(const struct run *r, char *list, size_t size)
{
	json_t *st = read_state(r), *unavail = json_object(), *arm, *why;
	json_t *count = json_object(), *n;
	const char *reason;
	size_t i, len = 0;

	if (sg_arms_offer(st, r->arms, r->context, NULL, unavail) > 0) {
		json_decref(unavail);
		json_decref(count);
		json_decref(st);
		return 1;
	}
	json_array_foreach (r->arms, i, arm) {
		why = json_object_get(unavail, sg_get_str(arm, "name"));
		reason = sg_arm_paused(st, arm, r->context)
				 ? "paused for this run"
				 : json_string_value(why);
		n = json_object_get(count, reason);
		json_object_set_new(
			count, reason, json_integer(json_integer_value(n) + 1));
	}
	list[0] = '\0';
	json_object_foreach (count, reason, n)
		if (len < size)
			len += (size_t)snprintf(list + len, size - len,
				"%s%s (%lld arm%s)", len ? "; " : "", reason,
				(long long)json_integer_value(n),
				json_integer_value(n) == 1 ? "" : "s");
	json_decref(unavail);
	json_decref(count);
	json_decref(st);
	return 0;
}

/* Stop at once when no arm can run, paused or not offered in this
 * context: what is wrong is said above, or here, and no rerun mends it. */
static void
check_runnable(const struct run *r, long long iters)
{
	char list[1024];

	if (runnable(r, list, sizeof list))
		return;
	if (iters > 0)
		summary(r, iters);
	sg_die(SG_EXIT_UNAVAILABLE, "no arm can run: %s", list);
}

/* The files the stages write in place: each refuses a symbolic link there,
 * said here before the first batch with the status of a file that cannot
 * be written, rather than as a stage that failed. */
static void
check_links(const struct run *r)
{
	char *lock = sg_suffixed(r->seen, ".lock"),
	     *vectors = sg_suffixed(r->seen, ".vectors");
	const char *paths[] = {r->output, r->rejects, r->seen, lock, vectors};
	struct sg_error e;

	/* with -o -, the samples go to standard output: no file */
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
		if (paths[i] && sg_no_link(paths[i], &e) < 0)
			sg_die(SG_EXIT_IO, "%s", e.text);
	free(lock);
	free(vectors);
}

/* The directory of a file sg-run writes, made when missing. */
static void
make_dir_of(const char *path)
{
	char *dir = sg_xstrdup(path), *slash = strrchr(dir, '/');

	if (slash && slash != dir) {
		*slash = '\0';
		if (sg_mkdirs(dir) < 0)
			sg_die(SG_EXIT_IO, "cannot create directory '%s': %s",
				dir, strerror(errno));
	}
	free(dir);
}

/* The recipe, checked as sg-plan checks it, and what the router will
 * make of it: its arms and the context of its jobs. */
static void
load_recipe(struct run *r)
{
	struct sg_error e;
	json_t *recipe = sg_recipe_load_checked(
		r->recipe_path, NULL, NULL, sg_router_check, &e);
	const char *out;
	long long batch;

	if (!recipe)
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
	r->context = sg_recipe_context(recipe, sg_llm_configured());
	if (!(r->arms = sg_arms_resolve(recipe, &e)))
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
	r->run = sg_recipe_run(recipe, r->recipe_path);
	r->target = sg_get_int(recipe, "num_samples", 0);
	batch = r->batch ? atoll(r->batch) : sg_recipe_batch_size(recipe);
	if (!r->output) {
		out = sg_get_str(recipe, "output_path");
		if (!out || !*out)
			sg_die(SG_EXIT_USAGE,
				"recipe '%s' has no output_path: give -o",
				r->recipe_path);
		r->output = r->owned_output = sg_xstrdup(out);
	}
	if (r->max_iter == 0)
		r->max_iter = 10 * ((r->target + batch - 1) / batch) + 10;
	/* the flags override the recipe's budget */
	if (r->max_tokens == 0)
		r->max_tokens = sg_get_int(
			json_object_get(recipe, "budget"), "max_tokens", 0);
	if (r->max_cost == 0)
		r->max_cost = sg_get_num(
			json_object_get(recipe, "budget"), "max_cost", 0);
	sg_mix_init(&r->mix, recipe);
	r->recipe = recipe;
}

/* A path joined to a name in its directory; malloc'd. */
static char *
in_dir(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	char *p = sg_xmalloc(n + strlen(name) + 2);

	sprintf(p, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
	return p;
}

/* Where the samples, the rejects and the state go.  -o FILE: the samples
 * there, the rest beside the state, FILE.state by default.  -o DIR/, or a
 * directory that exists: as the original system writes it, the accepted
 * and the rejected samples in two files there, the state beside them.  -o
 * -: the samples on standard output, the state beside the recipe. */
static void
place_output(struct run *r)
{
	const char *out = r->output;
	size_t n = strlen(out);
	struct stat sb;
	char *dir = NULL;

	if (strcmp(out, "-") == 0) {
		r->output = NULL;
		if (!r->state)
			r->state = r->owned_state =
				sg_suffixed(r->recipe_path, ".state");
	} else if (out[n - 1] == '/' ||
		   (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode))) {
		dir = sg_xstrdup(out);
		free(r->owned_output);
		r->output = r->owned_output = in_dir(dir, accepted_name);
	}
	if (!r->state)
		r->state = r->owned_state = sg_suffixed(r->output, ".state");
	r->rejects = dir ? in_dir(dir, rejected_name)
			 : sg_suffixed(r->state, ".rejected");
	free(dir);
}

static const char *
positive(const char *opt, const char *arg)
{
	char *end;
	double v = strtod(arg, &end);

	if (*end || !*arg || !(v > 0))
		sg_die(SG_EXIT_USAGE, "%s wants a positive number, not '%s'",
			opt, arg);
	return arg;
}

/* Batches until the target is reached, each evaluation on its
 * iteration; a fault or a spent budget ends the run. */
static void
fill(struct run *r, FILE *log, FILE *evals, long long *iter,
	long long *evaluated)
{
	const char *why;
	char buf[256];

	while (accepted(r) < r->target) {
		if (r->tty)
			status_draw(r);
		if (*iter == r->max_iter) {
			summary(r, *iter);
			sg_die(SG_EXIT_INCOMPLETE,
				"stopped after %lld iterations short of the "
				"target",
				*iter);
		}
		if ((why = spent(r, buf, sizeof buf))) {
			summary(r, *iter);
			sg_die(SG_EXIT_INCOMPLETE,
				"%s, short of the target; run again with a"
				" larger budget to go on",
				why);
		}
		/* with a look at the server to make, once it is made */
		if (*iter == 0)
			r->look = r->preload = asks_server(r);
		if (*iter == 0 && !r->look)
			check_runnable(r, 0);
		(*iter)++;
		if (run_stages(r, PLAN, UPDATE, -1))
			sg_die(SG_EXIT_CHILD,
				"iteration %lld failed; run again to resume",
				*iter);
		report(r, log, *iter);
		stop_after(r, *iter, r->refused, GATE_PATIENCE,
			"all lowered the dev score");
		stop_after(r, *iter, r->barren, BARREN_PATIENCE,
			"added no sample");
		if (report_pauses(r, *iter))
			check_runnable(r, *iter);
		if (r->eval_every && *iter % r->eval_every == 0)
			evaluate(r, evals, *evaluated = *iter);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"arm-rewards", no_argument, NULL, OPT_ARM_REWARDS},
		{"batch-size", required_argument, NULL, 'b'},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"dev", required_argument, NULL, OPT_DEV},
		{"dev-gate", no_argument, NULL, OPT_DEV_GATE},
		{"embedding-model", required_argument, NULL,
			OPT_EMBEDDING_MODEL},
		{"eval-every", required_argument, NULL, 'e'},
		{"eval-test", required_argument, NULL, OPT_DEV},
		{"eval-train", required_argument, NULL, OPT_EVAL_TRAIN},
		{"help", no_argument, NULL, 'h'},
		{"initial-exploration", required_argument, NULL,
			OPT_EXPLORATION},
		{"initial-temp", required_argument, NULL, 'T'},
		{"max-cost", required_argument, NULL, OPT_MAX_COST},
		{"max-iterations", required_argument, NULL, 'i'},
		{"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
		{"model", required_argument, NULL, 'm'},
		{"no-filter", no_argument, NULL, OPT_NO_FILTER},
		{"output", required_argument, NULL, 'o'},
		{"policy", required_argument, NULL, OPT_POLICY},
		{"quiet", no_argument, NULL, 'q'},
		{"save-state", no_argument, NULL, OPT_SAVE_STATE},
		{"seed", required_argument, NULL, 'S'},
		{"state", required_argument, NULL, 's'},
		{"strategy", required_argument, NULL, OPT_POLICY},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct run r = {0};
	long long iter = 0, evaluated = 0, before;
	char *end;
	FILE *log, *evals;
	int c, quiet = 0, verbose = 0;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "b:e:hi:m:o:qs:T:Vv", longopts,
			NULL)) != -1) {
		switch (c) {
		case OPT_ARM_REWARDS:
			r.arm_rewards = 1;
			break;
		case 'b':
			r.batch = positive("-b", optarg);
			break;
		case OPT_CONFIG:
			r.recipe_path = optarg;
			break;
		case 'e':
			r.eval_every = atoll(positive("-e", optarg));
			break;
		case OPT_DEV:
			r.dev = optarg;
			break;
		case OPT_DEV_GATE:
			r.dev_gate = 1;
			break;
		case OPT_EMBEDDING_MODEL:
			r.embedding_model = optarg;
			break;
		case OPT_EVAL_TRAIN:
			r.eval_train = optarg;
			break;
		case OPT_EXPLORATION:
			sg_unit_arg("--initial-exploration", optarg);
			r.epsilon = optarg;
			break;
		case 'h':
			sg_usage(usage_text, SG_EXIT_OK);
		case 'i':
			r.max_iter = atoll(positive("-i", optarg));
			break;
		case 'm':
			r.model = optarg;
			break;
		case OPT_MAX_COST:
			r.max_cost =
				strtod(positive("--max-cost", optarg), NULL);
			break;
		case OPT_MAX_TOKENS:
			/* 1e6 is a million; 0.5 rounds up to one */
			r.max_tokens = (long long)strtod(
				positive("--max-tokens", optarg), NULL);
			r.max_tokens += r.max_tokens == 0;
			break;
		case OPT_NO_FILTER:
			r.no_filter = 1;
			break;
		case 'o':
			r.output = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case OPT_POLICY:
			if (sg_policy_parse(optarg) < 0)
				sg_die(SG_EXIT_USAGE,
					"policy \"%s\" is not one of"
					" sg-route(1)'s",
					optarg);
			r.policy = optarg;
			break;
		case 's':
			r.state = optarg;
			break;
		case OPT_SAVE_STATE:
			/* the original's: the state is always kept */
			break;
		case 'S':
			if (strtoull(optarg, &end, 10) >= (1ULL << 53) ||
				*end || !isdigit((unsigned char)*optarg))
				sg_die(SG_EXIT_USAGE,
					"--seed wants an integer below 2^53, "
					"not '%s'",
					optarg);
			r.seed = optarg;
			break;
		case 'T':
			r.temp = positive("-T", optarg);
			break;
		case 'V':
			sg_version();
		case 'v':
			verbose++;
			break;
		default:
			sg_usage(usage_text, SG_EXIT_USAGE);
		}
	}
	if (argc - optind != !r.recipe_path)
		sg_usage(usage_text, SG_EXIT_USAGE);
	r.verbosity = quiet ? -1 : verbose;
	r.tty = !quiet && sg_isatty_stderr();
	sg_before_message = status_clear;
	if (!r.recipe_path)
		r.recipe_path = argv[optind];
	if (r.output && !*r.output)
		sg_die(SG_EXIT_USAGE, "-o wants a file, a directory or -");
	load_recipe(&r);
	place_output(&r);
	r.seen = sg_suffixed(r.state, ".seen");
	r.log = sg_suffixed(r.state, ".log");
	find_bindir(&r);

	if (r.dev_gate && !r.dev)
		sg_die(SG_EXIT_USAGE,
			"--dev-gate needs --dev, the real data to gate on");
	if (r.eval_every && !r.dev)
		sg_die(SG_EXIT_USAGE,
			"-e needs --dev, the real data to test on");
	if (r.arm_rewards && !r.eval_every)
		sg_die(SG_EXIT_USAGE, "--arm-rewards needs -e, the evaluations "
				      "it learns from");
	if (r.eval_every && !r.output)
		sg_die(SG_EXIT_USAGE, "-e needs the dataset in a file, not on"
				      " standard output");
	if (r.eval_every)
		r.evals = sg_suffixed(r.state, ".evals");

	if (r.output)
		make_dir_of(r.output);
	make_dir_of(r.rejects);
	make_dir_of(r.state);
	check_links(&r);
	log = open_tail(r.log);
	evals = r.evals ? open_tail(r.evals) : NULL;
	r.said = json_object();
	r.lines = sg_map_new();
	clear_pauses(&r);
	r.first = before = accepted(&r);
	clock_gettime(CLOCK_MONOTONIC, &r.start);
	if (before > 0 && !quiet)
		fprintf(stderr, "%s: resuming: %lld/%lld accepted\n",
			sg_progname, before, r.target);
	for (;;) {
		fill(&r, log, evals, &iter, &evaluated);
		/* the finished dataset is always judged once more; the
		 * samples it withdraws are made again */
		if (!evals || iter == 0 || evaluated == iter)
			break;
		evaluate(&r, evals, evaluated = iter);
	}
	fclose(log);
	if (evals)
		fclose(evals);
	status_clear();
	summary(&r, iter);
	free(r.seen);
	free(r.log);
	free(r.rejects);
	free(r.evals);
	free(r.owned_state);
	free(r.owned_output);
	free(r.run);
	json_decref(r.arms);
	json_decref(r.context);
	json_decref(r.said);
	sg_map_free(r.lines);
	free(r.held.p);
	sg_mix_free(&r.mix);
	json_decref(r.recipe);
	return sg_finish(SG_EXIT_OK);
}
