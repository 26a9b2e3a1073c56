#include "core/email.h"

#include <cctype>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "base/hex.h"

namespace glint::core {
namespace {

// Gravatar's documented example address and its digests (md5 from Gravatar's docs; sha256
// from `printf %s myemailaddress@example.com | sha256sum`).
constexpr char kGravatarExample[] = " MyEmailAddress@example.com ";
constexpr char kGravatarNormalized[] = "myemailaddress@example.com";
constexpr char kGravatarMd5[] = "0bc83cb571cd1c50ba6f3e8a78ef1346";
constexpr char kGravatarSha256[] =
    "84059b07d4be67b806386c0aad8070a23f18836bbaae342275dc0a83414c32ee";

void ExpectInvalidEmail(std::string_view raw) {
  auto r = NormalizeEmail(raw);
  ASSERT_FALSE(r.ok()) << "accepted: \"" << raw << "\" as \"" << *r << "\"";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "invalid_email");
}

TEST(NormalizeEmailTest, TrimsWhiteSpaceAndLowerCases) {
  auto r = NormalizeEmail(kGravatarExample);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, kGravatarNormalized);

  auto tabs = NormalizeEmail("\t\r\n Alice.Smith+Tag@Mail.Example.ORG \n\v\f");
  ASSERT_TRUE(tabs.ok()) << tabs.status().ToString();
  EXPECT_EQ(*tabs, "alice.smith+tag@mail.example.org");
}

TEST(NormalizeEmailTest, AlreadyNormalizedIsUnchanged) {
  auto r = NormalizeEmail(kGravatarNormalized);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, kGravatarNormalized);
}

TEST(NormalizeEmailTest, GravatarExampleHashesToItsDocumentedDigests) {
  auto normalized = NormalizeEmail(kGravatarExample);
  ASSERT_TRUE(normalized.ok()) << normalized.status().ToString();
  EmailHashes h = HashEmail(*normalized);
  EXPECT_EQ(h.md5.size(), 16u);
  EXPECT_EQ(h.sha256.size(), 32u);
  EXPECT_EQ(HexEncode(h.md5), kGravatarMd5);
  EXPECT_EQ(HexEncode(h.sha256), kGravatarSha256);
}

TEST(NormalizeEmailTest, CaseVariantsHashAlike) {
  auto a = NormalizeEmail("Bob@Example.com");
  auto b = NormalizeEmail("  bob@EXAMPLE.COM");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(HashEmail(*a).md5, HashEmail(*b).md5);
  EXPECT_EQ(HashEmail(*a).sha256, HashEmail(*b).sha256);
}

TEST(NormalizeEmailTest, MissingAtIsRefused) { ExpectInvalidEmail("alice.example.com"); }

TEST(NormalizeEmailTest, TwoAtsAreRefused) { ExpectInvalidEmail("alice@bob@example.com"); }

TEST(NormalizeEmailTest, EmptyPartsAreRefused) {
  ExpectInvalidEmail("");
  ExpectInvalidEmail("   \t ");
  ExpectInvalidEmail("@example.com");
  ExpectInvalidEmail("alice@");
  ExpectInvalidEmail("@");
}

TEST(NormalizeEmailTest, DomainWithoutDotIsRefused) {
  ExpectInvalidEmail("alice@localhost");
  ExpectInvalidEmail("alice@example-com");
}

TEST(NormalizeEmailTest, InnerWhiteSpaceIsRefused) {
  ExpectInvalidEmail("alice smith@example.com");
  ExpectInvalidEmail("alice@exam ple.com");
  ExpectInvalidEmail("alice@example.com\tx");
}

TEST(NormalizeEmailTest, ControlCharactersAreRefused) {
  ExpectInvalidEmail(
      std::string("ali\x01"
                  "ce@example.com"));
  ExpectInvalidEmail(std::string("alice@example\x7f.com"));
  ExpectInvalidEmail(std::string("alice@exam\0ple.com", 18));
}

TEST(NormalizeEmailTest, LengthLimitIsInclusive) {
  const std::string domain = "@example.com";
  std::string longest = std::string(kMaxEmailBytes - domain.size(), 'a') + domain;
  ASSERT_EQ(longest.size(), kMaxEmailBytes);
  auto ok = NormalizeEmail(longest);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, longest);
  // Surrounding white space does not count towards the limit: it is trimmed first.
  EXPECT_TRUE(NormalizeEmail("  " + longest + "  ").ok());

  ExpectInvalidEmail("a" + longest);
}

TEST(ParseEmailHashTest, Md5HexInEitherCaseGivesRawDigest) {
  auto lower = ParseEmailHash(kGravatarMd5);
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(lower->size(), 16u);
  EXPECT_EQ(HexEncode(*lower), kGravatarMd5);

  auto upper = ParseEmailHash("0BC83CB571CD1C50BA6F3E8A78EF1346");
  ASSERT_TRUE(upper.has_value());
  EXPECT_EQ(*upper, *lower);
}

TEST(ParseEmailHashTest, Sha256HexInEitherCaseGivesRawDigest) {
  auto lower = ParseEmailHash(kGravatarSha256);
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(lower->size(), 32u);
  EXPECT_EQ(HexEncode(*lower), kGravatarSha256);

  std::string mixed = kGravatarSha256;
  for (size_t i = 0; i < mixed.size(); i += 2) mixed[i] = static_cast<char>(toupper(mixed[i]));
  auto parsed = ParseEmailHash(mixed);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, *lower);
}

TEST(ParseEmailHashTest, ParsedHashMatchesHashEmail) {
  EmailHashes h = HashEmail(kGravatarNormalized);
  EXPECT_EQ(ParseEmailHash(kGravatarMd5), h.md5);
  EXPECT_EQ(ParseEmailHash(kGravatarSha256), h.sha256);
}

TEST(ParseEmailHashTest, WrongLengthsAreRefused) {
  const std::string md5 = kGravatarMd5;
  const std::string sha = kGravatarSha256;
  EXPECT_EQ(ParseEmailHash(""), std::nullopt);
  EXPECT_EQ(ParseEmailHash(md5.substr(0, 31)), std::nullopt);
  EXPECT_EQ(ParseEmailHash(md5 + "0"), std::nullopt);
  EXPECT_EQ(ParseEmailHash(md5.substr(0, 30)), std::nullopt);
  EXPECT_EQ(ParseEmailHash(md5 + "00"), std::nullopt);  // 34: even, but neither digest
  EXPECT_EQ(ParseEmailHash(sha.substr(0, 63)), std::nullopt);
  EXPECT_EQ(ParseEmailHash(sha + "0"), std::nullopt);
  EXPECT_EQ(ParseEmailHash(sha + "00"), std::nullopt);
}

TEST(ParseEmailHashTest, NonHexIsRefused) {
  std::string md5 = kGravatarMd5;
  md5[5] = 'g';
  EXPECT_EQ(ParseEmailHash(md5), std::nullopt);

  std::string sha = kGravatarSha256;
  sha[63] = 'z';
  EXPECT_EQ(ParseEmailHash(sha), std::nullopt);

  EXPECT_EQ(ParseEmailHash(std::string(32, ' ')), std::nullopt);
  EXPECT_EQ(ParseEmailHash("0bc83cb571cd1c50ba6f3e8a78ef134-"), std::nullopt);
  EXPECT_EQ(ParseEmailHash("0x" + std::string(kGravatarMd5).substr(2)), std::nullopt);
}

}  // namespace
}  // namespace glint::core
