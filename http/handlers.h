// glint's HTTP API (documented in docs/api.md): translates requests into core::Service calls
// and results into JSON or image responses. Holds no state of its own beyond options.
//
// Handlers that write or hash passwords run the core call on the blocking pool and resume on
// the request's event loop; lookups run inline.
// Thread-safety: after Register(), handlers may run on every event loop at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/badge.h"
#include "core/gravatar.h"
#include "core/service.h"
#include "core/transform.h"
#include "core/transformer.h"
#include "http/event_waiters.h"
#include "http/rate_limit.h"
#include "http/router.h"

namespace glint::http {

struct ApiOptions {
  std::string public_url;            // "https://img.example.com"; empty: from the Host header
  int avatar_max_age_seconds = 300;  // Cache-Control max-age of avatars (Gravatar's value)
  // Cache-Control of /p/{id}: its URL names fixed bytes (a photo never changes; a variant of
  // it neither), but only its owner may read it.
  std::string photo_cache_control = "private, max-age=31536000, immutable";
  // What an avatar URL without `d=` serves when there is no avatar (core/gravatar.h).
  core::AvatarDefault avatar_default;
  // Per-client (peer address) limits on the JSON API and public profiles; image requests are
  // never limited. per_second 0 = unlimited.
  RateLimit api_rate_limit{20, 200};
  // Per-user limit on tag requests (POST /v1/photos/{id}/tags), on top of the API's.
  // per_second 0 = unlimited.
  RateLimit tag_rate_limit{1, 30};
  size_t rate_limit_clients = 100000;
  // Behind a proxy (Varnish, nginx) every request comes from the proxy's address: with this
  // set, the client is the last address in X-Forwarded-For (the one the nearest proxy saw).
  // Only for a glint that proxies alone can reach; a client could otherwise pick its key.
  bool trust_forwarded_for = false;
  uint64_t max_json_bytes = 64 << 10;
  // Writes and password hashes waiting for or running on the blocking pool; past it the
  // request is answered 503 (Retry-After) instead of queueing without bound.
  size_t max_blocking_queue = 256;
  core::TransformLimits transform_limits;
  // Originals (no transform) larger than this are sent from their blob segment with
  // sendfile(2), verified in place and never copied into memory; smaller ones are read
  // through the blob cache. 0 = always read into memory. Rendered variants always are.
  uint64_t sendfile_threshold = 256 << 10;
  // Long-polls of GET /v1/events waiting at once; past it a poll is answered 503
  // "too_many_waiters" at once.
  size_t max_event_waiters = 1000;
};

class Api {
 public:
  // `ready` tells /readyz whether the server accepts traffic (false while draining).
  Api(core::Service& service, core::Transformer& transformer, core::Badges& badges,
      boost::asio::thread_pool& blocking, ApiOptions options, std::function<bool()> ready);

  void Register(Router& router);

 private:
  // One handler per route; see docs/api.md. Image routes answer a Reply, whose body may be
  // a file; the others a Response.
  boost::asio::awaitable<Response> Healthz(RequestContext& ctx);
  boost::asio::awaitable<Response> Readyz(RequestContext& ctx);
  boost::asio::awaitable<Response> CreateAccount(RequestContext& ctx);
  boost::asio::awaitable<Response> Login(RequestContext& ctx);
  boost::asio::awaitable<Response> Logout(RequestContext& ctx);
  boost::asio::awaitable<Response> Me(RequestContext& ctx);
  boost::asio::awaitable<Response> GetUser(RequestContext& ctx);
  boost::asio::awaitable<Response> PrepareUpload(RequestContext& ctx);
  std::optional<Response> CheckUploadPut(RequestContext& ctx);
  std::optional<Response> CheckLoggedIn(RequestContext& ctx);
  boost::asio::awaitable<Response> ReceiveUpload(RequestContext& ctx);
  boost::asio::awaitable<Response> CreatePhoto(RequestContext& ctx);
  boost::asio::awaitable<Response> ListPhotos(RequestContext& ctx);
  boost::asio::awaitable<Response> GetPhoto(RequestContext& ctx);
  boost::asio::awaitable<Response> DeletePhoto(RequestContext& ctx);
  boost::asio::awaitable<Response> SetAvatar(RequestContext& ctx);
  boost::asio::awaitable<Reply> Avatar(RequestContext& ctx);
  boost::asio::awaitable<Reply> BareAvatar(RequestContext& ctx);
  boost::asio::awaitable<Response> LegacyAvatar(RequestContext& ctx);
  // Gravatar-shaped account API (http/gravatar_api.cc).
  boost::asio::awaitable<Response> Profile(RequestContext& ctx);    // GET /{hash}.json
  boost::asio::awaitable<Response> V3Profile(RequestContext& ctx);  // GET /v3/profiles/{hash}
  boost::asio::awaitable<Response> V3ListAvatars(RequestContext& ctx);
  boost::asio::awaitable<Response> V3UploadAvatar(RequestContext& ctx);
  boost::asio::awaitable<Response> V3SetEmailAvatar(RequestContext& ctx);
  boost::asio::awaitable<Response> V3UpdateAvatar(RequestContext& ctx);
  boost::asio::awaitable<Response> V3DeleteAvatar(RequestContext& ctx);
  boost::asio::awaitable<Response> V3AssociatedEmail(RequestContext& ctx);
  boost::asio::awaitable<Response> ListEmails(RequestContext& ctx);
  boost::asio::awaitable<Response> AddEmail(RequestContext& ctx);
  boost::asio::awaitable<Response> ResendVerification(RequestContext& ctx);
  boost::asio::awaitable<Response> RemoveEmail(RequestContext& ctx);
  boost::asio::awaitable<Response> SetEmailAvatar(RequestContext& ctx);
  boost::asio::awaitable<Response> VerifyEmail(RequestContext& ctx);
  boost::asio::awaitable<Response> GetProfile(RequestContext& ctx);
  boost::asio::awaitable<Response> SetProfile(RequestContext& ctx);
  // People tagged in photos, tag settings, a photo's visibility (http/tags_api.cc).
  boost::asio::awaitable<Response> TagPhoto(RequestContext& ctx);
  boost::asio::awaitable<Response> ListPhotoTags(RequestContext& ctx);
  boost::asio::awaitable<Response> ApproveTag(RequestContext& ctx);
  boost::asio::awaitable<Response> RemoveTag(RequestContext& ctx);
  boost::asio::awaitable<Response> ListTaggedPhotos(RequestContext& ctx);
  boost::asio::awaitable<Response> GetTagSettings(RequestContext& ctx);
  boost::asio::awaitable<Response> SetTagSettings(RequestContext& ctx);
  boost::asio::awaitable<Response> UpdatePhoto(RequestContext& ctx);
  // The event log for other backends (http/events_api.cc).
  boost::asio::awaitable<Response> ListEvents(RequestContext& ctx);
  boost::asio::awaitable<Response> ListConsumers(RequestContext& ctx);
  boost::asio::awaitable<Response> DeleteConsumer(RequestContext& ctx);
  boost::asio::awaitable<Response> DeleteBuiltinConsumer(RequestContext& ctx);
  // The newly-unread badge (http/badge_api.cc).
  boost::asio::awaitable<Response> IngestBadgeEvents(RequestContext& ctx);
  boost::asio::awaitable<Response> BadgeStats(RequestContext& ctx);
  boost::asio::awaitable<Response> GetBadge(RequestContext& ctx);
  boost::asio::awaitable<Response> AckBadge(RequestContext& ctx);
  boost::asio::awaitable<Reply> BadgeStream(RequestContext& ctx);
  boost::asio::awaitable<Reply> Raw(RequestContext& ctx);
  boost::asio::awaitable<Reply> PhotoImage(RequestContext& ctx);
  // Serves `source` as stored (an identity `spec`; validated by `source_etag`; from its
  // file when larger than sendfile_threshold) or its variant for `spec` (format resolved).
  // `modified` (unix seconds, 0 = unknown) is its Last-Modified, for If-Modified-Since.
  boost::asio::awaitable<Reply> ServeImage(RequestContext& ctx, const core::SourceRef& source,
                                           codec::Format source_format,
                                           const std::string& source_etag,
                                           std::string_view cache_control, core::TransformSpec spec,
                                           int64_t modified);
  // What an avatar URL answers when no avatar is shown: a 404, a redirect, or a generated
  // image (cached by the Transformer like a variant).
  boost::asio::awaitable<Reply> ServeDefault(RequestContext& ctx, const std::string& hash,
                                             const core::AvatarQuery& query, int64_t modified);
  // The user a request about emails or the profile is for: /v1/users/{id}/... (the owner or
  // an admin), else the caller's own account.
  Result<uint64_t> TargetUser(const RequestContext& ctx, const core::Principal& actor) const;
  // The logged-in caller and TargetUser's answer, for the calls about an account.
  struct Acting {
    core::Principal actor;
    uint64_t user = 0;
  };
  Result<Acting> ActingFor(const RequestContext& ctx) const;
  // 429 with Retry-After when the client is over its API rate.
  std::optional<Response> CheckRate(const RequestContext& ctx);
  // 429 "tag_rate_limited" with Retry-After when `actor` tags faster than tag_rate_limit.
  std::optional<Response> CheckTagRate(const core::Principal& actor);

  boost::asio::awaitable<Reply> ServeAvatar(RequestContext& ctx, std::string_view segment,
                                            bool bare);
  std::string BaseUrl(const RequestContext& ctx) const;
  // True when an original of `length` bytes is sent from its file (sendfile_threshold).
  bool SendsFromFile(uint64_t length) const;
  // Runs `fn` (returning a Status or Result) on the blocking pool and resumes on the caller's
  // executor; answers kUnavailable "server_busy" without running it when the pool is full.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&>> RunBlocking(F fn);

  core::Service& service_;
  core::Transformer& transformer_;
  core::Badges& badges_;
  boost::asio::thread_pool& blocking_;
  ApiOptions options_;
  std::function<bool()> ready_;
  std::atomic<size_t> blocking_in_flight_{0};
  std::string avatar_cache_control_;  // "public, max-age=N", built once
  RateLimiter api_limiter_;
  RateLimiter tag_limiter_;  // keyed "tagger:<user id>"
  // Shared with the event log's OnAdvance listener, which may outlive the Api.
  std::shared_ptr<EventWaiters> event_waiters_;
};

template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> Api::RunBlocking(F fn) {
  using R = std::invoke_result_t<F&>;
  struct Slot {
    std::atomic<size_t>& count;
    ~Slot() { --count; }
  };
  if (blocking_in_flight_.fetch_add(1) >= options_.max_blocking_queue) {
    --blocking_in_flight_;
    co_return R(Unavailable("the server is busy; retry shortly", "server_busy"));
  }
  Slot slot{blocking_in_flight_};
  // co_spawn's completion needs a default-constructible value, hence the optional.
  std::optional<R> out = co_await boost::asio::co_spawn(
      blocking_, [&fn]() -> boost::asio::awaitable<std::optional<R>> { co_return fn(); },
      boost::asio::use_awaitable);
  co_return std::move(*out);
}

}  // namespace glint::http
