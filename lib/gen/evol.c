/*
 * evol.c - Evol-Instruct (Xu et al., 2023, "WizardLM"): an instruction is
 * rewritten by one of six operations, five in depth (add constraints,
 * deepen, concretise, add reasoning steps, complicate the input) and one
 * in breadth (a new, rarer instruction of the same domain), and the
 * result is eliminated by the paper's four rules: no information gain
 * over its parent (an LLM judges), a response that apologises in few
 * words, a response of only punctuation and stop words, and an
 * instruction that copies the rewriting prompt's own words.  The evol arm
 * runs the rounds of each sample as a chain of requests, each answer
 * deciding the next.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "record/record.h"
#include "llm/llm.h"
#include "gen/gen-internal.h"

const char *const sg_evol_ops[SG_EVOL_OPS] = {"constraints", "deepen",
	"concretize", "reasoning", "complicate_input", "breadth"};

static const char *const how[SG_EVOL_OPS] = {
	"Add one more constraint or requirement to it.",
	"If it asks about certain issues, increase the depth and breadth of "
	"the inquiry.",
	"Replace general concepts with more specific ones.",
	"If it can be solved with a few simple steps of thinking, rewrite it "
	"to explicitly ask for multiple-step reasoning.",
	"Add a piece of input data it must work on, such as a table, a code "
	"snippet or a short text, written out in full.",
};

char *
sg_evol_prompt(
	int op, const char *instruction, const char *label, const char *task)
{
	json_t *s,
		*keep = json_sprintf("%s%s%s%s%s",
			task ? "The task it belongs to:\n" : "",
			task ? task : "", label ? "Its label must stay \"" : "",
			label ? label : "", label ? "\".\n" : "");
	char *out;

	if (op == SG_EVOL_OPS - 1)
		s = json_sprintf(
			"I want you to act as a Prompt Creator.\n"
			"Your goal is to draw inspiration from the #Given "
			"Prompt# to create a brand new prompt.\n"
			"This new prompt should belong to the same domain as "
			"the #Given Prompt# but be even more rare.\n"
			"The length and complexity of the #Created Prompt# "
			"should be similar to that of the #Given Prompt#.\n"
			"The #Created Prompt# must be reasonable and must be "
			"understood and responded by humans.\n"
			"'#Given Prompt#', '#Created Prompt#', 'given prompt' "
			"and 'created prompt' are not allowed to appear in "
			"#Created Prompt#.\n"
			"Answer with the #Created Prompt# only.\n%s"
			"#Given Prompt#:\n%s\n",
			json_string_value(keep), instruction);
	else
		s = json_sprintf(
			"I want you to act as a Prompt Rewriter.\n"
			"Your objective is to rewrite a given prompt into a "
			"more complex version to make famous AI systems "
			"(e.g., ChatGPT and GPT4) a bit harder to handle.\n"
			"But the rewritten prompt must be reasonable and must "
			"be understood and responded by humans.\n"
			"You should complicate the given prompt using the "
			"following method:\n%s\n"
			"You should try your best not to make the #Rewritten "
			"Prompt# become verbose; it can only add 10 to 20 "
			"words into #The Given Prompt#.\n"
			"'#The Given Prompt#', '#Rewritten Prompt#', 'given "
			"prompt' and 'rewritten prompt' are not allowed to "
			"appear in #Rewritten Prompt#.\n"
			"Answer with the #Rewritten Prompt# only.\n%s"
			"#The Given Prompt#:\n%s\n",
			how[op], json_string_value(keep), instruction);
	out = sg_xstrdup(json_string_value(s));
	json_decref(s);
	json_decref(keep);
	return out;
}

char *
sg_evol_equal_prompt(const char *a, const char *b)
{
	json_t *s = json_sprintf(
		"Here are two instructions to ChatGPT AI, do you think they "
		"are equal to each other, which meet the following "
		"requirements:\n"
		"1. They have same constraints and requirements.\n"
		"2. They have same depth and breadth of the inquiry.\n"
		"The First Prompt: %s\nThe Second Prompt: %s\n"
		"Your Judgement (just answer: Equal or Not Equal. No need to "
		"explain the reason.):",
		a, b);
	char *out = sg_xstrdup(json_string_value(s));

	json_decref(s);
	return out;
}

/* Case-insensitive substring. */
static int
has(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return 1;
	return 0;
}

const char *
sg_evol_reject_instruction(const char *evolved, const char *judgement)
{
	static const char *const copied[] = {"given prompt", "rewritten prompt",
		"created prompt", "#rewritten prompt#", "#created prompt#"};

	for (size_t i = 0; i < sizeof copied / sizeof *copied; i++)
		if (has(evolved, copied[i]))
			return "copies words of the evolving prompt";
	if (judgement && has(judgement, "equal") &&
		!has(judgement, "not equal"))
		return "no information gain over its parent";
	return NULL;
}

const char *
sg_evol_reject_response(const char *response)
{
	static const char *const stop[] = {"a", "an", "the", "is", "it", "i",
		"to", "of", "and", "or", "in", "on", "this", "that", "yes",
		"no", "ok", "okay"};
	int content = 0;
	char w[32];
	size_t n;

	if (has(response, "sorry") && sg_count_words(response) < 80)
		return "the response apologises in few words";
	for (const char *p = response; *p;) {
		while (*p && !isalnum((unsigned char)*p))
			p++;
		for (n = 0; *p && isalnum((unsigned char)*p); p++)
			if (n < sizeof w - 1)
				w[n++] = (char)tolower((unsigned char)*p);
		w[n] = '\0';
		if (n == 0)
			break;
		content = 1;
		for (size_t i = 0; i < sizeof stop / sizeof *stop; i++)
			if (strcmp(w, stop[i]) == 0)
				content = 0;
		if (content)
			break;
	}
	return content ? NULL
		       : "the response is only punctuation and stop words";
}

/* One sample of the evol arm: a chain of requests per round, evolve,
 * judge, respond, each answer deciding the next request.  The texts kept
 * in the sample, the evolved instruction and (in JSON) its response, keep
 * their tokens' log-probabilities when the recipe asks for them. */
enum { EVOLVE, JUDGE, RESPOND };
struct evo {
	struct sg_job *j;
	long long index, step;
	int stage, round, rounds, op;
	char *parent, *child, *response;
	char *task;    /* the task and the sample's angle, for each rewrite */
	json_t *trail; /* per round: op, kept, why */
	json_t *body;  /* the request in flight */
	struct sg_logprobs parent_lp, child_lp, response_lp, answer_lp;
	struct sg_rng rng;
};

static void
evo_send(struct evo *v)
{
	sg_llm_chat(sg_gen_client, v->body, v->index << 16 | v->step++, v);
}

static void
evo_ask(struct evo *v, const char *prompt, double temperature, int logprobs)
{
	json_decref(v->body);
	v->body = json_pack("{s:s, s:[{s:s, s:s}], s:f, s:I}", "model",
		sg_gen_model(v->j), "messages", "role", "user", "content",
		prompt, "temperature", temperature, "seed",
		(json_int_t)(v->j->seed + v->index));
	if (logprobs)
		sg_gen_ask_logprobs(v->j, v->body);
	evo_send(v);
}

/* The operation of a round: by the job's "evol_weights", else uniform. */
static int
evo_op(struct evo *v)
{
	json_t *w = json_object_get(v->j->params, "evol_weights");
	double total = 0, x;
	int i;

	for (i = 0; i < SG_EVOL_OPS; i++)
		total += sg_get_num(w, sg_evol_ops[i], 1);
	x = sg_rng_uniform(&v->rng) * total;
	for (i = 0; i < SG_EVOL_OPS - 1; i++)
		if ((x -= sg_get_num(w, sg_evol_ops[i], 1)) < 0)
			break;
	return i;
}

static void
evo_round(struct evo *v)
{
	char *p;

	v->op = evo_op(v);
	v->stage = EVOLVE;
	p = sg_evol_prompt(
		v->op, v->parent, sg_job_label(v->j, v->index), v->task);
	evo_ask(v, p, sg_get_num(v->j->params, "temperature", 0.7), 1);
	free(p);
}

static void
evo_done(struct evo *v, const char *error, enum sg_llm_fault fault)
{
	struct sg_job *j = v->j;
	json_t *s = sg_job_sample(j, v->index);
	const char *label;

	json_object_set_new(
		s, "provenance", json_pack("{s:o}", "rounds", v->trail));
	if (error) {
		sg_job_mark(j, s, v->index, error, fault);
	} else if (!v->response) {
		sg_job_mark(j, s, v->index, "every evolution was eliminated",
			SG_FAULT_CONTENT);
	} else {
		json_object_set_new(s, "data",
			sg_job_json(j)
				? json_pack("{s:s, s:s}", "instruction",
					  v->parent, "output", v->response)
				: json_string(v->parent));
		/* the label its evolutions were asked to keep */
		if (sg_job_json(j) && (label = sg_job_label(j, v->index)))
			json_object_set_new(json_object_get(s, "data"),
				j->mix.field, json_string(label));
		if (sg_job_json(j)) {
			v->parent_lp.sum += v->response_lp.sum;
			v->parent_lp.tokens += v->response_lp.tokens;
		}
		if (v->parent_lp.tokens)
			json_object_set_new(
				s, "logprobs", sg_logprobs_json(&v->parent_lp));
		j->generated++;
	}
	sg_job_put_at(j, v->index, s);
	sg_gen_progress(j);
	json_decref(v->body);
	free(v->parent);
	free(v->child);
	free(v->response);
	free(v->task);
	free(v);
}

/* A round ends: why is NULL when the evolved instruction is kept. */
static void
evo_end_round(struct evo *v, const char *why, const char *response)
{
	json_t *ops = json_object_get(v->j->evol, sg_evol_ops[v->op]);

	json_array_append_new(v->trail,
		json_pack("{s:s, s:b, s:s*}", "op", sg_evol_ops[v->op], "kept",
			why == NULL, "why", why));
	json_object_set_new(
		ops, "tried", json_integer(sg_get_int(ops, "tried", 0) + 1));
	json_object_set_new(ops, "kept",
		json_integer(sg_get_int(ops, "kept", 0) + (why == NULL)));
	if (!why) {
		free(v->parent);
		v->parent = v->child;
		v->child = NULL;
		v->parent_lp = v->child_lp;
		free(v->response);
		v->response = sg_xstrdup(response);
		v->response_lp = v->answer_lp;
	}
	if (++v->round < v->rounds)
		evo_round(v);
	else
		evo_done(v, NULL, SG_FAULT_NONE);
}

static void
on_evol(void *arg, const struct sg_llm_reply *r)
{
	struct evo *v = r->ctx;
	const char *why;
	char *p;

	(void)arg;
	sg_gen_account(v->j, r, NULL, 1);
	if (sg_gen_refused(r, v->body, "logprobs", &sg_gen_no_logprobs)) {
		evo_send(v);
		return;
	}
	if (r->error) {
		evo_done(v, r->error, r->fault);
		return;
	}
	switch (v->stage) {
	case EVOLVE:
		free(v->child);
		v->child = sg_xstrdup(r->content);
		v->child_lp = (struct sg_logprobs){0, 0};
		sg_logprobs_add(&v->child_lp, r->response, 0);
		if ((why = sg_evol_reject_instruction(v->child, NULL))) {
			evo_end_round(v, why, NULL);
			return;
		}
		v->stage = JUDGE;
		p = sg_evol_equal_prompt(v->parent, v->child);
		evo_ask(v, p, 0, 0);
		free(p);
		return;
	case JUDGE:
		if ((why = sg_evol_reject_instruction(v->child, r->content))) {
			evo_end_round(v, why, NULL);
			return;
		}
		v->stage = RESPOND;
		/* the response is in the sample only as JSON's "output" */
		evo_ask(v, v->child,
			sg_get_num(v->j->params, "temperature", 0.7),
			sg_job_json(v->j));
		return;
	default:
		v->answer_lp = (struct sg_logprobs){0, 0};
		sg_logprobs_add(&v->answer_lp, r->response, 0);
		evo_end_round(
			v, sg_evol_reject_response(r->content), r->content);
	}
}

/* The instruction sample index starts from: its row's original input,
 * a seed example of its planned label, else any (its rewrites are asked
 * to keep the label), or the recipe's input or description. */
static char *
evo_seed(const struct sg_job *j, long long index, struct sg_rng *rng)
{
	const json_t *recipe = json_object_get(j->rec, "recipe"), *e;
	static const char *const keys[] = {
		"instruction", "prompt", "question", "text"};
	const json_t *ti = sg_path(recipe, "task_input");
	const char *d = sg_get_str(sg_job_row(j, index), "original_input");
	char buf[1024];
	size_t k;

	if (d)
		return sg_xstrdup(d);
	if (json_is_string(ti))
		return sg_xstrdup(json_string_value(ti));
	e = sg_gen_example(recipe, &j->mix, sg_job_label(j, index), rng, &k);
	if (!e)
		e = sg_gen_example(recipe, &j->mix, NULL, rng, &k);
	if (e) {
		if (json_is_string(e))
			return sg_xstrdup(json_string_value(e));
		for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
			if ((d = sg_get_str(e, keys[i])))
				return sg_xstrdup(d);
	}
	d = sg_get_str(ti, "description");
	snprintf(buf, sizeof buf, "Write a task about %s.",
		d ? d : sg_get_str(recipe, "domain"));
	return sg_xstrdup(buf);
}

/* What a rewrite of sample index is told of the task: the recipe's, the
 * row's and the sample's angle. */
static char *
evo_task(const struct sg_job *j, long long index)
{
	char *task = sg_task_text(
		     json_object_get(j->rec, "recipe"), sg_job_row(j, index)),
	     *angle = sg_job_angle(j, index), *out;
	size_t n = strlen(task) + (angle ? strlen(angle) : 0) + 1;

	out = sg_xmalloc(n);
	snprintf(out, n, "%s%s", task, angle ? angle : "");
	free(task);
	free(angle);
	return out;
}

void
sg_gen_evol(struct sg_job *j)
{
	long long rounds = sg_get_int(j->params, "rounds", 2);
	struct sg_error e;
	struct evo *v;

	if (!sg_gen_llm(&e)) {
		sg_job_fail(j, "%s", e.text);
		return;
	}
	if (rounds < 1 || rounds > 8) {
		sg_job_fail(
			j, "params \"rounds\" is not an integer from 1 to 8");
		return;
	}
	if (sg_gen_angles(j) < 0)
		return;
	j->evol = json_object();
	for (int i = 0; i < SG_EVOL_OPS; i++)
		json_object_set_new(j->evol, sg_evol_ops[i], json_object());
	for (long long i = 0; i < j->n; i++) {
		v = sg_xmalloc(sizeof *v);
		memset(v, 0, sizeof *v);
		v->j = j;
		v->index = i;
		v->rounds = (int)rounds;
		v->trail = json_array();
		sg_rng_seed(&v->rng, (uint64_t)(j->seed + i));
		v->parent = evo_seed(j, i, &v->rng);
		v->task = evo_task(j, i);
		evo_round(v);
	}
	if (sg_llm_run(sg_gen_client, on_evol, NULL, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
}
