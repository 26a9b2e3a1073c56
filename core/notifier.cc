#include "core/notifier.h"

#include <algorithm>
#include <map>
#include <optional>

#include <boost/json.hpp>

#include "base/log.h"
#include "core/event_json.h"
#include "core/upload_signer.h"

namespace glint::core {

bool WebhookEndpoint::Wants(std::string_view type) const {
  return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
}

Result<std::vector<std::string>> ParseEventTypes(std::string_view list) {
  std::vector<std::string> types;
  while (true) {
    const size_t comma = list.find(',');
    std::string_view t = list.substr(0, comma);
    if (t.empty() || !std::all_of(t.begin(), t.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        }))
      return InvalidArgument("event type \"" + std::string(t) + "\" is not like AVATAR_CHANGED");
    types.emplace_back(t);
    if (comma == std::string_view::npos) return types;
    list.remove_prefix(comma + 1);
  }
}

Result<WebhookEndpoint> ParseWebhookSpec(std::string_view spec) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("webhook \"" + std::string(spec) + "\": " + std::string(why),
                           "bad_webhook");
  };
  const size_t eq = spec.find('=');
  if (eq == std::string_view::npos) return bad("expected TYPE[,TYPE...]=URL or *=URL");
  WebhookEndpoint e;
  e.url = std::string(spec.substr(eq + 1));
  if (e.url.empty()) return bad("no URL");
  std::string_view types = spec.substr(0, eq);
  if (types == "*") return e;
  auto parsed = ParseEventTypes(types);
  if (!parsed.ok()) return bad(parsed.status().message());
  e.types = std::move(*parsed);
  return e;
}

std::string WebhookBody(const EventRecord& e, uint64_t collapsed) {
  boost::json::object o = EventJson(e);
  if (collapsed > 0) o["collapsed"] = collapsed;
  return boost::json::serialize(o);
}

std::vector<std::pair<std::string, std::string>> EventFields(const EventRecord& e) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [name, value] : EventJson(e)) {
    const bool text = value.is_string() && name != "payload";
    fields.emplace_back(std::string(name),
                        text ? std::string(value.get_string()) : boost::json::serialize(value));
  }
  return fields;
}

std::string WebhookSignature(std::string_view secret, std::string_view timestamp,
                             std::string_view body) {
  std::string signed_text;
  signed_text.reserve(timestamp.size() + 1 + body.size());
  signed_text.append(timestamp).append(".").append(body);
  return "sha256=" + HmacSha256Hex(secret, signed_text);
}

// One endpoint: its follower and, touched only on the follower's thread, the throttle state.
class Notifier::Endpoint {
 public:
  Endpoint(EventLog& log, const Clock& clock, WebhookEndpoint endpoint, Post post,
           const NotifierOptions& options)
      : clock_(clock),
        endpoint_(std::move(endpoint)),
        post_(std::move(post)),
        options_(options),
        follower_(
            log, "webhook:" + endpoint_.url,
            [this](const std::vector<EventRecord>& events) { return Deliver(events); },
            options.follow, [this] { return FlushClosedWindows(); }) {}

  Follower& follower() { return follower_; }

 private:
  struct Window {
    int64_t closes = 0;                 // unix seconds
    uint64_t collapsed = 0;             // events held back in this window
    std::optional<EventRecord> latest;  // the last of them
  };

  Status Send(const EventRecord& e, uint64_t collapsed) {
    WebhookDelivery d;
    d.seq = e.seq;
    d.type = e.type;
    d.timestamp = std::to_string(clock_.NowUnixSeconds());
    d.body = WebhookBody(e, collapsed);
    if (!options_.secret.empty())
      d.signature = WebhookSignature(options_.secret, d.timestamp, d.body);
    Status s = post_(endpoint_, d);
    if (s.code() == Code::kInvalidArgument) {
      log::Error("webhook " + endpoint_.url + " refused event " + std::to_string(e.seq) +
                 " (skipped): " + s.ToString());
      return Status::Ok();
    }
    return s;
  }

  Status Deliver(const std::vector<EventRecord>& events) {
    for (const EventRecord& e : events) {
      // A retried batch resumes after what this endpoint already handled.
      if (e.seq <= handled_) continue;
      if (endpoint_.Wants(e.type)) {
        if (!Throttled(e)) {
          GLINT_RETURN_IF_ERROR(Send(e, 0));
          if (e.recipient != 0 && options_.window.count() > 0) OpenWindow(e.recipient);
        }
      }
      handled_ = e.seq;
    }
    return Status::Ok();
  }

  // True when `e` is held back in its recipient's window (and counted there): the window is
  // open, or closed with held events that FlushClosedWindows has yet to send (so `e` joins
  // them rather than overtaking them).
  bool Throttled(const EventRecord& e) {
    if (e.recipient == 0 || options_.window.count() == 0) return false;
    auto it = windows_.find(e.recipient);
    if (it == windows_.end()) return false;
    Window& w = it->second;
    if (clock_.NowUnixSeconds() >= w.closes && w.collapsed == 0) return false;
    ++w.collapsed;
    w.latest = e;
    return true;
  }

  // After `recipient` was sent a notification at once: a window from now.
  void OpenWindow(uint64_t recipient) {
    auto it = windows_.find(recipient);
    if (it == windows_.end()) {
      if (windows_.size() >= options_.max_recipients) return;  // untracked: unthrottled
      it = windows_.emplace(recipient, Window{}).first;
    } else if (clock_.NowUnixSeconds() < it->second.closes || it->second.collapsed > 0) {
      return;  // `e` was held in it
    }
    it->second.closes = clock_.NowUnixSeconds() + options_.window.count();
  }

  Status FlushClosedWindows() {
    const int64_t now = clock_.NowUnixSeconds();
    for (auto it = windows_.begin(); it != windows_.end();) {
      Window& w = it->second;
      if (now < w.closes) {
        ++it;
        continue;
      }
      if (w.collapsed == 0) {
        it = windows_.erase(it);
        continue;
      }
      GLINT_RETURN_IF_ERROR(Send(*w.latest, w.collapsed));
      w = Window{now + options_.window.count(), 0, std::nullopt};
      ++it;
    }
    return Status::Ok();
  }

  const Clock& clock_;
  const WebhookEndpoint endpoint_;
  const Post post_;
  const NotifierOptions options_;
  uint64_t handled_ = 0;
  std::map<uint64_t, Window> windows_;  // by recipient
  Follower follower_;                   // last: its thread uses everything above
};

Notifier::Notifier(EventLog& log, const Clock& clock, std::vector<WebhookEndpoint> endpoints,
                   Post post, NotifierOptions options) {
  for (WebhookEndpoint& e : endpoints)
    endpoints_.push_back(std::make_unique<Endpoint>(log, clock, std::move(e), post, options));
}

Notifier::~Notifier() { Stop(); }

void Notifier::Start() {
  for (auto& e : endpoints_) e->follower().Start();
}

void Notifier::Stop() {
  for (auto& e : endpoints_) e->follower().Stop();
}

std::vector<std::string> Notifier::cursor_names() const {
  std::vector<std::string> out;
  for (const auto& e : endpoints_) out.push_back(e->follower().name());
  return out;
}

Follower::Stats Notifier::stats(size_t endpoint) const {
  return endpoints_.at(endpoint)->follower().stats();
}

}  // namespace glint::core
