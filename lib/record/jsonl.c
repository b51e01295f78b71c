/*
 * jsonl.c - records: one JSON object per line, each with a string "type".
 * See sg-jsonl(5).  Reading tolerates what editors and other tools leave
 * behind (CRLF, a UTF-8 BOM, blank lines, no final newline) and refuses
 * the rest line by line, so one bad record never hides the good ones.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "record/record-internal.h"

int
sg_reader_open(struct sg_reader *r, const char *path, struct sg_error *e)
{
	memset(r, 0, sizeof *r);
	if (!path || strcmp(path, "-") == 0) {
		r->fp = stdin;
		r->name = "<stdin>";
		return 0;
	}
	r->fp = fopen(path, "re");
	if (!r->fp) {
		sg_seterr(e, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	r->name = path;
	r->owned = 1;
	return 0;
}

void
sg_reader_close(struct sg_reader *r)
{
	if (r->owned && r->fp)
		fclose(r->fp);
	free(r->buf);
	r->buf = NULL;
	r->fp = NULL;
}

/* The bytes fp has read ahead and not yet given out, as gnulib's
 * freadptr finds them in glibc's FILE: a line is then looked for with
 * memchr and copied at once, where a getc a byte was a tenth of reading
 * a record.  Elsewhere none, and the caller reads a byte at a time. */
static const char *
ahead(FILE *fp, size_t *n)
{
#ifdef __GLIBC__
	if (fp->_IO_write_ptr <= fp->_IO_write_base &&
		fp->_IO_read_end > fp->_IO_read_ptr) {
		*n = (size_t)(fp->_IO_read_end - fp->_IO_read_ptr);
		return fp->_IO_read_ptr;
	}
#endif
	(void)fp;
	*n = 0;
	return NULL;
}

static void
take_ahead(FILE *fp, size_t n)
{
#ifdef __GLIBC__
	fp->_IO_read_ptr += n;
#else
	(void)fp, (void)n;
#endif
}

/* Appends n bytes of p to the line of len bytes in r->buf, up to the
 * limit: past it the line is only consumed, and *toolong set. */
static void
line_add(
	struct sg_reader *r, size_t *len, const char *p, size_t n, int *toolong)
{
	if (*len + n > SG_MAX_RECORD) {
		*toolong = 1;
		n = SG_MAX_RECORD - *len;
	}
	if (*len + n + 1 > r->cap) {
		while (*len + n + 1 > r->cap)
			r->cap = r->cap ? 2 * r->cap : 4096;
		r->buf = sg_xrealloc(r->buf, r->cap);
	}
	memcpy(r->buf + *len, p, n);
	*len += n;
}

/* Read one physical line into r->buf; a line longer than the limit is
 * consumed whole and reported.  What follows the line stays in r->fp. */
static ssize_t
read_line(struct sg_reader *r, int *toolong)
{
	size_t len = 0, n;
	const char *p, *nl;
	char byte;
	int c = 0;

	*toolong = 0;
	for (;;) {
		if ((p = ahead(r->fp, &n))) {
			nl = memchr(p, '\n', n);
			line_add(
				r, &len, p, nl ? (size_t)(nl - p) : n, toolong);
			take_ahead(r->fp, nl ? (size_t)(nl - p) + 1 : n);
			if (nl)
				break;
			continue;
		}
		/* none read ahead: one byte, reading more into fp */
		if ((c = getc_unlocked(r->fp)) == EOF || c == '\n')
			break;
		byte = (char)c;
		line_add(r, &len, &byte, 1, toolong);
	}
	if (c == EOF && len == 0 && !*toolong)
		return -1;
	if (!r->buf)
		r->buf = sg_xmalloc(r->cap = 4096);
	r->buf[len] = '\0';
	return (ssize_t)len;
}

int
sg_read_record(struct sg_reader *r, json_t **out, struct sg_error *e)
{
	json_error_t je;
	ssize_t len;
	char *p;
	int toolong;

	*out = NULL;
	for (;;) {
		len = read_line(r, &toolong);
		if (len < 0) {
			if (ferror(r->fp)) {
				sg_seterr(e, "read error: %s", strerror(errno));
				return -1;
			}
			return 0;
		}
		r->line++;
		if (toolong) {
			sg_seterr(e, "record longer than %u bytes",
				SG_MAX_RECORD);
			return -1;
		}
		p = r->buf;
		if (r->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
			p += 3, len -= 3;
		if (len > 0 && p[len - 1] == '\r')
			p[--len] = '\0';
		if (strspn(p, " \t") != (size_t)len)
			break;
	}
	r->text = p;
	r->len = (size_t)len;
	/* a sample in part, when sg_lazy_load is sure of the line; any
	 * other record whole, and any line it is unsure of, so that jansson
	 * says what is wrong with it */
	if (r->fields && (*out = sg_lazy_load(p, (size_t)len, r->fields))) {
		if (strcmp(sg_rec_type(*out) ? sg_rec_type(*out) : "",
			    "sample") == 0)
			return 1;
		json_decref(*out);
	}
	*out = json_loadb(p, (size_t)len, JSON_REJECT_DUPLICATES, &je);
	if (!*out) {
		sg_seterr(
			e, "invalid JSON at column %d: %s", je.column, je.text);
		return -1;
	}
	if (!json_is_object(*out)) {
		sg_seterr(e, "record is not a JSON object");
		goto bad;
	}
	if (!json_is_string(json_object_get(*out, "type"))) {
		sg_seterr(e, "missing string field \"type\"");
		goto bad;
	}
	return 1;
bad:
	json_decref(*out);
	*out = NULL;
	return -1;
}

json_t *
sg_next_record(struct sg_reader *r, int *bad)
{
	struct sg_error e;
	json_t *rec;
	int got;

	while ((got = sg_read_record(r, &rec, &e)) < 0) {
		sg_warn("%s:%lu: %s", r->name, r->line, e.text);
		(*bad)++;
		if (ferror(r->fp))
			return NULL;
	}
	return got ? rec : NULL;
}

char *
sg_dumps(const json_t *j)
{
	return json_dumps(j, SG_DUMP_FLAGS | JSON_ENCODE_ANY);
}

/* rec and a newline in one buffer, reused: json_dumpf writes token by
 * token, and a record must go out in one write.  Its length, or 0 when
 * rec cannot be encoded. */
static size_t
dump_line(json_t *rec, char **out)
{
	static char *buf;
	static size_t cap;
	size_t n = json_dumpb(rec, buf, cap, SG_DUMP_FLAGS);

	if (n >= cap) {
		cap = 2 * n + 2;
		buf = sg_xrealloc(buf, cap);
		n = json_dumpb(rec, buf, cap, SG_DUMP_FLAGS);
	}
	if (n == 0)
		return 0;
	buf[n++] = '\n';
	*out = buf;
	return n;
}

int
sg_write_record(FILE *fp, json_t *rec, int unbuffered)
{
	char *buf;
	size_t n = dump_line(rec, &buf);

	if (n == 0 || fwrite(buf, 1, n, fp) != n)
		return -1;
	if (unbuffered && fflush(fp) == EOF)
		return -1;
	return 0;
}

int
sg_append_record(int fd, json_t *rec)
{
	char *buf;
	size_t n = dump_line(rec, &buf);
	ssize_t w;

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	/* a regular file takes it whole; the loop is for a signal or a full
	 * disk part way */
	while (n > 0) {
		if ((w = write(fd, buf, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

const char *
sg_rec_type(const json_t *rec)
{
	return json_string_value(json_object_get(rec, "type"));
}

const char *
sg_get_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

double
sg_get_num(const json_t *obj, const char *key, double dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

long long
sg_get_int(const json_t *obj, const char *key, long long dflt)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	/* jq writes every number as a double: accept the integral ones */
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d >= -0x1p63 && d < 0x1p63 && d == (double)(long long)d)
			return (long long)d;
	}
	return dflt;
}

int
sg_get_bool(const json_t *obj, const char *key, int dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* "a.b.c" through nested objects; NULL where any step is missing or the
 * value is null. */
json_t *
sg_path(const json_t *obj, const char *dotted)
{
	char key[256];
	const char *dot;
	json_t *cur = (json_t *)obj;
	size_t n;

	while (cur && *dotted) {
		dot = strchr(dotted, '.');
		n = dot ? (size_t)(dot - dotted) : strlen(dotted);
		if (n >= sizeof key)
			return NULL;
		memcpy(key, dotted, n);
		key[n] = '\0';
		cur = json_object_get(cur, key);
		dotted += n + (dot != NULL);
	}
	/* a recipe's null means the same as leaving the field out */
	return json_is_null(cur) ? NULL : cur;
}

int
sg_record_batch(const json_t *rec, const char **run, long long *batch,
	struct sg_error *e)
{
	const char *type = sg_rec_type(rec);

	if (strcmp(type, "sample") == 0 &&
		!json_is_string(json_object_get(rec, "id"))) {
		sg_seterr(e, "sample has no \"id\"");
		return -1;
	}
	if (!(*run = sg_get_str(rec, "run"))) {
		sg_seterr(e, "%s has no \"run\"", type);
		return -1;
	}
	if (!json_object_get(rec, "batch")) {
		sg_seterr(e, "%s has no \"batch\"", type);
		return -1;
	}
	*batch = sg_get_int(rec, "batch", -1);
	if (*batch < 0) {
		sg_seterr(e, "%s \"batch\" is not an integer", type);
		return -1;
	}
	return 0;
}
