#include "codec/resize.h"
#include "codec/handles.h"

#include <gtest/gtest.h>
#include <hwy/targets.h>
#include <spng.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/testutil/images.h"

namespace glint::codec {
namespace {

constexpr Filter kAllFilters[] = {Filter::kLanczos3, Filter::kCatmullRom, Filter::kLinear};

Image Blank(uint32_t width, uint32_t height, uint8_t channels) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.resize(image.stride() * height);
  return image;
}

// Smooth gradients plus pseudo-random noise: exercises ringing, clamping and every byte lane.
Image RandomishImage(uint32_t width, uint32_t height, uint8_t channels, uint32_t seed) {
  Image image = Blank(width, height, channels);
  uint32_t state = seed * 2654435761u + 1;
  size_t i = 0;
  for (uint32_t y = 0; y < height; ++y) {
    for (uint32_t x = 0; x < width; ++x) {
      for (uint8_t c = 0; c < channels; ++c) {
        state = state * 1664525u + 1013904223u;
        const uint32_t smooth = (x * 7 + y * 3 + c * 50) % 256;
        const uint32_t noise = state >> 24;
        image.pixels[i++] =
            static_cast<uint8_t>(c == 3 && (state >> 8) % 5 == 0 ? 0 : (smooth * 3 + noise) / 4);
      }
    }
  }
  return image;
}

Image FlatImage(uint32_t width, uint32_t height, const std::vector<uint8_t>& colour) {
  Image image = Blank(width, height, static_cast<uint8_t>(colour.size()));
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = colour[i % colour.size()];
  return image;
}

Image DecodePngRgb(const std::string& png) {
  SpngCtx ctx(spng_ctx_new(0));
  if (!ctx) throw std::runtime_error("spng_ctx_new failed");
  int rc = spng_set_png_buffer(ctx.get(), png.data(), png.size());
  spng_ihdr ihdr{};
  if (rc == 0) rc = spng_get_ihdr(ctx.get(), &ihdr);
  size_t size = 0;
  if (rc == 0) rc = spng_decoded_image_size(ctx.get(), SPNG_FMT_RGB8, &size);
  Image image = Blank(ihdr.width, ihdr.height, 3);
  if (rc == 0 && size != image.pixels.size()) rc = SPNG_EINTERNAL;
  if (rc == 0) rc = spng_decode_image(ctx.get(), image.pixels.data(), size, SPNG_FMT_RGB8, 0);
  if (rc != 0) throw std::runtime_error(std::string("spng decode: ") + spng_strerror(rc));
  return image;
}

double Psnr(const Image& a, const Image& b) {
  double squares = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const double d = static_cast<double>(a.pixels[i]) - static_cast<double>(b.pixels[i]);
    squares += d * d;
  }
  const double mse = squares / static_cast<double>(a.pixels.size());
  return mse == 0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("glint_resize_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(ResizeTest, SimdTargetIsNamed) {
  const std::string name = SimdTargetName();
  EXPECT_FALSE(name.empty());
  std::cout << "SIMD target: " << name << "\n";
}

TEST(ResizeTest, ScalarAndSimdAgree) {
  struct Case {
    uint32_t src_w, src_h, dst_w, dst_h;
  };
  const Case cases[] = {
      {64, 48, 32, 24},  {64, 48, 128, 96}, {33, 17, 100, 3},     {200, 150, 7, 5},
      {97, 61, 61, 97},  {1, 1, 9, 7},      {13, 1, 1, 13},       {257, 129, 255, 130},
      {300, 40, 20, 40}, {40, 300, 40, 21}, {500, 333, 150, 99},  {31, 29, 93, 87},
      {1000, 10, 3, 10}, {5, 400, 5, 11},   {128, 128, 127, 129}, {17, 19, 40, 9},
  };
  // Every SIMD target compiled in and supported by this CPU, not only the best one.
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    ASSERT_STREQ(SimdTargetName(), hwy::TargetName(target));
    SCOPED_TRACE(SimdTargetName());
    uint32_t seed = 1;
    for (const Case& c : cases) {
      for (uint8_t channels : {3, 4}) {
        for (bool premultiplied : {false, true}) {
          if (premultiplied && channels == 3) continue;
          for (Filter filter : kAllFilters) {
            Image src = RandomishImage(c.src_w, c.src_h, channels, seed++);
            src.premultiplied = premultiplied;
            SCOPED_TRACE(testing::Message()
                         << c.src_w << "x" << c.src_h << " -> " << c.dst_w << "x" << c.dst_h
                         << " channels " << int{channels} << " premultiplied " << premultiplied
                         << " filter " << static_cast<int>(filter));
            auto simd = Resize(src, c.dst_w, c.dst_h, filter);
            auto scalar = ResizeScalarForTesting(src, c.dst_w, c.dst_h, filter);
            ASSERT_TRUE(simd.ok()) << simd.status().ToString();
            ASSERT_TRUE(scalar.ok()) << scalar.status().ToString();
            EXPECT_EQ(simd->width, c.dst_w);
            EXPECT_EQ(simd->height, c.dst_h);
            EXPECT_EQ(simd->channels, channels);
            EXPECT_EQ(simd->premultiplied, premultiplied);
            ASSERT_EQ(simd->pixels.size(), scalar->pixels.size());
            EXPECT_TRUE(simd->pixels == scalar->pixels);  // bit-identical, not just close
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);  // back to the CPU's own best target
}

TEST(ResizeTest, IdentitySizeIsUnchangedWithinOne) {
  for (uint8_t channels : {3, 4}) {
    const Image src = RandomishImage(77, 53, channels, 7);
    for (Filter filter : kAllFilters) {
      auto out = Resize(src, src.width, src.height, filter);
      ASSERT_TRUE(out.ok());
      ASSERT_EQ(out->pixels.size(), src.pixels.size());
      for (size_t i = 0; i < src.pixels.size(); ++i) {
        ASSERT_LE(std::abs(int{out->pixels[i]} - int{src.pixels[i]}), 1) << "byte " << i;
      }
    }
  }
}

TEST(ResizeTest, FlatColourStaysFlat) {
  const std::vector<std::vector<uint8_t>> colours = {
      {37, 200, 121}, {0, 255, 3}, {37, 200, 121, 255}, {200, 10, 99, 128}, {255, 255, 255, 1}};
  const std::pair<uint32_t, uint32_t> sizes[] = {{1, 1},   {7, 5},     {50, 50},
                                                 {151, 3}, {300, 240}, {1000, 1}};
  for (const auto& colour : colours) {
    const Image src = FlatImage(100, 80, colour);
    for (auto [w, h] : sizes) {
      for (Filter filter : kAllFilters) {
        auto out = Resize(src, w, h, filter);
        ASSERT_TRUE(out.ok());
        // Opaque (or alpha-less) colours survive exactly; a translucent one is exact only to
        // the 8-bit premultiplied round trip, but must still come out the same everywhere.
        const bool exact = colour.size() == 3 || colour[3] == 255;
        for (size_t i = 0; i < out->pixels.size(); ++i) {
          const size_t c = i % colour.size();
          ASSERT_EQ(out->pixels[i], out->pixels[c]) << "not flat at byte " << i;
          if (exact || c == 3) {
            ASSERT_EQ(out->pixels[i], colour[c]) << "byte " << i << " size " << w << "x" << h;
          }
        }
        if (colour.size() == 4 && colour[3] >= 128) {
          for (size_t c = 0; c < 3; ++c) EXPECT_LE(std::abs(out->pixels[c] - colour[c]), 1);
        }
      }
    }
  }
}

TEST(ResizeTest, PremultipliedAlphaDoesNotBleed) {
  // Left half: half-transparent red. Right half: fully transparent green, whose colour must
  // not leak into the filtered edge (without premultiplication it turns brownish-olive).
  Image src = Blank(64, 64, 4);
  for (uint32_t y = 0; y < 64; ++y) {
    for (uint32_t x = 0; x < 64; ++x) {
      uint8_t* p = src.row(y) + x * 4;
      const bool left = x < 32;
      p[0] = left ? 255 : 0;
      p[1] = left ? 0 : 255;
      p[2] = 0;
      p[3] = left ? 128 : 0;
    }
  }
  for (auto [w, h] : {std::pair<uint32_t, uint32_t>{20, 20}, {45, 30}, {150, 150}, {3, 3}}) {
    for (Filter filter : kAllFilters) {
      auto out = Resize(src, w, h, filter);
      ASSERT_TRUE(out.ok());
      EXPECT_FALSE(out->premultiplied);
      int visible = 0;
      for (size_t i = 0; i < out->pixels.size(); i += 4) {
        const uint8_t* p = &out->pixels[i];
        if (p[3] == 0) continue;
        ++visible;
        EXPECT_EQ(p[0], 255) << "pixel " << i / 4 << " of " << w << "x" << h;
        EXPECT_EQ(p[1], 0) << "pixel " << i / 4 << " of " << w << "x" << h;
        EXPECT_EQ(p[2], 0);
        EXPECT_LE(p[3], 128 + 20);  // Lanczos rings ~10% past a step, not more
      }
      EXPECT_GT(visible, 0);
    }
  }
}

TEST(ResizeTest, LargeDownscaleUsesShrinkAndStaysAccurate) {
  // R ramps along x, G along y, B is constant: a filter of the right width centred on the
  // right place reproduces a linear ramp, so the expected output is analytic.
  constexpr uint32_t kW = 4000, kH = 3000, kOutW = 150, kOutH = 113;
  Image src = Blank(kW, kH, 3);
  for (uint32_t y = 0; y < kH; ++y) {
    for (uint32_t x = 0; x < kW; ++x) {
      uint8_t* p = src.row(y) + x * 3;
      p[0] = static_cast<uint8_t>(std::lround(x * 255.0 / (kW - 1)));
      p[1] = static_cast<uint8_t>(std::lround(y * 255.0 / (kH - 1)));
      p[2] = 77;
    }
  }
  auto out = Resize(src, kOutW, kOutH);
  ASSERT_TRUE(out.ok());
  int worst_interior = 0, worst_edge = 0;
  for (uint32_t y = 0; y < kOutH; ++y) {
    for (uint32_t x = 0; x < kOutW; ++x) {
      const double sx = (x + 0.5) * kW / kOutW - 0.5;
      const double sy = (y + 0.5) * kH / kOutH - 0.5;
      const double expected[3] = {sx * 255.0 / (kW - 1), sy * 255.0 / (kH - 1), 77};
      const bool edge = x < 3 || y < 3 || x >= kOutW - 3 || y >= kOutH - 3;
      for (int c = 0; c < 3; ++c) {
        const int diff =
            static_cast<int>(std::lround(std::fabs(out->row(y)[x * 3 + c] - expected[c])));
        (edge ? worst_edge : worst_interior) = std::max(edge ? worst_edge : worst_interior, diff);
      }
    }
  }
  EXPECT_LE(worst_interior, 1);
  EXPECT_LE(worst_edge, 3);  // edge extension bends the ramp near the borders
  // The scalar path agrees on the shrink-then-reduce result too.
  auto scalar = ResizeScalarForTesting(src, kOutW, kOutH);
  ASSERT_TRUE(scalar.ok());
  EXPECT_TRUE(scalar->pixels == out->pixels);
}

TEST(ResizeTest, ZeroSizeIsRefused) {
  const Image src = RandomishImage(10, 10, 3, 3);
  EXPECT_EQ(Resize(src, 0, 10).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Resize(src, 10, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ResizeScalarForTesting(src, 0, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Resize(Image{}, 10, 10).status().code(), Code::kInvalidArgument);
  Image two_channels = Blank(4, 4, 2);
  EXPECT_EQ(Resize(two_channels, 2, 2).status().code(), Code::kInvalidArgument);
  Image short_buffer = Blank(4, 4, 3);
  short_buffer.pixels.pop_back();
  EXPECT_EQ(Resize(short_buffer, 2, 2).status().code(), Code::kInvalidArgument);
}

TEST(ResizeTest, QualityMatchesLibvips) {
  if (std::system("command -v vipsthumbnail >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "vipsthumbnail is not installed";
  }
  TempDir dir;
  const std::string png = testutil::MakePng(1024, 1024);
  const std::filesystem::path src_path = dir.path() / "src.png";
  {
    std::ofstream out(src_path, std::ios::binary);
    out.write(png.data(), static_cast<std::streamsize>(png.size()));
    ASSERT_TRUE(out.good());
  }
  const Image src = DecodePngRgb(png);
  for (int size : {150, 640, 32}) {
    const std::filesystem::path out_path = dir.path() / ("out" + std::to_string(size) + ".png");
    const std::string command = "vipsthumbnail '" + src_path.string() + "' --size " +
                                std::to_string(size) + "x" + std::to_string(size) + " -o '" +
                                out_path.string() + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    const Image expected = DecodePngRgb(ReadFile(out_path));
    auto ours = Resize(src, expected.width, expected.height);
    ASSERT_TRUE(ours.ok());
    const double psnr = Psnr(*ours, expected);
    std::cout << "1024 -> " << expected.width << "x" << expected.height << ": PSNR vs libvips "
              << psnr << " dB\n";
    EXPECT_GE(psnr, 32.0) << size;
  }
}

}  // namespace
}  // namespace glint::codec
