/*
 * dotenv.c - libFuzzer harness for the .env reader (lib/base/dotenv.c): any
 * bytes as a .env file are read without error, and what it sets of
 * OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_MODEL is one line's value,
 * no longer than the file and without its line end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

static const char *const names[] = {
	"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"};
/* in memory where there is a tmpfs: a file is written per run */
static char path[] = "/dev/shm/sg-fuzz-dotenv.XXXXXX";
static int fd = -1;

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sg_error e;
	const char *v;

	if (fd < 0 && (fd = mkstemp(path)) < 0)
		abort();
	for (size_t i = 0; i < 3; i++)
		unsetenv(names[i]);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (sg_dotenv(path, &e) < 0)
		abort();
	for (size_t i = 0; i < 3; i++)
		if ((v = getenv(names[i])) &&
			(strlen(v) > size || strpbrk(v, "\r\n")))
			abort();
	return 0;
}
