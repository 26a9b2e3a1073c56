#!/usr/bin/env bash
# Transform-on-miss throughput over HTTP, glint against nginx's image_filter module.
#
#   bench/transform_http.sh BUILD_DIR [--requests 2000] [--write]
#
# The workload of issue 3 (and of the public imgproxy benchmark): ~2K JPEGs resized to fit
# a 512 px box at q80, two concurrent keep-alive clients, every request a cache miss.
#
# BUILD_DIR holds a Release `glint` and `bench/glint_make_image`. Two 2048x1365 q90 sources
# are used, one at a time: "smooth" (glint_make_image's gradients, few bytes per pixel)
# and "grain" (the same plus luma noise, closer to the bytes per pixel of a camera photo).
# For each source the script:
#   - starts glint (defaults: one event loop and one transform thread per core) on a fresh
#     data dir and uploads the source 2 x REQUESTS times, each upload a distinct photo, so
#     each GET /p/{id}?w=512&h=512&fit=inside&q=80&fm=jpeg decodes, resizes, encodes and
#     durably stores a new variant;
#   - starts nginx (one worker per core) whose image_filter resizes the same file on
#     every request (`image_filter resize 512 512`, quality 80; nginx caches nothing),
#     each client on a worker of its own;
#   - runs two clients that share one list of distinct URLs, each URL requested at most
#     once, for 20 s or until the list runs out: glint, nginx, glint (fresh ids), nginx;
#     the better run of each counts;
#   - replays the ids glint rendered with wrk (-t2 -c2, 10 s): the hit path, for contrast;
#   - converts 300 copies with two `vipsthumbnail` processes (one thread each), as a
#     non-HTTP reference of what libvips does with the same CPU.
# Besides req/s and latency, each miss row reports the server's own CPU time per request,
# which other work on a shared machine disturbs less than req/s.
# Every response must be 200 image/jpeg with both sides <= 512, checked from its SOF
# header. The markdown summary goes to stdout; with --write it is also appended to
# bench/RESULTS.md. Flags of avatar.sh (passed on by ./dev bench) are accepted and ignored.
#
# Needs curl, python3 (stdlib only), wrk, vips, vipsthumbnail, /usr/sbin/nginx and
# nginx's image_filter module (Debian: libnginx-mod-http-image-filter). Everything lives
# in a temp dir that is removed, with the servers stopped, on exit.
set -euo pipefail

readonly EMAIL="bench@example.com"
readonly PASSWORD="benchmark-password"
readonly SRC_WIDTH=2048
readonly SRC_HEIGHT=1365
readonly SRC_QUALITY=90
readonly GRAIN_SIGMA=4
readonly BOX=512
readonly QUALITY=80
readonly CLIENTS=2
readonly MISS_SECONDS=20
readonly HIT_DURATION=10s
readonly VIPS_IMAGES=300
readonly QUERY="w=$BOX&h=$BOX&fit=inside&q=$QUALITY&fm=jpeg"
readonly NGINX=/usr/sbin/nginx
readonly IMAGE_FILTER=/usr/lib/nginx/modules/ngx_http_image_filter_module.so
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly RESULTS="$SCRIPT_DIR/RESULTS.md"

REQUESTS=2000
WRITE=0
BUILD=""
TMP=""
GLINT_PID=""
NGINX_PID=""
TOKEN=""
LOAD_START=""
RESULT_smooth=""  # set by measure_source
RESULT_grain=""
COMMAND="$0 $*"

die() {
  echo "transform_http.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '4p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
  exit 2
}

# stop_pid, cleanup, free_ports, wait_for_200, post, better_of.
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_args() {
  [[ $# -ge 1 ]] || usage
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --requests) [[ $# -ge 2 ]] || usage; REQUESTS="$2"; shift 2 ;;
      --write) WRITE=1; shift ;;
      --duration|--connections|--threads) [[ $# -ge 2 ]] || usage; shift 2 ;;  # avatar.sh's
      -h|--help) usage ;;
      -*) echo "transform_http.sh: unknown option $1" >&2; usage ;;
      *) [[ -z "$BUILD" ]] || usage; BUILD="$1"; shift ;;
    esac
  done
  [[ -n "$BUILD" ]] || usage
  [[ "$REQUESTS" =~ ^[1-9][0-9]*$ ]] || die "--requests must be a positive integer"
  (( REQUESTS >= 2 * CLIENTS )) || die "--requests must be at least $((2 * CLIENTS))"
  BUILD="$(cd "$BUILD" && pwd)" || die "no such build dir"
  [[ -x "$BUILD/glint" ]] || die "$BUILD/glint is missing; build it first"
  [[ -x "$BUILD/bench/glint_make_image" ]] || die "$BUILD/bench/glint_make_image is missing"
  local tool
  for tool in curl python3 wrk vips vipsthumbnail "$NGINX"; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done
  [[ -f "$IMAGE_FILTER" ]] || die "$IMAGE_FILTER is missing (libnginx-mod-http-image-filter)"
}

# The two sources: glint_make_image's smooth fixture, and the same with Gaussian luma
# noise (libvips' seed is fixed, so both are deterministic).
make_sources() {
  "$BUILD/bench/glint_make_image" "$TMP/smooth.jpg" "$SRC_WIDTH" "$SRC_HEIGHT" "$SRC_QUALITY"
  vips gaussnoise "$TMP/noise.v" "$SRC_WIDTH" "$SRC_HEIGHT" --sigma "$GRAIN_SIGMA" --mean 0
  vips bandjoin "$TMP/noise.v $TMP/noise.v $TMP/noise.v" "$TMP/noise3.v"
  vips add "$TMP/smooth.jpg" "$TMP/noise3.v" "$TMP/sum.v"
  vips cast "$TMP/sum.v" "$TMP/grain.v" uchar
  vips jpegsave "$TMP/grain.v" "$TMP/grain.jpg" --Q "$SRC_QUALITY" --subsample-mode on
  rm -f "$TMP"/*.v
}

# glint with its defaults (event loops and transform threads one per core) on a fresh data
# dir; only the access log and the password hash cost are turned down, and background
# renditions are off (they would render behind the measured misses).
start_glint() {
  rm -rf "${TMP:?}/var"
  mkdir -p "$TMP/var"
  "$BUILD/glint" serve --listen "127.0.0.1:$GLINT_PORT" --data-dir "$TMP/var" \
    --access-log false --kdf-memlimit-kib 8192 --kdf-opslimit 1 --renditions '' \
    2>"$TMP/glint.log" &
  GLINT_PID=$!
  wait_for_200 "http://127.0.0.1:$GLINT_PORT/healthz" "$GLINT_PID" "$TMP/glint.log"
}

# Creates the account and logs in; prints the login token.
login_glint() {
  local admin
  admin="$(<"$TMP/var/admin.token")"
  post /v1/accounts 201 "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" application/json \
    "$admin" >/dev/null
  post /v1/sessions 201 "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" application/json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

# Uploads `file` `count` times over two keep-alive connections; prints the photo ids.
upload_photos() {
  python3 - "$GLINT_PORT" "$TOKEN" "$1" "$2" <<'EOF'
import http.client, json, sys, threading
port, token, path, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
body = open(path, "rb").read()
ids, lock, failure = [], threading.Lock(), []
def worker(n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(n):
        conn.request("POST", "/v1/photos", body, {"Content-Type": "image/jpeg",
                                                  "Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 201:
            failure.append(f"POST /v1/photos answered {resp.status}: {data[:300]!r}")
            return
        with lock:
            ids.append(json.loads(data)["image_id"])
threads = [threading.Thread(target=worker, args=(count // 2 + (i < count % 2),)) for i in range(2)]
for t in threads: t.start()
for t in threads: t.join()
if failure:
    sys.exit(failure[0])
print("\n".join(ids))
EOF
}

# nginx with one worker per core resizing `file` on every request to /img/...; each
# worker has its own listening socket (reuseport) and names itself in X-Worker.
start_nginx() {
  local file="$1"
  stop_pid "$NGINX_PID"
  mkdir -p "$TMP/www" "$TMP/nginx_temp"
  cp "$file" "$TMP/www/src.jpg"
  # Temp paths point into $TMP so nothing touches /var/lib/nginx.
  # Workers run as the caller, who owns the private temp dir (root would otherwise hand them
  # to an unprivileged user that cannot read it).
  cat >"$TMP/nginx.conf" <<EOF
load_module $IMAGE_FILTER;
user $(id -un) $(id -gn);
daemon off;
worker_processes $(nproc);
pid $TMP/nginx.pid;
error_log $TMP/nginx_error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $TMP/nginx_temp/body;
  proxy_temp_path $TMP/nginx_temp/proxy;
  fastcgi_temp_path $TMP/nginx_temp/fastcgi;
  uwsgi_temp_path $TMP/nginx_temp/uwsgi;
  scgi_temp_path $TMP/nginx_temp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT reuseport;
    location ^~ /img/ {
      root $TMP/www;
      rewrite ^ /src.jpg break;
      default_type image/jpeg;
      image_filter resize $BOX $BOX;
      image_filter_jpeg_quality $QUALITY;
      image_filter_buffer 64M;
      add_header X-Worker \$pid always;
    }
  }
}
EOF
  "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx_error.log" 2>"$TMP/nginx_stderr.log" &
  NGINX_PID=$!
  wait_for_200 "http://127.0.0.1:$NGINX_PORT/img/warmup.jpg" "$NGINX_PID" "$TMP/nginx_stderr.log"
}

# Requests the paths of `paths` in order, each once, shared by CLIENTS keep-alive
# connections to `port`, until MISS_SECONDS pass or the list runs out; fails unless every
# answer is 200 image/jpeg with both sides <= BOX. Prints
# "req/s p50_ms p99_ms mean_bytes WxH requests seconds"; the requests made are the first
# `requests` paths. With `auth`, requests carry it as a bearer token. With `spread_path`,
# each connection is first made to GET it (untimed) and is replaced until its X-Worker
# answer names a process no other connection has, so that every client has a worker of
# its own (nginx's workers are single-threaded; two connections on one worker would leave
# a core idle).
run_clients() {
  local port="$1" paths="$2" auth="${3:-}" spread_path="${4:-}"
  python3 - "$port" "$paths" "$CLIENTS" "$BOX" "$MISS_SECONDS" "$auth" "$spread_path" <<'EOF'
import http.client, statistics, struct, sys, threading, time
port, paths, clients, box, seconds, auth, spread_path = (
    int(sys.argv[1]), open(sys.argv[2]).read().split(), int(sys.argv[3]), int(sys.argv[4]),
    float(sys.argv[5]), sys.argv[6], sys.argv[7])
headers = {"Authorization": f"Bearer {auth}"} if auth else {}

def connect(taken):
    if not spread_path:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(100):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", spread_path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        worker = resp.getheader("X-Worker")
        if resp.status != 200 or not worker:
            sys.exit(f"GET {spread_path}: {resp.status}, X-Worker {worker!r}")
        if worker not in taken:
            taken.add(worker)
            return conn
        conn.close()
    sys.exit(f"no connection reached a worker other than {sorted(taken)}")

def jpeg_size(b):
    """(width, height) from a JPEG's first SOF marker, or None."""
    if b[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(b):
        if b[i] != 0xFF:
            return None
        marker = b[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        length = struct.unpack(">H", b[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w = struct.unpack(">HH", b[i + 5:i + 9])
            return w, h
        i += 2 + length
    return None

lock = threading.Lock()
next_index, latencies, sizes, dims, failure = 0, [], [], set(), []
def client(conn):
    global next_index
    while not failure:
        with lock:
            if next_index == len(paths) or time.perf_counter() >= deadline:
                return
            path = paths[next_index]
            next_index += 1
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        elapsed = time.perf_counter() - start
        size = jpeg_size(body)
        ctype = resp.getheader("Content-Type", "")
        if resp.status != 200 or ctype != "image/jpeg" or not size or max(size) > box:
            failure.append(f"GET {path}: {resp.status} {ctype} {size} {body[:200]!r}")
            return
        with lock:
            latencies.append(elapsed)
            sizes.append(len(body))
            dims.add(size)
taken = set()
conns = [connect(taken) for _ in range(clients)]
threads = [threading.Thread(target=client, args=(conn,)) for conn in conns]
start = time.perf_counter()
deadline = start + seconds
for t in threads: t.start()
for t in threads: t.join()
wall = time.perf_counter() - start
if failure:
    sys.exit(failure[0])
q = statistics.quantiles(latencies, n=100, method="inclusive")
print(f"{len(latencies) / wall:.2f} {q[49] * 1e3:.2f} {q[98] * 1e3:.2f} "
      f"{statistics.mean(sizes):.0f} {'/'.join(f'{w}x{h}' for w, h in sorted(dims))} "
      f"{len(latencies)} {wall:.1f}")
EOF
}

# CPU seconds (user + system) used so far by process `pid`, its threads and its children
# (nginx's workers).
cpu_seconds() {
  python3 - "$1" <<'EOF'
import os, sys
root, total = int(sys.argv[1]), 0
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    try:
        fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue  # exited meanwhile
    if int(entry) == root or int(fields[1]) == root:  # fields[1] is the parent's pid
        total += int(fields[11]) + int(fields[12])    # utime, stime
print(total / os.sysconf("SC_CLK_TCK"))
EOF
}

# run_clients against server process `pid`; prints its line plus the server's CPU
# milliseconds per request. The CPU of spread_path's untimed requests is counted too: a
# few renders (two or three, usually) on top of a run's hundreds.
run_miss() {
  local port="$1" paths="$2" pid="$3" auth="${4:-}" spread_path="${5:-}" c0 c1 line
  c0="$(cpu_seconds "$pid")"
  line="$(run_clients "$port" "$paths" "$auth" "$spread_path")"
  c1="$(cpu_seconds "$pid")"
  echo "$line $(python3 -c 'import sys; c0, c1, n = map(float, sys.argv[1:]); print(f"{(c1 - c0) * 1e3 / n:.1f}")' \
    "$c0" "$c1" "$(cut -d ' ' -f 6 <<<"$line")")"
}

# The hit path: wrk (-t2 -c2) cycling over glint's already rendered `paths`. Prints
# "req/s p50_ms p99_ms".
run_hits() {
  local paths="$1" out="$TMP/wrk_hits"
  cat >"$TMP/hits.lua" <<'EOF'
local next_thread = 0
function setup(thread)
  thread:set("offset", next_thread)
  next_thread = next_thread + 1
end
function init(args)
  paths = {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  i = offset * math.floor(#paths / 2)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
EOF
  wrk -t "$CLIENTS" -c "$CLIENTS" -d "$HIT_DURATION" --latency -s "$TMP/hits.lua" \
    "http://127.0.0.1:$GLINT_PORT" -- "$paths" "$TOKEN" >"$out"
  if grep -q 'Non-2xx or 3xx responses' "$out"; then
    cat "$out" >&2
    die "glint answered non-2xx responses on the hit path"
  fi
  python3 - "$out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
unit = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}
def ms(s):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", s)
    if not m:
        sys.exit(f"cannot read latency {s!r}")
    return float(m.group(1)) * unit[m.group(2)]
rps = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
if not rps or sorted(pct) != ["50", "99"]:
    sys.exit("wrk printed no Requests/sec or latency distribution")
print(rps.group(1), f"{ms(pct['50']):.2f}", f"{ms(pct['99']):.2f}")
EOF
}

# libvips as a non-HTTP reference: VIPS_IMAGES copies of `file` (distinct names, so nothing
# is cached) through two vipsthumbnail processes of one thread each. Prints
# "images/s startup_ms seconds cpu_ms_per_image"; startup is one process on a 1x1 image,
# already included in the others.
run_vipsthumbnail() {
  local file="$1" dir="$TMP/vt" i
  rm -rf "$dir"
  mkdir -p "$dir/in0" "$dir/in1" "$dir/out"
  for ((i = 0; i < VIPS_IMAGES; i++)); do ln -s "$file" "$dir/in$((i % 2))/$i.jpg"; done
  vips black "$dir/tiny.jpg" 1 1
  local -a vt=(vipsthumbnail --vips-concurrency=1 --vips-cache-max=0 --size "${BOX}x${BOX}"
               -o "$dir/out/%s.jpg[Q=$QUALITY,strip]")
  local t0 t1 t2 cpu
  t0="$(date +%s.%N)"
  VIPS_CONCURRENCY=1 "${vt[@]}" "$dir/tiny.jpg"
  t1="$(date +%s.%N)"
  # A subshell, so that `times` reports the CPU of these two processes only.
  cpu="$(
    VIPS_CONCURRENCY=1 "${vt[@]}" "$dir"/in0/*.jpg &
    pid0=$!
    VIPS_CONCURRENCY=1 "${vt[@]}" "$dir"/in1/*.jpg &
    pid1=$!
    wait "$pid0" && wait "$pid1" || exit 1
    times  # not in a pipeline: that would be a new subshell with no children
  )" || die "vipsthumbnail failed"
  t2="$(date +%s.%N)"
  [[ "$(find "$dir/out" -name '*.jpg' | wc -l)" == $((VIPS_IMAGES + 1)) ]] ||
    die "vipsthumbnail wrote the wrong number of images"
  python3 - "$t0" "$t1" "$t2" "$VIPS_IMAGES" "$cpu" <<'EOF'
import re, sys
t0, t1, t2, n = map(float, sys.argv[1:5])
children = sys.argv[5].strip().splitlines()[-1]  # `times`: the shell's line, then its children's
cpu = sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([0-9.]+)s", children))
print(f"{n / (t2 - t1):.2f} {(t1 - t0) * 1e3:.0f} {t2 - t1:.1f} {cpu * 1e3 / n:.1f}")
EOF
}

# "req/s (CPU ms/request) / req/s (CPU ms/request)" of two run_miss lines.
runs() {
  local a b
  read -ra a <<<"$1"
  read -ra b <<<"$2"
  echo "${a[0]} (${a[7]} ms) / ${b[0]} (${b[7]} ms)"
}

# Measures one source; sets RESULT_<name> to
# "glint|nginx|glint runs|nginx runs|hits|vipsthumbnail|source bytes".
measure_source() {
  local name="$1" file="$TMP/$1.jpg" ids
  echo "transform_http.sh: $name: starting glint, uploading $((2 * REQUESTS)) photos..." >&2
  stop_pid "$GLINT_PID"
  start_glint
  TOKEN="$(login_glint)"
  ids="$(upload_photos "$file" $((2 * REQUESTS)))"
  [[ "$(wc -l <<<"$ids")" == $((2 * REQUESTS)) ]] || die "upload returned the wrong number of ids"
  head -n "$REQUESTS" <<<"$ids" | awk -v q="$QUERY" '{ print "/p/" $0 "?" q }' \
    >"$TMP/glint_paths_1"
  tail -n "$REQUESTS" <<<"$ids" | awk -v q="$QUERY" '{ print "/p/" $0 "?" q }' \
    >"$TMP/glint_paths_2"
  seq "$REQUESTS" | awk '{ print "/img/" $0 ".jpg" }' >"$TMP/nginx_paths"
  start_nginx "$file"

  local g1 g2 n1 n2 hits vt
  echo "transform_http.sh: $name: glint misses (run 1)..." >&2
  g1="$(run_miss "$GLINT_PORT" "$TMP/glint_paths_1" "$GLINT_PID" "$TOKEN")"
  echo "transform_http.sh: $name: nginx image_filter (run 1)..." >&2
  n1="$(run_miss "$NGINX_PORT" "$TMP/nginx_paths" "$NGINX_PID" "" /img/warmup.jpg)"
  echo "transform_http.sh: $name: glint misses (run 2)..." >&2
  g2="$(run_miss "$GLINT_PORT" "$TMP/glint_paths_2" "$GLINT_PID" "$TOKEN")"
  echo "transform_http.sh: $name: nginx image_filter (run 2)..." >&2
  n2="$(run_miss "$NGINX_PORT" "$TMP/nginx_paths" "$NGINX_PID" "" /img/warmup.jpg)"
  stop_pid "$NGINX_PID"
  NGINX_PID=""
  echo "transform_http.sh: $name: glint hits ($HIT_DURATION)..." >&2
  head -n "$(cut -d ' ' -f 6 <<<"$g1")" "$TMP/glint_paths_1" >"$TMP/glint_rendered"
  hits="$(run_hits "$TMP/glint_rendered")"
  kill -0 "$GLINT_PID" 2>/dev/null || { cat "$TMP/glint.log" >&2; die "glint died during the run"; }
  # The benchmark stands, but anything glint complained about is worth a look.
  if grep -E '^[^ ]+ (WARN |ERROR) ' "$TMP/glint.log" >&2; then
    echo "transform_http.sh: glint logged the warnings/errors above during the run" >&2
  fi
  stop_pid "$GLINT_PID"
  GLINT_PID=""
  echo "transform_http.sh: $name: vipsthumbnail reference..." >&2
  vt="$(run_vipsthumbnail "$file")"
  printf -v "RESULT_$name" '%s|%s|%s|%s|%s|%s|%s' "$(better_of "$g1" "$g2")" \
    "$(better_of "$n1" "$n2")" "$(runs "$g1" "$g2")" "$(runs "$n1" "$n2")" "$hits" "$vt" \
    "$(wc -c <"$file")"
}

# Prints the markdown block from both sources' results.
report() {
  REPORT_SMOOTH="$RESULT_smooth" REPORT_GRAIN="$RESULT_grain" \
  REPORT_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" REPORT_NPROC="$(nproc)" \
  REPORT_CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
  REPORT_KERNEL="$(uname -r)" REPORT_NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')" \
  REPORT_VIPS_VERSION="$(vips --version | sed 's/^vips-//')" \
  REPORT_COMMAND="$COMMAND" REPORT_QUERY="$QUERY" REPORT_MISS_SECONDS="$MISS_SECONDS" \
  REPORT_SOURCE="${SRC_WIDTH}x${SRC_HEIGHT} JPEG q${SRC_QUALITY}" REPORT_SIGMA="$GRAIN_SIGMA" \
  REPORT_HIT_DURATION="$HIT_DURATION" REPORT_VIPS_IMAGES="$VIPS_IMAGES" \
  REPORT_LOAD_START="$LOAD_START" REPORT_LOAD_END="$(cut -d ' ' -f 1 /proc/loadavg)" \
  python3 - <<'EOF'
import os
e = {k[len("REPORT_"):].lower(): v for k, v in os.environ.items() if k.startswith("REPORT_")}
print(f"## {e['date']} — transform-on-miss over HTTP, glint vs nginx image_filter")
print()
print(f"- Machine: {e['nproc']} cores, {e['cpu'] or 'unknown CPU'}, Linux {e['kernel']}")
print(f"- Command: `{e['command']}`")
print(f"- Request: `GET /p/{{id}}?{e['query']}` (glint, a new photo id each time) and "
      "`GET /img/{n}.jpg` through `image_filter resize 512 512; image_filter_jpeg_quality 80` "
      "(nginx, which caches nothing); 2 python3 clients over keep-alive, each URL requested "
      f"once, {e['miss_seconds']} s per run; every response checked to be 200 image/jpeg "
      "within 512x512 (from its SOF header)")
print(f"- Sources ({e['source']}): smooth = glint_make_image; grain = the same plus Gaussian "
      f"luma noise (sigma {e['sigma']}), nearer a camera photo's bytes per pixel")
print()
print("| source | server | req/s | p50 | p99 | CPU ms/request | requests | output |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
notes = []
for name in ("smooth", "grain"):
    g, n, g_runs, n_runs, hits, vt, src_bytes = e[name].split("|")
    g, n, hits, vt = g.split(), n.split(), hits.split(), vt.split()
    label = f"{name} ({int(src_bytes) / 1024:,.0f} KiB)"
    def row(server, r):
        return (f"| {label} | {server} | {float(r[0]):,.1f} | {float(r[1]):.1f} ms | "
                f"{float(r[2]):.1f} ms | {r[7]} | {r[5]} in {r[6]} s | {r[4]}, "
                f"{int(r[3]) / 1024:.1f} KiB |")
    print(row("glint, miss (render + durable store)", g))
    print(row(f"nginx {e['nginx_version']} image_filter ({e['nproc']} workers)", n))
    print(f"| {label} | glint, hit (wrk -t2 -c2) | {float(hits[0]):,.0f} | "
          f"{float(hits[1]):.2f} ms | {float(hits[2]):.2f} ms | | {e['hit_duration']} | |")
    print(f"| {label} | vipsthumbnail {e['vips_version']}, 2 processes x 1 thread, no HTTP | "
          f"{float(vt[0]):,.1f} images/s | | | {vt[3]} | {e['vips_images']} in {vt[2]} s | |")
    notes.append(f"- {name}: glint/nginx req/s **{float(g[0]) / float(n[0]):.2f}**, CPU per "
                 f"request **{float(g[7]) / float(n[7]):.2f}**, p99 "
                 f"{float(g[2]) / float(n[2]):.2f}; glint/vipsthumbnail rate "
                 f"{float(g[0]) / float(vt[0]):.2f}, CPU per image "
                 f"{float(g[7]) / float(vt[3]):.2f}. Miss runs, req/s (server CPU ms/request): "
                 f"glint {g_runs}, nginx {n_runs}. One vipsthumbnail start-up (1x1 image): "
                 f"{vt[1]} ms, paid once per process and included.")
print()
print("\n".join(notes))
print()
print("Same machine, same run, one server at a time; the clients share the "
      f"{e['nproc']} cores with the server. Each server had two miss runs, alternating glint, "
      "nginx, glint (fresh photo ids), nginx, and the table shows the better one. Each "
      "nginx client holds a connection to a worker of its own (reuseport, reconnecting "
      "until the workers differ): nginx resizes on the worker that holds the connection, "
      "and two on one worker leave a core idle; glint renders on its CPU pool whichever "
      "event loop holds a connection. CPU "
      "ms/request is the server's own user + system CPU (glint's process with all its "
      "threads, nginx's master and workers, the two vipsthumbnail processes) over the "
      "requests of that run: it leaves out time spent waiting for a core, so it moves less "
      "than req/s when other work shares the machine (but still moves when that work slows "
      "the cores themselves). glint ran "
      "with its defaults (event loops and transform threads one per core) and also stored "
      "each variant durably; nginx decodes with libgd at full size, resizes and encodes on "
      "every request and stores nothing. The hit rows replay the ids glint rendered in its "
      "first run (served from its variant cache); there wrk's 2 threads and glint's 2 event "
      "loops share 2 cores, so those latencies include waits for a core. vipsthumbnail is a "
      "reference for the same CPU work without HTTP, not the peer of the ratio. Load average "
      f"(1 min) before / after the whole run: {e['load_start']} / {e['load_end']} (other work "
      "on the machine competes with every row alike only if it is steady).")
print()
print("Context, not measured here: the public imgproxy benchmark reports about 80 req/s for "
      "this workload on 2 vCPUs, on its own machine and images.")
EOF
}

append_results() {
  printf '\n%s\n' "$1" >>"$RESULTS"
  echo "transform_http.sh: appended to $RESULTS" >&2
}

main() {
  parse_args "$@"
  TMP="$(mktemp -d)"
  trap cleanup EXIT
  make_sources
  { read -r GLINT_PORT; read -r NGINX_PORT; } < <(free_ports)
  LOAD_START="$(cut -d ' ' -f 1 /proc/loadavg)"

  measure_source smooth
  measure_source grain

  local block
  block="$(report)"
  printf '%s\n' "$block"
  [[ "$WRITE" == 0 ]] || append_results "$block"
}

main "$@"
