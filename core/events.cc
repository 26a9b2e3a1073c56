#include "core/events.h"

#include <algorithm>
#include <limits>

#include "base/log.h"
#include "storage/record.h"

namespace glint::core {
namespace {

using storage::Cf;

// Key 0 of the events CF is no event (sequences start at 1): its value is the sequence the
// log is trimmed through (docs/formats.md).
const std::string kTrimmedKey = storage::U64Key(0);

}  // namespace

Result<std::unique_ptr<EventLog>> EventLog::Open(storage::Db& db, const Clock& clock) {
  uint64_t trimmed = 0;
  GLINT_ASSIGN_OR_RETURN(auto marker, db.Get(Cf::kEvents, kTrimmedKey));
  if (marker) {
    auto seq = storage::ReadU64BE(*marker);
    if (!seq || marker->size() != 8) return Corruption("malformed trim mark in the events table");
    trimmed = *seq;
  }
  GLINT_ASSIGN_OR_RETURN(auto last, db.LastKey(Cf::kEvents));
  // With every event trimmed only the mark is left: the sequence goes on after it.
  uint64_t next = trimmed + 1;
  if (last) {
    auto seq = storage::ReadU64BE(*last);
    if (!seq || last->size() != 8) return Corruption("malformed key in the events table");
    next = std::max(next, *seq + 1);
  }
  return std::unique_ptr<EventLog>(new EventLog(db, clock, next, trimmed));
}

EventLog::EventLog(storage::Db& db, const Clock& clock, uint64_t next, uint64_t trimmed)
    : db_(db), clock_(clock), next_(next), trimmed_(trimmed) {}

EventLog::Staged::Staged(Staged&& other) noexcept
    : log_(std::exchange(other.log_, nullptr)), seqs_(std::move(other.seqs_)) {}

EventLog::Staged& EventLog::Staged::operator=(Staged&& other) noexcept {
  if (this != &other) {
    if (log_) log_->Settle(seqs_);
    log_ = std::exchange(other.log_, nullptr);
    seqs_ = std::move(other.seqs_);
  }
  return *this;
}

EventLog::Staged::~Staged() {
  if (log_) log_->Settle(seqs_);
}

void EventLog::Staged::Done(const Status&) {
  // Written or not, the sequences stop holding the watermark back: a failed write is a gap.
  if (log_) log_->Settle(seqs_);
  log_ = nullptr;
}

EventLog::Staged EventLog::Stage(storage::WriteBatch& batch, std::vector<EventRecord> events) {
  Staged staged;
  if (events.empty()) return staged;
  staged.log_ = this;
  const int64_t now = clock_.NowUnixSeconds();
  std::lock_guard lock(mu_);
  for (EventRecord& e : events) {
    e.seq = next_++;
    e.time = now;
    open_.insert(e.seq);
    staged.seqs_.push_back(e.seq);
    batch.Put(Cf::kEvents, storage::U64Key(e.seq), e.Encode());
  }
  return staged;
}

void EventLog::Settle(const std::vector<uint64_t>& seqs) {
  uint64_t before = 0, after = 0;
  {
    std::lock_guard lock(mu_);
    before = WatermarkLocked();
    for (uint64_t s : seqs) open_.erase(s);
    after = WatermarkLocked();
  }
  advanced_.notify_all();
  if (after <= before) return;
  std::lock_guard lock(listeners_mu_);
  for (const auto& listener : listeners_) listener(after);
}

void EventLog::OnAdvance(std::function<void(uint64_t)> listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

uint64_t EventLog::WatermarkLocked() const {
  return open_.empty() ? next_ - 1 : *open_.begin() - 1;
}

uint64_t EventLog::Watermark() const {
  std::lock_guard lock(mu_);
  return WatermarkLocked();
}

bool EventLog::WaitBeyond(uint64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return advanced_.wait_for(lock, timeout, [&] { return WatermarkLocked() > after; });
}

Result<std::vector<EventRecord>> EventLog::Read(uint64_t after, size_t limit) const {
  GLINT_ASSIGN_OR_RETURN(EventPage page, ReadPage(after, limit));
  return std::move(page.events);
}

Result<EventPage> EventLog::ReadPage(uint64_t after, size_t limit) const {
  const uint64_t upto = Watermark();
  EventPage page;
  page.watermark = upto;
  page.next = std::max(after, upto);
  std::vector<EventRecord>& out = page.events;
  if (after >= upto || limit == 0) {
    page.next = after;
    page.first = FirstRetained();
    return page;
  }
  Status decode;
  GLINT_RETURN_IF_ERROR(db_.ScanFrom(Cf::kEvents, storage::U64Key(after + 1), limit,
                                     [&](std::string_view key, std::string_view value) {
                                       auto seq = storage::ReadU64BE(key);
                                       if (!seq || *seq > upto) return false;
                                       auto e = EventRecord::Decode(value);
                                       if (!e.ok()) {
                                         decode = e.status();
                                         return false;
                                       }
                                       e->seq = *seq;
                                       out.push_back(std::move(*e));
                                       return true;
                                     }));
  GLINT_RETURN_IF_ERROR(decode);
  if (out.size() == limit) page.next = out.back().seq;
  // After the read: a trim that raced it is reported, never hidden.
  page.first = FirstRetained();
  return page;
}

Result<uint64_t> EventLog::Cursor(std::string_view name) const {
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kCursors, name));
  if (!row) return uint64_t{0};
  auto seq = storage::ReadU64BE(*row);
  if (!seq) return Corruption("malformed cursor '" + std::string(name) + "'");
  return *seq;
}

Status EventLog::Commit(std::string_view name, uint64_t seq) {
  storage::WriteBatch batch;
  batch.Put(Cf::kCursors, name, storage::U64Key(seq));
  return db_.Write(batch);
}

Result<std::vector<CursorRow>> EventLog::Cursors() const {
  std::vector<CursorRow> out;
  Status bad;
  GLINT_RETURN_IF_ERROR(db_.Scan(Cf::kCursors, "", std::numeric_limits<size_t>::max(),
                                 [&](std::string_view key, std::string_view value) {
                                   auto seq = storage::ReadU64BE(value);
                                   if (!seq) {
                                     bad =
                                         Corruption("malformed cursor '" + std::string(key) + "'");
                                     return false;
                                   }
                                   out.push_back({std::string(key), *seq});
                                   return true;
                                 }));
  GLINT_RETURN_IF_ERROR(bad);
  return out;
}

Status EventLog::DeleteCursor(std::string_view name) {
  storage::WriteBatch batch;
  batch.Delete(Cf::kCursors, name);
  return db_.Write(batch);
}

Result<uint64_t> EventLog::Trim(int64_t cutoff, size_t max_events) {
  std::lock_guard trim(trim_mu_);
  const uint64_t from = trimmed_.load();
  uint64_t bound = Watermark();
  GLINT_ASSIGN_OR_RETURN(std::vector<CursorRow> cursors, Cursors());
  for (const CursorRow& c : cursors) bound = std::min(bound, c.seq);
  if (bound <= from) return from;
  uint64_t through = from;
  Status decode;
  GLINT_RETURN_IF_ERROR(db_.ScanFrom(Cf::kEvents, storage::U64Key(from + 1), max_events,
                                     [&](std::string_view key, std::string_view value) {
                                       auto seq = storage::ReadU64BE(key);
                                       if (!seq || *seq > bound) return false;
                                       auto e = EventRecord::Decode(value);
                                       if (!e.ok()) {
                                         decode = e.status();
                                         return false;
                                       }
                                       if (e->time >= cutoff) return false;
                                       through = *seq;
                                       return true;
                                     }));
  GLINT_RETURN_IF_ERROR(decode);
  if (through == from) return from;
  storage::WriteBatch batch;
  batch.DeleteRange(Cf::kEvents, storage::U64Key(1), storage::U64Key(through + 1));
  batch.Put(Cf::kEvents, kTrimmedKey, storage::U64Key(through));
  GLINT_RETURN_IF_ERROR(db_.Write(batch));
  trimmed_ = through;
  log::Info("event log trimmed through " + std::to_string(through));
  return through;
}

}  // namespace glint::core
