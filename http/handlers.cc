#include "http/handlers.h"
#include "http/api_util.h"
#include "http/range.h"

#include <charconv>
#include <ctime>
#include <optional>
#include <span>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>
#include <boost/url/url.hpp>

#include "base/hex.h"
#include "codec/image_header.h"
#include "core/email.h"
#include "core/gravatar.h"
#include "http/file_body.h"

namespace glint::http {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

json::object AccountJson(const core::AccountView& a, const std::string& base) {
  json::object o;
  o["id"] = a.id;
  o["email"] = a.email;
  o["hashes"] = json::object{{"md5", a.md5_hex}, {"sha256", a.sha256_hex}};
  o["avatar_url"] = base + "/avatar/" + a.sha256_hex;
  if (a.active_photo)
    o["active_photo_id"] = std::to_string(a.active_photo);
  else
    o["active_photo_id"] = nullptr;
  o["created_at"] = IsoTime(a.created_at);
  return o;
}

Response ImageResponse(std::string bytes, codec::Format format, const std::string& etag,
                       std::string_view cache_control) {
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, codec::MimeType(format));
  res.set(bhttp::field::etag, etag);
  res.set(bhttp::field::cache_control, cache_control);
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(bytes);
  res.prepare_payload();
  return res;
}

// The byte range to answer for an image of `total` bytes (http/range.h).
RangeDecision DecideImageRange(const Request& req, const std::string& etag, uint64_t total) {
  return DecideRange(req[bhttp::field::range], req[bhttp::field::if_range], etag, total);
}

Response RangeNotSatisfiable(uint64_t total) {
  Response res = ErrorResponse(bhttp::status::range_not_satisfiable, "range_not_satisfiable",
                               "the range lies outside the " + std::to_string(total) + " bytes");
  res.set(bhttp::field::content_range, "bytes */" + std::to_string(total));
  return res;
}

// Accept-Ranges, and for a partial answer its 206 status and Content-Range.
void SetRangeHeaders(Response& res, const RangeDecision& d, uint64_t total) {
  res.set(bhttp::field::accept_ranges, "bytes");
  if (d.kind != RangeDecision::kPartial) return;
  res.result(bhttp::status::partial_content);
  res.set(bhttp::field::content_range, "bytes " + std::to_string(d.range.first) + "-" +
                                           std::to_string(d.range.last) + "/" +
                                           std::to_string(total));
}

// An image response honouring one byte range (http/range.h): 200 with Accept-Ranges, 206
// with Content-Range, or 416 when the range starts past the end.
Response RangedImageResponse(const Request& req, std::string bytes, codec::Format format,
                             const std::string& etag, std::string_view cache_control) {
  const uint64_t total = bytes.size();
  const RangeDecision d = DecideImageRange(req, etag, total);
  if (d.kind == RangeDecision::kUnsatisfiable) return RangeNotSatisfiable(total);
  if (d.kind == RangeDecision::kPartial) bytes = bytes.substr(d.range.first, d.range.length());
  Response res = ImageResponse(std::move(bytes), format, etag, cache_control);
  SetRangeHeaders(res, d, total);
  return res;
}

// RangedImageResponse for bytes left in a file: the reply's body is the part of `file` the
// range names (sent with sendfile by the session).
Reply RangedFileReply(const Request& req, FileBody file, codec::Format format,
                      const std::string& etag, std::string_view cache_control) {
  const uint64_t total = file.length;
  const RangeDecision d = DecideImageRange(req, etag, total);
  if (d.kind == RangeDecision::kUnsatisfiable) return RangeNotSatisfiable(total);
  if (d.kind == RangeDecision::kPartial) {
    file.offset += d.range.first;
    file.length = d.range.length();
  }
  Reply reply(ImageResponse(std::string(), format, etag, cache_control));
  SetRangeHeaders(reply.response, d, total);
  reply.response.content_length(file.length);
  reply.file = std::move(file);
  return reply;
}

// A blob's verified bytes left in its segment file. Blocking: the checksum pass reads every
// page of the blob (and warms the page cache for sendfile).
Result<FileBody> OpenBlobFile(const storage::BlobStore& blobs, const storage::BlobLocation& loc) {
  GLINT_ASSIGN_OR_RETURN(storage::BlobStore::FileExtent extent, blobs.OpenExtent(loc));
  return FileBody{std::move(extent.keep), extent.fd, extent.offset, extent.length};
}

// OpenExtent's answer for a blob in the remote tier (no local file to send).
constexpr std::string_view kNotLocal = "blob_not_local";

// Bytes enough for codec::Sniff.
constexpr size_t kSniffBytes = 16;

// Route handlers that answer a Response, adapted to the router's Reply.
awaitable<Reply> AsReply(awaitable<Response> response) { co_return co_await std::move(response); }
awaitable<Reply> AsReply(awaitable<Reply> reply) { return reply; }

// The 304 for a conditional GET whose ETag still matches: the same validators and caching
// headers as the 200 would have, no body.
Response NotModifiedResponse(const std::string& etag, std::string_view cache_control) {
  Response res{bhttp::status::not_modified, 11};
  res.set(bhttp::field::etag, etag);
  res.set(bhttp::field::cache_control, cache_control);
  res.set(bhttp::field::access_control_allow_origin, "*");
  return res;
}

// Photos and raw blobs are shown to their owner only: no shared cache may keep them.
constexpr std::string_view kPrivateCache = "private, max-age=0, must-revalidate";

// True when If-None-Match names `etag` (or is "*").
bool EtagMatches(const Request& req, std::string_view etag) {
  auto it = req.find(bhttp::field::if_none_match);
  if (it == req.end()) return false;
  std::string_view v = it->value();
  if (v == "*") return true;
  size_t pos = 0;
  while (pos < v.size()) {
    size_t comma = v.find(',', pos);
    std::string_view item =
        v.substr(pos, comma == std::string_view::npos ? v.size() - pos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);  // weak comparison, as RFC 9110 says
    if (item == etag) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

// RFC 9110 §13.2.2: If-None-Match decides when present; otherwise If-Modified-Since, when
// the representation has a modification time (`modified` > 0) no later than it.
bool NotModified(const Request& req, std::string_view etag, int64_t modified = 0) {
  if (req.find(bhttp::field::if_none_match) != req.end()) return EtagMatches(req, etag);
  if (modified <= 0) return false;
  auto it = req.find(bhttp::field::if_modified_since);
  if (it == req.end()) return false;
  auto since = ParseHttpDate(it->value());
  return since && modified <= *since;
}

}  // namespace

Api::Api(core::Service& service, core::Transformer& transformer, core::Badges& badges,
         asio::thread_pool& blocking, ApiOptions options, std::function<bool()> ready)
    : service_(service),
      transformer_(transformer),
      badges_(badges),
      blocking_(blocking),
      options_(std::move(options)),
      ready_(std::move(ready)),
      avatar_cache_control_("public, max-age=" + std::to_string(options_.avatar_max_age_seconds)),
      api_limiter_(options_.api_rate_limit, options_.rate_limit_clients),
      tag_limiter_(options_.tag_rate_limit, options_.rate_limit_clients),
      event_waiters_(std::make_shared<EventWaiters>(options_.max_event_waiters)) {
  if (core::EventLog* log = service_.event_log())
    log->OnAdvance(
        [waiters = event_waiters_](uint64_t watermark) { waiters->Advanced(watermark); });
}

std::optional<Response> Api::CheckRate(const RequestContext& ctx) {
  if (options_.api_rate_limit.per_second <= 0) return std::nullopt;
  std::string_view client = ctx.client;
  if (options_.trust_forwarded_for) {
    std::string_view forwarded = ctx.request["X-Forwarded-For"];
    if (size_t comma = forwarded.rfind(','); comma != std::string_view::npos)
      forwarded.remove_prefix(comma + 1);
    while (!forwarded.empty() && forwarded.front() == ' ') forwarded.remove_prefix(1);
    while (!forwarded.empty() && forwarded.back() == ' ') forwarded.remove_suffix(1);
    if (!forwarded.empty()) client = forwarded;
  }
  auto d = api_limiter_.Take(client, std::chrono::steady_clock::now());
  if (d.allowed) return std::nullopt;
  return TooManyRequests("rate_limited",
                         "too many requests from this client; retry after " +
                             std::to_string(d.retry_after.count()) + " s",
                         d.retry_after);
}

bool Api::SendsFromFile(uint64_t length) const {
  return options_.sendfile_threshold != 0 && length > options_.sendfile_threshold;
}

std::string Api::BaseUrl(const RequestContext& ctx) const {
  if (!options_.public_url.empty()) return options_.public_url;
  auto host = ctx.request[bhttp::field::host];
  return "http://" + std::string(host.empty() ? "localhost" : host);
}

void Api::Register(Router& r) {
  using bhttp::verb;
  auto bind = [this](auto fn) -> Handler {
    return [this, fn](RequestContext& ctx) { return AsReply((this->*fn)(ctx)); };
  };
  // The JSON API: rate limited per client (before anything else runs).
  auto api = [this](auto fn) -> Handler {
    return [this, fn](RequestContext& ctx) -> awaitable<Reply> {
      if (auto refused = CheckRate(ctx))
        return AsReply([](Response r) -> awaitable<Response> { co_return r; }(std::move(*refused)));
      return AsReply((this->*fn)(ctx));
    };
  };
  const uint64_t json = options_.max_json_bytes;
  const uint64_t upload = service_.options().max_upload_bytes;
  auto logged_in = [this](RequestContext& ctx) { return CheckLoggedIn(ctx); };
  r.Add(verb::get, "/healthz", 0, bind(&Api::Healthz));
  r.Add(verb::get, "/readyz", 0, bind(&Api::Readyz));
  r.Add(verb::post, "/v1/accounts", json, api(&Api::CreateAccount));
  r.Add(verb::post, "/v1/sessions", json, api(&Api::Login));
  r.Add(verb::delete_, "/v1/sessions/current", 0, api(&Api::Logout));
  r.Add(verb::get, "/v1/me", 0, api(&Api::Me));
  r.Add(verb::get, "/v1/users/{id}", 0, api(&Api::GetUser));
  r.Add(verb::post, "/v1/uploads", json, api(&Api::PrepareUpload));
  r.Add(verb::put, "/v1/uploads/{id}", upload, bind(&Api::ReceiveUpload),
        [this](RequestContext& ctx) { return CheckUploadPut(ctx); });
  r.Add(verb::post, "/v1/photos", upload, api(&Api::CreatePhoto), logged_in);
  r.Add(verb::get, "/v1/photos", 0, api(&Api::ListPhotos));
  r.Add(verb::get, "/v1/photos/{id}", 0, api(&Api::GetPhoto));
  r.Add(verb::patch, "/v1/photos/{id}", json, api(&Api::UpdatePhoto));
  r.Add(verb::delete_, "/v1/photos/{id}", 0, api(&Api::DeletePhoto));
  // People tagged in photos (http/tags_api.cc).
  r.Add(verb::post, "/v1/photos/{id}/tags", json, api(&Api::TagPhoto));
  r.Add(verb::get, "/v1/photos/{id}/tags", 0, api(&Api::ListPhotoTags));
  r.Add(verb::post, "/v1/photos/{id}/tags/{user}/approve", json, api(&Api::ApproveTag));
  r.Add(verb::delete_, "/v1/photos/{id}/tags/{user}", 0, api(&Api::RemoveTag));
  r.Add(verb::put, "/v1/me/avatar", json, api(&Api::SetAvatar));
  // The event log, for other backends (http/events_api.cc): token-only, so not limited per
  // client (a consumer catching up reads many pages a second).
  r.Add(verb::get, "/v1/events", 0, bind(&Api::ListEvents));
  r.Add(verb::get, "/v1/events/consumers", 0, bind(&Api::ListConsumers));
  r.Add(verb::delete_, "/v1/events/consumers/{name}", 0, bind(&Api::DeleteConsumer));
  r.Add(verb::delete_, "/v1/events/consumers", 0, bind(&Api::DeleteBuiltinConsumer));
  // Emails and the public profile, for the caller or (/v1/users/{id}/...) for an admin.
  for (std::string base : {"/v1/me", "/v1/users/{user}"}) {
    r.Add(verb::get, base + "/emails", 0, api(&Api::ListEmails));
    r.Add(verb::post, base + "/emails", json, api(&Api::AddEmail));
    r.Add(verb::delete_, base + "/emails/{hash}", 0, api(&Api::RemoveEmail));
    r.Add(verb::post, base + "/emails/{hash}/verification", 0, api(&Api::ResendVerification));
    r.Add(verb::put, base + "/emails/{hash}/avatar", json, api(&Api::SetEmailAvatar));
    r.Add(verb::get, base + "/profile", 0, api(&Api::GetProfile));
    r.Add(verb::put, base + "/profile", json, api(&Api::SetProfile));
    r.Add(verb::get, base + "/settings/tags", 0, api(&Api::GetTagSettings));
    r.Add(verb::put, base + "/settings/tags", json, api(&Api::SetTagSettings));
    r.Add(verb::get, base + "/tagged", 0, api(&Api::ListTaggedPhotos));
    r.Add(verb::get, base + "/badge", 0, api(&Api::GetBadge));
    r.Add(verb::post, base + "/badge/ack", 0, api(&Api::AckBadge));
    r.Add(verb::get, base + "/badge/stream", 0, api(&Api::BadgeStream));
  }
  // Badge events from other backends (service token): not rate limited per client, since
  // one backend sends them all; bounded by badge_max_batch instead.
  // About 80 bytes an event: {"src":<20 digits>,"dest":<20 digits>} and separators.
  const uint64_t badge_body = uint64_t{badges_.options().max_batch} * 80 + 4096;
  r.Add(verb::post, "/v1/badges/events", badge_body, bind(&Api::IngestBadgeEvents));
  r.Add(verb::get, "/v1/badges/stats", 0, bind(&Api::BadgeStats));
  r.Add(verb::post, "/v1/emails/verify", json, api(&Api::VerifyEmail));
  r.Add(verb::get, "/v1/emails/verify", 0, api(&Api::VerifyEmail));
  // Gravatar's REST API v3 shapes (https://docs.gravatar.com/api/profiles/rest-api/).
  r.Add(verb::get, "/v3/profiles/{hash}", 0, api(&Api::V3Profile));
  r.Add(verb::get, "/v3/me/avatars", 0, api(&Api::V3ListAvatars));
  r.Add(verb::post, "/v3/me/avatars", upload, api(&Api::V3UploadAvatar), logged_in);
  r.Add(verb::post, "/v3/me/avatars/{id}/email", json, api(&Api::V3SetEmailAvatar));
  r.Add(verb::patch, "/v3/me/avatars/{id}", json, api(&Api::V3UpdateAvatar));
  r.Add(verb::delete_, "/v3/me/avatars/{id}", 0, api(&Api::V3DeleteAvatar));
  r.Add(verb::get, "/v3/me/associated-email", 0, api(&Api::V3AssociatedEmail));
  // Images: never rate limited.
  r.Add(verb::get, "/avatar/{hash}", 0, bind(&Api::Avatar));
  r.Add(verb::get, "/avatar.php", 0, bind(&Api::LegacyAvatar));
  r.Add(verb::get, "/{hash}", 0, bind(&Api::BareAvatar));
  r.Add(verb::get, "/raw/{blob}", 0, bind(&Api::Raw));
  r.Add(verb::get, "/p/{id}", 0, bind(&Api::PhotoImage));
}

awaitable<Response> Api::Healthz(RequestContext&) {
  co_return JsonResponse(bhttp::status::ok, json::object{{"status", "ok"}});
}

awaitable<Response> Api::Readyz(RequestContext&) {
  if (!ready_())
    co_return ErrorResponse(bhttp::status::service_unavailable, "draining",
                            "the server is shutting down");
  // A read through the metadata store proves it answers.
  auto probe = service_.ResolveAvatar(std::string(16, '\0'));
  if (!probe.ok() && probe.status().code() != Code::kNotFound)
    co_return ErrorResponse(probe.status());
  co_return JsonResponse(bhttp::status::ok, json::object{{"status", "ready"}});
}

awaitable<Response> Api::CreateAccount(RequestContext& ctx) {
  auto actor = Authorize(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto body = ParseJsonBody(ctx, options_.max_json_bytes);
  if (!body.ok()) co_return ErrorResponse(body.status());
  auto email = RequireString(*body, "email");
  if (!email.ok()) co_return ErrorResponse(email.status());
  auto password = RequireString(*body, "password");
  if (!password.ok()) co_return ErrorResponse(password.status());
  auto created =
      co_await RunBlocking([&] { return service_.CreateAccount(*actor, *email, *password); });
  if (!created.ok()) co_return ErrorResponse(created.status());
  co_return JsonResponse(bhttp::status::created, AccountJson(*created, BaseUrl(ctx)));
}

awaitable<Response> Api::Login(RequestContext& ctx) {
  auto body = ParseJsonBody(ctx, options_.max_json_bytes);
  if (!body.ok()) co_return ErrorResponse(body.status());
  auto email = RequireString(*body, "email");
  if (!email.ok()) co_return ErrorResponse(email.status());
  auto password = RequireString(*body, "password");
  if (!password.ok()) co_return ErrorResponse(password.status());
  auto login = co_await RunBlocking([&] { return service_.Login(*email, *password); });
  if (!login.ok()) co_return ErrorResponse(login.status());
  co_return JsonResponse(bhttp::status::created,
                         json::object{{"token", login->token},
                                      {"token_type", "Bearer"},
                                      {"user_id", login->user_id},
                                      {"expires_at", IsoTime(login->expires)}});
}

awaitable<Response> Api::Logout(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  std::string token(ctx.request[bhttp::field::authorization].substr(7));
  Status s = co_await RunBlocking([&] { return service_.Logout(token); });
  if (!s.ok()) co_return ErrorResponse(s);
  Response res{bhttp::status::no_content, 11};
  co_return res;
}

awaitable<Response> Api::Me(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  if (actor->user_id == 0)
    co_return ErrorResponse(bhttp::status::bad_request, "user_required",
                            "the admin token has no account");
  auto account = service_.GetAccount(*actor, actor->user_id);
  if (!account.ok()) co_return ErrorResponse(account.status());
  co_return JsonResponse(bhttp::status::ok, AccountJson(*account, BaseUrl(ctx)));
}

awaitable<Response> Api::GetUser(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto id = PathId(ctx, "id");
  if (!id.ok()) co_return ErrorResponse(id.status());
  auto account = service_.GetAccount(*actor, *id);
  if (!account.ok()) co_return ErrorResponse(account.status());
  co_return JsonResponse(bhttp::status::ok, AccountJson(*account, BaseUrl(ctx)));
}

awaitable<Response> Api::PrepareUpload(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  json::object body;
  if (!ctx.request.body().empty()) {
    auto parsed = ParseJsonBody(ctx, options_.max_json_bytes);
    if (!parsed.ok()) co_return ErrorResponse(parsed.status());
    body = std::move(*parsed);
  }
  auto max_bytes = OptionalU64(body, "max_bytes");
  if (!max_bytes.ok()) co_return ErrorResponse(max_bytes.status());
  auto expires_in = OptionalU64(body, "expires_in");
  if (!expires_in.ok()) co_return ErrorResponse(expires_in.status());
  std::optional<int64_t> ttl;
  if (*expires_in) ttl = static_cast<int64_t>(std::min<uint64_t>(**expires_in, INT64_MAX));
  auto ticket = service_.PrepareUpload(*actor, *max_bytes, ttl);
  if (!ticket.ok()) co_return ErrorResponse(ticket.status());
  const core::UploadGrant& g = ticket->grant;
  std::string url = BaseUrl(ctx) + "/v1/uploads/" + g.upload_id +
                    "?uid=" + std::to_string(g.user_id) + "&expires=" + std::to_string(g.expires) +
                    "&max=" + std::to_string(g.max_bytes) + "&sig=" + ticket->signature;
  co_return JsonResponse(bhttp::status::created, json::object{{"upload_id", g.upload_id},
                                                              {"upload_url", url},
                                                              {"method", "PUT"},
                                                              {"max_bytes", g.max_bytes},
                                                              {"expires_at", IsoTime(g.expires)}});
}

namespace {

Result<core::UploadGrant> GrantFromRequest(const RequestContext& ctx, std::string* signature) {
  Query q = ParseQuery(ctx);
  core::UploadGrant g;
  g.upload_id = std::string(ctx.Param("id"));
  GLINT_ASSIGN_OR_RETURN(g.user_id, RequireU64(q, "uid"));
  GLINT_ASSIGN_OR_RETURN(uint64_t expires, RequireU64(q, "expires"));
  if (expires > static_cast<uint64_t>(INT64_MAX))
    return InvalidArgument("'expires' is out of range", "invalid_query");
  g.expires = static_cast<int64_t>(expires);
  GLINT_ASSIGN_OR_RETURN(g.max_bytes, RequireU64(q, "max"));
  auto sig = q.Get("sig");
  if (!sig) return PermissionDenied("the upload URL has no signature", "bad_signature");
  *signature = std::string(*sig);
  return g;
}

}  // namespace

// Refuses an anonymous or bad-token request before its (possibly 50 MB) body is read.
std::optional<Response> Api::CheckLoggedIn(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) return ErrorResponse(actor.status());
  return std::nullopt;
}

std::optional<Response> Api::CheckUploadPut(RequestContext& ctx) {
  std::string signature;
  auto grant = GrantFromRequest(ctx, &signature);
  if (!grant.ok()) return ErrorResponse(grant.status());
  // Verify before the body is read, so a forged or stale URL costs the server nothing.
  if (Status s = service_.CheckUploadGrant(*grant, signature); !s.ok()) return ErrorResponse(s);
  ctx.body_limit = grant->max_bytes;  // holds chunked bodies to the URL's cap too
  if (auto len = ctx.DeclaredLength(); len && *len > grant->max_bytes)
    return ErrorResponse(TooLarge(
        "the upload exceeds this URL's limit of " + std::to_string(grant->max_bytes) + " bytes",
        "upload_too_large"));
  return std::nullopt;
}

awaitable<Response> Api::ReceiveUpload(RequestContext& ctx) {
  std::string signature;
  auto grant = GrantFromRequest(ctx, &signature);
  if (!grant.ok()) co_return ErrorResponse(grant.status());
  auto receipt = co_await RunBlocking([&] {
    const std::string& body = ctx.request.body();
    return service_.ReceiveUpload(*grant, signature,
                                  std::span<const char>(body.data(), body.size()));
  });
  if (!receipt.ok()) co_return ErrorResponse(receipt.status());
  co_return JsonResponse(bhttp::status::created,
                         json::object{{"upload_id", receipt->upload_id},
                                      {"format", codec::FormatName(receipt->header.format)},
                                      {"width", receipt->header.width},
                                      {"height", receipt->header.height},
                                      {"bytes", receipt->bytes}});
}

awaitable<Response> Api::CreatePhoto(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  Result<core::PhotoView> photo = Internal("unset");
  if (LooksLikeJson(ctx.request.body())) {
    auto body = ParseJsonBody(ctx, options_.max_json_bytes);
    if (!body.ok()) co_return ErrorResponse(body.status());
    auto upload_id = RequireString(*body, "upload_id");
    if (!upload_id.ok()) co_return ErrorResponse(upload_id.status());
    photo = co_await RunBlocking([&] { return service_.RegisterUpload(*actor, *upload_id); });
  } else {
    // Direct upload: the body is the image itself; its bytes, not Content-Type, decide
    // what it is.
    photo = co_await RunBlocking([&] {
      const std::string& body = ctx.request.body();
      return service_.UploadPhoto(*actor, std::span<const char>(body.data(), body.size()));
    });
  }
  if (!photo.ok()) co_return ErrorResponse(photo.status());
  co_return JsonResponse(bhttp::status::created, PhotoJson(*photo, BaseUrl(ctx)));
}

awaitable<Response> Api::ListPhotos(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  Query q = ParseQuery(ctx);
  uint64_t user = actor->user_id, after = 0, limit = 100;
  for (auto [key, target] : {std::pair{"user_id", &user}, {"after", &after}, {"limit", &limit}}) {
    if (!q.Get(key)) continue;
    auto n = RequireU64(q, key);
    if (!n.ok()) co_return ErrorResponse(n.status());
    *target = *n;
  }
  if (limit == 0 || limit > 1000)
    co_return ErrorResponse(InvalidArgument("'limit' must be between 1 and 1000", "invalid_query"));
  auto photos = service_.ListPhotos(*actor, user, after, limit);
  if (!photos.ok()) co_return ErrorResponse(photos.status());
  json::array arr;
  std::string base = BaseUrl(ctx);
  for (const auto& p : *photos) arr.push_back(PhotoJson(p, base));
  json::object out{{"photos", std::move(arr)}};
  if (photos->size() == limit) out["next_after"] = std::to_string(photos->back().photo.id);
  co_return JsonResponse(bhttp::status::ok, out);
}

awaitable<Response> Api::GetPhoto(RequestContext& ctx) {
  auto actor = Authorize(service_, ctx);  // public photos are shown to anyone
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto id = PathId(ctx, "id");
  if (!id.ok()) co_return ErrorResponse(id.status());
  auto photo = service_.GetPhoto(*actor, *id);
  if (!photo.ok()) co_return ErrorResponse(photo.status());
  co_return JsonResponse(bhttp::status::ok, PhotoJson(*photo, BaseUrl(ctx)));
}

awaitable<Response> Api::DeletePhoto(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto id = PathId(ctx, "id");
  if (!id.ok()) co_return ErrorResponse(id.status());
  Status s = co_await RunBlocking([&] { return service_.DeletePhoto(*actor, *id); });
  if (!s.ok()) co_return ErrorResponse(s);
  co_return Response{bhttp::status::no_content, 11};
}

awaitable<Response> Api::SetAvatar(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto body = ParseJsonBody(ctx, options_.max_json_bytes);
  if (!body.ok()) co_return ErrorResponse(body.status());
  auto photo_id = OptionalU64(*body, "photo_id");
  if (!photo_id.ok()) co_return ErrorResponse(photo_id.status());
  if (!*photo_id)
    co_return ErrorResponse(InvalidArgument("'photo_id' is required", "invalid_field"));
  auto user_id = OptionalU64(*body, "user_id");  // admins may act for a user
  if (!user_id.ok()) co_return ErrorResponse(user_id.status());
  uint64_t user = user_id->value_or(actor->user_id);
  auto account =
      co_await RunBlocking([&] { return service_.SetActivePhoto(*actor, user, **photo_id); });
  if (!account.ok()) co_return ErrorResponse(account.status());
  co_return JsonResponse(bhttp::status::ok, AccountJson(*account, BaseUrl(ctx)));
}

awaitable<Reply> Api::Avatar(RequestContext& ctx) {
  return ServeAvatar(ctx, ctx.Param("hash"), false);
}

awaitable<Reply> Api::BareAvatar(RequestContext& ctx) {
  std::string_view segment = ctx.Param("hash");
  // Gravatar's public profile is the same path with ".json".
  if (segment.ends_with(".json")) return AsReply(Profile(ctx));
  return ServeAvatar(ctx, segment, true);
}

// Gravatar's oldest form, /avatar.php?gravatar_id={hash}&size=..., moved permanently to the
// canonical /avatar/{hash} with the other parameters kept.
awaitable<Response> Api::LegacyAvatar(RequestContext& ctx) {
  Query q = ParseQuery(ctx);
  auto id = q.Get("gravatar_id");
  if (!id || !core::ParseEmailHash(*id))
    co_return ErrorResponse(bhttp::status::bad_request, "invalid_hash",
                            "gravatar_id must be 32 (MD5) or 64 (SHA-256) hex characters");
  boost::urls::url target("/avatar/");
  target.set_path("/avatar/" + std::string(*id));
  for (const auto& [key, value] : q.items)
    if (key != "gravatar_id") target.params().append({key, value});
  Response res{bhttp::status::moved_permanently, 11};
  res.set(bhttp::field::location, target.buffer());
  res.set(bhttp::field::cache_control, "public, max-age=86400");
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.prepare_payload();  // Content-Length: 0
  co_return res;
}

namespace {

// The avatar hash of a path segment: the hex digest, optionally with an image suffix, as
// Gravatar accepts.
std::optional<std::string> AvatarHash(std::string_view segment) {
  for (std::string_view ext : {".jpg", ".jpeg", ".png", ".webp", ".gif"}) {
    if (segment.size() > ext.size() && segment.ends_with(ext)) {
      segment.remove_suffix(ext.size());
      break;
    }
  }
  return core::ParseEmailHash(segment);
}

// Headers every answer for an avatar hash carries, whatever it serves: caching by CDNs and
// proxies, and the surrogate key a purge names (http/purge_client.h: the key names the hash
// asked for, so a purge of an email's two hashes reaches every cached form of either).
void SetAvatarHeaders(Response& res, std::string_view hash_hex, std::string_view cache_control,
                      int64_t modified) {
  res.set(bhttp::field::cache_control, cache_control);
  res.set(bhttp::field::access_control_allow_origin, "*");
  if (modified > 0) res.set(bhttp::field::last_modified, HttpDate(modified));
  std::string key = "avatar-";
  key.append(hash_hex);
  res.set("Surrogate-Key", key);
}

}  // namespace

awaitable<Reply> Api::ServeAvatar(RequestContext& ctx, std::string_view segment, bool bare) {
  auto hash = AvatarHash(segment);
  if (!hash) {
    if (bare) co_return ErrorResponse(bhttp::status::not_found, "not_found", "no such path");
    co_return ErrorResponse(bhttp::status::bad_request, "invalid_hash",
                            "the avatar hash must be 32 (MD5) or 64 (SHA-256) hex characters");
  }
  Query q = ParseQuery(ctx);
  auto query = core::ParseAvatarQuery(q.items, options_.transform_limits);
  if (!query.ok()) co_return ErrorResponse(query.status());
  bool vary = false;
  core::ResolveFormat(query->transform, ctx.request[bhttp::field::accept], &vary);
  auto ref = service_.ResolveAvatar(*hash);
  if (!ref.ok()) co_return ErrorResponse(ref.status());
  const std::string hash_hex = HexEncode(*hash);
  const bool show = ref->photo_id != 0 && !query->force_default &&
                    core::RatingRank(ref->rating).value_or(3) <= query->max_rating;
  Reply reply;
  if (show) {
    reply = co_await ServeImage(ctx, core::SourceRef{ref->photo_id, ref->blob, ref->user_id},
                                ref->format, ref->etag, avatar_cache_control_,
                                std::move(query->transform), ref->modified);
  } else {
    reply = co_await ServeDefault(ctx, *hash, *query, ref->modified);
  }
  Response& res = reply.response;
  // Errors of the image path (503s, 500s) are not the avatar: they must not be cached.
  const unsigned code = static_cast<unsigned>(res.result());
  if (code < 500) SetAvatarHeaders(res, hash_hex, avatar_cache_control_, ref->modified);
  if (vary) res.set(bhttp::field::vary, "Accept");
  co_return reply;
}

awaitable<Reply> Api::ServeDefault(RequestContext& ctx, const std::string& hash,
                                   const core::AvatarQuery& query, int64_t modified) {
  const core::AvatarDefault& d = query.has_default ? query.fallback : options_.avatar_default;
  switch (d.kind) {
    case core::AvatarDefault::Kind::kNotFound:
      co_return ErrorResponse(bhttp::status::not_found, "no_avatar",
                              "there is no avatar for this hash (d=404)");
    case core::AvatarDefault::Kind::kRedirect: {
      Response res{bhttp::status::found, 11};
      res.set(bhttp::field::location, d.url);
      res.prepare_payload();  // Content-Length: 0
      co_return res;
    }
    case core::AvatarDefault::Kind::kGenerated:
      break;
  }
  const core::TransformSpec& spec = query.transform;
  const std::string key = core::GeneratedDefaultKey(d.style, hash, spec, query.initials);
  const std::string etag = core::Transformer::GeneratedEtag(key);
  if (NotModified(ctx.request, etag, modified)) co_return NotModifiedResponse(etag, {});
  // A named function, not a temporary in the co_await: GCC 12 mishandles the lifetime of
  // class-type temporaries across a suspension.
  std::function<Result<codec::Rendered>()> render = [style = d.style, hash, spec,
                                                     initials = query.initials] {
    return core::RenderDefaultAvatar(style, hash, spec, initials);
  };
  auto image = co_await transformer_.GetGenerated(key, std::move(render));
  if (!image.ok()) co_return ErrorResponse(image.status());
  co_return RangedImageResponse(ctx.request, *image->bytes, image->format, etag, {});
}

awaitable<Reply> Api::PhotoImage(RequestContext& ctx) {
  auto actor = Authorize(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto id = PathId(ctx, "id");
  if (!id.ok()) co_return ErrorResponse(id.status());
  auto source = service_.OpenPhoto(*actor, *id);
  if (!source.ok()) co_return ErrorResponse(source.status());
  const core::Photo& photo = source->view.photo;
  Query q = ParseQuery(ctx);
  auto spec = core::ParseTransform(q.items, options_.transform_limits);
  if (!spec.ok()) co_return ErrorResponse(spec.status());
  bool vary = false;
  core::ResolveFormat(*spec, ctx.request[bhttp::field::accept], &vary);
  // A photo's bytes never change, so neither does any variant of it: the URL names fixed
  // content (it can only disappear, with the photo).
  const core::SourceRef ref{photo.id, source->blob, photo.owner};
  const std::string etag = core::BlobEtag(source->blob.checksum);
  Reply reply = co_await ServeImage(ctx, ref, photo.format, etag, options_.photo_cache_control,
                                    std::move(*spec), photo.created_at);
  if (vary) reply.response.set(bhttp::field::vary, "Accept");
  co_return reply;
}

awaitable<Reply> Api::ServeImage(RequestContext& ctx, const core::SourceRef& source,
                                 codec::Format source_format, const std::string& source_etag,
                                 std::string_view cache_control, core::TransformSpec spec,
                                 int64_t modified) {
  const bool identity = spec.IsIdentity();
  const std::string etag = identity ? source_etag : core::Transformer::EtagFor(source, spec);
  // Large originals are sent from their segment file, opened off the event loop (verifying
  // may fault in a cold segment's pages). A blob in the remote tier has no local file and is
  // read through ReadAsync like a small one.
  const bool not_modified = NotModified(ctx.request, etag, modified);
  std::optional<Result<FileBody>> file;
  if (!not_modified && identity && SendsFromFile(source.blob.length)) {
    file = co_await RunBlocking([&] { return OpenBlobFile(service_.blobs(), source.blob); });
    if (!file->ok() && file->status().reason() != kNotLocal) {
      co_return ErrorResponse(file->status());
    }
  }
  Reply reply;
  if (not_modified) {
    reply = NotModifiedResponse(etag, cache_control);
  } else if (file && file->ok()) {
    reply = RangedFileReply(ctx.request, std::move(**file), source_format, etag, cache_control);
  } else if (identity) {
    auto bytes = co_await service_.blobs().ReadAsync(source.blob);
    if (!bytes.ok()) co_return ErrorResponse(bytes.status());
    reply = RangedImageResponse(ctx.request, std::move(*bytes), source_format, etag, cache_control);
  } else {
    auto variant = co_await transformer_.Get(source, spec);
    if (!variant.ok()) co_return ErrorResponse(variant.status());
    reply = RangedImageResponse(ctx.request, *variant->bytes, variant->format, etag, cache_control);
  }
  if (modified > 0 && reply.response.result() != bhttp::status::not_modified)
    reply.response.set(bhttp::field::last_modified, HttpDate(modified));
  co_return reply;
}

awaitable<Reply> Api::Raw(RequestContext& ctx) {
  auto actor = Authorize(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto id = PathId(ctx, "blob");
  if (!id.ok()) co_return ErrorResponse(id.status());
  auto loc = service_.AuthorizeBlob(*actor, *id);
  if (!loc.ok()) co_return ErrorResponse(loc.status());
  std::string etag = core::BlobEtag(loc->checksum);
  if (NotModified(ctx.request, etag)) co_return NotModifiedResponse(etag, kPrivateCache);
  if (SendsFromFile(loc->length)) {
    struct Opened {
      FileBody file;
      codec::Format format;
    };
    // Off the event loop: verification may fault in a cold segment's pages.
    auto opened = co_await RunBlocking([&]() -> Result<Opened> {
      GLINT_ASSIGN_OR_RETURN(FileBody file, OpenBlobFile(service_.blobs(), *loc));
      GLINT_ASSIGN_OR_RETURN(std::string head, ReadFilePrefix(file, kSniffBytes));
      codec::Format format = codec::Sniff(std::span<const char>(head.data(), head.size()));
      return Opened{std::move(file), format};
    });
    if (opened.ok()) {
      co_return RangedFileReply(ctx.request, std::move(opened->file), opened->format, etag,
                                kPrivateCache);
    }
    // A blob in the remote tier has no local file: read it below.
    if (opened.status().reason() != kNotLocal) co_return ErrorResponse(opened.status());
  }
  auto bytes = co_await service_.blobs().ReadAsync(*loc);
  if (!bytes.ok()) co_return ErrorResponse(bytes.status());
  codec::Format format = codec::Sniff(std::span<const char>(bytes->data(), bytes->size()));
  co_return RangedImageResponse(ctx.request, std::move(*bytes), format, etag, kPrivateCache);
}

}  // namespace glint::http
