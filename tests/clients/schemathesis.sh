#!/usr/bin/env bash
# Runs schemathesis over every operation of the OpenAPI document served by a real `suoja serve`
# (SQLite), authenticated, and fails on any 5xx or any response that breaks the document.
set -euo pipefail
BIN="$(realpath "${1:?usage: schemathesis.sh path/to/suoja}")"
WORK="$(mktemp -d /tmp/suoja-schemathesis.XXXXXX)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
# shellcheck source=../listening-port.sh
. "$(dirname "$0")/../listening-port.sh"
export SUOJA_DATA_DIR="$WORK" SUOJA_RATE_LIMIT_PER_MINUTE=10000000 SUOJA_LOG=warn
unset SUOJA_DATABASE_URL
LINE="$("$BIN" init --admin-email fuzz@example.fi)"
TOKEN="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_token"])' "$LINE")"
"$BIN" serve --listen "127.0.0.1:0" >"$WORK/out" 2>"$WORK/server.log" &
PID=$!
PORT="$(listening_port "$WORK/out" "$PID")" || { echo "suoja serve did not start"; tail -20 "$WORK/server.log"; exit 1; }
# Some records for the examples to find, and a bearer token (it names the user by id, so the run
# keeps working when a generated request changes the admin's e-mail address).
curl -sf -u "fuzz@example.fi/token:$TOKEN" -H 'Content-Type: application/json' -d '{"ticket":{"subject":"seed","comment":{"body":"seed body"}}}' "http://127.0.0.1:$PORT/api/v2/tickets.json" >/dev/null
BEARER="$(curl -sf -u "fuzz@example.fi/token:$TOKEN" -H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$PORT/api/v2/oauth/tokens.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"]["full_token"])')"
schemathesis run "http://127.0.0.1:$PORT/api/v2/openapi.json" \
  --url "http://127.0.0.1:$PORT" \
  --header "Authorization: Bearer $BEARER" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-30}" \
  --suppress-health-check filter_too_much \
  --generation-deterministic \
  --workers 2 \
  --request-timeout 10 \
  --no-color
if grep -E 'panicked|internal error' "$WORK/server.log"; then echo "the server logged internal errors"; exit 1; fi
echo "schemathesis: no server errors, every response matches the document"
