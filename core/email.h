// Email addresses as glint keeps them: normalised once at registration, then known to the
// rest of the system only through their MD5 and SHA-256 digests (Gravatar's two hash forms).
// Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace glint::core {

inline constexpr size_t kMaxEmailBytes = 254;  // RFC 5321 path limit

// Trims ASCII white space and lower-cases the address (what Gravatar hashes).
// Refuses (kInvalidArgument, "invalid_email") anything without exactly one '@' with text on
// both sides, a dot-free or empty domain, control characters or white space inside, or more
// than kMaxEmailBytes.
Result<std::string> NormalizeEmail(std::string_view raw);

struct EmailHashes {
  std::string md5;     // 16 raw bytes
  std::string sha256;  // 32 raw bytes
};

// Hashes an already-normalised address (OpenSSL EVP digests).
EmailHashes HashEmail(std::string_view normalized);

// The raw SHA-256 of any bytes (tokens are stored only as this).
std::string Sha256(std::string_view data);

// Parses the hash of an avatar URL: 32 (MD5) or 64 (SHA-256) hex characters, either case.
// Returns the raw digest bytes, nullopt for anything else.
std::optional<std::string> ParseEmailHash(std::string_view hex);

}  // namespace glint::core
