// Pre-signed upload URLs, in the manner of an S3 pre-signed PUT: the server signs the
// grant's fields with HMAC-SHA256 under a secret key, and a PUT carrying the fields and the
// signature needs no other credentials until it expires.
//
// Canonical string signed (fields in this order, '\n'-separated):
//   "glint-upload-v1", upload_id, user_id, expires (unix seconds), max_bytes
// Thread-safety: const methods; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace glint::core {

struct UploadGrant {
  std::string upload_id;  // 32 lower-case hex chars (128 random bits)
  uint64_t user_id = 0;
  int64_t expires = 0;     // unix seconds
  uint64_t max_bytes = 0;  // the PUT body may not exceed this
};

class UploadSigner {
 public:
  // `key` is the raw secret (at least 32 bytes).
  explicit UploadSigner(std::string key);

  // Hex HMAC-SHA256 of the grant's canonical string.
  std::string Sign(const UploadGrant& grant) const;

  // OK when `signature_hex` is the grant's signature and `now` is before `expires`.
  // Errors: kPermissionDenied "bad_signature" (checked first, in constant time) or
  // "upload_expired".
  Status Verify(const UploadGrant& grant, std::string_view signature_hex, int64_t now) const;

 private:
  std::string key_;
};

// Lower-case hex HMAC-SHA256 of `data` under `key` (OpenSSL).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// 128 random bits as 32 hex chars (libsodium randombytes).
std::string NewUploadId();

}  // namespace glint::core
