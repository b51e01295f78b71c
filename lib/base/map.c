/*
 * map.c - counts by 64-bit key in one open-addressing table: the n-gram
 * and document counts of check/perplexity.c and check/faithfulness.c,
 * where a jansson object per word cost more than the models themselves.
 * Key 0 is never stored; a caller's hash that comes out 0 is taken as 1.
 * Beside it, a filter of keys (sg_bloom_*) that answers "not there" from
 * the cache.
 */
#define _GNU_SOURCE /* mremap */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

#define HUGE_PAGE ((size_t)2 << 20)

/* A table of a huge page or more is a mapping of its own, aligned to and
 * rounded up to huge pages: its pages come zeroed (no pass over them to
 * clear), probes into hundreds of megabytes of it do not miss the TLB, and
 * it can move without a copy.  A smaller one is the allocator's. */
static size_t
mapped_size(size_t bytes)
{
	return bytes < HUGE_PAGE ? 0
				 : (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

static void *
map_table(size_t size)
{
	char *p = mmap(NULL, size + HUGE_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
	     *q;

	if (p == MAP_FAILED)
		sg_die(SG_EXIT_IO, "out of memory");
	q = (char *)(((uintptr_t)p + HUGE_PAGE - 1) &
		     ~(uintptr_t)(HUGE_PAGE - 1));
	if (q > p)
		munmap(p, (size_t)(q - p));
	if (q < p + HUGE_PAGE)
		munmap(q + size, (size_t)(p + HUGE_PAGE - q));
#ifdef MADV_HUGEPAGE
	madvise(q, size, MADV_HUGEPAGE);
#endif
	return q;
}

void *
sg_table_new(size_t bytes)
{
	size_t size = mapped_size(bytes);

	return size ? map_table(size) : sg_xcalloc(1, bytes);
}

void *
sg_table_resize(void *p, size_t old, size_t bytes)
{
	size_t from = mapped_size(old), size = mapped_size(bytes);
	void *q;

	if (!size) {
		q = sg_xrealloc(p, bytes);
		if (bytes > old)
			memset((char *)q + old, 0, bytes - old);
		return q;
	}
	if (size == from)
		return p;
	q = map_table(size);
#ifdef MREMAP_FIXED
	/* the old pages move to the front of the new mapping, over the
	 * fresh ones there, whole huge pages as they are */
	if (from && mremap(p, from, from, MREMAP_MAYMOVE | MREMAP_FIXED, q) !=
			    MAP_FAILED)
		return q;
#endif
	memcpy(q, p, old < bytes ? old : bytes);
	sg_table_free(p, old);
	return q;
}

void
sg_table_free(void *p, size_t bytes)
{
	size_t size = mapped_size(bytes);

	if (size && p)
		munmap(p, size);
	else
		free(p);
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
	int borrowed; /* cells in a caller's image (sg_map_view) */
};

struct sg_map *
sg_map_new_n(int numbers)
{
	struct sg_map *m = sg_xmalloc(sizeof *m);

	for (m->stride = 2; m->stride < (size_t)numbers + 1; m->stride *= 2)
		;
	m->cap = 64;
	m->n = 0;
	m->borrowed = 0;
	m->cells = sg_table_new(m->cap * m->stride * sizeof *m->cells);
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
	if (!m->borrowed)
		sg_table_free(m->cells, m->cap * m->stride * sizeof *m->cells);
	free(m);
}

static size_t
home(const struct sg_map *m, uint64_t key)
{
	return (key ^ key >> 29) & (m->cap - 1);
}

/* key's slot, or the free one where it would go; NULL when a table has
 * neither, which only a garbled image (sg_map_view) can: the search is
 * bounded so that one cannot hang it. */
static union cell *
find(const struct sg_map *m, uint64_t key)
{
	size_t i = home(m, key);

	for (size_t k = 0; k < m->cap; k++) {
		union cell *s = &m->cells[i * m->stride];

		if (!s->key || s->key == key)
			return s;
		i = (i + 1) & (m->cap - 1);
	}
	return NULL;
}

double *
sg_map_get(const struct sg_map *m, uint64_t key)
{
	union cell *s = find(m, key ? key : 1);

	return s && s->key ? &s[1].v : NULL;
}

/* The table grown to cap slots, its keys moved over. */
static void
grow(struct sg_map *m, size_t cap)
{
	union cell *old = m->cells;
	size_t n = m->cap;

	m->cap = cap;
	m->cells = sg_table_new(m->cap * m->stride * sizeof *m->cells);
	m->n = 0;
	for (size_t i = 0; i < n; i++)
		if (old[i * m->stride].key) {
			memcpy(find(m, old[i * m->stride].key),
				old + i * m->stride, m->stride * sizeof *old);
			m->n++;
		}
	if (!m->borrowed)
		sg_table_free(old, n * m->stride * sizeof *old);
	m->borrowed = 0;
}

void
sg_map_reserve(struct sg_map *m, size_t n)
{
	size_t cap = m->cap;

	while (2 * n > cap)
		cap *= 2;
	if (cap > m->cap)
		grow(m, cap);
}

double *
sg_map_put(struct sg_map *m, uint64_t key)
{
	union cell *s;

	key = key ? key : 1;
	if (2 * (m->n + 1) > m->cap)
		grow(m, 2 * m->cap);
	if (!(s = find(m, key))) {
		grow(m, 2 * m->cap);
		s = find(m, key);
	}
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

/* The image: capacity, count and stride, then the cells as they are. */
void
sg_map_dump(const struct sg_map *m, struct sg_buf *b)
{
	uint64_t head[3] = {m->cap, m->n, m->stride};

	sg_buf_add(b, (const char *)head, sizeof head);
	sg_buf_add(b, (const char *)m->cells, sg_map_bytes(m));
}

size_t
sg_map_bytes(const struct sg_map *m)
{
	return m->cap * m->stride * sizeof *m->cells;
}

struct sg_map *
sg_map_view(void *p, size_t len)
{
	uint64_t head[3];
	struct sg_map *m;

	if (len < sizeof head || (uintptr_t)p % sizeof(union cell))
		return NULL;
	memcpy(head, p, sizeof head);
	if (head[0] < 2 || (head[0] & (head[0] - 1)) || head[1] > head[0] / 2 ||
		(head[2] != 2 && head[2] != 4 && head[2] != 8) ||
		head[0] > (len - sizeof head) / sizeof(union cell) / head[2] ||
		len - sizeof head != head[0] * head[2] * sizeof(union cell))
		return NULL;
	m = sg_xmalloc(sizeof *m);
	m->cap = head[0];
	m->n = head[1];
	m->stride = head[2];
	m->cells = (union cell *)((char *)p + sizeof head);
	m->borrowed = 1;
	return m;
}

int
sg_map_next(const struct sg_map *m, size_t *i, uint64_t *key, double **v)
{
	for (; *i < m->cap; ++*i) {
		union cell *s = &m->cells[*i * m->stride];

		if (s->key) {
			*key = s->key;
			*v = &s[1].v;
			++*i;
			return 1;
		}
	}
	return 0;
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
