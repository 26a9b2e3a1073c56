#include "codec/avatar_defaults.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "codec/decode.h"
#include "codec/encode.h"

namespace glint::codec {
namespace {

constexpr std::array<DefaultStyle, 9> kAllStyles = {
    DefaultStyle::kMysteryPerson, DefaultStyle::kIdenticon, DefaultStyle::kMonsterId,
    DefaultStyle::kWavatar,       DefaultStyle::kRetro,     DefaultStyle::kRobohash,
    DefaultStyle::kBlank,         DefaultStyle::kInitials,  DefaultStyle::kColor,
};
constexpr std::array<DefaultStyle, 7> kSeededStyles = {
    DefaultStyle::kIdenticon, DefaultStyle::kMonsterId, DefaultStyle::kWavatar,
    DefaultStyle::kRetro,     DefaultStyle::kRobohash,  DefaultStyle::kInitials,
    DefaultStyle::kColor,
};

// MD5 and SHA-256 of "ada@example.com"-like digests: fixed bytes, as the URL would carry.
const std::string kMd5 = "\x1f\x3e\x5d\x7c\x9b\xba\xd9\xf8\x17\x36\x55\x74\x93\xb2\xd1\xf0";
const std::string kSha256 =
    "\x8a\x1b\x2c\x3d\x4e\x5f\x60\x71\x82\x93\xa4\xb5\xc6\xd7\xe8\xf9"
    "\x0a\x1b\x2c\x3d\x4e\x5f\x60\x71\x82\x93\xa4\xb5\xc6\xd7\xe8\xf9";

Image Render(DefaultStyle style, std::string_view seed, uint32_t size,
             std::string initials = "AL") {
  DefaultRequest request;
  request.style = style;
  request.seed = seed;
  request.size = size;
  request.initials = std::move(initials);
  auto image = RenderDefault(request);
  EXPECT_TRUE(image.ok()) << image.status().ToString();
  return image.ok() ? std::move(image).value() : Image{};
}

std::array<uint8_t, 4> PixelAt(const Image& img, uint32_t x, uint32_t y) {
  const uint8_t* p = img.row(y) + x * 4;
  return {p[0], p[1], p[2], p[3]};
}

bool IsUniform(const Image& img) {
  for (uint32_t y = 0; y < img.height; ++y)
    for (uint32_t x = 0; x < img.width; ++x)
      if (PixelAt(img, x, y) != PixelAt(img, 0, 0)) return false;
  return true;
}

TEST(AvatarDefaultsTest, EveryStyleRendersAtEverySize) {
  for (DefaultStyle style : kAllStyles) {
    for (uint32_t size : {1u, 2u, 80u, 2048u}) {
      SCOPED_TRACE(testing::Message() << "style " << int(style) << " size " << size);
      const Image img = Render(style, kMd5, size);
      EXPECT_EQ(img.width, size);
      EXPECT_EQ(img.height, size);
      EXPECT_EQ(img.channels, 4);
      EXPECT_FALSE(img.premultiplied);
      EXPECT_EQ(img.pixels.size(), size_t{size} * size * 4);
    }
  }
}

TEST(AvatarDefaultsTest, RefusesSizeZeroAndAboveTheLimit) {
  for (uint32_t size : {0u, kMaxDefaultSize + 1, 100000u}) {
    DefaultRequest request;
    request.size = size;
    auto image = RenderDefault(request);
    ASSERT_FALSE(image.ok());
    EXPECT_EQ(image.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(image.status().reason(), "bad_size");
  }
  DefaultRequest largest;
  largest.size = kMaxDefaultSize;
  EXPECT_TRUE(RenderDefault(largest).ok());
}

TEST(AvatarDefaultsTest, SameRequestGivesIdenticalBytes) {
  for (DefaultStyle style : kAllStyles) {
    for (uint32_t size : {1u, 37u, 80u, 301u}) {
      EXPECT_EQ(Render(style, kSha256, size).pixels, Render(style, kSha256, size).pixels)
          << "style " << int(style) << " size " << size;
    }
  }
}

TEST(AvatarDefaultsTest, Md5AndSha256SeedsGiveDifferentImages) {
  for (DefaultStyle style : kSeededStyles) {
    EXPECT_NE(Render(style, kMd5, 80).pixels, Render(style, kSha256, 80).pixels)
        << "style " << int(style);
  }
}

TEST(AvatarDefaultsTest, DifferentSeedsGiveDifferentImages) {
  for (DefaultStyle style : kSeededStyles) {
    std::set<std::vector<uint8_t>> seen;
    for (int i = 0; i < 12; ++i) {
      std::string seed = kMd5;
      seed[0] = static_cast<char>(i);
      seen.insert(Render(style, seed, 64).pixels);
    }
    EXPECT_EQ(seen.size(), 12u) << "style " << int(style);
  }
}

TEST(AvatarDefaultsTest, SeedsOfAnyLengthAreAccepted) {
  const std::string long_seed(1000, '\x5a');
  for (DefaultStyle style : kSeededStyles) {
    const Image empty = Render(style, "", 40), longer = Render(style, long_seed, 40);
    EXPECT_EQ(empty.pixels.size(), 40u * 40 * 4);
    EXPECT_EQ(longer.pixels.size(), 40u * 40 * 4);
  }
}

TEST(AvatarDefaultsTest, MysteryPersonAndBlankIgnoreTheSeed) {
  for (DefaultStyle style : {DefaultStyle::kMysteryPerson, DefaultStyle::kBlank}) {
    EXPECT_EQ(Render(style, kMd5, 80).pixels, Render(style, kSha256, 80).pixels);
    EXPECT_EQ(Render(style, "", 80).pixels, Render(style, "x", 80).pixels);
  }
}

TEST(AvatarDefaultsTest, MysteryPersonIsAGreySilhouetteOnLightGrey) {
  const Image img = Render(DefaultStyle::kMysteryPerson, kMd5, 100);
  const auto corner = PixelAt(img, 0, 0), head = PixelAt(img, 50, 41),
             shoulders = PixelAt(img, 50, 95);
  for (const auto& p : {corner, head, shoulders}) {
    EXPECT_LE(std::abs(p[0] - p[2]), 16) << "neutral grey";
    EXPECT_EQ(p[3], 255);
  }
  EXPECT_GT(corner[0], head[0] + 30) << "figure darker than the background";
  EXPECT_EQ(head, shoulders);
}

TEST(AvatarDefaultsTest, BlankIsFullyTransparent) {
  for (uint32_t size : {1u, 80u}) {
    const Image img = Render(DefaultStyle::kBlank, kMd5, size);
    for (size_t i = 3; i < img.pixels.size(); i += 4) ASSERT_EQ(img.pixels[i], 0);
  }
}

TEST(AvatarDefaultsTest, OtherStylesAreOpaque) {
  for (DefaultStyle style : kAllStyles) {
    if (style == DefaultStyle::kBlank) continue;
    const Image img = Render(style, kSha256, 97);
    for (size_t i = 3; i < img.pixels.size(); i += 4)
      ASSERT_EQ(img.pixels[i], 255) << "style " << int(style);
  }
}

TEST(AvatarDefaultsTest, ColorIsUniform) {
  for (uint32_t size : {1u, 2u, 80u, 333u}) {
    EXPECT_TRUE(IsUniform(Render(DefaultStyle::kColor, kMd5, size)));
  }
}

TEST(AvatarDefaultsTest, InitialsAreDrawnCentred) {
  constexpr uint32_t kSize = 256;
  for (std::string text : {"AL", "W", "JQ", "7", "GQS", "L", "IT"}) {
    SCOPED_TRACE(text);
    const Image img = Render(DefaultStyle::kInitials, kMd5, kSize, text);
    const auto bg = PixelAt(img, 0, 0);
    uint32_t min_x = kSize, min_y = kSize, max_x = 0, max_y = 0, ink = 0;
    for (uint32_t y = 0; y < kSize; ++y)
      for (uint32_t x = 0; x < kSize; ++x) {
        if (PixelAt(img, x, y) == bg) continue;
        ++ink;
        min_x = std::min(min_x, x), max_x = std::max(max_x, x);
        min_y = std::min(min_y, y), max_y = std::max(max_y, y);
      }
    ASSERT_GT(ink, kSize * kSize / 50) << "the initials draw something";
    const double cx = (min_x + max_x + 1) / 2.0, cy = (min_y + max_y + 1) / 2.0;
    EXPECT_NEAR(cx, kSize / 2.0, kSize * 0.03);
    EXPECT_NEAR(cy, kSize / 2.0, kSize * 0.03);
    EXPECT_EQ(PixelAt(img, (min_x + max_x) / 2, min_y + 1)[3], 255);
  }
}

TEST(AvatarDefaultsTest, InitialsInkIsWhiteOnAColouredBackground) {
  const Image img = Render(DefaultStyle::kInitials, kSha256, 200, "H");
  // H's crossbar crosses the centre.
  EXPECT_EQ(PixelAt(img, 100, 100), (std::array<uint8_t, 4>{250, 250, 250, 255}));
  const auto bg = PixelAt(img, 0, 0);
  EXPECT_LT(bg[0] + bg[1] + bg[2], 3 * 180) << "dark enough for white text";
}

TEST(AvatarDefaultsTest, NoDrawableInitialsGiveThePlainBackground) {
  const Image drawn = Render(DefaultStyle::kInitials, kMd5, 80, "AL");
  for (std::string text : {"", "?!", "\xc3\xa9"}) {
    const Image plain = Render(DefaultStyle::kInitials, kMd5, 80, text);
    EXPECT_TRUE(IsUniform(plain)) << text;
    EXPECT_EQ(PixelAt(plain, 0, 0), PixelAt(drawn, 0, 0)) << "same background colour";
  }
  // Undrawable characters are skipped, lower case is drawn as capitals.
  EXPECT_EQ(Render(DefaultStyle::kInitials, kMd5, 80, "a?l").pixels, drawn.pixels);
}

TEST(AvatarDefaultsTest, InitialsForFollowsGravatarRules) {
  EXPECT_EQ(InitialsFor("", "Ada King Lovelace"), "AL");
  EXPECT_EQ(InitialsFor("", "cher"), "C");
  EXPECT_EQ(InitialsFor("", "  ada   lovelace  "), "AL");
  EXPECT_EQ(InitialsFor("", "grace\thopper"), "GH");
  EXPECT_EQ(InitialsFor("jd", "Ada Lovelace"), "JD");
  EXPECT_EQ(InitialsFor("abcd", ""), "ABC");
  EXPECT_EQ(InitialsFor("x1", ""), "X1");
  EXPECT_EQ(InitialsFor("j.r", ""), "JR");
  EXPECT_EQ(InitialsFor("\xc3\xa9\xc3\xa9\xc3\xa9z", "Ada"), "A")
      << "the first 3 characters are code points, none drawable: the name decides";
  EXPECT_EQ(InitialsFor("", "\xc3\x89mile Zola"), "Z");
  EXPECT_EQ(InitialsFor("", "\xe6\x9d\x8e \xe5\xb0\x8f\xe9\xbe\x99"), "");
  EXPECT_EQ(InitialsFor("", ""), "");
  EXPECT_EQ(InitialsFor("  ", "   "), "");
}

// pixel(x, y) == pixel(size - 1 - x, y) for every pixel.
bool IsMirrorSymmetric(const Image& img) {
  for (uint32_t y = 0; y < img.height; ++y)
    for (uint32_t x = 0; x < img.width / 2; ++x)
      if (PixelAt(img, x, y) != PixelAt(img, img.width - 1 - x, y)) return false;
  return true;
}

TEST(AvatarDefaultsTest, IdenticonAndRetroAreMirrorSymmetric) {
  for (DefaultStyle style : {DefaultStyle::kIdenticon, DefaultStyle::kRetro}) {
    for (uint32_t size : {1u, 2u, 7u, 80u, 81u, 255u}) {
      for (int i = 0; i < 8; ++i) {
        std::string seed = kSha256;
        seed[5] = static_cast<char>(i);
        const Image img = Render(style, seed, size);
        EXPECT_TRUE(IsMirrorSymmetric(img)) << "style " << int(style) << " size " << size;
        if (size >= 80) {
          EXPECT_FALSE(IsUniform(img));
        }
      }
    }
  }
}

TEST(AvatarDefaultsTest, IdenticonUsesTwoColoursInWholePixelCells) {
  const Image img = Render(DefaultStyle::kIdenticon, kMd5, 120);
  std::set<std::array<uint8_t, 4>> colours;
  for (uint32_t y = 0; y < img.height; ++y)
    for (uint32_t x = 0; x < img.width; ++x) colours.insert(PixelAt(img, x, y));
  EXPECT_EQ(colours.size(), 2u) << "no blurred edges";
}

TEST(AvatarDefaultsTest, VectorStylesHaveAntiAliasedEdges) {
  for (DefaultStyle style : {DefaultStyle::kMysteryPerson, DefaultStyle::kMonsterId,
                             DefaultStyle::kWavatar, DefaultStyle::kRobohash}) {
    const Image img = Render(style, kMd5, 200);
    std::set<std::array<uint8_t, 4>> colours;
    for (uint32_t y = 0; y < img.height; ++y)
      for (uint32_t x = 0; x < img.width; ++x) colours.insert(PixelAt(img, x, y));
    EXPECT_GT(colours.size(), 20u) << "style " << int(style) << ": edges blend";
  }
}

TEST(AvatarDefaultsTest, EveryStyleEncodesAsAValidPng) {
  for (DefaultStyle style : kAllStyles) {
    const Image img = Render(style, kSha256, 80);
    EncodeOptions options;
    options.format = Format::kPng;
    auto png = Encode(img, options);
    ASSERT_TRUE(png.ok()) << png.status().ToString();
    auto decoded = Decode(std::span<const char>(png->data(), png->size()));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->header.format, Format::kPng);
    EXPECT_EQ(decoded->image.width, 80u);
    ASSERT_EQ(decoded->image.channels, 4);
    EXPECT_EQ(decoded->image.pixels, img.pixels) << "style " << int(style);
  }
}

TEST(AvatarDefaultsTest, StyleNamesFollowGravatar) {
  EXPECT_EQ(DefaultStyleFromName("mp"), DefaultStyle::kMysteryPerson);
  EXPECT_EQ(DefaultStyleFromName("mm"), DefaultStyle::kMysteryPerson);
  EXPECT_EQ(DefaultStyleFromName("identicon"), DefaultStyle::kIdenticon);
  EXPECT_EQ(DefaultStyleFromName("monsterid"), DefaultStyle::kMonsterId);
  EXPECT_EQ(DefaultStyleFromName("wavatar"), DefaultStyle::kWavatar);
  EXPECT_EQ(DefaultStyleFromName("retro"), DefaultStyle::kRetro);
  EXPECT_EQ(DefaultStyleFromName("robohash"), DefaultStyle::kRobohash);
  EXPECT_EQ(DefaultStyleFromName("blank"), DefaultStyle::kBlank);
  EXPECT_EQ(DefaultStyleFromName("initials"), DefaultStyle::kInitials);
  EXPECT_EQ(DefaultStyleFromName("color"), DefaultStyle::kColor);
  EXPECT_EQ(DefaultStyleFromName("404"), std::nullopt);
  EXPECT_EQ(DefaultStyleFromName("https://example.com/a.png"), std::nullopt);
  EXPECT_EQ(DefaultStyleFromName("MP"), std::nullopt);
}

}  // namespace
}  // namespace glint::codec
