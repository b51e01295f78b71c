/*
 * pii.c - personal data in text: e-mail addresses, phone numbers, payment
 * cards, IBANs, US social security numbers, IP addresses and US routing
 * numbers.  Rules, not a model: each candidate is found by its shape,
 * confirmed by its checksum or numbering rules where it has them, and
 * scored; a context word near it ("card", "routing", "ssn", ...) raises the
 * score, which is what lets a bare nine-digit number count as a routing
 * number only when the text says so.  Offsets are in bytes here and in
 * code points in the spans handed to records.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "recipe/recipe.h"
#include "check/check-internal.h"

/* Words that make a nearby candidate more likely what it looks like; they
 * are matched as prefixes of words, so "phone" covers "phones". */
static const char *const context[SG_PII_NTYPES][12] = {
	{"mail", "e-mail", "email", "contact", "write", NULL},
	{"phone", "call", "tel", "mobile", "cell", "fax", "contact", "dial",
		"whatsapp", "number", "reach", NULL},
	{"card", "visa", "mastercard", "amex", "credit", "debit", "cc",
		"payment", "pay", NULL},
	{"iban", "account", "bank", "transfer", "wire", NULL},
	{"ssn", "social", "security", "taxpayer", NULL},
	{"ip", "ipv4", "ipv6", "address", "host", "server", "client", "connect",
		"ping", NULL},
	{"routing", "aba", "rtn", "bank", "transit", "wire", "ach", NULL},
};

#define CONTEXT_BYTES 48
#define CONTEXT_BOOST 0.35

int
sg_luhn_valid(const char *d, size_t n)
{
	int sum = 0;

	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';

		if (i % 2 && (v *= 2) > 9)
			v -= 9;
		sum += v;
	}
	return sum % 10 == 0;
}

/* The length of an IBAN of each country (ISO 13616 registry). */
static const struct {
	char cc[3];
	int len;
} iban_len[] = {{"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28},
	{"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29},
	{"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
	{"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
	{"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22},
	{"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
	{"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30},
	{"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20},
	{"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22},
	{"MK", 19}, {"MN", 20}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28},
	{"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28}, {"PS", 29},
	{"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
	{"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
	{"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26},
	{"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30}};

static int
iban_length(const char *cc)
{
	for (size_t i = 0; i < sizeof iban_len / sizeof *iban_len; i++)
		if (cc[0] == iban_len[i].cc[0] && cc[1] == iban_len[i].cc[1])
			return iban_len[i].len;
	return 0;
}

/* s holds n upper-case letters and digits, spaces already taken out. */
int
sg_iban_valid(const char *s, size_t n)
{
	unsigned rem = 0;

	if (n < 5 || (int)n != iban_length(s) ||
		!isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[(i + 4) % n];

		if (isdigit(c))
			rem = (rem * 10 + (c - '0')) % 97;
		else if (isupper(c))
			rem = (rem * 100 + (c - 'A' + 10)) % 97;
		else
			return 0;
	}
	return rem == 1;
}

/* The SSA's rules: no area 000, 666 or 900-999, no group 00, no serial
 * 0000, and none of the numbers printed in advertisements. */
int
sg_ssn_valid(const char *d)
{
	static const char *const ads[] = {
		"078051120", "457555462", "219099999"};
	int area = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');

	for (size_t i = 0; i < sizeof ads / sizeof *ads; i++)
		if (strncmp(d, ads[i], 9) == 0)
			return 0;
	return area != 0 && area != 666 && area < 900 &&
	       !(d[3] == '0' && d[4] == '0') && strncmp(d + 5, "0000", 4) != 0;
}

/* The ABA checksum, and a first two digits the Federal Reserve assigns
 * (00-12, 21-32, 61-72 and 80). */
int
sg_aba_valid(const char *d)
{
	int p = (d[0] - '0') * 10 + (d[1] - '0'), sum = 0;
	static const int w[] = {3, 7, 1};

	if (!(p <= 12 || (p >= 21 && p <= 32) || (p >= 61 && p <= 72) ||
		    p == 80))
		return 0;
	for (int i = 0; i < 9; i++)
		sum += w[i % 3] * (d[i] - '0');
	return sum % 10 == 0;
}

static int
prefix_in(const char *d, int lo, int hi, int digits)
{
	int v = 0;

	for (int i = 0; i < digits; i++)
		v = v * 10 + (d[i] - '0');
	return v >= lo && v <= hi;
}

/* Whether n digits can be a card of a known issuer: Visa, Mastercard,
 * American Express, Discover, JCB, Diners Club, UnionPay, Maestro. */
int
sg_card_issuer(const char *d, size_t n)
{
	if (d[0] == '4')
		return n == 13 || n == 16 || n == 19;
	if (prefix_in(d, 51, 55, 2) || prefix_in(d, 2221, 2720, 4))
		return n == 16;
	if (prefix_in(d, 34, 34, 2) || prefix_in(d, 37, 37, 2))
		return n == 15;
	if (prefix_in(d, 6011, 6011, 4) || prefix_in(d, 644, 649, 3) ||
		prefix_in(d, 65, 65, 2) || prefix_in(d, 3528, 3589, 4) ||
		prefix_in(d, 62, 62, 2))
		return n >= 16 && n <= 19;
	if (prefix_in(d, 300, 305, 3) || prefix_in(d, 36, 36, 2) ||
		prefix_in(d, 38, 39, 2))
		return n >= 14 && n <= 19;
	if (prefix_in(d, 50, 50, 2) || prefix_in(d, 56, 69, 2))
		return n >= 12 && n <= 19;
	return 0;
}

struct found {
	struct sg_pii_span *v;
	size_t n, cap;
	const char *text;
	size_t len;
	unsigned types;
};

static int
wordc(int c)
{
	return isalnum(c) || c == '_';
}

/* Whether a context word of type t is within reach of [a, b). */
static int
has_context(const struct found *f, int t, size_t a, size_t b)
{
	size_t lo = a > CONTEXT_BYTES ? a - CONTEXT_BYTES : 0;
	size_t hi = b + CONTEXT_BYTES < f->len ? b + CONTEXT_BYTES : f->len;
	const char *s = f->text;

	for (size_t i = lo; i < hi; i++) {
		if (!isalpha((unsigned char)s[i]) ||
			(i > 0 && wordc((unsigned char)s[i - 1])))
			continue;
		if (i >= a && i < b)
			continue;
		for (const char *const *w = context[t]; *w; w++) {
			size_t n = strlen(*w);

			if (i + n <= f->len && strncasecmp(s + i, *w, n) == 0)
				return 1;
		}
	}
	return 0;
}

static void
add(struct found *f, int t, size_t a, size_t b, double score)
{
	if (!(f->types & (1u << t)))
		return;
	if (has_context(f, t, a, b))
		score += CONTEXT_BOOST;
	if (score > 1)
		score = 1;
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->v = sg_xrealloc(f->v, f->cap * sizeof *f->v);
	}
	f->v[f->n++] = (struct sg_pii_span){a, b, t, score};
}

static int
emailc(int c)
{
	return isalnum(c) || strchr("._%+-", c);
}

/* Extensions of file names that are no top-level domain: "icon@2x.png",
 * an image at twice the density, is a file, not an address. */
static const char *const file_ext[] = {"avif", "bmp", "css", "csv", "gif",
	"heic", "htm", "html", "ico", "jpeg", "jpg", "json", "pdf", "png",
	"psd", "svg", "tif", "tiff", "txt", "webp", "xml", "yaml", "yml"};

static int
is_file_ext(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof file_ext / sizeof *file_ext; i++)
		if (strlen(file_ext[i]) == n &&
			strncasecmp(s, file_ext[i], n) == 0)
			return 1;
	return 0;
}

static void
scan_email(struct found *f, size_t at)
{
	const char *s = f->text;
	size_t a = at, b = at + 1, dot = 0;

	while (a > 0 && emailc((unsigned char)s[a - 1]) && s[a - 1])
		a--;
	while (a < at && !isalnum((unsigned char)s[a]))
		a++;
	while (b < f->len &&
		(isalnum((unsigned char)s[b]) || s[b] == '.' || s[b] == '-'))
		if (s[b++] == '.')
			dot = b;
	while (b > at + 1 && !isalnum((unsigned char)s[b - 1]))
		b--;
	if (a == at || dot == 0 || dot >= b || b - dot < 2)
		return;
	for (size_t i = dot; i < b; i++)
		if (!isalpha((unsigned char)s[i]))
			return;
	if (is_file_ext(s + dot, b - dot))
		return;
	add(f, SG_PII_EMAIL, a, b, 0.95);
}

/* The end of what has the shape of an IBAN at a, valid or not, so that
 * the digits of a mistyped one are not read as other numbers; else 0. */
static size_t
scan_iban(struct found *f, size_t a)
{
	const char *s = f->text;
	char buf[40];
	size_t n = 0, i = a;
	int want;

	if (!isupper((unsigned char)s[a]) ||
		!isupper((unsigned char)s[a + 1]) ||
		!(want = iban_length(s + a)))
		return 0;
	while (i < f->len && n < (size_t)want) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' && n % 4 == 0 && n > 0 && i + 1 < f->len &&
			isalnum((unsigned char)s[i + 1]))
			i++;
		else if (isdigit(c) || isupper(c))
			buf[n++] = (char)c, i++;
		else
			break;
	}
	if (n != (size_t)want || (i < f->len && wordc((unsigned char)s[i])) ||
		!isdigit((unsigned char)buf[2]) ||
		!isdigit((unsigned char)buf[3]))
		return 0;
	if (sg_iban_valid(buf, n))
		add(f, SG_PII_IBAN, a, i, 0.95);
	return i;
}

static void
scan_ipv6(struct found *f, size_t a)
{
	const char *s = f->text;
	size_t b = a, colons = 0;
	unsigned char addr[16];
	char buf[64];

	while (b < f->len &&
		(isxdigit((unsigned char)s[b]) || s[b] == ':' || s[b] == '.'))
		colons += s[b++] == ':';
	while (b > a && s[b - 1] == '.')
		b--;
	if (colons < 2 || b - a >= sizeof buf ||
		(b < f->len && wordc((unsigned char)s[b])))
		return;
	memcpy(buf, s + a, b - a);
	buf[b - a] = '\0';
	if (inet_pton(AF_INET6, buf, addr) == 1)
		add(f, SG_PII_IP, a, b, 0.8);
}

/* A run of digit groups with one separator between them, as numbers are
 * written: "+44 20 7946 0958", "(555) 123-4567", "4111-1111-1111-1111". */
#define MAXG 12
struct run {
	size_t start[MAXG], end[MAXG]; /* of each group's digits */
	char sep[MAXG];		       /* before each group but the first */
	int n, plus, paren;	       /* "+" before, "(ddd)" first */
	size_t from;		       /* where the run starts, "+" or "(" */
};

static int
issep(int c)
{
	return c == ' ' || c == '-' || c == '.';
}

static size_t
scan_run(const struct found *f, size_t i, struct run *r)
{
	const char *s = f->text;
	int open = 0;

	memset(r, 0, sizeof *r);
	r->from = i;
	if (s[i] == '+') {
		r->plus = 1;
		i++;
	} else if (s[i] == '(') {
		r->paren = open = 1;
		i++;
	}
	while (r->n < MAXG && i < f->len && isdigit((unsigned char)s[i])) {
		r->start[r->n] = i;
		while (i < f->len && isdigit((unsigned char)s[i]))
			i++;
		r->end[r->n++] = i;
		/* no room for another: what follows is not read */
		if (r->n == MAXG)
			return open ? (size_t)(r->n = 0) : i;
		if (open) {
			/* "(555) 123" or "+1 (555) 123": three digits
			 * inside, then at most one separator */
			if (s[i] != ')' ||
				r->end[r->n - 1] - r->start[r->n - 1] != 3)
				return r->n = 0;
			open = 0;
			r->sep[r->n] = ' ';
			i++;
			if (s[i] == ' ' || s[i] == '-')
				i++;
			if (!isdigit((unsigned char)s[i]))
				return r->n = 0;
			continue;
		}
		if (i + 2 < f->len && s[i] == ' ' && s[i + 1] == '(' &&
			r->plus && isdigit((unsigned char)s[i + 2])) {
			open = 1;
			r->sep[r->n] = ' ';
			i += 2;
		} else if (i + 1 < f->len && issep(s[i]) &&
			   isdigit((unsigned char)s[i + 1])) {
			r->sep[r->n] = s[i++];
		} else {
			break;
		}
	}
	return r->n ? r->end[r->n - 1] : 0;
}

static void
digits_of(const struct found *f, const struct run *r, int k, char *d, size_t *n)
{
	*n = 0;
	for (int g = 0; g < k; g++)
		for (size_t i = r->start[g]; i < r->end[g] && *n < 40; i++)
			d[(*n)++] = f->text[i];
	d[*n] = '\0';
}

static size_t
glen(const struct run *r, int g)
{
	return r->end[g] - r->start[g];
}

/* One separator throughout, or none: "4111 1111-1111" is not a card. */
static int
same_sep(const struct run *r, int k, const char *allowed)
{
	for (int g = 2; g < k; g++)
		if (r->sep[g] != r->sep[1])
			return 0;
	return k == 1 || strchr(allowed, r->sep[1]);
}

/* Phone numbers mix them: "(555) 234-5678". */
static int
seps_in(const struct run *r, int k, const char *allowed)
{
	for (int g = 1; g < k; g++)
		if (!r->sep[g] || !strchr(allowed, r->sep[g]))
			return 0;
	return 1;
}

/* The best reading of the first k groups of r, added to f; 1 if any. */
static int
classify(struct found *f, const struct run *r, int k)
{
	size_t a = r->plus || r->paren ? r->from : r->start[0];
	size_t b = r->end[k - 1], n;
	char d[48];
	int hit = 0;

	digits_of(f, r, k, d, &n);
	if (k == 4 && r->n == 4 && !r->plus && !r->paren &&
		same_sep(r, k, ".") && r->sep[1] == '.') {
		for (int g = 0; g < 4; g++)
			if (glen(r, g) > 3 ||
				(glen(r, g) > 1 &&
					f->text[r->start[g]] == '0') ||
				atoi(f->text + r->start[g]) > 255)
				return 0;
		add(f, SG_PII_IP, a, b, 0.6);
		return 1;
	}
	if (!r->plus && !r->paren && n >= 12 && n <= 19 &&
		same_sep(r, k, " -") && sg_luhn_valid(d, n) &&
		sg_card_issuer(d, n)) {
		add(f, SG_PII_CARD, a, b, k > 1 || n == 16 ? 0.85 : 0.6);
		hit = 1;
	}
	if (!r->plus && !r->paren && n == 9 && sg_ssn_valid(d)) {
		if (k == 3 && glen(r, 0) == 3 && glen(r, 1) == 2 &&
			same_sep(r, k, "- "))
			add(f, SG_PII_SSN, a, b, r->sep[1] == '-' ? 0.85 : 0.6),
				hit = 1;
		else if (k == 1)
			add(f, SG_PII_SSN, a, b, 0.2), hit = 1;
	}
	if (!r->plus && !r->paren && n == 9 && k == 1 && sg_aba_valid(d))
		add(f, SG_PII_ROUTING, a, b, 0.3), hit = 1;
	if (r->plus && n >= 8 && n <= 15 && seps_in(r, k, " -.")) {
		add(f, SG_PII_PHONE, a, b, 0.8);
		hit = 1;
	} else if (!r->plus && n == 10 && d[0] >= '2' && d[3] >= '2' &&
		   (r->paren || (k == 3 && glen(r, 0) == 3 && glen(r, 1) == 3 &&
					seps_in(r, k, " -.")))) {
		add(f, SG_PII_PHONE, a, b, 0.75);
		hit = 1;
	} else if (!r->plus && !r->paren && d[0] == '0' && d[1] != '0' &&
		   (n == 10 || n == 11) && k >= 2 && k <= 5 &&
		   seps_in(r, k, " -")) {
		add(f, SG_PII_PHONE, a, b, 0.6);
		hit = 1;
	} else if (!r->plus && !r->paren && k == 1 && n == 10 && d[0] >= '2' &&
		   d[3] >= '2') {
		add(f, SG_PII_PHONE, a, b, 0.25);
		hit = 1;
	}
	return hit;
}

static void
scan_number(struct found *f, size_t *i)
{
	struct run r;
	size_t end = scan_run(f, *i, &r);
	const char *s = f->text;

	if (!end) {
		(*i)++;
		return;
	}
	/* a number glued to letters or more digits is part of something
	 * else: a product code, a version, a longer number */
	if (end < f->len &&
		(isalpha((unsigned char)s[end]) || s[end] == '_' ||
			(s[end] == '.' && end + 1 < f->len &&
				isdigit((unsigned char)s[end + 1])))) {
		*i = end;
		return;
	}
	for (int k = r.n; k >= 1; k--)
		if (classify(f, &r, k)) {
			end = r.end[k - 1];
			break;
		}
	*i = end;
}

static int
cmp_span(const void *x, const void *y)
{
	const struct sg_pii_span *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return (a->end < b->end) - (a->end > b->end);
}

/* Of overlapping readings keep the one with the best score, the longer
 * on a tie; then drop those below the threshold. */
static void
resolve(struct found *f, double threshold)
{
	size_t out = 0;

	for (size_t i = 0; i < f->n; i++) {
		int keep = f->v[i].score >= threshold;

		for (size_t j = 0; j < f->n && keep; j++) {
			const struct sg_pii_span *a = &f->v[i], *b = &f->v[j];

			if (j == i || b->end <= a->start ||
				a->end <= b->start || b->score < threshold)
				continue;
			if (b->score > a->score ||
				(b->score == a->score &&
					(b->end - b->start >
							a->end - a->start ||
						(b->end - b->start ==
								a->end -
									a->start &&
							j < i))))
				keep = 0;
		}
		if (keep)
			f->v[out++] = f->v[i];
	}
	f->n = out;
	if (f->n)
		qsort(f->v, f->n, sizeof *f->v, cmp_span);
}

/* Where the next candidate may start, from i: every one holds a digit, an
 * '@' or a ':' (an IBAN's check digits are its third and fourth bytes, an
 * IPv6 address has colons), and starts at the word that holds the first
 * of them or at a '+' or '(' before it.  The words before it are passed
 * over at once: looked at one by one, each cost a mispredicted branch. */
static size_t
next_candidate(const char *s, size_t i, size_t len)
{
	size_t j = i + strcspn(s + i, "0123456789@:"), k;

	/* strcspn stops at a NUL too: one inside a string of jansson's is
	 * then passed over like any other byte */
	if (j >= len)
		return len;
	for (k = j; k > i && wordc((unsigned char)s[k - 1]); k--)
		;
	if (k > i && (s[k - 1] == '+' || s[k - 1] == '('))
		k--;
	return k;
}

size_t
sg_pii_find(const char *text, size_t len, unsigned types, double threshold,
	struct sg_pii_span **out)
{
	struct found f = {NULL, 0, 0, text, len, types};
	const char *s = text;
	size_t end;

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		int start = i == 0 || !wordc((unsigned char)s[i - 1]);

		if (c == '@' && i > 0)
			scan_email(&f, i);
		if (start && i + 1 < len && isupper(c) &&
			(end = scan_iban(&f, i))) {
			i = end;
			continue;
		}
		if (start && (isxdigit(c) || c == ':') &&
			(i == 0 || s[i - 1] != ':'))
			scan_ipv6(&f, i);
		if (start &&
			(isdigit(c) ||
				((c == '+' || c == '(') && i + 1 < len &&
					isdigit((unsigned char)s[i + 1])))) {
			/* digits glued to a number before them ("1.2.3"); a
			 * "+" or "(" there starts a number of its own */
			if (isdigit(c) && i > 1 &&
				(s[i - 1] == '.' || s[i - 1] == '-') &&
				isdigit((unsigned char)s[i - 2])) {
				while (i < len &&
					(isdigit((unsigned char)s[i]) ||
						issep(s[i])))
					i++;
				continue;
			}
			scan_number(&f, &i);
			continue;
		}
		/* past the rest of a word: s[i - 1] is tested once, each byte
		 * after it is the one before the next */
		if (wordc(c))
			while (++i < len && wordc((unsigned char)s[i]) &&
				s[i] != '@')
				;
		else
			i++;
		if (i < len && s[i] != '@')
			i = next_candidate(s, i, len);
	}
	resolve(&f, threshold);
	*out = f.v;
	return f.n;
}

/* Walking a sample's data: every string in the order of sg_sample_text,
 * with where it starts in that text, and every object key in the same
 * order, with where it starts in the keys joined the same way. */
struct walk {
	unsigned types;
	double threshold;
	int redact;
	size_t bytes[2], points[2]; /* of the text view, of the keys, so far */
	json_t *spans;
};

static char *
redacted(const char *s, size_t len, const struct sg_pii_span *v, size_t n,
	size_t *outlen)
{
	size_t cap = len + 16 * n + 1, o = 0, at = 0;
	char *out = sg_xmalloc(cap);

	for (size_t i = 0; i < n; i++) {
		memcpy(out + o, s + at, v[i].start - at);
		o += v[i].start - at;
		out[o++] = '[';
		for (const char *t = sg_pii_type_name(v[i].type); *t; t++)
			out[o++] = (char)toupper((unsigned char)*t);
		out[o++] = ']';
		at = v[i].end;
	}
	memcpy(out + o, s + at, len - at);
	o += len - at;
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* The spans of the len bytes at s, a value (key 0) or a key (1), added to
 * w->spans; s redacted (malloc'd, *outlen long) when it had any and w
 * redacts, else NULL. */
static char *
scan(struct walk *w, const char *s, size_t len, int key, size_t *outlen)
{
	struct sg_pii_span *sp;
	size_t n, at = 0, p;
	char *r = NULL;
	json_t *span;

	if (w->bytes[key]) {
		w->bytes[key]++;
		w->points[key]++;
	}
	n = sg_pii_find(s, len, w->types, w->threshold, &sp);
	p = w->points[key];
	for (size_t i = 0; i < n; i++) {
		p += sg_codepoints(s + at, sp[i].start - at);
		at = sp[i].start;
		span = json_pack("{sssIsIsf}", "type",
			sg_pii_type_name(sp[i].type), "start", (json_int_t)p,
			"end",
			(json_int_t)(p + sg_codepoints(s + at, sp[i].end - at)),
			"score", (double)(int)(sp[i].score * 100 + 0.5) / 100);
		if (key)
			json_object_set_new(span, "key", json_true());
		json_array_append_new(w->spans, span);
	}
	w->bytes[key] += len;
	w->points[key] += sg_codepoints(s, len);
	if (n && w->redact)
		r = redacted(s, len, sp, n, outlen);
	free(sp);
	return r;
}

/* Key k of len bytes, or "k (2)", "k (3)", ... when a key before it in o
 * has that name, since redacted keys can meet. */
static void
add_member(json_t *o, const char *k, size_t len, json_t *v)
{
	char *name = (char *)k;
	size_t n = len;

	for (int i = 2; json_object_getn(o, name, n); i++) {
		if (name == k)
			name = memcpy(sg_xmalloc(len + 16), k, len);
		n = len + (size_t)snprintf(name + len, 16, " (%d)", i);
	}
	json_object_setn_new_nocheck(o, name, n, v);
	if (name != k)
		free(name);
}

static json_t *walk(json_t *v, struct walk *w);

/* An object's keys and values walked; a new object when a key was
 * redacted, since keys cannot be renamed in place. */
static json_t *
walk_object(json_t *v, struct walk *w)
{
	size_t n = json_object_size(v), i = 0, klen;
	char **names = sg_xcalloc(n, sizeof *names);
	size_t *lens = sg_xcalloc(n, sizeof *lens);
	json_t **vals = sg_xcalloc(n, sizeof *vals), *kid, *out = NULL;
	const char *key;

	json_object_keylen_foreach(v, key, klen, kid)
	{
		if ((names[i] = scan(w, key, klen, 1, &lens[i])) && !out)
			out = json_object();
		vals[i++] = walk(kid, w);
	}
	i = 0;
	json_object_keylen_foreach(v, key, klen, kid)
	{
		if (out)
			add_member(out, names[i] ? names[i] : key,
				names[i] ? lens[i] : klen,
				vals[i] ? vals[i] : json_incref(kid));
		else if (vals[i])
			json_object_setn_new_nocheck(v, key, klen, vals[i]);
		free(names[i++]);
	}
	free(names);
	free(lens);
	free(vals);
	return out;
}

/* The replacement of v when redaction changed it (a new reference),
 * else NULL. */
static json_t *
walk(json_t *v, struct walk *w)
{
	json_t *kid, *neu;
	size_t i, olen;
	char *r;

	switch (json_typeof(v)) {
	case JSON_STRING:
		r = scan(w, json_string_value(v), json_string_length(v), 0,
			&olen);
		neu = r ? json_stringn_nocheck(r, olen) : NULL;
		free(r);
		return neu;
	case JSON_OBJECT:
		return walk_object(v, w);
	case JSON_ARRAY:
		json_array_foreach (v, i, kid)
			if ((neu = walk(kid, w)))
				json_array_set_new(v, i, neu);
		return NULL;
	default:
		return NULL;
	}
}

json_t *
sg_pii_data(json_t *data, unsigned types, double threshold, json_t **redact)
{
	struct walk w = {
		types, threshold, redact != NULL, {0, 0}, {0, 0}, json_array()};
	json_t *neu = walk(data, &w);

	if (redact)
		*redact = neu;
	else
		json_decref(neu);
	return w.spans;
}
