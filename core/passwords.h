// Password hashing with libsodium's Argon2id (crypto_pwhash_str): slow and memory-hard on
// purpose. Each call costs `memlimit` bytes and tens of milliseconds, so callers run it on
// the blocking pool, never on an event loop. Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace glint::core {

inline constexpr size_t kMinPasswordBytes = 8;
inline constexpr size_t kMaxPasswordBytes = 1024;  // bounds the KDF input

struct KdfParams {
  uint64_t opslimit;
  size_t memlimit;  // bytes
};

// libsodium's INTERACTIVE limits (2 passes, 64 MiB): the default.
KdfParams InteractiveKdf();

// Refuses (kInvalidArgument, "weak_password") passwords outside the length bounds.
Status CheckPasswordPolicy(std::string_view password);

// The encoded "$argon2id$..." string to store. kInternal when libsodium runs out of memory.
Result<std::string> HashPassword(std::string_view password, const KdfParams& params);

// True when `password` matches `stored`. Constant-time in the comparison.
bool VerifyPassword(std::string_view stored, std::string_view password);

}  // namespace glint::core
