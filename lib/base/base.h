/*
 * base.h - the base every part of libsg stands on: the exit-code table and
 * the one error type, the tool layer and its .env file, random numbers and
 * hashing, files, child processes, the text view of a sample, and tables by
 * 64-bit key.
 *
 * Library functions report failure by returning NULL or -1 and filling a
 * struct sg_error; they never print and never exit.  Only the tool layer
 * (sg_die, sg_warn, sg_finish in base/tool.c) talks to the user.
 */
#ifndef SG_BASE_H
#define SG_BASE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#define SG_VERSION "0.1.0"

/* A loop-heavy function built twice on x86-64, for AVX2 and for the
 * baseline, the loader picking the clone the processor runs.  Only the
 * vector width differs: without fused multiply-add (not in "avx2", and
 * never contracted in ISO C mode) the figures are the same. */
#if defined(__x86_64__) && defined(__GNUC__)
#define SG_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SG_AVX2_CLONES
#endif

/* The exit-code table of every tool, documented once in sg(7). */
enum sg_exit {
	SG_EXIT_OK = 0,
	SG_EXIT_DATA = 1,	 /* bad records were reported and skipped */
	SG_EXIT_USAGE = 2,	 /* bad command line */
	SG_EXIT_CONFIG = 3,	 /* recipe or state file unusable */
	SG_EXIT_IO = 4,		 /* a file could not be read or written */
	SG_EXIT_CHILD = 5,	 /* a child command or pipeline stage failed */
	SG_EXIT_INCOMPLETE = 6,	 /* a budget ran out before the target */
	SG_EXIT_UNAVAILABLE = 7, /* the server or the setup fails every arm */
	SG_EXIT_PIPE = 141,	 /* stdout closed by the reader */
};

struct sg_error {
	char text[512];
};

void sg_seterr(struct sg_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* tool.c: the tool layer; these are the only functions that print or exit,
 * and the allocations that exit when memory runs out */
extern const char *sg_progname;
void sg_init(char *argv[]);
void sg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void sg_die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sg_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Called before sg_warn, sg_note and sg_die print: a tool that keeps a
 * status line on the terminal clears it there. */
extern void (*sg_before_message)(void);
int sg_finish(int status);
_Noreturn void sg_version(void);
/* The text sg_warn, sg_note and sg_die mask in every message (sg_mask):
 * the API key, given by the part that holds it; copied, NULL forgets. */
void sg_secret(const char *secret);
/* Every stretch of s covered by runs of at least 8 characters of secret
 * (of all of it when shorter; nothing under 4) replaced by "***", in
 * place: a key quoted in part, cut or wrapped, is not shown. */
void sg_mask(char *s, const char *secret);
void *sg_xmalloc(size_t n);
void *sg_xrealloc(void *p, size_t n);
void *sg_xcalloc(size_t n, size_t size); /* zeroed, as sg_xmalloc */
char *sg_xstrdup(const char *s);
/* arg as a number from 0 to 1, or a usage error naming opt. */
double sg_unit_arg(const char *opt, const char *arg);
int sg_isatty_stderr(void);
extern int sg_verbose;

/* dotenv.c: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_EMBEDDING_MODEL,
 * OPENAI_MODEL, OPENAI_ORG_ID and OPENAI_PROJECT_ID from a .env file where
 * the environment lacks them; a missing file is no error.  sg_init reads
 * ./.env with it, then masks the key in every message (sg_secret). */
int sg_dotenv(const char *path, struct sg_error *e);

/* rng.c: xoshiro256**, small and serialisable into the state file */
struct sg_rng {
	uint64_t s[4];
};

void sg_rng_seed(struct sg_rng *r, uint64_t seed);
uint64_t sg_rng_next(struct sg_rng *r);
double sg_rng_uniform(struct sg_rng *r); /* [0,1) */
uint64_t sg_rng_below(struct sg_rng *r, uint64_t n);
uint64_t sg_rng_seed53(struct sg_rng *r); /* an exact JSON integer */
uint64_t sg_rng_fresh_seed(void);	  /* from the kernel, below 2^53 */
void sg_rng_format(const struct sg_rng *r, char out[65]);
int sg_rng_parse(struct sg_rng *r, const char *hex);
double sg_rng_normal(struct sg_rng *r);
double sg_rng_gamma(struct sg_rng *r, double shape);
double sg_rng_beta(struct sg_rng *r, double a, double b);
uint64_t sg_hash64(const void *p, size_t n);

/* file.c: atomic replacement and locking */
int sg_write_atomic(
	const char *path, const char *data, size_t len, struct sg_error *e);
/* As sg_write_atomic, without its fsyncs: a reader never sees half the
 * file, but only a later syncfs(2) makes it durable. */
int sg_write_renamed(
	const char *path, const char *data, size_t len, struct sg_error *e);
/* from renamed to to, and the rename made durable. */
int sg_rename_synced(const char *from, const char *to, struct sg_error *e);
/* path opened with flags (O_CREAT makes it 0644, close-on-exec always)
 * to be written in place, a symbolic link there refused: the fd, or -1
 * and e.  Every file a tool writes other than by sg_write_atomic. */
int sg_open_nofollow(const char *path, int flags, struct sg_error *e);
/* -1 and e when path is a symbolic link, as sg_open_nofollow says it;
 * else 0. */
int sg_no_link(const char *path, struct sg_error *e);
/* As fopen with mode "w", "a" or "a+", through sg_open_nofollow. */
FILE *sg_fopen_nofollow(const char *path, const char *mode, struct sg_error *e);
/* path.lock, opened as sg_open_nofollow and locked: the fd, or -1. */
int sg_lock(const char *path, struct sg_error *e);
void sg_unlock(int fd);
char *sg_slurp(const char *path, size_t *len, struct sg_error *e);
/* The hash of a file's bytes in 16 hexadecimal digits: which data a run
 * was given, recorded where its name alone would not tell. */
int sg_file_hash(const char *path, char out[17], struct sg_error *e);
/* mkdir -p, mode 0700; path is changed and restored. */
int sg_mkdirs(char *path);
/* path with suffix appended, malloc'd: the files kept beside a state. */
char *sg_suffixed(const char *path, const char *suffix);
/* The files a lock guards and processes append to: path opened to read
 * from off; NULL with *status 0 when it does not exist, else with the exit
 * status and e. */
FILE *sg_open_from(
	const char *path, off_t off, int *status, struct sg_error *e);
/* Closes fp, opened to append to path, once what was written is on disk;
 * *size is then the file's.  0, or -1 and e. */
int sg_close_synced(
	FILE *fp, const char *path, off_t *size, struct sg_error *e);

/* proc.c: child processes, always from an argv, never through a shell */
/* Start argv[0] (searched in PATH) with the given descriptors as its stdin
 * and stdout (-1 keeps ours); the pid, or -1. */
pid_t sg_spawn(char *const argv[], int fdin, int fdout, struct sg_error *e);
/* As sg_spawn, with fderr as its stderr (-1 keeps ours). */
pid_t sg_spawn_err(
	char *const argv[], int fdin, int fdout, int fderr, struct sg_error *e);
/* The child's exit status, 128+N when killed by signal N, -1 on error. */
int sg_wait(pid_t pid, struct sg_error *e);
/* An argv from a JSON array of strings, or from a string split on blanks
 * (no quoting, no expansion); NULL-terminated, free with sg_argv_free. */
char **sg_argv_from_json(const json_t *cmd, struct sg_error *e);
void sg_argv_free(char **argv);

/* text.c: the text view of a sample and measures over it */
/* A growing string, always NUL-terminated once anything was added. */
struct sg_buf {
	char *p;
	size_t len, cap;
};
void sg_buf_add(struct sg_buf *b, const char *s, size_t n);
/* A sample's data as text: a string as it is, else the string values of
 * an object or array joined by spaces, depth first; malloc'd. */
char *sg_sample_text(const json_t *data);
/* Whether s is one of the n strings of list. */
int sg_among(const char *s, const char *const *list, size_t n);
/* A byte of a word (a letter or digit, the apostrophe, any byte of a
 * UTF-8 sequence), and a byte folded to lower case: isalnum and tolower
 * in the C locale the tools run in, inline, as the text checks call them
 * on every byte of every sample. */
static inline int
sg_wordc(int c)
{
	return (unsigned)((c | 0x20) - 'a') < 26u ||
	       (unsigned)(c - '0') < 10u || c == '\'' || c >= 0x80;
}
static inline int
sg_lower(int c)
{
	return c + (int)(((unsigned)(c - 'A') < 26u) << 5);
}
/* The words of text: runs of letters, marks, digits and apostrophes
 * (Unicode's general categories L, M and N, by utf8proc), each folded to
 * its NFKC_Casefold, so that "ÉCOUTEURS" and "écouteurs", "Ｗｉｆｉ" and
 * "wifi", "ΛΟΓΟΣ" and "λογος" are one word. */
size_t sg_count_words(const char *text);
/* The next word of *s: its start in *start, the hash of its folded form
 * in *hash (as sg_word_hash makes it), *s moved past it, and *newline set
 * when a line break comes before it; 0 at the end of the text. */
int sg_word_next(
	const char **s, const char **start, uint64_t *hash, int *newline);
/* The length of the UTF-8 sequence at s (n bytes left, n > 0) as
 * jansson reads it, or 0 where jansson refuses it: overlong, a surrogate,
 * past U+10FFFF, or cut short. */
size_t sg_utf8_len(const unsigned char *s, size_t n);
/* The UTF-8 code points of the n bytes at s: the bytes that do not
 * continue a sequence. */
size_t sg_codepoints(const char *s, size_t n);
/* A text's words, read once for every check that reads them (the word
 * count, relevance, perplexity, near-duplicates): each a word as
 * sg_count_words counts them, with its hash as sg_word_hash makes it,
 * where it is in text, and whether a line break comes before it (after
 * the word before). */
struct sg_word {
	uint64_t hash;
	size_t at, len;
	int newline;
};
struct sg_words {
	const char *text;
	struct sg_word *v;
	size_t n, cap;
};
/* text's words into w, whose array is reused; w keeps text, not a copy. */
void sg_words_read(struct sg_words *w, const char *text);
/* The next word of *s as [start, end), *s moved past it; 0 at the end. */
int sg_next_word(const char **s, const char **start, const char **end);
/* A word's hash: FNV-1a over the UTF-8 of its NFKC_Casefold. */
uint64_t sg_word_hash(const char *start, const char *end);
/* Whether s holds nothing to read: no code point but spaces, line and
 * paragraph separators, controls and format characters (zero-width
 * spaces and joiners), as Unicode classes them. */
int sg_blank(const char *s);
/* The n bytes at s in Unicode's NFC, malloc'd, its length in *len; NULL
 * when they are already (ASCII, or text whose code points all keep it
 * NFC, such as precomposed accents) or not UTF-8. */
char *sg_nfc(const char *s, size_t n, size_t *len);

/* map.c: numbers by 64-bit key, an open-addressing table */
struct sg_map;
struct sg_map *sg_map_new(void); /* one number a key */
struct sg_map *sg_map_new_n(int numbers);
void sg_map_free(struct sg_map *m);
double *sg_map_get(const struct sg_map *m, uint64_t key); /* or NULL */
double *sg_map_put(struct sg_map *m, uint64_t key);	  /* new ones are 0 */
size_t sg_map_size(const struct sg_map *m);
/* Room for n keys in all, made at once rather than by doubling. */
void sg_map_reserve(struct sg_map *m, size_t n);
/* The entries in slot order: from *i 0, each call gives the next key and
 * its numbers and returns 1, then 0 at the end. */
int sg_map_next(const struct sg_map *m, size_t *i, uint64_t *key, double **v);
/* The map as an image appended to b, and a map over such an image of len
 * bytes at p, used in place: p, 8-byte aligned, must stay valid and
 * writable as long as the map, which never frees it and copies it out
 * only when it grows.  NULL when the bytes are not an image. */
void sg_map_dump(const struct sg_map *m, struct sg_buf *b);
struct sg_map *sg_map_view(void *p, size_t len);
/* The bytes of its cells: all of its image but the first 24. */
size_t sg_map_bytes(const struct sg_map *m);
/* Starts loading key's slot into the cache: a batch of these before the
 * probes lets their misses overlap. */
void sg_map_prefetch(const struct sg_map *m, uint64_t key);
/* bytes of zeros for a hash table, in huge pages when it is large: a probe
 * into hundreds of megabytes of 4 KiB pages misses the TLB too. */
void *sg_table_new(size_t bytes);
/* Such a table of old bytes made bytes long, what it held kept (moved, not
 * copied, when it is large), the new bytes zero. */
void *sg_table_resize(void *p, size_t old, size_t bytes);
void sg_table_free(void *p, size_t bytes);
/* A filter of 64-bit keys in nbits bits (a power of two; two bits a key):
 * "no" is sure, "maybe" asks the table.  It spares a cache miss on the
 * many keys a table of thousands does not hold. */
void sg_bloom_add(uint64_t *bits, size_t nbits, uint64_t key);
/* Inline, as it is asked about every word of every sample. */
static inline size_t
sg_bloom_bit(uint64_t key, size_t nbits, int i)
{
	uint64_t x = key * 0x9e3779b97f4a7c15ULL;

	return (size_t)(x >> (i ? 48 : 32)) & (nbits - 1);
}
static inline int
sg_bloom_has(const uint64_t *bits, size_t nbits, uint64_t key)
{
	size_t k0 = sg_bloom_bit(key, nbits, 0),
	       k1 = sg_bloom_bit(key, nbits, 1);

	/* both bits read, one branch: after a first bit set, whether the
	 * second was went either way, and missed */
	return (int)(bits[k0 / 64] >> (k0 % 64) & bits[k1 / 64] >> (k1 % 64) &
		     1);
}

#endif
