/*
 * libcurl.c - libcurl, loaded with dlopen(3) when the first request is to
 * be made rather than linked: a tool that makes none (an offline run, a
 * --help) starts without it and the thirty libraries it brings.
 *
 * The handle is kept to the end of the process, never dlclose'd: libcurl
 * and the TLS library under it keep global state (curl_global_init's) and
 * exit handlers that must find their code still mapped.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "base/base.h"
#include "llm/llm-internal.h"

#define SONAME "libcurl.so.4"

struct sg_curl sg_curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *lib;	       /* never closed: see the top */
static struct sg_error failed; /* why it could not be loaded, or "" */

#define FN(f)                                                                  \
	{                                                                      \
		"curl_" #f, offsetof(struct sg_curl, f)                        \
	}
static const struct {
	const char *name;
	size_t off;
} fns[] = {
	FN(easy_cleanup),
	FN(easy_getinfo),
	FN(easy_init),
	FN(easy_perform),
	FN(easy_reset),
	FN(easy_setopt),
	FN(easy_strerror),
	FN(getdate),
	FN(global_init),
	FN(multi_add_handle),
	FN(multi_assign),
	FN(multi_cleanup),
	FN(multi_info_read),
	FN(multi_init),
	FN(multi_remove_handle),
	FN(multi_setopt),
	FN(multi_socket_action),
	FN(multi_strerror),
	FN(slist_append),
	FN(slist_free_all),
};

/* POSIX has dlsym's void * hold a function's address */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
	"a function pointer is not the size of a void *");

static void
load(void)
{
	struct sg_curl t;
	void *p;

	if (!(lib = dlopen(SONAME, RTLD_NOW | RTLD_LOCAL))) {
		sg_seterr(&failed, "cannot load %s: %s", SONAME, dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
		if (!(p = dlsym(lib, fns[i].name))) {
			sg_seterr(&failed, "cannot load %s: %s", SONAME,
				dlerror());
			return;
		}
		memcpy((char *)&t + fns[i].off, &p, sizeof p);
	}
	if (t.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		sg_seterr(&failed, "cannot initialise %s", SONAME);
		return;
	}
	sg_curl = t;
}

int
sg_curl_load(struct sg_error *e)
{
	pthread_once(&once, load);
	if (failed.text[0]) {
		sg_seterr(e, "%s", failed.text);
		return -1;
	}
	return 0;
}
