# Shell helpers shared by the benchmark scripts that start servers (avatar.sh,
# transform_http.sh). Sourced, not run. The sourcing script defines die() and sets the
# globals these use: TMP, GLINT_PID, NGINX_PID, GLINT_PORT (and VARNISH_PID if it starts
# Varnish).

# Stops a server we started, politely first; quiet if it already exited.
stop_pid() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_pid "$GLINT_PID"
  stop_pid "$NGINX_PID"
  stop_pid "${VARNISH_PID:-}"
  [[ -n "$TMP" ]] && rm -rf "$TMP"
}

# `n` (default 2) distinct free loopback ports, one per line. They stay free only until
# someone else binds them, which on a quiet machine is good enough.
free_ports() {
  python3 - "${1:-2}" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
    s.close()
EOF
}

# Waits up to ~10 s for `url` to answer 200, failing early if process `pid` died.
wait_for_200() {
  local url="$1" pid="$2" log="$3" code
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "server (pid $pid) exited during startup"; }
    code="$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)"
    [[ "$code" == 200 ]] && return 0
    sleep 0.1
  done
  cat "$log" >&2
  die "$url did not answer 200 in time (last status $code)"
}

# POSTs `data` (a curl --data-binary argument) to glint; prints the body, checks the status.
post() {
  local path="$1" want="$2" data="$3" content_type="$4" auth="${5:-}" body="$TMP/response" code
  local -a args=(-s -o "$body" -w '%{http_code}' -X POST -H "Content-Type: $content_type"
                 --data-binary "$data")
  [[ -z "$auth" ]] || args+=(-H "Authorization: Bearer $auth")
  code="$(curl "${args[@]}" "http://127.0.0.1:$GLINT_PORT$path")" || die "POST $path failed"
  [[ "$code" == "$want" ]] || die "POST $path answered $code, expected $want: $(cat "$body")"
  cat "$body"
}

# The better (higher req/s) of two parsed runs.
better_of() {
  local a="$1" b="$2"
  if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' \
      "${a%% *}" "${b%% *}"; then
    echo "$a"
  else
    echo "$b"
  fi
}
