/*
 * evol.c - Evol-Instruct (Xu et al., 2023, "WizardLM"): an instruction is
 * rewritten by one of six operations, five in depth (add constraints,
 * deepen, concretise, add reasoning steps, complicate the input) and one
 * in breadth (a new, rarer instruction of the same domain), and the
 * result is eliminated by the paper's four rules: no information gain
 * over its parent (an LLM judges), a response that apologises in few
 * words, a response of only punctuation and stop words, and an
 * instruction that copies the rewriting prompt's own words.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
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
sg_evol_prompt(int op, const char *instruction)
{
	json_t *s;
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
			"Answer with the #Created Prompt# only.\n"
			"#Given Prompt#:\n%s\n",
			instruction);
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
			"Answer with the #Rewritten Prompt# only.\n"
			"#The Given Prompt#:\n%s\n",
			how[op], instruction);
	out = sg_xstrdup(json_string_value(s));
	json_decref(s);
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
