# bench/lib.sh - sourced by the benchmarks that set builds side by side.
#   stand_in DIR LATENCY_MS [LOG]  starts the loopback stand-in server
#     (tests/llm-server.py; its pid in $server, killed at exit, DIR
#     removed then), logging each request to LOG when given, and points
#     sg at it.
#   interleave FN BIN...     calls FN K BIN for each bin directory in
#     turn (K its place, from 1), ROUNDS times.
#   spread FILE DIV FMT      the median, min and max of FILE's numbers
#     divided by DIV, each printed with FMT: "median (min-max)".

stand_in() {
	stand_in_dir=$1
	trap 'kill $server 2>/dev/null; rm -rf "$stand_in_dir"' EXIT INT TERM
	/usr/bin/python3 "$here/tests/llm-server.py" --port-file "$1/port" --latency "$2" \
		${3:+--log "$3"} &
	server=$!
	while [ ! -s "$1/port" ]; do sleep 0.05; done
	export OPENAI_BASE_URL=http://127.0.0.1:$(cat "$1/port")/v1 OPENAI_API_KEY=sk-bench
}

interleave() {
	interleave_fn=$1
	shift
	interleave_i=0
	while [ "$interleave_i" -lt "$rounds" ]; do
		interleave_i=$((interleave_i + 1))
		interleave_k=0
		for interleave_bin in "$@"; do
			interleave_k=$((interleave_k + 1))
			"$interleave_fn" "$interleave_k" "$interleave_bin"
		done
	done
}

spread() {
	sort -n "$1" | awk -v d="$2" -v f="$3" '{ v[NR] = $1 / d } END {
		printf f " (" f "-" f ")", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
