/*
 * state.c - libFuzzer harness for the state-file loader: whatever a state
 * file holds is accepted as a state or refused with a reason, and an
 * accepted one can be routed and rewarded without a crash.
 */
#include <stdlib.h>
#include <unistd.h>

#include "sg.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char path[64];
	struct sg_state st;
	struct sg_error e;
	FILE *fp;
	json_t *reward;

	snprintf(path, sizeof path, "/tmp/sg-fuzz-state-%d", (int)getpid());
	fp = fopen(path, "w");
	if (!fp)
		abort();
	fwrite(data, 1, size, fp);
	fclose(fp);
	if (sg_state_begin(&st, path, &e) == 0) {
		if (st.root) {
			reward = json_pack("{s:s, s:s, s:I, s:s, s:f, s:{s:s}}",
				"type", "reward", "run", "r", "batch",
				(json_int_t)0, "arm", "a", "reward", 0.5,
				"context", "domain", "d");
			sg_reward_apply(st.root, reward, &e);
			json_decref(reward);
		}
		sg_state_end(&st);
	}
	unlink(path);
	snprintf(path, sizeof path, "/tmp/sg-fuzz-state-%d.lock", (int)getpid());
	unlink(path);
	return 0;
}
