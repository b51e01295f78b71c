/*
 * recipe.c - libFuzzer harness for the recipe loader, YAML and JSON: the
 * first byte picks the syntax, the rest is the recipe.
 */
#include "base/base.h"
#include "recipe/recipe.h"

static void
ignore(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sg_error e;
	json_t *recipe, *ctx;

	if (size == 0)
		return 0;
	recipe = sg_recipe_parse(data[0] & 1 ? "fuzz.json" : "fuzz.yaml",
		(const char *)data + 1, size - 1, ignore, NULL, &e);
	if (recipe) {
		ctx = sg_recipe_context(recipe, 0);
		sg_recipe_batch_size(recipe);
		json_decref(ctx);
		json_decref(recipe);
	}
	return 0;
}
