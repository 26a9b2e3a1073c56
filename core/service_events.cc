// The event log as other backends see it (core/service.h): authorisation and the outside
// consumers' cursors ("ext:<name>" rows of the cursors CF, beside the built-in consumers').
#include <algorithm>

#include "core/service.h"
#include "storage/record.h"

namespace glint::core {
namespace {

constexpr std::string_view kOutsidePrefix = "ext:";

std::string OutsideCursor(std::string_view name) {
  return std::string(kOutsidePrefix) + std::string(name);
}

// The cursor row of outside consumer `name`, nullopt when there is none.
Result<std::optional<uint64_t>> FindCursor(const storage::Db& db, std::string_view name) {
  GLINT_ASSIGN_OR_RETURN(auto row, db.Get(storage::Cf::kCursors, OutsideCursor(name)));
  if (!row) return std::optional<uint64_t>();
  auto seq = storage::ReadU64BE(*row);
  if (!seq) return Corruption("malformed cursor of consumer '" + std::string(name) + "'");
  return std::optional<uint64_t>(*seq);
}

Status RequireBackend(const Principal& actor) {
  if (!actor.authenticated())
    return Unauthenticated("this call takes the service token (or the admin token)",
                           "login_required");
  if (!actor.backend())
    return PermissionDenied("this call takes the service token (or the admin token)",
                            "service_token_required");
  return Status::Ok();
}

Status CheckConsumerName(std::string_view name) {
  if (!ValidConsumerName(name))
    return InvalidArgument("a consumer name is 1 to 64 of a-z, 0-9, '_', '.' and '-'",
                           "invalid_consumer");
  return Status::Ok();
}

}  // namespace

bool ValidConsumerName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

Result<EventPage> Service::ReadEvents(const Principal& actor, uint64_t after, size_t limit,
                                      const std::vector<std::string>& types) const {
  GLINT_RETURN_IF_ERROR(RequireBackend(actor));
  for (const std::string& t : types)
    if (std::find(std::begin(kEventTypes), std::end(kEventTypes), t) == std::end(kEventTypes))
      return InvalidArgument("glint writes no event of type \"" + t + "\"", "unknown_event_type");
  if (!events_) return Unavailable("this server keeps no event log", "events_disabled");
  GLINT_ASSIGN_OR_RETURN(EventPage page, events_->ReadPage(after, limit));
  if (!types.empty())
    std::erase_if(page.events, [&](const EventRecord& e) {
      return std::find(types.begin(), types.end(), e.type) == types.end();
    });
  return page;
}

Result<std::optional<uint64_t>> Service::ConsumerCursor(const Principal& actor,
                                                        std::string_view name) const {
  GLINT_RETURN_IF_ERROR(RequireBackend(actor));
  GLINT_RETURN_IF_ERROR(CheckConsumerName(name));
  if (!events_) return Unavailable("this server keeps no event log", "events_disabled");
  return FindCursor(db_, name);
}

Status Service::CommitConsumer(const Principal& actor, std::string_view name, uint64_t seq) {
  GLINT_RETURN_IF_ERROR(RequireBackend(actor));
  GLINT_RETURN_IF_ERROR(CheckConsumerName(name));
  if (!events_) return Unavailable("this server keeps no event log", "events_disabled");
  return events_->Commit(OutsideCursor(name), seq);
}

Result<std::vector<ConsumerView>> Service::ListConsumers(const Principal& actor) const {
  GLINT_RETURN_IF_ERROR(RequireBackend(actor));
  if (!events_) return Unavailable("this server keeps no event log", "events_disabled");
  const uint64_t watermark = events_->Watermark();
  GLINT_ASSIGN_OR_RETURN(std::vector<CursorRow> rows, events_->Cursors());
  std::vector<ConsumerView> out;
  out.reserve(rows.size());
  for (CursorRow& r : rows) {
    ConsumerView v;
    v.outside = r.name.starts_with(kOutsidePrefix);
    v.name = v.outside ? r.name.substr(kOutsidePrefix.size()) : std::move(r.name);
    v.active = !v.outside && IsActiveConsumer(v.name);
    v.cursor = r.seq;
    v.lag = watermark > r.seq ? watermark - r.seq : 0;
    out.push_back(std::move(v));
  }
  return out;
}

Status Service::DeleteConsumer(const Principal& actor, std::string_view name) {
  GLINT_RETURN_IF_ERROR(RequireBackend(actor));
  if (!actor.admin)
    return PermissionDenied("only the admin token removes consumers", "admin_required");
  GLINT_RETURN_IF_ERROR(CheckConsumerName(name));
  if (!events_) return Unavailable("this server keeps no event log", "events_disabled");
  GLINT_ASSIGN_OR_RETURN(auto cursor, FindCursor(db_, name));
  if (!cursor) return NotFound("no consumer \"" + std::string(name) + "\"", "consumer_not_found");
  return events_->DeleteCursor(OutsideCursor(name));
}

Status Service::DeleteBuiltinConsumer(const Principal& actor, std::string_view name) {
  GLINT_RETURN_IF_ERROR(RequireBackend(actor));
  if (!actor.admin)
    return PermissionDenied("only the admin token removes consumers", "admin_required");
  if (name.empty() || name.size() > 4096 || name.starts_with(kOutsidePrefix))
    return InvalidArgument(
        "name a built-in consumer's cursor as GET /v1/events/consumers lists it (outside "
        "consumers are deleted by their own name)",
        "invalid_consumer");
  if (!events_) return Unavailable("this server keeps no event log", "events_disabled");
  if (IsActiveConsumer(name))
    return Conflict("consumer \"" + std::string(name) +
                        "\" runs in this server: remove it from the configuration first",
                    "consumer_active");
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(storage::Cf::kCursors, name));
  if (!row) return NotFound("no consumer \"" + std::string(name) + "\"", "consumer_not_found");
  return events_->DeleteCursor(name);
}

void Service::SetActiveConsumers(std::vector<std::string> names) {
  std::lock_guard lock(active_consumers_mu_);
  active_consumers_ = std::move(names);
}

bool Service::IsActiveConsumer(std::string_view name) const {
  std::lock_guard lock(active_consumers_mu_);
  return std::find(active_consumers_.begin(), active_consumers_.end(), name) !=
         active_consumers_.end();
}

}  // namespace glint::core
