#!/bin/sh
# The router's benchmark on two cores: Chapelle and Li's scenario on one,
# the others on the other, then one table.  usage: router.sh router-sim
set -e
sim=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$sim" full chapelle > "$tmp/a" &
pid=$!
{ "$sim" full stationary; "$sim" full drift | tail -n +2; "$sim" full context | tail -n +2; } > "$tmp/b"
wait "$pid"
cat "$tmp/a"
tail -n +2 "$tmp/b"
