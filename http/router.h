// Routing: (method, path) -> handler, with `{name}` path segments captured as parameters.
//
// A handler is pure (STYLE rule 7): it takes the parsed request and returns a response,
// with no socket in sight. A route may also have an `early` check, run by the session once
// the header is read and before the body is, so that a large body that would be refused
// (bad signature, too large) is never read; and its own body limit.
//
// Matching: the route with the most literal segments wins, so "/healthz" beats "/{hash}".
// A path that matches only under other methods is a 405 with Allow. HEAD is served by the
// GET route (the session drops the body).
//
// Thread-safety: build the router on one thread before the server starts; then Find and
// the handlers may be used from every event loop at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/url/url_view.hpp>

#include "http/errors.h"
#include "http/file_body.h"

namespace glint::http {

using PathParams = std::vector<std::pair<std::string_view, std::string>>;

// Everything a handler sees of one request.
struct RequestContext {
  const Request& request;
  std::string_view path;  // decoded path, without the query
  // The parsed target. Read the query through url.params(): in Boost 1.81,
  // urls::parse_query() over a view into a larger buffer reads past its end.
  boost::urls::url_view url;
  PathParams params;  // captured {name} segments, percent-decoded
  std::string_view request_id;
  // Set by an early check to read less than the route's body limit (e.g. a signed URL's cap,
  // which a chunked body would otherwise not be held to).
  std::optional<uint64_t> body_limit;
  // The peer's IP address (for per-client rate limits); "" when unknown.
  std::string_view client;

  // The captured parameter `name`, or "" when absent.
  std::string_view Param(std::string_view name) const;
  // The Content-Length the client declared (the body may not be read yet), if any.
  std::optional<uint64_t> DeclaredLength() const;
};

// A response body made over time (Server-Sent Events). The session sends the header with
// Transfer-Encoding: chunked, then each chunk Next() yields as one HTTP chunk, until Next()
// yields nullopt, the client closes the connection (or sends anything), a write fails or
// the server drains; then it ends the body and closes the connection. While Next() waits,
// no thread is held: it must wait asynchronously (timers, posted notifications).
// Next() runs on the session's executor, one call at a time; when the session stops
// waiting it cancels the call (terminal cancellation) and drops the source.
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // The next chunk (non-empty), or nullopt when the body is complete.
  virtual boost::asio::awaitable<std::optional<std::string>> Next() = 0;
};

// What a handler answers: `response`, whose body is in memory; or, when `file` is set, the
// header of a response whose body is `file`, which the session sends with sendfile(2). The
// session then ignores response.body() and sets Content-Length to file->length (HEAD sends
// the header alone, as for any response). When `stream` is set, the body is the stream's
// chunks instead (response.body() ignored; HEAD sends the header alone, without a body).
struct Reply {
  Reply() = default;
  Reply(Response r) : response(std::move(r)) {}  // NOLINT: implicit, any Response is a Reply
  Response response;
  std::optional<FileBody> file;
  std::shared_ptr<StreamSource> stream;
};

using Handler = std::function<boost::asio::awaitable<Reply>(RequestContext&)>;
// Runs before the body is read; a response means "refuse with this" (the connection is then
// closed, since the unread body cannot be skipped safely).
using EarlyCheck = std::function<std::optional<Response>(RequestContext&)>;

struct Route {
  bhttp::verb method;
  std::string pattern;  // "/v1/photos/{id}"
  uint64_t body_limit = 0;
  Handler handler;
  EarlyCheck early;
  std::vector<std::string> segments;  // pattern split on '/'
};

class Router {
 public:
  // Adds a route. `body_limit` is the largest body the session will read for it.
  void Add(bhttp::verb method, std::string pattern, uint64_t body_limit, Handler handler,
           EarlyCheck early = {});

  struct Match {
    enum Kind { kFound, kNotFound, kMethodNotAllowed } kind = kNotFound;
    const Route* route = nullptr;
    PathParams params;
    std::string allow;  // for kMethodNotAllowed: "GET, HEAD, POST"
  };
  // `path` is the decoded request path.
  Match Find(bhttp::verb method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace glint::http
