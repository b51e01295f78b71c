/*
 * state.c - libFuzzer harness for the state-file loader: whatever a state
 * file holds is accepted as a state or refused with a reason, and an
 * accepted one takes a reward without a crash.  (Locking and the atomic
 * rename are file-system work with nothing to parse; they are left to the
 * tests.)
 */
#include "base/base.h"
#include "route/route.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sg_error e;
	json_t *root, *reward;

	root = json_loadb(
		(const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (root && sg_state_check(root, &e) == 0) {
		reward = json_pack("{s:s, s:s, s:I, s:s, s:f, s:{s:s}}", "type",
			"reward", "run", "r", "batch", (json_int_t)0, "arm",
			"a", "reward", 0.5, "context", "domain", "d");
		sg_reward_apply(root, reward, &e);
		json_decref(reward);
	}
	json_decref(root);
	return 0;
}
