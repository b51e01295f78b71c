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

#include "sg.h"

struct slot {
	uint64_t key; /* 0 marks an empty slot */
	uint32_t doc; /* index in ids; 0 for a key from the file */
};

/* A sample's shingles, sorted, each once: its near matches verified. */
struct set {
	uint64_t *v;
	size_t n;
};

struct sg_seen {
	struct slot *slots;
	size_t nslots, nused;
	char **ids;
	struct set *sets; /* by index in ids; v is NULL when not kept */
	size_t nids;
	off_t off; /* of the file, read or written so far */
};

struct sg_seen *
sg_seen_new(void)
{
	struct sg_seen *s = sg_xmalloc(sizeof *s);

	memset(s, 0, sizeof *s);
	s->ids = sg_xmalloc(sizeof *s->ids);
	s->ids[0] = NULL;
	s->sets = sg_xmalloc(sizeof *s->sets);
	s->sets[0].v = NULL;
	s->nids = 1;
	return s;
}

void
sg_seen_free(struct sg_seen *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nids; i++) {
		free(s->ids[i]);
		free(s->sets[i].v);
	}
	free(s->ids);
	free(s->sets);
	free(s->slots);
	free(s);
}

static size_t
home(const struct sg_seen *s, uint64_t key)
{
	return (key ^ key >> 29) & (s->nslots - 1);
}

static struct slot *
slot_find(const struct sg_seen *s, uint64_t key)
{
	size_t i = home(s, key);

	while (s->slots[i].key && s->slots[i].key != key)
		i = (i + 1) & (s->nslots - 1);
	return &s->slots[i];
}

static void
grow(struct sg_seen *s)
{
	struct slot *old = s->slots;
	size_t n = s->nslots;

	s->nslots = n ? 2 * n : 1024;
	s->slots = sg_table_alloc(s->nslots * sizeof *s->slots);
	for (size_t i = 0; i < n; i++)
		if (old[i].key)
			*slot_find(s, old[i].key) = old[i];
	free(old);
}

static void
add(struct sg_seen *s, uint64_t key, uint32_t doc)
{
	struct slot *p;

	if (10 * (s->nused + 1) > 7 * s->nslots)
		grow(s);
	p = slot_find(s, key);
	if (p->key)
		return;
	p->key = key;
	p->doc = doc;
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
	const struct slot *p;

	if (!s->nslots || !(p = slot_find(s, key))->key)
		return NULL;
	return p->doc ? s->ids[p->doc] : "";
}

void
sg_seen_add(struct sg_seen *s, const uint64_t *keys, size_t n, const char *id)
{
	uint32_t doc = 0;

	if (id) {
		s->ids = sg_xrealloc(s->ids, (s->nids + 1) * sizeof *s->ids);
		s->sets = sg_xrealloc(s->sets, (s->nids + 1) * sizeof *s->sets);
		s->ids[s->nids] = sg_xstrdup(id);
		s->sets[s->nids].v = NULL;
		doc = (uint32_t)s->nids++;
	}
	sg_seen_prefetch(s, keys, n);
	for (size_t i = 0; i < n; i++)
		add(s, keys[i], doc);
}

void
sg_seen_keep(struct sg_seen *s, uint64_t *set, size_t n)
{
	struct set *last = &s->sets[s->nids - 1];

	if (s->nids == 1) {
		free(set);
		return;
	}
	free(last->v);
	last->v = set;
	last->n = n;
}

const char *
sg_seen_near(const struct sg_seen *s, const uint64_t *keys, size_t n,
	const uint64_t *set, size_t nset, double threshold)
{
	const struct slot *p;
	const struct set *o;
	uint32_t last = UINT32_MAX;

	sg_seen_prefetch(s, keys, n);
	for (size_t i = 0; s->nslots && i < n; i++) {
		if (!(p = slot_find(s, keys[i]))->key || p->doc == last)
			continue;
		last = p->doc;
		o = &s->sets[p->doc];
		/* a key from the file, or one kept without its set */
		if (!o->v)
			return p->doc ? s->ids[p->doc] : "";
		if (sg_jaccard_sets(set, nset, o->v, o->n) >= threshold)
			return s->ids[p->doc];
	}
	return NULL;
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
	if (!(fp = fopen(path, "a"))) {
		sg_seterr(e, "cannot write '%s': %s", path, strerror(errno));
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
