#include "codec/blurhash.h"

#include <gtest/gtest.h>

namespace glint::codec {
namespace {

Image Rgba(uint32_t w, uint32_t h, auto pixel) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 4;
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      auto p = pixel(x, y);
      img.pixels.insert(img.pixels.end(), p.begin(), p.end());
    }
  return img;
}

// Expected strings come from the TypeScript implementation (npm `blurhash` 2.0.5, encode())
// run on the same pixels, with one change that makes it agree with the C reference
// implementation: the AC maximum is taken over absolute values (the npm package takes the
// signed maximum, so its first image gives "L9FP4:3t,P-}_O9uo9m{e#fFfXf0").
TEST(BlurHashTest, MatchesTheReferenceImplementation) {
  Image pattern = Rgba(12, 8, [](uint32_t x, uint32_t y) {
    return std::array<uint8_t, 4>{uint8_t(x * 20), uint8_t(y * 30), uint8_t((x * y * 7) % 256),
                                  255};
  });
  auto hash = EncodeBlurHash(pattern, 4, 3);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(*hash, "LiFP4:2+sPt2u-R*jxjKf2fUfTfN");
  EXPECT_EQ(*EncodeBlurHash(pattern, 1, 1), "00FP4:");
  Image red = Rgba(4, 4, [](uint32_t, uint32_t) { return std::array<uint8_t, 4>{255, 0, 0, 255}; });
  EXPECT_EQ(*EncodeBlurHash(red, 4, 3), "L~TI:j|cfQ|c|c$5fQ$5fQfQfQfQ");
}

TEST(BlurHashTest, LengthFollowsTheComponents) {
  Image img = Rgba(10, 10, [](uint32_t x, uint32_t y) {
    return std::array<uint8_t, 4>{uint8_t(x * 25), uint8_t(y * 25), 0, 255};
  });
  for (int cx = 1; cx <= 9; ++cx)
    for (int cy = 1; cy <= 9; ++cy)
      EXPECT_EQ(EncodeBlurHash(img, cx, cy)->size(), 4u + 2 * cx * cy);
}

TEST(BlurHashTest, RefusesBadArguments) {
  Image img = Rgba(2, 2, [](uint32_t, uint32_t) { return std::array<uint8_t, 4>{0, 0, 0, 255}; });
  EXPECT_FALSE(EncodeBlurHash(img, 0, 3).ok());
  EXPECT_FALSE(EncodeBlurHash(img, 4, 10).ok());
  EXPECT_FALSE(EncodeBlurHash(Image{}, 4, 3).ok());
}

TEST(BlurHashTest, OfALargePhotoUsesFourByThreeOrThreeByFour) {
  auto wide = Rgba(400, 300, [](uint32_t x, uint32_t) {
    return std::array<uint8_t, 4>{uint8_t(x % 256), 90, 160, 255};
  });
  auto tall = Rgba(300, 400, [](uint32_t, uint32_t y) {
    return std::array<uint8_t, 4>{uint8_t(y % 256), 90, 160, 255};
  });
  auto w = BlurHashOf(wide), t = BlurHashOf(tall);
  ASSERT_TRUE(w.ok() && t.ok());
  EXPECT_EQ((*w)[0], 'L');  // size flag (4-1) + (3-1)*9 = 21
  EXPECT_EQ((*t)[0], 'T');  // (3-1) + (4-1)*9 = 29
  EXPECT_EQ(w->size(), 28u);
}

TEST(BlurHashTest, TransparentPixelsCountAsWhite) {
  Image clear = Rgba(4, 4, [](uint32_t, uint32_t) { return std::array<uint8_t, 4>{0, 0, 0, 0}; });
  Image white = Rgba(4, 4, [](uint32_t, uint32_t) {
    return std::array<uint8_t, 4>{255, 255, 255, 255};
  });
  EXPECT_EQ(*EncodeBlurHash(clear, 4, 3), *EncodeBlurHash(white, 4, 3));
}

}  // namespace
}  // namespace glint::codec
