/*
 * proc.c - child processes.  A command is always an argv handed to
 * execvp, never a string handed to a shell, so text from a recipe or a
 * record can never be run as shell code.
 */
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/base.h"

extern char **environ;

pid_t
sg_spawn(char *const argv[], int fdin, int fdout, struct sg_error *e)
{
	return sg_spawn_err(argv, fdin, fdout, -1, e);
}

pid_t
sg_spawn_err(
	char *const argv[], int fdin, int fdout, int fderr, struct sg_error *e)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	if (!argv || !argv[0]) {
		sg_seterr(e, "empty command");
		return -1;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		sg_seterr(e, "cannot run \"%s\": %s", argv[0], strerror(rc));
		return -1;
	}
	if (fdin >= 0 && fdin != 0)
		rc = posix_spawn_file_actions_adddup2(&fa, fdin, 0);
	if (rc == 0 && fdout >= 0 && fdout != 1)
		rc = posix_spawn_file_actions_adddup2(&fa, fdout, 1);
	if (rc == 0 && fderr >= 0 && fderr != 2)
		rc = posix_spawn_file_actions_adddup2(&fa, fderr, 2);
	if (rc == 0)
		rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		sg_seterr(e, "cannot run \"%s\": %s", argv[0], strerror(rc));
		return -1;
	}
	return pid;
}

int
sg_wait(pid_t pid, struct sg_error *e)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno == EINTR)
			continue;
		sg_seterr(e, "cannot wait for process %ld: %s", (long)pid,
			strerror(errno));
		return -1;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	sg_seterr(e, "process %ld ended in an unknown way", (long)pid);
	return -1;
}

static char **
split_blanks(const char *s)
{
	size_t n = 0, len;
	char **argv;

	argv = sg_xmalloc((strlen(s) / 2 + 2) * sizeof *argv);
	for (;;) {
		s += strspn(s, " \t\n");
		if (!*s)
			break;
		len = strcspn(s, " \t\n");
		argv[n] = sg_xmalloc(len + 1);
		memcpy(argv[n], s, len);
		argv[n++][len] = '\0';
		s += len;
	}
	argv[n] = NULL;
	return argv;
}

char **
sg_argv_from_json(const json_t *cmd, struct sg_error *e)
{
	char **argv;
	json_t *v;
	size_t i;

	if (json_is_string(cmd)) {
		argv = split_blanks(json_string_value(cmd));
	} else if (json_is_array(cmd)) {
		argv = sg_xmalloc((json_array_size(cmd) + 1) * sizeof *argv);
		json_array_foreach (cmd, i, v) {
			if (!json_is_string(v)) {
				argv[i] = NULL;
				sg_argv_free(argv);
				sg_seterr(e,
					"command argument %zu is not a string",
					i + 1);
				return NULL;
			}
			argv[i] = sg_xstrdup(json_string_value(v));
		}
		argv[json_array_size(cmd)] = NULL;
	} else {
		sg_seterr(e, "command is not an array of strings");
		return NULL;
	}
	if (!argv[0] || !*argv[0]) {
		sg_argv_free(argv);
		sg_seterr(e, "command is empty");
		return NULL;
	}
	return argv;
}

void
sg_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}
