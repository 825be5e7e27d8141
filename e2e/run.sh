#!/usr/bin/env bash
# Runs the browser flows (flows.mjs) in Debian's Chromium against a real `suoja serve`, on SQLite
# and, when SUOJA_TEST_PG_URL is set, on PostgreSQL. Needs: the suoja binary (first argument),
# /usr/bin/chromium, and `npm ci` done in e2e/. Screenshots go to e2e/screenshots/.
set -euo pipefail
BIN="$(realpath "${1:?usage: run.sh path/to/suoja}")"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d /tmp/suoja-e2e.XXXXXX)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# shellcheck source=../tests/listening-port.sh
. "$HERE/../tests/listening-port.sh"

run_engine() {
  local engine="$1" db_url="$2"
  local dir="$WORK/$engine"
  mkdir -p "$dir"
  export SUOJA_DATA_DIR="$dir" SUOJA_RATE_LIMIT_PER_MINUTE=100000 SUOJA_OPERATOR_TOKEN="e2e-operator-token-$(date +%s)-0123456789abcdef"
  if [ -n "$db_url" ]; then export SUOJA_DATABASE_URL="$db_url"; else unset SUOJA_DATABASE_URL; fi
  local email="admin-$engine@example.fi" line token port
  line="$("$BIN" init --admin-email "$email" --subdomain "e2e-$engine")"
  token="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_token"])' "$line")"
  "$BIN" serve --listen "127.0.0.1:0" >"$dir/server.out" 2>"$dir/server.log" &
  SERVER_PID=$!
  port="$(listening_port "$dir/server.out" "$SERVER_PID")" || { echo "suoja serve did not start on $engine"; tail -20 "$dir/server.log"; exit 1; }
  echo "== browser flows on $engine =="
  if ! (cd "$HERE" && SUOJA_ADDR="127.0.0.1:$port" SUOJA_EMAIL="$email" SUOJA_TOKEN="$token" SUOJA_ENGINE="$engine" node flows.mjs); then
    echo "--- server log (last lines)"; tail -30 "$dir/server.log"; exit 1
  fi
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || { echo "server exited uncleanly"; tail -20 "$dir/server.log"; exit 1; }
  SERVER_PID=""
}

run_engine sqlite ""
if [ -n "${SUOJA_TEST_PG_URL:-}" ]; then
  db="suoja_e2e_$(date +%s)"
  psql "$SUOJA_TEST_PG_URL" -qc "CREATE DATABASE $db" >/dev/null
  run_engine postgres "${SUOJA_TEST_PG_URL%/*}/$db"
fi
echo "browser flows: all passed"
