/*
 * sg-route - choose a generator arm and its parameters for each job.
 *
 * Reads job records (sg-plan) and writes them back with the decision
 * added: "batch", "arm", "generator", "params", "seed", "decision" (and
 * "command" for command arms), the fields it owns.  Every other record
 * and field passes through.  Each decision is taken under the state
 * file's lock and committed before the job is written, so sg-update can
 * learn from earlier batches while later ones are still being routed.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "sg.h"

static const char usage_text[] =
	"usage: sg-route [-huVv] [--strict] [-T temperature] [--seed n]"
	" -s state [file ...]\n";

static _Noreturn void
usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

struct opts {
	const char *state;
	double initial_temp;
	uint64_t seed;
	int has_seed, strict, unbuffered;
};

static void
route_job(const struct opts *o, const struct sg_reader *r, json_t *job,
	int *bad)
{
	struct sg_state st;
	struct sg_error e;
	const char *run = sg_get_str(job, "run"), *owner;

	if (!run) {
		sg_warn("%s:%lu: job has no \"run\"", r->name, r->line);
		(*bad)++;
		return;
	}
	if (sg_state_begin(&st, o->state, &e) < 0)
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
	if (!st.root)
		st.root = sg_state_new(run, o->has_seed ? o->seed : sg_rng_fresh_seed(),
			NULL);
	owner = sg_get_str(st.root, "run");
	if (strcmp(owner, run) != 0)
		sg_die(SG_EXIT_CONFIG, "state '%s' belongs to run \"%s\", not \"%s\"",
			o->state, owner, run);
	if (sg_route(st.root, job, o->initial_temp, &e) < 0) {
		sg_warn("%s:%lu: %s", r->name, r->line, e.text);
		sg_state_end(&st);
		(*bad)++;
		return;
	}
	if (sg_state_commit(&st, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	sg_state_end(&st);
	sg_note("batch %lld: %s: %s", sg_get_int(job, "batch", -1),
			sg_get_str(job, "arm"),
			sg_get_str(json_object_get(job, "decision"), "reason"));
}

static int
route_stream(const struct opts *o, const char *path)
{
	struct sg_reader r;
	struct sg_error e;
	json_t *rec;
	const char *type;
	int bad = 0;

	if (sg_reader_open(&r, path, &e) < 0) {
		sg_warn("%s", e.text);
		return SG_EXIT_IO;
	}
	while ((rec = sg_next_record(&r, &bad))) {
		type = sg_rec_type(rec);
		if (strcmp(type, "job") == 0)
			route_job(o, &r, rec, &bad);
		if (sg_write_record(stdout, rec, o->unbuffered) < 0) {
			json_decref(rec);
			break;
		}
		json_decref(rec);
		if (bad && o->strict)
			break;
	}
	sg_reader_close(&r);
	return bad ? SG_EXIT_DATA : SG_EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"initial-temp", required_argument, NULL, 'T'},
		{"seed", required_argument, NULL, 'S'},
		{"state", required_argument, NULL, 's'},
		{"strict", no_argument, NULL, 'X'},
		{"unbuffered", no_argument, NULL, 'u'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	char *end;
	int c, status = SG_EXIT_OK, rc;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "hs:T:uVv", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(SG_EXIT_OK);
		case 's':
			o.state = optarg;
			break;
		case 'S':
			o.seed = strtoull(optarg, &end, 10);
			if (*end || !*optarg || o.seed >= (1ULL << 53))
				sg_die(SG_EXIT_USAGE, "--seed wants an integer below 2^53, not '%s'",
					optarg);
			o.has_seed = 1;
			break;
		case 'T':
			o.initial_temp = strtod(optarg, &end);
			if (*end || !(o.initial_temp > 0))
				sg_die(SG_EXIT_USAGE, "-T wants a positive number, not '%s'",
					optarg);
			break;
		case 'u':
			o.unbuffered = 1;
			break;
		case 'V':
			sg_version();
		case 'v':
			sg_verbose = 1;
			break;
		case 'X':
			o.strict = 1;
			break;
		default:
			usage(SG_EXIT_USAGE);
		}
	}
	if (!o.state)
		usage(SG_EXIT_USAGE);
	if (optind == argc)
		status = route_stream(&o, NULL);
	for (; optind < argc; optind++)
		if ((rc = route_stream(&o, argv[optind])) > status)
			status = rc;
	return sg_finish(status);
}
