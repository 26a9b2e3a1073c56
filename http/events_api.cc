// The event log for other backends: GET /v1/events (long-poll), GET /v1/events/consumers and
// DELETE /v1/events/consumers/{name} (and ?builtin=). Authorisation and the consumers' cursors are
// core's (core/service.h); this file parses, waits and shapes. Documented in docs/api.md.
#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "core/event_json.h"
#include "http/api_util.h"
#include "http/handlers.h"

namespace glint::http {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

constexpr uint64_t kDefaultEventLimit = 100;
constexpr uint64_t kMaxEventLimit = 1000;
constexpr uint64_t kMaxWaitSeconds = 60;
// A waiting poll wakes at least this often to notice a shutdown.
constexpr std::chrono::seconds kWaitSlice{1};

// An optional unsigned query parameter within [lo, hi]; `reason` names the 400.
Result<std::optional<uint64_t>> OptionalBounded(const Query& q, std::string_view key, uint64_t lo,
                                                uint64_t hi, std::string_view reason) {
  auto text = q.Get(key);
  if (!text) return std::optional<uint64_t>();
  auto n = ParseU64(*text);
  if (!n || *n < lo || *n > hi) {
    std::string msg = "'";
    msg.append(key).append("' must be an integer between ");
    msg.append(std::to_string(lo)).append(" and ").append(std::to_string(hi));
    return InvalidArgument(std::move(msg), std::string(reason));
  }
  return std::optional<uint64_t>(*n);
}

// "A,B,C" -> {"A","B","C"}; empty items are a 400 (which types exist is core's to judge).
Result<std::vector<std::string>> ParseTypes(const Query& q) {
  std::vector<std::string> out;
  auto text = q.Get("types");
  if (!text) return out;
  std::string_view rest = *text;
  while (true) {
    const size_t comma = rest.find(',');
    std::string_view t = rest.substr(0, comma);
    if (t.empty())
      return InvalidArgument(
          "'types' is a comma-separated list of event types, such as "
          "PHOTO_REGISTERED,PHOTO_DELETED",
          "invalid_types");
    out.emplace_back(t);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

awaitable<Response> Api::ListEvents(RequestContext& ctx) {
  auto actor = RequireBackend(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  Query q = ParseQuery(ctx);
  auto after =
      OptionalBounded(q, "after", 0, std::numeric_limits<uint64_t>::max(), "invalid_after");
  if (!after.ok()) co_return ErrorResponse(after.status());
  auto limit = OptionalBounded(q, "limit", 1, kMaxEventLimit, "invalid_limit");
  if (!limit.ok()) co_return ErrorResponse(limit.status());
  auto wait = OptionalBounded(q, "wait", 0, kMaxWaitSeconds, "invalid_wait");
  if (!wait.ok()) co_return ErrorResponse(wait.status());
  auto types = ParseTypes(q);
  if (!types.ok()) co_return ErrorResponse(types.status());
  const size_t max = limit->value_or(kDefaultEventLimit);
  const auto wait_for = std::chrono::seconds(wait->value_or(0));
  core::EventLog* log = service_.event_log();

  // An outside consumer: `after` is what it has handled (committed when it moved); without
  // one, it resumes at its cursor, and a new consumer starts at the oldest retained event.
  uint64_t from = after->value_or(0);
  const auto consumer = q.Get("consumer");
  std::optional<uint64_t> committed;
  std::string name;
  if (consumer) {
    name = std::string(*consumer);
    auto cursor = service_.ConsumerCursor(*actor, name);
    if (!cursor.ok()) co_return ErrorResponse(cursor.status());
    committed = *cursor;
    if (!*after) from = committed.value_or(log->FirstRetained() - 1);
  }
  // Every parameter (types, the log) is checked before the cursor moves or a wait begins.
  auto page = service_.ReadEvents(*actor, from, max, *types);
  if (!page.ok()) co_return ErrorResponse(page.status());
  if (consumer && committed != from) {
    auto commit = [&] { return service_.CommitConsumer(*actor, name, from); };
    Status s = co_await RunBlocking(commit);
    if (!s.ok()) co_return ErrorResponse(s);
  }
  if (page->events.empty() && wait_for.count() > 0) {
    auto ticket = event_waiters_->Enter();
    if (!ticket)
      co_return ErrorResponse(Unavailable(
          "too many long-polls are waiting for events; retry shortly", "too_many_waiters"));
    const auto deadline = std::chrono::steady_clock::now() + wait_for;
    // Only the events of `types` end the wait; the others move `next` along.
    while (page->events.empty() && ready_()) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      const auto slice = std::min(deadline, now + kWaitSlice);
      co_await event_waiters_->Wait(*log, page->next, slice);
      const uint64_t next = page->next;
      auto more = service_.ReadEvents(*actor, next, max, *types);
      if (!more.ok()) co_return ErrorResponse(more.status());
      page = std::move(more);
    }
  }

  json::array events;
  events.reserve(page->events.size());
  for (const core::EventRecord& e : page->events) events.push_back(core::EventJson(e));
  json::object out{{"events", std::move(events)},
                   {"next", page->next},
                   {"watermark", page->watermark},
                   {"first", page->first}};
  // Events after `from` that were trimmed before this read: the reader missed them.
  out["missed"] = page->first > from + 1;
  co_return JsonResponse(bhttp::status::ok, out);
}

awaitable<Response> Api::ListConsumers(RequestContext& ctx) {
  auto actor = RequireBackend(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto consumers = service_.ListConsumers(*actor);
  if (!consumers.ok()) co_return ErrorResponse(consumers.status());
  json::array arr;
  for (const core::ConsumerView& c : *consumers)
    arr.push_back(json::object{{"name", c.name},
                               {"kind", c.outside ? "outside" : "builtin"},
                               {"active", c.outside || c.active},
                               {"cursor", c.cursor},
                               {"lag", c.lag}});
  core::EventLog* log = service_.event_log();
  co_return JsonResponse(bhttp::status::ok, json::object{{"consumers", std::move(arr)},
                                                         {"watermark", log->Watermark()},
                                                         {"first", log->FirstRetained()}});
}

awaitable<Response> Api::DeleteConsumer(RequestContext& ctx) {
  auto actor = RequireBackend(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  const std::string name(ctx.Param("name"));
  auto remove = [&] { return service_.DeleteConsumer(*actor, name); };
  Status s = co_await RunBlocking(remove);
  if (!s.ok()) co_return ErrorResponse(s);
  co_return Response{bhttp::status::no_content, 11};
}

// DELETE /v1/events/consumers?builtin=<cursor name>: a built-in consumer's cursor (names
// hold ':' and '/', so they go in the query, percent-encoded).
awaitable<Response> Api::DeleteBuiltinConsumer(RequestContext& ctx) {
  auto actor = RequireBackend(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  const Query q = ParseQuery(ctx);
  const std::optional<std::string_view> builtin = q.Get("builtin");
  if (!builtin)
    co_return ErrorResponse(
        InvalidArgument("name the built-in consumer: ?builtin=<cursor name>", "invalid_consumer"));
  const std::string name(*builtin);
  auto remove = [&] { return service_.DeleteBuiltinConsumer(*actor, name); };
  Status s = co_await RunBlocking(remove);
  if (!s.ok()) co_return ErrorResponse(s);
  co_return Response{bhttp::status::no_content, 11};
}

}  // namespace glint::http
