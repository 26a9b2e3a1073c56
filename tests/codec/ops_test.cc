#include "codec/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace glint::codec {
namespace {

Image Solid(uint32_t w, uint32_t h, std::vector<uint8_t> px) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = static_cast<uint8_t>(px.size());
  for (uint32_t i = 0; i < w * h; ++i) img.pixels.insert(img.pixels.end(), px.begin(), px.end());
  return img;
}

// A gradient whose pixel at (x, y) is (x, y, x + y) in RGB.
Image Gradient(uint32_t w, uint32_t h) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x)
      img.pixels.insert(img.pixels.end(), {uint8_t(x), uint8_t(y), uint8_t(x + y)});
  return img;
}

TEST(OpsTest, ExtractTakesTheRegion) {
  Image g = Gradient(10, 8);
  Image e = Extract(g, Rect{3, 2, 4, 5});
  ASSERT_EQ(e.width, 4u);
  ASSERT_EQ(e.height, 5u);
  EXPECT_EQ(e.row(0)[0], 3);
  EXPECT_EQ(e.row(0)[1], 2);
  EXPECT_EQ(e.row(4)[3 * 3 + 0], 6);
  EXPECT_EQ(e.row(4)[3 * 3 + 1], 6);
}

TEST(OpsTest, GrayscaleUsesLuma) {
  Image g = Grayscale(Solid(2, 2, {255, 0, 0, 128}));
  EXPECT_EQ(g.pixels[0], 77);
  EXPECT_EQ(g.pixels[1], 77);
  EXPECT_EQ(g.pixels[2], 77);
  EXPECT_EQ(g.pixels[3], 128) << "alpha kept";
}

TEST(OpsTest, BlurKeepsFlatColourAndSoftensEdges) {
  Image flat = GaussianBlur(Solid(9, 9, {10, 200, 30}), 2.0);
  for (uint8_t v : {flat.pixels[0], flat.pixels[40 * 3]}) EXPECT_EQ(v, 10);
  Image edge = Solid(20, 1, {0, 0, 0});
  for (uint32_t x = 10; x < 20; ++x) edge.pixels[x * 3] = 255;
  Image b = GaussianBlur(edge, 1.5);
  EXPECT_GT(b.pixels[9 * 3], 0);
  EXPECT_LT(b.pixels[10 * 3], 255);
  EXPECT_EQ(b.pixels[0], 0);
}

// The exact Gaussian of a 1-row image's step edge, by direct summation (the reference).
std::vector<double> ExactStepBlur(const std::vector<double>& row, double sigma) {
  const int n = static_cast<int>(row.size()), r = static_cast<int>(std::ceil(4 * sigma));
  std::vector<double> out(n);
  for (int x = 0; x < n; ++x) {
    double acc = 0, norm = 0;
    for (int i = -r; i <= r; ++i) {
      const double k = std::exp(-(i * i) / (2 * sigma * sigma));
      acc += k * row[std::clamp(x + i, 0, n - 1)];
      norm += k;
    }
    out[x] = acc / norm;
  }
  return out;
}

TEST(OpsTest, LargeSigmaBlurStaysCloseToTheExactGaussian) {
  for (double sigma : {2.5, 6.0, 20.0, 100.0}) {
    const uint32_t w = 600;
    Image edge = Solid(w, 3, {0, 0, 0});
    std::vector<double> reference(w, 0);
    for (uint32_t y = 0; y < 3; ++y)
      for (uint32_t x = w / 2; x < w; ++x) edge.row(y)[x * 3] = 255;
    for (uint32_t x = w / 2; x < w; ++x) reference[x] = 255;
    reference = ExactStepBlur(reference, sigma);
    Image b = GaussianBlur(edge, sigma);
    int worst = 0;
    for (uint32_t x = 0; x < w; ++x)
      worst = std::max(
          worst, std::abs(int{b.row(1)[x * 3]} - static_cast<int>(std::lround(reference[x]))));
    EXPECT_LE(worst, 6) << "sigma " << sigma << ": three box blurs stand in for the kernel";
    // Still a blur of the right width: the 10%..90% rise spans about 2.56 sigma.
    uint32_t lo = 0, hi = 0;
    for (uint32_t x = 0; x < w; ++x) {
      if (b.row(1)[x * 3] < 26) lo = x;
      if (b.row(1)[x * 3] < 230) hi = x;
    }
    if (sigma < 100) {
      EXPECT_NEAR(hi - lo, 2.56 * sigma, 0.25 * sigma + 2) << sigma;
    }
  }
}

TEST(OpsTest, BlurDoesNotBleedTransparentColour) {
  // Opaque red next to fully transparent green: the visible colour stays red.
  Image img = Solid(10, 1, {255, 0, 0, 255});
  for (uint32_t x = 5; x < 10; ++x) {
    uint8_t* p = &img.pixels[x * 4];
    p[0] = 0, p[1] = 255, p[2] = 0, p[3] = 0;
  }
  Image b = GaussianBlur(img, 1.0);
  const uint8_t* edge = &b.pixels[5 * 4];
  EXPECT_GT(edge[3], 0);
  EXPECT_GT(edge[0], 240);
  EXPECT_LT(edge[1], 15);
}

TEST(OpsTest, SharpenIncreasesContrastAtEdgesOnly) {
  Image edge = Solid(20, 1, {100, 100, 100});
  for (uint32_t x = 10; x < 20; ++x) edge.pixels[x * 3] = 150;
  Image s = Sharpen(edge, 1.0);
  EXPECT_LT(s.pixels[9 * 3], 100);
  EXPECT_GT(s.pixels[10 * 3], 150);
  EXPECT_EQ(s.pixels[0], 100) << "flat areas unchanged";
}

TEST(OpsTest, FlattenCompositesOverTheColour) {
  Image f = Flatten(Solid(1, 1, {255, 0, 0, 128}), 0xFFFFFF);
  ASSERT_EQ(f.channels, 3);
  EXPECT_EQ(f.pixels[0], 255);
  EXPECT_NEAR(f.pixels[1], 127, 1);
  EXPECT_NEAR(f.pixels[2], 127, 1);
  Image rgb = Solid(1, 1, {1, 2, 3});
  EXPECT_EQ(Flatten(rgb, 0).pixels, rgb.pixels);
}

TEST(OpsTest, EmbedPlacesOnACanvas) {
  Image e = Embed(Solid(2, 1, {9, 9, 9}), 4, 3, 1, 1, 0x102030u);
  ASSERT_EQ(e.width, 4u);
  ASSERT_EQ(e.height, 3u);
  EXPECT_EQ(e.row(0)[0], 0x10);
  EXPECT_EQ(e.row(0)[2], 0x30);
  EXPECT_EQ(e.row(1)[3], 9);
  EXPECT_EQ(e.row(1)[3 * 3], 0x10);
  Image t = Embed(Solid(1, 1, {9, 9, 9}), 3, 1, 1, 0, std::nullopt);
  ASSERT_EQ(t.channels, 4);
  EXPECT_EQ(t.pixels[3], 0) << "transparent canvas";
  EXPECT_EQ(t.pixels[4 + 3], 255) << "the image is opaque on it";
}

}  // namespace
}  // namespace glint::codec
