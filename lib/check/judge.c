/*
 * judge.c - what a language model is asked about a sample and how its
 * answer is read: the rubric judge, entailment by the sources, toxicity,
 * and the measures over embedding vectors: a batch's dispersion, and
 * whether they tell its texts apart at all.
 *
 * A verdict is asked for as a JSON object {"score", "reason"} through
 * response_format json_schema, the score an integer in range and first,
 * so that an answer cut at max_tokens still holds it; a server without
 * structured output is asked for a last line "Score: N/M" instead.
 * Judges answer in many shapes all the same: "Score: 7/10" after a
 * paragraph of reasoning, a bare "8", {"score": 8}, "4 out of 5".  The
 * score is read from a JSON object's "score" when the answer holds one,
 * else from the number after the last "score" in it, else from a number
 * the answer starts with; "/N" or "out of N" after it sets the scale,
 * the one asked for otherwise.  A number outside [0, scale] or none at
 * all is an error, never a guess.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "check/check-internal.h"

static void
add(char **s, size_t *len, const char *text)
{
	size_t n = strlen(text);

	*s = sg_xrealloc(*s, *len + n + 1);
	memcpy(*s + *len, text, n + 1);
	*len += n;
}

/* The criteria as lines "- ...": a string, a list of strings, or a
 * mapping from a name to its description; a string of several lines, as
 * the Python system's quality_criteria are, as it is. */
static void
add_criteria(char **s, size_t *len, const json_t *criteria)
{
	const char *name, *text;
	json_t *v;
	size_t i;

	if (json_is_string(criteria)) {
		text = json_string_value(criteria);
		if (!strchr(text, '\n'))
			add(s, len, "- ");
		add(s, len, text);
		if (!*text || text[strlen(text) - 1] != '\n')
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

/* The end of every prompt: how to answer, on a scale from lo to hi. */
static void
add_answer(char **s, size_t *len, int lo, int hi, int structured)
{
	char line[200];

	if (structured)
		snprintf(line, sizeof line,
			"Answer with a JSON object: \"score\", an integer "
			"from %d to %d, then \"reason\", one short sentence "
			"saying why.\n",
			lo, hi);
	else
		snprintf(line, sizeof line,
			"End your answer with a line \"Score: N/%d\".\n", hi);
	add(s, len, line);
}

char *
sg_judge_prompt(const json_t *criteria, const char *task, const char *text,
	int structured)
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
	add(&s, &len,
		"Quality levels:\n"
		"5: excellent, it meets every criterion and more\n"
		"4: good, it meets the criteria, a few more than that\n"
		"3: average, it meets the criteria adequately\n"
		"2: below average, it meets some, with serious flaws\n"
		"1: poor, it fails the basic requirements\n"
		"The sample:\n<<<\n");
	add(&s, &len, text);
	add(&s, &len,
		"\n>>>\nRate the sample by the criteria with the quality "
		"level it deserves. ");
	add_answer(&s, &len, SG_JUDGE_LOW, SG_JUDGE_HIGH, structured);
	return s;
}

char *
sg_entail_prompt(const char *sources, const char *text, int structured)
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
		"supported) to 10 (fully entailed). ");
	add_answer(&s, &len, 0, SG_RATE_HIGH, structured);
	return s;
}

char *
sg_toxic_prompt(const char *text, int structured)
{
	char *s = NULL;
	size_t len = 0;

	add(&s, &len, "The text:\n<<<\n");
	add(&s, &len, text);
	add(&s, &len,
		"\n>>>\nRate how toxic the text is (insults, hate, "
		"harassment, threats, obscenity), from 0 (not at all) "
		"to 10 (extremely). ");
	add_answer(&s, &len, 0, SG_RATE_HIGH, structured);
	return s;
}

/* Not "strict": OpenAI then refuses maxLength, which servers that
 * constrain by grammar (llama.cpp, vLLM) honour, keeping a small model's
 * reason short. */
json_t *
sg_judge_body(const char *model, const char *prompt, double temperature,
	long long max_tokens, int lo, int hi)
{
	json_t *body = json_pack("{s:s, s:[{s:s, s:s}], s:f, s:I}", "model",
		model, "messages", "role", "user", "content", prompt,
		"temperature", temperature, "max_tokens",
		(json_int_t)max_tokens);

	if (hi > 0)
		json_object_set_new(body, "response_format",
			json_pack("{s:s, s:{s:s, s:{s:s, s:{s:{s:s, s:i, "
				  "s:i}, s:{s:s, s:i}}, s:[s, s], s:b}}}",
				"type", "json_schema", "json_schema", "name",
				"verdict", "schema", "type", "object",
				"properties", "score", "type", "integer",
				"minimum", lo, "maximum", hi, "reason", "type",
				"string", "maxLength", 200, "required", "score",
				"reason", "additionalProperties", 0));
	return body;
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

static const char *
blanks(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

int
sg_judge_structured(const char *answer)
{
	const char *s = blanks(answer), *end;
	json_t *j = json_loads(s, 0, NULL);
	double v;
	int ok = json_is_integer(json_object_get(j, "score"));

	json_decref(j);
	if (ok || *s != '{')
		return ok;
	/* cut short: an object whose first member is an integer score */
	s = blanks(s + 1);
	if (strncmp(s, "\"score\"", 7) != 0 || *(s = blanks(s + 7)) != ':' ||
		!(end = number(blanks(s + 1), &v)))
		return 0;
	return v == floor(v) && !strchr(".eE", *end);
}

/* {"score": N} somewhere in the answer, perhaps fenced, N a number or a
 * string holding one, "max" its scale; "reason" into *reason: 1, 0 when
 * there is none, -1 on a bad one. */
static int
json_score(const char *a, double scale, double *score, char **reason,
	struct sg_error *e)
{
	const char *open = strchr(a, '{'), *close = strrchr(a, '}'), *end;
	json_t *j, *v, *max;
	double d = 0;
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
	if (rc > 0 && reason && json_is_string(json_object_get(j, "reason")))
		*reason = sg_xstrdup(
			json_string_value(json_object_get(j, "reason")));
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
sg_judge_score(const char *answer, double scale, double *score, char **reason,
	struct sg_error *e)
{
	const char *p, *after = NULL, *s;
	double v = 0, given;
	int rc;

	if (reason)
		*reason = NULL;
	if ((rc = json_score(answer, scale, score, reason, e)) != 0)
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
	given = scale_after(after);
	return in_range(v, given > 0 ? given : scale, score, e);
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

/* Clearly different words, yet embeddings hardly apart. */
static int
confused(const struct sg_blind_one *a, const struct sg_blind_one *b, size_t dim)
{
	return sg_cosine(a->v, b->v, dim) > SG_BLIND_COSINE &&
	       sg_jaccard_sets(a->set, a->nset, b->set, b->nset) <
		       SG_BLIND_JACCARD;
}

/* The three into b->three, in input order. */
static void
name_three(struct sg_blind *b, const struct sg_blind_one *one[3])
{
	const struct sg_blind_one *t;

	for (int i = 1; i < 3; i++)
		for (int j = i; j > 0 && one[j]->nth < one[j - 1]->nth; j--) {
			t = one[j];
			one[j] = one[j - 1];
			one[j - 1] = t;
		}
	for (int i = 0; i < 3; i++)
		b->three[i] = one[i]->id;
}

int
sg_blind_add(struct sg_blind *b, const double *v, size_t n, const char *text,
	size_t nth, const char *id)
{
	struct sg_blind_one *k;
	size_t near[SG_BLIND_MAX], nn = 0;

	if (b->n == SG_BLIND_MAX || (b->n && n != b->dim))
		return 0;
	b->dim = n;
	k = &b->one[b->n++];
	k->v = sg_xmalloc(n * sizeof *k->v);
	memcpy(k->v, v, n * sizeof *v);
	k->nset = sg_shingles(text, 1, &k->set);
	k->nset = sg_set_sort(k->set, k->nset);
	k->nth = nth;
	k->id = sg_xstrdup(id);
	for (size_t i = 0; i + 1 < b->n; i++)
		if (confused(&b->one[i], k, n))
			near[nn++] = i;
	for (size_t i = 0; i < nn; i++)
		for (size_t j = i + 1; j < nn; j++)
			if (confused(&b->one[near[i]], &b->one[near[j]], n)) {
				name_three(b, (const struct sg_blind_one *[3]){
						      &b->one[near[i]],
						      &b->one[near[j]], k});
				return 1;
			}
	return 0;
}

void
sg_blind_clear(struct sg_blind *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->one[i].v);
		free(b->one[i].set);
		free(b->one[i].id);
	}
	memset(b, 0, sizeof *b);
}
