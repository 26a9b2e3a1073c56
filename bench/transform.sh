#!/usr/bin/env bash
# Transform speed, glint vs libvips in-process, same run, same machine:
#   bench/transform.sh BUILD_DIR [--write]
# BUILD_DIR holds a Release build with bench/glint_transform_bench (libvips-dev installed).
set -euo pipefail
build=${1:?usage: bench/transform.sh BUILD_DIR [--write]}
shift
write=
for arg in "$@"; do  # other flags (avatar.sh's, via ./dev bench) are not this script's
  [ "$arg" = "--write" ] && write=--write
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$build/bench/glint_transform_bench" --benchmark_filter='BM_(Glint|Vips)/' --benchmark_min_time=0.5 \
  --benchmark_format=json >"$out"

python3 - "$out" "$write" "$(dirname "$0")/RESULTS.md" <<'PY'
import json, platform, subprocess, sys, datetime, os
data = json.load(open(sys.argv[1]))
write = sys.argv[2] == "--write"
times = {}
for b in data["benchmarks"]:
    name, src, width = b["name"].split("/")[:3]
    times[(name, int(src), int(width))] = b["real_time"]
names = {0: "1024x1024 JPEG", 1: "4000x3000 JPEG", 2: "1024x1024 PNG+alpha"}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
lines = [
    f"## {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC — transform, glint vs libvips in-process",
    "",
    f"- Machine: {os.cpu_count()} cores, {cpu}, Linux {platform.release()}",
    "- Command: `bench/transform.sh build/release --write` (glint_transform_bench, Google Benchmark, min time 0.5 s)",
    "- Work: decode, resize to the width (aspect kept, never enlarged), encode JPEG q80; one thread each"
    " (libvips: vips_concurrency_set(1), operation cache off); wall-clock ms per image",
    "",
    "| source | width | glint ms | libvips ms | glint/libvips |",
    "|---|---:|---:|---:|---:|",
]
for src in (0, 1, 2):
    for width in (32, 150, 640, 1080):
        g, v = times[("BM_Glint", src, width)], times[("BM_Vips", src, width)]
        lines.append(f"| {names[src]} | {width} | {g:.2f} | {v:.2f} | {g / v:.2f} |")
lines += ["", "Target (issue 3): glint/libvips <= 1.0 on every row, goal 0.8."]
text = "\n".join(lines)
print(text)
if write:
    path = sys.argv[3]
    with open(path, "a") as f:
        f.write("\n" + text + "\n")
    print(f"transform.sh: appended to {path}")
PY
