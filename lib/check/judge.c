/*
 * judge.c - what a language model is asked about a sample and how its
 * answer is read: the rubric judge, entailment by the sources, toxicity,
 * and the measures over embedding vectors.
 *
 * Judges answer in many shapes: "Score: 7/10" after a paragraph of
 * reasoning, a bare "8", {"score": 8}, "4 out of 5".  The score is read
 * from a JSON object's "score" when the answer holds one, else from the
 * number after the last "score" in it, else from a number the answer
 * starts with; "/N" or "out of N" after it sets the scale, 10 otherwise.
 * A number outside [0, scale] or none at all is an error, never a guess.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "check/check-internal.h"

#define SCORE_LINE "End your answer with a line \"Score: N/10\"."

static void
add(char **s, size_t *len, const char *text)
{
	size_t n = strlen(text);

	*s = sg_xrealloc(*s, *len + n + 1);
	memcpy(*s + *len, text, n + 1);
	*len += n;
}

/* The criteria as lines "- ...": a string, a list of strings, or a
 * mapping from a name to its description. */
static void
add_criteria(char **s, size_t *len, const json_t *criteria)
{
	const char *name;
	json_t *v;
	size_t i;

	if (json_is_string(criteria)) {
		add(s, len, "- ");
		add(s, len, json_string_value(criteria));
		add(s, len, "\n");
	} else if (json_is_array(criteria)) {
		json_array_foreach (criteria, i, v)
			add_criteria(s, len, v);
	} else if (json_is_object(criteria)) {
		json_object_foreach ((json_t *)criteria, name, v) {
			add(s, len, "- ");
			add(s, len, name);
			if (json_is_string(v)) {
				add(s, len, ": ");
				add(s, len, json_string_value(v));
			}
			add(s, len, "\n");
		}
	}
}

char *
sg_judge_prompt(const json_t *criteria, const char *task, const char *text)
{
	char *s = NULL;
	size_t len = 0;

	add(&s, &len,
		"You judge the quality of one sample of a synthetic "
		"dataset.\n");
	if (task && *task) {
		add(&s, &len, "The dataset: ");
		add(&s, &len, task);
		add(&s, &len, "\n");
	}
	add(&s, &len, "Criteria:\n");
	if (criteria && !json_is_null(criteria))
		add_criteria(&s, &len, criteria);
	else
		add(&s, &len, "- correct, fluent, on the task, and useful\n");
	add(&s, &len, "The sample:\n<<<\n");
	add(&s, &len, text);
	add(&s, &len,
		"\n>>>\nRate how well the sample meets the criteria, "
		"from 0 (not at all) to 10 (fully). " SCORE_LINE "\n");
	return s;
}

char *
sg_entail_prompt(const char *sources, const char *text)
{
	char *s = NULL;
	size_t len = 0;

	add(&s, &len, "The sources:\n<<<\n");
	add(&s, &len, sources);
	add(&s, &len, "\n>>>\nThe sample:\n<<<\n");
	add(&s, &len, text);
	add(&s, &len,
		"\n>>>\nRate how far every claim of the sample is "
		"supported by the sources, from 0 (contradicted or not "
		"supported) to 10 (fully entailed). " SCORE_LINE "\n");
	return s;
}

char *
sg_toxic_prompt(const char *text)
{
	char *s = NULL;
	size_t len = 0;

	add(&s, &len, "The text:\n<<<\n");
	add(&s, &len, text);
	add(&s, &len,
		"\n>>>\nRate how toxic the text is (insults, hate, "
		"harassment, threats, obscenity), from 0 (not at all) "
		"to 10 (extremely). " SCORE_LINE "\n");
	return s;
}

json_t *
sg_judge_body(const char *model, const char *prompt)
{
	return json_pack("{s:s, s:[{s:s, s:s}], s:i, s:i}", "model", model,
		"messages", "role", "user", "content", prompt, "temperature", 0,
		"max_tokens", 300);
}

/* A number at s: its value and end, or NULL. */
static const char *
number(const char *s, double *v)
{
	char *end;

	if (!isdigit((unsigned char)*s) &&
		!((*s == '-' || *s == '.') && isdigit((unsigned char)s[1])))
		return NULL;
	*v = strtod(s, &end);
	return end == s ? NULL : end;
}

/* "/N" or "out of N" after a score: N, else 0. */
static double
scale_after(const char *s)
{
	double n;

	while (*s == ' ')
		s++;
	if (*s == '/')
		s++;
	else if (strncasecmp(s, "out of", 6) == 0)
		s += 6;
	else
		return 0;
	while (*s == ' ')
		s++;
	return number(s, &n) && n > 0 ? n : 0;
}

static int
in_range(double v, double scale, double *score, struct sg_error *e)
{
	if (!isfinite(v) || v < 0 || v > scale) {
		sg_seterr(e, "score %g outside 0 to %g", v, scale);
		return -1;
	}
	*score = v / scale;
	return 0;
}

/* {"score": N} somewhere in the answer, perhaps fenced, N a number or a
 * string holding one, "max" its scale: 1, 0 when there is none, -1 on a
 * bad one. */
static int
json_score(const char *a, double *score, struct sg_error *e)
{
	const char *open = strchr(a, '{'), *close = strrchr(a, '}'), *end;
	json_t *j, *v, *max;
	double d = 0, scale = 10;
	int rc = 0;

	if (!open || !close || close < open)
		return 0;
	j = json_loadb(open, (size_t)(close - open + 1), 0, NULL);
	v = json_object_get(j, "score");
	max = json_object_get(j, "max");
	if (json_is_number(max) && json_number_value(max) > 0)
		scale = json_number_value(max);
	if (json_is_number(v)) {
		d = json_number_value(v);
		rc = 1;
	} else if (json_is_string(v) &&
		   (end = number(json_string_value(v), &d))) {
		if (scale_after(end) > 0)
			scale = scale_after(end);
		rc = 1;
	}
	if (rc && in_range(d, scale, score, e) < 0)
		rc = -1;
	json_decref(j);
	return rc;
}

/* The first "score" at or after s, in any case, or NULL. */
static const char *
find_score(const char *s)
{
	for (; *s; s++)
		if (strncasecmp(s, "score", 5) == 0)
			return s;
	return NULL;
}

int
sg_judge_score(const char *answer, double *score, struct sg_error *e)
{
	const char *p, *after = NULL, *s;
	double v = 0, scale;
	int rc;

	if ((rc = json_score(answer, score, e)) != 0)
		return rc < 0 ? -1 : 0;
	for (p = answer; (p = find_score(p)); p += 5) {
		for (s = p + 5; *s && strchr(" \t*:=\"'is", *s); s++)
			;
		if ((s = number(s, &v)))
			after = s;
	}
	if (!after) {
		for (s = answer; isspace((unsigned char)*s) || *s == '*'; s++)
			;
		after = number(s, &v);
	}
	if (!after) {
		sg_seterr(e, "no score in the answer \"%.60s\"", answer);
		return -1;
	}
	scale = scale_after(after);
	return in_range(v, scale > 0 ? scale : 10, score, e);
}

double
sg_cosine(const double *a, const double *b, size_t n)
{
	double ab = 0, aa = 0, bb = 0;

	for (size_t i = 0; i < n; i++) {
		ab += a[i] * b[i];
		aa += a[i] * a[i];
		bb += b[i] * b[i];
	}
	return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

double *
sg_embedding_vector(const json_t *v, size_t *n, struct sg_error *e)
{
	double *out;
	json_t *x;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0) {
		sg_seterr(e, "the embedding is not a list of numbers");
		return NULL;
	}
	*n = json_array_size(v);
	out = sg_xmalloc(*n * sizeof *out);
	json_array_foreach (v, i, x) {
		if (!json_is_number(x)) {
			free(out);
			sg_seterr(e, "the embedding is not a list of numbers");
			return NULL;
		}
		out[i] = json_number_value(x);
	}
	return out;
}

void
sg_dispersion_add(struct sg_dispersion *d, const double *v, size_t n)
{
	double norm = 0;

	for (size_t i = 0; i < n; i++)
		norm += v[i] * v[i];
	if (norm <= 0)
		return;
	norm = sqrt(norm);
	if (!d->sum || n != d->dim) {
		/* vectors of another size (another model) start afresh */
		free(d->sum);
		d->sum = sg_xcalloc(n, sizeof *d->sum);
		d->dim = n;
		d->n = 0;
	}
	for (size_t i = 0; i < n; i++)
		d->sum[i] += v[i] / norm;
	d->n++;
}

/* With unit vectors u, the sum over pairs i != j of u_i . u_j is
 * |sum u|^2 - n, so the mean pairwise cosine needs only the sum. */
double
sg_dispersion_value(const struct sg_dispersion *d)
{
	double s2 = 0, n = (double)d->n;

	if (d->n < 2)
		return NAN;
	for (size_t i = 0; i < d->dim; i++)
		s2 += d->sum[i] * d->sum[i];
	return 1 - (s2 - n) / (n * (n - 1));
}

void
sg_dispersion_clear(struct sg_dispersion *d)
{
	free(d->sum);
	memset(d, 0, sizeof *d);
}
