#include "core/upload_signer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <cstdlib>

#include "base/hex.h"

namespace glint::core {

UploadSigner::UploadSigner(std::string key) : key_(std::move(key)) {}

std::string UploadSigner::Sign(const UploadGrant& grant) const {
  std::string canonical = "glint-upload-v1\n" + grant.upload_id + "\n" +
                          std::to_string(grant.user_id) + "\n" + std::to_string(grant.expires) +
                          "\n" + std::to_string(grant.max_bytes);
  return HmacSha256Hex(key_, canonical);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len)) {
    std::abort();  // only fails on allocation failure inside OpenSSL
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

Status UploadSigner::Verify(const UploadGrant& grant, std::string_view signature_hex,
                            int64_t now) const {
  std::string expected = Sign(grant);
  if (signature_hex.size() != expected.size() ||
      CRYPTO_memcmp(expected.data(), signature_hex.data(), expected.size()) != 0) {
    return PermissionDenied("the upload URL's signature does not match its parameters",
                            "bad_signature");
  }
  if (now >= grant.expires) {
    return PermissionDenied("the upload URL has expired; prepare a new upload", "upload_expired");
  }
  return Status::Ok();
}

std::string NewUploadId() {
  unsigned char raw[16];
  randombytes_buf(raw, sizeof raw);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

}  // namespace glint::core
