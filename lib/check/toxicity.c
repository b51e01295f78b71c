/*
 * toxicity.c - offensive words from a lexicon of graded terms, one
 * "term<TAB>severity" a line (make lexicon builds one from the cuss
 * package: 0 rarely offensive, 1 maybe, 2 surely).  Matching is by whole
 * words only, so "Scunthorpe", "class" and "assassin" are left alone; a
 * word is folded to lower case, leetspeak is read as letters ("sh1t",
 * "@ss"), letters stretched over three or more are tried shortened
 * ("fuuuck"), and two words in a row are tried as one two-word term.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "record/record.h"
#include "check/check-internal.h"

/* The terms by the 64-bit hash of their text, in an open-addressing
 * table: a word costs one hash and a probe or two, not a string compare
 * per term. */
struct slot {
	uint64_t key; /* 0: free */
	long severity;
};

#define BLOOM_BITS 65536u

struct sg_lexicon {
	struct slot *slots;
	size_t cap, n;
	/* two bits a term, in the cache: most words of a text, and of the
	 * pairs of words tried as two-word terms, are no term at all (8 KiB:
	 * a lexicon of 1800 terms sets 5% of the bits, and one word in 300
	 * gets past them to the table, where 16384 bits let one in 20) */
	uint64_t terms[BLOOM_BITS / 64];
};

static uint64_t
key_of(const char *s, size_t n)
{
	uint64_t h = sg_hash64(s, n);

	return h ? h : 1;
}

static struct slot *
slot_of(const struct sg_lexicon *lx, uint64_t key)
{
	size_t i = (key ^ key >> 29) & (lx->cap - 1);

	while (lx->slots[i].key && lx->slots[i].key != key)
		i = (i + 1) & (lx->cap - 1);
	return &lx->slots[i];
}

static void
term_add(struct sg_lexicon *lx, const char *term, long sev)
{
	struct slot *old = lx->slots, *p;
	size_t ocap = lx->cap;

	if (2 * (lx->n + 1) > lx->cap) {
		lx->cap = lx->cap ? 2 * lx->cap : 1024;
		lx->slots = sg_xmalloc(lx->cap * sizeof *lx->slots);
		memset(lx->slots, 0, lx->cap * sizeof *lx->slots);
		for (size_t i = 0; i < ocap; i++)
			if (old[i].key)
				*slot_of(lx, old[i].key) = old[i];
		free(old);
	}
	sg_bloom_add(lx->terms, BLOOM_BITS, key_of(term, strlen(term)));
	p = slot_of(lx, key_of(term, strlen(term)));
	if (!p->key) {
		p->key = key_of(term, strlen(term));
		p->severity = sev;
		lx->n++;
	} else if (sev > p->severity) {
		p->severity = sev;
	}
}

/* Each byte as a letter: lower case, leetspeak read ("0" is o); and what
 * kind of byte it is, asked of every byte of every sample. */
enum { WORDC = 1, LETTER = 2 }; /* of a word ("@", "$", "!" too), ASCII */
static unsigned char leet_tab[256], kind_tab[256];

static void
leet_init(void)
{
	static const char from[] = "013457@$!", to[] = "oieastasi";

	for (int c = 0; c < 256; c++) {
		int letter = (unsigned)((c | 0x20) - 'a') < 26u;

		leet_tab[c] = (unsigned char)tolower(c);
		kind_tab[c] =
			(unsigned char)((letter ? LETTER : 0) |
					(letter || (unsigned)(c - '0') < 10u ||
								c == '@' ||
								c == '$' ||
								c == '!' ||
								c >= 0x80
							? WORDC
							: 0));
	}
	for (size_t i = 0; from[i]; i++)
		leet_tab[(unsigned char)from[i]] = (unsigned char)to[i];
}

static int
leet(int c)
{
	return leet_tab[c];
}

struct sg_lexicon *
sg_lexicon_load(const char *path, struct sg_error *e)
{
	struct sg_lexicon *lx;
	unsigned long line = 0;
	char buf[256], *tab, *end;
	long sev;
	FILE *fp;

	if (!(fp = fopen(path, "r"))) {
		sg_seterr(e, "cannot open lexicon '%s': %s", path,
			strerror(errno));
		return NULL;
	}
	leet_init();
	lx = sg_xmalloc(sizeof *lx);
	memset(lx, 0, sizeof *lx);
	while (fgets(buf, sizeof buf, fp)) {
		line++;
		buf[strcspn(buf, "\r\n")] = '\0';
		if (!*buf || *buf == '#')
			continue;
		if (!(tab = strchr(buf, '\t')) ||
			((sev = strtol(tab + 1, &end, 10)), *end) ||
			end == tab + 1 || sev < 0 || tab == buf) {
			sg_seterr(e, "%s:%lu: not \"term<TAB>severity\"", path,
				line);
			fclose(fp);
			sg_lexicon_free(lx);
			return NULL;
		}
		*tab = '\0';
		/* "pu55y" is found as the text's words are: read as letters */
		for (char *p = buf; *p; p++)
			*p = (char)leet((unsigned char)*p);
		term_add(lx, buf, sev);
	}
	if (ferror(fp)) {
		sg_seterr(e, "cannot read '%s': %s", path, strerror(errno));
		fclose(fp);
		sg_lexicon_free(lx);
		return NULL;
	}
	fclose(fp);
	if (lx->n == 0) {
		sg_seterr(e, "%s: the lexicon is empty", path);
		sg_lexicon_free(lx);
		return NULL;
	}
	return lx;
}

void
sg_lexicon_free(struct sg_lexicon *lx)
{
	if (!lx)
		return;
	free(lx->slots);
	free(lx);
}

static int
tokc(int c)
{
	return kind_tab[c] & WORDC;
}

/* The severity of the term of that key, or -1. */
static long
probe(const struct sg_lexicon *lx, uint64_t key)
{
	const struct slot *p;

	if (!sg_bloom_has(lx->terms, BLOOM_BITS, key))
		return -1;
	p = slot_of(lx, key);
	return p->key ? p->severity : -1;
}

/* The severity of the word w (len bytes) in one of its readings; -1 when
 * none is a term. */
static long
lookup(const struct sg_lexicon *lx, const char *w, size_t len)
{
	char base[128], form[128];
	int letters = 0, n = 0, stretched = 0;
	long sev;
	/* the key of the form as written, hashed (sg_hash64) as it is
	 * folded: every word and pair of words of every sample comes here */
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len && w[len - 1] == '!')
		len--;
	if (len == 0 || len >= sizeof base)
		return -1;
	for (size_t i = 0; i < len && !letters; i++)
		letters = isalpha((unsigned char)w[i]);
	/* as written; then, when some letter is stretched over three or more
	 * ("fuuuck"), with runs cut to two letters and to one: a doubled
	 * letter alone is spelling ("Twatt" is a place) */
	for (size_t i = 0; i < len; i++, n++) {
		unsigned char c = (unsigned char)w[i];

		base[n] = (char)(letters ? leet(c) : sg_lower(c));
		h = (h ^ (unsigned char)base[n]) * 0x100000001b3ULL;
		stretched |= n >= 2 && base[n] == base[n - 1] &&
			     base[n] == base[n - 2];
	}
	for (int keep = 0; keep <= (stretched ? 2 : 0); keep++) {
		int o = 0, run = 0;
		uint64_t key;

		if (keep == 0) {
			key = h ? h : 1;
		} else {
			for (int i = 0; i < n; i++) {
				run = i && base[i] == base[i - 1] ? run + 1 : 1;
				if (run <= keep)
					form[o++] = base[i];
			}
			key = key_of(form, (size_t)o);
		}
		if ((sev = probe(lx, key)) >= 0)
			return sev;
	}
	return -1;
}

/* The term at bytes [a, b) of text, told in code points: counted only
 * for the few words found, not as every word is read. */
static void
found_add(json_t *found, const char *text, size_t a, size_t b, long sev)
{
	size_t start = sg_codepoints(text, a);

	json_array_append_new(found,
		json_pack("{sIsIsI}", "start", (json_int_t)start, "end",
			(json_int_t)(start + sg_codepoints(text + a, b - a)),
			"severity", (json_int_t)sev));
}
/* A word of the text read as letters, as lookup reads a word with a
 * letter in it and a pair of words ending in one: the FNV-1a states of
 * it whole, without its trailing '!' (cut), and of the pair of the word
 * before and this one, cut; whether a letter is stretched in it. */
struct form {
	uint64_t whole, cut, pair;
	size_t len; /* cut */
	int letters, stretched_whole, stretched_cut;
};

/* The word at w, to its end, in one pass instead of lookup's few for it
 * and as many for the pair it ends (every word of every sample comes here
 * twice); its length. */
static size_t
read_word(const unsigned char *w, uint64_t before, struct form *f)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint64_t hp = (before ^ ' ') * 0x100000001b3ULL;
	uint64_t cut = h, pair = hp;
	/* the two letters before; no byte of a word reads as 0 */
	unsigned char c1 = 0, c2 = 0;
	int stretched = 0, stretched_cut = 0, kinds = 0;
	size_t i, len = 0;

	for (i = 0; kind_tab[w[i]] & WORDC; i++) {
		unsigned char c = leet_tab[w[i]];

		h = (h ^ c) * 0x100000001b3ULL;
		hp = (hp ^ c) * 0x100000001b3ULL;
		stretched |= c == c1 && c == c2;
		c2 = c1;
		c1 = c;
		kinds |= kind_tab[w[i]];
		if (w[i] != '!') {
			cut = h;
			pair = hp;
			len = i + 1;
			stretched_cut = stretched;
		}
	}
	*f = (struct form){h, cut, pair, len, (kinds & LETTER) != 0, stretched,
		stretched_cut};
	return i;
}

/* The severity of the words [pa, pb) and [a, b) of text as one term, w1
 * and w2 as read_word read them; b - pa is less than 256. */
static long
pair_lookup(const struct sg_lexicon *lx, const char *text, size_t pa, size_t pb,
	size_t a, size_t b, const struct form *w1, const struct form *w2)
{
	char pair[256];
	size_t n1 = pb - pa;

	if (w2->letters && !w1->stretched_whole && !w2->stretched_cut)
		return n1 + 1 + w2->len < 128
			       ? probe(lx, w2->pair ? w2->pair : 1)
			       : -1;
	memcpy(pair, text + pa, n1);
	pair[n1] = ' ';
	memcpy(pair + n1 + 1, text + a, b - a);
	return lookup(lx, pair, n1 + 1 + (b - a));
}

json_t *
sg_toxic_find(const struct sg_lexicon *lx, const char *text, long severity)
{
	const unsigned char *s = (const unsigned char *)text;
	json_t *found = json_array(), *last;
	size_t a, b, pa = 0, pb = 0;
	int prev = 0;
	long sev;
	struct form cur, prev_form = {0};

	for (size_t i = 0; s[i];) {
		if (!tokc(s[i])) {
			i++;
			continue;
		}
		a = i;
		i += read_word(s + a, prev_form.whole, &cur);
		b = i;
		if (prev && b - pa < 256 &&
			(sev = pair_lookup(lx, text, pa, pb, a, b, &prev_form,
				 &cur)) >= severity) {
			/* the two-word term stands for its first word */
			last = json_array_get(
				found, json_array_size(found) - 1);
			if (last && sg_get_int(last, "start", -1) ==
					    (long long)sg_codepoints(text, pa))
				json_array_remove(
					found, json_array_size(found) - 1);
			found_add(found, text, pa, b, sev);
			prev = 0;
			continue;
		}
		if (cur.letters && !cur.stretched_cut)
			sev = cur.len < 128 ? probe(lx, cur.cut ? cur.cut : 1)
					    : -1;
		else
			sev = lookup(lx, text + a, b - a);
		if (sev >= severity)
			found_add(found, text, a, b, sev);
		prev = 1;
		pa = a;
		pb = b;
		prev_form = cur;
	}
	return found;
}
