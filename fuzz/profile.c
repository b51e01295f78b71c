/*
 * profile.c - libFuzzer harness for the profile snapshot's reader,
 * sg_profile_view: whatever bytes a snapshot holds are taken as a profile
 * or refused, and a profile taken answers lookups, takes a sample (its
 * counts' table, used in place, copied out if it grows) and dumps to
 * bytes that read back to the same dump.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "score/score.h"

static void
check(struct sg_profile *p)
{
	struct sg_feats f = {0};
	struct sg_buf a = {0}, b = {0};
	struct sg_profile *q;
	char *copy;
	size_t head;

	sg_feats_read(&f, "good great lovely zebra quartz");
	sg_profile_unseen(p, &f);
	sg_profile_prob(p, "a", NULL, "pos", &f, 1);
	sg_profile_count(p, NULL);
	sg_profile_add(p, "b", "neg", &f, 1);
	sg_profile_prob(p, NULL, p, "neg", &f, 0);
	sg_profile_dump(p, &a);
	copy = aligned_alloc(8, (a.len + 7) / 8 * 8);
	memcpy(copy, a.p, a.len);
	if (!(q = sg_profile_view(copy, a.len, &head)))
		abort();
	sg_profile_dump(q, &b);
	if (b.len != a.len || memcmp(a.p, b.p, a.len) != 0)
		abort();
	sg_profile_free(q);
	free(copy);
	free(a.p);
	free(b.p);
	sg_feats_free(&f);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	/* a snapshot is mapped page-aligned; the profile starts 8-aligned */
	char *s = aligned_alloc(8, (size + 8) / 8 * 8);
	struct sg_profile *p;
	size_t head;

	memcpy(s, data, size);
	if ((p = sg_profile_view(s, size, &head))) {
		if (head > size)
			abort();
		check(p);
		sg_profile_free(p);
	}
	free(s);
	return 0;
}
