/*
 * sg-export - write samples as a fine-tuning dataset.
 *
 * Reads records (sg-jsonl(5)) from the files named, or standard input, and
 * writes one line per usable sample in the format of -f: "openai" (chat
 * fine-tuning, {"messages": [...]}), "alpaca" ({"instruction", "input",
 * "output"}), "sharegpt" ({"conversations": [{"from", "value"}]}), or
 * "csv": a sample of a batch input as its row, the input column holding
 * the sample's text, after an "id" column (the Python system's augmented
 * CSV); a sample without a row as its id and its text.  A
 * sample is usable when it has "data" and no "error", and neither
 * "pass": false nor "reject".  Other records are dropped: this is the
 * end of a pipeline, not a stage in it.
 */
#include <csv.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"

enum format { OPENAI, ALPACA, SHAREGPT, CSV };

static struct sg_filter f = {
	.usage = "usage: sg-export [-huVv] [--strict] [-f format] [-p prompt]"
		 " [-s system] [file ...]\n",
};
static enum format format = OPENAI;
static const char *prompt, *sys;
static long long written, skipped;
static json_t *header; /* the CSV's columns, from its first sample */

static void
csv_field(const char *s, int last)
{
	csv_fwrite(stdout, s, strlen(s));
	putchar(last ? '\n' : ',');
}

/* A sample as a CSV line: its row's columns in the header's order, the
 * input column (else a last "text" one) its text. */
static void
put_csv(const json_t *rec, const json_t *data)
{
	const json_t *row = json_object_get(rec, "row");
	const json_t *cols = json_object_get(row, "columns"), *v;
	const char *in = sg_get_str(row, "input_column"), *k;
	char *text = sg_sample_text(data), *cell;
	size_t i;

	if (!header) {
		header = json_array();
		json_object_foreach ((json_t *)cols, k, v)
			json_array_append_new(header, json_string(k));
		if (!in)
			json_array_append_new(header, json_string("text"));
		csv_field("id", 0);
		json_array_foreach (header, i, v)
			csv_field(json_string_value(v),
				i + 1 == json_array_size(header));
	}
	csv_field(sg_get_str(rec, "id") ? sg_get_str(rec, "id") : "", 0);
	json_array_foreach (header, i, v) {
		k = json_string_value(v);
		v = json_object_get(cols, k);
		if ((in && strcmp(k, in) == 0) || (!in && !v))
			cell = sg_xstrdup(text);
		else
			cell = !v ? sg_xstrdup("")
			       : json_is_string(v)
				       ? sg_xstrdup(json_string_value(v))
				       : sg_dumps(v);
		csv_field(cell, i + 1 == json_array_size(header));
		free(cell);
	}
	free(text);
}

static const char *
first(const json_t *data, const char *const keys[])
{
	const char *s;

	for (size_t i = 0; keys[i]; i++)
		if ((s = sg_get_str(data, keys[i])))
			return s;
	return NULL;
}

/* The instruction, its input (may be NULL) and the answer of a sample's
 * data: Alpaca's own fields, a prompt and a response, a question and an
 * answer, a text and its label, or a string answering -p. */
static int
split(const json_t *data, const char **instr, const char **input,
	const char **output, char **owned)
{
	static const char *const asks[] = {
		"instruction", "prompt", "question", "query", NULL};
	static const char *const answers[] = {
		"output", "response", "answer", "completion", NULL};
	json_t *label = json_object_get(data, "label");

	*owned = NULL;
	*input = NULL;
	if (json_is_string(data)) {
		*instr = prompt;
		*output = json_string_value(data);
		return prompt ? 0 : -1;
	}
	*instr = first(data, asks);
	*output = first(data, answers);
	if (*instr)
		*input = sg_get_str(data, "input");
	else if ((*instr = sg_get_str(data, "input")))
		*input = NULL;
	if (!*output && label && (*instr || sg_get_str(data, "text"))) {
		if (!*instr)
			*instr = sg_get_str(data, "text");
		*output = json_is_string(label) ? json_string_value(label)
						: (*owned = sg_dumps(label));
	}
	if (*instr && !*output && prompt) {
		*output = *instr;
		*instr = prompt;
	}
	return *instr && *output ? 0 : -1;
}

static json_t *
user_text(const char *instr, const char *input)
{
	return input && *input ? json_sprintf("%s\n\n%s", instr, input)
			       : json_string(instr);
}

/* System (with -s), user and assistant turns, named by the format. */
static json_t *
conversation(const char *who, const char *what, const char *user,
	const char *assistant, const char *instr, const char *input,
	const char *output)
{
	json_t *turns = json_array();

	if (sys)
		json_array_append_new(turns,
			json_pack("{s:s, s:s}", who, "system", what, sys));
	json_array_append_new(turns, json_pack("{s:s, s:o}", who, user, what,
					     user_text(instr, input)));
	json_array_append_new(
		turns, json_pack("{s:s, s:s}", who, assistant, what, output));
	return turns;
}

static void
put_example(struct sg_filter *f, json_t *rec)
{
	const char *instr, *input, *output;
	json_t *data = json_object_get(rec, "data"), *out;
	char *owned;

	if (strcmp(sg_rec_type(rec), "sample") != 0)
		return;
	if (!data || json_object_get(rec, "error") ||
		json_object_get(rec, "reject") ||
		sg_get_bool(rec, "pass", 1) == 0) {
		skipped++;
		return;
	}
	if (format == CSV) {
		put_csv(rec, data);
		written++;
		return;
	}
	if (split(data, &instr, &input, &output, &owned) < 0) {
		sg_filter_bad(f,
			"sample \"%s\": no instruction and answer in "
			"its data (see sg-export(1))",
			sg_get_str(rec, "id") ? sg_get_str(rec, "id") : "");
		return;
	}
	if (format == ALPACA) {
		out = json_pack("{s:s, s:s, s:s}", "instruction", instr,
			"input", input ? input : "", "output", output);
	} else if (format == SHAREGPT) {
		out = json_pack("{s:o}", "conversations",
			conversation("from", "value", "human", "gpt", instr,
				input, output));
	} else {
		out = json_pack("{s:o}", "messages",
			conversation("role", "content", "user", "assistant",
				instr, input, output));
	}
	free(owned);
	sg_filter_put(f, out);
	json_decref(out);
	written++;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"prompt", required_argument, NULL, 'p'},
		{"strict", no_argument, NULL, SG_OPT_STRICT},
		{"system", required_argument, NULL, 's'},
		{"unbuffered", no_argument, NULL, 'u'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c, status;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "f:hp:s:uVv", longopts, NULL)) !=
		-1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "openai") == 0)
				format = OPENAI;
			else if (strcmp(optarg, "alpaca") == 0)
				format = ALPACA;
			else if (strcmp(optarg, "sharegpt") == 0)
				format = SHAREGPT;
			else if (strcmp(optarg, "csv") == 0)
				format = CSV;
			else
				sg_usage(f.usage, SG_EXIT_USAGE);
			break;
		case 'p':
			prompt = optarg;
			break;
		case 's':
			sys = optarg;
			break;
		default:
			if (!sg_filter_option(&f, c))
				sg_usage(f.usage, SG_EXIT_USAGE);
		}
	}
	status = sg_filter_run(&f, argv + optind, argc - optind, put_example);
	json_decref(header);
	sg_note("%lld samples written, %lld not usable", written, skipped);
	return sg_finish(status);
}
