/*
 * seen.c - the keys a run has taken, for deduplication: the 64-bit hashes
 * of exact values and the bucket keys of near-duplicates alike, in one
 * open-addressing set, and the file that carries them from one run to the
 * next, one key of 16 hexadecimal digits a line, appended under a lock.
 * Concurrent processes share the file: each takes, under the lock, the
 * keys the others appended since it last looked before it adds its own.
 * A sample of this run may keep its shingle set beside its keys, so that
 * a near-duplicate found by a shared bucket is checked by its exact
 * Jaccard similarity: LSH also pairs many texts below the threshold.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "check/check-internal.h"

struct slot {
	uint64_t key; /* 0 marks an empty slot */
	uint32_t doc; /* index in ids; 0 for a key from the file */
};

/* A sample's shingles, to verify its near matches with: as they came,
 * until it is first compared, then sorted and each once. */
struct set {
	uint32_t *v;
	uint32_t n;
	int sorted; /* compared once, and sg_set_sort'ed then */
};

/* The samples' ids and sets go into blocks of BLOCK bytes, each at its
 * size, freed together: an allocation each, a set's with room for twice
 * its shingles, took 8% more of sg-validate's memory. */
#define BLOCK (1u << 20)

/* Linear probing that never wraps: a key is at its home or after it, in
 * nslots (a power of two) and TAIL more.  Doubling, the table then grows
 * in place, its slots rehashed in order (a key's new home is its old one
 * or nslots after it, so none lands on a key not yet moved): the pages
 * the kernel zeroes for it are the new half's alone, where a new table
 * took a whole fresh table's each time, the biggest cost sg-validate had
 * at a million samples.  A key that finds the end full goes to spill, as
 * only keys made to collide can. */
#define TAIL 4096

struct sg_seen {
	struct slot *slots;
	size_t nslots, nused;
	struct slot *spill;
	size_t nspill;
	const char **ids;
	struct set *sets; /* by index in ids; v is NULL when not kept */
	size_t nids, cap;
	char **blocks;
	size_t nblocks;
	char *free_at; /* in the last block, of left bytes */
	size_t left;
	off_t off; /* of the file, read or written so far */
};

struct sg_seen *
sg_seen_new(void)
{
	struct sg_seen *s = sg_xmalloc(sizeof *s);

	memset(s, 0, sizeof *s);
	s->cap = 64;
	s->ids = sg_xmalloc(s->cap * sizeof *s->ids);
	s->ids[0] = NULL;
	s->sets = sg_xmalloc(s->cap * sizeof *s->sets);
	s->sets[0].v = NULL;
	s->nids = 1;
	return s;
}

/* n bytes, aligned for a uint64_t, that live as long as s. */
static void *
store(struct sg_seen *s, size_t n)
{
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (n > s->left) {
		s->left = n > BLOCK ? n : BLOCK;
		s->blocks = sg_xrealloc(
			s->blocks, (s->nblocks + 1) * sizeof *s->blocks);
		s->free_at = s->blocks[s->nblocks++] = sg_xmalloc(s->left);
	}
	p = s->free_at;
	s->free_at += n;
	s->left -= n;
	return p;
}

void
sg_seen_free(struct sg_seen *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nblocks; i++)
		free(s->blocks[i]);
	free(s->blocks);
	free(s->ids);
	free(s->sets);
	if (s->nslots)
		sg_table_free(s->slots, (s->nslots + TAIL) * sizeof *s->slots);
	free(s->spill);
	free(s);
}

static size_t
home(const struct sg_seen *s, uint64_t key)
{
	return (key ^ key >> 29) & (s->nslots - 1);
}

/* key's slot, or the empty one where it would go; NULL past the end */
static struct slot *
slot_find(const struct sg_seen *s, uint64_t key)
{
	struct slot *p = s->slots + home(s, key);
	const struct slot *end = s->slots + s->nslots + TAIL;

	for (; p < end; p++)
		if (!p->key || p->key == key)
			return p;
	return NULL;
}

/* key's slot, or NULL when it was not taken */
static const struct slot *
lookup(const struct sg_seen *s, uint64_t key)
{
	const struct slot *p;

	if (!s->nslots)
		return NULL;
	if ((p = slot_find(s, key)))
		return p->key ? p : NULL;
	for (size_t i = 0; i < s->nspill; i++)
		if (s->spill[i].key == key)
			return &s->spill[i];
	return NULL;
}

static void
place(struct sg_seen *s, struct slot e)
{
	struct slot *p = slot_find(s, e.key);

	if (p) {
		*p = e;
		return;
	}
	s->spill = sg_xrealloc(s->spill, (s->nspill + 1) * sizeof *s->spill);
	s->spill[s->nspill++] = e;
}

static void
grow(struct sg_seen *s)
{
	size_t n = s->nslots, nmoved = 0, size = sizeof *s->slots;
	struct slot *moved, *tail;

	if (!n) {
		s->nslots = 1024;
		s->slots = sg_table_new((s->nslots + TAIL) * size);
		return;
	}
	/* the tail and the spill are in the new half's way: they go last */
	moved = sg_xmalloc((TAIL + s->nspill) * size);
	tail = s->slots + n;
	for (size_t i = 0; i < TAIL; i++)
		if (tail[i].key)
			moved[nmoved++] = tail[i];
	for (size_t i = 0; i < s->nspill; i++)
		moved[nmoved++] = s->spill[i];
	memset(tail, 0, TAIL * size);
	free(s->spill);
	s->spill = NULL;
	s->nspill = 0;
	s->slots = sg_table_resize(
		s->slots, (n + TAIL) * size, (2 * n + TAIL) * size);
	s->nslots = 2 * n;
	for (size_t i = 0; i < n; i++) {
		struct slot e = s->slots[i];

		if (e.key) {
			s->slots[i].key = 0;
			place(s, e);
		}
	}
	for (size_t i = 0; i < nmoved; i++)
		place(s, moved[i]);
	free(moved);
}

static void
add(struct sg_seen *s, uint64_t key, uint32_t doc)
{
	struct slot *p;

	if (10 * (s->nused + 1) > 7 * s->nslots)
		grow(s);
	if ((p = slot_find(s, key)) ? p->key != 0 : lookup(s, key) != NULL)
		return;
	if (p)
		*p = (struct slot){key, doc};
	else
		place(s, (struct slot){key, doc});
	s->nused++;
}

void
sg_seen_prefetch(const struct sg_seen *s, const uint64_t *keys, size_t n)
{
	for (size_t i = 0; s->nslots && i < n; i++)
		__builtin_prefetch(&s->slots[home(s, keys[i])]);
}

const char *
sg_seen_find(const struct sg_seen *s, uint64_t key)
{
	const struct slot *p = lookup(s, key);

	if (!p)
		return NULL;
	return p->doc ? s->ids[p->doc] : "";
}

size_t
sg_seen_count(const struct sg_seen *s)
{
	return s->nused;
}

void
sg_seen_add(struct sg_seen *s, const uint64_t *keys, size_t n, const char *id)
{
	uint32_t doc = 0;

	if (id) {
		if (s->nids == s->cap) {
			s->cap *= 2;
			s->ids = sg_xrealloc(s->ids, s->cap * sizeof *s->ids);
			s->sets =
				sg_xrealloc(s->sets, s->cap * sizeof *s->sets);
		}
		s->ids[s->nids] =
			memcpy(store(s, strlen(id) + 1), id, strlen(id) + 1);
		s->sets[s->nids].v = NULL;
		doc = (uint32_t)s->nids++;
	}
	sg_seen_prefetch(s, keys, n);
	for (size_t i = 0; i < n; i++)
		add(s, keys[i], doc);
}

void
sg_seen_keep(struct sg_seen *s, const uint32_t *set, size_t n)
{
	struct set *last = &s->sets[s->nids - 1];

	if (s->nids == 1)
		return;
	last->v = memcpy(store(s, n * sizeof *set), set, n * sizeof *set);
	last->n = (uint32_t)n;
	last->sorted = 0;
}

const char *
sg_seen_near(struct sg_seen *s, const uint64_t *keys, size_t n,
	const uint32_t *set, size_t nset, double threshold)
{
	const struct slot *p;
	struct set *o;
	uint32_t last = UINT32_MAX, *mine = NULL;
	size_t nmine = 0;
	const char *near = NULL;

	sg_seen_prefetch(s, keys, n);
	for (size_t i = 0; i < n && !near; i++) {
		if (!(p = lookup(s, keys[i])) || p->doc == last)
			continue;
		last = p->doc;
		o = &s->sets[p->doc];
		/* a key from the file, or one kept without its set */
		if (!o->v) {
			near = p->doc ? s->ids[p->doc] : "";
			break;
		}
		if (!mine) {
			mine = sg_xmalloc((nset ? nset : 1) * sizeof *mine);
			for (size_t k = 0; k < nset; k++)
				mine[k] = set[k];
			nmine = sg_set_sort(mine, nset);
		}
		if (!o->sorted) {
			o->n = (uint32_t)sg_set_sort(o->v, o->n);
			o->sorted = 1;
		}
		if (sg_jaccard_sets(mine, nmine, o->v, o->n) >= threshold)
			near = s->ids[p->doc];
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
			add(s, key, 0);
			if (fresh)
				add(fresh, key, 0);
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
