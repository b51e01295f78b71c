/*
 * vectors.c - the embeddings of the samples a run has kept, for the
 * similarity check, and the file that carries them from one run to the
 * next beside the --seen file of seen.c, appended under its lock in the
 * same way: each process takes the vectors the others appended since it
 * last looked before it adds its own.  The file's first line names the
 * embedding model and the number of dimensions, "sg-vectors DIM MODEL";
 * each further line is a unit vector, each number as the 8 hexadecimal
 * digits of its IEEE 754 single-precision bits, then a space and its
 * sample's id as a JSON string.  A line "blind" says that the model's
 * embeddings were found unable to tell texts apart (see modelcheck.c), so
 * that the iterations after the one that found it know.  Vectors are held
 * in single precision in memory too, so a sample is compared alike with
 * those of this run and those of the file.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "check/check-internal.h"

/* Beyond the widest embedding models (12288 numbers) by far, and small
 * enough that no size computed from it overflows. */
#define MAX_DIM 65536

struct sg_vecs {
	char *model; /* NULL until a check or the file names one */
	char *from;  /* the file that named it, or NULL */
	size_t dim;  /* 0 until the first vector */
	float *v;    /* n unit vectors of dim numbers */
	char **ids;
	size_t n, cap;
	off_t off;	     /* of the file, read or written so far */
	unsigned long lines; /* of the file, read so far */
	int blind; /* 1: the model's embeddings are blind; 2: the file says so
		    */
};

struct sg_vecs *
sg_vecs_new(void)
{
	return sg_xcalloc(1, sizeof(struct sg_vecs));
}

void
sg_vecs_free(struct sg_vecs *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
	free(s->v);
	free(s->model);
	free(s->from);
	free(s);
}

int
sg_vecs_fit(
	struct sg_vecs *s, const char *model, size_t dim, struct sg_error *e)
{
	char whose[300] = "the samples kept so far have";

	if (s->from)
		snprintf(whose, sizeof whose, "'%s' holds", s->from);
	if (s->model && strcmp(s->model, model) != 0) {
		sg_seterr(e, "%s embeddings of model '%s', not '%s'", whose,
			s->model, model);
		return -1;
	}
	if (s->dim && dim && s->dim != dim) {
		sg_seterr(e, "%s embeddings of %zu numbers, not %zu", whose,
			s->dim, dim);
		return -1;
	}
	if (dim > MAX_DIM) {
		sg_seterr(e, "embeddings of %zu numbers, more than %d", dim,
			MAX_DIM);
		return -1;
	}
	if (!s->model)
		s->model = sg_xstrdup(model);
	if (!s->dim)
		s->dim = dim;
	return 0;
}

/* Room for one more vector; its numbers. */
static float *
grow(struct sg_vecs *s)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = sg_xrealloc(s->v, s->cap * s->dim * sizeof *s->v);
		s->ids = sg_xrealloc(s->ids, s->cap * sizeof *s->ids);
	}
	return s->v + s->n * s->dim;
}

/* v scaled to length 1 (a zero vector stays zero) into out. */
static void
unit(float *out, const double *v, size_t dim)
{
	double norm = 0;

	for (size_t i = 0; i < dim; i++)
		norm += v[i] * v[i];
	norm = norm > 0 ? sqrt(norm) : 1;
	for (size_t i = 0; i < dim; i++)
		out[i] = (float)(v[i] / norm);
}

size_t
sg_vecs_add(struct sg_vecs *s, const double *v, const char *id)
{
	unit(grow(s), v, s->dim);
	s->ids[s->n] = sg_xstrdup(id);
	return s->n++;
}

/* The dot product in 8 partial sums, which the compiler keeps in vector
 * registers: every kept vector is scanned for each sample. */
static double
dot(const float *a, const float *b, size_t n)
{
	float part[8] = {0};
	double sum = 0;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			part[k] += a[i + k] * b[i + k];
	for (; i < n; i++)
		sum += (double)a[i] * b[i];
	for (int k = 0; k < 8; k++)
		sum += part[k];
	return sum;
}

/* The vector of s closest to the unit vector q, as sg_vecs_nearest. */
static long
nearest(const struct sg_vecs *s, const float *q, double *cosine)
{
	double best = -INFINITY, c;
	long at = -1;

	for (size_t j = 0; j < s->n; j++)
		if ((c = dot(q, s->v + j * s->dim, s->dim)) > best) {
			best = c;
			at = (long)j;
		}
	*cosine = best;
	return at;
}

long
sg_vecs_nearest(const struct sg_vecs *s, const double *v, double *cosine)
{
	float *q = sg_xmalloc((s->dim + 1) * sizeof *q);
	long at;

	unit(q, v, s->dim);
	at = nearest(s, q, cosine);
	free(q);
	return at;
}

long
sg_vecs_nearest_of(const struct sg_vecs *s, const struct sg_vecs *of, size_t i,
	double *cosine)
{
	return nearest(s, of->v + i * of->dim, cosine);
}

int
sg_vecs_blind(const struct sg_vecs *s, const char *model)
{
	return s->blind && s->model && strcmp(s->model, model) == 0;
}

int
sg_vecs_set_blind(
	struct sg_vecs *s, const char *model, size_t dim, struct sg_error *e)
{
	if (sg_vecs_fit(s, model, dim, e) < 0)
		return -1;
	if (!s->blind)
		s->blind = 1;
	return 0;
}

const char *
sg_vecs_id(const struct sg_vecs *s, size_t i)
{
	return s->ids[i];
}

/* The header "sg-vectors DIM MODEL" of path into s: 0, or -1 and e. */
static int
header(struct sg_vecs *s, const char *path, const char *line,
	struct sg_error *e)
{
	char *end;
	unsigned long long dim;

	if (strncmp(line, "sg-vectors ", 11) != 0 ||
		(dim = strtoull(line + 11, &end, 10)) == 0 || dim > MAX_DIM ||
		*end != ' ' || !end[1]) {
		sg_seterr(e, "%s:1: not the header of a vector file", path);
		return -1;
	}
	/* the model of this run's samples against the file's */
	if (s->model &&
		(strcmp(s->model, end + 1) != 0 || (s->dim && s->dim != dim))) {
		sg_seterr(e,
			"'%s' holds embeddings of model '%s' (%llu "
			"numbers), not '%s'",
			path, end + 1, dim, s->model);
		return -1;
	}
	sg_vecs_fit(s, end + 1, (size_t)dim, e);
	s->from = sg_xstrdup(path);
	return 0;
}

/* One vector line of s's dimensions into s: 0, or -1 when it is not one. */
static int
row(struct sg_vecs *s, const char *line)
{
	float *out = grow(s);
	char hex[9] = "";
	uint32_t bits;
	json_t *id;

	for (size_t i = 0; i < s->dim; i++, line += 8) {
		/* hexadecimal digits only, as strtoul takes signs and 0x too */
		for (int k = 0; k < 8; k++)
			if (!isxdigit((unsigned char)line[k]))
				return -1;
		memcpy(hex, line, 8);
		bits = (uint32_t)strtoul(hex, NULL, 16);
		memcpy(&out[i], &bits, sizeof bits);
		if (!isfinite(out[i]))
			return -1;
	}
	if (*line != ' ' || !(id = json_loads(line + 1, JSON_DECODE_ANY, NULL)))
		return -1;
	if (!json_is_string(id)) {
		json_decref(id);
		return -1;
	}
	s->ids[s->n++] = sg_xstrdup(json_string_value(id));
	json_decref(id);
	return 0;
}

int
sg_vecs_read(struct sg_vecs *s, const char *path, struct sg_vecs *fresh,
	struct sg_error *e)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *fp;
	int status;

	if (!(fp = sg_open_from(path, s->off, &status, e)))
		return status;
	while (!status && (len = getline(&buf, &cap, fp)) > 0) {
		if (buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (++s->lines == 1 && header(s, path, buf, e) < 0) {
			status = SG_EXIT_CONFIG;
		} else if (s->lines > 1 && strcmp(buf, "blind") == 0) {
			s->blind = 2;
		} else if (s->lines > 1 && row(s, buf) < 0) {
			sg_seterr(e,
				"%s:%lu: not a vector of %zu numbers and an "
				"id",
				path, s->lines, s->dim);
			status = SG_EXIT_CONFIG;
		} else if (s->lines > 1 && fresh) {
			sg_vecs_fit(fresh, s->model, s->dim, e);
			memcpy(grow(fresh), s->v + (s->n - 1) * s->dim,
				s->dim * sizeof *s->v);
			fresh->ids[fresh->n++] = sg_xstrdup(s->ids[s->n - 1]);
		}
	}
	if (!status && ferror(fp)) {
		sg_seterr(e, "cannot read '%s': %s", path, strerror(errno));
		status = SG_EXIT_IO;
	}
	if (!status)
		s->off = ftello(fp);
	free(buf);
	fclose(fp);
	return status;
}

int
sg_vecs_append(struct sg_vecs *s, const char *path, const size_t *which,
	size_t n, struct sg_error *e)
{
	const float *v;
	uint32_t bits;
	FILE *fp;
	json_t *id;

	if (n == 0 && s->blind != 1)
		return 0;
	if (!(fp = sg_fopen_nofollow(path, "a", e)))
		return -1;
	if (s->off == 0) {
		fprintf(fp, "sg-vectors %zu %s\n", s->dim, s->model);
		s->lines++;
	}
	if (s->blind == 1) {
		fputs("blind\n", fp);
		s->blind = 2;
		s->lines++;
	}
	s->lines += n;
	for (size_t j = 0; j < n; j++) {
		v = s->v + which[j] * s->dim;
		for (size_t i = 0; i < s->dim; i++) {
			memcpy(&bits, &v[i], sizeof bits);
			fprintf(fp, "%08lx", (unsigned long)bits);
		}
		fputc(' ', fp);
		if (!(id = json_string(s->ids[which[j]])))
			id = json_string(""); /* an input's name not in UTF-8 */
		json_dumpf(id, fp, JSON_ENCODE_ANY | JSON_COMPACT);
		json_decref(id);
		fputc('\n', fp);
	}
	/* what this process wrote is not news to it */
	return sg_close_synced(fp, path, &s->off, e);
}
