#!/usr/bin/env bash
# Badge ingest throughput through core::Badges against redis-benchmark SADD on a local
# redis-server, in the same run (issue 6):
#   bench/badge.sh BUILD_DIR [--dir DIR] [--events 2000000] [--write]
#
# BUILD_DIR holds a build with bench/badge_bench (GLINT_BUILD_BENCH=ON); the script builds
# nothing. Needs redis-server and redis-benchmark (Debian: redis-server, redis-tools; ./dev
# bench installs them) and python3.
#   glint first_time: every event a new (receiver, sender) pair, one synced WriteBatch per
#     10,000-event batch (bench/badge_bench.cc), 2 threads;
#   glint redundant: the same events again, all absorbed in memory;
#   Redis: redis-server on a free loopback port with --save '' --appendonly no (nothing
#     durable), redis-benchmark SADD of one element again and again (redundant) and of
#     random elements out of 10^8 (-r, mostly new), each unpipelined and with -P 64.
# The markdown summary goes to stdout; with --write it is also appended to bench/RESULTS.md.
set -euo pipefail

RESULTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/RESULTS.md"
COMMAND="$0 $*"
die() { echo "badge.sh: $*" >&2; exit "${2:-1}"; }

[ $# -ge 1 ] || die "usage: $(sed -n '3p' "${BASH_SOURCE[0]}" | sed 's/^# *//')" 2
BUILD=$1
shift
DIR="$BUILD/bench" EVENTS=2000000 WRITE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --write) WRITE=--write ;;
    --dir) DIR=${2:?--dir needs a directory}; shift ;;
    --events) EVENTS=${2:?--events needs a number}; shift ;;
    *) ;;  # other scripts' flags, via ./dev bench
  esac
  shift
done
BIN="$BUILD/bench/badge_bench"
[ -x "$BIN" ] || die "$BIN not found: build BUILD_DIR with -DGLINT_BUILD_BENCH=ON first"
command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
command -v redis-benchmark >/dev/null || die "redis-benchmark not found (apt-get install redis-tools)"
mkdir -p "$DIR"

TMP="" GLINT_PID="" NGINX_PID=""
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TMP=$(mktemp -d)
REDIS_PID=""
trap 'stop_pid "$REDIS_PID"; cleanup' EXIT

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
"$BIN" --dir "$DIR" --events "$EVENTS" >"$TMP/glint.json"

PORT=$(free_ports 1)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 100); do
  redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
  kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server died: $(cat "$TMP/redis.log")"
  sleep 0.1
done
sadd() {  # label, extra redis-benchmark args...
  local label=$1
  shift
  redis-cli -p "$PORT" flushall >/dev/null
  redis-benchmark -p "$PORT" -t sadd -n "$EVENTS" -c 50 --csv "$@" |
    awk -F'"' -v l="$label" '$2 ~ /SADD/ {print l "," $4}'
}
{
  sadd redundant
  sadd redundant_p64 -P 64
  sadd random -r 100000000
  sadd random_p64 -P 64 -r 100000000
} >"$TMP/redis.csv"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
MACHINE="$(nproc) cores, $CPU, Linux $(uname -r); database on \
$(findmnt -n -o SOURCE,FSTYPE -T "$DIR" | awk '{print $1 " (" $2 ")"}'); \
load average $LOAD_BEFORE before, $LOAD_AFTER after"

python3 - "$TMP/glint.json" "$TMP/redis.csv" "$WRITE" "$RESULTS" "$COMMAND" "$MACHINE" \
  "$BUILD" <<'PY'
import datetime, json, sys

g = json.load(open(sys.argv[1]))
redis = {}
for line in open(sys.argv[2]):
    label, rps = line.strip().split(",")
    redis[label] = float(rps)
write = sys.argv[3] == "--write"
results, command, machine, build = sys.argv[4:8]
first, redundant = g["first_time_per_s"], g["redundant_per_s"]
lines = [
    f"## {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC — badge ingest, glint vs Redis SADD",
    "",
    f"- Machine: {machine}",
    f"- Command: `{command}` (bench/badge_bench: {g['events']:,} events, batches of "
    f"{g['batch']:,}, {g['threads']} threads; redis-benchmark -t sadd -n {g['events']} -c 50)",
    "",
    "| workload | glint events/s | Redis SADD/s | Redis SADD/s, -P 64 | glint / Redis | glint / Redis -P 64 |",
    "|---|---:|---:|---:|---:|---:|",
    f"| redundant (already counted) | {redundant:,.0f} | {redis['redundant']:,.0f} "
    f"| {redis['redundant_p64']:,.0f} | {redundant / redis['redundant']:.2f} "
    f"| {redundant / redis['redundant_p64']:.2f} |",
    f"| first-time sender (durable write) | {first:,.0f} | {redis['random']:,.0f} "
    f"| {redis['random_p64']:,.0f} | {first / redis['random']:.2f} "
    f"| {first / redis['random_p64']:.2f} |",
    "",
    f"glint: {g['durable_writes']:,} sender rows written in {g['batches']} synced batches, "
    f"{g['absorbed']:,} events absorbed. glint runs in-process (core::Badges::Ingest), Redis "
    "over loopback TCP from redis-benchmark, with no persistence (--save '' --appendonly no); "
    "glint's first-time events are fsync'ed before Ingest returns. Targets: redundant >= "
    f"Redis -P 64 ({'met' if redundant >= redis['redundant_p64'] else 'NOT met'}); "
    f"first-time > 100,000/s ({'met' if first > 100000 else 'NOT met'}).",
]
text = "\n".join(lines)
print(text)
if write:
    with open(results, "a") as f:
        f.write("\n" + text + "\n")
    print(f"badge.sh: appended to {results}")
PY
