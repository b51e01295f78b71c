# bench/stand-in.sh - sourced by the benchmarks that talk to the loopback
# stand-in server (tests/llm-server.py): stand_in DIR LATENCY_MS starts it
# (its pid in $server, killed at exit, DIR removed), and points sg at it.
stand_in() {
	stand_in_dir=$1
	trap 'kill $server 2>/dev/null; rm -rf "$stand_in_dir"' EXIT INT TERM
	/usr/bin/python3 "$here/tests/llm-server.py" --port-file "$1/port" --latency "$2" &
	server=$!
	while [ ! -s "$1/port" ]; do sleep 0.05; done
	export OPENAI_BASE_URL=http://127.0.0.1:$(cat "$1/port")/v1 OPENAI_API_KEY=sk-bench
}
