// The newly-unread badge: for each receiver, the number of DISTINCT senders whose messages
// to them were not delivered live (MESSAGE_UNSENT events) since the receiver last
// acknowledged. Not a count of messages: a thousand messages from one sender count once.
//
// Durable state (RocksDB, grammar in docs/formats.md):
//   badges         receiver (8 B BE)                 -> badge record {count, acked_at}
//   badge_senders  receiver (8 B BE) + sender (8 B BE) -> (empty): senders counted since the
//                                                        last acknowledgement
// Only the first event from a new sender since the last acknowledgement writes: the sender
// row and count + 1, in one WriteBatch. Redundant events are absorbed by a bounded in-memory
// set of (receiver, sender) pairs already counted (the seeds' auxiliary store); a pair that
// is not in memory (after a restart, or evicted when the set is full) is looked up in
// badge_senders (a bloom-filtered point read), so counts stay exact whatever the memory
// holds. Invariant: every pair in memory has its badge_senders row.
//
// Ordering: receivers are spread over lock stripes; the stripe's mutex orders every
// counting decision against the acknowledgement of the same receiver. An event is either
// counted (or absorbed) before an Ack, and reset by it, or after it, and counted anew:
// never lost, never counted twice.
//
// The log: with an EventLog, every counted event (the first from a new sender since the last
// acknowledgement; never an absorbed or skipped one) appends a MESSAGE_UNSENT event in the
// same WriteBatch as its sender row and count: subject and recipient the receiver, actor
// the sender, payload {"src", "dest", "count"} with the count after it. Events that came
// from the log (ApplyLogEvents) are not written again.
//
// Presence: a receiver with a Watch open is online; with BadgeOptions::skip_online, events
// for online receivers are not counted (the message was seen live).
//
// Thread-safety: every method may be called from any thread at once. Ingest and Ack write
// with sync: run them off event loops. Watch callbacks run on the thread that changed the
// count, with the receiver's stripe locked: they must only hand the count on (post it).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "core/events.h"
#include "core/follower.h"
#include "core/service.h"
#include "storage/db.h"

namespace glint::core {

struct BadgeOptions {
  // (receiver, sender) pairs the in-memory set holds at most (16 bytes each; memory is
  // touched only as it fills; each of the 256 stripes holds a power of two of at least 8).
  // 0 = none: every event is looked up in RocksDB.
  size_t memory_pairs = size_t{4} << 20;
  // Do not count events for receivers that have a badge stream open.
  bool skip_online = false;
  // Events one Ingest call takes at most; more is kTooLarge "batch_too_large".
  size_t max_batch = 10000;
};

// One MESSAGE_UNSENT: `src` sent `dest` a message that was not delivered live.
struct BadgeEvent {
  uint64_t src = 0;
  uint64_t dest = 0;
};

// What one Ingest call did with its events: received = counted + absorbed + skipped.
struct BadgeIngestResult {
  uint64_t received = 0;
  uint64_t counted = 0;   // first events from a new sender: written durably
  uint64_t absorbed = 0;  // the sender was already counted since the last acknowledgement
  uint64_t skipped = 0;   // the receiver was online (skip_online)
};

class Badges {
 public:
  struct Stats {
    uint64_t received = 0;
    uint64_t absorbed = 0;
    uint64_t durable_writes = 0;  // (receiver, sender) pairs written to badge_senders
    uint64_t skipped_online = 0;
    uint64_t disk_hits = 0;  // absorbed after a memory miss, by a badge_senders row
    uint64_t evictions = 0;  // pairs dropped from memory when it was full
    uint64_t batches = 0;    // synced WriteBatches written by Ingest
    uint64_t acks = 0;
  };

  // A live view of one receiver's count; the receiver is online while it exists. Destroying
  // it unregisters the callback: once the destructor returns, the callback is not running
  // and will not run again.
  class Watch {
   public:
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    uint64_t receiver() const { return receiver_; }
    // The count when the watch began; later counts go to the callback.
    uint64_t initial_count() const { return initial_; }

   private:
    friend class Badges;
    Watch(Badges& badges, uint64_t receiver, uint64_t id, uint64_t initial)
        : badges_(badges), receiver_(receiver), id_(id), initial_(initial) {}
    Badges& badges_;
    const uint64_t receiver_;
    const uint64_t id_;
    const uint64_t initial_;
  };
  using OnCount = std::function<void(uint64_t count)>;

  // `db`, `clock` and `log` (nullptr: no events appended) must outlive the Badges.
  Badges(storage::Db& db, const Clock& clock, BadgeOptions options, EventLog* log = nullptr);
  ~Badges();
  Badges(const Badges&) = delete;
  Badges& operator=(const Badges&) = delete;

  // Counts `events` (backend principals only: kPermissionDenied "service_token_required"
  // otherwise). Every event is checked first (ids positive, src != dest: kInvalidArgument
  // "invalid_event" naming the first bad one; more than max_batch: kTooLarge
  // "batch_too_large"), and then nothing is counted when one is bad. The first-time senders
  // are written with their MESSAGE_UNSENT events (when there is a log) in one synced
  // WriteBatch, or, from 2048 of them, in one per commit lane (a group of stripes), so that
  // concurrent callers write in parallel; returns once everything is durable. On a write
  // error, the lanes written before it stay counted and the rest is not: retrying the batch
  // whole counts each sender exactly once (the counted ones are absorbed).
  Result<BadgeIngestResult> Ingest(const Principal& actor, std::span<const BadgeEvent> events);

  // The receiver's count. Only the receiver or an admin (kPermissionDenied "not_allowed";
  // anonymous: kUnauthenticated "login_required").
  Result<uint64_t> Count(const Principal& actor, uint64_t receiver) const;

  // Resets the receiver's count and sender set in one synced WriteBatch; returns the count
  // it reset (the count is 0 afterwards). Authorization as Count.
  Result<uint64_t> Ack(const Principal& actor, uint64_t receiver);

  // Registers `on_count`, called with every new count of `receiver` until the returned
  // Watch is destroyed. Authorization as Count.
  Result<std::unique_ptr<Watch>> Subscribe(const Principal& actor, uint64_t receiver,
                                           OnCount on_count);

  // True while `receiver` has at least one Watch.
  bool Online(uint64_t receiver) const;

  const BadgeOptions& options() const { return options_; }
  Stats stats() const;

  // Applies the MESSAGE_UNSENT events among `events` (actor = src, recipient = dest) as a
  // backend Ingest that appends nothing to the log; events with a bad src/dest are logged
  // and skipped, and so are the events a Badges wrote itself (their payload has "count":
  // they were counted when written). For the "badge" follower of the event log
  // (NewBadgeFollower); at-least-once replays are absorbed.
  Status ApplyLogEvents(const std::vector<EventRecord>& events);

 private:
  struct Shard;
  struct Lane;
  struct PendingPair;
  struct NewCount;
  static std::vector<EventRecord> CountedEvents(const std::vector<const PendingPair*>& fresh,
                                                const std::vector<NewCount>& counts);
  Shard& ShardOf(uint64_t receiver) const;
  Status CheckReader(const Principal& actor, uint64_t receiver) const;
  Result<uint64_t> ReadCount(uint64_t receiver) const;
  // Ingest after the principal check; `log_counted`: append the counted events to log_.
  Result<BadgeIngestResult> IngestChecked(std::span<const BadgeEvent> events, bool log_counted);
  // Counts `pending` (pairs missing from memory): in one batch, or lane by lane when large.
  Status CountPending(std::vector<PendingPair>& pending, bool log_counted, BadgeIngestResult& out);
  // Counts `pending` (sorted, its lanes locked) with its stripes locked, in one batch.
  Status CountUnit(std::span<const PendingPair> pending, bool log_counted, BadgeIngestResult& out);
  void Unsubscribe(uint64_t receiver, uint64_t id);

  storage::Db& db_;
  const Clock& clock_;
  const BadgeOptions options_;
  EventLog* const log_;
  std::unique_ptr<Shard[]> shards_;
  std::unique_ptr<Lane[]> lanes_;
  std::atomic<uint64_t> next_watch_{1};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> absorbed_{0};
  std::atomic<uint64_t> durable_writes_{0};
  std::atomic<uint64_t> skipped_online_{0};
  std::atomic<uint64_t> disk_hits_{0};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> acks_{0};
};

// The event-log follower named "badge" that feeds MESSAGE_UNSENT events to `badges`.
// Not started; `log` and `badges` must outlive it.
std::unique_ptr<Follower> NewBadgeFollower(EventLog& log, Badges& badges, FollowerOptions options);

}  // namespace glint::core
