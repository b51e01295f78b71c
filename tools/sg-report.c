/*
 * sg-report - one HTML page about a run, and a summary for the terminal.
 *
 * Reads the state file, sg-update's log beside it (state.log: job, batch
 * and reward records; sg-run writes it), the dataset and the rejects
 * (state.rejected) when they exist, and the eval records of sg-eval (-e).
 * Writes one self-contained HTML page (-o, or standard output) with
 * inline SVG plots: each arm's share of the choices over the batches,
 * the rewards per arm over time (sg-score's and sg-eval's apart), the
 * pass rate, the quality histogram, diversity, the evaluation on real
 * data, and tokens and cost when the records carry them.  A short summary
 * goes to standard error.  Reads only; owns nothing in any record.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record.h"
#include "route/route.h"
#include "eval/eval.h"

static const char usage_text[] =
	"usage: sg-report [-hVv] [-d dataset] [-e evals] [-l log] [-o report]"
	" state\n";

struct dv {
	double *v;
	size_t n, cap;
};

struct arm {
	char *name;
	long long chosen;
	struct dv cx, cy; /* share of the choices after each batch */
	struct dv rx, ry; /* sg-score's rewards */
	struct dv ex, ey; /* sg-eval's rewards */
};

static struct arm *arms;
static size_t narms;
static long long nchoices;
static struct dv bx, pass, qual, divers, tokx, tok, cost;
static struct dv evx, acc, f1, util;
static double qhist[2][10];
static json_t *lastev;
static int status;

static void
push(struct dv *d, double v)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		d->v = sg_xrealloc(d->v, d->cap * sizeof *d->v);
	}
	d->v[d->n++] = v;
}

static struct arm *
arm_of(const char *name)
{
	for (size_t i = 0; i < narms; i++)
		if (strcmp(arms[i].name, name) == 0)
			return &arms[i];
	arms = sg_xrealloc(arms, (narms + 1) * sizeof *arms);
	arms[narms] = (struct arm){.name = sg_xstrdup(name)};
	return &arms[narms++];
}

/* Each record of a JSON Lines file in turn; a missing optional file is
 * no error. */
static void
each(const char *path, int optional, void (*fn)(json_t *rec))
{
	struct sg_reader r;
	struct sg_error e;
	json_t *rec;
	int bad = 0;

	if (optional && access(path, F_OK) < 0)
		return;
	if (sg_reader_open(&r, path, &e) < 0) {
		sg_warn("%s", e.text);
		status = SG_EXIT_IO;
		return;
	}
	while ((rec = sg_next_record(&r, &bad))) {
		fn(rec);
		json_decref(rec);
	}
	if (bad && status < SG_EXIT_DATA)
		status = SG_EXIT_DATA;
	sg_reader_close(&r);
}

/* The tokens a record reports: "tokens", or an OpenAI-style "usage". */
static double
tokens_of(const json_t *rec)
{
	json_t *u = json_object_get(rec, "usage");

	if (json_is_number(json_object_get(rec, "tokens")))
		return sg_get_num(rec, "tokens", 0);
	if (json_is_number(json_object_get(u, "total_tokens")))
		return sg_get_num(u, "total_tokens", 0);
	return sg_get_num(u, "prompt_tokens", 0) +
	       sg_get_num(u, "completion_tokens", 0);
}

static void
log_record(json_t *rec)
{
	const char *type = sg_rec_type(rec), *name = sg_get_str(rec, "arm");
	double x = (double)sg_get_int(rec, "batch", 0), t;
	struct arm *a;

	if (strcmp(type, "job") == 0 && name) {
		arm_of(name)->chosen++;
		nchoices++;
		for (size_t i = 0; i < narms; i++) {
			push(&arms[i].cx, x);
			push(&arms[i].cy,
				(double)arms[i].chosen / (double)nchoices);
		}
		return;
	}
	if (strcmp(type, "batch") == 0 || strcmp(type, "reward") == 0) {
		t = tokens_of(rec);
		if (t > 0 || json_is_number(json_object_get(rec, "cost"))) {
			push(&tokx, x);
			push(&tok, (tok.n ? tok.v[tok.n - 1] : 0) + t);
			push(&cost, (cost.n ? cost.v[cost.n - 1] : 0) +
					    sg_get_num(rec, "cost", 0));
		}
	}
	if (strcmp(type, "reward") != 0 || !name)
		return;
	a = arm_of(name);
	if (sg_get_str(rec, "source") &&
		strcmp(sg_get_str(rec, "source"), "sg-eval") == 0) {
		push(&a->ex, x);
		push(&a->ey, sg_get_num(rec, "reward", 0));
		return;
	}
	push(&a->rx, x);
	push(&a->ry, sg_get_num(rec, "reward", 0));
	push(&bx, x);
	push(&pass, sg_get_num(rec, "pass_rate", 0));
	push(&qual, sg_get_num(rec, "mean_quality", 0));
	push(&divers, sg_get_num(rec, "diversity", 0));
}

static void
sample_quality(json_t *rec, int rejected)
{
	json_t *q = json_object_get(rec, "quality");
	int bin;

	if (strcmp(sg_rec_type(rec), "sample") != 0 || !json_is_number(q))
		return;
	bin = (int)floor(json_number_value(q) * 10);
	qhist[rejected][bin < 0 ? 0 : bin > 9 ? 9 : bin]++;
}

static void
accepted_record(json_t *rec)
{
	sample_quality(rec, 0);
}

static void
rejected_record(json_t *rec)
{
	sample_quality(rec, 1);
}

static void
eval_record(json_t *rec)
{
	if (strcmp(sg_rec_type(rec), "eval") != 0)
		return;
	push(&evx, (double)sg_get_int(rec, "batch", (long long)evx.n));
	push(&acc, json_number_value(sg_path(rec, "synthetic.accuracy")));
	push(&f1, json_number_value(sg_path(rec, "synthetic.macro_f1")));
	if (json_is_number(json_object_get(rec, "utility")))
		push(&util, sg_get_num(rec, "utility", 0));
	json_decref(lastev);
	lastev = json_incref(rec);
}

static const char style[] =
	"body{font:15px/1.4 system-ui,sans-serif;max-width:680px;margin:2em "
	"auto;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:"
	"2em}table{border-collapse:collapse}td,th{padding:2px 10px;text-align:"
	"right;border-bottom:1px solid #ddd}td:first-child,th:first-child{"
	"text-align:left}.chart{display:block;margin:.5em 0}.t{font-weight:"
	"bold;font-size:13px}.frame{fill:none;stroke:#999}.grid{stroke:#eee}"
	".yt{font-size:11px;text-anchor:end}.xt{font-size:11px;text-anchor:"
	"middle}.xl{font-size:12px;text-anchor:middle}.lg{font-size:12px}"
	"polyline{stroke-width:2}";

static void
arm_table(FILE *fp, const json_t *state)
{
	json_t *arm;
	const char *name;

	fputs("<table><tr><th>arm</th><th>pulls</th><th>rewards</th>"
	      "<th>mean reward</th><th>temperature</th></tr>\n",
		fp);
	json_object_foreach (json_object_get(state, "arms"), name, arm) {
		long long n = sg_get_int(arm, "n", 0);

		fputs("<tr><td>", fp);
		sg_html_escape(fp, name);
		fprintf(fp,
			"</td><td>%lld</td><td>%lld</td><td>%.3f</td>"
			"<td>%.2f</td></tr>\n",
			sg_get_int(arm, "pulls", 0), n,
			n ? sg_get_num(arm, "sum", 0) / (double)n : 0.0,
			sg_get_num(arm, "temperature", 0));
	}
	fputs("</table>\n", fp);
}

static void
eval_section(FILE *fp)
{
	const json_t *syn = json_object_get(lastev, "synthetic"), *row, *l;
	struct sg_series s[3] = {
		{"accuracy", NULL, evx.v, acc.v, acc.n, SG_SVG_BOTH},
		{"macro-F1", NULL, evx.v, f1.v, f1.n, SG_SVG_BOTH},
		{"utility", NULL, evx.v, util.v, util.n, SG_SVG_BOTH},
	};
	size_t i, j;

	fputs("<h2>Evaluation on real data</h2>\n<p>", fp);
	fprintf(fp,
		"The last evaluation trained on %lld samples and tested on "
		"%lld "
		"real examples: accuracy %.3f, macro-F1 %.3f, majority class "
		"%.3f",
		sg_get_int(lastev, "train_n", 0), sg_get_int(syn, "n", 0),
		json_number_value(json_object_get(syn, "accuracy")),
		json_number_value(json_object_get(syn, "macro_f1")),
		sg_get_num(lastev, "majority", 0));
	if (json_is_number(json_object_get(lastev, "utility")))
		fprintf(fp, ", real-trained ceiling %.3f, <b>utility %.3f</b>",
			sg_get_num(lastev, "ceiling", 0),
			sg_get_num(lastev, "utility", 0));
	fprintf(fp,
		". %.1f%% of the test's word %lld-grams occur in the training "
		"data; %lld test texts verbatim.</p>\n",
		100 * json_number_value(sg_path(lastev, "overlap.ngrams")),
		(long long)json_integer_value(sg_path(lastev, "overlap.n")),
		(long long)json_integer_value(
			sg_path(lastev, "overlap.exact_texts")));
	if (evx.n > 1)
		sg_svg_lines(fp, "Evaluations over the run", "batch", "score",
			s, util.n == evx.n ? 3 : 2, 0, 1);
	fputs("<table><tr><th>true \\ predicted</th>", fp);
	json_array_foreach (json_object_get(syn, "labels"), i, l) {
		fputs("<th>", fp);
		sg_html_escape(fp, json_string_value(l));
		fputs("</th>", fp);
	}
	fputs("</tr>\n", fp);
	json_array_foreach (json_object_get(syn, "confusion"), i, row) {
		fputs("<tr><td>", fp);
		sg_html_escape(fp, json_string_value(json_array_get(
					   json_object_get(syn, "labels"), i)));
		fputs("</td>", fp);
		for (j = 0; j < json_array_size(row); j++)
			fprintf(fp, "<td>%lld</td>",
				(long long)json_integer_value(
					json_array_get(row, j)));
		fputs("</tr>\n", fp);
	}
	fputs("</table>\n", fp);
}

static void
page(FILE *fp, const json_t *state, const char *state_path)
{
	struct sg_series *s = sg_xmalloc((2 * narms + 3) * sizeof *s);
	static const char *const bins[10] = {
		"0", ".1", ".2", ".3", ".4", ".5", ".6", ".7", ".8", ".9"};
	static const char *const qnames[2] = {"accepted", "rejected"};
	const double *qv[2] = {qhist[0], qhist[1]};
	char(*names)[300] = sg_xmalloc((narms ? narms : 1) * sizeof *names);
	size_t ns = 0;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	      "charset=\"utf-8\">"
	      "<title>sg run ",
		fp);
	sg_html_escape(fp, sg_get_str(state, "run"));
	fprintf(fp, "</title><style>%s</style></head><body>\n<h1>sg run ",
		style);
	sg_html_escape(fp, sg_get_str(state, "run"));
	fprintf(fp,
		"</h1>\n<p>%lld batches, %lld samples accepted, %lld rejected, "
		"%lld rewards learnt; policy %s. State: <code>",
		sg_get_int(state, "steps", 0), sg_get_int(state, "accepted", 0),
		sg_get_int(state, "rejected", 0),
		sg_get_int(state, "rewards", 0), sg_state_policy(state));
	sg_html_escape(fp, state_path);
	fputs("</code>.</p>\n", fp);
	arm_table(fp, state);

	fputs("<h2>Which arms the router chose</h2>\n", fp);
	for (size_t i = 0; i < narms; i++)
		s[i] = (struct sg_series){arms[i].name, NULL, arms[i].cx.v,
			arms[i].cy.v, arms[i].cx.n, SG_SVG_LINE};
	sg_svg_lines(fp, "Share of the choices so far", "batch", "share", s,
		narms, 0, 1);

	fputs("<h2>Rewards</h2>\n<p>Lines: sg-score's batch rewards; "
	      "dots: sg-eval's rewards from real data.</p>\n",
		fp);
	for (size_t i = 0; i < narms; i++) {
		s[ns++] = (struct sg_series){arms[i].name, sg_svg_color(i),
			arms[i].rx.v, arms[i].ry.v, arms[i].rx.n, SG_SVG_LINE};
		if (arms[i].ex.n == 0)
			continue;
		snprintf(names[i], sizeof names[i], "%s (eval)", arms[i].name);
		s[ns++] = (struct sg_series){names[i], sg_svg_color(i),
			arms[i].ex.v, arms[i].ey.v, arms[i].ex.n, SG_SVG_DOTS};
	}
	sg_svg_lines(fp, "Reward per arm", "batch", "reward", s, ns, 0, 1);

	fputs("<h2>Batches</h2>\n", fp);
	s[0] = (struct sg_series){
		"pass rate", NULL, bx.v, pass.v, bx.n, SG_SVG_LINE};
	s[1] = (struct sg_series){
		"mean quality", NULL, bx.v, qual.v, bx.n, SG_SVG_LINE};
	s[2] = (struct sg_series){
		"diversity", NULL, bx.v, divers.v, bx.n, SG_SVG_LINE};
	sg_svg_lines(fp, "Pass rate and quality per batch", "batch", "rate", s,
		2, 0, 1);
	sg_svg_lines(fp, "Diversity per batch", "batch", "diversity", s + 2, 1,
		0, 1);
	sg_svg_bars(fp, "Quality of the samples", "quality", "samples", qnames,
		qv, 2, bins, 10);

	if (lastev)
		eval_section(fp);
	if (tok.n > 0) {
		fputs("<h2>Tokens and cost</h2>\n", fp);
		s[0] = (struct sg_series){
			"tokens", NULL, tokx.v, tok.v, tok.n, SG_SVG_LINE};
		s[1] = (struct sg_series){
			"cost", NULL, tokx.v, cost.v, cost.n, SG_SVG_LINE};
		sg_svg_lines(
			fp, "Tokens so far", "batch", "tokens", s, 1, 0, 0);
		sg_svg_lines(
			fp, "Cost so far", "batch", "cost", s + 1, 1, 0, 0);
	}
	fputs("</body></html>\n", fp);
	free(names);
	free(s);
}

static double
mean(const struct dv *d)
{
	double sum = 0;

	for (size_t i = 0; i < d->n; i++)
		sum += d->v[i];
	return d->n ? sum / (double)d->n : 0;
}

static void
summary(const json_t *state)
{
	fprintf(stderr,
		"%s: run %s: %lld batches, %lld accepted, %lld rejected;"
		" policy %s\n",
		sg_progname, sg_get_str(state, "run"),
		sg_get_int(state, "steps", 0), sg_get_int(state, "accepted", 0),
		sg_get_int(state, "rejected", 0), sg_state_policy(state));
	for (size_t i = 0; i < narms; i++) {
		fprintf(stderr,
			"%s:   %-24s chosen %3lld times, score reward %.3f",
			sg_progname, arms[i].name, arms[i].chosen,
			mean(&arms[i].ry));
		if (arms[i].ex.n)
			fprintf(stderr, ", eval reward %.3f (%zu)",
				mean(&arms[i].ey), arms[i].ex.n);
		fputc('\n', stderr);
	}
	if (lastev) {
		fprintf(stderr, "%s: real data: accuracy %.3f, macro-F1 %.3f",
			sg_progname,
			json_number_value(
				sg_path(lastev, "synthetic.accuracy")),
			json_number_value(
				sg_path(lastev, "synthetic.macro_f1")));
		if (json_is_number(json_object_get(lastev, "utility")))
			fprintf(stderr, ", utility %.3f",
				sg_get_num(lastev, "utility", 0));
		fputc('\n', stderr);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"dataset", required_argument, NULL, 'd'},
		{"evals", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{"log", required_argument, NULL, 'l'},
		{"output", required_argument, NULL, 'o'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *dataset = NULL, *log = NULL, *output = NULL, *state_path;
	const char **evals = NULL;
	char *owned_log = NULL, *rejects, *html = NULL;
	size_t nevals = 0, htmllen = 0;
	struct sg_error e;
	json_t *state, *arm;
	const char *key;
	FILE *fp;
	int c;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "d:e:hl:o:Vv", longopts, NULL)) !=
		-1) {
		switch (c) {
		case 'd':
			dataset = optarg;
			break;
		case 'e':
			evals = sg_xrealloc(evals, ++nevals * sizeof *evals);
			evals[nevals - 1] = optarg;
			break;
		case 'h':
			sg_usage(usage_text, SG_EXIT_OK);
		case 'l':
			log = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'V':
			sg_version();
		case 'v':
			sg_verbose = 1;
			break;
		default:
			sg_usage(usage_text, SG_EXIT_USAGE);
		}
	}
	if (argc - optind != 1)
		sg_usage(usage_text, SG_EXIT_USAGE);
	state_path = argv[optind];
	state = json_load_file(state_path, 0, NULL);
	if (!state || sg_state_check(state, &e) < 0)
		sg_die(SG_EXIT_CONFIG, "cannot use state '%s': %s", state_path,
			state ? e.text : strerror(errno));
	if (!log)
		log = owned_log = sg_suffixed(state_path, ".log");
	if (!dataset)
		dataset = sg_get_str(json_object_get(state, "output"), "path");
	rejects = sg_suffixed(state_path, ".rejected");
	/* every arm of the state from the first batch on, in its order */
	json_object_foreach (json_object_get(state, "arms"), key, arm)
		arm_of(key);

	each(log, 0, log_record);
	if (dataset)
		each(dataset, 0, accepted_record);
	each(rejects, 1, rejected_record);
	for (size_t i = 0; i < nevals; i++)
		each(evals[i], 0, eval_record);

	fp = open_memstream(&html, &htmllen);
	if (!fp)
		sg_die(SG_EXIT_IO, "out of memory");
	page(fp, state, state_path);
	if (fclose(fp) == EOF)
		sg_die(SG_EXIT_IO, "out of memory");
	if (output) {
		if (sg_write_atomic(output, html, htmllen, &e) < 0)
			sg_die(SG_EXIT_IO, "%s", e.text);
	} else if (fwrite(html, 1, htmllen, stdout) != htmllen) {
		sg_die(SG_EXIT_IO, "cannot write to <stdout>: %s",
			strerror(errno));
	}
	summary(state);
	if (output)
		fprintf(stderr, "%s: wrote %s\n", sg_progname, output);
	for (size_t i = 0; i < narms; i++) {
		struct arm *a = &arms[i];

		free(a->name);
		free(a->cx.v), free(a->cy.v), free(a->rx.v), free(a->ry.v);
		free(a->ex.v), free(a->ey.v);
	}
	free(arms);
	free(bx.v), free(pass.v), free(qual.v), free(divers.v);
	free(tokx.v), free(tok.v), free(cost.v);
	free(evx.v), free(acc.v), free(f1.v), free(util.v);
	json_decref(lastev);
	json_decref(state);
	free(html);
	free(rejects);
	free(owned_log);
	free(evals);
	return sg_finish(status);
}
