/*
 * record.h - the record stream (sg-jsonl(5)): reading and writing records,
 * the fields of a record, and the loop every record filter runs.
 */
#ifndef SG_RECORD_H
#define SG_RECORD_H

#include "base/base.h"

/* filter.c: the tool layer of a record filter: its shared options, the
 * loop over its inputs, positions in its messages, its exit status */
enum { SG_OPT_STRICT = 0x100 }; /* the long-only --strict */

struct sg_filter {
	const char *usage; /* "usage: sg-x ...\n" */
	int strict, unbuffered;
	int status;	   /* the worst so far, as enum sg_exit */
	char where[4096];  /* "name:line" of the record in hand */
	const json_t *rec; /* the record in hand, */
	const char *text;  /* its bytes, and how many */
	size_t len;
	/* The paths a sample is read for (see record-internal.h), "type" among
	 * them, or NULL for all of it; a tool may change them between records.
	 * Other records are read whole.  A sample read in part must go out
	 * spliced into its bytes (sg_filter_splice, sg_filter_keep). */
	const char *const *fields;
};

_Noreturn void sg_usage(const char *usage, int status);
/* -h, -u, -V, -v and --strict: 1 when c was one of them. */
int sg_filter_option(struct sg_filter *f, int c);
/* Calls fn on each record of the files in turn (standard input when there
 * are none; "-" names it too) and returns the exit status; fn borrows the
 * record.  Stops early under --strict once anything went wrong. */
int sg_filter_run(struct sg_filter *f, char *const files[], int nfiles,
	void (*fn)(struct sg_filter *f, json_t *rec));
/* "prog: name:line: why" for the record in hand; the status becomes 1. */
void sg_filter_bad(struct sg_filter *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sg_filter_fail(struct sg_filter *f, int status);
int sg_filter_stopped(const struct sg_filter *f);
/* Write a record to standard output; a failed write ends the program. */
void sg_filter_put(struct sg_filter *f, json_t *rec);
/* Write the record in hand as it was read, but for the fields named in
 * owned (NULL-terminated): each is rec's value, in its place or at the
 * end, or left out when rec has none.  Any other record (one held past its
 * line) is written whole, as sg_filter_put. */
void sg_filter_splice(
	struct sg_filter *f, json_t *rec, const char *const owned[]);
/* A copy of the bytes of the record in hand (len of them), for a record
 * held past its line; NULL when there are none. */
char *sg_filter_keep(const struct sg_filter *f, size_t *len);
/* sg_filter_splice into the bytes kept for rec; text NULL: as it. */
void sg_filter_splice_from(struct sg_filter *f, const char *text, size_t len,
	json_t *rec, const char *const owned[]);
/* sg_record_batch, reporting a record without its (run, batch) as
 * "prog: where: why". */
int sg_record_batch_at(const json_t *rec, const char *where, const char **run,
	long long *batch);
/* A filter's batches by (run, batch), the tool's own pointer for each, in
 * the order they came first; zeroed, it is empty. */
struct sg_batches {
	void **v;
	size_t n;
	json_t *index; /* "batch run" -> position in v */
	/* the one asked for last: a batch's records mostly come together */
	char *last_run;
	long long last_id;
	size_t last;
};
/* The pointer given for (run, id), or NULL when the batch is new. */
void *sg_batches_get(struct sg_batches *t, const char *run, long long id);
/* Gives b to a new batch (run, id), at v[n]. */
void sg_batches_add(
	struct sg_batches *t, const char *run, long long id, void *b);
/* Empties t; the pointers are the tool's to free first. */
void sg_batches_free(struct sg_batches *t);

/* jsonl.c: reading and writing records, one JSON object per line */
#define SG_MAX_RECORD (16u << 20)

struct sg_reader {
	FILE *fp;
	const char *name; /* "<stdin>" or the path, for messages */
	unsigned long line;
	char *buf;
	size_t cap;
	int owned;
	const char *text; /* the last record's bytes, in buf */
	size_t len;
	const char *const *fields; /* a sample is read for these, if set */
};

int sg_reader_open(struct sg_reader *r, const char *path, struct sg_error *e);
void sg_reader_close(struct sg_reader *r);
/* 1 and *out on a record, 0 at end, -1 on a bad line (e says why, r->line
 * says where); reading may go on after -1.  A sample is read for
 * r->fields only, when they are set and sg_lazy_load is sure of it. */
int sg_read_record(struct sg_reader *r, json_t **out, struct sg_error *e);
/* A tool's one way to read records: each bad line is reported as
 * "prog: name:line: why", counted, and skipped. */
json_t *sg_next_record(struct sg_reader *r, int *bad);
int sg_write_record(FILE *fp, json_t *rec, int unbuffered);
/* Appends rec to fd as one line in one write(2): to a file opened with
 * O_APPEND, the lines of processes writing side by side never mix.  0, or
 * -1 and errno. */
int sg_append_record(int fd, json_t *rec);
char *sg_dumps(const json_t *j);

const char *sg_rec_type(const json_t *rec);
const char *sg_get_str(const json_t *obj, const char *key);
double sg_get_num(const json_t *obj, const char *key, double dflt);
long long sg_get_int(const json_t *obj, const char *key, long long dflt);
int sg_get_bool(const json_t *obj, const char *key, int dflt);
json_t *sg_path(const json_t *obj, const char *dotted); /* null: NULL */
/* The (run, batch) a record belongs to, and for a sample its "id" too:
 * 0, or -1 and e saying what is missing or wrong. */
int sg_record_batch(const json_t *rec, const char **run, long long *batch,
	struct sg_error *e);

/* labelled.c: labelled sets, real examples for sg-eval and sg-score */
struct sg_labelled { /* parallel arrays of malloc'd strings */
	char **label, **text;
	size_t n, cap;
};

void sg_labelled_add(
	struct sg_labelled *d, const char *label, const char *text);
void sg_labelled_free(struct sg_labelled *d);
/* A label as a malloc'd string: a JSON string as it is, an integer or a
 * boolean written out (so 0/1 labels work); NULL for anything else. */
char *sg_label_string(const json_t *v);
/* Append the examples of a file: JSON Lines (the label and text fields
 * of each object, or of its "data" object as in sg samples) or, when the
 * first line does not start with '{', label<TAB>text lines.  -1 and e
 * when the file cannot be read, -2 and e ("path:line: why") on the first
 * bad line or when it holds no example. */
int sg_labelled_load(struct sg_labelled *d, const char *path,
	const char *label_field, const char *text_field, struct sg_error *e);

/* mix.c: the label mix a recipe asks for and the labels of a job's
 * samples planned by it (sg-plan(1)) */
struct sg_mix {
	const char *field; /* of a sample's data: evaluation.label_field */
	size_t n;
	char **label;  /* task_input.labels, then label_distribution's */
	double *share; /* by label_distribution, else equal; sum 1 */
};
/* 1 when recipe names labels, else 0; m is to be freed either way. */
int sg_mix_init(struct sg_mix *m, const json_t *recipe);
void sg_mix_free(struct sg_mix *m);
/* The label of a sample's data as sg_label_string gives it, or NULL. */
char *sg_mix_label(const struct sg_mix *m, const json_t *data);
/* The labels of n more samples, after those counted (label -> count,
 * may be NULL): what each label lacks of its share of the count with
 * them, apportioned by largest remainder (the first label on ties),
 * grouped by label in m's order. */
json_t *sg_mix_plan(const struct sg_mix *m, const json_t *counts, long long n);

#endif
