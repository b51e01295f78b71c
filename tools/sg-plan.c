/*
 * sg-plan - split what a recipe still needs into jobs.
 *
 * Reads a recipe (sg-recipe(5)) and, with -s, the "accepted" counter and
 * the "labels" counts of the run's state file, which it never writes.
 * Writes one job record per batch still needed to reach the target
 * (sg-jsonl(5)) and owns every field of it: type, run, job, n, target,
 * accepted, label_plan (for a recipe with labels), row_plan (for a recipe
 * with a batch input), context, recipe_path, recipe.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"
#include "llm/llm.h"
#include "route/route.h"

static const char usage_text[] =
	"usage: sg-plan [-hVv] [--llm | --no-llm] [-b size] [-n jobs] "
	"[-r run] [-s state]\n"
	"               [-t target] recipe\n";

static long long
count(int opt, const char *arg)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(arg, &end, 10);
	if (end == arg || *end || n <= 0 || errno) {
		sg_warn("-%c: \"%s\" is not a positive integer", opt, arg);
		sg_usage(usage_text, SG_EXIT_USAGE);
	}
	return n;
}

static void
recipe_warning(void *ctx, const char *msg)
{
	(void)ctx;
	sg_warn("%s", msg);
}

/* The run's accepted count and, into labels, its count of each label,
 * read under the state's lock: sg-update may be replacing the file at
 * this moment. */
static long long
accepted_so_far(const char *path, const char *run, json_t *labels)
{
	struct sg_state st;
	struct sg_error e;
	const char *other;
	long long n = 0;
	int status;

	if ((status = sg_state_begin(&st, path, &e)))
		sg_die(status, "%s", e.text);
	if (st.root) {
		other = sg_get_str(st.root, "run");
		if (strcmp(other, run) != 0) {
			snprintf(e.text, sizeof e.text,
				"state '%s' belongs to run \"%s\", not \"%s\"",
				path, other, run);
			sg_state_end(&st);
			sg_die(SG_EXIT_CONFIG, "%s", e.text);
		}
		n = sg_get_int(st.root, "accepted", 0);
		json_object_update(labels, json_object_get(st.root, "labels"));
	}
	sg_state_end(&st);
	return n;
}

/* The labels of n samples, by what each lacks of its share in counts,
 * added to counts: a job's count as accepted when the next is planned. */
static json_t *
plan_labels(const struct sg_mix *mix, json_t *counts, long long n)
{
	json_t *plan = sg_mix_plan(mix, counts, n), *v;
	const char *label;
	size_t k;

	json_array_foreach (plan, k, v) {
		label = json_string_value(v);
		json_object_set_new(counts, label,
			json_integer(sg_get_int(counts, label, 0) + 1));
	}
	return plan;
}

/* The rows of n samples from the run's place at: the rows in turn, so
 * num_samples spread over them as evenly as they go. */
static json_t *
plan_rows(const json_t *rows, long long at, long long n)
{
	json_t *plan = json_array();
	long long nrows = (long long)json_array_size(rows);

	for (long long i = 0; i < n; i++)
		json_array_append(
			plan, json_array_get(rows, (size_t)((at + i) % nrows)));
	return plan;
}

/* Plan the jobs for a recipe: ceil((target - accepted) / n) of them. */
int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"batch-size", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'n'},
		{"llm", no_argument, NULL, 'L'},
		{"no-llm", no_argument, NULL, 'N'},
		{"run", required_argument, NULL, 'r'},
		{"state", required_argument, NULL, 's'},
		{"target", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	long long batch = 0, jobs = 0, target = 0, accepted = 0, need, njobs;
	const char *run = NULL, *state = NULL, *path;
	struct sg_error e;
	struct sg_mix mix;
	json_t *recipe, *context, *job, *plan, *rest, *rows,
		*labels = json_object();
	char *runbuf = NULL;
	int c, llm = -1, status = SG_EXIT_OK;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "b:hn:r:s:t:Vv", longopts, NULL)) !=
		-1) {
		switch (c) {
		case 'b':
			batch = count(c, optarg);
			break;
		case 'h':
			sg_usage(usage_text, SG_EXIT_OK);
			break;
		case 'L':
			llm = 1;
			break;
		case 'N':
			llm = 0;
			break;
		case 'n':
			jobs = count(c, optarg);
			break;
		case 'r':
			if (!*optarg) {
				sg_warn("-r: the run name is empty");
				sg_usage(usage_text, SG_EXIT_USAGE);
			}
			run = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 't':
			target = count(c, optarg);
			break;
		case 'V':
			sg_version();
			break;
		case 'v':
			sg_verbose = 1;
			break;
		default:
			sg_usage(usage_text, SG_EXIT_USAGE);
		}
	}
	if (argc - optind != 1)
		sg_usage(usage_text, SG_EXIT_USAGE);
	path = argv[optind];

	recipe = sg_recipe_load_checked(
		path, recipe_warning, NULL, sg_router_check, &e);
	if (!recipe)
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
	rows = sg_recipe_rows(recipe, path, &e);
	if (!rows && *e.text)
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
	if (!run)
		run = runbuf = sg_recipe_run(recipe, path);
	if (!target)
		target = sg_get_int(recipe, "num_samples", 0);
	if (!batch)
		batch = sg_recipe_batch_size(recipe);
	if (state)
		accepted = accepted_so_far(state, run, labels);
	if (llm < 0)
		llm = sg_llm_configured();

	need = target > accepted ? target - accepted : 0;
	njobs = need / batch + (need % batch != 0);
	if (jobs && njobs > jobs)
		njobs = jobs;
	sg_note("run \"%s\": target %lld, accepted %lld, %lld job(s) of %lld",
		run, target, accepted, njobs, batch);

	context = sg_recipe_context(recipe, llm);
	sg_mix_init(&mix, recipe);
	for (long long i = 0; i < njobs; i++) {
		/* sg-update takes samples in order up to the target: the
		 * first ones the run still needs are planned apart */
		plan = rest = NULL;
		if (mix.n) {
			plan = plan_labels(&mix, labels,
				need - i * batch < batch ? need - i * batch
							 : batch);
			rest = plan_labels(&mix, labels,
				batch - (long long)json_array_size(plan));
			json_array_extend(plan, rest);
			json_decref(rest);
		}
		job = json_pack(
			"{s:s, s:s, s:I, s:I, s:I, s:I, s:o*, s:o*, s:O,"
			" s:s, s:O}",
			"type", "job", "run", run, "job", (json_int_t)i, "n",
			(json_int_t)batch, "target", (json_int_t)target,
			"accepted", (json_int_t)accepted, "label_plan", plan,
			"row_plan",
			rows ? plan_rows(rows, accepted + i * batch, batch)
			     : NULL,
			"context", context, "recipe_path", path, "recipe",
			recipe);
		if (!job)
			sg_die(SG_EXIT_USAGE,
				"the run name or the recipe path is not UTF-8");
		if (sg_write_record(stdout, job, 0) < 0)
			status = SG_EXIT_IO;
		json_decref(job);
		if (status)
			break;
	}
	json_decref(context);
	json_decref(rows);
	json_decref(labels);
	sg_mix_free(&mix);
	json_decref(recipe);
	free(runbuf);
	return sg_finish(status);
}
