// The webhook notifier: a consumer of the event log (core/events.h) that POSTs events to the
// configured endpoints, each endpoint its own follower (core/follower.h) with its own thread
// and cursor ("webhook:<url>"), so a dead endpoint holds back only itself, never the others
// and never the request that made the change.
//
// Delivery: one event per request, in sequence order, at-least-once (a crash between a
// delivery and its cursor write repeats it; receivers drop repeats by the Idempotency-Key,
// which is the event's sequence). An endpoint only gets the types it asked for; the cursor
// moves past the others. A refused request (kInvalidArgument: a 4xx other than 408/429) is
// logged and that event skipped; anything else is retried with exponential backoff.
//
// Throttling (window > 0): events with a recipient are notifications to that user. Per
// endpoint and recipient, the first is sent at once and opens a window of `window` seconds;
// the later ones inside it are not sent one by one: when the window closes, one request
// carries the latest of them with "collapsed": <how many it stands for> (and opens a new
// window). So a recipient gets at most one notification per window per endpoint. At most
// `max_recipients` recipients are tracked per endpoint; when that many windows are open, a
// notification to another recipient is sent at once, unthrottled. A collapsed notification
// still waiting when glint stops or crashes is lost (its events are behind the cursor); every
// request that is sent is at-least-once.
//
// Thread-safety: Start/Stop from one thread; stats() from any. `post` is called from the
// endpoints' threads, one call at a time per endpoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "core/events.h"
#include "core/follower.h"

namespace glint::core {

struct WebhookEndpoint {
  std::string url;
  std::vector<std::string> types;  // the event types it gets; empty: every type ("*")
  bool Wants(std::string_view type) const;
};

// Parses "TYPE[,TYPE...]" into its types: each of upper-case letters, digits and '_'.
// kInvalidArgument naming the first bad type otherwise (an empty item included).
Result<std::vector<std::string>> ParseEventTypes(std::string_view list);

// Parses "TYPE[,TYPE...]=URL" or "*=URL" (the URL itself is not checked here). Types as
// ParseEventTypes. kInvalidArgument (reason "bad_webhook") otherwise.
Result<WebhookEndpoint> ParseWebhookSpec(std::string_view spec);

// One request to make, with the headers' values.
struct WebhookDelivery {
  uint64_t seq = 0;       // Idempotency-Key
  std::string type;       // X-Glint-Event
  std::string timestamp;  // X-Glint-Timestamp: unix seconds when it was signed
  std::string body;       // application/json, see WebhookBody
  std::string signature;  // X-Glint-Signature: "sha256=<hex>" (empty without a secret)
};

// The event's JSON (core/event_json.h EventJson) and, when `collapsed` > 0, "collapsed": n.
std::string WebhookBody(const EventRecord& e, uint64_t collapsed);

// The members of WebhookBody(e, 0) in the same order, as (name, text) pairs for stores whose
// values are strings (Redis Streams): a string as it is, a number in decimal, the payload as
// JSON text (an object, or a string when the payload is not a JSON object).
std::vector<std::pair<std::string, std::string>> EventFields(const EventRecord& e);

// "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body).
std::string WebhookSignature(std::string_view secret, std::string_view timestamp,
                             std::string_view body);

struct NotifierOptions {
  FollowerOptions follow;
  std::string secret;               // signs every request; empty: unsigned
  std::chrono::seconds window{60};  // throttling window; 0: no throttling
  size_t max_recipients = 10000;    // tracked recipients per endpoint
};

class Notifier {
 public:
  // One attempt at one request; the codes mean what Follower::Deliver's do.
  using Post = std::function<Status(const WebhookEndpoint& endpoint, const WebhookDelivery& d)>;

  // `log` and `clock` must outlive the notifier.
  Notifier(EventLog& log, const Clock& clock, std::vector<WebhookEndpoint> endpoints, Post post,
           NotifierOptions options);
  ~Notifier();  // Stop()

  void Start();
  void Stop();
  Follower::Stats stats(size_t endpoint) const;
  // The endpoints' cursor names ("webhook:<url>").
  std::vector<std::string> cursor_names() const;

 private:
  class Endpoint;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
};

}  // namespace glint::core
