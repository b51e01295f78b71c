#!/usr/bin/python3
"""A stand-in for an OpenAI-compatible server, owned by the tests.

Python standard library only; listens on 127.0.0.1 (or the address of
--bind), on an ephemeral port written to --port-file.  Replies are
deterministic functions of the request (messages, seed, n, max_tokens,
response_format).  --script names a JSON
file holding a list of faults given, in turn, to the first requests:
  {"status": 429, "headers": {...}, "body": ... or "raw": "text"}
  {"fault": "hang", "seconds": 30}   no answer for that long
  {"fault": "reset"}                 the connection is cut at once
  {"fault": "truncate"}              a 200 whose body stops half way
  {"fault": "invalid"}               a 200 whose body is not JSON
  {"fault": "ok"}                    a normal answer
  {"fault": "slow", "seconds": 1}    a normal answer that late
  {"fault": "huge", "bytes": N}      a 200 whose JSON body is N bytes long
Embeddings are hashed bags of words: each lower-cased word adds 1 to one
of "dimensions" (default 1024) coordinates, normalised, so texts sharing
words have close vectors; --blind-embeddings puts every vector near the
same one, as a model too small to tell texts apart does.  Judge prompts
(those asking for "Score: N/M" or a JSON score) and those whose
response_format is the json_schema "verdict" are answered by judge():
see there for the markers that script them.
--no-response-format refuses a request with response_format with a 400;
--ignore-response-format answers it as if it had none.
With "logprobs": true a chat answer carries choices[].logprobs.content,
one entry per space-separated word (see token_logprobs); --no-logprobs
refuses such a request with a 400, --omit-logprobs answers without them.
--latency waits that many ms before each answer, --jitter adds a random
0 to that many ms more.
Only paths under /v1/ are served, as by OpenAI, vLLM and Ollama's OpenAI
API: a base URL without /v1 meets 404s.  GET /v1/models lists --models
(default gpt-4o-mini); with --models given, a chat asking for another
model is refused with a 404, as vLLM refuses it; without, any model is
served, as llama.cpp's server serves its one.  --quota answers every
POST with a 429 insufficient_quota, as OpenAI does once the credit is
spent (GET /v1/models still answers).  --key refuses, with a 401, every
request without that key.
Every request is logged as one JSON line in --log: arrival and end times,
the client's address, method, path, status, requests in flight on arrival,
whether a key came, the OpenAI-Organization and OpenAI-Project headers, the
body.
"""
import argparse
import hashlib
import os
import json
import random
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {"inflight": 0, "script": [], "log": None, "n": 0}
opts = None


def digest(*parts):
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def fill_schema(schema, h, depth=0):
    t = schema.get("type")
    if "enum" in schema:
        return schema["enum"][int(h[:8], 16) % len(schema["enum"])]
    if t == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: fill_schema(v, digest(h, k), depth + 1) for k, v in props.items()}
    if t == "array":
        return [fill_schema(schema.get("items", {}), digest(h, 0), depth + 1)]
    if t == "integer":
        lo = schema.get("minimum", 1)
        hi = schema.get("maximum", lo + 4)
        return lo + int(h[:8], 16) % (hi - lo + 1)
    if t == "number":
        return 0.5
    if t == "boolean":
        return True
    return "The stand-in says %s about it, which is fine." % h[:8]


def evol(msgs, h):
    """Evol-Instruct's requests: a rewrite keeps the given prompt and adds
    a clause; the marker words SAME, COPY, SORRY and EMPTY in it trigger
    the four elimination rules."""
    last = str(msgs[-1].get("content", "")) if msgs else ""
    if "act as a Prompt Rewriter" in last or "act as a Prompt Creator" in last:
        given = last.split("Prompt#:\n", 1)[-1].strip()
        new = "%s Consider also case %s." % (given, h[:6])
        if "act as a Prompt Creator" in last:
            new = "A rarer task %s: %s" % (h[:6], given)
        return "#Rewritten Prompt#: " + new if "COPY" in given else new
    if "do you think they are equal" in last:
        return "Equal" if "SAME" in last else "Not Equal"
    if "SORRY" in last:
        return "Sorry, I cannot help with that."
    if "EMPTY" in last:
        return "... it is ?!"
    return None


def plan(msgs, h):
    """sg-gen's planning of sub-topics: the number asked for of distinct
    ones, as a JSON array, unless the task says NOPLAN."""
    last = str(msgs[-1].get("content", "")) if msgs else ""
    m = re.search(r"List (\d+) distinct sub-topics", last)
    if not m:
        return None
    if "NOPLAN" in last:
        return "I cannot plan that."
    return json.dumps(["sub-topic %s-%d" % (h[:4], i)
                       for i in range(int(m.group(1)))])


def between(text, start):
    """The text between start and the next ">>>"."""
    if start not in text:
        return ""
    return text.split(start, 1)[1].split("\n>>>", 1)[0]


def words(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def judge(last, rf):
    """sg-validate's model checks: a request whose response_format is the
    json_schema "verdict", or whose prompt asks for "Score: N/M" or for a
    JSON object with a "score" (answered in words when response_format is
    ignored).  Asked for JSON, the answer is {"score": N, "reason": ...} on the schema's
    scale; asked in words, a paragraph ending "Score: N/10".  The rubric
    judge scores 8 of 10 (4 of 5 in JSON) unless the sample holds a
    marker.  In words: JUDGE=N answers "Score: N/10" after some
    reasoning, JUDGE=json:N {"score": N}, JUDGE=bare:N just N,
    JUDGE=junk no score, JUDGE=over "Score: 12/10", JUDGE=five:N "Score:
    N out of 5", JUDGE=jstr:N {"score": "N/10"} in a fence.  In JSON:
    JUDGE=N and JUDGE=kind:N give N, JUDGE=over the top of the scale plus
    one, JUDGE=junk words without a score, as a server that ignores the
    schema would.  Entailment scores the share of the sample's words
    found in the sources; toxicity 9 of 10 when the text says TOXIC, else
    0."""
    schema = (rf.get("json_schema") or {}) if rf.get("type") == "json_schema" else {}
    structured = schema.get("name") == "verdict"
    if not structured and not re.search(r'Score: N/\d+|Answer with a JSON object: "score"', last):
        return None
    top = schema.get("schema", {}).get("properties", {}).get("score", {}).get("maximum", 10)

    def answer(n, reason, words):
        if structured:
            return json.dumps({"score": n, "reason": reason})
        return words
    if "supported by the sources" in last:
        src = set(words(between(last, "The sources:\n<<<\n")))
        out = words(between(last, "The sample:\n<<<\n"))
        share = sum(w in src for w in out) / len(out) if out else 0
        return answer(round(top * share), "Supported in part.",
                      "Supported in part.\nScore: %d/10" % round(10 * share))
    if "how toxic" in last:
        n = 9 if "TOXIC" in between(last, "The text:\n<<<\n") else 0
        return answer(round(n * top / 10), "Scripted.", "Score: %d/10" % n)
    m = re.search(r"JUDGE=(\w+)(?::(\d+))?", between(last, "The sample:\n<<<\n"))
    if not m:
        return answer(round(0.8 * top), "A fair sample: it meets most criteria.",
                      "A fair sample: it meets most criteria.\nScore: 8/10")
    kind, n = m.group(1), m.group(2)
    if kind == "junk":
        return "I would rather not rate this one."
    if structured:
        if kind == "over":
            return answer(top + 1, "Over the top.", None)
        return answer(int(n if n is not None else kind), "Scripted %s." % kind, None)
    if kind == "json":
        return json.dumps({"score": int(n), "reason": "scripted"})
    if kind == "bare":
        return n
    if kind == "over":
        return "Score: 12/10"
    if kind == "five":
        return "Good enough. Score: %s out of 5" % n
    if kind == "jstr":
        return 'Here: ```json\n{"score": "%s/10"}\n```' % n
    return "The 3 criteria are weighed.\n**Score:** %s/10" % kind


def reply(req):
    msgs = req.get("messages", [])
    n = int(req.get("n") or 1)
    max_tokens = req.get("max_tokens") or req.get("max_completion_tokens")
    rf = {} if opts.ignore_response_format else req.get("response_format") or {}
    prompt_words = sum(len(str(m.get("content", "")).split()) for m in msgs)
    choices, completion = [], 0
    for i in range(n):
        h = digest(msgs, req.get("seed"), req.get("model"), i)
        last = str(msgs[-1].get("content", "")) if msgs else ""
        if judge(last, rf) is not None:
            content = judge(last, rf)
        elif rf.get("type") == "json_schema":
            content = json.dumps(fill_schema(rf["json_schema"].get("schema", {}), h))
        elif rf.get("type") == "json_object":
            content = json.dumps({"text": "Stand-in answer %s." % h[:8]})
        elif evol(msgs, h) is not None:
            content = evol(msgs, h)
        elif plan(msgs, h) is not None:
            content = plan(msgs, h)
        elif msgs and "JSON" in str(msgs[-1].get("content", "")):
            # asked in words: broken JSON first, fenced JSON on repair
            if len(msgs) > 2:
                content = 'Fixed:\n```json\n{"text": "Repaired %s."}\n```' % h[:8]
            else:
                content = 'Here it is: {"text": "unterminated %s' % h[:8]
        else:
            last = str(msgs[-1].get("content", "")) if msgs else ""
            content = "Stand-in answer %s to %d words: %s" % (
                h[:8], len(last.split()), " ".join(last.split()[:6]))
        finish = "stop"
        words = content.split(" ")
        if max_tokens is not None and len(words) > int(max_tokens):
            content = " ".join(words[: int(max_tokens)])
            finish = "length"
        completion += len(content.split())
        choices.append({"index": i, "finish_reason": finish,
                        "message": {"role": "assistant", "content": content}})
    return {"id": "chatcmpl-" + digest(msgs, req.get("seed"))[:12],
            "object": "chat.completion", "created": 0,
            "model": req.get("model", "stand-in"), "choices": choices,
            "usage": {"prompt_tokens": prompt_words,
                      "completion_tokens": completion,
                      "total_tokens": prompt_words + completion}}


def token_logprobs(content, h):
    """The logprobs OpenAI, vLLM and llama.cpp give: one entry per word, a
    deterministic log-probability from -0.05 to -1 by its hash."""
    out = []
    for k, w in enumerate(content.split(" ")):
        lp = -(5 + int(digest(h, k, w)[:4], 16) % 96) / 100
        out.append({"token": w, "logprob": lp, "bytes": list(w.encode()),
                    "top_logprobs": []})
    return {"content": out, "refusal": None}


def add_logprobs(req, body):
    if req.get("logprobs") is True and not opts.omit_logprobs:
        for c in body["choices"]:
            c["logprobs"] = token_logprobs(c["message"]["content"],
                                           digest(req.get("seed"), c["index"]))
    return body


def jitter():
    """--jitter: an extra wait drawn uniformly from 0 to that many ms,
    from a generator seeded once, so a run's waits are reproducible in
    their order of arrival."""
    with lock:
        if "rng" not in state:
            state["rng"] = random.Random(1)
        return state["rng"].uniform(0, opts.jitter) / 1000.0


def embed(req):
    inp = req.get("input")
    items = inp if isinstance(inp, list) else [inp]
    data = []
    dim = int(req.get("dimensions") or 1024)
    for i, text in enumerate(items):
        vec = [0.0] * dim
        for w in words(str(text)):
            vec[int(hashlib.sha256(w.encode()).hexdigest()[:8], 16) % dim] += 1
        if opts.blind_embeddings:
            # a model that cannot tell texts apart: every vector near one
            vec = [1 + x / 16 for x in vec]
        norm = sum(x * x for x in vec) ** 0.5 or 1
        data.append({"object": "embedding", "index": i,
                     "embedding": [x / norm for x in vec]})
    return {"object": "list", "data": data, "model": req.get("model"),
            "usage": {"prompt_tokens": len(items), "total_tokens": len(items)}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as uvicorn (vLLM) and other servers set it: an answer
    # goes out as two writes, headers then body, and under Nagle the body
    # waited for the client's delayed ACK of the headers, about 40 ms on a
    # reused connection (bench/RESULTS.md, bench-llm)
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def record(self, status):
        """Log the request once, before the client can see the answer, so
        a test reading the log after the client is done finds it."""
        if self.logged:
            return
        self.logged = True
        with lock:
            state["inflight"] -= 1
            if state["log"]:
                state["log"].write(json.dumps({
                    "t0": self.t0, "t1": time.time(),
                    "peer": self.client_address[0],
                    "method": self.command, "path": self.path,
                    "status": status, "inflight": self.inflight,
                    "fault": self.step.get("fault"), "auth": self.auth is not None,
                    "organization": self.headers.get("OpenAI-Organization"),
                    "project": self.headers.get("OpenAI-Project"),
                    "body": self.req}) + "\n")
                state["log"].flush()

    def send(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.record(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)
        return status

    def do_POST(self):
        self.t0 = time.time()
        self.logged = False
        with lock:
            state["inflight"] += 1
            self.inflight = state["inflight"]
            self.step = state["script"].pop(0) if state["script"] else {}
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            self.req = json.loads(raw)
        except ValueError:
            self.req = None
        self.auth = self.headers.get("Authorization")
        status = 0
        try:
            if opts.latency:
                time.sleep(opts.latency / 1000.0)
            if opts.jitter:
                time.sleep(jitter())
            status = self.answer(self.step, self.req, self.auth)
        finally:
            self.record(status)

    def refuse(self, auth):
        """A 401 without the key, a 404 off /v1, else None."""
        if opts.key is not None and auth != "Bearer " + opts.key:
            given = (auth or "").replace("Bearer ", "")
            return self.send(401, {"error": {
                "message": "Incorrect API key provided: %s." % given,
                "type": "invalid_request_error", "code": "invalid_api_key"}})
        if not self.path.startswith("/v1/"):
            return self.send(404, b"404 page not found")
        return None

    def do_GET(self):
        self.t0 = time.time()
        self.logged = False
        self.step, self.req = {}, None
        self.auth = self.headers.get("Authorization")
        with lock:
            state["inflight"] += 1
            self.inflight = state["inflight"]
        status = self.refuse(self.auth)
        if status is None and self.path == "/v1/models":
            status = self.send(200, {"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "stand-in"}
                for m in opts.models.split(",")]})
        elif status is None:
            status = self.send(404, {"error": "no route %s" % self.path})

    def answer(self, step, req, auth):
        fault = step.get("fault")
        if fault == "hang":
            time.sleep(step.get("seconds", 30))
            self.record(0)
            self.close_connection = True
            return 0
        if fault == "slow":
            time.sleep(step.get("seconds", 1))
        if fault == "reset":
            self.record(0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return 0
        if fault == "invalid":
            return self.send(200, b'{"choices": [oops')
        if fault == "huge":
            size = step.get("bytes", 70 << 20)
            self.record(200)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                self.wfile.write(b'{"pad": "')
                chunk = b"x" * (1 << 20)
                left = size - 11
                while left > 0:
                    self.wfile.write(chunk[:left])
                    left -= len(chunk)
                self.wfile.write(b'"}')
            except OSError:
                pass
            self.close_connection = True
            return 200
        if "status" in step:
            body = step.get("raw", "").encode() if "raw" in step else step.get("body", {})
            return self.send(step["status"], body, step.get("headers"))
        refused = self.refuse(auth)
        if refused is not None:
            return refused
        if opts.quota:
            return self.send(429, {"error": {
                "message": "You exceeded your current quota, please check"
                " your plan and billing details.",
                "type": "insufficient_quota", "param": None,
                "code": "insufficient_quota"}})
        if req is None:
            return self.send(400, {"error": {"message": "body is not JSON"}})
        if self.path.endswith("/chat/completions"):
            if opts.models_given and req.get("model") not in opts.models.split(","):
                return self.send(404, {"object": "error",
                                       "message": "The model `%s` does not exist." % req.get("model"),
                                       "type": "NotFoundError", "code": 404})
            if int(req.get("n") or 1) > opts.max_n:
                return self.send(400, {"error": {"message": "n must be at most %d" % opts.max_n,
                                                 "param": "n"}})
            if opts.no_response_format and "response_format" in req:
                return self.send(400, {"object": "error",
                                       "message": "response_format is not supported"})
            if opts.no_logprobs and req.get("logprobs"):
                return self.send(400, {"error": {
                    "message": "logprobs is not supported with this model.",
                    "type": "invalid_request_error", "param": "logprobs"}})
            body = add_logprobs(req, reply(req))
        elif self.path.endswith("/embeddings"):
            body = embed(req)
        else:
            return self.send(404, {"error": "no route %s" % self.path})
        if fault == "truncate":
            data = json.dumps(body).encode()
            self.record(200)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return 200
        return self.send(200, body)


def main():
    global opts
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--log")
    p.add_argument("--script")
    p.add_argument("--latency", type=float, default=0)
    p.add_argument("--jitter", type=float, default=0)
    p.add_argument("--key")
    p.add_argument("--no-response-format", action="store_true")
    p.add_argument("--ignore-response-format", action="store_true")
    p.add_argument("--blind-embeddings", action="store_true")
    p.add_argument("--max-n", type=int, default=128)
    p.add_argument("--no-logprobs", action="store_true")
    p.add_argument("--omit-logprobs", action="store_true")
    p.add_argument("--models")
    p.add_argument("--quota", action="store_true")
    opts = p.parse_args()
    opts.models_given = opts.models is not None
    if opts.models is None:
        opts.models = "gpt-4o-mini"
    if opts.script:
        with open(opts.script) as f:
            state["script"] = json.load(f)
    if opts.log:
        state["log"] = open(opts.log, "a")
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 1024
    srv = ThreadingHTTPServer((opts.bind, 0), Handler)
    with open(opts.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))

    os.rename(opts.port_file + ".tmp", opts.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
