/*
 * wordnet.c - synonyms from the WordNet 3.0 database files (Debian's
 * wordnet-base): index.POS is sorted, so a lemma is found by binary search
 * in the mapped file, and each of its synset offsets is a byte offset into
 * data.POS, whose line lists the synset's words.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "gen/gen-internal.h"

static const char *const pos[] = {"noun", "verb", "adj", "adv"};
#define NPOS (sizeof pos / sizeof *pos)

struct map {
	const char *p;
	size_t n;
};

struct sg_wordnet {
	struct map index[NPOS], data[NPOS];
};

static int
map_file(struct map *m, const char *dir, const char *kind, const char *p,
	struct sg_error *e)
{
	char path[4096];
	struct stat st;
	int fd;

	snprintf(path, sizeof path, "%s/%s.%s", dir, kind, p);
	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) < 0) {
		sg_seterr(e, "cannot open '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	m->n = (size_t)st.st_size;
	m->p = m->n ? mmap(NULL, m->n, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (m->p == MAP_FAILED) {
		sg_seterr(e, "cannot map '%s': %s", path, strerror(errno));
		m->p = NULL;
		return -1;
	}
	return 0;
}

void
sg_wordnet_close(struct sg_wordnet *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < NPOS; i++) {
		if (w->index[i].p)
			munmap((void *)w->index[i].p, w->index[i].n);
		if (w->data[i].p)
			munmap((void *)w->data[i].p, w->data[i].n);
	}
	free(w);
}

struct sg_wordnet *
sg_wordnet_open(const char *dir, struct sg_error *e)
{
	struct sg_wordnet *w = sg_xmalloc(sizeof *w);

	memset(w, 0, sizeof *w);
	if (!dir || !*dir)
		dir = getenv("SG_WORDNET");
	if (!dir || !*dir)
		dir = "/usr/share/wordnet";
	for (size_t i = 0; i < NPOS; i++)
		if (map_file(&w->index[i], dir, "index", pos[i], e) < 0 ||
			map_file(&w->data[i], dir, "data", pos[i], e) < 0) {
			sg_wordnet_close(w);
			return NULL;
		}
	return w;
}

/* The line of index m whose lemma is key, or NULL. */
static const char *
find(const struct map *m, const char *key)
{
	size_t lo = 0, hi = m->n, klen = strlen(key);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, s = mid, end;
		const char *l;
		int c;

		while (s > lo && m->p[s - 1] != '\n')
			s--;
		l = m->p + s;
		end = s;
		while (end < hi && m->p[end] != '\n')
			end++;
		c = strncmp(l, key, klen);
		if (c == 0)
			c = (end - s > klen && l[klen] == ' ') ? 0 : 1;
		if (c == 0)
			return l;
		if (c < 0)
			lo = end + 1;
		else
			hi = s;
	}
	return NULL;
}

/* Add the words of the synset at offset in data m to out, but not key. */
static void
synset(const struct map *m, unsigned long off, const char *key, json_t *out)
{
	const char *p, *end;
	char word[128];
	unsigned long n;
	size_t len, i;

	if (off >= m->n)
		return;
	p = m->p + off;
	end = memchr(p, '\n', m->n - off);
	if (!end)
		end = m->p + m->n;
	/* offset lex_filenum ss_type w_cnt (hex), then word lex_id pairs */
	for (int f = 0; f < 3 && p < end; f++)
		p = memchr(p, ' ', (size_t)(end - p)) + 1;
	n = strtoul(p, NULL, 16);
	p = memchr(p, ' ', (size_t)(end - p)) + 1;
	while (n-- > 0 && p < end) {
		len = strcspn(p, " \n");
		if (len >= sizeof word)
			len = sizeof word - 1;
		memcpy(word, p, len);
		word[len] = '\0';
		word[strcspn(word, "(")] = '\0'; /* "happy(a)" markers */
		for (i = 0; word[i]; i++)
			if (word[i] == '_')
				word[i] = ' ';
		p += strcspn(p, " \n") + 1;
		p += strcspn(p, " \n") + 1; /* lex_id */
		if (strcasecmp(word, key) == 0)
			continue;
		for (i = 0; i < json_array_size(out); i++)
			if (strcmp(json_string_value(json_array_get(out, i)),
				    word) == 0)
				break;
		if (i == json_array_size(out))
			json_array_append_new(out, json_string(word));
	}
}

json_t *
sg_wordnet_synonyms(const struct sg_wordnet *w, const char *word)
{
	json_t *out = json_array();
	char key[128], *p;
	const char *line, *end;
	size_t i;

	if (strlen(word) >= sizeof key)
		return out;
	for (i = 0; word[i]; i++)
		key[i] = word[i] == ' ' ? '_'
					: (char)tolower((unsigned char)word[i]);
	key[i] = '\0';
	for (size_t k = 0; k < NPOS; k++) {
		int nptr, f;
		long nsyn;

		if (!(line = find(&w->index[k], key)))
			continue;
		end = memchr(line, '\n',
			(size_t)(w->index[k].p + w->index[k].n - line));
		/* lemma pos synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt
		 * offsets... */
		p = strchr(line, ' ') + 1;
		p = strchr(p, ' ') + 1;
		nsyn = strtol(p, &p, 10);
		nptr = (int)strtol(p, &p, 10);
		for (f = 0; f < nptr + 2; f++)
			p = strchr(p + 1, ' ');
		for (long s = 0; s < nsyn && p && (!end || p < end); s++) {
			unsigned long off = strtoul(p, &p, 10);

			synset(&w->data[k], off, key, out);
		}
	}
	return out;
}
