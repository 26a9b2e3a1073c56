#include "core/transform.h"

#include <gtest/gtest.h>

namespace glint::core {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

Result<TransformSpec> Parse(const Params& p, std::span<const std::string_view> ignored = {}) {
  return ParseTransform(p, TransformLimits{}, ignored);
}

std::string Key(const Params& p) {
  auto spec = Parse(p);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? spec->CanonicalKey() : "";
}

void ExpectRefused(const Params& p, std::string_view names_parameter) {
  auto spec = Parse(p);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(spec.status().reason(), "invalid_parameter");
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string at -O2.
  std::string quoted = "'";
  quoted.append(names_parameter).append("'");
  EXPECT_NE(spec.status().message().find(quoted), std::string::npos) << spec.status().message();
}

TEST(TransformTest, NoParametersIsTheIdentity) {
  auto spec = Parse({});
  ASSERT_TRUE(spec.ok());
  EXPECT_TRUE(spec->IsIdentity());
  EXPECT_EQ(spec->CanonicalKey(), "");
}

TEST(TransformTest, OrderAndSpellingDoNotMatter) {
  EXPECT_EQ(Key({{"w", "32"}, {"fm", "webp"}}), Key({{"fm", "webp"}, {"w", "32"}}));
  EXPECT_EQ(Key({{"fm", "jpg"}}), Key({{"format", "jpeg"}}));
  EXPECT_EQ(Key({{"s", "80"}}), Key({{"size", "80"}}));
  EXPECT_EQ(Key({{"w", "10"}, {"h", "10"}, {"fit", "cover"}, {"gravity", "centre"}}),
            Key({{"h", "10"}, {"w", "10"}, {"fit", "cover"}}));
  EXPECT_EQ(Key({{"crop", "0.1,0.2,0.5,0.50"}}), Key({{"crop", ".1,.2,.5,.5"}}));
  EXPECT_EQ(Key({{"bg", "#fff"}}), Key({{"bg", "ffffff"}}));
}

TEST(TransformTest, GravatarSizeIsACoverSquare) {
  auto spec = Parse({{"s", "80"}});
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->width, 80u);
  EXPECT_EQ(spec->height, 80u);
  EXPECT_EQ(spec->fit, Fit::kCover);
  EXPECT_EQ(spec->CanonicalKey(), "w=80;h=80;fit=cover");
  EXPECT_EQ(Key({{"s", "80"}}), Key({{"w", "80"}, {"h", "80"}, {"fit", "cover"}}));
}

TEST(TransformTest, DprIsFoldedIntoPixels) {
  EXPECT_EQ(Key({{"w", "32"}, {"dpr", "2"}}), Key({{"w", "64"}}));
  EXPECT_EQ(Key({{"dpr", "3"}}), "") << "dpr without a size changes nothing";
  ExpectRefused({{"w", "3000"}, {"dpr", "2"}}, "dpr");
}

TEST(TransformTest, DefaultsAreLeftOutOfTheKey) {
  EXPECT_EQ(Key({{"w", "100"}, {"fit", "cover"}}), "w=100") << "fit is moot with one side";
  EXPECT_EQ(Key({{"w", "9"}, {"h", "9"}, {"fit", "inside"}, {"gravity", "north"}}),
            "w=9;h=9;fit=inside")
      << "gravity only matters for cover";
  EXPECT_EQ(Key({{"fm", "png"}, {"q", "50"}}), "fm=png") << "quality is moot for PNG";
  EXPECT_EQ(Key({{"rotate", "0"}, {"grayscale", "0"}}), "");
}

TEST(TransformTest, EveryParameterIsInTheKey) {
  EXPECT_EQ(Key({{"w", "10"},
                 {"h", "20"},
                 {"fit", "cover"},
                 {"g", "se"},
                 {"crop", "0,0,0.5,0.5"},
                 {"rotate", "90"},
                 {"flip", "vh"},
                 {"grayscale", ""},
                 {"blur", "1.50"},
                 {"sharpen", ""},
                 {"bg", "f00"},
                 {"fm", "webp"},
                 {"q", "75"},
                 {"enlarge", "1"}}),
            "w=10;h=20;fit=cover;g=se;enlarge=1;crop=0,0,0.5,0.5;rot=90;flip=hv;gray=1;blur=1.5;"
            "sharpen=1;bg=ff0000;fm=webp;q=75");
}

TEST(TransformTest, BadValuesNameTheirParameter) {
  ExpectRefused({{"w", "0"}}, "w");
  ExpectRefused({{"w", "-5"}}, "w");
  ExpectRefused({{"h", "99999"}}, "h");
  ExpectRefused({{"s", "abc"}}, "s");
  ExpectRefused({{"q", "101"}}, "q");
  ExpectRefused({{"fm", "gif"}}, "fm");
  ExpectRefused({{"fit", "squash"}}, "fit");
  ExpectRefused({{"gravity", "up"}}, "gravity");
  ExpectRefused({{"crop", "0,0,1"}}, "crop");
  ExpectRefused({{"crop", "0.6,0,0.5,1"}}, "crop");
  ExpectRefused({{"crop", "0,0,0,1"}}, "crop");
  ExpectRefused({{"rotate", "45"}}, "rotate");
  ExpectRefused({{"flip", "x"}}, "flip");
  ExpectRefused({{"bg", "zzz"}}, "bg");
  ExpectRefused({{"blur", "0.1"}}, "blur");
  ExpectRefused({{"dpr", "5"}}, "dpr");
  ExpectRefused({{"dpr", "nan"}}, "dpr");
  ExpectRefused({{"bogus", "1"}}, "bogus");
  ExpectRefused({{"progressive", "maybe"}}, "progressive");
  ExpectRefused({{"lossless", "2"}}, "lossless");
  ExpectRefused({{"filter", "bicubic-ish"}}, "filter");
}

TEST(TransformTest, EncoderOptionsAndFilterAreKeyedWhereTheyMatter) {
  EXPECT_EQ(Key({{"w", "50"}, {"filter", "cubic"}}), "w=50;filter=catmullrom");
  EXPECT_EQ(Key({{"w", "50"}, {"filter", "bilinear"}}), "w=50;filter=linear");
  EXPECT_EQ(Key({{"w", "50"}, {"filter", "lanczos"}}), "w=50") << "the default";
  EXPECT_EQ(Key({{"filter", "linear"}}), "") << "no resize, no filter";
  EXPECT_EQ(Key({{"fm", "jpeg"}, {"progressive", ""}}), "fm=jpeg;prog=1");
  EXPECT_EQ(Key({{"progressive", "1"}}), "prog=1") << "the source may be a JPEG";
  EXPECT_EQ(Key({{"fm", "png"}, {"progressive", "1"}}), "fm=png") << "moot for PNG";
  EXPECT_EQ(Key({{"fm", "webp"}, {"lossless", ""}, {"q", "60"}}), "fm=webp;lossless=1")
      << "quality is moot for lossless WebP";
  EXPECT_EQ(Key({{"fm", "jpeg"}, {"lossless", "1"}}), "fm=jpeg") << "moot for JPEG";
}

TEST(TransformTest, RepeatsAndConflictsAreRefused) {
  ExpectRefused({{"w", "1"}, {"w", "2"}}, "w");
  ExpectRefused({{"s", "1"}, {"size", "2"}}, "size");
  ExpectRefused({{"s", "10"}, {"w", "20"}}, "s");
}

TEST(TransformTest, IgnoredNamesAreAccepted) {
  std::string_view gravatar[] = {"d", "r", "f"};
  auto spec = Parse({{"s", "40"}, {"d", "identicon"}, {"r", "pg"}}, gravatar);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->CanonicalKey(), "w=40;h=40;fit=cover");
}

TEST(TransformTest, AutoFormatFollowsAccept) {
  auto spec = Parse({{"w", "64"}, {"fm", "auto"}});
  ASSERT_TRUE(spec.ok());
  TransformSpec webp = *spec, plain = *spec;
  bool vary = false;
  ResolveFormat(webp, "image/avif,image/webp,*/*", &vary);
  EXPECT_TRUE(vary);
  EXPECT_EQ(webp.CanonicalKey(), "w=64;fm=webp");
  bool vary2 = false;
  ResolveFormat(plain, "image/png,*/*", &vary2);
  EXPECT_TRUE(vary2);
  EXPECT_EQ(plain.CanonicalKey(), "w=64");
  bool vary3 = false;
  TransformSpec fixed = *Parse({{"fm", "png"}});
  ResolveFormat(fixed, "image/webp", &vary3);
  EXPECT_FALSE(vary3);
}

TEST(TransformTest, PipelineOptionsCarryEveryField) {
  auto spec = Parse({{"w", "64"},
                     {"h", "48"},
                     {"fit", "contain"},
                     {"gravity", "northeast"},
                     {"crop", "0.1,0.2,0.5,0.6"},
                     {"rotate", "90"},
                     {"flip", "hv"},
                     {"grayscale", "1"},
                     {"blur", "2"},
                     {"sharpen", "1.5"},
                     {"bg", "102030"},
                     {"enlarge", "1"},
                     {"fm", "webp"},
                     {"q", "75"},
                     {"progressive", "1"},
                     {"lossless", "1"},
                     {"filter", "catmullrom"}});
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  codec::HeaderLimits limits;
  limits.max_pixels = 1234;
  codec::PipelineOptions o = ToPipelineOptions(*spec, limits);
  EXPECT_EQ(o.geometry.width, 64u);
  EXPECT_EQ(o.geometry.height, 48u);
  EXPECT_EQ(o.geometry.fit, codec::FitMode::kContain);
  EXPECT_EQ(o.geometry.gravity, codec::Anchor::kNorthEast);
  EXPECT_DOUBLE_EQ(o.geometry.crop_x, 0.1);
  EXPECT_DOUBLE_EQ(o.geometry.crop_y, 0.2);
  EXPECT_DOUBLE_EQ(o.geometry.crop_w, 0.5);
  EXPECT_DOUBLE_EQ(o.geometry.crop_h, 0.6);
  EXPECT_TRUE(o.geometry.enlarge);
  EXPECT_EQ(o.rotate, 90);
  EXPECT_TRUE(o.flip_horizontal);
  EXPECT_TRUE(o.flip_vertical);
  EXPECT_TRUE(o.grayscale);
  EXPECT_DOUBLE_EQ(o.blur, 2);
  EXPECT_DOUBLE_EQ(o.sharpen, 1.5);
  EXPECT_EQ(o.background, 0x102030u);
  EXPECT_EQ(o.format, codec::Format::kWebp);
  EXPECT_EQ(o.quality, 75);
  EXPECT_TRUE(o.progressive);
  EXPECT_TRUE(o.lossless);
  EXPECT_EQ(o.filter, codec::Filter::kCatmullRom);
  EXPECT_EQ(o.limits.max_pixels, 1234u);

  codec::PipelineOptions plain = ToPipelineOptions(*Parse({{"w", "10"}}), {});
  EXPECT_EQ(plain.format, codec::Format::kUnknown);  // the source's format
  EXPECT_EQ(plain.quality, 80);
}

}  // namespace
}  // namespace glint::core
