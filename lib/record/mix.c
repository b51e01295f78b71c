/*
 * mix.c - the label mix a recipe asks for (task_input.labels and
 * label_distribution) and the labels sg-plan gives a job's samples to
 * keep the accepted ones in it: each label's deficit against its share,
 * apportioned by largest remainder.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"

static size_t
find(const struct sg_mix *m, const char *label)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->label[i], label) == 0)
			break;
	return i;
}

static void
add(struct sg_mix *m, char *label, double weight)
{
	size_t i = find(m, label);

	if (i < m->n) {
		free(label);
		m->share[i] = weight;
		return;
	}
	m->label = sg_xrealloc(m->label, (m->n + 1) * sizeof *m->label);
	m->share = sg_xrealloc(m->share, (m->n + 1) * sizeof *m->share);
	m->label[m->n] = label;
	m->share[m->n++] = weight;
}

int
sg_mix_init(struct sg_mix *m, const json_t *recipe)
{
	const json_t *ti = json_object_get(recipe, "task_input");
	const json_t *dist = json_object_get(ti, "label_distribution");
	const char *field = sg_get_str(
		json_object_get(recipe, "evaluation"), "label_field");
	json_t *v;
	const char *k;
	double total = 0;
	char *s;
	size_t i;

	*m = (struct sg_mix){.field = field ? field : "label"};
	json_array_foreach (json_object_get(ti, "labels"), i, v)
		if ((s = sg_label_string(v)))
			add(m, s, 0);
	json_object_foreach ((json_t *)dist, k, v)
		if (json_is_number(v) && json_number_value(v) >= 0)
			add(m, sg_xstrdup(k), json_number_value(v));
	for (i = 0; i < m->n; i++)
		total += m->share[i];
	/* without weights, every label its equal share */
	for (i = 0; i < m->n; i++)
		m->share[i] =
			total > 0 ? m->share[i] / total : 1.0 / (double)m->n;
	return m->n > 0;
}

void
sg_mix_free(struct sg_mix *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->label[i]);
	free(m->label);
	free(m->share);
	*m = (struct sg_mix){0};
}

char *
sg_mix_label(const struct sg_mix *m, const json_t *data)
{
	return json_is_object(data) ? sg_label_string(sg_path(data, m->field))
				    : NULL;
}

json_t *
sg_mix_plan(const struct sg_mix *m, const json_t *counts, long long n)
{
	double *quota = sg_xcalloc(m->n, sizeof *quota), all = (double)n;
	double sum = 0, best;
	long long *take = sg_xcalloc(m->n, sizeof *take), left = n;
	json_t *plan = json_array(), *v;
	const char *k;
	size_t i, pick;

	json_object_foreach ((json_t *)counts, k, v)
		all += (double)json_integer_value(v);
	/* what each label lacks of its share once the n are in; labels
	 * over their share lack nothing */
	for (i = 0; i < m->n; i++) {
		quota[i] =
			fmax(0, m->share[i] * all - (double)sg_get_int(counts,
							    m->label[i], 0));
		sum += quota[i];
	}
	for (i = 0; i < m->n; i++) {
		quota[i] = sum > 0 ? quota[i] * (double)n / sum
				   : m->share[i] * (double)n;
		take[i] = (long long)floor(quota[i]);
		left -= take[i];
	}
	/* the rest one each to the largest remainders, the first on ties */
	while (m->n > 0 && left-- > 0) {
		best = -1;
		pick = 0;
		for (i = 0; i < m->n; i++)
			if (quota[i] - (double)take[i] > best) {
				best = quota[i] - (double)take[i];
				pick = i;
			}
		take[pick]++;
		quota[pick] = (double)take[pick];
	}
	for (i = 0; i < m->n; i++)
		for (long long j = 0; j < take[i]; j++)
			json_array_append_new(plan, json_string(m->label[i]));
	free(quota);
	free(take);
	return plan;
}
