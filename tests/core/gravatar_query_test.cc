// Gravatar's avatar URL parameters as core/gravatar.h reads them: both spellings of each,
// Gravatar's documented values, out-of-range sizes and refused values.
#include "core/gravatar.h"

#include <gtest/gtest.h>

namespace glint::core {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

Result<AvatarQuery> Parse(Params p) { return ParseAvatarQuery(p, TransformLimits{}); }

TEST(AvatarQueryTest, DefaultsAreGravatars) {
  auto q = Parse({});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->size, 80u);
  EXPECT_EQ(q->transform.width, 80u);
  EXPECT_EQ(q->transform.height, 80u);
  EXPECT_EQ(q->transform.fit, Fit::kCover) << "a square, cropped from the centre";
  EXPECT_FALSE(q->has_default);
  EXPECT_FALSE(q->force_default);
  EXPECT_EQ(q->max_rating, 0) << "g";
}

TEST(AvatarQueryTest, ShortAndLongSpellingsMeanTheSame) {
  auto short_form = Parse({{"s", "200"}, {"d", "identicon"}, {"f", "y"}, {"r", "pg"}});
  auto long_form =
      Parse({{"size", "200"}, {"default", "identicon"}, {"forcedefault", "y"}, {"rating", "PG"}});
  for (auto* q : {&short_form, &long_form}) {
    ASSERT_TRUE(q->ok()) << q->status().ToString();
    EXPECT_EQ((*q)->size, 200u);
    EXPECT_TRUE((*q)->has_default);
    EXPECT_EQ((*q)->fallback.kind, AvatarDefault::Kind::kGenerated);
    EXPECT_EQ((*q)->fallback.style, codec::DefaultStyle::kIdenticon);
    EXPECT_TRUE((*q)->force_default);
    EXPECT_EQ((*q)->max_rating, 1);
  }
  EXPECT_EQ(short_form->transform.CanonicalKey(), long_form->transform.CanonicalKey());
  EXPECT_FALSE(Parse({{"s", "20"}, {"size", "30"}}).ok()) << "one size, not two";
}

TEST(AvatarQueryTest, SizesOutOfRangeAreClampedNonNumbersRefused) {
  EXPECT_EQ(Parse({{"s", "0"}})->size, 1u);
  EXPECT_EQ(Parse({{"s", "-5"}})->size, 1u);
  EXPECT_EQ(Parse({{"s", "2048"}})->size, 2048u);
  EXPECT_EQ(Parse({{"s", "5000"}})->size, 2048u);
  EXPECT_EQ(Parse({{"s", "99999999999999999999999"}})->size, 2048u);
  for (const char* bad : {"", "big", "12px", "1.5", "0x20"}) {
    auto q = Parse({{"s", bad}});
    ASSERT_FALSE(q.ok()) << bad;
    EXPECT_EQ(q.status().reason(), "invalid_parameter");
    EXPECT_NE(q.status().message().find("'s'"), std::string::npos) << q.status().message();
  }
}

TEST(AvatarQueryTest, EveryGravatarDefaultIsKnown) {
  const std::pair<const char*, codec::DefaultStyle> styles[] = {
      {"mp", codec::DefaultStyle::kMysteryPerson},
      {"mm", codec::DefaultStyle::kMysteryPerson},
      {"identicon", codec::DefaultStyle::kIdenticon},
      {"monsterid", codec::DefaultStyle::kMonsterId},
      {"wavatar", codec::DefaultStyle::kWavatar},
      {"retro", codec::DefaultStyle::kRetro},
      {"robohash", codec::DefaultStyle::kRobohash},
      {"blank", codec::DefaultStyle::kBlank},
      {"initials", codec::DefaultStyle::kInitials},
      {"color", codec::DefaultStyle::kColor}};
  for (auto [name, style] : styles) {
    auto d = ParseAvatarDefault(name);
    ASSERT_TRUE(d.ok()) << name;
    EXPECT_EQ(d->kind, AvatarDefault::Kind::kGenerated);
    EXPECT_EQ(d->style, style) << name;
  }
  EXPECT_EQ(ParseAvatarDefault("404")->kind, AvatarDefault::Kind::kNotFound);
  auto url = ParseAvatarDefault("https://example.com/images/avatar.jpg?x=1");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->kind, AvatarDefault::Kind::kRedirect);
  EXPECT_EQ(url->url, "https://example.com/images/avatar.jpg?x=1");
  for (const char* bad : {"ftp://example.com/a.png", "javascript:alert(1)", "file:///etc/passwd",
                          "//example.com/a.png", "smiley", "http://"}) {
    auto d = ParseAvatarDefault(bad);
    EXPECT_FALSE(d.ok()) << bad;
  }
}

TEST(AvatarQueryTest, RatingsAndForceDefault) {
  EXPECT_EQ(Parse({{"r", "g"}})->max_rating, 0);
  EXPECT_EQ(Parse({{"r", "x"}})->max_rating, 3);
  EXPECT_EQ(Parse({{"rating", "R"}})->max_rating, 2);
  EXPECT_FALSE(Parse({{"r", "nc17"}}).ok());
  EXPECT_TRUE(Parse({{"f", "yes"}})->force_default);
  EXPECT_FALSE(Parse({{"f", "n"}})->force_default);
  EXPECT_FALSE(Parse({{"forcedefault", "maybe"}}).ok());
}

TEST(AvatarQueryTest, TransformsCombineAndInitialsAreChosen) {
  auto q =
      Parse({{"s", "64"}, {"fm", "webp"}, {"q", "70"}, {"dpr", "2"}, {"name", "Ada Lovelace"}});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->transform.width, 128u) << "dpr multiplies the size";
  EXPECT_EQ(q->transform.format, OutputFormat::kWebp);
  EXPECT_EQ(q->transform.quality, 70);
  EXPECT_EQ(q->initials, "AL");
  EXPECT_EQ(Parse({{"initials", "jd"}, {"name", "Ada Lovelace"}})->initials, "JD");
  auto bad = Parse({{"fm", "bmp"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().reason(), "invalid_parameter");
  auto busted = Parse({{"s", "64"}, {"_", "1699999999"}, {"forcedefault", "n"}});
  ASSERT_TRUE(busted.ok()) << "Gravatar ignores parameters it does not know";
  EXPECT_EQ(busted->transform.CanonicalKey(), Parse({{"s", "64"}})->transform.CanonicalKey());
}

TEST(AvatarQueryTest, GeneratedKeysNameThePixelsAndEncoding) {
  auto a = Parse({{"s", "40"}});
  auto b = Parse({{"size", "40"}, {"d", "retro"}});
  auto c = Parse({{"s", "41"}});
  const std::string seed(16, '\x01');
  EXPECT_EQ(GeneratedDefaultKey(codec::DefaultStyle::kRetro, seed, a->transform, ""),
            GeneratedDefaultKey(codec::DefaultStyle::kRetro, seed, b->transform, ""));
  EXPECT_NE(GeneratedDefaultKey(codec::DefaultStyle::kRetro, seed, a->transform, ""),
            GeneratedDefaultKey(codec::DefaultStyle::kRetro, seed, c->transform, ""));
  EXPECT_NE(GeneratedDefaultKey(codec::DefaultStyle::kInitials, seed, a->transform, "AB"),
            GeneratedDefaultKey(codec::DefaultStyle::kInitials, seed, a->transform, "CD"));
  const std::string other(16, '\x02');
  EXPECT_NE(GeneratedDefaultKey(codec::DefaultStyle::kRetro, seed, a->transform, ""),
            GeneratedDefaultKey(codec::DefaultStyle::kRetro, other, a->transform, ""));
  EXPECT_EQ(GeneratedDefaultKey(codec::DefaultStyle::kMysteryPerson, seed, a->transform, ""),
            GeneratedDefaultKey(codec::DefaultStyle::kMysteryPerson, other, a->transform, ""))
      << "the silhouette is the same for every hash: one cache entry, one ETag";
  EXPECT_EQ(GeneratedDefaultKey(codec::DefaultStyle::kBlank, seed, a->transform, ""),
            GeneratedDefaultKey(codec::DefaultStyle::kBlank, other, a->transform, ""));
  auto rendered = RenderDefaultAvatar(codec::DefaultStyle::kIdenticon, seed, c->transform, "");
  ASSERT_TRUE(rendered.ok()) << rendered.status().ToString();
  EXPECT_EQ(rendered->format, codec::Format::kPng);
  EXPECT_EQ(rendered->width, 41u);
  EXPECT_EQ(rendered->height, 41u);
}

}  // namespace
}  // namespace glint::core
