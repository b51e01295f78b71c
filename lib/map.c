/*
 * map.c - counts by 64-bit key in one open-addressing table: the n-gram
 * and document counts of lm.c and faith.c, where a jansson object per
 * word cost more than the models themselves.  Key 0 is never stored; a
 * caller's hash that comes out 0 is taken as 1.  Beside it, a filter of
 * keys (sg_bloom_*) that answers "not there" from the cache.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sg.h"

#define HUGE_PAGE (2u << 20)

void *
sg_table_alloc(size_t bytes)
{
	void *p = NULL;

	if (bytes < HUGE_PAGE || posix_memalign(&p, HUGE_PAGE, bytes) != 0)
		p = sg_xmalloc(bytes);
#ifdef MADV_HUGEPAGE
	else
		madvise(p, bytes, MADV_HUGEPAGE);
#endif
	memset(p, 0, bytes);
	return p;
}

struct slot {
	uint64_t key;
	double v[2];
};

struct sg_map {
	struct slot *slots;
	size_t cap, n;
};

struct sg_map *
sg_map_new(void)
{
	struct sg_map *m = sg_xmalloc(sizeof *m);

	m->cap = 64;
	m->n = 0;
	m->slots = sg_table_alloc(m->cap * sizeof *m->slots);
	return m;
}

void
sg_map_free(struct sg_map *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static size_t
home(const struct sg_map *m, uint64_t key)
{
	return (key ^ key >> 29) & (m->cap - 1);
}

static struct slot *
find(const struct sg_map *m, uint64_t key)
{
	size_t i = home(m, key);

	while (m->slots[i].key && m->slots[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

double *
sg_map_get(const struct sg_map *m, uint64_t key)
{
	struct slot *s = find(m, key ? key : 1);

	return s->key ? s->v : NULL;
}

double *
sg_map_put(struct sg_map *m, uint64_t key)
{
	struct slot *s;

	key = key ? key : 1;
	if (2 * (m->n + 1) > m->cap) {
		struct slot *old = m->slots;
		size_t n = m->cap;

		m->cap *= 2;
		m->slots = sg_table_alloc(m->cap * sizeof *m->slots);
		for (size_t i = 0; i < n; i++)
			if (old[i].key)
				*find(m, old[i].key) = old[i];
		free(old);
	}
	s = find(m, key);
	if (!s->key) {
		s->key = key;
		m->n++;
	}
	return s->v;
}

void
sg_map_prefetch(const struct sg_map *m, uint64_t key)
{
	__builtin_prefetch(&m->slots[home(m, key ? key : 1)]);
}

size_t
sg_map_size(const struct sg_map *m)
{
	return m->n;
}

void
sg_bloom_add(uint64_t *bits, size_t nbits, uint64_t key)
{
	for (int i = 0; i < 2; i++) {
		size_t k = sg_bloom_bit(key, nbits, i);

		bits[k / 64] |= 1ULL << (k % 64);
	}
}
