#include "core/upload_signer.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace glint::core {
namespace {

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-test-key";
constexpr int64_t kNow = 1'700'000'000;

UploadGrant SampleGrant() { return {"00112233445566778899aabbccddeeff", 42, kNow + 900, 1 << 20}; }

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void ExpectBadSignature(const Status& s) {
  EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
  EXPECT_EQ(s.reason(), "bad_signature");
}

TEST(UploadSignerTest, SignThenVerifyRoundTrips) {
  UploadSigner signer(kKey);
  UploadGrant grant = SampleGrant();
  std::string sig = signer.Sign(grant);
  EXPECT_EQ(sig.size(), 64u);  // hex of a 32-byte HMAC-SHA256
  EXPECT_TRUE(IsLowerHex(sig)) << sig;
  Status s = signer.Verify(grant, sig, kNow);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(UploadSignerTest, SigningIsDeterministic) {
  UploadSigner a(kKey), b(kKey);
  EXPECT_EQ(a.Sign(SampleGrant()), a.Sign(SampleGrant()));
  EXPECT_EQ(a.Sign(SampleGrant()), b.Sign(SampleGrant()));
}

TEST(UploadSignerTest, TamperedUploadIdIsBadSignature) {
  UploadSigner signer(kKey);
  UploadGrant grant = SampleGrant();
  std::string sig = signer.Sign(grant);
  grant.upload_id[0] = '1';
  ExpectBadSignature(signer.Verify(grant, sig, kNow));
}

TEST(UploadSignerTest, TamperedUserIsBadSignature) {
  UploadSigner signer(kKey);
  UploadGrant grant = SampleGrant();
  std::string sig = signer.Sign(grant);
  grant.user_id = 43;
  ExpectBadSignature(signer.Verify(grant, sig, kNow));
}

TEST(UploadSignerTest, TamperedExpiresIsBadSignature) {
  UploadSigner signer(kKey);
  UploadGrant grant = SampleGrant();
  std::string sig = signer.Sign(grant);
  grant.expires += 3600;  // extending the URL's life must not be possible
  ExpectBadSignature(signer.Verify(grant, sig, kNow));
}

TEST(UploadSignerTest, TamperedMaxBytesIsBadSignature) {
  UploadSigner signer(kKey);
  UploadGrant grant = SampleGrant();
  std::string sig = signer.Sign(grant);
  grant.max_bytes *= 2;
  ExpectBadSignature(signer.Verify(grant, sig, kNow));
}

TEST(UploadSignerTest, TamperedSignatureIsBadSignature) {
  UploadSigner signer(kKey);
  UploadGrant grant = SampleGrant();
  const std::string sig = signer.Sign(grant);

  for (size_t pos : {size_t{0}, sig.size() / 2, sig.size() - 1}) {
    std::string flipped = sig;
    flipped[pos] = flipped[pos] == '0' ? '1' : '0';
    ExpectBadSignature(signer.Verify(grant, flipped, kNow));
  }
  ExpectBadSignature(signer.Verify(grant, sig.substr(0, sig.size() - 1), kNow));
  ExpectBadSignature(signer.Verify(grant, sig + "0", kNow));
  ExpectBadSignature(signer.Verify(grant, sig.substr(0, 32), kNow));
  ExpectBadSignature(signer.Verify(grant, "", kNow));
}

TEST(UploadSignerTest, BadSignatureIsReportedBeforeExpiry) {
  UploadSigner signer(kKey);
  UploadGrant grant = SampleGrant();
  std::string sig = signer.Sign(grant);
  grant.user_id = 7;
  ExpectBadSignature(signer.Verify(grant, sig, grant.expires + 1));
}

TEST(UploadSignerTest, ExpiresAtTheExpiryInstant) {
  UploadSigner signer(kKey);
  UploadGrant grant = SampleGrant();
  std::string sig = signer.Sign(grant);

  EXPECT_TRUE(signer.Verify(grant, sig, grant.expires - 1).ok());

  Status at = signer.Verify(grant, sig, grant.expires);
  EXPECT_EQ(at.code(), Code::kPermissionDenied);
  EXPECT_EQ(at.reason(), "upload_expired");

  Status after = signer.Verify(grant, sig, grant.expires + 1000);
  EXPECT_EQ(after.code(), Code::kPermissionDenied);
  EXPECT_EQ(after.reason(), "upload_expired");
}

TEST(UploadSignerTest, DifferentKeysGiveDifferentSignatures) {
  UploadSigner a(kKey);
  UploadSigner b(std::string(kKey) + "!");
  UploadGrant grant = SampleGrant();
  std::string sig_a = a.Sign(grant);
  std::string sig_b = b.Sign(grant);
  EXPECT_NE(sig_a, sig_b);
  ExpectBadSignature(b.Verify(grant, sig_a, kNow));
  ExpectBadSignature(a.Verify(grant, sig_b, kNow));
}

TEST(UploadSignerTest, NewUploadIdIs32LowerHexCharsAndUnique) {
  std::string a = NewUploadId();
  std::string b = NewUploadId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(b.size(), 32u);
  EXPECT_TRUE(IsLowerHex(a)) << a;
  EXPECT_TRUE(IsLowerHex(b)) << b;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace glint::core
