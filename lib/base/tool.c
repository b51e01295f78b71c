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
	/* a message quoting the key, from here on, never shows it */
	sg_secret(getenv("OPENAI_API_KEY"));
}

static char *secret;

void
sg_secret(const char *s)
{
	free(secret);
	secret = s && *s ? strdup(s) : NULL;
}

/* The longest run of secret (n bytes) that s (len bytes) begins with. */
static size_t
longest(const char *s, size_t len, const char *secret, size_t n)
{
	size_t best = 0, k;

	for (size_t j = 0; j < n && n - j > best; j++) {
		for (k = 0; k < len && j + k < n && s[k] == secret[j + k]; k++)
			;
		if (k > best)
			best = k;
	}
	return best;
}

void
sg_mask(char *s, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0, len = strlen(s);
	size_t min = n < 8 ? n : 8, cover = 0, w = 0, run;
	int in = 0;

	if (n < 4)
		return;
	/* "***" is written once a stretch ends: it is at least 4 bytes long,
	 * so the write stays behind what is still to be read */
	for (size_t i = 0; i < len; i++) {
		run = longest(s + i, len - i, secret, n);
		if (run >= min && i + run > cover)
			cover = i + run;
		if (i < cover) {
			in = 1;
			continue;
		}
		if (in)
			memcpy(s + w, "***", 3), w += 3, in = 0;
		s[w++] = s[i];
	}
	if (in)
		memcpy(s + w, "***", 3), w += 3;
	s[w] = '\0';
}

static void
vmessage(const char *fmt, va_list ap)
{
	char buf[4096], *msg = buf;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n >= (int)sizeof buf && (msg = malloc((size_t)n + 1)))
		vsnprintf(msg, (size_t)n + 1, fmt, again);
	else if (n >= (int)sizeof buf)
		msg = buf; /* out of memory: the message cut short */
	va_end(again);
	sg_mask(msg, secret);
	if (sg_before_message)
		sg_before_message();
	fprintf(stderr, "%s: %s\n", sg_progname, msg);
	if (msg != buf)
		free(msg);
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
