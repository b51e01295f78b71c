/*
 * rng.c - xoshiro256** seeded by splitmix64, and the normal, gamma and
 * beta draws the policies take from it.  Its whole state is four words, so
 * the state file can carry it and a resumed run draws exactly the numbers
 * an uninterrupted one would have.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
sg_rng_seed(struct sg_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t
sg_rng_next(struct sg_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double
sg_rng_uniform(struct sg_rng *r)
{
	return (double)(sg_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Lemire's rejection keeps every value equally likely. */
uint64_t
sg_rng_below(struct sg_rng *r, uint64_t n)
{
	uint64_t x, limit;

	if (n <= 1)
		return 0;
	limit = -n % n;
	do
		x = sg_rng_next(r);
	while (x < limit);
	return x % n;
}

/* Seeds travel through jq, which holds numbers as doubles: keep 53 bits. */
uint64_t
sg_rng_seed53(struct sg_rng *r)
{
	return sg_rng_next(r) >> 11;
}

uint64_t
sg_rng_fresh_seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof s, 0) != sizeof s)
		s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return s >> 11;
}

void
sg_rng_format(const struct sg_rng *r, char out[65])
{
	for (int i = 0; i < 4; i++)
		snprintf(out + 16 * i, 17, "%016" PRIx64, r->s[i]);
}

int
sg_rng_parse(struct sg_rng *r, const char *hex)
{
	char word[17];
	char *end;

	if (!hex || strlen(hex) != 64)
		return -1;
	for (int i = 0; i < 4; i++) {
		memcpy(word, hex + 16 * i, 16);
		word[16] = '\0';
		r->s[i] = strtoull(word, &end, 16);
		if (*end)
			return -1;
	}
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		return -1;
	return 0;
}

double
sg_rng_normal(struct sg_rng *r)
{
	double u = 1 - sg_rng_uniform(r), v = sg_rng_uniform(r);

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Marsaglia and Tsang (2000); shape below 1 through Gamma(a+1) U^(1/a). */
double
sg_rng_gamma(struct sg_rng *r, double a)
{
	double d, c, x, v, u;

	if (a < 1)
		return sg_rng_gamma(r, a + 1) *
		       pow(1 - sg_rng_uniform(r), 1 / a);
	d = a - 1.0 / 3;
	c = 1 / sqrt(9 * d);
	for (;;) {
		do {
			x = sg_rng_normal(r);
			v = 1 + c * x;
		} while (v <= 0);
		v = v * v * v;
		u = 1 - sg_rng_uniform(r);
		if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
			return d * v;
	}
}

double
sg_rng_beta(struct sg_rng *r, double a, double b)
{
	double x = sg_rng_gamma(r, a);

	return x / (x + sg_rng_gamma(r, b));
}

/* FNV-1a, 64 bits: stable across machines, for ids and exact dedup. */
uint64_t
sg_hash64(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *c++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
