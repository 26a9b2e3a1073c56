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
// Retention: Trim() deletes the oldest events once they are both older than a cutoff and
// handled by every consumer that has a cursor row, and records how far it trimmed in the
// events CF's key 0 (docs/formats.md), so the sequence never restarts below it and readers
// can tell that events they never saw are gone (FirstRetained()).
//
// Thread-safety: every method may be called from any thread at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
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

// The event types glint writes, in the order docs/api.md lists them.
inline constexpr std::string_view kEventTypes[] = {kAvatarChanged, kPhotoRegistered, kPhotoDeleted,
                                                   kPhotoTagged,   kPhotoUntagged,   kTagApproved,
                                                   kMessageUnsent};

// One read of the log (EventLog::ReadPage).
struct EventPage {
  std::vector<EventRecord> events;  // after < seq <= watermark, in order
  // Where the next read continues: the last event's sequence when the page is full, else
  // the watermark the read saw (nothing at or below it is still to come).
  uint64_t next = 0;
  uint64_t watermark = 0;
  // FirstRetained() after the read: above after + 1, events the reader never saw were trimmed.
  uint64_t first = 1;
};

// A consumer's cursor row.
struct CursorRow {
  std::string name;
  uint64_t seq = 0;
};

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
  // Read, with where to continue and what the log kept (EventPage). Reads only: may run on
  // an event loop.
  Result<EventPage> ReadPage(uint64_t after, size_t limit) const;
  // The highest sequence readers may see (0 = none yet).
  uint64_t Watermark() const;
  // Waits until the watermark passes `after` or `timeout` ends; true when it passed. Blocks:
  // never call it on an event loop (use OnAdvance there).
  bool WaitBeyond(uint64_t after, std::chrono::milliseconds timeout) const;
  // Calls `listener(watermark)` every time the watermark rises, on the thread whose write
  // settled it, after the log's lock is released; it must be quick and must not block (post
  // work elsewhere). Listeners may be added at any time and stay for the log's life.
  void OnAdvance(std::function<void(uint64_t watermark)> listener);

  // The sequence consumer `name` has handled (0 when it never committed one).
  Result<uint64_t> Cursor(std::string_view name) const;
  // Durably records that `name` handled every event up to `seq`.
  Status Commit(std::string_view name, uint64_t seq);
  // Every cursor row, in name order.
  Result<std::vector<CursorRow>> Cursors() const;
  // Durably removes the cursor of `name` (nothing when there is none), so it no longer holds
  // retention back.
  Status DeleteCursor(std::string_view name);

  // The lowest sequence not trimmed (1 when nothing was): events below it are gone.
  uint64_t FirstRetained() const { return trimmed_.load() + 1; }
  // Deletes, in one write, the events with seq <= every cursor row's sequence and <= the
  // watermark whose time is before `cutoff` (unix seconds), oldest first and stopping at the
  // first younger one; examines at most `max_events` per call. Returns how far the log is
  // now trimmed (FirstRetained() - 1). One Trim at a time (a second waits). Blocks on the
  // write: never on an event loop.
  Result<uint64_t> Trim(int64_t cutoff, size_t max_events = 100000);

 private:
  EventLog(storage::Db& db, const Clock& clock, uint64_t next, uint64_t trimmed);
  void Settle(const std::vector<uint64_t>& seqs);
  uint64_t WatermarkLocked() const;

  storage::Db& db_;
  const Clock& clock_;
  mutable std::mutex mu_;
  mutable std::condition_variable advanced_;
  uint64_t next_ = 1;        // GUARDED_BY(mu_)
  std::set<uint64_t> open_;  // handed out, not settled; GUARDED_BY(mu_)
  std::mutex listeners_mu_;
  std::vector<std::function<void(uint64_t)>> listeners_;  // GUARDED_BY(listeners_mu_)
  std::mutex trim_mu_;                                    // one Trim at a time
  std::atomic<uint64_t> trimmed_{0};                      // written under trim_mu_
};

}  // namespace glint::core
