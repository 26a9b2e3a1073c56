// One blocking HTTP request with libcurl, its outcome translated to the error vocabulary: the
// shared transport of the outgoing clients (CDN purges, webhooks). Retrying and backoff belong
// to the caller (core/follower.h).
//
// Thread-safety: any thread; each call uses its own curl handle. Blocks for up to `timeout`:
// call it from a worker thread, never from an event loop.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace glint::http {

// curl_global_init, once per process; call before the first request (constructors do).
void InitCurl();

// Empty when `url` is an absolute http or https URL with a host and no fragment (and, when
// `base`, no query either); else what is wrong with it.
std::string HttpUrlProblem(std::string_view url, bool base);

// Sends `method url` with `headers` ("Name: value") and, when `body` is not null, that body.
// `label` ("purge", "webhook") starts the message and the reasons:
//   OK               a 2xx answer (a 404 too when `not_found_ok`);
//   kUnavailable     retry later: connection refused or reset, DNS failure, timeout, a 5xx,
//                    408 or 429 (reason "<label>_unavailable");
//   kInvalidArgument do not retry: any other answer (reason "<label>_rejected");
//   kPermissionDenied  the TLS peer failed verification (reason "<label>_tls");
//   kInternal        any other libcurl failure (reason "<label>_unexpected").
// Messages name the method, the URL, the HTTP status and the start of the answer's body.
Status CurlRequest(std::string_view label, std::string_view method, const std::string& url,
                   const std::vector<std::string>& headers, const std::string* body,
                   std::chrono::milliseconds timeout, bool not_found_ok);

}  // namespace glint::http
