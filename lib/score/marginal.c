/*
 * marginal.c - what a batch adds to the dataset being built: the parts of
 * its reward that weigh its passing samples against the samples the run
 * has accepted (novelty, label fidelity, the label mix) and, with a dev
 * set of real labelled examples, what they do for a model tested on it.
 * Each passing sample joins the accepted ones once measured, so a batch
 * is weighed against everything before it, its own earlier samples too.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>

#include "base/base.h"
#include "record/record.h"
#include "score/score.h"

/* Fidelity needs a model of the other arms that has seen this many
 * samples of every label: fewer make its verdicts noise. */
#define FIDELITY_MIN 10
/* How far above its share in label_distribution a label may run before
 * a sample of it no longer counts towards the mix: this share of the
 * samples, or one sample while they are few. */
#define MIX_SLACK 0.02

void
sg_marginal_conf_read(struct sg_marginal_conf *c, const json_t *recipe)
{
	const json_t *ti = json_object_get(recipe, "task_input");
	const json_t *ev = json_object_get(recipe, "evaluation");

	c->labels = json_object_get(ti, "labels");
	c->dist = json_object_get(ti, "label_distribution");
	c->labelled =
		json_array_size(c->labels) > 0 || json_object_size(c->dist) > 0;
	c->label_field = sg_get_str(ev, "label_field");
	c->text_field = sg_get_str(ev, "text_field");
	if (!c->label_field)
		c->label_field = "label";
	if (!c->text_field)
		c->text_field = "text";
}

void
sg_marginal_init(struct sg_marginal *m)
{
	memset(m, 0, sizeof *m);
	m->accepted = sg_profile_new();
}

/* p as the accepted samples' profile, its counts in the snapshot image
 * (NULL: none), the one before freed. */
static void
accepted_from(
	struct sg_marginal *m, struct sg_profile *p, void *image, size_t len)
{
	sg_profile_free(m->accepted);
	if (m->image)
		munmap(m->image, m->image_len);
	m->accepted = p;
	m->image = image;
	m->image_len = len;
}

void
sg_marginal_free(struct sg_marginal *m)
{
	accepted_from(m, NULL, NULL, 0);
	sg_profile_free(m->devp);
	for (size_t i = 0; i < m->ndev; i++) {
		free(m->dev[i].label);
		sg_feats_free(&m->dev[i].f);
	}
	free(m->dev);
	sg_feats_free(&m->f);
	memset(m, 0, sizeof *m);
}

/* A sample's label and the text its label is about: the text field of
 * its data when the recipe names one or "text" is there, else every
 * string of the data but the label. */
static char *
sample_view(const struct sg_marginal_conf *c, const json_t *data, char **label)
{
	json_t *copy, *t;
	char *text;

	*label = c->labelled ? sg_label_string(sg_path(data, c->label_field))
			     : NULL;
	t = json_is_object(data) ? json_object_get(data, c->text_field) : NULL;
	if (json_is_string(t))
		return sg_xstrdup(json_string_value(t));
	if (!*label || !json_is_object(data))
		return sg_sample_text(data);
	copy = json_copy((json_t *)data);
	json_object_del(copy, c->label_field);
	text = sg_sample_text(copy);
	json_decref(copy);
	return text;
}

/* The profile the dev set and the recipe's examples add to every model
 * that measures fidelity, made on first use. */
static struct sg_profile *
reference(struct sg_marginal *m)
{
	if (!m->devp)
		m->devp = sg_profile_new();
	return m->devp;
}

void
sg_marginal_examples(struct sg_marginal *m, const struct sg_marginal_conf *c,
	const json_t *recipe)
{
	const json_t *ex;
	char *label, *text;
	size_t i;

	if (!c->labelled)
		return;
	json_array_foreach (sg_path(recipe, "task_input.examples"), i, ex) {
		if (!json_is_object(ex))
			continue;
		text = sample_view(c, ex, &label);
		if (label) {
			sg_feats_read(&m->f, text);
			sg_profile_add(reference(m), NULL, label, &m->f, 1);
		}
		free(label);
		free(text);
	}
}

void
sg_marginal_accept(struct sg_marginal *m, const struct sg_marginal_conf *c,
	const char *arm, const json_t *data)
{
	char *label, *text = sample_view(c, data, &label);

	sg_feats_read(&m->f, text);
	sg_profile_add(m->accepted, arm, label, &m->f, 1);
	free(label);
	free(text);
}

/* What an accepted sample is read for: the rest of its line, checks and
 * all, costs jansson more to build than the sample's counts do. */
static const char *const sample_fields[] = {"type", "arm", "data", NULL};

/* The samples in the output at path from byte from (line *line) to byte
 * bytes; *line ends at the last line read. */
static int
load_range(struct sg_marginal *m, const struct sg_marginal_conf *c,
	const char *path, long long from, unsigned long *line, long long bytes,
	struct sg_error *e)
{
	struct sg_reader r;
	struct sg_error le; /* the line's, said with where it is */
	json_t *rec;
	int rc;

	if (sg_reader_open(&r, path, e) < 0)
		return -1;
	r.fields = sample_fields;
	r.line = *line;
	if (from > 0 && fseeko(r.fp, from, SEEK_SET) < 0) {
		sg_seterr(e, "%s: %s", path, strerror(errno));
		sg_reader_close(&r);
		return -1;
	}
	while (ftello(r.fp) < bytes && (rc = sg_read_record(&r, &rec, &le))) {
		if (rc < 0) {
			sg_seterr(e, "%s:%lu: %s", path, r.line, le.text);
			sg_reader_close(&r);
			return -1;
		}
		if (strcmp(sg_rec_type(rec), "sample") == 0 &&
			json_object_get(rec, "data"))
			sg_marginal_accept(m, c, sg_get_str(rec, "arm"),
				json_object_get(rec, "data"));
		json_decref(rec);
	}
	*line = r.line;
	sg_reader_close(&r);
	return 0;
}

/*
 * A snapshot of the profile that a state's output gives, beside the state
 * (STATE.profile-HASH), so that a batch reads only the samples accepted
 * since the last one instead of all of them again.  HASH is of the fields
 * a sample is read for and of what the profile held before the output (a
 * recipe's examples, for sg-gen's labeller), so each reader has its own.
 * A snapshot is used only when it is whole (its length, and the checksum
 * of all but its table's cells), and the output is the file it was taken
 * of: the same device and inode, and the same last bytes before the point
 * it covers.  Any other is rebuilt, never trusted; a lost one costs a full
 * read.  The counts' table is used where it lies, in a private mapping of
 * the file: a batch touches the pages of its own samples' n-grams, not the
 * whole table (bench/RESULTS.md).  A snapshot is synced before it is
 * renamed into place, so no table is read half written after a crash.  It is
 * written again only when what it lacks is more than a quarter of what it
 * holds: most batches read on from an older one rather than rewrite it whole,
 * and the rewrites cost a constant share of the samples read
 * (bench/RESULTS.md).
 */
#define SNAP_MAGIC "sgprof4\n"
#define SNAP_TAIL 4096

struct snap_head {
	char magic[8];
	uint64_t sum;	       /* of the rest of the file but the cells */
	uint64_t dev, ino;     /* the output's */
	uint64_t bytes, lines; /* of the output, covered */
	uint64_t tail;	       /* checksum of its SNAP_TAIL bytes before */
};

/* CRC-32, the same as zlib's crc32 */
static uint64_t
checksum(const char *s, size_t n)
{
	return libdeflate_crc32(0, s, n);
}

/* The checksum of the up to SNAP_TAIL bytes of fd before offset end, made
 * odd; 0 when they cannot all be read. */
static uint64_t
tail_sum(int fd, uint64_t end)
{
	char buf[SNAP_TAIL];
	size_t n = end < SNAP_TAIL ? (size_t)end : SNAP_TAIL;

	if (pread(fd, buf, n, (off_t)(end - n)) != (ssize_t)n)
		return 0;
	return checksum(buf, n) << 1 | 1;
}

static char *
snap_path(const struct sg_marginal *m, const struct sg_marginal_conf *c,
	const char *state)
{
	struct sg_buf b = {0};
	uint64_t h;
	char *path;

	sg_buf_add(&b, c->label_field, strlen(c->label_field) + 1);
	sg_buf_add(&b, c->text_field, strlen(c->text_field) + 1);
	sg_buf_add(&b, c->labelled ? "1" : "0", 1);
	sg_profile_dump(m->accepted, &b);
	h = sg_hash64(b.p, b.len);
	free(b.p);
	path = sg_xmalloc(strlen(state) + sizeof ".profile-" + 16);
	sprintf(path, "%s.profile-%016llx", state, (unsigned long long)h);
	return path;
}

/* The snapshot at snap into m when it holds the output fd (st) names,
 * up to at most bytes; its head in h, or 0. */
static int
snap_read(struct sg_marginal *m, const char *snap, int fd,
	const struct stat *st, long long bytes, struct snap_head *h)
{
	int sfd = open(snap, O_RDONLY | O_CLOEXEC);
	struct sg_profile *p = NULL;
	struct stat sst;
	size_t len = 0, head;
	char *s = MAP_FAILED;

	if (sfd >= 0 && fstat(sfd, &sst) == 0 &&
		(size_t)sst.st_size >= sizeof *h) {
		len = (size_t)sst.st_size;
		s = mmap(
			NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, sfd, 0);
	}
	if (sfd >= 0)
		close(sfd);
	if (s != MAP_FAILED) {
		memcpy(h, s, sizeof *h);
		if (memcmp(h->magic, SNAP_MAGIC, 8) == 0 &&
			h->dev == (uint64_t)st->st_dev &&
			h->ino == (uint64_t)st->st_ino &&
			h->bytes <= (uint64_t)bytes &&
			h->bytes <= (uint64_t)st->st_size &&
			h->tail == tail_sum(fd, h->bytes))
			p = sg_profile_view(
				s + sizeof *h, len - sizeof *h, &head);
		if (p && h->sum != checksum(s + sizeof *h, head)) {
			sg_profile_free(p);
			p = NULL;
		}
	}
	if (!p) {
		if (s != MAP_FAILED)
			munmap(s, len);
		memset(h, 0, sizeof *h);
		return 0;
	}
	accepted_from(m, p, s, len);
	return 1;
}

/* A snapshot of m as the output stands at bytes, line: a failure only
 * costs the next reader a full read, so it is not an error. */
static void
snap_write(const struct sg_marginal *m, const char *snap, int fd,
	const struct stat *st, long long bytes, unsigned long line)
{
	struct snap_head h = {.dev = (uint64_t)st->st_dev,
		.ino = (uint64_t)st->st_ino,
		.bytes = (uint64_t)bytes,
		.lines = line,
		.tail = tail_sum(fd, (uint64_t)bytes)};
	struct sg_buf b = {0};
	size_t head;

	sg_buf_add(&b, (const char *)&h, sizeof h);
	head = sg_profile_dump(m->accepted, &b);
	memcpy(h.magic, SNAP_MAGIC, 8);
	h.sum = checksum(b.p + sizeof h, head);
	memcpy(b.p, &h, sizeof h);
	if (h.tail)
		sg_write_atomic(snap, b.p, b.len, NULL);
	free(b.p);
}

/* The samples in the first bytes of the output at path, from the snapshot
 * and what was accepted after it. */
static int
load_output(struct sg_marginal *m, const struct sg_marginal_conf *c,
	const char *state, const char *path, long long bytes,
	struct sg_error *e)
{
	char *snap = snap_path(m, c, state);
	struct snap_head h = {0};
	struct stat st;
	unsigned long line = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
	int known = fd >= 0 && fstat(fd, &st) == 0; /* which file it is */

	if (known && snap_read(m, snap, fd, &st, bytes, &h))
		line = h.lines;
	rc = load_range(m, c, path, (long long)h.bytes, &line, bytes, e);
	if (rc == 0 && known && (uint64_t)bytes - h.bytes > h.bytes / 4 &&
		bytes <= st.st_size)
		snap_write(m, snap, fd, &st, bytes, line);
	if (fd >= 0)
		close(fd);
	free(snap);
	return rc;
}

int
sg_marginal_load_state(struct sg_marginal *m, const struct sg_marginal_conf *c,
	const char *path, struct sg_error *e)
{
	json_error_t je;
	json_t *st, *out;
	int rc = 0;

	/* replaced whole, never written in place: no lock to read it */
	if (!(st = json_load_file(path, 0, &je))) {
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return 0;
		sg_seterr(e, "state '%s': %s", path, je.text);
		return -1;
	}
	out = json_object_get(st, "output");
	if (sg_get_str(out, "path"))
		rc = load_output(m, c, path, sg_get_str(out, "path"),
			sg_get_int(out, "bytes", 0), e);
	json_decref(st);
	return rc;
}

int
sg_marginal_dev(struct sg_marginal *m, const struct sg_marginal_conf *c,
	const char *path, struct sg_error *e)
{
	struct sg_labelled d = {0};

	if (sg_labelled_load(&d, path, c->label_field, c->text_field, e) < 0)
		return -1;
	m->dev = sg_xcalloc(d.n, sizeof *m->dev);
	m->ndev = d.n;
	for (size_t i = 0; i < d.n; i++) {
		m->dev[i].label = sg_xstrdup(d.label[i]);
		sg_feats_read(&m->dev[i].f, d.text[i]);
		sg_profile_add(reference(m), NULL, d.label[i], &m->dev[i].f, 1);
	}
	sg_labelled_free(&d);
	return 0;
}

/* The mean probability a model of the accepted samples gives the dev
 * set's true labels; NAN while it knows fewer than two labels. */
static double
dev_score(const struct sg_marginal *m)
{
	double sum = 0, p;

	for (size_t i = 0; i < m->ndev; i++) {
		p = sg_profile_prob(m->accepted, NULL, NULL, m->dev[i].label,
			&m->dev[i].f, 1);
		if (p < 0)
			return NAN;
		sum += p;
	}
	return m->ndev ? sum / (double)m->ndev : NAN;
}

/* Whether a sample of label keeps the accepted samples within the
 * recipe's mix: the label's count before it below its share in
 * label_distribution (or an equal share of labels) of the count with it,
 * plus the slack. */
static int
in_mix(const struct sg_marginal *m, const struct sg_marginal_conf *c,
	const char *label)
{
	double all = sg_profile_count(m->accepted, NULL) + 1;
	double mine = sg_profile_count(m->accepted, label), want;
	json_t *w = json_object_get(c->dist, label);
	size_t k = json_array_size(c->labels);

	if (json_is_number(w))
		want = json_number_value(w);
	else if (json_object_size(c->dist) > 0)
		want = 0;
	else
		want = k ? 1.0 / (double)k : 1;
	return mine < want * all + fmax(1, MIX_SLACK * all);
}

int
sg_marginal_sample(struct sg_marginal *m, const struct sg_marginal_conf *c,
	struct sg_batch_parts *b, const char *arm, const json_t *data,
	double min, double *fidelity)
{
	char *label, *text = sample_view(c, data, &label);
	size_t distinct;
	double p = -1;

	if (b->added == 0) {
		b->dev_before = m->ndev ? dev_score(m) : NAN;
		b->had = sg_profile_count(m->accepted, NULL);
	}
	sg_feats_read(&m->f, text);
	if (label) {
		p = sg_profile_prob(m->accepted, arm ? arm : "", m->devp, label,
			&m->f, FIDELITY_MIN);
		if (p >= 0) {
			b->fidelity += p;
			b->nfidelity++;
		}
		/* a label that all else contradicts is not taken: the
		 * extractive arm's labeller would learn it (bench/RESULTS.md),
		 * and the arm's fidelity has counted it */
		if (p >= 0 && p < min) {
			free(label);
			free(text);
			*fidelity = p;
			return 0;
		}
	}
	distinct = m->f.n;
	b->novelty += distinct ? (double)sg_profile_unseen(m->accepted, &m->f) /
					 (double)distinct
			       : 0;
	if (label) {
		b->mix += in_mix(m, c, label);
		b->nmix++;
	}
	sg_profile_add(m->accepted, arm, label, &m->f, 1);
	b->added++;
	if (m->keep) {
		struct sg_taken *t;

		b->taken = sg_xrealloc(
			b->taken, (b->ntaken + 1) * sizeof *b->taken);
		t = &b->taken[b->ntaken++];
		t->arm = arm ? sg_xstrdup(arm) : NULL;
		t->label = label;
		label = NULL;
		/* the features move to the batch; the next read makes new */
		t->f = m->f;
		m->f = (struct sg_feats){0};
	}
	free(label);
	free(text);
	*fidelity = p;
	return 1;
}

void
sg_marginal_undo(struct sg_marginal *m, struct sg_batch_parts *b)
{
	for (size_t i = 0; i < b->ntaken; i++)
		sg_profile_add(m->accepted, b->taken[i].arm, b->taken[i].label,
			&b->taken[i].f, -1);
	sg_batch_parts_free(b);
}

void
sg_batch_parts_free(struct sg_batch_parts *b)
{
	for (size_t i = 0; i < b->ntaken; i++) {
		free(b->taken[i].arm);
		free(b->taken[i].label);
		sg_feats_free(&b->taken[i].f);
	}
	free(b->taken);
	b->taken = NULL;
	b->ntaken = 0;
}

void
sg_marginal_parts(const struct sg_marginal *m, const struct sg_batch_parts *b,
	double part[SG_NPARTS])
{
	double after, gain;

	part[SG_PART_NOVELTY] = b->added ? b->novelty / (double)b->added : 0;
	part[SG_PART_FIDELITY] =
		b->nfidelity ? b->fidelity / (double)b->nfidelity : NAN;
	part[SG_PART_LABELS] = b->nmix ? b->mix / (double)b->nmix : NAN;
	part[SG_PART_DEV] = NAN;
	if (m->ndev && b->added && !isnan(b->dev_before)) {
		after = dev_score(m);
		/* per unit of the batch's share of the samples, so that a
		 * batch of a large dataset is read on the scale of one of a
		 * small one */
		gain = (after - b->dev_before) * (b->had + (double)b->added) /
		       (double)b->added;
		part[SG_PART_DEV] = sg_reward_dev(gain);
	}
}
