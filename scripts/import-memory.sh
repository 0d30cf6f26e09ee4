#!/usr/bin/env bash
# Peak memory of one import request at the 16 MiB body limit: starts
# `tally serve` on a fresh SQLite file (or --db URL given as $1), sends
# 1,000 invoices of 24 subscription lines each (just under 16 MiB), and
# prints the server's peak resident set size (VmHWM) before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/tally" ./cmd/tally
key=tly_memory_measurement_key_0123456789
port=$((30000 + RANDOM % 20000))
db=${1:-$tmp/data/tally.db}
TALLY_API_KEY=$key "$tmp/tally" serve --addr 127.0.0.1:$port --db "$db" --rate-limit 0 >"$tmp/log" 2>&1 &
pid=$!
api=http://127.0.0.1:$port/v1
until curl -sf -u $key: $api/ping >/dev/null; do kill -0 $pid || { cat "$tmp/log"; exit 1; }; sleep 0.05; done
post() { curl -sf -u $key: -H 'Content-Type: application/json' -X POST "$api/$1" --data-binary "$2"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
ds=$(post data_sources '{"name":"memory"}' | field uuid)
cus=$(post customers "{\"data_source_uuid\":\"$ds\",\"external_id\":\"c1\"}" | field uuid)
plan=$(post plans "{\"data_source_uuid\":\"$ds\",\"name\":\"P\",\"interval_count\":1,\"interval_unit\":\"month\"}" | field uuid)
python3 - "$plan" > "$tmp/body.json" <<'PY'
import json, sys
plan = sys.argv[1]
invs = []
for i in range(1000):
    lines = [{"type": "subscription", "subscription_external_id": f"s{i}-{j}", "plan_uuid": plan,
              "service_period_start": "2024-01-01T00:00:00Z", "service_period_end": "2024-02-01T00:00:00Z",
              "amount_in_cents": 1000 + j, "quantity": 1, "external_id": f"li-{i}-{j}",
              "description": "x" * 380} for j in range(24)]
    invs.append({"external_id": f"inv-{i}", "date": "2024-01-01T00:00:00Z", "currency": "USD", "line_items": lines,
                 "transactions": [{"type": "payment", "result": "successful", "date": "2024-01-02T00:00:00Z"}]})
print(json.dumps({"invoices": invs}))
PY
size=$(stat -c %s "$tmp/body.json")
echo "request body: $size bytes ($((size / 1048576)) MiB)"
echo "peak RSS before: $(grep VmHWM /proc/$pid/status | awk '{print $2, $3}')"
start=$(date +%s%N)
code=$(curl -s -o "$tmp/out" -w '%{http_code}' -u $key: -H 'Content-Type: application/json' -X POST "$api/import/customers/$cus/invoices" --data-binary @"$tmp/body.json")
end=$(date +%s%N)
echo "status $code in $(( (end - start) / 1000000 )) ms"
echo "peak RSS after:  $(grep VmHWM /proc/$pid/status | awk '{print $2, $3}')"
