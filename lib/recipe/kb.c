/*
 * kb.c - a knowledge base: a text file, or the regular files of a
 * directory in name order, cut into passages (paragraphs, split past 120
 * words) and sentences, with an Okapi BM25 index (k1 = 1.2, b = 0.75)
 * over the passages.  Ids name the file and the passage or sentence
 * number, "faq.md#3", so provenance points back into the source.  The
 * index can be cached in a file, kb-HASH.json under a cache directory
 * (HASH of the knowledge base's absolute path), valid while every source
 * keeps its name, size and modification time to the nanosecond.  Drawing
 * passages needs no index: sg_kb_text reads the text alone, and cuts it
 * into passages or sentences only when they are asked for.
 */
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "record/record.h"
#include "recipe/recipe.h"

#define PASSAGE_WORDS 120
/* 2: sentences of fewer than 3 words are left out, as they always were
 * meant to be */
#define KB_CACHE_VERSION 2

/* Where a passage or sentence is in the files read. */
struct span {
	size_t file, off, len;
};

/* Passages (SG_KB_PASSAGES) or sentences (SG_KB_SENTENCES) as spans, cut
 * from the text on first use: an item becomes JSON only when it is asked
 * for, so drawing a few costs a pass over the text, not a JSON string,
 * id and pair for every one. */
struct cut {
	struct span *v;
	size_t n, cap;
	int done;
};

struct sg_kb {
	char **name, **text; /* the files read (none from the cache) */
	size_t nfiles;
	struct cut cut[2];
	json_t *passages;  /* [[id, text], ...], NULL until asked for */
	json_t *sentences; /* [[id, text], ...], NULL until asked for */
	json_t *postings;  /* term -> [[passage, tf], ...] */
	double *len, avglen;
};

/* Whether the n bytes at s hold at least k words (counting stops there)
 * and are UTF-8 (jansson checks those that are not ASCII, which a look at
 * the bytes tells, and most of a knowledge base's are).  The byte after
 * them is made NUL for the count, then put back. */
static int
usable(char *s, size_t n, int k)
{
	const char *p = s, *a;
	uint64_t high = 0, w, h;
	char after = s[n];
	size_t i = 0;
	int nl = 0;
	json_t *t;

	/* eight bytes at a time: every byte of the knowledge base is looked
	 * at here each extractive batch */
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		high |= w;
	}
	for (; i < n; i++)
		high |= (unsigned char)s[i];
	if (high & 0x8080808080808080u) {
		if (!(t = json_stringn(s, n)))
			return 0;
		json_decref(t);
	}
	s[n] = '\0';
	while (k > 0 && sg_word_next(&p, &a, &h, &nl))
		k--;
	s[n] = after;
	return k == 0;
}

static void
add_span(struct cut *c, size_t file, size_t off, size_t len)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->v = sg_xrealloc(c->v, c->cap * sizeof *c->v);
	}
	c->v[c->n++] = (struct span){file, off, len};
}

/* isspace() of the C locale */
static int
blank(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static void
add_sentences(struct sg_kb *kb, size_t file)
{
	char *text = kb->text[file], *p = text, *s;
	size_t n;

	while (*p) {
		while (blank(*p))
			p++;
		s = p;
		while (*p && !((*p == '.' || *p == '!' || *p == '?') &&
				     (!p[1] || blank(p[1]))))
			p++;
		if (*p)
			p++;
		n = (size_t)(p - s);
		/* the sentence's words, not the rest of the text's */
		if (n > 0 && usable(s, n, 3))
			add_span(&kb->cut[SG_KB_SENTENCES], file,
				(size_t)(s - text), n);
	}
}

/* The words of text, lowercased, into terms (an array of strings). */
static json_t *
terms(const char *text)
{
	json_t *out = json_array();
	char w[64];
	size_t n = 0;

	for (const char *p = text;; p++) {
		if (*p && isalnum((unsigned char)*p)) {
			if (n < sizeof w - 1)
				w[n++] = (char)tolower((unsigned char)*p);
			continue;
		}
		if (n > 0)
			json_array_append_new(out, json_stringn(w, n));
		n = 0;
		if (!*p)
			break;
	}
	return out;
}

static void
add_passage(struct sg_kb *kb, size_t file, char *s, size_t n)
{
	while (n > 0 && blank(*s))
		s++, n--;
	while (n > 0 && blank(s[n - 1]))
		n--;
	if (usable(s, n, 1))
		add_span(&kb->cut[SG_KB_PASSAGES], file,
			(size_t)(s - kb->text[file]), n);
}

/* Paragraphs, each cut every PASSAGE_WORDS words.  This reads every byte
 * of the knowledge base each extractive batch, so it is written for the
 * common byte, one inside a word. */
static void
add_passages(struct sg_kb *kb, size_t file)
{
	char *p = kb->text[file], *start = p;
	size_t words = 0;
	unsigned char c;

	for (;;) {
		/* blanks, and the paragraph breaks among them */
		for (; blank(c = (unsigned char)*p); p++)
			if (c == '\n' && p[1] == '\n') {
				add_passage(
					kb, file, start, (size_t)(p - start));
				start = p + 1;
				words = 0;
			}
		if (c == '\0')
			break;
		/* a word begins at p */
		if (++words > PASSAGE_WORDS) {
			add_passage(kb, file, start, (size_t)(p - start));
			start = p;
			words = 1;
		}
		/* the rest of it: any byte but a blank or the end */
		while ((c = (unsigned char)*++p) > ' ' || (c && !blank(c)))
			;
	}
	add_passage(kb, file, start, (size_t)(p - start));
}

/* The kind's spans, cut on first use. */
static struct cut *
cut(struct sg_kb *kb, enum sg_kb_kind kind)
{
	struct cut *c = &kb->cut[kind];

	for (size_t i = 0; !c->done && i < kb->nfiles; i++)
		(kind == SG_KB_PASSAGES ? add_passages : add_sentences)(kb, i);
	c->done = 1;
	return c;
}

static void
build_index(struct sg_kb *kb)
{
	size_t i, j, np = json_array_size(sg_kb_passages(kb));
	json_t *p, *t, *tf;
	double total = 0;
	const char *term;

	kb->len = sg_xmalloc((np + 1) * sizeof *kb->len);
	json_array_foreach (kb->passages, i, p) {
		json_t *ts = terms(json_string_value(json_array_get(p, 1)));

		tf = json_object();
		json_array_foreach (ts, j, t)
			json_object_set_new(tf, json_string_value(t),
				json_integer(sg_get_int(tf,
						     json_string_value(t), 0) +
					     1));
		json_object_foreach (tf, term, t) {
			json_t *list = json_object_get(kb->postings, term);

			if (!list) {
				list = json_array();
				json_object_set_new(kb->postings, term, list);
			}
			json_array_append_new(
				list, json_pack("[I, O]", (json_int_t)i, t));
		}
		kb->len[i] = (double)json_array_size(ts);
		total += kb->len[i];
		json_decref(tf);
		json_decref(ts);
	}
	kb->avglen = np ? total / (double)np : 1;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sources of path as [[name, size, mtime s, mtime ns], ...]: the
 * file itself, or the directory's regular files in name order. */
static json_t *
sources(const char *path, int *isdir, struct sg_error *e)
{
	json_t *out = json_array();
	struct stat st;
	char **names = NULL, full[4096];
	size_t n = 0, i;
	struct dirent *d;
	DIR *dir;

	if (stat(path, &st) < 0) {
		sg_seterr(e, "cannot open '%s': %s", path, strerror(errno));
		json_decref(out);
		return NULL;
	}
	if (!(*isdir = S_ISDIR(st.st_mode))) {
		const char *base = strrchr(path, '/');

		json_array_append_new(
			out, json_pack("[s, I, I, I]", base ? base + 1 : path,
				     (json_int_t)st.st_size,
				     (json_int_t)st.st_mtim.tv_sec,
				     (json_int_t)st.st_mtim.tv_nsec));
		return out;
	}
	if (!(dir = opendir(path))) {
		sg_seterr(e, "cannot open '%s': %s", path, strerror(errno));
		json_decref(out);
		return NULL;
	}
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.') {
			names = sg_xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = sg_xstrdup(d->d_name);
		}
	closedir(dir);
	qsort(names, n, sizeof *names, by_name);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof full, "%s/%s", path, names[i]);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			json_array_append_new(
				out, json_pack("[s, I, I, I]", names[i],
					     (json_int_t)st.st_size,
					     (json_int_t)st.st_mtim.tv_sec,
					     (json_int_t)st.st_mtim.tv_nsec));
		free(names[i]);
	}
	free(names);
	return out;
}

/* Whether a is an array of [string, string] pairs. */
static int
pairs(const json_t *a)
{
	size_t i;
	json_t *p;

	if (!json_is_array(a))
		return 0;
	json_array_foreach (a, i, p)
		if (json_array_size(p) != 2 ||
			!json_is_string(json_array_get(p, 0)) ||
			!json_is_string(json_array_get(p, 1)))
			return 0;
	return 1;
}

/* The index of a cache file, when it is one for these sources and whole:
 * a file that fails any check is rebuilt, never trusted. */
static int
from_cache(struct sg_kb *kb, const json_t *c, const json_t *src)
{
	json_t *len = json_object_get(c, "len"), *list, *hit, *v;
	size_t np, i, j;
	const char *term;

	if (sg_get_int(c, "version", 0) != KB_CACHE_VERSION ||
		!json_equal(json_object_get(c, "sources"), src) ||
		!pairs(json_object_get(c, "passages")) ||
		!pairs(json_object_get(c, "sentences")) ||
		!json_is_object(json_object_get(c, "postings")))
		return 0;
	np = json_array_size(json_object_get(c, "passages"));
	if (np == 0 || !json_is_array(len) || json_array_size(len) != np)
		return 0;
	json_array_foreach (len, i, v)
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return 0;
	json_object_foreach (json_object_get(c, "postings"), term, list) {
		if (!json_is_array(list))
			return 0;
		json_array_foreach (list, j, hit)
			if (json_array_size(hit) != 2 ||
				!json_is_integer(json_array_get(hit, 0)) ||
				!json_is_integer(json_array_get(hit, 1)) ||
				json_integer_value(json_array_get(hit, 0)) <
					0 ||
				json_integer_value(json_array_get(hit, 0)) >=
					(json_int_t)np ||
				json_integer_value(json_array_get(hit, 1)) < 1)
				return 0;
	}
	json_decref(kb->passages);
	json_decref(kb->sentences);
	json_decref(kb->postings);
	kb->passages = json_incref(json_object_get(c, "passages"));
	kb->sentences = json_incref(json_object_get(c, "sentences"));
	kb->postings = json_incref(json_object_get(c, "postings"));
	kb->len = sg_xmalloc(np * sizeof *kb->len);
	kb->avglen = 0;
	json_array_foreach (len, i, v)
		kb->avglen += kb->len[i] = (double)json_integer_value(v);
	kb->avglen /= (double)np;
	return 1;
}

/* Write the index beside its sources' signature; a failure only costs the
 * next run a rebuild, so it is not an error. */
static void
to_cache(const struct sg_kb *kb, const char *file, json_t *src)
{
	json_t *len = json_array(), *c;
	struct sg_error e;
	char *text;

	for (size_t i = 0; i < json_array_size(kb->passages); i++)
		json_array_append_new(
			len, json_integer((json_int_t)kb->len[i]));
	c = json_pack("{s: i, s: O, s: O, s: O, s: O, s: o}", "version",
		KB_CACHE_VERSION, "sources", src, "passages", kb->passages,
		"sentences", kb->sentences, "postings", kb->postings, "len",
		len);
	if (c && (text = json_dumps(c, JSON_COMPACT))) {
		sg_write_atomic(file, text, strlen(text), &e);
		free(text);
	}
	json_decref(c);
}

/* The text of src's files, the files of path when isdir; -1 and e when
 * one cannot be read or none has a word, so no passage. */
static int
read_text(struct sg_kb *kb, const char *path, const json_t *src, int isdir,
	struct sg_error *e)
{
	char file[4096];
	const char *p, *a;
	const json_t *s;
	uint64_t h;
	size_t i;
	int words = 0, nl;

	kb->name = sg_xcalloc(json_array_size(src) + 1, sizeof *kb->name);
	kb->text = sg_xcalloc(json_array_size(src) + 1, sizeof *kb->text);
	json_array_foreach (src, i, s) {
		const char *name = json_string_value(json_array_get(s, 0));

		if (isdir)
			snprintf(file, sizeof file, "%s/%s", path, name);
		if (!(kb->text[i] = sg_slurp(isdir ? file : path, NULL, e)))
			return -1;
		kb->name[i] = sg_xstrdup(name);
		kb->nfiles++;
		p = kb->text[i];
		words |= sg_word_next(&p, &a, &h, &nl);
	}
	if (!words) {
		sg_seterr(e, "knowledge base '%s' holds no text", path);
		return -1;
	}
	return 0;
}

static struct sg_kb *
kb_new(void)
{
	struct sg_kb *kb = sg_xmalloc(sizeof *kb);

	memset(kb, 0, sizeof *kb);
	kb->postings = json_object();
	return kb;
}

struct sg_kb *
sg_kb_text(const char *path, struct sg_error *e)
{
	struct sg_kb *kb = kb_new();
	int isdir = 0;
	json_t *src = sources(path, &isdir, e);

	if (!src || read_text(kb, path, src, isdir, e) < 0) {
		json_decref(src);
		sg_kb_free(kb);
		return NULL;
	}
	json_decref(src);
	return kb;
}

struct sg_kb *
sg_kb_load(const char *path, const char *cache_dir, int *cached,
	struct sg_error *e)
{
	struct sg_kb *kb = kb_new();
	int isdir = 0;
	json_t *src = sources(path, &isdir, e), *c = NULL;
	char cache[4096], *text, *real, *dir;

	*cached = 0;
	if (!src)
		goto fail;
	if (cache_dir) {
		/* one file per knowledge base, named by its absolute path */
		real = realpath(path, NULL);
		snprintf(cache, sizeof cache, "%s/kb-%016llx.json", cache_dir,
			(unsigned long long)sg_hash64(real ? real : path,
				strlen(real ? real : path)));
		free(real);
		if ((text = sg_slurp(cache, NULL, NULL))) {
			c = json_loads(text, 0, NULL);
			free(text);
		}
		*cached = c && from_cache(kb, c, src);
		json_decref(c);
		if (*cached) {
			json_decref(src);
			return kb;
		}
	}
	if (read_text(kb, path, src, isdir, e) < 0)
		goto fail;
	/* both, for the cache */
	sg_kb_sentences(kb);
	build_index(kb);
	if (cache_dir) {
		dir = sg_xstrdup(cache_dir);
		if (sg_mkdirs(dir) == 0)
			to_cache(kb, cache, src);
		free(dir);
	}
	json_decref(src);
	return kb;
fail:
	json_decref(src);
	sg_kb_free(kb);
	return NULL;
}

void
sg_kb_free(struct sg_kb *kb)
{
	if (!kb)
		return;
	for (size_t i = 0; i < kb->nfiles; i++) {
		free(kb->name[i]);
		free(kb->text[i]);
	}
	free(kb->name);
	free(kb->text);
	free(kb->cut[0].v);
	free(kb->cut[1].v);
	json_decref(kb->passages);
	json_decref(kb->sentences);
	json_decref(kb->postings);
	free(kb->len);
	free(kb);
}

/* The [id, text] pair of a kind's item i, from its span: the text was
 * checked as UTF-8 when it was cut. */
static json_t *
span_item(const struct sg_kb *kb, enum sg_kb_kind kind, size_t i)
{
	const struct span *sp = &kb->cut[kind].v[i];
	char id[4200];
	json_t *pair = json_array();

	snprintf(id, sizeof id, "%s%s%zu", kb->name[sp->file],
		kind == SG_KB_PASSAGES ? "#" : ".s", i);
	json_array_append_new(pair, json_string(id));
	json_array_append_new(pair,
		json_stringn_nocheck(kb->text[sp->file] + sp->off, sp->len));
	return pair;
}

/* The kind's items as JSON, when they are (from the cache, or asked for
 * whole), else NULL. */
static json_t **
as_json(struct sg_kb *kb, enum sg_kb_kind kind)
{
	return kind == SG_KB_PASSAGES ? &kb->passages : &kb->sentences;
}

size_t
sg_kb_count(struct sg_kb *kb, enum sg_kb_kind kind)
{
	json_t *j = *as_json(kb, kind);

	return j ? json_array_size(j) : cut(kb, kind)->n;
}

json_t *
sg_kb_item(struct sg_kb *kb, enum sg_kb_kind kind, size_t i)
{
	json_t *j = *as_json(kb, kind);

	if (j)
		return json_incref(json_array_get(j, i));
	return i < cut(kb, kind)->n ? span_item(kb, kind, i) : NULL;
}

static const json_t *
items(struct sg_kb *kb, enum sg_kb_kind kind)
{
	json_t **j = as_json(kb, kind);
	struct cut *c;

	if (!*j) {
		c = cut(kb, kind);
		*j = json_array();
		for (size_t i = 0; i < c->n; i++)
			json_array_append_new(*j, span_item(kb, kind, i));
	}
	return *j;
}

const json_t *
sg_kb_sentences(struct sg_kb *kb)
{
	return items(kb, SG_KB_SENTENCES);
}

const json_t *
sg_kb_passages(struct sg_kb *kb)
{
	return items(kb, SG_KB_PASSAGES);
}

json_t *
sg_kb_search(const struct sg_kb *kb, const char *query, size_t k)
{
	size_t np = json_array_size(kb->passages), i, j, best;
	double *score = calloc(np ? np : 1, sizeof *score);
	json_t *qt = terms(query), *t, *list, *hit, *out = json_array();

	json_array_foreach (qt, i, t) {
		list = json_object_get(kb->postings, json_string_value(t));
		double df = (double)json_array_size(list);
		double idf = log(1 + ((double)np - df + 0.5) / (df + 0.5));

		json_array_foreach (list, j, hit) {
			size_t d = (size_t)json_integer_value(
				json_array_get(hit, 0));
			double f = (double)json_integer_value(
				json_array_get(hit, 1));

			score[d] += idf * f * 2.2 /
				    (f + 1.2 * (0.25 + 0.75 * kb->len[d] /
							       kb->avglen));
		}
	}
	for (i = 0; i < k; i++) {
		best = np;
		for (j = 0; j < np; j++)
			if (score[j] > 0 &&
				(best == np || score[j] > score[best]))
				best = j;
		if (best == np)
			break;
		json_array_append(out, json_array_get(kb->passages, best));
		score[best] = 0;
	}
	free(score);
	json_decref(qt);
	return out;
}
