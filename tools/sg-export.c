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
 * "pass": false nor "reject".  What asks and what answers is found in the
 * data by name, or named with --input and --output; a sample with no
 * answer, or a blank one, is reported and refused.  Other records are
 * dropped: this is the end of a pipeline, not a stage in it.
 */
#include <csv.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"

enum format { OPENAI, ALPACA, SHAREGPT, CSV };
enum { OPT_INPUT = 0x101, OPT_OUTPUT };

static struct sg_filter f = {
	.usage = "usage: sg-export [-huVv] [--strict] [-f format]"
		 " [--input path] [--output path] [-p prompt] [-s system]"
		 " [file ...]\n",
};
static enum format format = OPENAI;
static const char *prompt, *sys, *inpath, *outpath;
static long long written, skipped, refused;
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

/* The value at a jq-like path in v: ".", ".a.b", "a.b", ".a[0]",
 * ".[\"a.b\"]", "a.\"b c\"" (a key may be quoted, an index negative);
 * NULL when it is not there.  *bad says why a malformed path is one. */
static json_t *
at_path(const json_t *v, const char *p, const char **bad)
{
	char key[1024];
	size_t n;
	long long i;
	char *end;

	*bad = NULL;
	if (*p == '.')
		p++;
	for (int first = 1; *p; first = 0) {
		if (!first && *p == '.') {
			if (!*++p)
				return *bad = "a path ends with '.'", NULL;
		} else if (!first && *p != '[')
			return *bad = "a step must start with '.' or '['", NULL;
		if (*p == '[' && p[1] != '"') {
			errno = 0;
			i = strtoll(p + 1, &end, 10);
			if (end == p + 1 || *end != ']' || errno)
				return *bad = "an index is [N]", NULL;
			p = end + 1;
			if (i < 0)
				i += (long long)json_array_size(v);
			v = i < 0 ? NULL : json_array_get(v, (size_t)i);
			continue;
		}
		if (*p == '[' || *p == '"') {
			int bracket = *p == '[';

			p += 1 + bracket;
			for (n = 0; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (n < sizeof key - 1)
					key[n++] = *p;
			}
			if (*p != '"' || (bracket && p[1] != ']'))
				return *bad = "a quoted key is not closed",
				       NULL;
			p += 1 + bracket;
		} else {
			for (n = 0; *p && *p != '.' && *p != '['; p++)
				if (n < sizeof key - 1)
					key[n++] = *p;
			if (n == 0)
				return *bad = "a key is empty", NULL;
		}
		key[n] = '\0';
		v = json_object_get(v, key);
	}
	return (json_t *)v;
}

/* A value as the text of a turn: a string as it is, anything else but
 * null as compact JSON into *owned. */
static const char *
text_of(const json_t *v, char **owned)
{
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	return *owned = sg_dumps(v);
}

/* The first of keys that data has as a string, its name in *name. */
static const char *
first(const json_t *data, const char *const keys[], const char **name)
{
	const char *s;

	for (size_t i = 0; keys[i]; i++)
		if ((s = sg_get_str(data, keys[i]))) {
			*name = keys[i];
			return s;
		}
	return NULL;
}

/* Why data makes no example: it has no what (the fields it has named),
 * and the hint what to do, if any. */
static const char *
no_field(const json_t *data, const char *what, const char *hint, char *why,
	size_t size)
{
	struct sg_buf names = {0};
	const char *key;
	json_t *v;

	sg_buf_add(&names, "", 0);
	json_object_foreach ((json_t *)data, key, v) {
		sg_buf_add(&names, names.len ? ", " : " (fields ",
			names.len ? 2 : 9);
		sg_buf_add(&names, key, strlen(key));
	}
	snprintf(why, size, "no %s in its data%s%s%s%s", what, names.p,
		names.len ? ")" : "", hint ? ": " : "", hint ? hint : "");
	free(names.p);
	return why;
}

/* An example: the instruction, an input that follows it (or NULL) and the
 * answer, and where each came from, to say which is blank. */
struct example {
	const char *instr, *input, *output;
	const char *instr_from, *input_from, *output_from;
	char *owned[2];
};

/* Where a turn's text came from, for a message: a field quoted. */
static const char *
blank_one(const struct example *x, char *why, size_t size)
{
	const char *from = sg_blank(x->instr)	 ? x->instr_from
			   : sg_blank(x->output) ? x->output_from
						 : x->input_from;

	if (strcmp(from, "data") == 0)
		snprintf(why, size, "its data is blank");
	else
		snprintf(why, size, "\"%s\" is blank", from);
	return why;
}

/* The example a sample's data makes, or why it makes none.  The answer is
 * --output's value, else a string data, else the first of output,
 * response, answer, completion and label.  What asks is --input's value,
 * else the data's own instruction (the first of instruction, prompt,
 * question and query, with "input" after it), else "input", else "text".
 * -p is the instruction of data without one of its own, what asks then
 * being the input, or, when nothing answers, the answer. */
static const char *
split(const json_t *data, struct example *x, char *why, size_t size)
{
	static const char *const instructions[] = {
		"instruction", "prompt", "question", "query", NULL};
	static const char *const answers[] = {
		"output", "response", "answer", "completion", NULL};
	static const char *const texts[] = {"input", "text", NULL};
	const char *asks = NULL, *asks_from = NULL, *bad;
	char quoted[300];
	int own = 0;

	if (outpath) {
		x->output_from = outpath;
		x->output = text_of(at_path(data, outpath, &bad), &x->owned[1]);
	} else if (json_is_string(data)) {
		x->output_from = "data";
		x->output = json_string_value(data);
	} else if (!(x->output = first(data, answers, &x->output_from))) {
		x->output_from = "label";
		x->output =
			text_of(json_object_get(data, "label"), &x->owned[1]);
	}
	if (inpath) {
		asks_from = inpath;
		asks = text_of(at_path(data, inpath, &bad), &x->owned[0]);
	} else if ((asks = first(data, instructions, &asks_from))) {
		own = 1;
	} else {
		asks = first(data, texts, &asks_from);
	}
	if ((outpath && !x->output) || (inpath && !asks)) {
		snprintf(quoted, sizeof quoted, "\"%s\"",
			outpath && !x->output ? outpath : inpath);
		return no_field(data, quoted, NULL, why, size);
	}
	if (prompt && !x->output) {
		x->output = asks;
		x->output_from = asks_from;
		asks = NULL;
		own = 0;
	}
	if (prompt && !own) {
		x->instr = prompt;
		x->instr_from = "-p";
		x->input = asks;
		x->input_from = asks_from;
	} else {
		x->instr = asks;
		x->instr_from = asks_from;
		x->input = own ? sg_get_str(data, "input") : NULL;
	}
	if (!x->instr && json_is_string(data)) {
		snprintf(why, size,
			"its data is a string, an answer: give the instruction"
			" with -p (see sg-export(1))");
		return why;
	}
	if (!x->instr)
		return no_field(data, "instruction",
			"name it with --input, or give one with -p"
			" (see sg-export(1))",
			why, size);
	if (!x->output)
		return no_field(data, "answer",
			"name it with --output (see sg-export(1))", why, size);
	if (sg_blank(x->instr) || sg_blank(x->output) ||
		(x->input_from && sg_blank(x->input)))
		return blank_one(x, why, size);
	return NULL;
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
	const char *assistant, const struct example *x)
{
	json_t *turns = json_array();

	if (sys)
		json_array_append_new(turns,
			json_pack("{s:s, s:s}", who, "system", what, sys));
	json_array_append_new(turns, json_pack("{s:s, s:o}", who, user, what,
					     user_text(x->instr, x->input)));
	json_array_append_new(turns,
		json_pack("{s:s, s:s}", who, assistant, what, x->output));
	return turns;
}

static void
put_example(struct sg_filter *f, json_t *rec)
{
	json_t *data = json_object_get(rec, "data"), *out;
	struct example x = {0};
	const char *why;
	char buf[1024];

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
	why = split(data, &x, buf, sizeof buf);
	if (why) {
		sg_filter_bad(f, "sample \"%s\": %s",
			sg_get_str(rec, "id") ? sg_get_str(rec, "id") : "",
			why);
		refused++;
		goto done;
	}
	if (format == ALPACA) {
		out = json_pack("{s:s, s:s, s:s}", "instruction", x.instr,
			"input", x.input ? x.input : "", "output", x.output);
	} else if (format == SHAREGPT) {
		out = json_pack("{s:o}", "conversations",
			conversation("from", "value", "human", "gpt", &x));
	} else {
		out = json_pack("{s:o}", "messages",
			conversation(
				"role", "content", "user", "assistant", &x));
	}
	sg_filter_put(f, out);
	json_decref(out);
	written++;
done:
	free(x.owned[0]);
	free(x.owned[1]);
}

/* A path option's argument, checked once: a malformed one is bad usage. */
static const char *
path_arg(const char *opt, const char *path)
{
	const char *bad;

	at_path(NULL, path, &bad);
	if (bad) {
		sg_warn("%s: bad path '%s': %s", opt, path, bad);
		sg_usage(f.usage, SG_EXIT_USAGE);
	}
	return path;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"input", required_argument, NULL, OPT_INPUT},
		{"output", required_argument, NULL, OPT_OUTPUT},
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
		case OPT_INPUT:
			inpath = path_arg("--input", optarg);
			break;
		case OPT_OUTPUT:
			outpath = path_arg("--output", optarg);
			break;
		case 'p':
			if (sg_blank(optarg)) {
				sg_warn("-p: the instruction is blank");
				sg_usage(f.usage, SG_EXIT_USAGE);
			}
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
	/* refusals were reported one by one; their count is not chatter */
	(refused ? sg_warn : sg_note)("%lld samples written, %lld not usable, "
				      "%lld refused",
		written, skipped, refused);
	return sg_finish(status);
}
