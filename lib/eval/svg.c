/*
 * svg.c - small inline SVG charts for the HTML run report: lines and
 * markers over a shared x axis, and grouped bars.  Each chart is one
 * self-contained <svg> element with its axes, ticks and legend, so a page
 * needs no script and no external file to show it.
 */
#include <math.h>
#include <string.h>

#include "eval/eval.h"

enum { W = 640, H = 300, ML = 56, MR = 16, MT = 28, MB = 80 };

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c",
	"#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
	"#17becf"};

const char *
sg_svg_color(size_t i)
{
	return palette[i % (sizeof palette / sizeof *palette)];
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
};

static double
px(const struct frame *f, double x)
{
	return ML + (x - f->x0) / (f->x1 - f->x0) * (W - ML - MR);
}

static double
py(const struct frame *f, double y)
{
	return H - MB - (y - f->y0) / (f->y1 - f->y0) * (H - MT - MB);
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

/* The frame, title, axes with round ticks, and axis labels. */
static void
open_chart(FILE *fp, const struct frame *f, const char *title,
	const char *xlabel, const char *ylabel, int xticks)
{
	double step;

	fprintf(fp,
		"<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\""
		" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
		" role=\"img\"><title>",
		W, H, W, H);
	sg_html_escape(fp, title);
	fprintf(fp, "</title><text x=\"%d\" y=\"18\" class=\"t\">", ML);
	sg_html_escape(fp, title);
	fprintf(fp,
		"</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\""
		" class=\"frame\"/>",
		ML, MT, W - ML - MR, H - MT - MB);
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
	for (double x = ceil(f->x0 / step - 1e-9) * step;
		xticks && x <= f->x1 + 1e-9; x += step)
		fprintf(fp,
			"<text x=\"%.1f\" y=\"%d\" class=\"xt\">%.4g</text>",
			px(f, x), H - MB + 14, fabs(x) < step / 2 ? 0.0 : x);
	fprintf(fp, "<text x=\"%d\" y=\"%d\" class=\"xl\">", (W + ML) / 2,
		H - MB + 30);
	sg_html_escape(fp, xlabel);
	fprintf(fp,
		"</text><text transform=\"translate(14 %d) rotate(-90)\""
		" class=\"xl\">",
		(H - MB + MT) / 2);
	sg_html_escape(fp, ylabel);
	fputs("</text>", fp);
}

/* Legend entries flow left to right under the axis, wrapping by their
 * estimated width (7 pixels a character at 12 pixels). */
struct cursor {
	double x, y;
};

static void
legend(FILE *fp, struct cursor *c, const char *name, const char *color)
{
	double w = 14 + 7 * (double)strlen(name) + 16;

	if (c->y == 0) {
		c->x = ML;
		c->y = H - MB + 46;
	} else if (c->x + w > W - MR) {
		c->x = ML;
		c->y += 15;
	}

	fprintf(fp,
		"<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\""
		" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\" class=\"lg\">",
		c->x, c->y - 9, color, c->x + 14, c->y);
	sg_html_escape(fp, name);
	fputs("</text>", fp);
	c->x += w;
}

void
sg_svg_lines(FILE *fp, const char *title, const char *xlabel,
	const char *ylabel, const struct sg_series *s, size_t ns, double ymin,
	double ymax)
{
	struct frame f = {INFINITY, -INFINITY, ymin, ymax};
	struct cursor cur = {0, 0};
	int autoy = !(ymax > ymin);

	if (autoy) {
		f.y0 = 0;
		f.y1 = -INFINITY;
	}
	for (size_t i = 0; i < ns; i++)
		for (size_t j = 0; j < s[i].n; j++) {
			f.x0 = fmin(f.x0, s[i].x[j]);
			f.x1 = fmax(f.x1, s[i].x[j]);
			if (autoy) {
				f.y0 = fmin(f.y0, s[i].y[j]);
				f.y1 = fmax(f.y1, s[i].y[j]);
			}
		}
	if (!(f.x1 > f.x0)) {
		f.x0 = isfinite(f.x0) ? f.x0 - 1 : 0;
		f.x1 = f.x0 + 2;
	}
	if (!(f.y1 > f.y0))
		f.y1 = f.y0 + 1;
	open_chart(fp, &f, title, xlabel, ylabel, 1);
	for (size_t i = 0; i < ns; i++) {
		const char *c = s[i].color ? s[i].color : sg_svg_color(i);

		if (s[i].style != SG_SVG_DOTS && s[i].n > 0) {
			fprintf(fp,
				"<polyline class=\"series\" fill=\"none\""
				" stroke=\"%s\" points=\"",
				c);
			for (size_t j = 0; j < s[i].n; j++)
				fprintf(fp, "%s%.1f,%.1f", j ? " " : "",
					px(&f, s[i].x[j]), py(&f, s[i].y[j]));
			fputs("\"/>", fp);
		}
		if (s[i].style != SG_SVG_LINE)
			for (size_t j = 0; j < s[i].n; j++)
				fprintf(fp,
					"<circle class=\"series\" cx=\"%.1f\""
					" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>",
					px(&f, s[i].x[j]), py(&f, s[i].y[j]),
					c);
		legend(fp, &cur, s[i].name, c);
	}
	fputs("</svg>\n", fp);
}

void
sg_svg_bars(FILE *fp, const char *title, const char *xlabel, const char *ylabel,
	const char *const names[], const double *const v[], size_t ns,
	const char *const bins[], size_t nbins)
{
	struct frame f = {0, (double)nbins, 0, 0};
	struct cursor cur = {0, 0};
	double bw = (double)(W - ML - MR) / (double)(nbins ? nbins : 1);

	for (size_t i = 0; i < ns; i++)
		for (size_t b = 0; b < nbins; b++)
			f.y1 = fmax(f.y1, v[i][b]);
	if (!(f.y1 > 0))
		f.y1 = 1;
	open_chart(fp, &f, title, xlabel, ylabel, 0);
	for (size_t b = 0; b < nbins; b++) {
		fprintf(fp, "<text x=\"%.1f\" y=\"%d\" class=\"xt\">",
			ML + bw * ((double)b + 0.5), H - MB + 14);
		sg_html_escape(fp, bins[b]);
		fputs("</text>", fp);
		for (size_t i = 0; i < ns; i++) {
			double w = (bw - 4) / (double)ns;

			fprintf(fp,
				"<rect class=\"series\" x=\"%.1f\" y=\"%.1f\""
				" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
				"<title>%g</title></rect>",
				ML + bw * (double)b + 2 + w * (double)i,
				py(&f, v[i][b]), w, py(&f, 0) - py(&f, v[i][b]),
				sg_svg_color(i), v[i][b]);
		}
	}
	for (size_t i = 0; i < ns; i++)
		legend(fp, &cur, names[i], sg_svg_color(i));
	fputs("</svg>\n", fp);
}
