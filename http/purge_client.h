// Tells the CDNs and caching proxies in front of glint to drop cached copies of an object
// (an avatar that changed): one blocking attempt against one target, over HTTP with libcurl.
// Retrying, backoff and the choice of targets belong to the caller (the purge worker).
//
// Three kinds of target, written in configuration as "<kind>:<url>":
//   ban:http://127.0.0.1:6081       a Varnish running deploy/varnish/glint.vcl: one
//                                   `BAN <url>/` with `Surrogate-Key: k1 k2 ...`, which bans
//                                   every cached variant tagged with any of the keys.
//   purge:http://127.0.0.1:8081     exact purges, nginx proxy_cache_purge style: one
//                                   `PURGE <url><path>` per path.
//   purge:http://127.0.0.1:8081/*   prefix purges: one `PURGE <url><path>*` per path, so
//                                   "/avatar/<md5>" also drops "/avatar/<md5>?s=80" and
//                                   "/avatar/<md5>.jpg". Supported by glint.vcl and by nginx's
//                                   cache_purge module; a peer without wildcard support would
//                                   look the literal "*" URL up and drop nothing.
//   webhook:https://cdn.example/purge?tag={key}
//                                   `POST` of {"keys":[...],"paths":[...]} (application/json)
//                                   to the URL with "{key}" and "{path}" replaced,
//                                   percent-encoded (every byte outside A-Z a-z 0-9 "-._~").
//                                   A template naming {path} is posted once per path (its
//                                   {key}, if any, is every key joined by a space); else one
//                                   naming {key} once per key; else exactly once.
// Only http and https URLs with a host are accepted; ban and purge URLs take no query or
// fragment.
//
// Thread-safety: ParsePurgeTarget is a pure function; a PurgeClient may be shared by any
// number of threads (each Purge uses its own curl handle). Purge blocks for up to the
// timeout per request: call it from a worker thread, never from an event loop.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace glint::http {

struct PurgeTarget {
  enum class Kind { kBan, kPurge, kWebhook } kind = Kind::kBan;
  // kBan / kPurge: the proxy's base URL, "http://127.0.0.1:6081" (a trailing "*" on a kPurge
  // URL asks for prefix purges, see above); kWebhook: the URL template.
  std::string url;
};

// Parses "ban:URL", "purge:URL" or "webhook:TEMPLATE" (the URL is validated with Boost.URL,
// a template after its placeholders are filled). kInvalidArgument (reason
// "bad_purge_target") with a message naming the spec and what is wrong otherwise.
Result<PurgeTarget> ParsePurgeTarget(std::string_view spec);

// What to drop: the surrogate keys the object was tagged with, and the URL paths it was
// served under.
struct PurgeJob {
  std::vector<std::string> keys;   // surrogate keys, e.g. "avatar-<sha256hex>"
  std::vector<std::string> paths;  // URL paths, e.g. "/avatar/<md5hex>", "/<sha256hex>.json"
};

class PurgeClient {
 public:
  // `timeout` bounds each request (connecting included).
  explicit PurgeClient(std::chrono::milliseconds timeout);

  // One attempt at making `target` drop what `job` names; requests for one job go out one
  // after another and the first failure ends the attempt. A job with nothing for the
  // target's kind (no keys for kBan, no paths for kPurge or a {path} template, no keys for a
  // {key} template, neither for a webhook) sends nothing and is OK.
  //   OK             every request was answered 2xx (a 404 to a PURGE too: nothing cached);
  //   kUnavailable   retry later: connection refused or reset, DNS failure, timeout, a 5xx,
  //                  408 or 429 (reason "purge_unavailable");
  //   kInvalidArgument  do not retry: any other answer, such as 403 from a proxy whose ACL
  //                  refuses glint, or 400 (reason "purge_rejected"); a key or path that
  //                  cannot be sent (empty, or with spaces or control characters), or a target
  //                  that does not parse (reason "bad_purge_job" / "bad_purge_target");
  //   kPermissionDenied  the TLS peer failed verification (reason "purge_tls");
  //   kInternal      any other libcurl failure (reason "purge_unexpected").
  // Messages name the method, the URL and the HTTP status.
  Status Purge(const PurgeTarget& target, const PurgeJob& job) const;

 private:
  std::chrono::milliseconds timeout_;
};

}  // namespace glint::http
