// The durable event log: every change that others react to (CDN purges, notifications,
// outside consumers) is an event in the `events` CF, written in the same WriteBatch as the
// change it describes, so no change is ever without its event or the reverse.
//
// Sequences increase strictly. They are handed out before the batch is written, so batches
// may commit out of order; readers only see events up to the watermark, the highest sequence
// below which every handed-out sequence is either committed or abandoned. A consumer that
// reads past its cursor therefore never skips an event that commits later. A sequence whose
// write failed (or a crash before the write) leaves a permanent gap, which readers step over.
//
// Consumers keep their own cursor (the `cursors` CF), like Kafka consumer groups.
//
// Thread-safety: every method may be called from any thread at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "core/records.h"
#include "storage/db.h"

namespace glint::core {

// Event types (EventRecord::type).
inline constexpr std::string_view kAvatarChanged = "AVATAR_CHANGED";
inline constexpr std::string_view kPhotoRegistered = "PHOTO_REGISTERED";
inline constexpr std::string_view kPhotoDeleted = "PHOTO_DELETED";
inline constexpr std::string_view kPhotoTagged = "PHOTO_TAGGED";
inline constexpr std::string_view kPhotoUntagged = "PHOTO_UNTAGGED";
inline constexpr std::string_view kTagApproved = "TAG_APPROVED";
inline constexpr std::string_view kMessageUnsent = "MESSAGE_UNSENT";

class EventLog {
 public:
  // Resumes the sequence after the last event in `db`. `db` and `clock` must outlive it.
  static Result<std::unique_ptr<EventLog>> Open(storage::Db& db, const Clock& clock);

  // Events staged into one batch. Call Done() with the batch's write status; destroying it
  // without Done() counts as a failed write. Move-only.
  class Staged {
   public:
    Staged() = default;
    Staged(Staged&& other) noexcept;
    Staged& operator=(Staged&& other) noexcept;
    ~Staged();
    void Done(const Status& write);
    bool empty() const { return seqs_.empty(); }

   private:
    friend class EventLog;
    EventLog* log_ = nullptr;
    std::vector<uint64_t> seqs_;
  };

  // Gives `events` their sequences and times and adds their rows to `batch` (whose write the
  // caller reports through the returned Staged).
  Staged Stage(storage::WriteBatch& batch, std::vector<EventRecord> events);

  // Up to `limit` events with after < seq <= watermark, in order.
  Result<std::vector<EventRecord>> Read(uint64_t after, size_t limit) const;
  // The highest sequence readers may see (0 = none yet).
  uint64_t Watermark() const;
  // Waits until the watermark passes `after` or `timeout` ends; true when it passed.
  bool WaitBeyond(uint64_t after, std::chrono::milliseconds timeout) const;

  // The sequence consumer `name` has handled (0 when it never committed one).
  Result<uint64_t> Cursor(std::string_view name) const;
  // Durably records that `name` handled every event up to `seq`.
  Status Commit(std::string_view name, uint64_t seq);

 private:
  EventLog(storage::Db& db, const Clock& clock, uint64_t next);
  void Settle(const std::vector<uint64_t>& seqs);
  uint64_t WatermarkLocked() const;

  storage::Db& db_;
  const Clock& clock_;
  mutable std::mutex mu_;
  mutable std::condition_variable advanced_;
  uint64_t next_ = 1;        // GUARDED_BY(mu_)
  std::set<uint64_t> open_;  // handed out, not settled; GUARDED_BY(mu_)
};

}  // namespace glint::core
