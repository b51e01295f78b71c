/*
 * sg-route - choose a generator arm and its parameters for each job.
 *
 * Reads job records (sg-plan) and writes them back with the decision
 * added: "batch", "arm", "generator", "params", "seed", "decision" (and
 * "command" for command arms), the fields it owns.  Every other record
 * and field passes through.  Each decision is taken under the state
 * file's lock and committed before the job is written, so sg-update can
 * learn from earlier batches while later ones are still being routed.
 * With --worker k/n the state is one of n copies of the run's, and its
 * batch numbers, random draws and share of the target are worker k's.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "route/route.h"

static struct sg_filter f = {
	.usage = "usage: sg-route [-huVv] [--strict] [--epsilon x]"
		 " [--policy name] [-T temperature]"
		 " [--seed n] [-w state] [--worker k/n] -s state"
		 " [file ...]\n",
};
static const char *statepath, *warmpath;
static struct sg_route_opts ro;
static uint64_t seed;
static int has_seed;
static long long worker_k, worker_n;

/* A new state learns from where a previous run's left off. */
static void
warm_start(json_t *root)
{
	struct sg_state old;
	struct sg_error e;
	int status;

	if ((status = sg_state_begin(&old, warmpath, &e)))
		sg_die(status, "%s", e.text);
	if (!old.root)
		sg_die(SG_EXIT_CONFIG, "cannot open state '%s': no such file",
			warmpath);
	sg_router_warm(root, old.root);
	sg_state_end(&old);
}

static void
route_job(struct sg_filter *f, json_t *job)
{
	struct sg_state st;
	struct sg_error e;
	const char *run = sg_get_str(job, "run"), *owner;
	int status;

	if (!run) {
		sg_filter_bad(f, "job has no \"run\"");
		return;
	}
	if ((status = sg_state_begin(&st, statepath, &e)))
		sg_die(status, "%s", e.text);
	if (!st.root) {
		st.root = sg_state_new(
			run, has_seed ? seed : sg_rng_fresh_seed(), NULL);
		if (warmpath)
			warm_start(st.root);
	}
	owner = sg_get_str(st.root, "run");
	if (strcmp(owner, run) != 0)
		sg_die(SG_EXIT_CONFIG,
			"state '%s' belongs to run \"%s\", not \"%s\"",
			statepath, owner, run);
	if (worker_n > 0 && sg_state_worker(st.root, worker_k, worker_n,
				    sg_get_int(job, "target",
					    sg_get_int(st.root, "target", 0)),
				    &e) < 0)
		sg_die(SG_EXIT_CONFIG, "state '%s' %s", statepath, e.text);
	if (sg_route(st.root, job, &ro, &e) < 0) {
		sg_filter_bad(f, "%s", e.text);
		sg_state_end(&st);
		return;
	}
	if (sg_state_commit(&st, &e) < 0)
		sg_die(SG_EXIT_IO, "%s", e.text);
	sg_state_end(&st);
	sg_note("batch %lld: %s: %s", sg_get_int(job, "batch", -1),
		sg_get_str(job, "arm"),
		sg_get_str(json_object_get(job, "decision"), "reason"));
}

static void
route(struct sg_filter *f, json_t *rec)
{
	if (strcmp(sg_rec_type(rec), "job") == 0)
		route_job(f, rec);
	sg_filter_put(f, rec);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"epsilon", required_argument, NULL, 'E'},
		{"help", no_argument, NULL, 'h'},
		{"initial-temp", required_argument, NULL, 'T'},
		{"policy", required_argument, NULL, 'P'},
		{"seed", required_argument, NULL, 'S'},
		{"state", required_argument, NULL, 's'},
		{"strict", no_argument, NULL, SG_OPT_STRICT},
		{"unbuffered", no_argument, NULL, 'u'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"warm-start", required_argument, NULL, 'w'},
		{"worker", required_argument, NULL, 'W'},
		{NULL, 0, NULL, 0},
	};
	json_t *router = json_object();
	char *end;
	int c, status;

	sg_init(argv);
	while ((c = getopt_long(argc, argv, "hs:T:uVvw:", longopts, NULL)) !=
		-1) {
		if (sg_filter_option(&f, c))
			continue;
		switch (c) {
		case 'E':
			json_object_set_new(router, "epsilon_start",
				json_real(sg_unit_arg("--epsilon", optarg)));
			break;
		case 'P':
			if (sg_policy_parse(optarg) < 0)
				sg_die(SG_EXIT_USAGE,
					"policy \"%s\" is not one of"
					" sg-route(1)'s",
					optarg);
			json_object_set_new(
				router, "policy", json_string(optarg));
			break;
		case 's':
			statepath = optarg;
			break;
		case 'S':
			seed = strtoull(optarg, &end, 10);
			if (*end || !*optarg || seed >= (1ULL << 53))
				sg_die(SG_EXIT_USAGE,
					"--seed wants an integer below 2^53, "
					"not '%s'",
					optarg);
			has_seed = 1;
			break;
		case 'w':
			warmpath = optarg;
			break;
		case 'W':
			worker_k = strtoll(optarg, &end, 10);
			if (*end == '/')
				worker_n = strtoll(end + 1, &end, 10);
			if (*end || worker_n <= 0 || worker_k < 0 ||
				worker_k >= worker_n || worker_n > 1000000)
				sg_die(SG_EXIT_USAGE,
					"--worker wants k/n with 0 <= k < n,"
					" not '%s'",
					optarg);
			break;
		case 'T':
			ro.initial_temp = strtod(optarg, &end);
			if (*end || !(ro.initial_temp > 0))
				sg_die(SG_EXIT_USAGE,
					"-T wants a positive number, not '%s'",
					optarg);
			break;
		default:
			sg_usage(f.usage, SG_EXIT_USAGE);
		}
	}
	if (!statepath)
		sg_usage(f.usage, SG_EXIT_USAGE);
	ro.router = json_object_size(router) ? router : NULL;
	status = sg_filter_run(&f, argv + optind, argc - optind, route);
	json_decref(router);
	return sg_finish(status);
}
