// Transform speed: glint's in-process pipeline (decode with shrink-on-load, resize, encode)
// against libvips' vips_thumbnail_buffer on the same sources, single-threaded, same output
// width and JPEG quality 80. libvips is linked into this benchmark only, as the reference.
// Times are wall-clock (libvips works on a worker thread); neither side enlarges.
// bench/transform.sh runs it and writes the table of times and ratios to RESULTS.md.
//
// BM_Decode times glint's full-size JPEG decode alone (no shrink-on-load, RGB out), the
// figure bench/transform_cli.sh compares with djpeg, libjpeg-turbo's own command-line ceiling.
#include <benchmark/benchmark.h>
#include <vips/vips.h>

#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>

#include "codec/decode.h"
#include "codec/pipeline.h"
#include "tests/testutil/images.h"

namespace {

// Photographic-like sources, generated once: the 1024x1024 JPEG, 4000x3000 JPEG
// and a 1024x1024 PNG with alpha.
const std::string& Source(int which) {
  static const std::map<int, std::string> sources = {
      {0, glint::testutil::MakeJpeg(1024, 1024, 90)},
      {1, glint::testutil::MakeJpeg(4000, 3000, 90)},
      {2, glint::testutil::MakePng(1024, 1024, true)},
  };
  return sources.at(which);
}

const char* SourceName(int which) {
  return which == 0 ? "jpeg1024" : which == 1 ? "jpeg4000x3000" : "png1024alpha";
}

void BM_Glint(benchmark::State& state) {
  const std::string& src = Source(static_cast<int>(state.range(0)));
  glint::codec::PipelineOptions o;
  o.geometry.width = static_cast<uint32_t>(state.range(1));
  o.format = glint::codec::Format::kJpeg;
  o.quality = 80;
  for (auto _ : state) {
    auto r = glint::codec::Render(std::span<const char>(src.data(), src.size()), o);
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    benchmark::DoNotOptimize(r->bytes.data());
  }
  state.SetLabel(SourceName(static_cast<int>(state.range(0))));
}

void BM_Vips(benchmark::State& state) {
  const std::string& src = Source(static_cast<int>(state.range(0)));
  const int width = static_cast<int>(state.range(1));
  for (auto _ : state) {
    VipsImage* out = nullptr;
    // The box is width x (tall enough never to bind): the output is `width` wide, like glint's.
    // size=down: never enlarge, like glint without `enlarge`.
    if (vips_thumbnail_buffer(const_cast<char*>(src.data()), src.size(), &out, width, "height",
                              100000, "size", VIPS_SIZE_DOWN, nullptr))
      throw std::runtime_error(vips_error_buffer());
    void* buf = nullptr;
    size_t len = 0;
    if (vips_jpegsave_buffer(out, &buf, &len, "Q", 80, nullptr))
      throw std::runtime_error(vips_error_buffer());
    benchmark::DoNotOptimize(buf);
    g_free(buf);
    g_object_unref(out);
  }
  state.SetLabel(SourceName(static_cast<int>(state.range(0))));
}

// Full-size decode of a JPEG source to RGB: the same work as `djpeg -outfile /dev/null`
// (accurate integer IDCT, fancy upsampling, no scaling).
void BM_Decode(benchmark::State& state) {
  const std::string& src = Source(static_cast<int>(state.range(0)));
  uint64_t pixels = 0;
  for (auto _ : state) {
    auto d = glint::codec::Decode(std::span<const char>(src.data(), src.size()));
    if (!d.ok()) throw std::runtime_error(d.status().ToString());
    pixels = uint64_t{d->image.width} * d->image.height;
    benchmark::DoNotOptimize(d->image.pixels.data());
  }
  state.counters["MP/s"] = benchmark::Counter(static_cast<double>(pixels) / 1e6,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(SourceName(static_cast<int>(state.range(0))));
}

void Args(benchmark::internal::Benchmark* b) {
  for (int source : {0, 1, 2})
    for (int width : {32, 150, 640, 1080}) b->Args({source, width});
  b->Unit(benchmark::kMillisecond);
  // Wall time: libvips does its work on a worker thread even at concurrency 1.
  b->UseRealTime();
}

BENCHMARK(BM_Glint)->Apply(Args);
BENCHMARK(BM_Vips)->Apply(Args);
BENCHMARK(BM_Decode)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  if (VIPS_INIT(argv[0])) return 1;
  vips_concurrency_set(1);  // single-threaded, like one glint transform
  vips_cache_set_max(0);    // no operation cache: every iteration does the work
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  vips_shutdown();
  return 0;
}
