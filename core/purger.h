// The CDN purge worker: a consumer of the event log (core/events.h) that tells every
// configured proxy or CDN in front of glint to drop what it cached for an email whose avatar
// changed (AVATAR_CHANGED), so a change shows within about a second instead of after
// Cache-Control's max-age.
//
// Each target is its own consumer (core/follower.h), with its own thread and its own cursor
// ("purge:<name>" in the cursors CF): a dead target retries with exponential backoff and holds
// back only itself, never the others and never the request that made the change. Delivery is
// at-least-once: a crash between a purge and its cursor write repeats that purge, which is
// harmless. A target that never committed a cursor starts at the log's current end.
//
// Thread-safety: Start/Stop from one thread; Stats from any.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/events.h"
#include "core/follower.h"

namespace glint::core {

// What to drop: surrogate keys ("avatar-<hex hash>" for both hashes of each email) and the
// URL paths that serve them ("/avatar/<hex>", "/<hex>", "/<hex>.json").
struct PurgeBatch {
  std::vector<std::string> keys;
  std::vector<std::string> paths;
};

// The AVATAR_CHANGED events of `events` as one de-duplicated batch (empty when none).
PurgeBatch PurgeBatchFor(const std::vector<EventRecord>& events);

// The follow loop's options (initial_backoff, max_backoff, batch_events: events per purge).
using PurgerOptions = FollowerOptions;

class Purger {
 public:
  // One attempt to purge `batch` at a target. kUnavailable (and any other code but
  // kInvalidArgument) is retried with backoff; kInvalidArgument (the target refused the
  // request itself: misconfiguration) is logged and the batch skipped.
  using Send = std::function<Status(const PurgeBatch& batch)>;
  struct Target {
    std::string name;  // cursor name suffix and log label
    Send send;
  };
  struct Stats {
    uint64_t batches_sent = 0;
    uint64_t failures = 0;
    uint64_t cursor = 0;
  };

  Purger(EventLog& log, std::vector<Target> targets, PurgerOptions options);
  ~Purger();  // Stop()

  void Start();
  // Wakes and joins every target's thread (an attempt in progress finishes first).
  void Stop();
  Stats stats(size_t target) const;
  // The targets' cursor names ("purge:<name>").
  std::vector<std::string> cursor_names() const;

 private:
  std::vector<std::unique_ptr<Follower>> followers_;
  // Batches that had keys and were sent, per target (a batch without AVATAR_CHANGED sends
  // nothing but still moves the cursor).
  std::vector<std::unique_ptr<std::atomic<uint64_t>>> sent_;
};

}  // namespace glint::core
