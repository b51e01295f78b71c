/*
 * env.c - the configuration the OpenAI ecosystem uses: OPENAI_BASE_URL,
 * OPENAI_API_KEY and OPENAI_MODEL from the environment (which sg_init
 * fills from a .env file), and where the answer cache lives.  Apart from
 * llm.c so that a program that only asks whether a server is configured
 * (sg-plan) links no HTTP client and starts without loading libcurl.
 */
#include <stdlib.h>

#include "base/base.h"
#include "llm/llm.h"

int
sg_llm_configured(void)
{
	const char *url = getenv("OPENAI_BASE_URL");
	const char *key = getenv("OPENAI_API_KEY");

	return (url && *url) || (key && *key);
}

const char *
sg_llm_base_url(void)
{
	const char *url = getenv("OPENAI_BASE_URL");

	return url && *url ? url : "https://api.openai.com/v1";
}

const char *
sg_llm_model(const char *flag, const char *arm)
{
	const char *m = flag ? flag : arm;

	if (!m)
		m = getenv("OPENAI_MODEL");
	return m && *m ? m : "gpt-4o-mini";
}

char *
sg_llm_cache_dir(const char *flag)
{
	const char *d = flag, *home;
	char buf[4096];

	if (!d || !*d)
		d = getenv("SG_CACHE_DIR");
	if (d && *d)
		return sg_xstrdup(d);
	if ((d = getenv("XDG_CACHE_HOME")) && *d)
		snprintf(buf, sizeof buf, "%s/sg", d);
	else if ((home = getenv("HOME")) && *home)
		snprintf(buf, sizeof buf, "%s/.cache/sg", home);
	else
		return NULL;
	return sg_xstrdup(buf);
}
