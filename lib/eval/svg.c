/*
 * svg.c - small inline SVG charts for the HTML run report: lines and
 * markers over a shared x axis, and grouped bars.  Each chart is one
 * self-contained <svg> element with its axes, ticks and legend, so a page
 * needs no script and no external file to show it.  A chart has a
 * viewBox and no size of its own: the page's style scales it to the
 * width there is.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

/* The viewBox: W wide; the plot PH high under a title of MT, the ticks
 * and the axis label under it, then as many legend rows as the names
 * need. */
enum { W = 520, PH = 180, ML = 48, MR = 12, MT = 28, AXIS = 38, ROW = 16 };

/* Distinct on white: d3's category10 but its grey, which marks the
 * levels a chart is read against, and three darker hues. */
static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c",
	"#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
	"#393b79", "#7b4173", "#637939"};
#define NPALETTE (sizeof palette / sizeof *palette)

const char *
sg_svg_color(size_t i)
{
	return palette[i % NPALETTE];
}

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

void
sg_svg_name_colors(const char *const names[], size_t n, const char *colors[])
{
	int taken[NPALETTE];
	size_t c, k;

	for (size_t i = 0; i < n; i++)
		colors[i] = NULL;
	/* in the order of the names, so that which of two names wanting one
	 * colour keeps it does not hang on the order they came in; past
	 * NPALETTE names, colours repeat */
	for (size_t done = 0; done < n; done++) {
		if (done % NPALETTE == 0)
			memset(taken, 0, sizeof taken);
		for (k = n; k == n;)
			for (size_t i = 0; i < n; i++)
				if (!colors[i] &&
					(k == n ||
						strcmp(names[i], names[k]) < 0))
					k = i;
		for (c = name_hash(names[k]) % NPALETTE; taken[c];)
			c = (c + 1) % NPALETTE;
		taken[c] = 1;
		colors[k] = palette[c];
	}
}

void
sg_html_escape(FILE *fp, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '&':
			fputs("&amp;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		default:
			fputc(*s, fp);
		}
}

struct frame {
	double x0, x1, y0, y1;
	int h; /* the viewBox's height */
};

static double
px(const struct frame *f, double x)
{
	return ML + (x - f->x0) / (f->x1 - f->x0) * (W - ML - MR);
}

static double
py(const struct frame *f, double y)
{
	return MT + PH - (y - f->y0) / (f->y1 - f->y0) * PH;
}

/* A round step (1, 2, 2.5 or 5 times a power of ten) giving about four
 * intervals over range. */
static double
tick_step(double range)
{
	static const double nice[] = {1, 2, 2.5, 5, 10};
	double raw = range / 4, p = pow(10, floor(log10(raw)));

	for (size_t i = 0; i < sizeof nice / sizeof *nice; i++)
		if (nice[i] * p >= raw * (1 - 1e-9))
			return nice[i] * p;
	return 10 * p;
}

/* Legend entries flow left to right under the axis, wrapping by their
 * estimated width (7 units a character at 12). */
struct cursor {
	double x, y;
};

static double
legend_width(const char *name)
{
	return 14 + 7 * (double)strlen(name) + 16;
}

/* Where the entry for name goes, into *at; the cursor moves past it. */
static void
legend_step(struct cursor *c, const char *name, struct cursor *at)
{
	double w = legend_width(name);

	if (c->y == 0) {
		c->x = ML;
		c->y = MT + PH + AXIS + 12;
	} else if (c->x + w > W - MR && c->x > ML) {
		c->x = ML;
		c->y += ROW;
	}
	*at = *c;
	c->x += w;
}

static void
legend(FILE *fp, struct cursor *cur, const char *name, const char *color,
	enum sg_svg_style style)
{
	struct cursor at, *c = &at;

	legend_step(cur, name, &at);
	if (style == SG_SVG_DOTS)
		fprintf(fp,
			"<circle cx=\"%.0f\" cy=\"%.0f\" r=\"3.5\""
			" fill=\"#fff\" stroke=\"%s\" stroke-width=\"1.5\"/>",
			c->x + 5, c->y - 4, color);
	else if (style == SG_SVG_RULE)
		fprintf(fp,
			"<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\""
			" stroke=\"%s\" class=\"rule\"/>",
			c->x, c->x + 10, c->y - 4, c->y - 4, color);
	else
		fprintf(fp,
			"<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\""
			" fill=\"%s\"/>",
			c->x, c->y - 9, color);
	fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" class=\"lg\">", c->x + 14,
		c->y);
	sg_html_escape(fp, name);
	fputs("</text>", fp);
}

/* The height of a chart whose legend holds these names. */
static int
chart_height(const char *const names[], size_t n)
{
	struct cursor c = {0, 0}, at;

	for (size_t i = 0; i < n; i++)
		if (names[i])
			legend_step(&c, names[i], &at);
	return (int)(c.y ? c.y + 8 : MT + PH + AXIS + 4);
}

/* The frame, title, axes with round ticks, and axis labels. */
static void
open_chart(FILE *fp, const struct frame *f, const char *title,
	const char *xlabel, const char *ylabel, int xticks)
{
	double step;

	fprintf(fp,
		"<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\""
		" viewBox=\"0 0 %d %d\" role=\"img\"><title>",
		W, f->h);
	sg_html_escape(fp, title);
	fprintf(fp, "</title><text x=\"%d\" y=\"18\" class=\"t\">", ML);
	sg_html_escape(fp, title);
	fprintf(fp,
		"</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\""
		" class=\"frame\"/>",
		ML, MT, W - ML - MR, PH);
	step = tick_step(f->y1 - f->y0);
	for (double y = ceil(f->y0 / step - 1e-9) * step; y <= f->y1 + 1e-9;
		y += step)
		fprintf(fp,
			"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\""
			" class=\"grid\"/><text x=\"%d\" y=\"%.1f\""
			" class=\"yt\">%.4g</text>",
			ML, W - MR, py(f, y), py(f, y), ML - 4, py(f, y) + 4,
			fabs(y) < step / 2 ? 0.0 : y);
	step = tick_step(f->x1 - f->x0);
	if (xticks && step < 1 && f->x1 - f->x0 >= 1)
		step = 1; /* batches are whole */
	for (double x = ceil(f->x0 / step - 1e-9) * step;
		xticks && x <= f->x1 + 1e-9; x += step)
		fprintf(fp,
			"<text x=\"%.1f\" y=\"%d\" class=\"xt\">%.4g</text>",
			px(f, x), MT + PH + 14, fabs(x) < step / 2 ? 0.0 : x);
	fprintf(fp, "<text x=\"%d\" y=\"%d\" class=\"xl\">", (W + ML) / 2,
		MT + PH + 30);
	sg_html_escape(fp, xlabel);
	fprintf(fp,
		"</text><text transform=\"translate(13 %d) rotate(-90)\""
		" class=\"xl\">",
		MT + PH / 2);
	sg_html_escape(fp, ylabel);
	fputs("</text>", fp);
}

/* Whether point j of s has no neighbour to be joined to. */
static int
alone(const struct sg_series *s, size_t j)
{
	return !isnan(s->y[j]) && (j == 0 || isnan(s->y[j - 1])) &&
	       (j + 1 == s->n || isnan(s->y[j + 1]));
}

/* Point j of a series as its style marks it: a dot, a ring (DOTS, apart
 * from a line's lone points), or a small pale dot. */
static void
dot(FILE *fp, const struct frame *f, const struct sg_series *s, size_t j,
	const char *c)
{
	fprintf(fp, "<circle class=\"series%s\" cx=\"%.1f\" cy=\"%.1f\"",
		s->style == SG_SVG_FAINT ? " faint" : "", px(f, s->x[j]),
		py(f, s->y[j]));
	if (s->style == SG_SVG_DOTS)
		fprintf(fp,
			" r=\"3.5\" fill=\"#fff\" stroke=\"%s\""
			" stroke-width=\"1.5\"/>",
			c);
	else
		fprintf(fp, " r=\"%s\" fill=\"%s\"/>",
			s->style == SG_SVG_FAINT ? "1.8" : "2.5", c);
}

/* A series' points as one path, broken where y is not a number; a point
 * with no neighbour to join is drawn as a dot. */
static void
line(FILE *fp, const struct frame *f, const struct sg_series *s, const char *c)
{
	const char *sep = "M";
	int any = 0;

	for (size_t j = 0; j < s->n; j++) {
		if (isnan(s->y[j]) || alone(s, j)) {
			sep = "M";
			continue;
		}
		if (!any)
			fprintf(fp,
				"<path class=\"series\" fill=\"none\""
				" stroke=\"%s\" d=\"",
				c);
		fprintf(fp, "%s%.1f,%.1f", sep, px(f, s->x[j]), py(f, s->y[j]));
		sep = " ";
		any = 1;
	}
	if (any)
		fputs("\"/>", fp);
	for (size_t j = 0; j < s->n; j++)
		if (alone(s, j))
			dot(fp, f, s, j, c);
}

void
sg_svg_lines(FILE *fp, const char *title, const char *xlabel,
	const char *ylabel, const struct sg_series *s, size_t ns, double ymin,
	double ymax)
{
	struct frame f = {INFINITY, -INFINITY, ymin, ymax, 0};
	struct cursor cur = {0, 0};
	const char **names = sg_xmalloc((ns ? ns : 1) * sizeof *names);
	int autoy = !(ymax > ymin);

	if (autoy) {
		f.y0 = 0;
		f.y1 = -INFINITY;
	}
	for (size_t i = 0; i < ns; i++) {
		names[i] = s[i].style == SG_SVG_FAINT ? NULL : s[i].name;
		for (size_t j = 0; j < s[i].n; j++) {
			if (isnan(s[i].y[j]))
				continue;
			if (s[i].style != SG_SVG_RULE) {
				f.x0 = fmin(f.x0, s[i].x[j]);
				f.x1 = fmax(f.x1, s[i].x[j]);
			}
			if (autoy) {
				f.y0 = fmin(f.y0, s[i].y[j]);
				f.y1 = fmax(f.y1, s[i].y[j]);
			}
		}
	}
	if (!(f.x1 > f.x0)) {
		f.x0 = isfinite(f.x0) ? f.x0 - 1 : 0;
		f.x1 = f.x0 + 2;
	}
	if (!(f.y1 > f.y0))
		f.y1 = f.y0 + 1;
	else if (autoy) /* up to a round tick, above the highest point */
		f.y1 = ceil(f.y1 * 1.05 / tick_step(f.y1 * 1.05 - f.y0)) *
		       tick_step(f.y1 * 1.05 - f.y0);
	f.h = chart_height(names, ns);
	free(names);
	open_chart(fp, &f, title, xlabel, ylabel, 1);
	for (size_t i = 0; i < ns; i++) {
		const char *c = s[i].color ? s[i].color : sg_svg_color(i);
		double y;

		switch (s[i].style) {
		case SG_SVG_LINE:
		case SG_SVG_BOTH:
			line(fp, &f, &s[i], c);
			break;
		case SG_SVG_RULE:
			if (s[i].n == 0 || isnan(y = s[i].y[s[i].n - 1]))
				break;
			fprintf(fp,
				"<line class=\"series rule\" x1=\"%d\""
				" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\""
				" stroke=\"%s\"/>",
				ML, W - MR, py(&f, y), py(&f, y), c);
			break;
		default:
			break;
		}
		if (s[i].style == SG_SVG_DOTS || s[i].style == SG_SVG_BOTH ||
			s[i].style == SG_SVG_FAINT)
			for (size_t j = 0; j < s[i].n; j++)
				if (!isnan(s[i].y[j]))
					dot(fp, &f, &s[i], j, c);
		if (s[i].style != SG_SVG_FAINT)
			legend(fp, &cur, s[i].name, c, s[i].style);
	}
	fputs("</svg>\n", fp);
}

void
sg_svg_bars(FILE *fp, const char *title, const char *xlabel, const char *ylabel,
	const char *const names[], const char *const colors[],
	const double *const v[], size_t ns, const char *const bins[],
	size_t nbins)
{
	struct frame f = {0, (double)nbins, 0, 0, 0};
	struct cursor cur = {0, 0};
	double bw = (double)(W - ML - MR) / (double)(nbins ? nbins : 1);

	for (size_t i = 0; i < ns; i++)
		for (size_t b = 0; b < nbins; b++)
			f.y1 = fmax(f.y1, v[i][b]);
	if (!(f.y1 > 0))
		f.y1 = 1;
	f.h = chart_height(names, ns);
	open_chart(fp, &f, title, xlabel, ylabel, 0);
	for (size_t b = 0; b < nbins; b++) {
		fprintf(fp, "<text x=\"%.1f\" y=\"%d\" class=\"xt\">",
			ML + bw * ((double)b + 0.5), MT + PH + 14);
		sg_html_escape(fp, bins[b]);
		fputs("</text>", fp);
		for (size_t i = 0; i < ns; i++) {
			double w = (bw - 4) / (double)ns, h;

			if (!(v[i][b] > 0))
				continue;
			/* a bar of one among thousands still shows */
			h = fmax(py(&f, 0) - py(&f, v[i][b]), 3);
			fprintf(fp,
				"<rect class=\"series bar\" x=\"%.1f\""
				" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
				" fill=\"%s\"><title>",
				ML + bw * (double)b + 2 + w * (double)i,
				py(&f, 0) - h, w, h, colors[i]);
			sg_html_escape(fp, names[i]);
			fputc(' ', fp);
			sg_html_escape(fp, bins[b]);
			fprintf(fp, ": %g</title></rect>", v[i][b]);
		}
	}
	for (size_t i = 0; i < ns; i++)
		legend(fp, &cur, names[i], colors[i], SG_SVG_LINE);
	fputs("</svg>\n", fp);
}
