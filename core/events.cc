#include "core/events.h"

#include "storage/record.h"

namespace glint::core {

using storage::Cf;

Result<std::unique_ptr<EventLog>> EventLog::Open(storage::Db& db, const Clock& clock) {
  GLINT_ASSIGN_OR_RETURN(auto last, db.LastKey(Cf::kEvents));
  uint64_t next = 1;
  if (last) {
    auto seq = storage::ReadU64BE(*last);
    if (!seq) return Corruption("malformed key in the events table");
    next = *seq + 1;
  }
  return std::unique_ptr<EventLog>(new EventLog(db, clock, next));
}

EventLog::EventLog(storage::Db& db, const Clock& clock, uint64_t next)
    : db_(db), clock_(clock), next_(next) {}

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
  {
    std::lock_guard lock(mu_);
    for (uint64_t s : seqs) open_.erase(s);
  }
  advanced_.notify_all();
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
  const uint64_t upto = Watermark();
  std::vector<EventRecord> out;
  if (after >= upto || limit == 0) return out;
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
  return out;
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

}  // namespace glint::core
