#!/usr/bin/env bash
# The avatar hot path, glint against nginx serving the same bytes from disk.
#
#   bench/avatar.sh BUILD_DIR [--duration 15s] [--connections 64] [--threads 1] [--write]
#
# BUILD_DIR holds a Release `glint` and `bench/glint_make_image`. The script starts glint
# (1 event loop) on a fresh data directory, creates an account, uploads an 80x80 JPEG that
# becomes its avatar, and serves the same file from nginx (1 worker, sendfile). wrk then
# loads GET /avatar/<md5> on each server twice, alternating, and the better run of each
# counts. Any non-2xx response fails the benchmark. The markdown summary goes to stdout;
# with --write it is also appended to bench/RESULTS.md.
#
# Needs curl, python3 (stdlib only), wrk and /usr/sbin/nginx. Everything lives in a temp
# dir that is removed, with both servers stopped, on exit.
set -euo pipefail

readonly EMAIL="bench@example.com"
readonly PASSWORD="benchmark-password"
readonly IMAGE_SIZE=80
readonly IMAGE_QUALITY=85
readonly NGINX=/usr/sbin/nginx
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly RESULTS="$SCRIPT_DIR/RESULTS.md"

DURATION=15s
CONNS=64
THREADS=1
WRITE=0
BUILD=""
TMP=""
GLINT_PID=""
NGINX_PID=""
COMMAND="$0 $*"

die() {
  echo "avatar.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '3,4p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
  exit 2
}

# stop_pid, cleanup, free_ports, wait_for_200, post, better_of.
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_args() {
  [[ $# -ge 1 ]] || usage
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --duration) [[ $# -ge 2 ]] || usage; DURATION="$2"; shift 2 ;;
      --connections) [[ $# -ge 2 ]] || usage; CONNS="$2"; shift 2 ;;
      --threads) [[ $# -ge 2 ]] || usage; THREADS="$2"; shift 2 ;;
      --write) WRITE=1; shift ;;
      -h|--help) usage ;;
      -*) echo "avatar.sh: unknown option $1" >&2; usage ;;
      *) [[ -z "$BUILD" ]] || usage; BUILD="$1"; shift ;;
    esac
  done
  [[ -n "$BUILD" ]] || usage
  [[ "$CONNS" =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive integer"
  [[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer"
  [[ "$DURATION" =~ ^[1-9][0-9]*[smh]?$ ]] || die "--duration must look like 15s"
  (( CONNS >= THREADS )) || die "--connections must be at least --threads (wrk's rule)"
  BUILD="$(cd "$BUILD" && pwd)" || die "no such build dir"
  [[ -x "$BUILD/glint" ]] || die "$BUILD/glint is missing; build it first"
  [[ -x "$BUILD/bench/glint_make_image" ]] || die "$BUILD/bench/glint_make_image is missing"
  local tool
  for tool in curl python3 wrk "$NGINX"; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done
}

# Fails unless GET `url` answers 200 with exactly the bytes of `file`.
expect_same_bytes() {
  local url="$1" file="$2" got="$TMP/fetched" code
  code="$(curl -s -o "$got" -w '%{http_code}' "$url")" || die "GET $url failed"
  [[ "$code" == 200 ]] || die "GET $url answered $code: $(head -c 300 "$got")"
  cmp -s "$got" "$file" || die "GET $url returned different bytes from $file"
}

start_glint() {
  mkdir -p "$TMP/var"
  "$BUILD/glint" serve --listen "127.0.0.1:$GLINT_PORT" --data-dir "$TMP/var" --threads 1 \
    --access-log false --kdf-memlimit-kib 8192 --kdf-opslimit 1 2>"$TMP/glint.log" &
  GLINT_PID=$!
  wait_for_200 "http://127.0.0.1:$GLINT_PORT/healthz" "$GLINT_PID" "$TMP/glint.log"
}

# Account, login and a direct upload; the first photo becomes the active avatar.
seed_glint() {
  local admin token
  admin="$(<"$TMP/var/admin.token")"
  post /v1/accounts 201 "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" application/json \
    "$admin" >/dev/null
  token="$(post /v1/sessions 201 "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" \
             application/json | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
  post /v1/photos 201 "@$IMAGE" image/jpeg "$token" >/dev/null
  expect_same_bytes "http://127.0.0.1:$GLINT_PORT/avatar/$HASH" "$IMAGE"
}

start_nginx() {
  mkdir -p "$TMP/www/avatar" "$TMP/nginx_temp"
  cp "$IMAGE" "$TMP/www/avatar/$HASH"
  # Temp paths point into $TMP so nothing touches /var/lib/nginx.
  cat >"$TMP/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx_error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $TMP/nginx_temp/body;
  proxy_temp_path $TMP/nginx_temp/proxy;
  fastcgi_temp_path $TMP/nginx_temp/fastcgi;
  uwsgi_temp_path $TMP/nginx_temp/uwsgi;
  scgi_temp_path $TMP/nginx_temp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /avatar/ { root $TMP/www; default_type image/jpeg; etag on; }
  }
}
EOF
  "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx_error.log" 2>"$TMP/nginx_stderr.log" &
  NGINX_PID=$!
  wait_for_200 "http://127.0.0.1:$NGINX_PORT/avatar/$HASH" "$NGINX_PID" "$TMP/nginx_stderr.log"
  expect_same_bytes "http://127.0.0.1:$NGINX_PORT/avatar/$HASH" "$IMAGE"
}

# Runs wrk against `port`, saving its output to `out`; fails on any non-2xx response.
run_wrk() {
  local name="$1" port="$2" out="$3"
  echo "avatar.sh: wrk $name ($DURATION)..." >&2
  wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" --latency \
    "http://127.0.0.1:$port/avatar/$HASH" >"$out"
  if grep -q 'Non-2xx or 3xx responses' "$out"; then
    cat "$out" >&2
    [[ "$name" != glint* ]] || { echo "--- glint log:" >&2; cat "$TMP/glint.log" >&2; }
    die "$name answered non-2xx responses"
  fi
}

# Prints "req/s p50 p75 p90 p99 socket_errors" from a wrk --latency output file, the
# latencies in milliseconds.
parse_wrk() {
  python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
unit = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}
def ms(s):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", s)
    if not m:
        sys.exit(f"cannot read latency {s!r}")
    return float(m.group(1)) * unit[m.group(2)]
rps = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
if not rps:
    sys.exit("wrk printed no Requests/sec")
pct = {p: ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M)}
if sorted(pct) != ["50", "75", "90", "99"]:
    sys.exit("wrk printed no latency distribution")
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
nerr = sum(int(x) for x in errs.groups()) if errs else 0
print(rps.group(1), pct["50"], pct["75"], pct["90"], pct["99"], nerr)
EOF
}

# Prints the markdown block from the chosen glint and nginx figures and both runs' req/s.
report() {
  REPORT_GLINT="$1" REPORT_NGINX="$2" REPORT_GLINT_RUNS="$3" REPORT_NGINX_RUNS="$4" \
  REPORT_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" REPORT_NPROC="$(nproc)" \
  REPORT_CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
  REPORT_KERNEL="$(uname -r)" REPORT_NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')" \
  REPORT_COMMAND="$COMMAND" REPORT_IMAGE="${IMAGE_SIZE}x${IMAGE_SIZE} JPEG q${IMAGE_QUALITY}" \
  REPORT_IMAGE_BYTES="$(wc -c <"$IMAGE")" REPORT_DURATION="$DURATION" REPORT_THREADS="$THREADS" \
  REPORT_CONNS="$CONNS" python3 - <<'EOF'
import os
e = {k[len("REPORT_"):].lower(): v for k, v in os.environ.items() if k.startswith("REPORT_")}
g, n = e["glint"].split(), e["nginx"].split()
def row(name, r):
    return f"| {name} | {float(r[0]):,.0f} | " + " | ".join(f"{float(x):.2f} ms" for x in r[1:5]) + " |"
print(f"## {e['date']} — avatar hot path, glint vs nginx")
print()
print(f"- Machine: {e['nproc']} cores, {e['cpu'] or 'unknown CPU'}, Linux {e['kernel']}")
print(f"- Command: `{e['command']}`")
print(f"- Request: GET /avatar/<md5> over keep-alive; an {e['image']} ({e['image_bytes']} bytes), "
      "byte-identical from both servers")
print()
print("| server | req/s | p50 | p75 | p90 | p99 |")
print("|---|---:|---:|---:|---:|---:|")
print(row("glint (--threads 1)", g))
print(row(f"nginx {e['nginx_version']} (1 worker, access log off, sendfile)", n))
print()
print(f"glint/nginx: req/s {float(g[0]) / float(n[0]):.2f}, p99 {float(g[4]) / float(n[4]):.2f} "
      "(a p99 ratio above 1 means glint's tail is slower).")
print()
print(f"Both ran on the same machine in the same run: glint with 1 event loop (--threads 1) vs "
      f"nginx with 1 worker, wrk with {e['threads']} thread(s) and {e['conns']} connections; "
      f"wrk itself competes with the server for the {e['nproc']} cores. Each server had two "
      f"{e['duration']} runs, alternating glint, nginx, glint, nginx, and the table shows the "
      f"better of the two (req/s per run: glint {e['glint_runs']}, nginx {e['nginx_runs']}).")
if int(g[5]) or int(n[5]):
    print()
    print(f"wrk reported socket errors in the runs shown: glint {g[5]}, nginx {n[5]}.")
EOF
}

append_results() {
  local block="$1"
  if [[ ! -f "$RESULTS" ]]; then
    cat >"$RESULTS" <<'EOF'
# Benchmark results

Measured figures from the scripts in bench/, newest last. Each entry is appended by a
script run with `--write` and records the machine, the exact command and a peer measured
in the same run (bench/ always measures against a baseline), so entries from different
machines or days are comparable only through their ratios.
EOF
  fi
  printf '\n%s\n' "$block" >>"$RESULTS"
  echo "avatar.sh: appended to $RESULTS" >&2
}

main() {
  parse_args "$@"
  TMP="$(mktemp -d)"
  trap cleanup EXIT

  IMAGE="$TMP/avatar.jpg"
  "$BUILD/bench/glint_make_image" "$IMAGE" "$IMAGE_SIZE" "$IMAGE_SIZE" "$IMAGE_QUALITY"
  HASH="$(printf '%s' "$EMAIL" | python3 -c 'import hashlib, sys; print(hashlib.md5(sys.stdin.buffer.read()).hexdigest())')"
  { read -r GLINT_PORT; read -r NGINX_PORT; } < <(free_ports)

  start_glint
  seed_glint
  start_nginx

  run_wrk glint-1 "$GLINT_PORT" "$TMP/wrk_glint_1"
  run_wrk nginx-1 "$NGINX_PORT" "$TMP/wrk_nginx_1"
  run_wrk glint-2 "$GLINT_PORT" "$TMP/wrk_glint_2"
  run_wrk nginx-2 "$NGINX_PORT" "$TMP/wrk_nginx_2"
  kill -0 "$GLINT_PID" 2>/dev/null || { cat "$TMP/glint.log" >&2; die "glint died during the run"; }
  # The benchmark stands, but anything glint complained about is worth a look.
  if grep -E '^[^ ]+ (WARN |ERROR) ' "$TMP/glint.log" >&2; then
    echo "avatar.sh: glint logged the warnings/errors above during the run" >&2
  fi

  local g1 g2 n1 n2 block
  g1="$(parse_wrk "$TMP/wrk_glint_1")"; g2="$(parse_wrk "$TMP/wrk_glint_2")"
  n1="$(parse_wrk "$TMP/wrk_nginx_1")"; n2="$(parse_wrk "$TMP/wrk_nginx_2")"
  block="$(report "$(better_of "$g1" "$g2")" "$(better_of "$n1" "$n2")" \
             "${g1%% *} / ${g2%% *}" "${n1%% *} / ${n2%% *}")"
  printf '%s\n' "$block"
  [[ "$WRITE" == 0 ]] || append_results "$block"
}

main "$@"
