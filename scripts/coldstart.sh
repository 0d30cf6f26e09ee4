#!/usr/bin/env bash
# Measures cold start: from exec of `tally serve` on an empty SQLite folder
# to the first answered /v1/ping. Prints each run and the median in ms.
# Usage: bash scripts/coldstart.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/tally" ./cmd/tally
key=tly_coldstart_measurement_key_0123456789
times=()
for i in $(seq "$runs"); do
  port=$((30000 + RANDOM % 20000))
  rm -rf "$tmp/data"
  start=$(date +%s%N)
  TALLY_API_KEY=$key "$tmp/tally" serve --addr 127.0.0.1:$port --db "$tmp/data/tally.db" >/dev/null 2>&1 &
  pid=$!
  until curl -sf -u $key: http://127.0.0.1:$port/v1/ping >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || { echo "tally serve exited (port $port taken?)" >&2; exit 1; }
    sleep 0.002
  done
  end=$(date +%s%N)
  kill -TERM $pid; wait $pid
  ms=$(( (end - start) / 1000000 ))
  times+=("$ms")
  echo "run $i: ${ms} ms"
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print "median: " a[int((NR+1)/2)] " ms over " NR " runs"}'
