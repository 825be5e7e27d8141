# Sourced by the flow scripts (tests/clients, e2e). `suoja serve --listen 127.0.0.1:0` takes a
# port the kernel picks and prints "Suoja is listening on http://ADDR"; `listening_port OUT PID`
# waits for that line in OUT (the server's standard output) and prints the port. It fails when
# the server PID exits first or 30 s pass. Taking the port from the server itself leaves no
# moment in which another process beside it could take the same port.
listening_port() {
  local out="$1" pid="$2" port=""
  for _ in $(seq 1 300); do
    port="$(sed -n 's#^Suoja is listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$#\1#p' "$out" 2>/dev/null | head -1)"
    if [ -n "$port" ]; then echo "$port"; return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
