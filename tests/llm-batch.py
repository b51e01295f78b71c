#!/usr/bin/python3
"""Answer a Batch API input file through an OpenAI-compatible server, as
the provider's batch endpoint or `vllm run-batch` would: each request line
is posted to $OPENAI_BASE_URL and written as an output line, in order.

usage: llm-batch.py requests.jsonl answers.jsonl
"""
import json
import os
import sys
import urllib.error
import urllib.request


def answer(base, n, req):
    http = urllib.request.Request(
        base.rstrip("/") + req["url"].removeprefix("/v1"),
        data=json.dumps(req["body"]).encode(), method=req["method"],
        headers={"Content-Type": "application/json",
                 "Authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "")})
    try:
        with urllib.request.urlopen(http) as r:
            status, body = r.status, json.load(r)
    except urllib.error.HTTPError as e:
        status, body = e.code, json.load(e)
    return {"id": "batch_req_%d" % n, "custom_id": req["custom_id"],
            "response": {"status_code": status, "request_id": "req_%d" % n,
                         "body": body},
            "error": None}


def main():
    base = os.environ["OPENAI_BASE_URL"]
    with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
        for n, line in enumerate(f):
            out.write(json.dumps(answer(base, n, json.loads(line))) + "\n")


if __name__ == "__main__":
    main()
