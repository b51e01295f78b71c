/*
 * map.c - counts by 64-bit key in one open-addressing table: the n-gram
 * and document counts of lm.c and faith.c, where a jansson object per
 * word cost more than the models themselves.  Key 0 is never stored; a
 * caller's hash that comes out 0 is taken as 1.
 */
#include <stdlib.h>
#include <string.h>

#include "sg.h"

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
	m->slots = sg_xmalloc(m->cap * sizeof *m->slots);
	memset(m->slots, 0, m->cap * sizeof *m->slots);
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

static struct slot *
find(const struct sg_map *m, uint64_t key)
{
	size_t i = (key ^ key >> 29) & (m->cap - 1);

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
		m->slots = sg_xmalloc(m->cap * sizeof *m->slots);
		memset(m->slots, 0, m->cap * sizeof *m->slots);
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

size_t
sg_map_size(const struct sg_map *m)
{
	return m->n;
}
