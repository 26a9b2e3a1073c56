#include "http/api_util.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

#include "codec/image_header.h"

namespace glint::http {

namespace json = boost::json;

Response TooManyRequests(std::string_view code, std::string message,
                         std::chrono::seconds retry_after) {
  Response res = ErrorResponse(bhttp::status::too_many_requests, code, message);
  res.set(bhttp::field::retry_after, std::to_string(std::max<int64_t>(retry_after.count(), 1)));
  return res;
}

std::string IsoTime(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 20) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::string_view> Query::Get(std::string_view key) const {
  for (auto it = items.rbegin(); it != items.rend(); ++it)
    if (it->first == key) return it->second;
  return std::nullopt;
}

Query ParseQuery(const RequestContext& ctx) {
  Query q;
  for (auto p : ctx.url.params())
    q.items.emplace_back(p.key, p.has_value ? p.value : std::string());
  return q;
}

Result<uint64_t> RequireU64(const Query& q, std::string_view key) {
  auto v = q.Get(key);
  if (!v)
    return InvalidArgument("missing query parameter '" + std::string(key) + "'", "invalid_query");
  auto n = ParseU64(*v);
  if (!n)
    return InvalidArgument(
        "query parameter '" + std::string(key) + "' must be a non-negative integer",
        "invalid_query");
  return *n;
}

Result<uint64_t> PathId(const RequestContext& ctx, std::string_view name) {
  auto n = ParseU64(ctx.Param(name));
  if (!n || *n == 0) return NotFound("no such " + std::string(name), "not_found");
  return *n;
}

Result<core::Principal> Authorize(core::Service& service, const RequestContext& ctx) {
  auto it = ctx.request.find(bhttp::field::authorization);
  if (it == ctx.request.end()) return core::Principal::Anonymous();
  std::string_view value = it->value();
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() <= kBearer.size() ||
      !boost::beast::iequals(value.substr(0, kBearer.size()), kBearer))
    return Unauthenticated("use 'Authorization: Bearer <token>'", "invalid_token");
  return service.Authenticate(value.substr(kBearer.size()));
}

Result<core::Principal> RequireLogin(core::Service& service, const RequestContext& ctx) {
  GLINT_ASSIGN_OR_RETURN(core::Principal p, Authorize(service, ctx));
  if (!p.authenticated())
    return Unauthenticated("this needs 'Authorization: Bearer <token>'", "login_required");
  return p;
}

// A JSON object body, whatever Content-Type claims (curl -d says form-urlencoded): image
// bytes never start with '{', so the bytes decide.
bool LooksLikeJson(std::string_view body) {
  size_t i = body.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && body[i] == '{';
}

Result<json::object> ParseJsonBody(const RequestContext& ctx, uint64_t max_bytes) {
  if (ctx.request.body().size() > max_bytes)
    return TooLarge("the JSON body is too large", "body_too_large");
  boost::system::error_code ec;
  json::value v = json::parse(ctx.request.body(), ec);
  if (ec) return InvalidArgument("the body is not valid JSON: " + ec.message(), "invalid_json");
  if (!v.is_object()) return InvalidArgument("the body must be a JSON object", "invalid_json");
  return std::move(v.as_object());
}

// "'<field>' <what>" as a 400. (Built by appending: GCC 12 warns falsely with -Wrestrict on
// "literal" + std::string at -O2.)
Status FieldError(std::string_view field, std::string_view what) {
  std::string msg = "'";
  msg.append(field).append("' ").append(what);
  return InvalidArgument(std::move(msg), "invalid_field");
}

Result<std::string> RequireString(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return FieldError(key, "must be a string");
  return std::string(v->as_string());
}

// An optional non-negative integer field; also accepts its decimal string form.
Result<std::optional<uint64_t>> OptionalU64(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<uint64_t>();
  if (v->is_uint64()) return std::optional<uint64_t>(v->as_uint64());
  if (v->is_int64() && v->as_int64() >= 0) return std::optional<uint64_t>(v->as_int64());
  if (v->is_string())
    if (auto n = ParseU64(v->as_string())) return std::optional<uint64_t>(*n);
  return FieldError(key, "must be a non-negative integer");
}

Result<core::Principal> RequireUser(core::Service& service, const RequestContext& ctx) {
  GLINT_ASSIGN_OR_RETURN(core::Principal p, RequireLogin(service, ctx));
  if (p.user_id == 0)
    return InvalidArgument("the admin token has no account; use /v1/users/{id}/...",
                           "user_required");
  return p;
}

Result<core::Principal> RequireBackend(core::Service& service, const RequestContext& ctx) {
  GLINT_ASSIGN_OR_RETURN(core::Principal p, RequireLogin(service, ctx));
  if (!p.backend())
    return PermissionDenied("this call takes the service token (or the admin token)",
                            "service_token_required");
  return p;
}

Result<std::optional<std::string>> OptionalString(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return FieldError(key, "must be a string");
  return std::optional<std::string>(std::string(v->as_string()));
}

std::string HttpDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::optional<int64_t> ParseHttpDate(std::string_view text) {
  if (text.size() != 29) return std::nullopt;
  std::string s(text);
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

// Gravatar v3's Avatar shape (image_id, image_url, rating, alt_text, selected,
// updated_date), plus what glint knows of the image.
json::object PhotoJson(const core::PhotoView& v, const std::string& base,
                       std::optional<bool> selected) {
  const core::Photo& p = v.photo;
  json::object o;
  o["image_id"] = std::to_string(p.id);
  o["image_url"] = base + "/raw/" + std::to_string(p.blob_id);
  o["rating"] = p.rating == "g" ? "G" : p.rating == "pg" ? "PG" : p.rating == "r" ? "R" : "X";
  o["alt_text"] = p.alt_text;
  o["selected"] = selected.value_or(v.active);
  o["updated_date"] = IsoTime(std::max(p.created_at, p.updated_at));
  o["width"] = p.width;
  o["height"] = p.height;
  o["format"] = codec::FormatName(p.format);
  o["bytes"] = p.bytes;
  // Made in the background after registration: null until then (or for an undecodable file).
  o["blurhash"] = p.blurhash.empty() ? json::value(nullptr) : json::value(p.blurhash);
  // From EXIF; each null when the file did not say. GPS positions are never kept.
  auto text = [](const std::string& s) {
    return s.empty() ? json::value(nullptr) : json::value(s);
  };
  o["camera"] = json::object{{"make", text(p.camera.make)}, {"model", text(p.camera.model)}};
  o["taken_at"] = text(p.camera.taken_at);
  o["owner_id"] = p.owner;
  o["visibility"] = core::VisibilityName(p.visibility);
  o["photo_url"] = base + "/p/" + std::to_string(p.id);
  return o;
}

}  // namespace glint::http
