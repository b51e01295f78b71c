/*
 * job.c - the records of a job in sg-gen: its samples, in the
 * documented field order, and its batch record.  Tool layer, beside
 * record/filter.c: a whole job's failure is reported on stderr here.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "gen/gen-internal.h"

/* What sg-gen's jobs came to, for the status it ends with.  The first
 * error is that of the first sample, in the order written, of the first
 * job with one, however the answers arrive. */
static struct {
	long long asked, generated, content, deferred;
	long long jobs, first_job, first_index;
	int said; /* first was printed */
	char first[sizeof((struct sg_error *)0)->text];
} tally;

void
sg_job_put(const struct sg_job *j, json_t *rec)
{
	sg_filter_put(j->f, rec);
	json_decref(rec);
}

/* The fields every sample of the job shares, in the documented order. */
json_t *
sg_job_sample(const struct sg_job *j, long long index)
{
	const json_t *v;
	json_t *s = json_object();

	json_object_set_new(s, "type", json_string("sample"));
	json_object_set_new(
		s, "id", json_sprintf("%s:%lld:%lld", j->run, j->batch, index));
	json_object_set_new(s, "run", json_string(j->run));
	json_object_set_new(s, "batch", json_integer(j->batch));
	json_object_set_new(s, "index", json_integer(index));
	json_object_set_new(s, "arm", json_string(j->arm));
	json_object_set_new(s, "generator", json_string(j->generator));
	json_object_set(s, "params", j->params);
	json_object_set_new(s, "seed", json_integer(j->seed));
	if ((v = sg_job_row(j, index)))
		json_object_set(s, "row", (json_t *)v);
	if (j->angles && j->angles[index].attributes)
		json_object_set(s, "attributes", j->angles[index].attributes);
	if (j->angles && j->angles[index].subtopic)
		json_object_set(s, "subtopic", j->angles[index].subtopic);
	return s;
}

void
sg_job_data(struct sg_job *j, long long index, json_t *data, json_t *logprobs,
	const char *missed)
{
	json_t *s = sg_job_sample(j, index);

	json_object_set_new(s, "data", data);
	if (logprobs)
		json_object_set_new(s, "logprobs", logprobs);
	if (missed)
		json_object_set_new(s, "label_missed", json_string(missed));
	j->generated++;
	sg_job_put(j, s);
}

void
sg_job_mark(struct sg_job *j, json_t *s, long long index, const char *why,
	enum sg_llm_fault fault)
{
	json_object_set_new(s, "error", json_string(why));
	sg_note("%s: sample %lld: %s", j->where, index, why);
	if (fault == SG_FAULT_NONE) {
		tally.deferred++;
		return;
	}
	json_object_set_new(s, "error_kind",
		json_string(fault == SG_FAULT_CONTENT ? "content"
						      : "infrastructure"));
	if (fault == SG_FAULT_CONTENT) {
		tally.content++;
	} else {
		json_object_set_new(s, "error_scope",
			json_string(
				fault == SG_FAULT_SERVER ? "server" : "arm"));
		if (j->infra++ == 0) {
			j->infra_error = sg_xstrdup(why);
			j->infra_fault = fault;
		}
	}
	if (!*tally.first ||
		(tally.first_job == tally.jobs && index < tally.first_index)) {
		snprintf(tally.first, sizeof tally.first, "%s: sample %lld: %s",
			j->where, index, why);
		tally.first_job = tally.jobs;
		tally.first_index = index;
	}
}

void
sg_job_error(struct sg_job *j, long long index, const char *why,
	enum sg_llm_fault fault)
{
	json_t *s = sg_job_sample(j, index);

	sg_job_mark(j, s, index, why, fault);
	sg_job_put(j, s);
}

/* The whole job failed: every sample says why, once on stderr too. */
void
sg_job_fail(struct sg_job *j, const char *fmt, ...)
{
	struct sg_error why;
	int first = !*tally.first;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why.text, sizeof why.text, fmt, ap);
	va_end(ap);
	if (!sg_gen_opts.quiet) {
		sg_warn("%s: %s", j->where, why.text);
		tally.said |= first;
	}
	sg_filter_fail(j->f, SG_EXIT_DATA);
	for (long long i = 0; i < j->n; i++)
		sg_job_error(j, i, why.text, SG_FAULT_ARM);
}

int
sg_gen_nothing(struct sg_error *e, int *said)
{
	if (tally.asked == 0 || tally.generated > 0 || tally.deferred > 0 ||
		!*tally.first)
		return 0;
	sg_seterr(e, "%s", tally.first);
	*said = tally.said;
	return tally.content ? SG_EXIT_DATA : SG_EXIT_UNAVAILABLE;
}

void
sg_job_batch(const struct sg_job *j)
{
	json_t *b = json_object(), *ctx = json_object_get(j->rec, "context");

	json_object_set_new(b, "type", json_string("batch"));
	json_object_set_new(b, "run", json_string(j->run));
	json_object_set_new(b, "batch", json_integer(j->batch));
	json_object_set_new(b, "arm", json_string(j->arm));
	json_object_set_new(b, "generator", json_string(j->generator));
	json_object_set(b, "params", j->params);
	json_object_set_new(
		b, "context", ctx ? json_incref(ctx) : json_object());
	json_object_set_new(b, "n", json_integer(j->n));
	json_object_set_new(b, "generated", json_integer(j->generated));
	json_object_set_new(b, "errors", json_integer(j->n - j->generated));
	if (j->infra) {
		json_object_set_new(
			b, "infrastructure_errors", json_integer(j->infra));
		json_object_set_new(
			b, "infrastructure_error", json_string(j->infra_error));
		json_object_set_new(b, "error_scope",
			json_string(j->infra_fault == SG_FAULT_SERVER ? "server"
								      : "arm"));
	}
	tally.asked += j->n;
	tally.generated += j->generated;
	tally.jobs++;
	if (strcmp(j->generator, "naive") == 0 ||
		strcmp(j->generator, "rag") == 0 || j->evol || j->sent ||
		j->cached) {
		json_object_set_new(
			b, "prompt_tokens", json_integer(j->prompt_tokens));
		json_object_set_new(b, "completion_tokens",
			json_integer(j->completion_tokens));
		json_object_set_new(b, "cost", json_real(j->cost));
		json_object_set_new(b, "requests", json_integer(j->sent));
		json_object_set_new(b, "cached", json_integer(j->cached));
	}
	if (j->evol)
		json_object_set(b, "evol", j->evol);
	sg_job_put(j, b);
}

int
sg_job_json(const struct sg_job *j)
{
	const char *fmt =
		sg_get_str(json_object_get(j->rec, "context"), "format");

	if (!fmt)
		fmt = sg_get_str(
			json_object_get(j->rec, "recipe"), "output_format");
	return fmt && (strcmp(fmt, "json") == 0 || strcmp(fmt, "jsonl") == 0);
}

void
sg_job_put_at(struct sg_job *j, long long index, json_t *sample)
{
	json_t *next;

	if (!j->pending) {
		j->pending = json_array();
		for (long long i = 0; i < j->n; i++)
			json_array_append_new(j->pending, json_null());
	}
	json_array_set_new(j->pending, (size_t)index, sample);
	while (j->next < j->n && !json_is_null(next = json_array_get(j->pending,
						       (size_t)j->next))) {
		sg_job_put(j, json_incref(next));
		json_array_set_new(j->pending, (size_t)j->next++, json_null());
	}
}

void
sg_job_plan_compact(struct sg_job *j)
{
	const json_t *plan = json_object_get(j->rec, "label_plan"), *v;
	json_t *seen;
	size_t i;

	if (!json_is_array(plan))
		return;
	j->labels = json_array();
	j->nplan = json_array_size(plan);
	j->plan = sg_xmalloc((j->nplan ? j->nplan : 1) * sizeof *j->plan);
	seen = json_object(); /* label -> its index in labels */
	json_array_foreach (plan, i, v) {
		const char *label = json_string_value(v);
		json_t *k = json_object_get(seen, label);

		if (!k) {
			k = json_integer(
				(json_int_t)json_array_size(j->labels));
			json_object_set_new(seen, label, k);
			json_array_append(j->labels, (json_t *)v);
		}
		j->plan[i] = (uint32_t)json_integer_value(k);
	}
	json_decref(seen);
	json_object_del(j->rec, "label_plan");
}

void
sg_job_plan_free(struct sg_job *j)
{
	json_decref(j->labels);
	free(j->plan);
	j->labels = NULL;
	j->plan = NULL;
	j->nplan = 0;
}

const char *
sg_job_label(const struct sg_job *j, long long index)
{
	return j->plan && index >= 0 && (size_t)index < j->nplan
		       ? json_string_value(
				 json_array_get(j->labels, j->plan[index]))
		       : NULL;
}

const json_t *
sg_job_row(const struct sg_job *j, long long index)
{
	return json_array_get(
		json_object_get(j->rec, "row_plan"), (size_t)index);
}
