// The CDN purge worker: a consumer of the event log (core/events.h) that tells every
// configured proxy or CDN in front of glint to drop what it cached for an email whose avatar
// changed (AVATAR_CHANGED), so a change shows within about a second instead of after
// Cache-Control's max-age.
//
// Each target is its own consumer, with its own thread and its own cursor ("purge:<name>" in
// the cursors CF): a dead target retries with exponential backoff and holds back only itself,
// never the others and never the request that made the change. Delivery is at-least-once: a
// crash between a purge and its cursor write repeats that purge, which is harmless.
// A target that never committed a cursor starts at the log's current end.
//
// Thread-safety: Start/Stop from one thread; Stats from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "core/events.h"

namespace glint::core {

// What to drop: surrogate keys ("avatar-<hex hash>" for both hashes of each email) and the
// URL paths that serve them ("/avatar/<hex>", "/<hex>", "/<hex>.json").
struct PurgeBatch {
  std::vector<std::string> keys;
  std::vector<std::string> paths;
};

// The AVATAR_CHANGED events of `events` as one de-duplicated batch (empty when none).
PurgeBatch PurgeBatchFor(const std::vector<EventRecord>& events);

struct PurgerOptions {
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{60000};
  size_t batch_events = 200;  // events per purge request
};

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

 private:
  struct Worker {
    Target target;
    std::thread thread;
    std::atomic<uint64_t> sent{0};
    std::atomic<uint64_t> failures{0};
    std::atomic<uint64_t> cursor{0};
  };
  void Run(Worker& w);
  // Sleeps up to `d` unless stopping; false when stopping.
  bool Sleep(std::chrono::milliseconds d);

  EventLog& log_;
  PurgerOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stopping_{false};
};

}  // namespace glint::core
