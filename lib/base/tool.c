/*
 * tool.c - the tool layer: program name, messages, exit.  Everything that
 * prints to stderr or ends the process on behalf of a tool lives here, so
 * the rest of libsg can stay silent.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

const char *sg_progname = "sg";
int sg_verbose;
void (*sg_before_message)(void);

void
sg_seterr(struct sg_error *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
}

void
sg_init(char *argv[])
{
	struct sg_error e;
	const char *slash;

	if (argv[0] && *argv[0]) {
		slash = strrchr(argv[0], '/');
		sg_progname = slash ? slash + 1 : argv[0];
		/* getopt names the program after argv[0] in its messages */
		argv[0] = (char *)sg_progname;
	}
	/* a closed reader ends us quietly, as with every Unix filter */
	signal(SIGPIPE, SIG_DFL);
	/* every tool, so that all the stages of a run see one server */
	if (sg_dotenv(".env", &e) < 0)
		sg_die(SG_EXIT_CONFIG, "%s", e.text);
}

static void
vmessage(const char *fmt, va_list ap)
{
	if (sg_before_message)
		sg_before_message();
	fprintf(stderr, "%s: ", sg_progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
sg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void
sg_note(const char *fmt, ...)
{
	va_list ap;

	if (!sg_verbose)
		return;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

_Noreturn void
sg_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	exit(status);
}

/* Flush stdout and fold a failed write into the exit status. */
int
sg_finish(int status)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (errno == EPIPE)
			return SG_EXIT_PIPE;
		sg_warn("cannot write to <stdout>: %s", strerror(errno));
		return status ? status : SG_EXIT_IO;
	}
	return status;
}

void
sg_version(void)
{
	printf("%s %s\n", sg_progname, SG_VERSION);
	exit(sg_finish(SG_EXIT_OK));
}

void *
sg_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		sg_die(SG_EXIT_IO, "out of memory");
	return p;
}

void *
sg_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		sg_die(SG_EXIT_IO, "out of memory");
	return p;
}

void *
sg_xcalloc(size_t n, size_t size)
{
	void *p = sg_xmalloc(n * size > 0 ? n * size : 1);

	memset(p, 0, n * size);
	return p;
}

char *
sg_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(sg_xmalloc(n), s, n);
}

double
sg_unit_arg(const char *opt, const char *arg)
{
	char *end;
	double v = strtod(arg, &end);

	if (*end || !*arg || !(v >= 0 && v <= 1))
		sg_die(SG_EXIT_USAGE, "%s wants a number from 0 to 1, not '%s'",
			opt, arg);
	return v;
}

int
sg_isatty_stderr(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(2) && !(nc && *nc);
}
