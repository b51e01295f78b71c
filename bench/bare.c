/*
 * bare - the floor of the throughput benchmark: parse each line of
 * standard input with jansson and write it back compact, nothing else.
 * sg-validate | sg-score is measured against this.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

int
main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	json_error_t err;
	json_t *j;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (!(j = json_loadb(line, (size_t)len, 0, &err)))
			return 1;
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	}
	free(line);
	return fflush(stdout) == EOF;
}
