/*
 * grammar.c - libFuzzer harness for the templater: any JSON grammar is
 * validated, expanded a few times in text and JSON mode (in JSON mode
 * from the start options that can give a planned label), and has its
 * schema derived, within the depth limits every arm uses.
 */
#include "base/base.h"
#include "recipe/recipe.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sg_grammar *g;
	struct sg_error e;
	struct sg_rng rng;
	json_t *j, *schema;
	char *text;

	j = json_loadb((const char *)data, size, 0, NULL);
	if (!j)
		return 0;
	g = sg_grammar_new(j, &e);
	if (g) {
		sg_rng_seed(&rng, size);
		sg_grammar_uses_llm(g);
		for (int i = 0; i < 4; i++) {
			sg_grammar_want(g, "label", i & 1 ? "positive" : NULL);
			text = sg_grammar_expand(g, &rng, i ? 0.5 * i : 1.0, 12,
				i & 1, NULL, NULL, &e);
			free(text);
		}
		schema = sg_grammar_schema(g);
		json_decref(schema);
		sg_grammar_free(g);
	}
	json_decref(j);
	return 0;
}
