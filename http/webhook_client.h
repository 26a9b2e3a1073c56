// Sends the webhook notifier's requests (core/notifier.h) over HTTP with libcurl: one POST
// per delivery, one blocking attempt; retrying belongs to the notifier.
//
// A request carries the event as JSON (application/json) and these headers:
//   X-Glint-Event: <type>            Idempotency-Key: <event seq>
//   X-Glint-Timestamp: <unix s>      X-Glint-Signature: sha256=<hex HMAC-SHA256 of
//                                    "<timestamp>.<body>" under the webhook secret>
// (no X-Glint-Signature without a secret). docs/operations.md says how a receiver verifies.
//
// Thread-safety: ParseWebhook is pure; a WebhookClient may be shared by any number of threads.
// Post blocks for up to the timeout: call it from a worker thread, never from an event loop.
#pragma once

#include <chrono>
#include <string_view>

#include "base/status.h"
#include "core/notifier.h"

namespace glint::http {

// core::ParseWebhookSpec, and the URL must be http or https with a host and no fragment.
// kInvalidArgument (reason "bad_webhook") otherwise.
Result<core::WebhookEndpoint> ParseWebhook(std::string_view spec);

class WebhookClient {
 public:
  // `timeout` bounds each request (connecting included).
  explicit WebhookClient(std::chrono::milliseconds timeout);

  // OK on a 2xx. kUnavailable (retry): connection failures, timeouts, 5xx, 408, 429.
  // kInvalidArgument (skip the event): any other answer. Reasons start with "webhook_"
  // (http/curl_request.h).
  Status Post(const core::WebhookEndpoint& endpoint, const core::WebhookDelivery& d) const;

 private:
  std::chrono::milliseconds timeout_;
};

}  // namespace glint::http
