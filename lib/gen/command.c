/*
 * command.c - sg-gen's command generator: the job's argv run without a
 * shell, the job record on its standard input, one sample per line of its
 * output (see sg-gen(1), The command protocol).  Tool layer, beside
 * record/filter.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record.h"
#include "gen/gen-internal.h"

/* Whose fault the error of a command's sample is: the content's, unless
 * the command says otherwise. */
static enum sg_llm_fault
command_fault(const json_t *s)
{
	const char *kind = sg_get_str(s, "error_kind");
	const char *scope = sg_get_str(s, "error_scope");

	if (!kind || strcmp(kind, "infrastructure") != 0)
		return SG_FAULT_CONTENT;
	return scope && strcmp(scope, "server") == 0 ? SG_FAULT_SERVER
						     : SG_FAULT_ARM;
}

/* One line of a command's output as sample index: a sample record keeps
 * its own fields, anything else becomes the data. */
static void
command_sample(struct sg_job *j, long long index, const char *line, size_t len)
{
	static const char *const mine[] = {"type", "id", "run", "batch",
		"index", "arm", "generator", "params", "seed", "data", "error",
		"error_kind", "error_scope"};
	json_t *v = json_loadb(line, len, JSON_DECODE_ANY, NULL), *s, *x;
	const char *key;
	char *why;

	if (!v && !(v = json_stringn(line, len))) {
		sg_job_error(j, index, "command output is not valid UTF-8",
			SG_FAULT_CONTENT);
		return;
	}
	if (!json_is_object(v) || !sg_rec_type(v) ||
		strcmp(sg_rec_type(v), "sample") != 0) {
		sg_job_data(j, index, v, NULL, NULL);
		return;
	}
	s = sg_job_sample(j, index);
	for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
		if ((x = json_object_get(v, mine[i])))
			json_object_set(s, mine[i], x);
	json_object_foreach (v, key, x)
		if (!json_object_get(s, key))
			json_object_set(s, key, x);
	if ((x = json_object_get(s, "error"))) {
		why = json_is_string(x) ? sg_xstrdup(json_string_value(x))
					: sg_dumps(x);
		sg_job_mark(j, s, index, why, command_fault(s));
		free(why);
	} else if (!json_object_get(s, "data")) {
		sg_job_mark(j, s, index,
			"command sample has neither \"data\" nor \"error\"",
			SG_FAULT_CONTENT);
	} else {
		j->generated++;
	}
	json_decref(v);
	sg_job_put(j, s);
}

static void
setenv_int(const char *name, long long v)
{
	char num[32];

	snprintf(num, sizeof num, "%lld", v);
	setenv(name, num, 1);
}

/* The job goes to the child's stdin through an unlinked temporary file,
 * not a pipe: a child that writes before it reads cannot deadlock us. */
static FILE *
job_file(const struct sg_job *j, struct sg_error *e)
{
	FILE *tmp = tmpfile();

	if (!tmp) {
		sg_seterr(e, "cannot create a temporary file: %s",
			strerror(errno));
		return NULL;
	}
	if (sg_write_record(tmp, j->rec, 1) < 0 ||
		lseek(fileno(tmp), 0, SEEK_SET) < 0) {
		sg_seterr(e, "cannot write a temporary file: %s",
			strerror(errno));
		fclose(tmp);
		return NULL;
	}
	fcntl(fileno(tmp), F_SETFD, FD_CLOEXEC);
	return tmp;
}

/* A command named by a relative path ("./gen.sh") is the recipe's own
 * script: look for it beside the recipe, wherever the pipeline runs. */
static void
resolve_beside_recipe(char **argv, const json_t *job)
{
	const char *recipe = sg_get_str(job, "recipe_path");
	const char *slash = recipe ? strrchr(recipe, '/') : NULL;
	size_t n;
	char *path;

	if (!slash || argv[0][0] == '/' || !strchr(argv[0], '/'))
		return;
	n = (size_t)(slash - recipe) + strlen(argv[0]) + 2;
	path = sg_xmalloc(n);
	snprintf(path, n, "%.*s/%s", (int)(slash - recipe), recipe, argv[0]);
	free(argv[0]);
	argv[0] = path;
}

void
sg_gen_command(struct sg_job *j)
{
	json_t *cmd = json_object_get(j->rec, "command");
	long long lines = 0, extra = 0;
	struct sg_error e;
	char **argv, *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *tmp, *out;
	pid_t pid;
	int fd[2], rc;

	if (!cmd) {
		sg_job_fail(j, "job has no \"command\"");
		return;
	}
	if (!(argv = sg_argv_from_json(cmd, &e))) {
		sg_job_fail(j, "%s", e.text);
		return;
	}
	resolve_beside_recipe(argv, j->rec);
	if (!(tmp = job_file(j, &e)) || pipe(fd) < 0) {
		if (tmp)
			fclose(tmp);
		sg_warn("%s: %s", j->where, tmp ? strerror(errno) : e.text);
		sg_filter_fail(j->f, SG_EXIT_IO);
		sg_argv_free(argv);
		return;
	}
	fcntl(fd[0], F_SETFD, FD_CLOEXEC);
	fcntl(fd[1], F_SETFD, FD_CLOEXEC);
	setenv("SG_RUN", j->run, 1);
	setenv_int("SG_BATCH", j->batch);
	setenv_int("SG_SEED", j->seed);
	setenv_int("SG_N", j->n);
	pid = sg_spawn(argv, fileno(tmp), fd[1], &e);
	fclose(tmp);
	close(fd[1]);
	if (pid < 0) {
		sg_job_fail(j, "%s", e.text);
		sg_filter_fail(j->f, SG_EXIT_CHILD);
		close(fd[0]);
		sg_argv_free(argv);
		return;
	}
	out = fdopen(fd[0], "r");
	while ((len = getline(&line, &cap, out)) >= 0) {
		while (len > 0 &&
			(line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (strspn(line, " \t") >= (size_t)len)
			continue;
		if (lines < j->n)
			command_sample(j, lines++, line, (size_t)len);
		else
			extra++;
	}
	free(line);
	fclose(out);
	rc = sg_wait(pid, &e);
	if (extra > 0)
		sg_warn("%s: command \"%s\" printed %lld lines more than n = "
			"%lld; ignored them",
			j->where, argv[0], extra, j->n);
	if (lines < j->n)
		sg_note("%s: command \"%s\" printed %lld of %lld samples",
			j->where, argv[0], lines, j->n);
	if (rc < 0) {
		sg_warn("%s: %s", j->where, e.text);
		sg_filter_fail(j->f, SG_EXIT_CHILD);
	} else if (rc > 0) {
		sg_warn("%s: command \"%s\" exited with status %d", j->where,
			argv[0], rc);
		sg_filter_fail(j->f, SG_EXIT_CHILD);
	}
	/* what a shell or env(1) says of a program it cannot run or find */
	if (rc == 126 || rc == 127) {
		snprintf(e.text, sizeof e.text,
			"command \"%s\" exited with status %d: it cannot be "
			"run",
			argv[0], rc);
		while (lines < j->n)
			sg_job_error(j, lines++, e.text, SG_FAULT_ARM);
	}
	sg_argv_free(argv);
}
