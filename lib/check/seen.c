/*
 * seen.c - the keys a run has taken, for deduplication: the 64-bit hashes
 * of exact values and the bucket keys of near-duplicates alike, and the
 * file that carries them from one run to the next, one key of 16
 * hexadecimal digits a line, appended under a lock.  Concurrent processes
 * share the file: each takes, under the lock, the keys the others appended
 * since it last looked before it adds its own.
 *
 * A sample this process takes costs a 32-bit slot a key in memory: its
 * number beside a tag of the key's bits.  Its record (its keys, its
 * shingle set and its id) goes to an unlinked temporary file, read back
 * when a slot's tag matches: the whole key there settles the match, and a
 * near-duplicate found by a shared bucket is checked by the exact Jaccard
 * similarity of the two sets (LSH also pairs many texts below the
 * threshold), so every answer is that of a table of whole keys and sets.
 * A key from the file has no sample behind it and is held whole.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "check/check-internal.h"

/* Linear probing that never wraps: a key is at its home or after it, in
 * nslots (a power of two) and TAIL more.  Doubling, the table then grows
 * in place, its slots rehashed in order (a key's new home is its old one
 * or nslots after it, so none lands on a key not yet moved): the pages
 * the kernel zeroes for it are the new half's alone.  A key that finds
 * the end full goes to spill, as only keys made to collide can. */
#define TAIL 4096

/* The keys of the file, whole; 0 marks an empty slot. */
struct whole {
	uint64_t *slots;
	size_t nslots, nused;
	uint64_t *spill;
	size_t nspill;
};

/* The index of this process's samples grows by a pass over their records
 * to a table of 1 / LOW_LOAD its keys once they fill HIGH_LOAD of it: at
 * any size, not a power of two's, so it stays 60 % to 85 % full. */
#define LOW_LOAD 0.6
#define HIGH_LOAD 0.85
/* Records are written in blocks of at least this size. */
#define WBUF (1u << 16)
/* Samples a record offset base covers */
#define BLOCK (1u << 16)

/* A record: its number of keys, of shingles (NO_SET when it was taken
 * without its set) and the length of its id, then the keys (0 for one an
 * earlier sample holds), the shingles as they came and the id. */
#define NO_SET UINT32_MAX
struct head {
	uint32_t nkeys, nset, idlen, pad;
};

struct sg_seen {
	struct whole file;
	uint32_t *slots; /* sample << tagbits | tag; 0 marks an empty one */
	size_t nslots, nused;
	unsigned tagbits;
	/* sample i's record is from offset(i) to offset(i + 1): at[i] is in
	 * 8 bytes past base[i / BLOCK], 4 bytes a sample where an offset of
	 * its own would take 8 */
	uint32_t *at;
	uint64_t *base;
	size_t nsamples, cap;
	int fd;	    /* of the records; -1 before the first */
	char *wbuf; /* what is past flushed: the last record whole */
	size_t wlen, wcap;
	off_t flushed;
	char *rbuf; /* the record read last, of sample rdoc */
	size_t rcap, rdoc;
	uint32_t *set; /* a record's set, sorted to compare */
	size_t setcap;
	char *id;
	size_t idcap;
	size_t count;
	int failed;
	struct sg_error err;
	off_t off; /* of the file, read or written so far */
};

struct sg_seen *
sg_seen_new(void)
{
	struct sg_seen *s = sg_xcalloc(1, sizeof *s);

	s->fd = -1;
	return s;
}

void
sg_seen_free(struct sg_seen *s)
{
	if (!s)
		return;
	if (s->file.nslots)
		sg_table_free(s->file.slots,
			(s->file.nslots + TAIL) * sizeof *s->file.slots);
	free(s->file.spill);
	if (s->nslots)
		sg_table_free(s->slots, s->nslots * sizeof *s->slots);
	if (s->fd >= 0)
		close(s->fd);
	free(s->at);
	free(s->base);
	free(s->wbuf);
	free(s->rbuf);
	free(s->set);
	free(s->id);
	free(s);
}

int
sg_seen_failed(const struct sg_seen *s, struct sg_error *e)
{
	if (!s || !s->failed)
		return 0;
	*e = s->err;
	return -1;
}

static void
fail(struct sg_seen *s, const char *what)
{
	if (!s->failed)
		sg_seterr(&s->err, "cannot %s the dedup records: %s", what,
			strerror(errno));
	s->failed = 1;
}

/* The keys of the file, whole */

static size_t
whole_home(const struct whole *w, uint64_t key)
{
	return (key ^ key >> 29) & (w->nslots - 1);
}

/* key's slot, or the empty one where it would go; NULL past the end */
static uint64_t *
whole_slot(const struct whole *w, uint64_t key)
{
	uint64_t *p = w->slots + whole_home(w, key);
	const uint64_t *end = w->slots + w->nslots + TAIL;

	for (; p < end; p++)
		if (!*p || *p == key)
			return p;
	return NULL;
}

static int
whole_has(const struct whole *w, uint64_t key)
{
	const uint64_t *p;

	if (!w->nslots)
		return 0;
	if ((p = whole_slot(w, key)))
		return *p != 0;
	for (size_t i = 0; i < w->nspill; i++)
		if (w->spill[i] == key)
			return 1;
	return 0;
}

static void
whole_place(struct whole *w, uint64_t key)
{
	uint64_t *p = whole_slot(w, key);

	if (p) {
		*p = key;
		return;
	}
	w->spill = sg_xrealloc(w->spill, (w->nspill + 1) * sizeof *w->spill);
	w->spill[w->nspill++] = key;
}

static void
whole_grow(struct whole *w)
{
	size_t n = w->nslots, nmoved = 0, size = sizeof *w->slots;
	uint64_t *moved, *tail;

	if (!n) {
		w->nslots = 1024;
		w->slots = sg_table_new((w->nslots + TAIL) * size);
		return;
	}
	/* the tail and the spill are in the new half's way: they go last */
	moved = sg_xmalloc((TAIL + w->nspill) * size);
	tail = w->slots + n;
	for (size_t i = 0; i < TAIL; i++)
		if (tail[i])
			moved[nmoved++] = tail[i];
	for (size_t i = 0; i < w->nspill; i++)
		moved[nmoved++] = w->spill[i];
	memset(tail, 0, TAIL * size);
	free(w->spill);
	w->spill = NULL;
	w->nspill = 0;
	w->slots = sg_table_resize(
		w->slots, (n + TAIL) * size, (2 * n + TAIL) * size);
	w->nslots = 2 * n;
	for (size_t i = 0; i < n; i++) {
		uint64_t key = w->slots[i];

		if (key) {
			w->slots[i] = 0;
			whole_place(w, key);
		}
	}
	for (size_t i = 0; i < nmoved; i++)
		whole_place(w, moved[i]);
	free(moved);
}

/* 1 when key is new to w and now in it */
static int
whole_add(struct whole *w, uint64_t key)
{
	uint64_t *p;

	if (10 * (w->nused + 1) > 7 * w->nslots)
		whole_grow(w);
	if ((p = whole_slot(w, key)) ? *p != 0 : whole_has(w, key))
		return 0;
	if (p)
		*p = key;
	else
		whole_place(w, key);
	w->nused++;
	return 1;
}

/* The records of this process's samples */

static uint64_t
offset(const struct sg_seen *s, size_t i)
{
	return s->base[i / BLOCK] + ((uint64_t)s->at[i] << 3);
}

static int
open_records(void)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
#ifdef O_TMPFILE
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) >= 0)
		return fd;
#endif
	path = sg_xmalloc(strlen(dir) + 20);
	sprintf(path, "%s/sg-seen.XXXXXX", dir);
	if ((fd = mkstemp(path)) >= 0) {
		unlink(path);
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	free(path);
	return fd;
}

static void
flush(struct sg_seen *s)
{
	const char *p = s->wbuf;
	size_t n = s->wlen;
	ssize_t w;

	while (n > 0 && !s->failed) {
		if ((w = pwrite(s->fd, p, n, s->flushed)) < 0) {
			if (errno != EINTR)
				fail(s, "write");
			continue;
		}
		p += w;
		n -= (size_t)w;
		s->flushed += w;
	}
	/* what could not be written is lost: reading it back fails */
	s->flushed += (off_t)n;
	s->wlen = 0;
}

/* A new record of n bytes for the next sample, zeroed, past the others. */
static char *
append(struct sg_seen *s, size_t n)
{
	uint64_t end;

	if (s->fd < 0 && !s->failed && (s->fd = open_records()) < 0)
		fail(s, "create a file in $TMPDIR for");
	if (s->wlen + n > WBUF)
		flush(s);
	if (s->wlen + n > s->wcap) {
		s->wcap = s->wlen + n > WBUF ? s->wlen + n : WBUF;
		s->wbuf = sg_xrealloc(s->wbuf, s->wcap);
	}
	if (s->nsamples + 3 > s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->at = sg_xrealloc(s->at, s->cap * sizeof *s->at);
		s->base = sg_xrealloc(
			s->base, (s->cap / BLOCK + 1) * sizeof *s->base);
		if (s->nsamples == 0) {
			s->at[1] = 0;
			s->base[0] = 0;
		}
	}
	end = offset(s, ++s->nsamples) + n;
	if ((s->nsamples + 1) % BLOCK == 0)
		s->base[(s->nsamples + 1) / BLOCK] = end;
	if (end - s->base[(s->nsamples + 1) / BLOCK] > (uint64_t)UINT32_MAX
							       << 3) {
		errno = EFBIG;
		fail(s, "index");
	}
	s->at[s->nsamples + 1] =
		(uint32_t)((end - s->base[(s->nsamples + 1) / BLOCK]) >> 3);
	memset(s->wbuf + s->wlen, 0, n);
	s->wlen += n;
	return s->wbuf + s->wlen - n;
}

/* n bytes of the records from at into buf: 0, or -1 with s failed. */
static int
read_at(struct sg_seen *s, char *buf, size_t n, uint64_t at)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if ((r = pread(s->fd, buf + got, n - got, (off_t)(at + got))) <=
			0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0)
				errno = EIO;
			fail(s, "read");
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Sample i's record; NULL when it cannot be read. */
static const char *
record(struct sg_seen *s, size_t i)
{
	uint64_t at = offset(s, i);
	size_t n = (size_t)(offset(s, i + 1) - at);

	if ((off_t)at >= s->flushed)
		return s->wbuf + (at - (uint64_t)s->flushed);
	if (s->rdoc == i)
		return s->rbuf;
	if (n > s->rcap) {
		s->rcap = n;
		s->rbuf = sg_xrealloc(s->rbuf, n);
	}
	s->rdoc = 0;
	if (read_at(s, s->rbuf, n, at) < 0)
		return NULL;
	s->rdoc = i;
	return s->rbuf;
}

static struct head
head_of(const char *rec)
{
	struct head h;

	memcpy(&h, rec, sizeof h);
	return h;
}

static uint64_t
key_of(const char *rec, uint32_t k)
{
	uint64_t key;

	memcpy(&key, rec + sizeof(struct head) + k * sizeof key, sizeof key);
	return key;
}

/* Whether sample i's record holds key. */
static int
holds(struct sg_seen *s, size_t i, uint64_t key)
{
	const char *rec = record(s, i);
	struct head h;

	if (!rec)
		return 0;
	h = head_of(rec);
	for (uint32_t k = 0; k < h.nkeys; k++)
		if (key_of(rec, k) == key)
			return 1;
	return 0;
}

/* The index of this process's samples */

static size_t
home(const struct sg_seen *s, uint64_t key)
{
	return (size_t)(((key >> 32) * (uint64_t)s->nslots) >> 32);
}

static uint32_t
tag(const struct sg_seen *s, uint64_t key)
{
	return (uint32_t)key & ((1u << s->tagbits) - 1);
}

/* The sample holding key, or 0; in *at the empty slot where it would go. */
static size_t
holder(struct sg_seen *s, uint64_t key, size_t *at)
{
	size_t i, n = s->nslots;
	uint32_t t, v;

	if (!n) {
		if (at)
			*at = 0;
		return 0;
	}
	t = tag(s, key);
	for (i = home(s, key); (v = s->slots[i]); i = i + 1 == n ? 0 : i + 1)
		if ((v & ((1u << s->tagbits) - 1)) == t &&
			holds(s, v >> s->tagbits, key))
			return v >> s->tagbits;
	if (at)
		*at = i;
	return 0;
}

static void
place(struct sg_seen *s, uint64_t key, size_t sample)
{
	size_t i = home(s, key), n = s->nslots;

	while (s->slots[i])
		i = i + 1 == n ? 0 : i + 1;
	s->slots[i] = (uint32_t)(sample << s->tagbits) | tag(s, key);
}

static unsigned
bits(size_t n)
{
	unsigned b = 0;

	while (n >> b)
		b++;
	return b;
}

/* Keys on their way into a table being made: their slots are asked for
 * QUEUE keys ahead, so that the cache misses overlap. */
#define QUEUE 256
struct queued {
	uint64_t key;
	size_t sample;
};

static void
place_queued(struct sg_seen *s, const struct queued *q, size_t n)
{
	for (size_t i = 0; i < n; i++)
		place(s, q[i].key, q[i].sample);
}

/* A table for nkeys keys and samples numbered up to nsamples, made anew
 * from the records: a key's place comes from its top 32 bits, its tag
 * from its low ones, and the sample's number takes what bits it needs. */
static void
rebuild(struct sg_seen *s, size_t nkeys, size_t nsamples)
{
	size_t n = (size_t)((double)nkeys / LOW_LOAD) + 1024;
	char *buf = NULL;
	size_t bufat = 0, buflen = 0, nq = 0;
	struct queued q[QUEUE];
	uint64_t key;

	if (s->nslots)
		sg_table_free(s->slots, s->nslots * sizeof *s->slots);
	s->nslots = n;
	s->slots = sg_table_new(n * sizeof *s->slots);
	s->tagbits = 32 - bits(2 * nsamples + 1024);
	s->rdoc = 0;
	/* the file in large reads, in order */
	for (size_t i = 1; i <= s->nsamples && !s->failed; i++) {
		uint64_t at = offset(s, i), end = offset(s, i + 1);
		const char *rec;
		struct head h;

		if ((off_t)at >= s->flushed) {
			rec = s->wbuf + (at - (uint64_t)s->flushed);
		} else {
			if (at < bufat || end > bufat + buflen) {
				size_t want = (size_t)(s->flushed - (off_t)at);

				want = want < (1u << 18) ? want : (1u << 18);
				want = want > end - at ? want : end - at;
				buf = sg_xrealloc(buf, want);
				bufat = at;
				buflen = want;
				if (read_at(s, buf, want, at) < 0)
					break;
			}
			rec = buf + (at - bufat);
		}
		h = head_of(rec);
		for (uint32_t k = 0; k < h.nkeys; k++) {
			if (!(key = key_of(rec, k)))
				continue;
			if (nq == QUEUE) {
				place_queued(s, q, nq);
				nq = 0;
			}
			q[nq].key = key;
			q[nq++].sample = i;
			__builtin_prefetch(&s->slots[home(s, key)], 1);
		}
	}
	place_queued(s, q, nq);
	free(buf);
}

void
sg_seen_prefetch(const struct sg_seen *s, const uint64_t *keys, size_t n)
{
	for (size_t i = 0; s->nslots && i < n; i++)
		__builtin_prefetch(&s->slots[home(s, keys[i])]);
}

/* The sample holding key: > 0 of this process, 0 for a key of the file,
 * -1 when none does. */
static long
taker(struct sg_seen *s, uint64_t key)
{
	size_t i = holder(s, key, NULL);

	if (i)
		return (long)i;
	return whole_has(&s->file, key) ? 0 : -1;
}

/* Sample i's id, "" without one. */
static const char *
id_of(struct sg_seen *s, size_t i)
{
	const char *rec = record(s, i);
	struct head h;
	size_t off;

	if (!rec)
		return "";
	h = head_of(rec);
	off = sizeof h + h.nkeys * sizeof(uint64_t) +
	      (h.nset == NO_SET ? 0 : h.nset * sizeof(uint32_t));
	if (h.idlen + 1 > s->idcap) {
		s->idcap = h.idlen + 1;
		s->id = sg_xrealloc(s->id, s->idcap);
	}
	memcpy(s->id, rec + off, h.idlen);
	s->id[h.idlen] = '\0';
	return s->id;
}

const char *
sg_seen_find(struct sg_seen *s, uint64_t key)
{
	long i = taker(s, key);

	return i < 0 ? NULL : i == 0 ? "" : id_of(s, (size_t)i);
}

size_t
sg_seen_count(const struct sg_seen *s)
{
	return s->count;
}

static void
add_file(struct sg_seen *s, uint64_t key)
{
	if (!holder(s, key, NULL) && whole_add(&s->file, key))
		s->count++;
}

void
sg_seen_add(struct sg_seen *s, const uint64_t *keys, size_t n, const char *id,
	const uint32_t *set, size_t nset)
{
	size_t idlen = id ? strlen(id) : 0, len, at, i;
	struct head h = {
		(uint32_t)n, set ? (uint32_t)nset : NO_SET, (uint32_t)idlen, 0};
	char *rec;

	/* a sample without an id counts as a key of the file */
	if (!id) {
		for (size_t k = 0; k < n; k++)
			add_file(s, keys[k]);
		return;
	}
	if ((double)(s->nused + n) > HIGH_LOAD * (double)s->nslots ||
		s->nsamples + 1 >= (size_t)1 << (32 - s->tagbits))
		rebuild(s, s->nused + n, s->nsamples + 1);
	sg_seen_prefetch(s, keys, n);
	len = sizeof h + n * sizeof *keys + (set ? nset * sizeof *set : 0) +
	      idlen;
	rec = append(s, (len + 7) & ~(size_t)7);
	i = s->nsamples;
	memcpy(rec, &h, sizeof h);
	if (set)
		memcpy(rec + sizeof h + n * sizeof *keys, set,
			nset * sizeof *set);
	memcpy(rec + len - idlen, id, idlen);
	/* a key is written to the record once it is this sample's, so that a
	 * probe for the next one does not find it there before */
	for (size_t k = 0; k < n; k++) {
		if (holder(s, keys[k], &at) || whole_has(&s->file, keys[k]))
			continue;
		rec = s->wbuf + (offset(s, i) - (uint64_t)s->flushed);
		memcpy(rec + sizeof h + k * sizeof *keys, &keys[k],
			sizeof *keys);
		s->slots[at] = (uint32_t)(i << s->tagbits) | tag(s, keys[k]);
		s->nused++;
		s->count++;
	}
}

/* Sample i's set, sorted and each once, into s->set; its size, or -1 for a
 * sample taken without its set. */
static long
set_of(struct sg_seen *s, size_t i)
{
	const char *rec = record(s, i);
	struct head h;

	if (!rec)
		return 0;
	h = head_of(rec);
	if (h.nset == NO_SET)
		return -1;
	if (h.nset > s->setcap) {
		s->setcap = h.nset;
		s->set = sg_xrealloc(s->set, s->setcap * sizeof *s->set);
	}
	memcpy(s->set, rec + sizeof h + h.nkeys * sizeof(uint64_t),
		h.nset * sizeof *s->set);
	return (long)sg_set_sort(s->set, h.nset);
}

const char *
sg_seen_near(struct sg_seen *s, const uint64_t *keys, size_t n,
	const uint32_t *set, size_t nset, double threshold)
{
	uint32_t *mine = NULL;
	size_t nmine = 0;
	long i, last = -2, nother;
	const char *near = NULL;

	sg_seen_prefetch(s, keys, n);
	for (size_t k = 0; k < n && !near; k++) {
		if ((i = taker(s, keys[k])) < 0 || i == last)
			continue;
		last = i;
		/* a key from the file, or one taken without its set */
		if (i == 0 || (nother = set_of(s, (size_t)i)) < 0) {
			near = i ? id_of(s, (size_t)i) : "";
			break;
		}
		if (!mine) {
			mine = sg_xmalloc((nset ? nset : 1) * sizeof *mine);
			for (size_t j = 0; j < nset; j++)
				mine[j] = set[j];
			nmine = sg_set_sort(mine, nset);
		}
		if (sg_jaccard_sets(mine, nmine, s->set, (size_t)nother) >=
			threshold)
			near = id_of(s, (size_t)i);
	}
	free(mine);
	return near;
}

/* The keys of path past s->off into s, and into fresh when not NULL;
 * the caller holds the lock.  0, or the exit status and e. */
static int
read_keys(struct sg_seen *s, const char *path, struct sg_seen *fresh,
	struct sg_error *e)
{
	unsigned long line = 0;
	char buf[64], *end;
	uint64_t key;
	FILE *fp;
	int status;

	if (!(fp = sg_open_from(path, s->off, &status, e)))
		return status;
	while (!status && fgets(buf, sizeof buf, fp)) {
		line++;
		buf[strcspn(buf, "\n")] = '\0';
		if (!*buf)
			continue;
		key = strtoull(buf, &end, 16);
		if (strlen(buf) != 16 || *end || !key) {
			sg_seterr(e, "%s:%lu: not a key of 16 hex digits", path,
				line);
			status = SG_EXIT_CONFIG;
		} else {
			add_file(s, key);
			if (fresh)
				add_file(fresh, key);
		}
	}
	if (!status && ferror(fp)) {
		sg_seterr(e, "cannot read '%s': %s", path, strerror(errno));
		status = SG_EXIT_IO;
	}
	if (!status)
		s->off = ftello(fp);
	fclose(fp);
	return status;
}

int
sg_seen_load(struct sg_seen *s, const char *path, struct sg_error *e)
{
	int fd, status;

	if ((fd = sg_lock(path, e)) < 0)
		return SG_EXIT_IO;
	status = read_keys(s, path, NULL, e);
	sg_unlock(fd);
	return status;
}

int
sg_seen_lock(struct sg_seen *s, const char *path, struct sg_seen *fresh,
	struct sg_error *e)
{
	int fd;

	if ((fd = sg_lock(path, e)) < 0)
		return -1;
	if (read_keys(s, path, fresh, e) != 0) {
		sg_unlock(fd);
		return -1;
	}
	return fd;
}

int
sg_seen_unlock(struct sg_seen *s, const char *path, int lock,
	const uint64_t *keys, size_t n, struct sg_error *e)
{
	FILE *fp;
	int status;

	if (n == 0) {
		sg_unlock(lock);
		return 0;
	}
	if (!(fp = sg_fopen_nofollow(path, "a", e))) {
		sg_unlock(lock);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%016llx\n", (unsigned long long)keys[i]);
	/* what this process wrote is not news to it */
	status = sg_close_synced(fp, path, &s->off, e);
	sg_unlock(lock);
	return status;
}
