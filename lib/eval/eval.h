/*
 * eval.h - evaluation: a classifier trained on synthetic data and tested
 * on real data (sg-eval(1)), and the charts of the run report
 * (sg-report(1)).
 */
#ifndef SG_EVAL_H
#define SG_EVAL_H

#include "base/base.h"
#include "record/record.h"

/* classify.c: a fastText-style text classifier and its measures */
struct sg_clf_params {
	int dim, epochs, ngrams; /* ngrams: 1 words, 2 words and bigrams */
	double lr;
	uint32_t buckets;
	uint64_t seed;
};
struct sg_clf;
struct sg_clf *sg_clf_train(const struct sg_clf_params *p,
	const struct sg_labelled *d, struct sg_error *e);
void sg_clf_free(struct sg_clf *c);
/* {n, accuracy, macro_f1, f1: {label: F1}, labels, confusion: rows of
 * true labels, columns of predicted ones, majority: {label, accuracy},
 * mean_probability, log_likelihood: of the true labels}, the majority
 * class being the test set's most frequent label. */
json_t *sg_clf_evaluate(const struct sg_clf *c, const struct sg_labelled *test);
#define SG_MAX_NGRAM 16
/* {n, ngrams: share of the test's word n-grams found in train,
 * covered_texts: test texts all of whose n-grams are, exact_texts: test
 * texts whose whole word sequence is a training text's}; NULL if n is
 * outside [1, SG_MAX_NGRAM]. */
json_t *sg_ngram_overlap(
	const struct sg_labelled *train, const struct sg_labelled *test, int n);

/* svg.c: inline SVG charts for the HTML report, written to fp; each
 * scales to the width of the page */
enum sg_svg_style {
	SG_SVG_LINE,  /* joined points, apart where y is NaN */
	SG_SVG_DOTS,  /* a dot at each point */
	SG_SVG_BOTH,  /* both */
	SG_SVG_FAINT, /* small pale dots under a smoothed line; no legend */
	SG_SVG_RULE,  /* a dashed level across the chart at the last y */
};
struct sg_series {
	const char *name, *color; /* color NULL: the palette's */
	const double *x, *y;	  /* a y of NaN is no point */
	size_t n;
	enum sg_svg_style style;
};

const char *sg_svg_color(size_t i);
/* A colour for each of n names: the one the name's hash picks, so a name
 * keeps its colour from report to report, unless a name before it in
 * strcmp order took that colour in this report first. */
void sg_svg_name_colors(
	const char *const names[], size_t n, const char *colors[]);
void sg_html_escape(FILE *fp, const char *s);
/* Series over a shared x axis; y from ymin to ymax, or from the data
 * (and 0) when ymax <= ymin. */
void sg_svg_lines(FILE *fp, const char *title, const char *xlabel,
	const char *ylabel, const struct sg_series *s, size_t ns, double ymin,
	double ymax);
/* Grouped bars, v[series][bin]; a bar of 0 is not drawn, any other is
 * drawn at least 3 units high. */
void sg_svg_bars(FILE *fp, const char *title, const char *xlabel,
	const char *ylabel, const char *const names[],
	const char *const colors[], const double *const v[], size_t ns,
	const char *const bins[], size_t nbins);

#endif
