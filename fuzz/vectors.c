/*
 * vectors.c - libFuzzer harness for the similarity check's vectors file
 * (lib/check/vectors.c): whatever the file holds is read as vectors or refused
 * with a reason naming its line, and a second look after it grows by the
 * same bytes again reads only what was added.  The reader takes a path,
 * so each input goes through a file of its own.
 */
#include <stdlib.h>
#include <unistd.h>

#include "base/base.h"
#include "check/check.h"

static void
put(const char *path, const unsigned char *data, size_t size, int flags)
{
	FILE *fp = fopen(path, flags ? "a" : "w");

	if (!fp || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char path[] = "/tmp/sg-fuzz-vectors.XXXXXX";
	struct sg_vecs *s = sg_vecs_new(), *fresh = sg_vecs_new();
	struct sg_error e;
	int fd = mkstemp(path);

	if (fd < 0)
		abort();
	close(fd);
	put(path, data, size, 0);
	if (sg_vecs_read(s, path, NULL, &e) == 0) {
		put(path, data, size, 1);
		sg_vecs_read(s, path, fresh, &e);
	}
	unlink(path);
	sg_vecs_free(s);
	sg_vecs_free(fresh);
	return 0;
}
