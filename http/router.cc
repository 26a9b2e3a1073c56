#include "http/router.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>

#include <boost/beast/http/field.hpp>
#include <set>

namespace glint::http {
namespace {

// Path segments as views into the path, without allocating. Routes have few segments; a
// path with more than kMaxSegments matches no route.
constexpr size_t kMaxSegments = 8;
struct Segments {
  std::array<std::string_view, kMaxSegments> items;
  size_t count = 0;
  bool overflow = false;
};

Segments Split(std::string_view path) {
  Segments out;
  size_t i = path.starts_with('/') ? 1 : 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (out.count == kMaxSegments) {
      out.overflow = true;
      break;
    }
    out.items[out.count++] = path.substr(i, j - i);
    i = j + 1;
  }
  return out;
}

bool IsParam(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

// Number of literal segments when `route` matches `segs`, or -1.
int MatchScore(const Route& route, const Segments& segs, PathParams* params) {
  if (segs.overflow || route.segments.size() != segs.count) return -1;
  int literals = 0;
  for (size_t i = 0; i < segs.count; ++i) {
    const std::string& pat = route.segments[i];
    if (IsParam(pat)) {
      if (segs.items[i].empty()) return -1;
      if (params)
        params->emplace_back(std::string_view(pat).substr(1, pat.size() - 2), segs.items[i]);
    } else if (pat == segs.items[i]) {
      ++literals;
    } else {
      return -1;
    }
  }
  return literals;
}

}  // namespace

std::string_view RequestContext::Param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

std::optional<uint64_t> RequestContext::DeclaredLength() const {
  auto it = request.find(bhttp::field::content_length);
  if (it == request.end()) return std::nullopt;
  std::string_view v = it->value();
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return n;
}

void Router::Add(bhttp::verb method, std::string pattern, uint64_t body_limit, Handler handler,
                 EarlyCheck early) {
  Route r{method, std::move(pattern), body_limit, std::move(handler), std::move(early), {}};
  Segments segs = Split(r.pattern);
  assert(!segs.overflow && "route pattern has too many segments");
  r.segments.assign(segs.items.begin(), segs.items.begin() + segs.count);
  routes_.push_back(std::move(r));
}

Router::Match Router::Find(bhttp::verb method, std::string_view path) const {
  if (method == bhttp::verb::head) method = bhttp::verb::get;
  Segments segs = Split(path);
  // Best score per method among the routes that match the path.
  const Route* best = nullptr;
  int best_score = -1;
  int best_any = -1;
  std::set<std::string> allowed;
  for (const Route& r : routes_) {
    int score = MatchScore(r, segs, nullptr);
    if (score < 0) continue;
    best_any = std::max(best_any, score);
    if (r.method == method && score > best_score) {
      best = &r;
      best_score = score;
    }
  }
  Match m;
  // A more specific path under another method wins over a catch-all for this method:
  // "POST /healthz" is a 405, not an avatar lookup.
  if (best && best_score >= best_any) {
    m.kind = Match::kFound;
    m.route = best;
    MatchScore(*best, segs, &m.params);
    return m;
  }
  if (best_any < 0) return m;
  for (const Route& r : routes_) {
    if (MatchScore(r, segs, nullptr) == best_any) {
      allowed.insert(std::string(bhttp::to_string(r.method)));
      if (r.method == bhttp::verb::get) allowed.insert("HEAD");
    }
  }
  m.kind = Match::kMethodNotAllowed;
  for (const auto& a : allowed) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += a;
  }
  return m;
}

}  // namespace glint::http
