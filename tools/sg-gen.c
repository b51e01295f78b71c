/*
 * sg-gen - generate the samples of routed jobs.
 *
 * Reads records (sg-jsonl(5)) from the files named, or standard input.
 * Each job record (from sg-route) is written through unchanged, followed
 * by its n sample records and one batch record; every other record passes
 * through unchanged, in order.  sg-gen owns sample and batch records.
 * Generators, one file each in lib/gen/: "templater" expands the recipe's
 * grammar (asking the LLM for llm_fill leaves); "command" runs the job's
 * argv without a shell; "naive", "rag" and "evol" ask an OpenAI-compatible
 * server, -j requests at a time, writing samples in index order as they
 * complete, with token usage and cost; "eda" and "extractive" augment seed
 * examples and draw from the knowledge base, labelling its passages, with
 * -s, by the samples the run has accepted.  With --batch-export the
 * requests the cache cannot answer go to a Batch API input file instead of
 * the server; --batch-import stores a Batch API output file's answers in
 * the cache (lib/llm/llm.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "llm/llm.h"
#include "gen/gen.h"

static struct sg_filter f = {
	.usage = "usage: sg-gen [-hquVv] [-j jobs] [-m model] [-s state] "
		 "[--batch-export requests]\n"
		 "              [--cache-dir dir] [--no-cache] [--preload]\n"
		 "              [--price-completion usd] [--price-prompt usd] "
		 "[--strict]\n"
		 "              [--timeout seconds] [file ...]\n"
		 "       sg-gen [-v] [--cache-dir dir] --batch-import "
		 "answers\n",
};

/* 0 when the job has every field sg-gen needs, else -1 and a warning. */
/* Whether the job's plan key, when it has one, is an array of type. */
static int
plan_of(const struct sg_job *j, const char *key, json_type type,
	const char *what)
{
	const json_t *plan = json_object_get(j->rec, key), *v;
	size_t i;

	json_array_foreach (plan, i, v)
		if (json_typeof(v) != type)
			break;
	if (plan && (!json_is_array(plan) || i < json_array_size(plan))) {
		sg_warn("%s: job \"%s\" is not an array of %s", j->where, key,
			what);
		return 0;
	}
	return 1;
}

static int
check_job(struct sg_job *j)
{
	static const struct {
		const char *name;
		int integer;
	} need[] = {{"arm", 0}, {"generator", 0}, {"batch", 1}, {"run", 0},
		{"n", 1}, {"seed", 1}};
	size_t i;

	for (i = 0; i < sizeof need / sizeof need[0]; i++)
		if (!json_object_get(j->rec, need[i].name)) {
			sg_warn("%s: job has no \"%s\"", j->where,
				need[i].name);
			return -1;
		}
	for (i = 0; i < sizeof need / sizeof need[0]; i++) {
		if (!need[i].integer && !sg_get_str(j->rec, need[i].name)) {
			sg_warn("%s: job \"%s\" is not a string", j->where,
				need[i].name);
			return -1;
		}
		if (need[i].integer &&
			sg_get_int(j->rec, need[i].name, -1) < 0) {
			sg_warn("%s: job \"%s\" is not a non-negative integer",
				j->where, need[i].name);
			return -1;
		}
	}
	if (!plan_of(j, "label_plan", JSON_STRING, "strings") ||
		!plan_of(j, "row_plan", JSON_OBJECT, "objects"))
		return -1;
	j->run = sg_get_str(j->rec, "run");
	j->arm = sg_get_str(j->rec, "arm");
	j->generator = sg_get_str(j->rec, "generator");
	j->batch = sg_get_int(j->rec, "batch", 0);
	j->n = sg_get_int(j->rec, "n", 0);
	j->seed = sg_get_int(j->rec, "seed", 0);
	return 0;
}

static void
run_job(json_t *rec, const char *where)
{
	struct sg_job j = {.f = &f, .rec = rec, .where = where};
	json_t *params = json_object_get(rec, "params");

	if (check_job(&j) < 0) {
		sg_filter_fail(&f, SG_EXIT_DATA);
		return;
	}
	j.params = json_is_object(params) ? json_incref(params) : json_object();
	sg_mix_init(&j.mix, json_object_get(rec, "recipe"));
	sg_filter_put(&f, rec);
	/* a command arm is handed the whole record */
	if (strcmp(j.generator, "command") != 0)
		sg_job_plan_compact(&j);
	if (strcmp(j.generator, "templater") == 0)
		sg_gen_templater(&j);
	else if (strcmp(j.generator, "command") == 0)
		sg_gen_command(&j);
	else if (strcmp(j.generator, "naive") == 0 ||
		 strcmp(j.generator, "rag") == 0)
		sg_gen_naive(&j, strcmp(j.generator, "rag") == 0);
	else if (strcmp(j.generator, "evol") == 0)
		sg_gen_evol(&j);
	else if (strcmp(j.generator, "eda") == 0 ||
		 strcmp(j.generator, "extractive") == 0)
		sg_gen_offline(&j, strcmp(j.generator, "eda") == 0);
	else
		sg_job_fail(
			&j, "generator \"%s\" is not available", j.generator);
	sg_job_batch(&j);
	sg_note("%s: run \"%s\" batch %lld arm \"%s\": %lld of %lld generated",
		where, j.run, j.batch, j.arm, j.generated, j.n);
	json_decref(j.params);
	sg_mix_free(&j.mix);
	json_decref(j.evol);
	json_decref(j.pending);
	sg_job_angles_free(&j);
	sg_job_plan_free(&j);
	free(j.infra_error);
}

static void
gen(struct sg_filter *f, json_t *rec)
{
	if (strcmp(sg_rec_type(rec), "job") == 0)
		run_job(rec, f->where);
	else
		sg_filter_put(f, rec);
}

/* Each line of a Batch API output file into the cache; the status. */
static int
import(const char *path)
{
	FILE *fp;
	char *cache = sg_llm_cache_dir(sg_gen_opts.cache_dir), *line = NULL;
	long long lineno = 0, stored = 0, refused = 0;
	struct sg_error e;
	size_t cap = 0;

	if (sg_gen_opts.no_cache)
		sg_die(SG_EXIT_USAGE, "--batch-import needs the cache, not "
				      "--no-cache");
	if (!cache)
		sg_die(SG_EXIT_USAGE, "no cache directory: set --cache-dir or "
				      "SG_CACHE_DIR");
	if (!(fp = fopen(path, "r")))
		sg_die(SG_EXIT_IO, "cannot open '%s': %s", path,
			strerror(errno));
	while (getline(&line, &cap, fp) >= 0) {
		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (sg_llm_batch_import(cache, line, &e) == 0) {
			stored++;
			continue;
		}
		sg_warn("%s:%lld: %s", path, lineno, e.text);
		refused++;
	}
	if (ferror(fp))
		sg_die(SG_EXIT_IO, "cannot read '%s': %s", path,
			strerror(errno));
	fclose(fp);
	free(line);
	free(cache);
	sg_note("%s: %lld answers stored in the cache, %lld refused", path,
		stored, refused);
	return refused ? SG_EXIT_DATA : SG_EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"batch-export", required_argument, NULL, 'B'},
		{"batch-import", required_argument, NULL, 'I'},
		{"cache-dir", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'j'},
		{"model", required_argument, NULL, 'm'},
		{"no-cache", no_argument, NULL, 'N'},
		{"preload", no_argument, NULL, 'L'},
		{"price-completion", required_argument, NULL, 'P'},
		{"price-prompt", required_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"state", required_argument, NULL, 's'},
		{"strict", no_argument, NULL, SG_OPT_STRICT},
		{"timeout", required_argument, NULL, 'T'},
		{"unbuffered", no_argument, NULL, 'u'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *exporting = NULL, *importing = NULL;
	struct sg_error e;
	long long n;
	char *end;
	int c, status, nothing, said, preload = 0;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "hj:m:qs:uVv", longopts, NULL)) !=
		-1) {
		switch (c) {
		case 'B':
			exporting = optarg;
			break;
		case 'I':
			importing = optarg;
			break;
		case 'C':
			sg_gen_opts.cache_dir = optarg;
			break;
		case 'j':
			sg_gen_opts.jobs = (int)strtol(optarg, &end, 10);
			if (*end || sg_gen_opts.jobs < 1 ||
				sg_gen_opts.jobs > 4096)
				sg_die(SG_EXIT_USAGE,
					"-j wants an integer from 1 to 4096");
			break;
		case 'm':
			sg_gen_opts.model = optarg;
			break;
		case 'N':
			sg_gen_opts.no_cache = 1;
			break;
		case 'L':
			preload = 1;
			break;
		case 'q':
			sg_gen_opts.quiet = 1;
			break;
		case 's':
			sg_gen_opts.state = optarg;
			break;
		case 'P':
		case 'p':
			*(c == 'p' ? &sg_gen_opts.price_prompt
				   : &sg_gen_opts.price_completion) =
				strtod(optarg, &end);
			if (*end || !(strtod(optarg, NULL) >= 0))
				sg_die(SG_EXIT_USAGE,
					"--%s wants a number of dollars >= 0",
					c == 'p' ? "price-prompt"
						 : "price-completion");
			break;
		case 'T':
			sg_gen_opts.timeout = strtod(optarg, &end);
			if (*end || !(sg_gen_opts.timeout > 0))
				sg_die(SG_EXIT_USAGE, "--timeout wants a "
						      "number of seconds > 0");
			break;
		default:
			if (!sg_filter_option(&f, c))
				sg_usage(f.usage, SG_EXIT_USAGE);
		}
	}
	if (importing && (exporting || optind < argc))
		sg_usage(f.usage, SG_EXIT_USAGE);
	if (importing)
		return sg_finish(import(importing));
	if (exporting && sg_gen_opts.no_cache)
		sg_die(SG_EXIT_USAGE, "--batch-export needs the cache, not "
				      "--no-cache");
	if (exporting &&
		!(sg_gen_opts.batch = sg_fopen_nofollow(exporting, "w", &e)))
		sg_die(SG_EXIT_IO, "%s", e.text);
	/* while the job is being routed; a failure is each request's */
	if (preload)
		sg_curl_load(&e);
	status = sg_filter_run(&f, argv + optind, argc - optind, gen);
	if (exporting) {
		if ((n = sg_gen_exported(&e)) < 0)
			sg_die(SG_EXIT_IO, "%s", e.text);
		if (fclose(sg_gen_opts.batch) == EOF)
			sg_die(SG_EXIT_IO, "cannot write '%s': %s", exporting,
				strerror(errno));
		sg_note("%lld requests written to '%s'", n, exporting);
	}
	sg_gen_llm_end();
	sg_gen_offline_end();
	if ((nothing = sg_gen_nothing(&e, &said))) {
		if (!said && !sg_gen_opts.quiet)
			sg_warn("nothing generated: %s", e.text);
		if (nothing > status)
			status = nothing;
	}
	return sg_finish(status);
}
