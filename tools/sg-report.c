/*
 * sg-report - one HTML page about a run, and a summary for the terminal.
 *
 * Reads the state file, sg-update's log beside it (state.log: job, batch
 * and reward records; sg-run writes it), the dataset and the rejects
 * (state.rejected) when they exist, and the eval records of sg-eval (-e).
 * Writes one self-contained HTML page (-o, or standard output) with
 * inline SVG plots that scale to the page: each arm's share of the
 * choices over the batches, the rewards per arm where it was chosen
 * (sg-score's and sg-eval's apart; smoothed over a long run), the pass
 * rate, the quality histogram, diversity, the evaluation on real data
 * against its majority class and ceiling, and the tokens and cost the
 * batch records count.  Each arm keeps the colour of its name.  A short
 * summary goes to standard error.  Reads only; owns nothing in any
 * record.
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

/* More batches than this make a long run: its rewards are drawn as pale
 * dots under their mean over the last batches. */
#define LONG_RUN 40
/* the colour of what a chart is read against, apart from the palette */
#define GREY "#7f7f7f"

struct dv {
	double *v;
	size_t n, cap;
};

struct arm {
	char *name;
	const char *color;
	long long chosen;
	struct dv cx, cy; /* share of the choices after each batch */
	struct dv rx, ry; /* sg-score's rewards */
	struct dv ex, ey; /* sg-eval's rewards */
	double usage[3];  /* prompt and completion tokens, cost */
};

static struct arm *arms;
static size_t narms;
static long long nchoices;
static struct dv bx, pass, qual, divers;
static struct dv batches; /* bx in order, each once: the axis of batches */
static struct dv tokx, usage[4]; /* prompt, completion, cost, all tokens */
static long long usage_batches, batch_records;
static struct dv evx, acc, f1, util, prob;
static double qhist[2][10];
static json_t *lastev;
static int status;

static const char *const usage_keys[3] = {
	"prompt_tokens", "completion_tokens", "cost"};

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

/* What a batch record counts of its LLM requests (sg-jsonl(5)), added to
 * the run's and its arm's. */
static void
batch_usage(const json_t *rec, double x, struct arm *a)
{
	int any = 0;

	batch_records++;
	for (int k = 0; k < 3; k++) {
		json_t *v = json_object_get(rec, usage_keys[k]);
		double sum = usage[k].n ? usage[k].v[usage[k].n - 1] : 0;

		any |= json_is_number(v);
		push(&usage[k], sum + json_number_value(v));
		if (a)
			a->usage[k] += json_number_value(v);
	}
	push(&usage[3],
		usage[0].v[usage[0].n - 1] + usage[1].v[usage[1].n - 1]);
	push(&tokx, x);
	usage_batches += any;
}

static void
log_record(json_t *rec)
{
	const char *type = sg_rec_type(rec), *name = sg_get_str(rec, "arm");
	double x = (double)sg_get_int(rec, "batch", 0);
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
	if (strcmp(type, "batch") == 0) {
		batch_usage(rec, x, name ? arm_of(name) : NULL);
		return;
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

static double
num_or_nan(const json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void
eval_record(json_t *rec)
{
	if (strcmp(sg_rec_type(rec), "eval") != 0)
		return;
	push(&evx, (double)sg_get_int(rec, "batch", (long long)evx.n));
	push(&acc, num_or_nan(sg_path(rec, "synthetic.accuracy")));
	push(&f1, num_or_nan(sg_path(rec, "synthetic.macro_f1")));
	push(&util, num_or_nan(json_object_get(rec, "utility")));
	push(&prob, num_or_nan(sg_path(rec, "synthetic.mean_probability")));
	json_decref(lastev);
	lastev = json_incref(rec);
}

static int
any_number(const struct dv *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (!isnan(d->v[i]))
			return 1;
	return 0;
}

static double
mean(const struct dv *d)
{
	double sum = 0;

	for (size_t i = 0; i < d->n; i++)
		sum += d->v[i];
	return d->n ? sum / (double)d->n : 0;
}

/* How many batches a long run's lines are the mean of. */
static size_t
window(void)
{
	return batches.n / 20 > 5 ? batches.n / 20 : 5;
}

/* A series to draw: its own copy of x and y. */
struct line {
	struct dv x, y;
};

/* The mean of the last k values of y up to each, at the same x: the
 * smoothed line of a long run. */
static void
smooth(struct line *out, const struct dv *x, const struct dv *y, size_t k)
{
	double sum = 0;

	for (size_t j = 0; j < y->n; j++) {
		sum += y->v[j];
		if (j >= k)
			sum -= y->v[j - k];
		push(&out->x, x->v[j]);
		push(&out->y, sum / (double)(j < k ? j + 1 : k));
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
batch_axis(void)
{
	size_t n = 0;

	for (size_t i = 0; i < bx.n; i++)
		push(&batches, bx.v[i]);
	if (batches.n)
		qsort(batches.v, batches.n, sizeof *batches.v, cmp_double);
	for (size_t i = 0; i < batches.n; i++)
		if (n == 0 || batches.v[i] != batches.v[n - 1])
			batches.v[n++] = batches.v[i];
	batches.n = n;
}

/* Where batch x is on the axis of batches. */
static size_t
batch_index(double x)
{
	size_t lo = 0, hi = batches.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (batches.v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* An arm's points, with a break (a NaN) between two that are more than
 * gap batches apart on the axis of batches. */
static void
joined(struct line *out, const struct dv *x, const struct dv *y, size_t gap)
{
	for (size_t j = 0; j < x->n; j++) {
		if (j > 0 &&
			batch_index(x->v[j]) > batch_index(x->v[j - 1]) + gap) {
			push(&out->x, x->v[j]);
			push(&out->y, NAN);
		}
		push(&out->x, x->v[j]);
		push(&out->y, y->v[j]);
	}
}

static const char style[] =
	"body{font:15px/1.4 system-ui,sans-serif;max-width:680px;margin:2em "
	"auto;padding:0 1em;color:#222;overflow-wrap:break-word}code{"
	"overflow-wrap:anywhere}h1{font-size:"
	"1.4em}h2{font-size:1.1em;margin-top:2em}table{border-collapse:"
	"collapse;font-size:14px}td,th{padding:2px "
	"6px;text-align:right;border-bottom:1px "
	"solid #ddd}td:first-child,th:first-child{text-align:left}.scroll{"
	"overflow-x:auto}.sw{display:inline-block;width:.7em;height:.7em;"
	"margin-right:.4em}.chart{display:block;width:100%;max-width:640px;"
	"height:auto;margin:.5em 0}.t{font-weight:bold;font-size:13px}.frame"
	"{fill:none;stroke:#999}.grid{stroke:#eee}.yt{font-size:11px;"
	"text-anchor:end}.xt{font-size:11px;text-anchor:middle}.xl{font-size:"
	"12px;text-anchor:middle}.lg{font-size:12px}path.series{stroke-width:"
	"2}.faint{opacity:.35}.rule{stroke-dasharray:5 4;stroke-width:1.5}"
	"@media (max-width:480px){body{padding:0 .6em}table{font-size:12px}"
	"td,th{padding:2px 3px}}";

/* An arm's name that may break after each underscore on a narrow page. */
static void
name_cell(FILE *fp, const char *name)
{
	const char *u;
	char part[256];

	while ((u = strchr(name, '_')) &&
		(size_t)(u - name) < sizeof part - 1) {
		memcpy(part, name, (size_t)(u - name) + 1);
		part[u - name + 1] = '\0';
		sg_html_escape(fp, part);
		fputs("<wbr>", fp);
		name = u + 1;
	}
	sg_html_escape(fp, name);
}

static void
reward_cell(FILE *fp, const struct dv *d)
{
	if (d->n)
		fprintf(fp, "<td>%.3f (%zu)</td>", mean(d), d->n);
	else
		fputs("<td>&ndash;</td>", fp);
}

static void
arm_cell(FILE *fp, const struct arm *a)
{
	fprintf(fp,
		"<tr><td><span class=\"sw\" style=\"background:%s\">"
		"</span>",
		a->color);
	name_cell(fp, a->name);
	fputs("</td>", fp);
}

static void
arm_table(FILE *fp, const json_t *state)
{
	fputs("<div class=\"scroll\"><table><tr><th>arm</th><th>chosen</th>"
	      "<th>sg-score reward</th><th>sg-eval reward</th>"
	      "<th><abbr title=\"temperature\">temp.</abbr></th></tr>\n",
		fp);
	for (size_t i = 0; i < narms; i++) {
		const struct arm *a = &arms[i];
		json_t *s = json_object_get(
			json_object_get(state, "arms"), a->name);

		arm_cell(fp, a);
		fprintf(fp, "<td>%lld</td>",
			s ? sg_get_int(s, "pulls", 0) : a->chosen);
		reward_cell(fp, &a->ry);
		reward_cell(fp, &a->ey);
		if (s)
			fprintf(fp, "<td>%.2f</td>",
				sg_get_num(s, "temperature", 0));
		else
			fputs("<td>&ndash;</td>", fp);
		fputs("</tr>\n", fp);
	}
	fputs("</table></div>\n<p>A reward of sg-score measures a batch as it "
	      "was made; one of sg-eval, a dataset's use on real data, for "
	      "every arm that made it (mean, and how many).</p>\n",
		fp);
}

static void
eval_section(FILE *fp)
{
	const json_t *syn = json_object_get(lastev, "synthetic"), *row, *l;
	double majority = sg_get_num(lastev, "majority", NAN),
	       ceiling = sg_get_num(lastev, "ceiling", NAN);
	struct sg_series s[6];
	size_t i, j, ns = 0;

	fputs("<h2>Evaluation on real data</h2>\n<p>", fp);
	fprintf(fp,
		"The last evaluation trained on %lld samples and tested on "
		"%lld real examples: accuracy %.3f, macro-F1 %.3f, majority "
		"class %.3f",
		sg_get_int(lastev, "train_n", 0), sg_get_int(syn, "n", 0),
		json_number_value(json_object_get(syn, "accuracy")),
		json_number_value(json_object_get(syn, "macro_f1")), majority);
	if (json_is_number(json_object_get(lastev, "utility")))
		fprintf(fp, ", real-trained ceiling %.3f, <b>utility %.3f</b>",
			ceiling, sg_get_num(lastev, "utility", 0));
	fprintf(fp,
		". %.1f%% of the test's word %lld-grams occur in the training "
		"data; %lld test texts verbatim.</p>\n",
		100 * json_number_value(sg_path(lastev, "overlap.ngrams")),
		(long long)json_integer_value(sg_path(lastev, "overlap.n")),
		(long long)json_integer_value(
			sg_path(lastev, "overlap.exact_texts")));
	s[ns++] = (struct sg_series){
		"accuracy", sg_svg_color(0), evx.v, acc.v, acc.n, SG_SVG_BOTH};
	s[ns++] = (struct sg_series){
		"macro-F1", sg_svg_color(1), evx.v, f1.v, f1.n, SG_SVG_BOTH};
	if (any_number(&util))
		s[ns++] = (struct sg_series){"utility", sg_svg_color(2), evx.v,
			util.v, util.n, SG_SVG_BOTH};
	if (any_number(&prob))
		s[ns++] = (struct sg_series){"mean probability of the truth",
			sg_svg_color(4), evx.v, prob.v, prob.n, SG_SVG_BOTH};
	if (!isnan(majority))
		s[ns++] = (struct sg_series){"majority class", GREY,
			&evx.v[evx.n - 1], &majority, 1, SG_SVG_RULE};
	if (!isnan(ceiling))
		s[ns++] = (struct sg_series){"real-trained ceiling",
			sg_svg_color(3), &evx.v[evx.n - 1], &ceiling, 1,
			SG_SVG_RULE};
	sg_svg_lines(
		fp, "Evaluations over the run", "batch", "score", s, ns, 0, 1);
	fputs("<div class=\"scroll\"><table><tr><th>true \\ predicted</th>",
		fp);
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
	fputs("</table></div>\n", fp);
}

static void
usage_section(FILE *fp)
{
	double prompt = usage[0].v[usage[0].n - 1],
	       completion = usage[1].v[usage[1].n - 1],
	       cost = usage[2].v[usage[2].n - 1];
	struct sg_series s[3] = {
		{"prompt", sg_svg_color(0), tokx.v, usage[0].v, tokx.n,
			SG_SVG_LINE},
		{"completion", sg_svg_color(1), tokx.v, usage[1].v, tokx.n,
			SG_SVG_LINE},
		{"all", GREY, tokx.v, usage[3].v, tokx.n, SG_SVG_LINE},
	};
	struct sg_series c = {"US dollars", sg_svg_color(2), tokx.v, usage[2].v,
		tokx.n, SG_SVG_LINE};

	fprintf(fp,
		"<h2>Tokens and cost</h2>\n<p>%.0f prompt and %.0f completion "
		"tokens in %lld of %lld batches, as their batch records count "
		"them; cost $%.6g.</p>\n",
		prompt, completion, usage_batches, batch_records, cost);
	fputs("<div class=\"scroll\"><table><tr><th>arm</th><th>prompt</th>"
	      "<th>completion</th><th>US dollars</th></tr>\n",
		fp);
	for (size_t i = 0; i < narms; i++)
		if (arms[i].usage[0] + arms[i].usage[1] + arms[i].usage[2] >
			0) {
			arm_cell(fp, &arms[i]);
			fprintf(fp,
				"<td>%.0f</td><td>%.0f</td><td>%.6g</td>"
				"</tr>\n",
				arms[i].usage[0], arms[i].usage[1],
				arms[i].usage[2]);
		}
	fputs("</table></div>\n", fp);
	sg_svg_lines(fp, "Tokens so far", "batch", "tokens", s, 3, 0, 0);
	if (cost > 0)
		sg_svg_lines(
			fp, "Cost so far", "batch", "US dollars", &c, 1, 0, 0);
}

static void
free_lines(struct line *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i].x.v), free(l[i].y.v);
	free(l);
}

static void
reward_chart(FILE *fp)
{
	int long_run = batches.n > LONG_RUN;
	size_t k = window(), ns = 0;
	struct sg_series *s = sg_xmalloc((3 * narms + 1) * sizeof *s);
	struct line *l = sg_xmalloc((narms + 1) * sizeof *l);
	char(*names)[300] = sg_xmalloc((narms + 1) * sizeof *names);

	memset(l, 0, (narms + 1) * sizeof *l);
	if (long_run)
		fprintf(fp,
			"<p>Pale dots: sg-score's reward of each batch; lines: "
			"the mean of an arm's last %zu, broken where the arm "
			"was not chosen for %zu batches; rings: sg-eval's "
			"rewards from real data.</p>\n",
			k, k);
	else
		fputs("<p>Dots: sg-score's reward of each batch, joined where "
		      "the arm made the next batch too; rings: sg-eval's "
		      "rewards from real data.</p>\n",
			fp);
	for (size_t i = 0; i < narms; i++) {
		struct arm *a = &arms[i];
		struct line m = {0};

		if (long_run) {
			s[ns++] = (struct sg_series){NULL, a->color, a->rx.v,
				a->ry.v, a->rx.n, SG_SVG_FAINT};
			smooth(&m, &a->rx, &a->ry, k);
			joined(&l[i], &m.x, &m.y, k);
			free(m.x.v), free(m.y.v);
		} else {
			joined(&l[i], &a->rx, &a->ry, 1);
		}
		s[ns++] = (struct sg_series){a->name, a->color, l[i].x.v,
			l[i].y.v, l[i].x.n, SG_SVG_LINE};
		if (a->ex.n == 0)
			continue;
		snprintf(names[i], sizeof names[i], "%s (eval)", a->name);
		s[ns++] = (struct sg_series){names[i], a->color, a->ex.v,
			a->ey.v, a->ex.n, SG_SVG_DOTS};
	}
	sg_svg_lines(fp, "Reward per arm", "batch", "reward", s, ns, 0, 1);
	free_lines(l, narms + 1);
	free(names);
	free(s);
}

/* A measure of every batch: its line, or over a long run pale dots and
 * the mean of the last batches. */
static void
batch_chart(FILE *fp, const char *title, const char *ylabel,
	const char *const names[], const struct dv *const y[], size_t n)
{
	int long_run = batches.n > LONG_RUN;
	size_t k = window(), ns = 0;
	struct sg_series s[4];
	struct line m[2] = {0};

	for (size_t i = 0; i < n; i++) {
		if (!long_run) {
			s[ns++] = (struct sg_series){names[i], sg_svg_color(i),
				bx.v, y[i]->v, bx.n, SG_SVG_LINE};
			continue;
		}
		smooth(&m[i], &bx, y[i], k);
		s[ns++] = (struct sg_series){NULL, sg_svg_color(i), bx.v,
			y[i]->v, bx.n, SG_SVG_FAINT};
		s[ns++] = (struct sg_series){names[i], sg_svg_color(i),
			m[i].x.v, m[i].y.v, m[i].x.n, SG_SVG_LINE};
	}
	sg_svg_lines(fp, title, "batch", ylabel, s, ns, 0, 1);
	for (size_t i = 0; i < n; i++)
		free(m[i].x.v), free(m[i].y.v);
}

static void
page(FILE *fp, const json_t *state, const char *state_path)
{
	static const char *const bins[10] = {
		"0", ".1", ".2", ".3", ".4", ".5", ".6", ".7", ".8", ".9"};
	static const char *const qnames[2] = {"accepted", "rejected"};
	static const char *const pq[2] = {"pass rate", "mean quality"};
	static const char *const dname[1] = {"diversity"};
	const struct dv *const pqv[2] = {&pass, &qual};
	const struct dv *const dvv[1] = {&divers};
	const char *qcolors[2] = {sg_svg_color(2), sg_svg_color(1)};
	const double *qv[2] = {qhist[0], qhist[1]};
	struct sg_series *s = sg_xmalloc((narms + 1) * sizeof *s);

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	      "charset=\"utf-8\"><meta name=\"viewport\" "
	      "content=\"width=device-width, initial-scale=1\">"
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
		s[i] = (struct sg_series){arms[i].name, arms[i].color,
			arms[i].cx.v, arms[i].cy.v, arms[i].cx.n, SG_SVG_LINE};
	sg_svg_lines(fp, "Share of the choices so far", "batch", "share", s,
		narms, 0, 1);

	fputs("<h2>Rewards</h2>\n", fp);
	reward_chart(fp);

	fputs("<h2>Batches</h2>\n", fp);
	batch_chart(fp, "Pass rate and quality per batch", "rate", pq, pqv, 2);
	batch_chart(fp, "Diversity per batch", "diversity", dname, dvv, 1);
	sg_svg_bars(fp, "Quality of the samples", "quality", "samples", qnames,
		qcolors, qv, 2, bins, 10);

	if (lastev)
		eval_section(fp);
	if (usage_batches > 0)
		usage_section(fp);
	fputs("</body></html>\n", fp);
	free(s);
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
	if (usage_batches > 0)
		fprintf(stderr,
			"%s: tokens: %.0f prompt, %.0f completion; cost "
			"$%.6g\n",
			sg_progname, usage[0].v[usage[0].n - 1],
			usage[1].v[usage[1].n - 1], usage[2].v[usage[2].n - 1]);
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
	const char **evals = NULL, **names, **colors;
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
	batch_axis();
	names = sg_xmalloc((narms + 1) * sizeof *names);
	colors = sg_xmalloc((narms + 1) * sizeof *colors);
	for (size_t i = 0; i < narms; i++)
		names[i] = arms[i].name;
	sg_svg_name_colors(names, narms, colors);
	for (size_t i = 0; i < narms; i++)
		arms[i].color = colors[i];

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
	free(names);
	free(colors);
	free(bx.v), free(pass.v), free(qual.v), free(divers.v);
	free(batches.v), free(tokx.v);
	for (int k = 0; k < 4; k++)
		free(usage[k].v);
	free(evx.v), free(acc.v), free(f1.v), free(util.v), free(prob.v);
	json_decref(lastev);
	json_decref(state);
	free(html);
	free(rejects);
	free(owned_log);
	free(evals);
	return sg_finish(status);
}
