#include "http/range.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace glint::http {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// All of `s` as a decimal number; nullopt when empty, not digits, or too large.
std::optional<uint64_t> Number(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

RangeDecision DecideRange(std::string_view range_header, std::string_view if_range,
                          std::string_view etag, uint64_t size) {
  RangeDecision whole;
  if (range_header.empty()) return whole;
  // If-Range with an ETag: strong comparison; a date (or a weak tag) never matches ours.
  if (!if_range.empty() && Trim(if_range) != etag) return whole;
  const size_t eq = range_header.find('=');
  if (eq == std::string_view::npos || !EqualsIgnoreCase(Trim(range_header.substr(0, eq)), "bytes"))
    return whole;
  const std::string_view spec = Trim(range_header.substr(eq + 1));
  if (spec.find(',') != std::string_view::npos) return whole;  // several ranges: not served
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  const std::string_view a = Trim(spec.substr(0, dash)), b = Trim(spec.substr(dash + 1));
  RangeDecision out;
  out.kind = RangeDecision::kPartial;
  if (a.empty()) {  // suffix: the last N bytes
    auto n = Number(b);
    if (!n) return whole;
    if (*n == 0 || size == 0) return {RangeDecision::kUnsatisfiable, {}};
    out.range = {size - std::min(*n, size), size - 1};
    return out;
  }
  auto first = Number(a);
  if (!first) return whole;
  std::optional<uint64_t> last = b.empty() ? std::optional<uint64_t>(UINT64_MAX) : Number(b);
  if (!last || *last < *first) return whole;
  if (*first >= size) return {RangeDecision::kUnsatisfiable, {}};
  out.range = {*first, std::min(*last, size - 1)};
  return out;
}

}  // namespace glint::http
