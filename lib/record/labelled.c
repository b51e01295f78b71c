/*
 * labelled.c - labelled sets: real examples, each a label and a text, read
 * from label<TAB>text lines or from JSON Lines, as sg-eval tests on them
 * and sg-score weighs batches against a dev set of them.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"

void
sg_labelled_free(struct sg_labelled *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->label[i]);
		free(d->text[i]);
	}
	free(d->label);
	free(d->text);
	*d = (struct sg_labelled){0};
}

void
sg_labelled_add(struct sg_labelled *d, const char *label, const char *text)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 256;
		d->label = sg_xrealloc(d->label, d->cap * sizeof *d->label);
		d->text = sg_xrealloc(d->text, d->cap * sizeof *d->text);
	}
	d->label[d->n] = sg_xstrdup(label);
	d->text[d->n] = sg_xstrdup(text);
	d->n++;
}

char *
sg_label_string(const json_t *v)
{
	if (json_is_string(v))
		return sg_xstrdup(json_string_value(v));
	if (json_is_integer(v) || json_is_boolean(v))
		return json_dumps(v, JSON_ENCODE_ANY);
	return NULL;
}

static int
add_json(struct sg_labelled *d, const char *line, const char *lf,
	const char *tf, struct sg_error *e)
{
	json_error_t je;
	json_t *rec = json_loads(line, JSON_REJECT_DUPLICATES, &je), *item;
	const char *text;
	char *label;

	if (!json_is_object(rec)) {
		sg_seterr(e, "%s", rec ? "not a JSON object" : je.text);
		json_decref(rec);
		return -1;
	}
	/* an sg sample carries the item in "data" */
	item = json_is_object(json_object_get(rec, "data"))
		       ? json_object_get(rec, "data")
		       : rec;
	label = sg_label_string(sg_path(item, lf));
	text = sg_get_str(item, tf);
	if (!label || !text) {
		sg_seterr(e, "no %s \"%s\"", label ? "string" : "label",
			label ? tf : lf);
		free(label);
		json_decref(rec);
		return -1;
	}
	sg_labelled_add(d, label, text);
	free(label);
	json_decref(rec);
	return 0;
}

static int
add_tsv(struct sg_labelled *d, char *line, struct sg_error *e)
{
	char *tab = strchr(line, '\t');

	if (!tab || tab == line) {
		sg_seterr(e, "not a line of label<TAB>text");
		return -1;
	}
	*tab = '\0';
	sg_labelled_add(d, line, tab + 1);
	return 0;
}

int
sg_labelled_load(struct sg_labelled *d, const char *path, const char *lf,
	const char *tf, struct sg_error *e)
{
	struct sg_error le;
	char *buf, *line, *next;
	unsigned long lineno = 0;
	size_t len;
	int json = -1, rc;

	buf = sg_slurp(path, &len, e);
	if (!buf)
		return -1;
	rc = 0;
	for (line = buf; line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (*line && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		if (lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
			line += 3;
		if (!*line)
			continue;
		if (json < 0)
			json = *line == '{';
		rc = json ? add_json(d, line, lf, tf, &le)
			  : add_tsv(d, line, &le);
		if (rc < 0)
			sg_seterr(e, "%s:%lu: %s", path, lineno, le.text);
	}
	free(buf);
	if (rc == 0 && d->n == 0) {
		sg_seterr(e, "%s: no labelled examples", path);
		rc = -1;
	}
	return rc < 0 ? -2 : 0;
}
