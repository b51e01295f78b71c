// bench/openai-client.mjs - the npm openai client making N chat completions
// with at most C in flight, for bench/llm.sh.  Usage: node openai-client.mjs
// N C body.json; OPENAI_BASE_URL and OPENAI_API_KEY from the environment.
import { readFileSync } from "node:fs";
import OpenAI from "openai";

const [n, c] = process.argv.slice(2, 4).map(Number);
const body = JSON.parse(readFileSync(process.argv[4], "utf8"));
// no retries and a long timeout: every request is made once, as curl does
const client = new OpenAI({ maxRetries: 0, timeout: 600000 });
let next = 0, done = 0;

async function worker() {
	while (next < n) {
		next++;
		const r = await client.chat.completions.create(body);
		if (r.choices?.[0]?.message) done++;
	}
}

await Promise.all(Array.from({ length: Math.min(c, n) }, worker));
if (done !== n) {
	console.error(`openai: ${done} of ${n} answered`);
	process.exit(1);
}
