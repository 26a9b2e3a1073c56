#include "core/passwords.h"

#include <sodium.h>

#include <cstdlib>
#include <mutex>

namespace glint::core {
namespace {

void InitSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness: refuse to run at all
  });
}

}  // namespace

KdfParams InteractiveKdf() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

Status CheckPasswordPolicy(std::string_view password) {
  if (password.size() < kMinPasswordBytes)
    return InvalidArgument("password must be at least 8 bytes", "weak_password");
  if (password.size() > kMaxPasswordBytes)
    return InvalidArgument("password must be at most 1024 bytes", "weak_password");
  return Status::Ok();
}

Result<std::string> HashPassword(std::string_view password, const KdfParams& params) {
  InitSodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.opslimit, params.memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Internal("password hashing ran out of memory");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view stored, std::string_view password) {
  InitSodium();
  std::string z(stored);  // crypto_pwhash_str_verify wants a NUL-terminated string
  return crypto_pwhash_str_verify(z.c_str(), password.data(), password.size()) == 0;
}

}  // namespace glint::core
