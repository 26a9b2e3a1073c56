#!/usr/bin/env bash
# Tag write and read throughput, glint against plain RocksDB on the same rows (issue 6):
#   bench/tags.sh BUILD_DIR [--dir DIR] [--seconds 3] [--repeat 3] [--write]
#
# BUILD_DIR holds a Release build with bench/tags_bench (GLINT_BUILD_BENCH=ON); the script
# builds nothing. The databases live in a temp dir under DIR (default BUILD_DIR/bench, the
# disk the build is on), removed on exit. See bench/tags_bench.cc for what each side does:
#   write:      Service::TagPhoto (reads, checks, owner's stripe, tags + tagged + event rows
#               in one synced batch) against one synced WriteBatch of the same three rows;
#   photo_tags: Service::ListPhotoTags against a prefix scan of the same tags rows;
#   tagged:     Service::ListTaggedPhotos (20 a page) against the same index scan and
#               point reads on the raw database.
# Tables show the median of the runs and the ratio glint / RocksDB per run. The markdown
# summary goes to stdout; with --write it is also appended to bench/RESULTS.md. Flags of
# the other scripts (passed on by ./dev bench) are accepted and ignored. Needs python3.
set -euo pipefail

RESULTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/RESULTS.md"
COMMAND="$0 $*"
die() { echo "tags.sh: $*" >&2; exit "${2:-1}"; }

[ $# -ge 1 ] || die "usage: $(sed -n '3p' "${BASH_SOURCE[0]}" | sed 's/^# *//')" 2
BUILD=$1
shift
DIR="$BUILD/bench" SECONDS_PER_RUN=3 REPEAT=3 WRITE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --write) WRITE=--write ;;
    --dir) DIR=${2:?--dir needs a directory}; shift ;;
    --seconds) SECONDS_PER_RUN=${2:?--seconds needs a number}; shift ;;
    --repeat) REPEAT=${2:?--repeat needs a count}; shift ;;
    *) ;;  # other scripts' flags, via ./dev bench
  esac
  shift
done
BIN="$BUILD/bench/tags_bench"
[ -x "$BIN" ] || die "$BIN not found: build BUILD_DIR with -DGLINT_BUILD_BENCH=ON first"
[ -d "$DIR" ] || die "--dir $DIR is not a directory"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
"$BIN" --dir "$DIR" --seconds "$SECONDS_PER_RUN" --repeat "$REPEAT" >"$TMP/tags.json"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), \
Linux $(uname -r); databases on $(findmnt -n -o SOURCE,FSTYPE -T "$DIR" | awk '{print $1 " (" $2 ")"}'); \
load average $LOAD_BEFORE before, $LOAD_AFTER after"

python3 - "$TMP/tags.json" "$WRITE" "$RESULTS" "$COMMAND" "$MACHINE" <<'PY'
import datetime, json, statistics, sys

doc = json.load(open(sys.argv[1]))
write = sys.argv[2] == "--write"
results, command, machine = sys.argv[3:6]
median = statistics.median

lines = [
    f"## {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC — tags, glint vs plain RocksDB",
    "",
    f"- Machine: {machine}",
    f"- Command: `{command}` (bench/tags_bench: {doc['users']} users, {doc['photos']} public "
    f"photos, {doc['writers']} writer threads, {doc['readers']} reader threads, "
    f"{doc['seconds']:g} s per side per run, {len(doc['writes'])} runs; median per row)",
    "",
    "| operation | glint ops/s | p50 µs | p99 µs | RocksDB ops/s | p50 µs | p99 µs "
    "| glint / RocksDB ops/s | range over runs |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
]
names = {
    "writes": "tag a person (TagPhoto) vs one synced batch of the 3 rows",
    "photo_tags": "a photo's tags (ListPhotoTags) vs prefix scan",
    "tagged": "a user's tagged photos, 20 a page (ListTaggedPhotos) vs scan + point reads",
}
verdicts = []
for key, label in names.items():
    runs = doc[key]
    g = {f: median([r["glint"][f] for r in runs]) for f in ("per_s", "p50_us", "p99_us")}
    b = {f: median([r["rocksdb"][f] for r in runs]) for f in ("per_s", "p50_us", "p99_us")}
    ratios = [r["glint"]["per_s"] / r["rocksdb"]["per_s"] for r in runs if r["rocksdb"]["per_s"]]
    lines.append(
        f"| {label} | {g['per_s']:,.0f} | {g['p50_us']:,.0f} | {g['p99_us']:,.0f} "
        f"| {b['per_s']:,.0f} | {b['p50_us']:,.0f} | {b['p99_us']:,.0f} "
        f"| {median(ratios):.2f} | {min(ratios):.2f}–{max(ratios):.2f} |")
    verdicts.append(f"{key} {median(ratios):.2f}")
lines += [
    "",
    f"Both sides ran in the same process on the same disk, taking turns ({doc['tags']:,} tags "
    "written through glint). Writes are fsync'ed on both sides (RocksDB groups concurrent "
    "synced writes), so the write ratio is mostly what glint's reads and checks before the "
    "batch cost against the disk's sync time; the read ratios are the cost of visibility "
    "checks, decoding and building the answer over the same RocksDB reads. "
    "glint / RocksDB: " + "; ".join(verdicts) + ".",
]
if doc["repeats"]:
    lines += ["", f"**Not comparable:** {doc['repeats']:,} of the glint writes repeated an "
              "existing tag (the idempotent path, no write): raise --users or --photos."]
text = "\n".join(lines)
print(text)
if write:
    with open(results, "a") as f:
        f.write("\n" + text + "\n")
    print(f"tags.sh: appended to {results}")
PY
