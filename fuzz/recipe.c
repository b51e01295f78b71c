/*
 * recipe.c - libFuzzer harness for the recipe loader, YAML and JSON: the
 * input is written to a file (the loader reads paths) whose name says
 * which syntax to try.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sg.h"

static void
ignore(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char path[64];
	struct sg_error e;
	json_t *recipe, *ctx;
	FILE *fp;

	if (size == 0)
		return 0;
	snprintf(path, sizeof path, "/tmp/sg-fuzz-recipe-%d.%s", (int)getpid(),
		data[0] & 1 ? "json" : "yaml");
	fp = fopen(path, "w");
	if (!fp)
		abort();
	fwrite(data + 1, 1, size - 1, fp);
	fclose(fp);
	recipe = sg_recipe_load(path, ignore, NULL, &e);
	if (recipe) {
		ctx = sg_recipe_context(recipe, 0);
		sg_recipe_batch_size(recipe);
		json_decref(ctx);
		json_decref(recipe);
	}
	unlink(path);
	return 0;
}
