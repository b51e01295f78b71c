/*
 * diverse.c - what makes each prompt of an LLM arm its own, so a model
 * does not answer near-identical prompts with near-identical samples:
 * attributes the recipe declares, drawn per sample by their weights
 * (DataDreamer's attributed prompts), or, without them, sub-topics the
 * model plans once per run, as the Python system's planning call did,
 * dealt to the samples by their place in the run.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "llm/llm.h"
#include "gen/gen-internal.h"

/* At most this many sub-topics are asked for unless the recipe says: a
 * larger batch takes them in turn, rather than one request whose answer,
 * and the memory it takes, grows with the batch. */
#define MAX_TOPICS 100

/* A value of attribute a drawn by its weights: a list weighs its values
 * alike, a mapping gives each value its weight. */
static const char *
draw(const json_t *a, struct sg_rng *rng)
{
	double total = 0, x;
	const char *k, *last = NULL;
	json_t *w;

	if (json_is_array(a))
		return json_string_value(json_array_get(
			a, sg_rng_below(rng, json_array_size(a))));
	json_object_foreach ((json_t *)a, k, w)
		total += json_number_value(w);
	x = sg_rng_uniform(rng) * total;
	json_object_foreach ((json_t *)a, k, w) {
		if (json_number_value(w) > 0)
			last = k;
		if ((x -= json_number_value(w)) < 0 && json_number_value(w) > 0)
			return k;
	}
	return last;
}

/* How many combinations the attributes have, up to cap. */
static long long
combinations(const json_t *attrs, long long cap)
{
	long long n = 1;
	const char *k;
	json_t *a;

	json_object_foreach ((json_t *)attrs, k, a) {
		n *= (long long)(json_is_array(a) ? json_array_size(a)
						  : json_object_size(a));
		if (n >= cap)
			return cap;
	}
	return n;
}

static int
drawn_before(const struct sg_angle *angles, long long n, const json_t *attrs)
{
	for (long long i = 0; i < n; i++)
		if (json_equal(angles[i].attributes, attrs))
			return 1;
	return 0;
}

/* Each sample's attributes, drawn again (up to 256 times) while an earlier
 * sample of the job has the same. */
static void
draw_attributes(struct sg_job *j, const json_t *attrs)
{
	struct sg_rng rng;
	const char *k;
	json_t *a, *mine;

	for (long long i = 0; i < j->n; i++) {
		sg_rng_seed(&rng, (uint64_t)(j->seed + i) ^ 0x617474727352ULL);
		mine = NULL;
		for (int tries = 0; tries < 256; tries++) {
			json_decref(mine);
			mine = json_object();
			json_object_foreach ((json_t *)attrs, k, a)
				json_object_set_new(
					mine, k, json_string(draw(a, &rng)));
			if (!drawn_before(j->angles, i, mine))
				break;
		}
		j->angles[i].attributes = mine;
	}
}

struct plan {
	struct sg_job *j;
	json_t *topics;
	struct sg_error e;
	enum sg_llm_fault fault;
};

static void
on_topics(void *arg, const struct sg_llm_reply *r)
{
	struct plan *p = arg;
	json_t *v, *x;
	size_t i;

	sg_gen_account(p->j, r, NULL, 1);
	if (r->error) {
		sg_seterr(&p->e, "%s", r->error);
		p->fault = r->fault;
		return;
	}
	if (!(v = sg_naive_parse(r->content, 1, &p->e)))
		return;
	p->topics = json_array();
	json_array_foreach (v, i, x)
		if (json_is_string(x) && *json_string_value(x))
			json_array_append(p->topics, x);
	json_decref(v);
	if (json_array_size(p->topics) == 0)
		sg_seterr(&p->e, "the answer lists no sub-topic");
}

/* The run's sub-topics: one request, the same for every job and arm of
 * the run, so the cache answers it after the first; NULL, e and *fault
 * (SG_FAULT_CONTENT for an answer without them). */
static json_t *
plan_topics(struct sg_job *j, long long k, struct sg_error *e,
	enum sg_llm_fault *fault)
{
	const json_t *recipe = json_object_get(j->rec, "recipe");
	struct plan p = {j, NULL, {""}, SG_FAULT_CONTENT};
	char *task = sg_task_text(recipe, NULL);
	json_t *body;

	/* a few words a sub-topic, and room for a model's preamble */
	body = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:f, s:i, s:I}",
		"model", sg_gen_model(j), "messages", "role", "system",
		"content", "You plan varied synthetic datasets.", "role",
		"user", "content", "", "temperature", 0.7, "seed", 0,
		"max_tokens", (json_int_t)(24 * k + 64));
	json_object_set_new(
		json_array_get(json_object_get(body, "messages"), 1), "content",
		json_sprintf("A synthetic dataset is wanted for this task:\n"
			     "%s\n"
			     "List %lld distinct sub-topics, angles or "
			     "situations for its samples, each in a few "
			     "words, so that every sample can take a "
			     "different one and together they cover the "
			     "task broadly.\n"
			     "Answer with a JSON array of %lld strings only.",
			task, k, k));
	free(task);
	sg_llm_chat(sg_gen_client, body, 0, NULL);
	json_decref(body);
	if (sg_llm_run(sg_gen_client, on_topics, &p, e) < 0)
		sg_die(SG_EXIT_IO, "%s", e->text);
	if (!p.topics) {
		sg_seterr(e, "%s", p.e.text);
		*fault = p.fault;
		return NULL;
	}
	return p.topics;
}

int
sg_gen_angles(struct sg_job *j)
{
	const json_t *recipe = json_object_get(j->rec, "recipe");
	const json_t *attrs = json_object_get(recipe, "attributes");
	long long target = sg_get_int(
		j->rec, "target", sg_get_int(recipe, "num_samples", j->n));
	long long k = sg_get_int(recipe, "subtopics", -1);
	enum sg_llm_fault fault;
	long long at, n;
	struct sg_error e;
	json_t *topics;

	j->angles = sg_xcalloc((size_t)(j->n ? j->n : 1), sizeof *j->angles);
	if (json_object_size(attrs) > 0) {
		draw_attributes(j, attrs);
		/* too few combinations for a batch: sub-topics too */
		if (combinations(attrs, j->n) >= j->n)
			return 0;
	}
	if (k < 0)
		k = target > MAX_TOPICS ? MAX_TOPICS : target;
	if (k == 0)
		return 0;
	/* a batch's samples take distinct ones, as far as that goes */
	if (k < j->n && k < MAX_TOPICS)
		k = j->n < MAX_TOPICS ? j->n : MAX_TOPICS;
	if (!(topics = plan_topics(j, k, &e, &fault))) {
		/* the server or the setup would fail every sample too */
		if (fault != SG_FAULT_CONTENT) {
			for (long long i = 0; i < j->n; i++)
				sg_job_error(j, i, e.text, fault);
			return -1;
		}
		if (!sg_gen_opts.quiet)
			sg_warn("%s: no sub-topics planned: %s", j->where,
				e.text);
		return 0;
	}
	/* the samples' places in the run: a batch's are distinct */
	at = sg_get_int(j->rec, "accepted", 0) +
	     sg_get_int(j->rec, "job", 0) * j->n;
	n = (long long)json_array_size(topics);
	for (long long i = 0; i < j->n; i++)
		j->angles[i].subtopic = json_incref(
			json_array_get(topics, (size_t)((at + i) % n)));
	json_decref(topics);
	return 0;
}

void
sg_angle_copy(struct sg_job *j, long long to, long long from)
{
	struct sg_angle *a;

	if (!j->angles)
		return;
	a = &j->angles[to];
	json_decref(a->attributes);
	json_decref(a->subtopic);
	a->attributes = json_incref(j->angles[from].attributes);
	a->subtopic = json_incref(j->angles[from].subtopic);
}

void
sg_job_angles_free(struct sg_job *j)
{
	for (long long i = 0; j->angles && i < j->n; i++) {
		json_decref(j->angles[i].attributes);
		json_decref(j->angles[i].subtopic);
	}
	free(j->angles);
	j->angles = NULL;
}

char *
sg_job_angle(const struct sg_job *j, long long index)
{
	const json_t *attrs = j->angles ? j->angles[index].attributes : NULL;
	const char *topic = j->angles ? json_string_value(
						j->angles[index].subtopic)
				      : NULL,
		   *k;
	char *out = NULL;
	size_t n = 0;
	json_t *v;
	FILE *fp;

	if (!attrs && !topic)
		return NULL;
	if (!(fp = open_memstream(&out, &n)))
		sg_die(SG_EXIT_IO, "cannot make a prompt: out of memory");
	if (attrs) {
		fputs("Give it these attributes:\n", fp);
		json_object_foreach ((json_t *)attrs, k, v)
			fprintf(fp, "  %s: %s\n", k, json_string_value(v));
	}
	if (topic)
		fprintf(fp, "Its sub-topic: %s\n", topic);
	if (fclose(fp) != 0)
		sg_die(SG_EXIT_IO, "cannot make a prompt: out of memory");
	return out;
}
