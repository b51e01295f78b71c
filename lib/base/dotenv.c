/*
 * dotenv.c - the .env file every tool reads at start (sg_init): the LLM
 * server's settings, for those the environment does not set already.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

/* Only these: a .env shared with another project may set anything. */
static const char *const names[] = {"OPENAI_API_KEY", "OPENAI_BASE_URL",
	"OPENAI_EMBEDDING_MODEL", "OPENAI_MODEL", "OPENAI_ORG_ID",
	"OPENAI_PROJECT_ID"};

static int
known(const char *name)
{
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* Strip blanks, an "export " and matching quotes from a .env line. */
static void
env_line(char *line)
{
	char *eq, *v, *end;
	size_t n;

	while (*line == ' ' || *line == '\t')
		line++;
	if (strncmp(line, "export ", 7) == 0)
		line += 7;
	if (*line == '#' || !(eq = strchr(line, '=')))
		return;
	*eq = '\0';
	for (end = eq; end > line && (end[-1] == ' ' || end[-1] == '\t');)
		*--end = '\0';
	v = eq + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, "\r\n");
	v[n] = '\0';
	if ((v[0] == '"' || v[0] == '\'') && (end = strchr(v + 1, v[0]))) {
		*end = '\0';
		v++;
	} else if ((end = strstr(v, " #"))) {
		*end = '\0';
	}
	if (known(line))
		setenv(line, v, 0);
}

int
sg_dotenv(const char *path, struct sg_error *e)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!fp) {
		if (errno == ENOENT)
			return 0;
		sg_seterr(e, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	errno = 0;
	while (getline(&line, &cap, fp) >= 0)
		env_line(line);
	if (ferror(fp)) {
		sg_seterr(e, "cannot read '%s': %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(fp);
	return rc;
}
