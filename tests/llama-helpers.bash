# Shared by the tests that talk to a real language model: tests/llama-server.mjs
# over node-llama-cpp (`make llama`) and the model in ../shared/models.  One
# server per bats file, on a port of its own: llama_start in setup_file,
# llama_stop in teardown_file, llama first in each test.

# The model: $SG_TEST_MODEL, else ../shared/models beside the checkout, or
# beside the main checkout when this one is a git worktree.
llama_model() {
	local m=${SG_TEST_MODEL:-} common
	if [ -z "$m" ]; then
		m=$BATS_TEST_DIRNAME/../../shared/models/stories260K.gguf
		if [ ! -f "$m" ] && common=$(git -C "$BATS_TEST_DIRNAME" rev-parse \
			--path-format=absolute --git-common-dir 2>/dev/null); then
			m=$common/../../shared/models/stories260K.gguf
		fi
	fi
	printf '%s\n' "$m"
}

# Start the server with the given options, its request log in
# $BATS_FILE_TMPDIR/llama.jsonl; LLAMA_MISSING says why when it cannot run.
# The names the recipes ask for are served by the one model.
llama_start() {
	local runtime=${SG_LLAMA_DIR:-$BATS_TEST_DIRNAME/../build/llama}
	local model port=$BATS_FILE_TMPDIR/llama.port node=node
	model=$(llama_model)
	export LLAMA_MISSING= LLAMA_LOG=$BATS_FILE_TMPDIR/llama.jsonl
	: >"$LLAMA_LOG"
	# the node make llama fetched where the system's is too old
	[ ! -x "$runtime/node/bin/node" ] || node=$runtime/node/bin/node
	if ! command -v "$node" >/dev/null; then
		LLAMA_MISSING="no real model: node is not installed"
	elif ! "$node" -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)'; then
		LLAMA_MISSING="no real model: node-llama-cpp needs node 20 or later, not $("$node" --version) (make llama)"
	elif [ ! -f "$runtime/node_modules/node-llama-cpp/package.json" ]; then
		LLAMA_MISSING="no real model: node-llama-cpp is not in $runtime (make llama)"
	elif [ ! -f "$model" ]; then
		LLAMA_MISSING="no real model: $model is missing (set SG_TEST_MODEL)"
	fi
	if [ -n "$LLAMA_MISSING" ]; then
		echo "# $(basename "$BATS_TEST_FILENAME"): skipped: $LLAMA_MISSING" >&3
		return 0
	fi
	rm -f "$port"
	SG_LLAMA_DIR=$runtime "$node" "$BATS_TEST_DIRNAME/llama-server.mjs" \
		--model "$model" --port-file "$port" --log "$LLAMA_LOG" \
		--alias gpt-4o-mini --alias text-embedding-3-small "$@" \
		2>"$BATS_FILE_TMPDIR/llama.err" 3>&- &
	export LLAMA_PID=$!
	for _ in $(seq 600); do
		[ -s "$port" ] && break
		if ! kill -0 "$LLAMA_PID" 2>/dev/null; then
			cat "$BATS_FILE_TMPDIR/llama.err" >&2
			return 1
		fi
		sleep 0.1
	done
	[ -s "$port" ] || { echo "llama-server: not up after 60 s" >&2; return 1; }
	export LLAMA_PORT LLAMA_URL
	LLAMA_PORT=$(cat "$port")
	LLAMA_URL=http://127.0.0.1:$LLAMA_PORT/v1
}

llama_stop() {
	[ -z "${LLAMA_PID:-}" ] || kill "$LLAMA_PID" 2>/dev/null || true
}

# First in each test: skip without the model, else point the OpenAI
# variables at the server; SG_CACHE_DIR is the test's own.
llama() {
	if [ -n "$LLAMA_MISSING" ]; then
		echo "$LLAMA_MISSING" >&2
		skip "$LLAMA_MISSING"
	fi
	export OPENAI_BASE_URL=$LLAMA_URL OPENAI_API_KEY=sk-test-llama
	export SG_CACHE_DIR=$BATS_TEST_TMPDIR/cache
}

# api METHOD PATH [BODY]: the server's answer on stdout; an HTTP status
# other than 200 is on stderr, and the exit status is 1.  A bare socket:
# importing urllib takes python3 twice as long to start.
api() {
	/usr/bin/python3 - "$LLAMA_PORT" "$1" "$2" "${3-}" <<'PY'
import socket, sys
port, method, path, body = sys.argv[1:]
body = body.encode()
s = socket.create_connection(("127.0.0.1", int(port)))
s.sendall(b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
          b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
          % (method.encode(), path.encode(), len(body)) + body)
data = b""
while chunk := s.recv(1 << 16):
    data += chunk
head, _, answer = data.partition(b"\r\n\r\n")
sys.stdout.write(answer.decode())
status = int(head.split()[1])
if status != 200:
    sys.stderr.write("HTTP %d\n" % status)
    sys.exit(1)
PY
}

# How many requests the server has answered.
llama_requests() {
	wc -l <"$LLAMA_LOG" | tr -d ' '
}
