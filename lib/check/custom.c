/*
 * custom.c - a check of the user's own: a command (an argv, never a shell)
 * that runs beside sg-validate, reads one sample record a line on its
 * standard input and answers each with one line, a JSON object with at
 * least a boolean "pass", before it reads the next.  Its standard input
 * and output are one socket, written with MSG_NOSIGNAL, so a command that
 * dies is an answer missing, not a SIGPIPE that ends sg-validate.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/base.h"
#include "check/check-internal.h"

struct sg_coproc {
	pid_t pid;
	int fd;
	FILE *from;
	char *line;
	size_t cap;
	char *name; /* argv[0], for messages */
};

struct sg_coproc *
sg_coproc_start(const json_t *cmd, struct sg_error *e)
{
	struct sg_coproc *cp;
	char **argv = sg_argv_from_json(cmd, e);
	int sv[2];

	if (!argv)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		sg_seterr(e, "cannot make a socket: %s", strerror(errno));
		sg_argv_free(argv);
		return NULL;
	}
	cp = sg_xmalloc(sizeof *cp);
	memset(cp, 0, sizeof *cp);
	cp->pid = sg_spawn(argv, sv[1], sv[1], e);
	cp->name = sg_xstrdup(argv[0]);
	sg_argv_free(argv);
	close(sv[1]);
	if (cp->pid < 0) {
		close(sv[0]);
		free(cp->name);
		free(cp);
		return NULL;
	}
	cp->fd = sv[0];
	cp->from = fdopen(dup(sv[0]), "r");
	return cp;
}

static int
send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

json_t *
sg_coproc_ask(struct sg_coproc *cp, const json_t *rec, struct sg_error *e)
{
	char *s = json_dumps(rec, JSON_COMPACT);
	size_t n = strlen(s);
	json_error_t je;
	json_t *ans;
	ssize_t len;
	int bad;

	s = sg_xrealloc(s, n + 2);
	s[n++] = '\n';
	bad = send_all(cp->fd, s, n);
	free(s);
	if (bad || !cp->from ||
		(len = getline(&cp->line, &cp->cap, cp->from)) <= 0) {
		sg_seterr(e, "\"%s\" gave no answer", cp->name);
		return NULL;
	}
	ans = json_loadb(cp->line, (size_t)len, 0, &je);
	if (!json_is_object(ans) ||
		!json_is_boolean(json_object_get(ans, "pass"))) {
		json_decref(ans);
		sg_seterr(e,
			"\"%s\" answered no object with a boolean \"pass\"",
			cp->name);
		return NULL;
	}
	return ans;
}

int
sg_coproc_end(struct sg_coproc *cp, struct sg_error *e)
{
	int status;

	if (!cp)
		return 0;
	shutdown(cp->fd, SHUT_WR);
	close(cp->fd);
	if (cp->from)
		fclose(cp->from);
	status = sg_wait(cp->pid, e);
	free(cp->line);
	free(cp->name);
	free(cp);
	return status;
}
