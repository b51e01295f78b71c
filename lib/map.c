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

/* A slot is its key and its numbers, 2, 4 or 8 cells of 8 bytes, so that
 * no slot straddles two cache lines: the document counts' slots went
 * from 24 bytes to 16. */
union cell {
	uint64_t key;
	double v;
};

struct sg_map {
	union cell *cells;
	size_t cap, n, stride;
};

struct sg_map *
sg_map_new_n(int numbers)
{
	struct sg_map *m = sg_xmalloc(sizeof *m);

	for (m->stride = 2; m->stride < (size_t)numbers + 1; m->stride *= 2)
		;
	m->cap = 64;
	m->n = 0;
	m->cells = sg_table_alloc(m->cap * m->stride * sizeof *m->cells);
	return m;
}

struct sg_map *
sg_map_new(void)
{
	return sg_map_new_n(1);
}

void
sg_map_free(struct sg_map *m)
{
	if (!m)
		return;
	free(m->cells);
	free(m);
}

static size_t
home(const struct sg_map *m, uint64_t key)
{
	return (key ^ key >> 29) & (m->cap - 1);
}

/* key's slot, or the free one where it would go */
static union cell *
find(const struct sg_map *m, uint64_t key)
{
	size_t i = home(m, key);

	while (m->cells[i * m->stride].key &&
		m->cells[i * m->stride].key != key)
		i = (i + 1) & (m->cap - 1);
	return &m->cells[i * m->stride];
}

double *
sg_map_get(const struct sg_map *m, uint64_t key)
{
	union cell *s = find(m, key ? key : 1);

	return s->key ? &s[1].v : NULL;
}

double *
sg_map_put(struct sg_map *m, uint64_t key)
{
	union cell *s;

	key = key ? key : 1;
	if (2 * (m->n + 1) > m->cap) {
		union cell *old = m->cells;
		size_t n = m->cap;

		m->cap *= 2;
		m->cells =
			sg_table_alloc(m->cap * m->stride * sizeof *m->cells);
		for (size_t i = 0; i < n; i++)
			if (old[i * m->stride].key)
				memcpy(find(m, old[i * m->stride].key),
					old + i * m->stride,
					m->stride * sizeof *old);
		free(old);
	}
	s = find(m, key);
	if (!s->key) {
		s->key = key;
		m->n++;
	}
	return &s[1].v;
}

size_t
sg_map_size(const struct sg_map *m)
{
	return m->n;
}

void
sg_map_prefetch(const struct sg_map *m, uint64_t key)
{
	__builtin_prefetch(&m->cells[home(m, key ? key : 1) * m->stride]);
}

void
sg_bloom_add(uint64_t *bits, size_t nbits, uint64_t key)
{
	for (int i = 0; i < 2; i++) {
		size_t k = sg_bloom_bit(key, nbits, i);

		bits[k / 64] |= 1ULL << (k % 64);
	}
}
