#!/bin/sh
# pii.sh BIN N: precision, recall and F2 per entity type of sg-validate's
# PII check on N labelled samples made by tests/fixtures/pii-set.py (spans
# known, numbers made valid with python3-stdnum), exact spans only.
set -eu
bin=$1 n=$2
tmp=${TMPDIR:-/tmp}/sg-pii.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 tests/fixtures/pii-set.py 2026 "$n" "$tmp/in.jsonl" "$tmp/truth.jsonl"
echo '{"domain": "bench", "num_samples": 1, "validators": {"pii": {"mode": "flag"}}}' >"$tmp/r.json"
"$bin/sg-validate" -r "$tmp/r.json" "$tmp/in.jsonl" >"$tmp/out.jsonl"
echo "type precision recall F2 tp fp fn"
/usr/bin/python3 tests/fixtures/pii-score.py "$tmp/truth.jsonl" "$tmp/out.jsonl"
