/*
 * rows.c - a recipe's batch input: the rows of a CSV file (RFC 4180 by
 * libcsv, a header line naming the columns) or of JSON Lines, and the
 * rows samples are planned on, shaped as the Python system shaped a row's
 * task_input: the input column as original_input, the output column as
 * expected_output, or the dataset_fields by their names.
 */
#include <csv.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"

struct csvread {
	json_t *header; /* names, from the first record */
	json_t *fields; /* of the record being read */
	json_t *rows;
	long long line, start; /* the line read, the record's first */
	char why[200];
};

static void
on_field(void *s, size_t len, void *arg)
{
	struct csvread *r = arg;

	if (json_array_size(r->fields) == 0)
		r->start = r->line;
	json_array_append_new(r->fields, json_stringn(s ? s : "", len));
}

static void
on_record(int c, void *arg)
{
	struct csvread *r = arg;
	json_t *cols, *v;
	size_t i;

	(void)c;
	if (*r->why)
		goto done;
	if (!r->header) {
		json_array_foreach (r->fields, i, v)
			if (!json_string_value(v) || !*json_string_value(v))
				snprintf(r->why, sizeof r->why,
					"%lld: column %zu of the header has "
					"no name (or is not UTF-8)",
					r->start, i + 1);
		r->header = json_copy(r->fields);
		goto done;
	}
	if (json_array_size(r->fields) != json_array_size(r->header)) {
		snprintf(r->why, sizeof r->why,
			"%lld: not CSV: %zu fields where the header has %zu",
			r->start, json_array_size(r->fields),
			json_array_size(r->header));
		goto done;
	}
	cols = json_object();
	json_array_foreach (r->fields, i, v) {
		if (!json_string_value(v)) {
			snprintf(r->why, sizeof r->why,
				"%lld: field %zu is not UTF-8", r->start,
				i + 1);
			json_decref(cols);
			goto done;
		}
		json_object_set(cols,
			json_string_value(json_array_get(r->header, i)), v);
	}
	json_array_append_new(
		r->rows, json_pack("{s:I, s:o}", "line", (json_int_t)r->start,
				 "columns", cols));
done:
	json_array_clear(r->fields);
}

static json_t *
read_csv(const char *src, size_t len, json_t **columns, struct sg_error *e)
{
	struct csvread r = {NULL, json_array(), json_array(), 0, 0, ""};
	struct csv_parser p;
	const char *at = src, *nl;
	size_t n;

	if (memchr(src, '\0', len)) {
		sg_seterr(e, "a NUL byte: not text");
		goto fail;
	}
	csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
	/* a line at a time, so a record knows the line it starts on */
	while (at < src + len && !*r.why) {
		nl = memchr(at, '\n', (size_t)(src + len - at));
		n = nl ? (size_t)(nl - at) + 1 : (size_t)(src + len - at);
		r.line++;
		if (csv_parse(&p, at, n, on_field, on_record, &r) != n) {
			snprintf(r.why, sizeof r.why, "%lld: not CSV: %s",
				r.line, csv_strerror(csv_error(&p)));
			break;
		}
		at += n;
	}
	if (!*r.why && csv_fini(&p, on_field, on_record, &r) != 0)
		snprintf(r.why, sizeof r.why, "%lld: not CSV: %s", r.line,
			csv_strerror(csv_error(&p)));
	csv_free(&p);
	if (*r.why)
		sg_seterr(e, "%s", r.why);
	else if (!r.header)
		sg_seterr(e, "no header line");
	if (*r.why || !r.header)
		goto fail;
	if (columns)
		*columns = json_incref(r.header);
	json_decref(r.header);
	json_decref(r.fields);
	return r.rows;
fail:
	json_decref(r.header);
	json_decref(r.fields);
	json_decref(r.rows);
	return NULL;
}

static json_t *
read_jsonl(const char *src, size_t len, json_t **columns, struct sg_error *e)
{
	json_t *rows = json_array(), *v;
	json_error_t je;
	const char *at = src, *nl;
	long long line = 0;
	size_t n;

	for (; at < src + len; at += n) {
		nl = memchr(at, '\n', (size_t)(src + len - at));
		n = nl ? (size_t)(nl - at) + 1 : (size_t)(src + len - at);
		line++;
		if (strspn(at, " \t\r\n") >= n)
			continue;
		v = json_loadb(at, n, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(v)) {
			sg_seterr(e, "%lld: %s", line,
				v ? "not a JSON object" : je.text);
			json_decref(v);
			json_decref(rows);
			return NULL;
		}
		json_array_append_new(
			rows, json_pack("{s:I, s:o}", "line", (json_int_t)line,
				      "columns", v));
	}
	if (columns) {
		const char *k;

		*columns = json_array();
		json_object_foreach (
			sg_path(json_array_get(rows, 0), "columns"), k, v)
			json_array_append_new(*columns, json_string(k));
	}
	return rows;
}

static int
jsonl_name(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot &&
	       (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0);
}

json_t *
sg_rows_read(const char *path, json_t **columns, struct sg_error *e)
{
	struct sg_error why;
	size_t len;
	char *src = sg_slurp(path, &len, e);
	json_t *rows;

	if (!src)
		return NULL;
	rows = jsonl_name(path) ? read_jsonl(src, len, columns, &why)
				: read_csv(src, len, columns, &why);
	free(src);
	if (!rows)
		sg_seterr(e, "%s:%s%s", path,
			why.text[0] >= '0' && why.text[0] <= '9' ? "" : " ",
			why.text);
	else if (json_array_size(rows) == 0) {
		sg_seterr(e, "%s: no rows", path);
		json_decref(rows);
		rows = NULL;
	}
	return rows;
}

/* Row k's value of column, as a string: CSV's are; JSON Lines' others
 * as their JSON text. */
static json_t *
cell(const json_t *row, const char *column)
{
	const json_t *v =
		json_object_get(json_object_get(row, "columns"), column);
	char *s;
	json_t *out;

	if (!v || json_is_string(v))
		return v ? json_incref((json_t *)v) : json_null();
	s = sg_dumps(v);
	out = json_string(s);
	free(s);
	return out;
}

json_t *
sg_recipe_rows(
	const json_t *recipe, const char *recipe_path, struct sg_error *e)
{
	const json_t *ti = json_object_get(recipe, "task_input");
	const char *file = sg_get_str(ti, "input_file");
	const char *in = sg_get_str(ti, "input_column");
	const char *out = sg_get_str(ti, "output_column");
	const json_t *fields = json_object_get(ti, "dataset_fields"), *v, *r;
	const char *k;
	json_t *rows, *planned;
	char *path;
	size_t i;

	e->text[0] = '\0';
	if (!file && !(file = sg_get_str(ti, "dataset_path")))
		return NULL;
	path = sg_recipe_relative(recipe_path, file);
	rows = sg_rows_read(path, NULL, e);
	free(path);
	if (!rows)
		return NULL;
	planned = json_array();
	json_array_foreach (rows, i, r) {
		json_t *p = json_pack("{s:I, s:O, s:O}", "index", (json_int_t)i,
			"line", json_object_get(r, "line"), "columns",
			json_object_get(r, "columns"));

		if (sg_get_str(ti, "input_file")) {
			json_object_set_new(p, "input_column", json_string(in));
			json_object_set_new(p, "original_input", cell(r, in));
			if (out)
				json_object_set_new(
					p, "expected_output", cell(r, out));
		} else if (json_is_object(fields)) {
			json_object_foreach ((json_t *)fields, k, v)
				if (json_is_string(v))
					json_object_set_new(p, k,
						cell(r, json_string_value(v)));
		} else {
			json_object_foreach (
				json_object_get(r, "columns"), k, v)
				json_object_set_new(p, k, cell(r, k));
		}
		json_array_append_new(planned, p);
	}
	json_decref(rows);
	return planned;
}
