#!/usr/bin/env node
/*
 * llama-server.mjs - an OpenAI-compatible server on 127.0.0.1 over a real
 * language model, owned by the tests: llama.cpp through the npm package
 * node-llama-cpp (`make llama` installs it into build/llama), one GGUF
 * model, one thread, one request at a time.
 *
 *   node tests/llama-server.mjs --model FILE --port-file FILE [--log FILE]
 *       [--alias NAME]... [--context N] [--runtime DIR]
 *
 * POST /v1/chat/completions: messages through the model's chat template;
 * n, seed, temperature, top_p, max_tokens (or max_completion_tokens), stop,
 * logprobs and top_logprobs, response_format json_object and json_schema
 * (the answer constrained by node-llama-cpp's grammar for the schema);
 * usage in tokens; finish_reason "length" when max_tokens or the context
 * cut the answer.  The logprobs are the model's own distribution at each
 * token of the answer, before temperature, top_p and grammar, from a
 * second pass over it.  POST /v1/embeddings: one input or a list, float or
 * base64, each vector of unit length as OpenAI's and llama.cpp's servers
 * give them.  GET /v1/models and /v1/models/ID.  Bad requests, unknown
 * models and routes are answered in the OpenAI API's error shape; any key
 * is accepted.
 *
 * Where it bends the OpenAI API, and why:
 * - a schema's integer with a minimum and maximum at most 256 apart is
 *   constrained as the list of its values: node-llama-cpp's grammars have
 *   no ranges, and llama.cpp's own server constrains them;
 * - choice i of a request with a seed is sampled with seed + i;
 * - stream, and presence and frequency penalties, are refused.
 *
 * The port, once the model is loaded, is written to --port-file (to a
 * temporary name, then renamed).  --log appends a JSON line per request:
 * arrival and end times, path, status, requests in flight on arrival, the
 * body and the answer.
 */
import fs from "node:fs";
import http from "node:http";
import crypto from "node:crypto";
import path from "node:path";
import {createRequire} from "node:module";
import {fileURLToPath, pathToFileURL} from "node:url";
import {parseArgs} from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const {values: opt} = parseArgs({
	options: {
		alias: {type: "string", multiple: true, default: []},
		context: {type: "string", default: "4096"},
		log: {type: "string"},
		model: {type: "string"},
		"port-file": {type: "string"},
		runtime: {
			type: "string",
			default: process.env.SG_LLAMA_DIR ||
				path.join(here, "..", "build", "llama")
		}
	}
});

function die(msg) {
	process.stderr.write(`llama-server: ${msg}\n`);
	process.exit(1);
}

if (!opt.model || !opt["port-file"])
	die("usage: llama-server.mjs --model FILE --port-file FILE " +
		"[--log FILE] [--alias NAME]... [--context N] " +
		"[--runtime DIR]");

let nlc;
try {
	const req = createRequire(path.join(path.resolve(opt.runtime), "x.js"));
	nlc = await import(pathToFileURL(req.resolve("node-llama-cpp")));
} catch (e) {
	die(`cannot load node-llama-cpp from '${opt.runtime}' ` +
		`(make llama installs it): ${e.message}`);
}
const {getLlama, LlamaLogLevel, LlamaGrammarEvaluationState,
	resolveChatWrapper} = nlc;

const llama = await getLlama({
	gpu: false, build: "never", maxThreads: 1, progressLogs: false,
	logLevel: LlamaLogLevel.error
});
let model;
try {
	model = await llama.loadModel({modelPath: opt.model});
} catch (e) {
	die(`cannot load model '${opt.model}': ${e.message}`);
}
const contextSize = Number(opt.context);
/* flash attention makes this model's prompts three times slower on a CPU */
const ctx = await model.createContext({
	contextSize, sequences: 1, threads: 1, flashAttention: false
});
const seq = ctx.getSequence();
const embedder = await model.createEmbeddingContext({contextSize, threads: 1});
const wrapper = resolveChatWrapper(model);
const modelId = path.basename(opt.model).replace(/\.gguf$/, "");
const names = [modelId, ...opt.alias];
const created = Math.floor(fs.statSync(opt.model).mtimeMs / 1000);
const logFile = opt.log ? fs.openSync(opt.log, "a") : null;

/* One request at a time: one thread, and answers that depend on nothing
 * but the request. */
let queue = Promise.resolve();
function serially(fn) {
	const p = queue.then(fn);
	queue = p.catch(() => {});
	return p;
}

class ApiError extends Error {
	constructor(status, message, param = null, code = null,
		type = "invalid_request_error") {
		super(message);
		Object.assign(this, {status, param, code, type});
	}
}

function invalid(param, message, code = "invalid_value") {
	return new ApiError(400, message, param, code);
}

function missing(param) {
	return invalid(param, `Missing required parameter: '${param}'.`,
		"missing_required_parameter");
}

/* A number parameter within [lo, hi] (integers when int), or dflt. */
function number(body, key, lo, hi, dflt, int = false) {
	const v = body[key];
	if (v === undefined || v === null)
		return dflt;
	if (typeof v !== "number" || (int && !Number.isInteger(v)))
		throw invalid(key, `Invalid type for '${key}': expected ` +
			`${int ? "an integer" : "a number"}, but got ` +
			`${JSON.stringify(v)} instead.`, "invalid_type");
	if (v < lo || v > hi)
		throw invalid(key, `Invalid '${key}': expected a value from ` +
			`${lo} to ${hi}, but got ${v} instead.`);
	return v;
}

function checkModel(body) {
	if (typeof body.model !== "string")
		throw missing("model");
	if (!names.includes(body.model))
		throw new ApiError(404, `The model \`${body.model}\` does not ` +
			"exist or you do not have access to it.", null,
			"model_not_found");
}

function checkKnown(body, known) {
	for (const k of Object.keys(body))
		if (!known.includes(k))
			throw invalid(null,
				`Unrecognized request argument supplied: ${k}`, null);
}

const chatKeys = ["model", "messages", "n", "seed", "temperature", "top_p",
	"max_tokens", "max_completion_tokens", "stop", "logprobs",
	"top_logprobs", "response_format", "presence_penalty",
	"frequency_penalty", "user", "stream", "store", "metadata"];
const roles = {system: "system", developer: "system", user: "user",
	assistant: "model"};

function text(content, i) {
	if (typeof content === "string")
		return content;
	if (Array.isArray(content) &&
	    content.every((p) => p && p.type === "text" &&
		    typeof p.text === "string"))
		return content.map((p) => p.text).join("");
	throw invalid(`messages[${i}].content`, `Invalid 'messages[${i}]` +
		".content': expected a string or a list of text parts.",
		"invalid_type");
}

/* The prompt's tokens, as the model's chat template renders the
 * messages, ending where the assistant's answer starts. */
function prompt(messages) {
	if (messages === undefined)
		throw missing("messages");
	if (!Array.isArray(messages) || messages.length === 0)
		throw invalid("messages", "Invalid 'messages': expected a " +
			"non-empty list of messages.", "empty_array");
	const history = messages.map((m, i) => {
		if (!m || typeof m !== "object" || !(m.role in roles))
			throw invalid(`messages[${i}].role`, `Invalid value for ` +
				`'messages[${i}].role': expected one of system, ` +
				"developer, user, assistant.");
		const t = text(m.content, i);
		return roles[m.role] === "model" ?
			{type: "model", response: [t]} :
			{type: roles[m.role], text: t};
	});
	history.push({type: "model", response: []});
	const state = wrapper.generateContextState({chatHistory: history});
	return state.contextText.tokenize(model.tokenizer);
}

/* The integer ranges of a schema as the lists of their values. */
function narrow(s) {
	if (Array.isArray(s))
		return s.map(narrow);
	if (!s || typeof s !== "object")
		return s;
	if (s.type === "integer" && Number.isInteger(s.minimum) &&
	    Number.isInteger(s.maximum) && s.maximum >= s.minimum &&
	    s.maximum - s.minimum <= 256) {
		const values = [];
		for (let v = s.minimum; v <= s.maximum; v++)
			values.push(v);
		return {enum: values};
	}
	return Object.fromEntries(Object.entries(s).map(([k, v]) =>
		[k, narrow(v)]));
}

/* The grammar response_format asks for, or null. */
async function grammar(rf, messages) {
	if (rf === undefined || rf === null)
		return null;
	if (typeof rf !== "object" || typeof rf.type !== "string")
		throw missing("response_format.type");
	if (rf.type === "text")
		return null;
	if (rf.type === "json_object") {
		if (!JSON.stringify(messages).toLowerCase().includes("json"))
			throw invalid("messages", "'messages' must contain the " +
				"word 'json' in some form, to use 'response_format' " +
				"of type 'json_object'.");
		return llama.getGrammarFor("json");
	}
	if (rf.type !== "json_schema")
		throw invalid("response_format.type", "Invalid value: " +
			`'${rf.type}'. Supported values are: 'text', ` +
			"'json_object' and 'json_schema'.");
	const js = rf.json_schema;
	if (!js || typeof js !== "object")
		throw missing("response_format.json_schema");
	if (typeof js.name !== "string")
		throw missing("response_format.json_schema.name");
	if (!/^[a-zA-Z0-9_-]{1,64}$/.test(js.name))
		throw invalid("response_format.json_schema.name",
			"Invalid 'response_format.json_schema.name': string " +
			"does not match pattern '^[a-zA-Z0-9_-]+$'.");
	try {
		return await llama.createGrammarForJsonSchema(
			narrow(js.schema ?? {}));
	} catch (e) {
		throw invalid("response_format", "Invalid schema for " +
			`response_format '${js.name}': ${e.message}`);
	}
}

function piece(tokens, i) {
	return model.detokenize([tokens[i]], false, tokens.slice(0, i));
}

/* One answer to the prompt's tokens: its text, tokens and why it ended. */
async function generate(tokens, o, g) {
	const out = [];
	const budget = Math.min(o.maxTokens, ctx.contextSize - tokens.length);
	const stops = [...o.stop, ...(g ? g.stopGenerationTriggers.map(String) :
		[])];
	let content = "", finish = "stop", cut = -1;

	/* everything but the prompt's last token may come from the answer
	 * before: that token is evaluated to give the first choice */
	await seq.adaptStateToTokens(tokens.slice(0, -1), false);
	const it = seq.evaluateWithMetadata(tokens.slice(seq.nextTokenIndex),
		{}, {
			temperature: o.temperature, topP: o.topP, topK: 0,
			minP: 0, seed: o.seed,
			grammarEvaluationState: g ?
				new LlamaGrammarEvaluationState({model, grammar: g}) :
				undefined,
		});
	for await (const {token} of it) {
		out.push(token);
		content += piece(out, out.length - 1);
		for (const s of stops) {
			const at = content.indexOf(s);
			if (at >= 0 && (cut < 0 || at < cut))
				cut = at;
		}
		if (cut >= 0)
			break;
		if (out.length >= budget) {
			finish = "length";
			break;
		}
	}
	if (cut >= 0)
		content = content.slice(0, cut);
	if (g && g.trimWhitespaceSuffix)
		content = content.replace(/\s+$/, "");
	return {content, tokens: out, finish};
}

/* The model's own log-probabilities of the answer's tokens that make up
 * its content, with the top alternatives at each. */
async function logprobs(prompt, answer, top) {
	const out = [], toks = answer.tokens;
	let len = 0;

	if (toks.length === 0)
		return {content: out, refusal: null};
	await seq.adaptStateToTokens(prompt.slice(0, -1), false);
	const inputs = [prompt[prompt.length - 1], ...toks.slice(0, -1)];
	const res = await seq.controlledEvaluate(inputs.map((t) =>
		[t, {generateNext: {probabilities: true}}]));
	for (let i = 0; i < toks.length && len < answer.content.length; i++) {
		const p = res[i].next.probabilities;
		const entry = (t) => {
			const s = model.detokenize([t], false, toks.slice(0, i));
			return {token: s, logprob: Math.log(p.get(t) ?? 0),
				bytes: [...Buffer.from(s)]};
		};
		const e = entry(toks[i]);
		e.top_logprobs = [...p.keys()].slice(0, top).map(entry);
		out.push(e);
		len += e.token.length;
	}
	return {content: out, refusal: null};
}

let serial = 0;
async function chat(body) {
	checkKnown(body, chatKeys);
	checkModel(body);
	for (const k of ["stream", "presence_penalty", "frequency_penalty"])
		if (body[k])
			throw invalid(k, `${k} is not supported by this server.`);
	const tokens = prompt(body.messages);
	const n = number(body, "n", 1, 128, 1, true);
	const seed = number(body, "seed", -(2 ** 63), 2 ** 63, null, true);
	const max = number(body, "max_completion_tokens", 1, Infinity,
		number(body, "max_tokens", 1, Infinity, Infinity, true), true);
	const lp = body.logprobs ?? false;
	if (typeof lp !== "boolean")
		throw invalid("logprobs", "Invalid type for 'logprobs': expected " +
			"a boolean.", "invalid_type");
	const top = number(body, "top_logprobs", 0, 20, 0, true);
	if (body.top_logprobs != null && !lp)
		throw invalid("top_logprobs", "Invalid value for 'top_logprobs': " +
			"logprobs must be true to use top_logprobs.");
	let stop = body.stop ?? [];
	if (typeof stop === "string")
		stop = [stop];
	if (!Array.isArray(stop) || stop.length > 4 ||
	    !stop.every((s) => typeof s === "string" && s !== ""))
		throw invalid("stop", "Invalid 'stop': expected a string or a " +
			"list of up to 4 non-empty strings.");
	if (tokens.length >= ctx.contextSize)
		throw invalid("messages", "This model's maximum context length " +
			`is ${ctx.contextSize} tokens. However, your messages ` +
			`resulted in ${tokens.length} tokens.`,
			"context_length_exceeded");
	const o = {
		temperature: number(body, "temperature", 0, 2, 1),
		topP: number(body, "top_p", 0, 1, 1),
		maxTokens: max, stop
	};
	const g = await grammar(body.response_format, body.messages);
	const choices = [];
	let completion = 0;
	for (let i = 0; i < n; i++) {
		o.seed = seed === null ? crypto.randomInt(2 ** 32) :
			Number(BigInt.asUintN(32, BigInt(seed) + BigInt(i)));
		const a = await generate(tokens, o, g);
		completion += a.tokens.length;
		choices.push({
			index: i, finish_reason: a.finish,
			message: {role: "assistant", content: a.content,
				refusal: null},
			logprobs: lp ? await logprobs(tokens, a, top) : null
		});
	}
	return {
		id: `chatcmpl-${(++serial).toString(16).padStart(12, "0")}`,
		object: "chat.completion", created: Math.floor(Date.now() / 1000),
		model: body.model, choices,
		usage: {prompt_tokens: tokens.length, completion_tokens: completion,
			total_tokens: tokens.length + completion}
	};
}

async function embeddings(body) {
	checkKnown(body, ["model", "input", "encoding_format", "dimensions",
		"user"]);
	checkModel(body);
	if (body.input === undefined)
		throw missing("input");
	if (body.dimensions !== undefined)
		throw invalid("dimensions", "This model does not support " +
			"specifying dimensions.");
	const fmt = body.encoding_format ?? "float";
	if (fmt !== "float" && fmt !== "base64")
		throw invalid("encoding_format", "Invalid value for " +
			"'encoding_format': expected 'float' or 'base64'.");
	const inputs = Array.isArray(body.input) &&
		!body.input.every(Number.isInteger) ? body.input : [body.input];
	if (inputs.length === 0 || inputs.length > 2048)
		throw invalid("input", "Invalid 'input': expected 1 to 2048 " +
			"inputs.");
	const tokens = inputs.map((x, i) => {
		if (typeof x === "string" && x !== "")
			return model.tokenize(x);
		if (Array.isArray(x) && x.length > 0 && x.every(Number.isInteger))
			return x;
		throw invalid("input", `Invalid 'input[${i}]': expected a ` +
			"non-empty string or list of tokens.");
	});
	const total = tokens.reduce((s, t) => s + t.length, 0);
	for (const t of tokens)
		if (t.length > contextSize)
			throw invalid("input", "This model's maximum context " +
				`length is ${contextSize} tokens, ` +
				`however you requested ${t.length} tokens.`,
				"context_length_exceeded");
	const data = [];
	for (const [i, t] of tokens.entries()) {
		const v = (await embedder.getEmbeddingFor(t)).vector;
		const norm = Math.hypot(...v) || 1;
		data.push({object: "embedding", index: i,
			embedding: fmt === "float" ? v.map((x) => x / norm) :
				Buffer.from(Float32Array.from(v, (x) => x / norm)
					.buffer).toString("base64")});
	}
	return {object: "list", data, model: body.model,
		usage: {prompt_tokens: total, total_tokens: total}};
}

function modelEntry(id) {
	return {id, object: "model", created, owned_by: "sg-tests"};
}

async function route(req, raw) {
	const url = req.url.replace(/\?.*/, "");
	if (req.method === "GET" && url === "/v1/models")
		return {object: "list", data: names.map(modelEntry)};
	if (req.method === "GET" && url.startsWith("/v1/models/")) {
		const id = decodeURIComponent(url.slice(11));
		if (!names.includes(id))
			throw new ApiError(404, `The model '${id}' does not exist`,
				"model", "model_not_found");
		return modelEntry(id);
	}
	const post = {"/v1/chat/completions": chat, "/v1/embeddings": embeddings};
	if (req.method !== "POST" || !post[url])
		throw new ApiError(404, `Invalid URL (${req.method} ${url})`);
	let body;
	try {
		body = JSON.parse(raw);
	} catch {
		throw invalid(null, "We could not parse the JSON body of your " +
			"request. The OpenAI API expects a JSON payload.", null);
	}
	if (!body || typeof body !== "object" || Array.isArray(body))
		throw invalid(null, "The body of your request is not a JSON " +
			"object.", null);
	return serially(() => post[url](body));
}

let inflight = 0;
const server = http.createServer((req, res) => {
	const t0 = Date.now() / 1000, chunks = [];
	let size = 0;
	const arrived = ++inflight;
	req.on("data", (c) => {
		size += c.length;
		if (size <= 64 << 20)
			chunks.push(c);
	});
	req.on("end", async () => {
		const raw = Buffer.concat(chunks).toString();
		let status = 200, answer;
		try {
			if (size > 64 << 20)
				throw new ApiError(413, "The request is too large.");
			answer = await route(req, raw);
		} catch (e) {
			if (!(e instanceof ApiError))
				e = new ApiError(500, `The server had an error: ` +
					e.message, null, null, "server_error");
			status = e.status;
			answer = {error: {message: e.message, type: e.type,
				param: e.param, code: e.code}};
		}
		inflight--;
		if (logFile !== null) {
			let body = null;
			try {
				body = JSON.parse(raw);
			} catch {
				body = null;
			}
			fs.writeSync(logFile, JSON.stringify({
				t0, t1: Date.now() / 1000, method: req.method,
				path: req.url, status, inflight: arrived, body,
				answer
			}) + "\n");
		}
		const data = JSON.stringify(answer);
		res.writeHead(status, {"Content-Type": "application/json",
			"Content-Length": Buffer.byteLength(data)});
		res.end(data);
	});
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => {
	const pf = opt["port-file"];
	fs.writeFileSync(pf + ".tmp", String(server.address().port));
	fs.renameSync(pf + ".tmp", pf);
});
for (const sig of ["SIGTERM", "SIGINT"])
	process.on(sig, () => process.exit(0));
