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
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "core/service.h"
#include "core/transform.h"
#include "core/transformer.h"
#include "http/router.h"

namespace glint::http {

struct ApiOptions {
  std::string public_url;            // "https://img.example.com"; empty: from the Host header
  int avatar_max_age_seconds = 300;  // Cache-Control max-age of avatars (Gravatar's value)
  uint64_t max_json_bytes = 64 << 10;
  // Writes and password hashes waiting for or running on the blocking pool; past it the
  // request is answered 503 (Retry-After) instead of queueing without bound.
  size_t max_blocking_queue = 256;
  core::TransformLimits transform_limits;
  // Originals (no transform) larger than this are sent from their blob segment with
  // sendfile(2), verified in place and never copied into memory; smaller ones are read
  // through the blob cache. 0 = always read into memory. Rendered variants always are.
  uint64_t sendfile_threshold = 256 << 10;
};

class Api {
 public:
  // `ready` tells /readyz whether the server accepts traffic (false while draining).
  Api(core::Service& service, core::Transformer& transformer, boost::asio::thread_pool& blocking,
      ApiOptions options, std::function<bool()> ready);

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
  boost::asio::awaitable<Reply> Raw(RequestContext& ctx);
  boost::asio::awaitable<Reply> PhotoImage(RequestContext& ctx);
  // Serves `source` as stored (no transform asked; validated by `source_etag`; from its
  // file when larger than sendfile_threshold) or the variant the query names.
  boost::asio::awaitable<Reply> ServeImage(RequestContext& ctx, const core::SourceRef& source,
                                           codec::Format source_format,
                                           const std::string& source_etag,
                                           std::string_view cache_control,
                                           std::span<const std::string_view> ignored);

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
  boost::asio::thread_pool& blocking_;
  ApiOptions options_;
  std::function<bool()> ready_;
  std::atomic<size_t> blocking_in_flight_{0};
  std::string avatar_cache_control_;  // "public, max-age=N", built once
};

}  // namespace glint::http
