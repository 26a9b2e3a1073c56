#!/usr/bin/env bash
# The avatar hot path, glint alone and behind Varnish, against nginx serving the same bytes
# from disk; and the cost of a generated default avatar on its first and later requests.
#
#   bench/avatar.sh BUILD_DIR [--duration 15s] [--connections 64] [--threads 1] [--firsts 200] [--write]
#
# BUILD_DIR holds a Release `glint` and `bench/glint_make_image`. The script starts glint
# (1 event loop) on a fresh data directory, creates an account, uploads an 80x80 JPEG that
# becomes its avatar, serves the same bytes from nginx (1 worker, sendfile, open file
# cache) and starts varnishd with the shipped deploy/varnish/glint.vcl in front of glint.
# Then:
#   1. Hot path: wrk loads GET /avatar/<md5> on glint, Varnish (every request a cache hit)
#      and nginx, twice each, alternating; the better run of each counts.
#   2. Generated defaults, first request: one keep-alive client asks glint for
#      /avatar/<random sha256>?d=STYLE&s=80 with a fresh hash each time (--firsts per
#      style, every one a render), and the same client times nginx's static avatar as the
#      floor of a sequential request; then a few first requests at s=2048 (d=retro).
#   3. Generated defaults, later requests: wrk loads one identicon URL already rendered,
#      glint (served from its in-memory cache) against nginx serving the same PNG bytes.
# Any non-2xx response fails the benchmark. The markdown summary goes to stdout; with
# --write it is also appended to bench/RESULTS.md.
#
# Needs curl, python3 (stdlib only), wrk, /usr/sbin/nginx and varnishd. Everything lives
# in a temp dir that is removed, with every server stopped, on exit.
set -euo pipefail

readonly EMAIL="bench@example.com"
readonly PASSWORD="benchmark-password"
readonly IMAGE_SIZE=80
readonly IMAGE_QUALITY=85
readonly NGINX=/usr/sbin/nginx
# mp and blank are left out: they draw the same pixels for every hash, one cache entry.
readonly STYLES=(identicon retro monsterid wavatar robohash initials)
readonly BIG_FIRSTS=10
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly RESULTS="$SCRIPT_DIR/RESULTS.md"
readonly VCL="$SCRIPT_DIR/../deploy/varnish/glint.vcl"

DURATION=15s
CONNS=64
THREADS=1
FIRSTS=200
WRITE=0
BUILD=""
TMP=""
GLINT_PID=""
NGINX_PID=""
VARNISH_PID=""
VARNISHD=""
COMMAND="$0 $*"

die() {
  echo "avatar.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '4,6p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
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
      --firsts) [[ $# -ge 2 ]] || usage; FIRSTS="$2"; shift 2 ;;
      --write) WRITE=1; shift ;;
      -h|--help) usage ;;
      -*) echo "avatar.sh: unknown option $1" >&2; usage ;;
      *) [[ -z "$BUILD" ]] || usage; BUILD="$1"; shift ;;
    esac
  done
  [[ -n "$BUILD" ]] || usage
  [[ "$CONNS" =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive integer"
  [[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer"
  [[ "$FIRSTS" =~ ^[1-9][0-9]*$ ]] || die "--firsts must be a positive integer"
  [[ "$DURATION" =~ ^[1-9][0-9]*[smh]?$ ]] || die "--duration must look like 15s"
  (( CONNS >= THREADS )) || die "--connections must be at least --threads (wrk's rule)"
  BUILD="$(cd "$BUILD" && pwd)" || die "no such build dir"
  [[ -x "$BUILD/glint" ]] || die "$BUILD/glint is missing; build it first"
  [[ -x "$BUILD/bench/glint_make_image" ]] || die "$BUILD/bench/glint_make_image is missing"
  [[ -f "$VCL" ]] || die "$VCL is missing"
  local tool
  for tool in curl python3 wrk "$NGINX"; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done
  VARNISHD="$(PATH="$PATH:/usr/sbin" command -v varnishd)" ||
    die "varnishd is not installed (Debian: varnish)"
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
  # glint serves the avatar at the default s=80 as its own re-encoded variant (metadata
  # stripped); those are the bytes nginx and Varnish serve too.
  curl -sf -o "$SERVED" "http://127.0.0.1:$GLINT_PORT/avatar/$HASH" || die "GET /avatar/$HASH failed"
  expect_same_bytes "http://127.0.0.1:$GLINT_PORT/avatar/$HASH" "$SERVED"
}

start_nginx() {
  mkdir -p "$TMP/www/avatar" "$TMP/nginx_temp"
  cp "$SERVED" "$TMP/www/avatar/$HASH"
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
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path $TMP/nginx_temp/body;
  proxy_temp_path $TMP/nginx_temp/proxy;
  fastcgi_temp_path $TMP/nginx_temp/fastcgi;
  uwsgi_temp_path $TMP/nginx_temp/uwsgi;
  scgi_temp_path $TMP/nginx_temp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /avatar/ { root $TMP/www; default_type image/jpeg; etag on; }
    location /generated/ { root $TMP/www; default_type image/png; etag on; }
  }
}
EOF
  "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx_error.log" 2>"$TMP/nginx_stderr.log" &
  NGINX_PID=$!
  wait_for_200 "http://127.0.0.1:$NGINX_PORT/avatar/$HASH" "$NGINX_PID" "$TMP/nginx_stderr.log"
  expect_same_bytes "http://127.0.0.1:$NGINX_PORT/avatar/$HASH" "$SERVED"
}

# varnishd with the shipped VCL, its backend pointed at glint; cache storage in memory.
start_varnish() {
  mkdir -p "$TMP/varnish"
  sed "s/\.port = \"8080\";/.port = \"$GLINT_PORT\";/" "$VCL" >"$TMP/glint.vcl"
  grep -q "\.port = \"$GLINT_PORT\";" "$TMP/glint.vcl" || die "$VCL has no .port = \"8080\" to repoint"
  # -F keeps the manager in the foreground (SIGTERM stops it and its worker); -j none runs
  # it without the jail, which needs a varnish user and root.
  "$VARNISHD" -F -j none -n "$TMP/varnish" -a "127.0.0.1:$VARNISH_PORT" -T 127.0.0.1:0 \
    -f "$TMP/glint.vcl" -s malloc,256m >"$TMP/varnishd.log" 2>&1 &
  VARNISH_PID=$!
  wait_for_200 "http://127.0.0.1:$VARNISH_PORT/avatar/$HASH" "$VARNISH_PID" "$TMP/varnishd.log"
  expect_same_bytes "http://127.0.0.1:$VARNISH_PORT/avatar/$HASH" "$SERVED"
  local cache
  cache="$(curl -s -o /dev/null -D - "http://127.0.0.1:$VARNISH_PORT/avatar/$HASH" |
             tr -d '\r' | sed -n 's/^[Xx]-[Cc]ache: //p')"
  [[ "$cache" == HIT ]] || die "the second request through Varnish was not a cache hit (X-Cache: $cache)"
}

# Runs wrk against `url`, saving its output to `out`; fails on any non-2xx response.
run_wrk() {
  local name="$1" url="$2" out="$3"
  echo "avatar.sh: wrk $name ($DURATION)..." >&2
  wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" --latency "$url" >"$out"
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

# Two alternating wrk runs per server over `url`s ("name=url" pairs); prints one line per
# server: "name better-run-figures | run1-req/s run2-req/s".
wrk_rounds() {
  local tag="$1"
  shift
  local round pair name url
  for round in 1 2; do
    for pair in "$@"; do
      name="${pair%%=*}"
      url="${pair#*=}"
      run_wrk "$name-$round" "$url" "$TMP/wrk_${tag}_${name}_$round"
    done
  done
  kill -0 "$GLINT_PID" 2>/dev/null || { cat "$TMP/glint.log" >&2; die "glint died during the run"; }
  local a b
  for pair in "$@"; do
    name="${pair%%=*}"
    a="$(parse_wrk "$TMP/wrk_${tag}_${name}_1")"
    b="$(parse_wrk "$TMP/wrk_${tag}_${name}_2")"
    echo "$name $(better_of "$a" "$b") | ${a%% *} ${b%% *}"
  done
}

# Sequential requests over one keep-alive connection, each timed from send to the last body
# byte. Arguments: port, then one path per request. Fails unless every answer is a 200
# image. Prints "n p50 p90 p99 max mean bytes" (ms; bytes of the last body).
time_sequential() {
  python3 - "$@" <<'EOF'
import http.client, statistics, sys, time
port, paths = int(sys.argv[1]), sys.argv[2:]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
times, size = [], 0
for path in paths:
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    times.append((time.perf_counter() - t0) * 1e3)
    if r.status != 200 or not r.getheader("Content-Type", "").startswith("image/"):
        sys.exit(f"GET {path} answered {r.status} {r.getheader('Content-Type')}: {body[:200]!r}")
    size = len(body)
conn.close()
times.sort()
pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(len(times), pick(0.5), pick(0.9), pick(0.99), times[-1], statistics.fmean(times), size)
EOF
}

# `n` distinct random SHA-256 hex strings (no email has them: every one is an unknown hash).
random_hashes() {
  python3 -c 'import os, sys; print("\n".join(os.urandom(32).hex() for _ in range(int(sys.argv[1]))))' "$1"
}

# Phase 2: first requests of generated defaults, per style, and the sequential floor.
measure_firsts() {
  local style paths=() h
  : >"$TMP/firsts"
  # The floor: the same sequential client against nginx's static file, then glint's cached
  # uploaded avatar.
  for _ in $(seq "$FIRSTS"); do paths+=("/avatar/$HASH"); done
  echo "nginx-static $(time_sequential "$NGINX_PORT" "${paths[@]}")" >>"$TMP/firsts"
  echo "glint-avatar $(time_sequential "$GLINT_PORT" "${paths[@]}")" >>"$TMP/firsts"
  for style in "${STYLES[@]}"; do
    echo "avatar.sh: $FIRSTS first requests of d=$style&s=80..." >&2
    paths=()
    while read -r h; do
      paths+=("/avatar/$h?d=$style&s=80&name=Ada+Lovelace")
    done < <(random_hashes "$FIRSTS")
    echo "$style-80 $(time_sequential "$GLINT_PORT" "${paths[@]}")" >>"$TMP/firsts"
  done
  for style in retro identicon; do
    echo "avatar.sh: $BIG_FIRSTS first requests of d=$style&s=2048..." >&2
    paths=()
    while read -r h; do paths+=("/avatar/$h?d=$style&s=2048"); done < <(random_hashes "$BIG_FIRSTS")
    echo "$style-2048 $(time_sequential "$GLINT_PORT" "${paths[@]}")" >>"$TMP/firsts"
  done
}

# Phase 3 set-up: one identicon rendered by glint, its bytes copied to nginx.
prepare_generated() {
  GENERATED_PATH="/avatar/$(random_hashes 1)?d=identicon&s=80"
  curl -sf -o "$TMP/generated.png" "http://127.0.0.1:$GLINT_PORT$GENERATED_PATH" ||
    die "GET $GENERATED_PATH failed"
  mkdir -p "$TMP/www/generated"
  cp "$TMP/generated.png" "$TMP/www/generated/identicon.png"
  expect_same_bytes "http://127.0.0.1:$NGINX_PORT/generated/identicon.png" "$TMP/generated.png"
  expect_same_bytes "http://127.0.0.1:$GLINT_PORT$GENERATED_PATH" "$TMP/generated.png"
}

# Prints the markdown block from the three result files.
report() {
  REPORT_HOT="$TMP/hot" REPORT_FIRSTS="$TMP/firsts" REPORT_LATER="$TMP/later" \
  REPORT_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" REPORT_NPROC="$(nproc)" \
  REPORT_CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
  REPORT_KERNEL="$(uname -r)" REPORT_NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')" \
  REPORT_VARNISH_VERSION="$("$VARNISHD" -V 2>&1 | sed -n 's/.*(varnish-\([0-9.]*\).*/\1/p' | head -n 1)" \
  REPORT_COMMIT="$(git -C "$SCRIPT_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  REPORT_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)" \
  REPORT_COMMAND="$COMMAND" REPORT_IMAGE="${IMAGE_SIZE}x${IMAGE_SIZE} JPEG q${IMAGE_QUALITY}" \
  REPORT_IMAGE_BYTES="$(wc -c <"$SERVED")" REPORT_DURATION="$DURATION" REPORT_THREADS="$THREADS" \
  REPORT_CONNS="$CONNS" REPORT_FIRSTS_N="$FIRSTS" REPORT_BIG_N="$BIG_FIRSTS" \
  REPORT_GENERATED_BYTES="$(wc -c <"$TMP/generated.png")" python3 - <<'EOF'
import os
e = {k[len("REPORT_"):].lower(): v for k, v in os.environ.items() if k.startswith("REPORT_")}

def wrk_file(path):
    out = {}
    for line in open(path):
        left, runs = line.split("|")
        f = left.split()
        out[f[0]] = ([float(x) for x in f[1:7]], runs.split())
    return out

def row(label, r):
    return f"| {label} | {r[0]:,.0f} | " + " | ".join(f"{x:.2f} ms" for x in r[1:5]) + " |"

hot, later = wrk_file(e["hot"]), wrk_file(e["later"])
firsts = {}
for line in open(e["firsts"]):
    f = line.split()
    firsts[f[0]] = [float(x) for x in f[1:]]

g, v, n = hot["glint"][0], hot["varnish"][0], hot["nginx"][0]
print(f"## {e['date']} — avatar hot path and generated defaults, glint vs Varnish and nginx")
print()
print(f"- Machine: {e['nproc']} cores, {e['cpu'] or 'unknown CPU'}, Linux {e['kernel']}; "
      f"load average at the end {e['load']}")
print(f"- Command: `{e['command']}` (commit {e['commit']})")
print(f"- Request: GET /avatar/<md5> over keep-alive; the avatar is an uploaded {e['image']}, "
      f"served by glint at the default s=80 as its cached {e['image_bytes']}-byte variant, "
      "byte-identical from all three servers")
print()
print("| server | req/s | p50 | p75 | p90 | p99 |")
print("|---|---:|---:|---:|---:|---:|")
print(row("glint (--threads 1)", g))
print(row(f"Varnish {e['varnish_version']} in front of glint (deploy/varnish/glint.vcl, every request a hit)", v))
print(row(f"nginx {e['nginx_version']} (1 worker, access log off, sendfile, open_file_cache)", n))
print()
print(f"glint/nginx: req/s {g[0] / n[0]:.2f}, p99 {g[4] / n[4]:.2f}; "
      f"Varnish+glint/nginx: req/s {v[0] / n[0]:.2f}, p99 {v[4] / n[4]:.2f}; "
      f"glint/Varnish: req/s {g[0] / v[0]:.2f} (a p99 ratio above 1 means a slower tail than nginx's).")
print()
runs = ", ".join(f"{k} {' / '.join(hot[k][1])}" for k in ("glint", "varnish", "nginx"))
print(f"All ran on the same machine in the same run, wrk with {e['threads']} thread(s) and "
      f"{e['conns']} connections competing with the server for the {e['nproc']} cores: glint with "
      f"1 event loop, nginx with 1 worker, Varnish with its default thread pools (it may use "
      f"both cores). Each had two {e['duration']} runs, alternating, and the table shows the "
      f"better (req/s per run: {runs}).")
print()
print(f"Generated defaults, first request: one keep-alive client, sequential, a fresh random "
      f"SHA-256 per request (no email has it, so each is rendered), {e['firsts_n']} per style at "
      f"s=80 and {e['big_n']} at s=2048; the first two rows are the same client repeating one "
      f"cached URL, the floor of a sequential request.")
print()
print("| request | n | p50 | p90 | p99 | max | bytes | p50 over nginx's |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
floor = firsts["nginx-static"][1]
labels = {"nginx-static": "nginx, static 80px avatar", "glint-avatar": "glint, uploaded 80px avatar (cached)"}
for k, r in firsts.items():
    label = labels.get(k)
    if label is None:
        style, size = k.rsplit("-", 1)
        label = f"glint, first d={style}&s={size}"
    print(f"| {label} | {r[0]:.0f} | {r[1]:.2f} ms | {r[2]:.2f} ms | {r[3]:.2f} ms | {r[4]:.2f} ms | "
          f"{r[6]:,.0f} | {r[1] / floor:.1f}x |")
print()
gl, nl = later["glint"][0], later["nginx"][0]
print(f"Generated defaults, later requests: wrk over one d=identicon&s=80 URL already rendered "
      f"(glint serves it from memory) against nginx serving the same {e['generated_bytes']}-byte PNG "
      f"from disk, same settings as above.")
print()
print("| server | req/s | p50 | p75 | p90 | p99 |")
print("|---|---:|---:|---:|---:|---:|")
print(row("glint, cached identicon", gl))
print(row("nginx, same PNG", nl))
print()
runs = ", ".join(f"{k} {' / '.join(later[k][1])}" for k in ("glint", "nginx"))
print(f"glint/nginx: req/s {gl[0] / nl[0]:.2f}, p99 {gl[4] / nl[4]:.2f} (req/s per run: {runs}).")
errs = {k: int(v[0][5]) for k, v in {**{'hot ' + a: b for a, b in hot.items()},
                                      **{'later ' + a: b for a, b in later.items()}}.items()}
if any(errs.values()):
    print()
    print("wrk reported socket errors in the runs shown: " +
          ", ".join(f"{k} {v}" for k, v in errs.items() if v) + ".")
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
  SERVED="$TMP/served.jpg"
  "$BUILD/bench/glint_make_image" "$IMAGE" "$IMAGE_SIZE" "$IMAGE_SIZE" "$IMAGE_QUALITY"
  HASH="$(printf '%s' "$EMAIL" | python3 -c 'import hashlib, sys; print(hashlib.md5(sys.stdin.buffer.read()).hexdigest())')"
  { read -r GLINT_PORT; read -r NGINX_PORT; read -r VARNISH_PORT; } < <(free_ports 3)

  start_glint
  seed_glint
  start_nginx
  start_varnish

  wrk_rounds hot "glint=http://127.0.0.1:$GLINT_PORT/avatar/$HASH" \
    "varnish=http://127.0.0.1:$VARNISH_PORT/avatar/$HASH" \
    "nginx=http://127.0.0.1:$NGINX_PORT/avatar/$HASH" >"$TMP/hot"
  measure_firsts
  prepare_generated
  wrk_rounds later "glint=http://127.0.0.1:$GLINT_PORT$GENERATED_PATH" \
    "nginx=http://127.0.0.1:$NGINX_PORT/generated/identicon.png" >"$TMP/later"
  # The benchmark stands, but anything glint complained about is worth a look.
  if grep -E '^[^ ]+ (WARN |ERROR) ' "$TMP/glint.log" >&2; then
    echo "avatar.sh: glint logged the warnings/errors above during the run" >&2
  fi

  local block
  block="$(report)"
  printf '%s\n' "$block"
  [[ "$WRITE" == 0 ]] || append_results "$block"
}

main "$@"
