// Helpers shared by the API's handler files (http/handlers.cc, http/gravatar_api.cc): query
// and JSON body parsing, authentication of the request, dates. Pure functions; any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "base/status.h"
#include "core/service.h"
#include "http/router.h"

namespace glint::http {

// 429 with `code`, `message` and Retry-After: `retry_after` (whole seconds, at least 1).
Response TooManyRequests(std::string_view code, std::string message,
                         std::chrono::seconds retry_after);

// "2026-11-22T07:00:00Z".
std::string IsoTime(int64_t unix_seconds);
// RFC 9110 IMF-fixdate ("Sun, 22 Nov 2026 07:00:00 GMT") and its parser (nullopt when the
// text is not one; the obsolete forms are not accepted, so If-Modified-Since is then ignored).
std::string HttpDate(int64_t unix_seconds);
std::optional<int64_t> ParseHttpDate(std::string_view text);

std::optional<uint64_t> ParseU64(std::string_view s);

// Decoded query parameters; the last occurrence of a key wins.
struct Query {
  std::vector<std::pair<std::string, std::string>> items;
  std::optional<std::string_view> Get(std::string_view key) const;
};
// The target's grammar (and so the query's) was validated when the session parsed it.
Query ParseQuery(const RequestContext& ctx);
Result<uint64_t> RequireU64(const Query& q, std::string_view key);
// A positive id from path parameter `name`; kNotFound "not_found" otherwise.
Result<uint64_t> PathId(const RequestContext& ctx, std::string_view name);

// The Principal of the request's bearer token (Anonymous without one).
Result<core::Principal> Authorize(core::Service& service, const RequestContext& ctx);
// As Authorize, but kUnauthenticated "login_required" for anonymous requests.
Result<core::Principal> RequireLogin(core::Service& service, const RequestContext& ctx);
// As RequireLogin, for calls about the caller's own account: kInvalidArgument
// "user_required" for the admin token (which has no account).
Result<core::Principal> RequireUser(core::Service& service, const RequestContext& ctx);

// The admin or service token (Principal::backend()): kUnauthenticated "login_required"
// without a token, kPermissionDenied "service_token_required" for a user's session.
Result<core::Principal> RequireBackend(core::Service& service, const RequestContext& ctx);

// A JSON object body, whatever Content-Type claims (curl -d says form-urlencoded): image
// bytes never start with '{', so the bytes decide.
bool LooksLikeJson(std::string_view body);
Result<boost::json::object> ParseJsonBody(const RequestContext& ctx, uint64_t max_bytes);
// "'<field>' <what>" as a 400 "invalid_field".
Status FieldError(std::string_view field, std::string_view what);
Result<std::string> RequireString(const boost::json::object& o, std::string_view key);
// An optional string field (absent or null: nullopt).
Result<std::optional<std::string>> OptionalString(const boost::json::object& o,
                                                  std::string_view key);
// An optional non-negative integer field; also accepts its decimal string form.
Result<std::optional<uint64_t>> OptionalU64(const boost::json::object& o, std::string_view key);

// Gravatar v3's Avatar shape (image_id, image_url, rating, alt_text, selected,
// updated_date), plus what glint knows of the image (owner, visibility, its /p/ URL, ...).
// `selected` defaults to whether it is the account's default avatar.
boost::json::object PhotoJson(const core::PhotoView& v, const std::string& base,
                              std::optional<bool> selected = std::nullopt);

}  // namespace glint::http
