#!/usr/bin/env bash
# Transform speed on the command line, glint vs vipsthumbnail and ImageMagick, plus JPEG
# decode throughput vs djpeg, same run, same machine (issue 3):
#   bench/transform_cli.sh BUILD_DIR [--write]
#
# BUILD_DIR holds a Release build: glint, bench/glint_make_image and
# bench/glint_transform_bench (for BM_Decode). Needs python3 (stdlib only), vipsthumbnail and
# vipsheader (libvips-tools), /usr/bin/convert (ImageMagick; named by path because another
# `convert` may come first in PATH) and djpeg (libjpeg-turbo-progs).
#
# Sources are the ones transform_bench.cc renders in-process: testutil MakeJpeg(1024, 1024,
# 90), MakeJpeg(4000, 3000, 90) and MakePng(1024, 1024, alpha). Each is resized to widths 32,
# 150, 640 and 1080 (aspect kept, never enlarged) and written as JPEG q80 by:
#   glint convert SRC OUT 'w=W&q=80&fm=jpeg'
#   vipsthumbnail SRC --size 'Wx>' -o 'OUT[Q=80]'                  VIPS_CONCURRENCY=1
#   convert -limit thread 1 SRC -resize 'Wx>' -quality 80 OUT      MAGICK_THREAD_LIMIT=1
#   convert -limit thread 1 -define jpeg:size=2Wx2H SRC -thumbnail 'Wx>' -quality 80 OUT
#     (the define only for JPEG sources; H is the output height; 2W x 2H is capped at the
#     source's size, since a larger hint makes ImageMagick decode the JPEG enlarged)
# Every command is a fresh process timed with time.perf_counter around subprocess.run; per
# case there is one untimed warm-up round, then RUNS rounds in which the four tools take
# turns, and the table shows the median. Start-up is measured the same way for every tool:
# the same command turning a 1x1 source of the same format into a 1x1 JPEG; the second table
# subtracts it. Every output's width is checked with vipsheader (the script aborts on a
# mismatch).
#
# Decode: glint_transform_bench's BM_Decode (codec::Decode at full size to RGB, in-process)
# against `djpeg -outfile /dev/null SRC` (default: -dct int and fancy upsampling, the same
# work), djpeg's start-up (a 1x1 JPEG) subtracted; also djpeg -dct fast for reference.
#
# Prints a markdown section; with --write it is also appended to bench/RESULTS.md.
set -euo pipefail
build=${1:?usage: bench/transform_cli.sh BUILD_DIR [--write]}
shift
write=
for arg in "$@"; do # other flags (avatar.sh's, via ./dev bench) are not this script's
  [ "$arg" = "--write" ] && write=--write
done
RUNS=${RUNS:-7}

die() {
  echo "transform_cli.sh: $*" >&2
  exit 1
}
for f in glint bench/glint_make_image bench/glint_transform_bench; do
  [ -x "$build/$f" ] || die "$build/$f is missing (a Release build with -DGLINT_BUILD_BENCH=ON)"
done
for tool in python3 vipsthumbnail vipsheader djpeg; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
/usr/bin/convert -version 2>/dev/null | grep -q ImageMagick || die "/usr/bin/convert is not ImageMagick"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make_image="$build/bench/glint_make_image"
"$make_image" "$tmp/jpeg1024.jpg" 1024 1024 90
"$make_image" "$tmp/jpeg4000x3000.jpg" 4000 3000 90
"$make_image" "$tmp/png1024alpha.png" 1024 1024 alpha
"$make_image" "$tmp/tiny.jpg" 1 1 90
"$make_image" "$tmp/tiny.png" 1 1 alpha

"$build/bench/glint_transform_bench" --benchmark_filter='BM_Decode/' --benchmark_min_time=1 \
  --benchmark_format=json >"$tmp/decode.json"

python3 - "$build" "$tmp" "$RUNS" "$write" "$(dirname "$0")/RESULTS.md" <<'PY'
import datetime, json, os, platform, statistics, subprocess, sys, time

build, tmp, runs, write, results = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "--write", sys.argv[5]
glint = os.path.join(build, "glint")
convert = "/usr/bin/convert"
env = dict(os.environ, VIPS_CONCURRENCY="1", MAGICK_THREAD_LIMIT="1", OMP_NUM_THREADS="1")
load_before = os.getloadavg()

SOURCES = [  # (file, label, width, height, is_jpeg)
    ("jpeg1024.jpg", "1024x1024 JPEG", 1024, 1024, True),
    ("jpeg4000x3000.jpg", "4000x3000 JPEG", 4000, 3000, True),
    ("png1024alpha.png", "1024x1024 PNG+alpha", 1024, 1024, False),
]
WIDTHS = (32, 150, 640, 1080)
TOOLS = ("glint", "vips", "im_resize", "im_thumb")


def command(tool, src, out, width, out_height, is_jpeg, src_width, src_height):
    if tool == "glint":
        return [glint, "convert", src, out, f"w={width}&q=80&fm=jpeg"]
    if tool == "vips":
        return ["vipsthumbnail", src, "--size", f"{width}x>", "-o", f"{out}[Q=80]"]
    if tool == "im_resize":
        return [convert, "-limit", "thread", "1", src, "-resize", f"{width}x>", "-quality", "80", out]
    # 2x the output, capped at the source: a larger hint makes ImageMagick decode the JPEG
    # enlarged (libjpeg-turbo scales up too), and the thumbnail comes out wider than the source.
    hint = f"{min(2 * width, src_width)}x{min(2 * out_height, src_height)}"
    define = ["-define", f"jpeg:size={hint}"] if is_jpeg else []
    return [convert, "-limit", "thread", "1", *define, src, "-thumbnail", f"{width}x>", "-quality", "80", out]


def run(cmd):
    start = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"transform_cli.sh: {' '.join(cmd)} failed ({p.returncode}): {p.stderr.decode()}")
    return elapsed * 1000


def check_width(cmd, out, expected):
    w = subprocess.run(["vipsheader", "-f", "width", out], capture_output=True, text=True)
    loader = subprocess.run(["vipsheader", "-f", "vips-loader", out], capture_output=True, text=True)
    if w.returncode or int(w.stdout) != expected or not loader.stdout.startswith("jpeg"):
        sys.exit(f"transform_cli.sh: {' '.join(cmd)} made {out} of width {w.stdout.strip()!r} "
                 f"({loader.stdout.strip()}), expected a JPEG {expected} wide")


def measure(src, width, out_height, is_jpeg, src_width, src_height):
    """Median ms per tool: a checked warm-up round, then `runs` rounds taking turns."""
    samples = {t: [] for t in TOOLS}
    for round_ in range(runs + 1):
        for tool in TOOLS:
            out = os.path.join(tmp, f"out-{tool}.jpg")
            if os.path.exists(out):
                os.remove(out)
            cmd = command(tool, src, out, width, out_height, is_jpeg, src_width, src_height)
            ms = run(cmd)
            if round_ == 0:
                check_width(cmd, out, min(width, src_width))
            else:
                samples[tool].append(ms)
    return {t: statistics.median(v) for t, v in samples.items()}


startup = {
    True: measure(os.path.join(tmp, "tiny.jpg"), 1, 1, True, 1, 1),
    False: measure(os.path.join(tmp, "tiny.png"), 1, 1, False, 1, 1),
}
rows = []
for file, label, sw, sh, is_jpeg in SOURCES:
    for width in WIDTHS:
        ow = min(width, sw)
        oh = max(1, round(sh * ow / sw))
        rows.append((label, width, is_jpeg, measure(os.path.join(tmp, file), width, oh, is_jpeg, sw, sh)))

# Decode: glint in-process against djpeg, start-up subtracted.
decode = {}
for b in json.load(open(os.path.join(tmp, "decode.json")))["benchmarks"]:
    decode[b["label"]] = b["real_time"]  # ms (the benchmark's unit)
djpeg_start = statistics.median(run(["djpeg", "-outfile", "/dev/null", os.path.join(tmp, "tiny.jpg")])
                                for _ in range(runs * 3))
djpeg = {}
for file, name, mp in (("jpeg4000x3000.jpg", "jpeg4000x3000", 12.0), ("jpeg1024.jpg", "jpeg1024", 1024 * 1024 / 1e6)):
    for dct in ("int", "fast"):
        src = os.path.join(tmp, file)
        run(["djpeg", "-dct", dct, "-outfile", "/dev/null", src])  # warm-up
        djpeg[(name, dct)] = statistics.median(run(["djpeg", "-dct", dct, "-outfile", "/dev/null", src])
                                               for _ in range(runs))
load_after = os.getloadavg()


def first_line(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()
    except (OSError, IndexError):
        return "?"


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = first_line(["git", "-C", os.path.dirname(results), "rev-parse", "--short", "HEAD"])
im_version = first_line([convert, "-version"]).removeprefix("Version: ").split(" https")[0]
_dv = subprocess.run(["djpeg", "-version"], capture_output=True, text=True)
djpeg_version = "djpeg " + ((_dv.stderr or _dv.stdout).strip().splitlines() or ["?"])[0].removeprefix("libjpeg-turbo version ")
names = {"glint": "glint", "vips": "vipsthumbnail", "im_resize": "convert -resize", "im_thumb": "convert -thumbnail"}
lines = [
    f"## {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC — transform on the command line, glint vs vipsthumbnail and ImageMagick; decode vs djpeg",
    "",
    f"- Machine: {os.cpu_count()} cores, {cpu}, Linux {platform.release()}; load average"
    f" {load_before[0]:.2f} before, {load_after[0]:.2f} after",
    f"- Command: `bench/transform_cli.sh build/release --write` (glint {commit}, {first_line(['vips', '--version'])},"
    f" {im_version}, {djpeg_version})",
    "- Work: one process per image: decode, resize to the width (aspect kept, never enlarged), encode JPEG q80,"
    " one thread each (VIPS_CONCURRENCY=1; ImageMagick `-limit thread 1`, MAGICK_THREAD_LIMIT=1)",
    "- Commands: `glint convert SRC OUT 'w=W&q=80&fm=jpeg'`; `vipsthumbnail SRC --size 'Wx>' -o 'OUT[Q=80]'`;"
    " `convert SRC -resize 'Wx>' -quality 80 OUT`; `convert -define jpeg:size=2Wx2H SRC -thumbnail 'Wx>' -quality 80 OUT`"
    " (2Wx2H capped at the source's size, as a larger hint makes ImageMagick 6 decode the JPEG enlarged;"
    " no define for the PNG: jpeg:size only affects JPEG decoding)",
    f"- Timing: wall ms per process (python time.perf_counter around subprocess.run), median of {runs} runs after a"
    " checked warm-up run, the four tools taking turns; every output's width checked with vipsheader",
    "- Start-up: the same command making a 1x1 JPEG from a 1x1 source of the same format, measured the same way: "
    + "; ".join(f"{names[t]} {startup[True][t]:.1f} / {startup[False][t]:.1f} ms" for t in TOOLS)
    + " (JPEG / PNG source)",
    "",
    "Wall time per image, start-up included (ratio below 1: glint is faster):",
    "",
    "| source | width | glint ms | vipsthumbnail ms | convert -resize ms | convert -thumbnail ms | glint/vipsthumbnail | glint/convert -resize | glint/convert -thumbnail |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def table(net):
    out = []
    for label, width, is_jpeg, t in rows:
        v = {k: t[k] - (startup[is_jpeg][k] if net else 0) for k in TOOLS}
        g = v["glint"]
        cells = [f"{v[k]:.1f}" for k in TOOLS]
        cells += [f"{g / v[k]:.3f}" if g > 0 and v[k] > 0 else "n/a" for k in TOOLS[1:]]
        out.append(f"| {label} | {width} | " + " | ".join(cells) + " |")
    return out


lines += table(False)
lines += [
    "",
    "The same with each tool's start-up subtracted (a time at or below 0 is within the noise of the start-up"
    " itself; its ratios are n/a):",
    "",
    "| source | width | glint ms | vipsthumbnail ms | convert -resize ms | convert -thumbnail ms | glint/vipsthumbnail | glint/convert -resize | glint/convert -thumbnail |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
]
lines += table(True)
lines += ["", "Target (issue 3): glint at least 10x faster than `convert -resize`, i.e. glint/convert -resize <= 0.10 on every row.", ""]
worst_raw = max(t["glint"] / t["im_resize"] for _, _, _, t in rows)
net = [(t["glint"] - startup[j]["glint"], t["im_resize"] - startup[j]["im_resize"]) for _, _, j, t in rows]
worst_net = max((g / c for g, c in net if g > 0 and c > 0), default=float("nan"))
met_raw = sum(t["glint"] / t["im_resize"] <= 0.1 for _, _, _, t in rows)
met_net = sum(g / c <= 0.1 for g, c in net if g > 0 and c > 0)
lines.append(f"Worst glint/convert -resize: {worst_raw:.3f} with start-up, {worst_net:.3f} without;"
             f" the target holds on {met_raw} of {len(rows)} rows with start-up, {met_net} without.")
lines += [
    "",
    f"Decode at full size to RGB (accurate integer IDCT, fancy upsampling), megapixels/s; glint: codec::Decode in-process"
    f" (glint_transform_bench BM_Decode, min time 1 s); djpeg: `djpeg [-dct fast] -outfile /dev/null SRC`,"
    f" median of {runs} runs minus djpeg's start-up ({djpeg_start:.1f} ms, a 1x1 JPEG):",
    "",
    "| source | glint ms | glint MP/s | djpeg ms | djpeg MP/s | glint/djpeg MP/s | djpeg -dct fast ms | djpeg -dct fast MP/s |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
]
for name, label, mp in (("jpeg4000x3000", "4000x3000 JPEG", 12.0), ("jpeg1024", "1024x1024 JPEG", 1024 * 1024 / 1e6)):
    g = decode[name]
    d = djpeg[(name, "int")] - djpeg_start
    f = djpeg[(name, "fast")] - djpeg_start
    lines.append(f"| {label} | {g:.1f} | {mp / g * 1000:.0f} | {d:.1f} | {mp / d * 1000:.0f} | {d / g:.2f} | {f:.1f} | {mp / f * 1000:.0f} |")
text = "\n".join(lines)
print(text)
if write:
    with open(results, "a") as f:
        f.write("\n" + text + "\n")
    print(f"transform_cli.sh: appended to {results}")
PY
