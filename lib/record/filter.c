/*
 * filter.c - what every record filter shares, in the tool layer beside
 * tool.c: the common options, the loop over the inputs, the position of
 * the record in hand for messages, and the exit status that remembers the
 * worst thing that happened while the other records still flowed.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record-internal.h"

_Noreturn void
sg_usage(const char *usage, int status)
{
	fputs(usage, status ? stderr : stdout);
	exit(status ? status : sg_finish(SG_EXIT_OK));
}

int
sg_filter_option(struct sg_filter *f, int c)
{
	switch (c) {
	case 'h':
		sg_usage(f->usage, SG_EXIT_OK);
	case SG_OPT_STRICT:
		f->strict = 1;
		return 1;
	case 'u':
		f->unbuffered = 1;
		return 1;
	case 'V':
		sg_version();
	case 'v':
		sg_verbose = 1;
		return 1;
	}
	return 0;
}

void
sg_filter_fail(struct sg_filter *f, int status)
{
	if (status > f->status)
		f->status = status;
}

int
sg_filter_stopped(const struct sg_filter *f)
{
	return f->strict && f->status != SG_EXIT_OK;
}

void
sg_filter_bad(struct sg_filter *f, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sg_warn("%s: %s", f->where, msg);
	sg_filter_fail(f, SG_EXIT_DATA);
}

static _Noreturn void
put_failed(void)
{
	if (errno == EPIPE)
		exit(SG_EXIT_PIPE);
	sg_die(SG_EXIT_IO, "cannot write to <stdout>: %s", strerror(errno));
}

void
sg_filter_put(struct sg_filter *f, json_t *rec)
{
	if (sg_write_record(stdout, rec, f->unbuffered) < 0)
		put_failed();
}

char *
sg_filter_keep(const struct sg_filter *f, size_t *len)
{
	char *text;

	if (!f->text)
		return NULL;
	text = sg_xmalloc(f->len + 1);
	memcpy(text, f->text, f->len);
	text[f->len] = '\0';
	*len = f->len;
	return text;
}

void
sg_filter_splice(struct sg_filter *f, json_t *rec, const char *const owned[])
{
	sg_filter_splice_from(f, NULL, 0, rec, owned);
}

void
sg_filter_splice_from(struct sg_filter *f, const char *text, size_t len,
	json_t *rec, const char *const owned[])
{
	static struct sg_buf buf;
	size_t n;

	/* a record held past its line, while a later one is in hand, has
	 * only the bytes kept for it */
	if (!text && rec == f->rec) {
		text = f->text;
		len = f->len;
	}
	n = text ? sg_splice(text, len, rec, owned, &buf) : 0;

	if (n == 0) {
		sg_filter_put(f, rec);
		return;
	}
	buf.p[n++] = '\n';
	if (fwrite(buf.p, 1, n, stdout) != n ||
		(f->unbuffered && fflush(stdout) == EOF))
		put_failed();
}

int
sg_record_batch_at(const json_t *rec, const char *where, const char **run,
	long long *batch)
{
	struct sg_error e;

	if (sg_record_batch(rec, run, batch, &e) == 0)
		return 0;
	sg_warn("%s: %s", where, e.text);
	return -1;
}

/* "batch run", the index's key */
static char *
batch_key(const char *run, long long id)
{
	size_t len = strlen(run) + 32;
	char *key = sg_xmalloc(len);

	snprintf(key, len, "%lld %s", id, run);
	return key;
}

void *
sg_batches_get(struct sg_batches *t, const char *run, long long id)
{
	char *key;
	json_t *pos;

	if (t->last_run && t->last_id == id && strcmp(t->last_run, run) == 0)
		return t->v[t->last];
	key = batch_key(run, id);
	pos = json_object_get(t->index, key);
	free(key);
	if (!pos)
		return NULL;
	free(t->last_run);
	t->last_run = sg_xstrdup(run);
	t->last_id = id;
	t->last = (size_t)json_integer_value(pos);
	return t->v[t->last];
}

void
sg_batches_add(struct sg_batches *t, const char *run, long long id, void *b)
{
	char *key = batch_key(run, id);

	if (!t->index)
		t->index = json_object();
	t->v = sg_xrealloc(t->v, (t->n + 1) * sizeof *t->v);
	t->v[t->n] = b;
	json_object_set_new(t->index, key, json_integer((json_int_t)t->n));
	free(t->last_run);
	t->last_run = sg_xstrdup(run);
	t->last_id = id;
	t->last = t->n++;
	free(key);
}

void
sg_batches_free(struct sg_batches *t)
{
	json_decref(t->index);
	free(t->v);
	free(t->last_run);
	memset(t, 0, sizeof *t);
}

static void
run_one(struct sg_filter *f, const char *path,
	void (*fn)(struct sg_filter *f, json_t *rec))
{
	struct sg_reader r;
	struct sg_error e;
	json_t *rec;
	int bad = 0;

	if (sg_reader_open(&r, path, &e) < 0) {
		sg_warn("%s", e.text);
		sg_filter_fail(f, SG_EXIT_IO);
		return;
	}
	for (;;) {
		r.fields = f->fields;
		if (sg_filter_stopped(f) || !(rec = sg_next_record(&r, &bad)))
			break;
		if (bad)
			sg_filter_fail(f, SG_EXIT_DATA);
		if (sg_filter_stopped(f)) {
			json_decref(rec);
			break;
		}
		snprintf(f->where, sizeof f->where, "%s:%lu", r.name, r.line);
		f->rec = rec;
		f->text = r.text;
		f->len = r.len;
		fn(f, rec);
		f->rec = NULL;
		f->text = NULL;
		json_decref(rec);
	}
	if (bad)
		sg_filter_fail(f, SG_EXIT_DATA);
	if (ferror(r.fp))
		sg_filter_fail(f, SG_EXIT_IO);
	sg_reader_close(&r);
	snprintf(f->where, sizeof f->where, "%s", path ? path : "<stdin>");
}

/* A stage's work comes in bursts (a batch's end, records held for their
 * batch), and a pipe of 64 KiB fills in the first millisecond of one: the
 * stage before then waits for the burst to end, and the two stop sharing
 * the cores.  A pipe of 1 MiB (Linux's limit for anyone, best effort)
 * absorbs a burst. */
static void
widen_pipe(int fd)
{
#ifdef F_SETPIPE_SZ
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#else
	(void)fd;
#endif
}

int
sg_filter_run(struct sg_filter *f, char *const files[], int nfiles,
	void (*fn)(struct sg_filter *f, json_t *rec))
{
	widen_pipe(STDIN_FILENO);
	widen_pipe(STDOUT_FILENO);
	if (nfiles == 0)
		run_one(f, NULL, fn);
	for (int i = 0; i < nfiles && !sg_filter_stopped(f); i++)
		run_one(f, files[i], fn);
	return f->status;
}
