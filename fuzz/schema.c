/*
 * schema.c - libFuzzer harness for the JSON Schema subset: the input is a
 * JSON array [schema, instance]; a schema sg accepts must validate any
 * instance without a crash, a hang or a leak.
 */
#include "base/base.h"
#include "recipe/recipe.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sg_error e;
	json_t *j, *schema, *inst;

	j = json_loadb((const char *)data, size, 0, NULL);
	if (!j)
		return 0;
	schema = json_array_get(j, 0);
	inst = json_array_get(j, 1);
	if (schema && inst && sg_schema_check(schema, &e) == 0)
		sg_schema_validate(schema, inst, &e);
	json_decref(j);
	return 0;
}
