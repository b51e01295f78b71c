#!/bin/sh
# bench/llm.sh - sg-gen's HTTP client against the loopback stand-in
# (tests/llm-server.py) at a fixed latency, beside curl --parallel making the
# same requests, and the npm openai client (bench/openai-client.mjs, installed
# into build/npm by this script) with the same concurrency limit:
# requests/s, the ratio to the ideal c/latency, CPU seconds and peak memory
# of the client.  Usage: bench/llm.sh [bin-dir]
# Environment: LATENCY_MS (200), N (2000), N1 (requests at c = 1: 100).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/bin}
latency=${LATENCY_MS:-200}
n=${N:-2000}
n1=${N1:-100}
openai=6.30.1
tmp=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

npm=$here/build/npm
[ -f "$npm/node_modules/openai/package.json" ] &&
	[ "$(jq -r .version "$npm/node_modules/openai/package.json")" = "$openai" ] ||
	npm install --loglevel=error --no-audit --no-fund --prefix "$npm" "openai@$openai" >&2
cp "$here/bench/openai-client.mjs" "$npm/"

/usr/bin/python3 "$here/tests/llm-server.py" --port-file "$tmp/port" --latency "$latency" &
server=$!
while [ ! -s "$tmp/port" ]; do sleep 0.05; done
url=http://127.0.0.1:$(cat "$tmp/port")/v1

# One naive job of $1 samples, and the same request body for curl.
job() {
	"$bin/sg-plan" --no-llm -n1 "$here/examples/reviews/reviews.yaml" |
		jq -c ".batch = 0 | .arm = \"n\" | .generator = \"naive\" | .seed = 1 |
			.params = {temperature: 0.7, max_tokens: 64} | .n = $1 | .context.format = \"text\""
}

# name c requests: one line of the table from /usr/bin/time's output
row() {
	awk -v name="$1" -v c="$2" -v n="$3" -v lat="$latency" '{
		rps = n / $1; ideal = c * 1000 / lat
		printf "| %-15s | %3d | %5d | %7.2f | %7.1f | %5.2f | %6.2f | %7.1f |\n",
			name, c, n, $1, rps, rps / ideal, $2 + $3, $4 / 1024 }' "$tmp/time"
}

printf 'stand-in latency %s ms; %s requests (%s at c = 1); %s\n\n' "$latency" "$n" "$n1" "$(nproc) CPUs"
echo '| client          |   c |     N |  wall s |   req/s | ideal | CPU s  | peak MiB |'
echo '|-----------------|-----|-------|---------|---------|-------|--------|----------|'
for c in 1 8 64; do
	m=$n
	[ "$c" -eq 1 ] && m=$n1
	job "$m" >"$tmp/job.jsonl"
	OPENAI_BASE_URL=$url OPENAI_API_KEY=sk-bench /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
		"$bin/sg-gen" --no-cache -j "$c" "$tmp/job.jsonl" >"$tmp/out.jsonl"
	got=$(jq -s 'map(select(.type == "batch"))[0].generated' "$tmp/out.jsonl")
	[ "$got" -eq "$m" ] || { echo "sg-gen generated $got of $m" >&2; exit 1; }
	row sg-gen "$c" "$m"
	# curl: the same number of POSTs of a request body like sg-gen's
	jq -c '{model: "gpt-4o-mini", messages: [{role: "user", content: "Write one review."}], max_tokens: 64}' \
		-n >"$tmp/body.json"
	i=0
	: >"$tmp/curl.cfg"
	while [ "$i" -lt "$m" ]; do
		printf 'url = "%s/chat/completions"\ndata = "@%s"\noutput = "/dev/null"\n' \
			"$url" "$tmp/body.json" >>"$tmp/curl.cfg"
		i=$((i + 1))
	done
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" curl -sS --no-progress-meter --parallel --parallel-max "$c" \
		-H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench' -K "$tmp/curl.cfg"
	row "curl --parallel" "$c" "$m"
	OPENAI_BASE_URL=$url OPENAI_API_KEY=sk-bench /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
		node "$npm/openai-client.mjs" "$m" "$c" "$tmp/body.json"
	row "openai $openai" "$c" "$m"
done
