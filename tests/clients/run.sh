#!/usr/bin/env bash
# Runs the zenpy and node-zendesk smoke flows against a real `suoja serve`, on SQLite and, when
# SUOJA_TEST_PG_URL is set, on PostgreSQL. Needs: the suoja binary (first argument), Python with
# tests/clients/requirements.txt installed, and `npm ci` done in tests/clients/node.
set -euo pipefail
BIN="$(realpath "${1:?usage: run.sh path/to/suoja}")"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d /tmp/suoja-clients.XXXXXX)"
SERVER_PID=""
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# shellcheck source=../listening-port.sh
. "$HERE/../listening-port.sh"

run_engine() {
  local engine="$1" db_url="$2"
  local dir="$WORK/$engine"
  mkdir -p "$dir"
  local port
  export SUOJA_DATA_DIR="$dir" SUOJA_RATE_LIMIT_PER_MINUTE=100000
  if [ -n "$db_url" ]; then export SUOJA_DATABASE_URL="$db_url"; else unset SUOJA_DATABASE_URL; fi
  "$BIN" serve --listen "127.0.0.1:0" >"$dir/server.out" 2>"$dir/server.log" &
  SERVER_PID=$!
  port="$(listening_port "$dir/server.out" "$SERVER_PID")" || { echo "suoja serve did not start on $engine"; exit 1; }
  for client in zenpy node; do
    local line email token
    email="$client-$engine@example.fi"
    line="$("$BIN" init --admin-email "$email" --subdomain "$client-$engine")"
    token="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_token"])' "$line")"
    echo "== $client on $engine =="
    if [ "$client" = zenpy ]; then
      SUOJA_ADDR="127.0.0.1:$port" SUOJA_EMAIL="$email" SUOJA_TOKEN="$token" SUOJA_SUBDOMAIN="$client-$engine" python3 "$HERE/zenpy_smoke.py"
    else
      (cd "$HERE/node" && SUOJA_ADDR="127.0.0.1:$port" SUOJA_EMAIL="$email" SUOJA_TOKEN="$token" SUOJA_SUBDOMAIN="$client-$engine" node smoke.mjs)
    fi
  done
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || { echo "server exited uncleanly"; cat "$dir/server.log" | tail -20; exit 1; }
  SERVER_PID=""
}

# A tenant for the first start: serve refuses an installation without one.
boot() { local engine="$1" db_url="$2"; mkdir -p "$WORK/$engine"; SUOJA_DATA_DIR="$WORK/$engine" SUOJA_DATABASE_URL="$db_url" "$BIN" init --admin-email "boot@example.fi" --subdomain boot >/dev/null; }

# The engines run at once, each in a shell of its own with its own server (the flows spend a
# minute each waiting for metric events to settle); their output follows, one engine after the other.
one_engine() {
  local engine="$1" db_url="$2"
  # On a failure, the server's last log lines too (a port another server took shows here).
  trap 'rc=$?; { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; } || true; [ "$rc" = 0 ] || tail -20 "$WORK/$engine/server.log" 2>/dev/null; exit $rc' EXIT
  boot "$engine" "$db_url"
  run_engine "$engine" "$db_url"
}
engines=(sqlite)
one_engine sqlite "" >"$WORK/sqlite.out" 2>&1 &
pids=($!)
if [ -n "${SUOJA_TEST_PG_URL:-}" ]; then
  db="suoja_clients_$(date +%s)"
  psql "$SUOJA_TEST_PG_URL" -qc "CREATE DATABASE $db" >/dev/null
  one_engine postgres "${SUOJA_TEST_PG_URL%/*}/$db" >"$WORK/postgres.out" 2>&1 &
  pids+=($!)
  engines+=(postgres)
fi
failed=""
for i in "${!engines[@]}"; do
  wait "${pids[$i]}" || failed="$failed ${engines[$i]}"
  cat "$WORK/${engines[$i]}.out"
done
if [ -n "$failed" ]; then echo "client smoke flows failed on:$failed"; exit 1; fi
echo "client smoke flows: all passed"
