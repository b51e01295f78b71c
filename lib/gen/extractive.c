/*
 * extractive.c - the extractive arm's samples: consecutive sentences, or
 * passages, drawn from the knowledge base, with their ids as the sample's
 * provenance.  For a recipe with labels a drawn text becomes a sample of
 * its planned label only when a model of the run's labelled samples (the
 * recipe's examples and the samples accepted so far) gives it that label
 * with at least the arm's confidence: an unlabelled corpus labelled by
 * the dataset being built, as self-training does (Yarowsky 1995).  The
 * model is sg-score's naive Bayes (score/profile.c), so a sample is
 * labelled by the same counts its reward weighs it against.
 */
#include "base/base.h"
#include "recipe/recipe.h"
#include "gen/gen-internal.h"

/* Draws for one labelled sample before it fails: enough to find a label
 * the model gives a tenth of the corpus with near certainty. */
#define LABEL_TRIES 200

/* count consecutive units of the kind's n from a place drawn by rng:
 * their text, and their ids appended to ids. */
static char *
draw(struct sg_kb *kb, enum sg_kb_kind kind, size_t n, long long count,
	struct sg_rng *rng, json_t *ids)
{
	size_t start, i;
	struct sg_buf b = {0};
	json_t *s;

	if ((size_t)count > n)
		count = (long long)n;
	start = sg_rng_below(rng, n - (size_t)count + 1);
	for (i = start; i < start + (size_t)count; i++) {
		s = sg_kb_item(kb, kind, i);
		json_array_append(ids, json_array_get(s, 0));
		if (i > start)
			sg_buf_add(&b, " ", 1);
		sg_buf_add(&b, json_string_value(json_array_get(s, 1)),
			json_string_length(json_array_get(s, 1)));
		json_decref(s);
	}
	return b.p;
}

json_t *
sg_extract_sample(struct sg_extract *x, const char *label, struct sg_rng *rng,
	json_t **prov, struct sg_error *e)
{
	enum sg_kb_kind kind = x->passages ? SG_KB_PASSAGES : SG_KB_SENTENCES;
	size_t n = sg_kb_count(x->kb, kind);
	long long count = x->count < 1 ? 1 : x->count;
	json_t *ids = json_array(), *data;
	double p = -1;
	char *text = NULL;

	if (n == 0) {
		json_decref(ids);
		sg_seterr(e, "the knowledge base has no %s",
			x->passages ? "passages" : "sentences");
		return NULL;
	}
	if (x->mc && !label) {
		json_decref(ids);
		sg_seterr(e, "the job plans no label for its samples");
		return NULL;
	}
	if (!x->mc) {
		text = draw(x->kb, kind, n, count, rng, ids);
		*prov = json_pack("{s:o}", "passages", ids);
		data = x->json ? json_pack("{s:s}", "text", text)
			       : json_string(text);
		free(text);
		return data;
	}
	for (int t = 0; t < LABEL_TRIES && p < x->confidence; t++) {
		free(text);
		json_array_clear(ids);
		text = draw(x->kb, kind, n, count, rng, ids);
		sg_feats_read(&x->f, text);
		p = sg_profile_prob(x->model, NULL, NULL, label, &x->f, 1);
	}
	if (p < x->confidence) {
		free(text);
		json_decref(ids);
		if (p < 0)
			sg_seterr(e,
				"no labelled samples yet to tell \"%s\""
				" from another label",
				label);
		else
			sg_seterr(e,
				"no passage in %d draws is labelled \"%s\""
				" with confidence %g",
				LABEL_TRIES, label, x->confidence);
		return NULL;
	}
	*prov = json_pack("{s:o,s:f}", "passages", ids, "confidence", p);
	data = json_pack("{s:s,s:s}", x->mc->text_field, text,
		x->mc->label_field, label);
	free(text);
	return data;
}
