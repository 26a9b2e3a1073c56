// The newly-unread badge: POST /v1/badges/events (other backends, service token), GET
// /v1/badges/stats, and the receiver's /v1/me/badge, /badge/ack and /badge/stream (Server-
// Sent Events), also as /v1/users/{user}/badge... for an admin. Counting and authorisation
// are core's (core/badge.h); this file parses and shapes. Documented in docs/api.md.
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include "http/api_util.h"
#include "http/handlers.h"

namespace glint::http {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

constexpr std::chrono::seconds kKeepAlive{15};

Status EventError(size_t index, std::string_view what) {
  return InvalidArgument("event " + std::to_string(index) + ": " + std::string(what),
                         "invalid_event");
}

// {"src": id, "dest": id} (ids also as decimal strings; other fields are ignored).
Result<core::BadgeEvent> EventFromJson(size_t index, const json::value& v) {
  if (!v.is_object()) return EventError(index, "must be an object {\"src\": id, \"dest\": id}");
  core::BadgeEvent e;
  for (auto [key, target] :
       {std::pair<std::string_view, uint64_t*>{"src", &e.src}, {"dest", &e.dest}}) {
    auto n = OptionalU64(v.as_object(), key);
    if (!n.ok() || !*n || **n == 0) {
      std::string what = "'";
      what.append(key).append("' must be a positive user id");
      return EventError(index, what);
    }
    *target = **n;
  }
  if (e.src == e.dest) return EventError(index, "'src' and 'dest' must differ");
  return e;
}

Status TooMany(size_t max) {
  return TooLarge("a batch holds at most " + std::to_string(max) + " events", "batch_too_large");
}

// The events of a JSON array body, or of an NDJSON body (one object per line).
Result<std::vector<core::BadgeEvent>> ParseEvents(const RequestContext& ctx, size_t max) {
  const std::string& body = ctx.request.body();
  std::vector<core::BadgeEvent> events;
  const bool ndjson = ctx.request[bhttp::field::content_type].starts_with("application/x-ndjson");
  if (ndjson) {
    size_t pos = 0;
    size_t line_no = 0;
    while (pos < body.size()) {
      size_t end = body.find('\n', pos);
      if (end == std::string::npos) end = body.size();
      std::string_view line(body.data() + pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      if (ec)
        return InvalidArgument("line " + std::to_string(line_no) + " is not JSON: " + ec.message(),
                               "invalid_json");
      if (events.size() == max) return TooMany(max);
      GLINT_ASSIGN_OR_RETURN(core::BadgeEvent e, EventFromJson(events.size(), v));
      events.push_back(e);
    }
  } else {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) return InvalidArgument("the body is not JSON: " + ec.message(), "invalid_json");
    if (!v.is_array())
      return InvalidArgument(
          "the body must be a JSON array of {\"src\", \"dest\"} objects (or NDJSON with "
          "Content-Type: application/x-ndjson)",
          "invalid_body");
    const json::array& a = v.as_array();
    if (a.size() > max) return TooMany(max);
    for (size_t i = 0; i < a.size(); ++i) {
      GLINT_ASSIGN_OR_RETURN(core::BadgeEvent e, EventFromJson(i, a[i]));
      events.push_back(e);
    }
  }
  if (events.empty()) return InvalidArgument("the batch holds no events", "invalid_body");
  return events;
}

Response CountResponse(uint64_t count) {
  return JsonResponse(bhttp::status::ok, json::object{{"count", count}});
}

std::string BadgeEvent(uint64_t count) {
  return "event: badge\ndata: {\"count\":" + std::to_string(count) + "}\n\n";
}

// A receiver's count as Server-Sent Events: the count when it opened, then every change
// (only the latest when several come between two sends), and a comment every kKeepAlive so
// proxies keep an idle stream open. The Watch it holds makes the receiver online.
class BadgeEvents : public StreamSource, public std::enable_shared_from_this<BadgeEvents> {
 public:
  explicit BadgeEvents(asio::any_io_executor executor) : timer_(executor) {}

  // Called on the badge writer's thread with the stripe locked: hand on and return.
  core::Badges::OnCount Listener() {
    return [weak = weak_from_this(), executor = timer_.get_executor()](uint64_t count) {
      if (auto self = weak.lock()) {
        std::lock_guard lock(self->mu_);
        self->latest_ = count;
      }
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) {
          self->woken_ = true;
          self->timer_.cancel();
        }
      });
    };
  }
  void Begin(std::unique_ptr<core::Badges::Watch> watch) {
    sent_ = watch->initial_count();
    watch_ = std::move(watch);
  }

  awaitable<std::optional<std::string>> Next() override {
    if (!started_) {
      started_ = true;
      co_return "retry: 5000\n" + BadgeEvent(sent_);
    }
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (latest_ && *latest_ != sent_) {
          sent_ = *latest_;
          latest_.reset();
          co_return BadgeEvent(sent_);
        }
        latest_.reset();
      }
      woken_ = false;
      timer_.expires_after(kKeepAlive);
      auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (!ec) co_return std::string(": keep-alive\n\n");
      if (!woken_) co_return std::nullopt;  // cancelled by the session: it is ending
    }
  }

 private:
  asio::steady_timer timer_;  // only on the session's executor
  bool started_ = false;      // only on the session's executor
  bool woken_ = false;        // only on the session's executor
  uint64_t sent_ = 0;         // only on the session's executor
  std::mutex mu_;
  std::optional<uint64_t> latest_;  // GUARDED_BY(mu_)
  // Last: unregistered first, so no callback outlives the members above.
  std::unique_ptr<core::Badges::Watch> watch_;
};

json::object StatsJson(const core::Badges::Stats& s) {
  return json::object{{"received", s.received},
                      {"absorbed", s.absorbed},
                      {"durable_writes", s.durable_writes},
                      {"skipped_online", s.skipped_online},
                      {"disk_hits", s.disk_hits},
                      {"evictions", s.evictions},
                      {"batches", s.batches},
                      {"acks", s.acks}};
}

}  // namespace

awaitable<Response> Api::IngestBadgeEvents(RequestContext& ctx) {
  auto actor = RequireBackend(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto events = ParseEvents(ctx, badges_.options().max_batch);
  if (!events.ok()) co_return ErrorResponse(events.status());
  auto done = co_await RunBlocking([&] { return badges_.Ingest(*actor, *events); });
  if (!done.ok()) co_return ErrorResponse(done.status());
  co_return JsonResponse(bhttp::status::ok, json::object{{"received", done->received},
                                                         {"counted", done->counted},
                                                         {"absorbed", done->absorbed},
                                                         {"skipped", done->skipped}});
}

awaitable<Response> Api::BadgeStats(RequestContext& ctx) {
  auto actor = RequireBackend(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  json::object body = StatsJson(badges_.stats());
  co_return JsonResponse(bhttp::status::ok, body);
}

awaitable<Response> Api::GetBadge(RequestContext& ctx) {
  auto acting = ActingFor(ctx);
  if (!acting.ok()) co_return ErrorResponse(acting.status());
  auto count = badges_.Count(acting->actor, acting->user);
  if (!count.ok()) co_return ErrorResponse(count.status());
  co_return CountResponse(*count);
}

awaitable<Response> Api::AckBadge(RequestContext& ctx) {
  auto acting = ActingFor(ctx);
  if (!acting.ok()) co_return ErrorResponse(acting.status());
  auto reset = co_await RunBlocking([&] { return badges_.Ack(acting->actor, acting->user); });
  if (!reset.ok()) co_return ErrorResponse(reset.status());
  co_return CountResponse(0);
}

awaitable<Reply> Api::BadgeStream(RequestContext& ctx) {
  auto acting = ActingFor(ctx);
  if (!acting.ok()) co_return ErrorResponse(acting.status());
  auto executor = co_await asio::this_coro::executor;
  auto source = std::make_shared<BadgeEvents>(executor);
  auto watch = badges_.Subscribe(acting->actor, acting->user, source->Listener());
  if (!watch.ok()) co_return ErrorResponse(watch.status());
  source->Begin(std::move(*watch));
  Reply reply;
  reply.response.result(bhttp::status::ok);
  reply.response.set(bhttp::field::content_type, "text/event-stream");
  reply.response.set(bhttp::field::cache_control, "no-cache");
  reply.response.set("X-Accel-Buffering", "no");  // nginx: pass events on as they come
  reply.stream = std::move(source);
  co_return reply;
}

}  // namespace glint::http
