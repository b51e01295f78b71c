/*
 * recipe.h - recipes (sg-recipe(5)) and what they name: loading and
 * checking a recipe, its grammar, JSON Schemas and its knowledge base.
 */
#ifndef SG_RECIPE_H
#define SG_RECIPE_H

#include "base/base.h"

/* recipe.c: recipes in YAML or JSON, see sg-recipe(5) */
#define SG_MAX_RECIPE (8u << 20)
typedef void (*sg_warn_fn)(void *ctx, const char *msg);
/* The recipe as a JSON object; errors read "path:line:column: why".
 * Unknown fields go to warn (may be NULL) as "path:line:column: ...". */
json_t *sg_recipe_load(
	const char *path, sg_warn_fn warn, void *ctx, struct sg_error *e);
/* The same for a recipe in memory; name says where it came from and,
 * by its ending (.json), which syntax it is. */
json_t *sg_recipe_parse(const char *name, const char *src, size_t len,
	sg_warn_fn warn, void *ctx, struct sg_error *e);
/* A check of a loaded recipe by a part above this one (sg_router_check):
 * -1 and e with the dotted name of the field at fault in field (size
 * bytes, as "router_config.arms[2]"), or 0. */
typedef int (*sg_recipe_check_fn)(
	const json_t *recipe, char *field, size_t size, struct sg_error *e);
/* As sg_recipe_load (which compiles its patterns and schemas), and what
 * the recipe names checked too, so a run fails before its first batch,
 * not in it: the files it reads can be read, the directory of its
 * output_path exists or can be made, and more (may be NULL) finds no
 * fault; each fault "path:line:column: why". */
json_t *sg_recipe_load_checked(const char *path, sg_warn_fn warn, void *ctx,
	sg_recipe_check_fn more, struct sg_error *e);
/* A path the recipe names (rel), malloc'd: from the directory of the recipe
 * file at recipe_path, or as it is when absolute or recipe_path is NULL. */
char *sg_recipe_relative(const char *recipe_path, const char *rel);
/* Whether the recipe's validator name runs: one the Python system has
 * (deduplication, diversity, entailment, json_schema, llm_judge,
 * similarity) only when its mapping says enabled: true, as there; sg's
 * own whenever listed, unless it says enabled: false. */
int sg_validator_on(const json_t *recipe, const char *name);
/* Context features of a recipe: domain, task, complexity, format, kb,
 * grammar, grammar_llm, llm. */
json_t *sg_recipe_context(const json_t *recipe, int llm);
long long sg_recipe_batch_size(const json_t *recipe);
/* The run's name: job_id, else the file name of the recipe at path
 * without directory and extension; malloc'd. */
char *sg_recipe_run(const json_t *recipe, const char *path);
/* The entity types a pii check names, by their names in a recipe. */
enum {
	SG_PII_EMAIL,
	SG_PII_PHONE,
	SG_PII_CARD,
	SG_PII_IBAN,
	SG_PII_SSN,
	SG_PII_IP,
	SG_PII_ROUTING,
	SG_PII_NTYPES
};
const char *sg_pii_type_name(int type);
int sg_pii_type_parse(const char *name); /* -1 if unknown */

/* rows.c: a batch input (task_input.input_file or dataset_path) */
/* The rows of a CSV file (a header line naming the columns; by libcsv,
 * strictly) or, for a name ending .jsonl or .ndjson, of JSON Lines
 * objects, as {"line": where it starts, "columns": {name: value}};
 * columns (may be NULL) gets the header's names, or the first JSON
 * row's keys.  NULL and e, "path:LINE: why" or "path: why", when the
 * file cannot be read, is not such a file or has no rows. */
json_t *sg_rows_read(const char *path, json_t **columns, struct sg_error *e);
/* The recipe's batch input as the rows its samples are planned on (file
 * names relative to recipe_path): {"index", "line", "columns", then
 * input_column, original_input and expected_output, its values of
 * input_column and output_column, or each of dataset_fields by its name
 * (without them, every column)}; NULL with e empty when it has none. */
json_t *sg_recipe_rows(
	const json_t *recipe, const char *recipe_path, struct sg_error *e);

/* grammar.c: the PCFG templater */
/* Deeper recursion than this could overflow the C stack. */
#define SG_GRAMMAR_MAX_DEPTH 1000
struct sg_grammar;
/* The LLM hook for llm_fill leaves: a malloc'd string, or NULL and e. */
typedef char *(*sg_fill_fn)(void *ctx, const char *prompt, struct sg_error *e);
struct sg_grammar *sg_grammar_new(const json_t *grammar, struct sg_error *e);
void sg_grammar_free(struct sg_grammar *g);
/* Whether an llm_fill leaf can be reached from the start rule. */
int sg_grammar_uses_llm(const struct sg_grammar *g);
/* One expansion from the start rule: weights reshaped by temperature
 * (w^(1/T)), at most max_depth nested rules, placeholders inside JSON
 * string literals escaped when json is set.  malloc'd, or NULL and e. */
char *sg_grammar_expand(struct sg_grammar *g, struct sg_rng *rng,
	double temperature, int max_depth, int json, sg_fill_fn fill,
	void *fillctx, struct sg_error *e);
/* Draw only from the start rule's options whose JSON template can give
 * the sample's field (a dotted path) the value label: those that set it
 * to that literal, and those where a rule's expansion stands for it,
 * which may give another (the caller checks the sample).  1 when every
 * option left sets the literal, 0 when some leave it to a rule, -1 when
 * none can (all are drawn from); label NULL draws from all again. */
int sg_grammar_want(struct sg_grammar *g, const char *field, const char *label);
/* A JSON Schema derived from the start rule's JSON templates, or NULL. */
json_t *sg_grammar_schema(const struct sg_grammar *g);

/* schema.c: the JSON Schema 2020-12 keywords recipes use */
/* 0 when schema is a schema sg can apply, else -1 and e. */
int sg_schema_check(const json_t *schema, struct sg_error *e);
/* 0 when instance is valid; else -1 and e names the JSON pointer and the
 * failed keyword, as in "/rating: 7 is greater than maximum 5"; or
 * SG_SCHEMA_UNDECIDED and e when a limit stopped a pattern's match. */
#define SG_SCHEMA_UNDECIDED -2
int sg_schema_validate(
	const json_t *schema, const json_t *instance, struct sg_error *e);

/* pattern.c: ECMA-262 patterns, JSON Schema's "pattern", on PCRE2 */
struct sg_pattern;
/* The len bytes at src (a NUL after them) compiled, or NULL and e, as in
 * "missing closing parenthesis at position 3" (in characters). */
struct sg_pattern *sg_pattern_new(
	const char *src, size_t len, struct sg_error *e);
void sg_pattern_free(struct sg_pattern *p);
/* 1 when p matches somewhere in the len bytes at s, 0 when it does not,
 * -1 and e when a limit (steps, stack, heap) stopped the match first. */
int sg_pattern_match(
	struct sg_pattern *p, const char *s, size_t len, struct sg_error *e);

/* kb.c: a knowledge base of passages and sentences, BM25 over passages */
struct sg_kb;
/* A text file or a directory of them.  cache_dir NULL: no index cache;
 * *cached says whether the index came from it. */
struct sg_kb *sg_kb_load(const char *path, const char *cache_dir, int *cached,
	struct sg_error *e);
/* The same without the index, which costs more to read from its cache
 * than the text does to split: for drawing passages, not searching. */
struct sg_kb *sg_kb_text(const char *path, struct sg_error *e);
void sg_kb_free(struct sg_kb *kb);
/* Arrays of [id, text]: ids like "faq.md#3" and "faq.md.s7", the text
 * cut on the first call. */
const json_t *sg_kb_passages(struct sg_kb *kb);
const json_t *sg_kb_sentences(struct sg_kb *kb);
/* The same one at a time, made only when asked for: how many there are,
 * and item i as a new [id, text] (NULL past the end). */
enum sg_kb_kind { SG_KB_PASSAGES, SG_KB_SENTENCES };
size_t sg_kb_count(struct sg_kb *kb, enum sg_kb_kind kind);
json_t *sg_kb_item(struct sg_kb *kb, enum sg_kb_kind kind, size_t i);
/* The k best passages for query by BM25, best first, as [id, text];
 * none from a knowledge base without its index. */
json_t *sg_kb_search(const struct sg_kb *kb, const char *query, size_t k);

#endif
