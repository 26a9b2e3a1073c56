#include "core/email.h"

#include <openssl/evp.h>

#include <algorithm>

#include "base/hex.h"

namespace glint::core {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure inside OpenSSL; treat that as fatal.
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) std::abort();
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

Result<std::string> NormalizeEmail(std::string_view raw) {
  while (!raw.empty() && IsSpace(raw.front())) raw.remove_prefix(1);
  while (!raw.empty() && IsSpace(raw.back())) raw.remove_suffix(1);
  auto invalid = [](std::string msg) { return InvalidArgument(std::move(msg), "invalid_email"); };
  if (raw.empty()) return invalid("email is empty");
  if (raw.size() > kMaxEmailBytes) return invalid("email is longer than 254 bytes");
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || IsSpace(c))
      return invalid("email contains white space or control characters");
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  size_t at = out.find('@');
  if (at == std::string::npos || out.find('@', at + 1) != std::string::npos)
    return invalid("email must contain exactly one '@'");
  std::string_view local(out.data(), at), domain(out.data() + at + 1, out.size() - at - 1);
  if (local.empty() || domain.empty()) return invalid("email needs text before and after '@'");
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.')
    return invalid("email domain must contain a dot and not start or end with one");
  return out;
}

EmailHashes HashEmail(std::string_view normalized) {
  return {Digest(EVP_md5(), normalized), Digest(EVP_sha256(), normalized)};
}

std::string Sha256(std::string_view data) { return Digest(EVP_sha256(), data); }

std::optional<std::string> ParseEmailHash(std::string_view hex) {
  if (hex.size() != 32 && hex.size() != 64) return std::nullopt;
  return HexDecode(hex);
}

}  // namespace glint::core
