/*
 * prompt.c - what the LLM arms (naive, rag, evol) tell a model of the
 * task: the recipe's domain and task, every field of its task_input (a
 * batch input's file and columns replaced by the sample's row) and its
 * constraints, as readable lines, nested mappings and lists indented.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "gen/gen-internal.h"

/* The fields that name a batch input's file and columns: the row holds
 * what they point at. */
static const char *const plumbing[] = {"input_file", "input_column",
	"output_column", "dataset_path", "dataset_fields"};

/* Constraints that are a check's threshold or model, or go to the model
 * another way (schema as a JSON Schema): nothing the sample is written to. */
static const char *const checks_own[] = {"schema", "min_diversity",
	"max_repetition_rate", "semantic_similarity", "semantic_similarity_min",
	"semantic_similarity_max", "similarity_threshold", "quality_threshold",
	"uniqueness_threshold", "embedding_model"};

/* "target_audience" as "Target audience". */
static void
put_key(FILE *fp, const char *key)
{
	for (const char *p = key; *p; p++)
		fputc(p == key	    ? toupper((unsigned char)*p)
			: *p == '_' ? ' '
				    : *p,
			fp);
}

static int
scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

static void
put_scalar(FILE *fp, const json_t *v)
{
	char *s;

	if (json_is_string(v))
		fputs(json_string_value(v), fp);
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "yes" : "no", fp);
	else {
		s = sg_dumps(v);
		fputs(s, fp);
		free(s);
	}
}

/* Whether v fits on one line: a scalar, or a list or mapping of them. */
static int
flat(const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			if (!scalar(x))
				return 0;
	} else if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, x)
			if (!scalar(x))
				return 0;
	}
	return 1;
}

static void put_value(FILE *fp, const json_t *v, int indent);

/* One "Key: value" line, or "Key:" and the value's lines below it. */
static void
put_field(FILE *fp, const char *key, const json_t *v, int indent)
{
	fprintf(fp, "%*s", indent, "");
	put_key(fp, key);
	fputc(':', fp);
	if (flat(v))
		fputc(' ', fp);
	else
		fputc('\n', fp);
	put_value(fp, v, indent + 2);
}

/* A value: a scalar, a flat list "a, b, c", a flat mapping "k v, k v",
 * else a line per item or field. */
static void
put_value(FILE *fp, const json_t *v, int indent)
{
	const char *k;
	json_t *x;
	size_t i;

	if (scalar(v)) {
		put_scalar(fp, v);
		fputc('\n', fp);
	} else if (flat(v) && json_is_array(v)) {
		json_array_foreach (v, i, x) {
			fputs(i ? ", " : "", fp);
			put_scalar(fp, x);
		}
		fputc('\n', fp);
	} else if (flat(v)) {
		i = 0;
		json_object_foreach ((json_t *)v, k, x) {
			fputs(i++ ? ", " : "", fp);
			fprintf(fp, "%s ", k);
			put_scalar(fp, x);
		}
		fputc('\n', fp);
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, x) {
			fprintf(fp, "%*s- ", indent, "");
			if (scalar(x) || flat(x))
				put_value(fp, x, indent + 2);
			else {
				fputc('\n', fp);
				put_value(fp, x, indent + 2);
			}
		}
	} else {
		json_object_foreach ((json_t *)v, k, x)
			if (!json_is_null(x))
				put_field(fp, k, x, indent);
	}
}

/* The fields of obj but the skipped ones, each as put_field writes it. */
static void
put_fields(FILE *fp, const json_t *obj, const char *const *skip, size_t nskip)
{
	const char *k;
	json_t *v;

	json_object_foreach ((json_t *)obj, k, v)
		if (!json_is_null(v) && !sg_among(k, skip, nskip) &&
			strcmp(k, "examples") != 0)
			put_field(fp, k, v, 0);
}

char *
sg_task_text(const json_t *recipe, const json_t *row)
{
	const json_t *ti = json_object_get(recipe, "task_input");
	const json_t *cons = json_object_get(recipe, "constraints");
	const json_t *ex = json_object_get(ti, "examples"), *v;
	static const char *const row_own[] = {
		"index", "line", "columns", "input_column"};
	const char *s, *k;
	char *out = NULL;
	size_t n = 0, i;
	FILE *fp = open_memstream(&out, &n);
	int any = 0;

	if (!fp)
		sg_die(SG_EXIT_IO, "cannot make a prompt: out of memory");
	fprintf(fp, "Domain: %s\n", sg_get_str(recipe, "domain"));
	if ((s = sg_get_str(recipe, "task")))
		fprintf(fp, "Task: %s\n", s);
	if (json_is_string(ti))
		fprintf(fp, "Input: %s\n", json_string_value(ti));
	else if (json_is_object(ti))
		put_fields(
			fp, ti, plumbing, sizeof plumbing / sizeof *plumbing);
	if (json_is_object(row))
		put_fields(fp, row, row_own, sizeof row_own / sizeof *row_own);
	json_object_foreach ((json_t *)cons, k, v)
		if (!json_is_null(v) &&
			!sg_among(k, checks_own,
				sizeof checks_own / sizeof *checks_own)) {
			if (!any++)
				fputs("Requirements:\n", fp);
			put_field(fp, k, v, 2);
		}
	if (json_is_array(ex) && json_array_size(ex) > 0) {
		fputs("Examples of the kind wanted (do not copy them):\n", fp);
		json_array_foreach (ex, i, v) {
			fputs("- ", fp);
			if (scalar(v))
				put_value(fp, v, 2);
			else {
				char *txt = sg_dumps(v);

				fprintf(fp, "%s\n", txt);
				free(txt);
			}
		}
	}
	if (fclose(fp) != 0)
		sg_die(SG_EXIT_IO, "cannot make a prompt: out of memory");
	return out;
}
