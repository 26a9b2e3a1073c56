// A named, durable consumer of the event log (core/events.h): one thread that reads the events
// after its cursor in batches, hands each batch to a delivery function and records the cursor
// ("<name>" in the cursors CF) only after the batch was handled. It is the loop every built-in
// consumer (CDN purges, webhooks, Redis Streams) shares, so each of them gets the same
// guarantees:
//   - at-least-once: a crash between a delivery and its cursor write repeats that batch;
//   - a failing destination retries with exponential backoff (initial_backoff doubling up to
//     max_backoff, reset by a success) and holds back only its own follower;
//   - a follower that never committed a cursor starts at the log's watermark: a destination
//     configured today is not sent the history of before;
//   - Stop() is noticed within about 200 ms, even while waiting out a backoff.
//
// Thread-safety: Start/Stop from one thread; stats() from any. The delivery function runs on
// the follower's own thread only, one call at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "core/events.h"

namespace glint::core {

struct FollowerOptions {
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{60000};
  size_t batch_events = 200;  // events per delivery call
};

class Follower {
 public:
  // Handles `events` (non-empty, in sequence order). OK: handled, the cursor moves past them.
  // kInvalidArgument: the destination refused them for good (misconfiguration, a payload it
  // will never take): logged, skipped, the cursor moves past them. Any other code: retried,
  // the same batch again, after the backoff.
  using Deliver = std::function<Status(const std::vector<EventRecord>& events)>;
  // Work that is due without a new event (a throttled notification whose window closed). It
  // runs on the follower's thread after every delivery and at least every 200 ms while the
  // log is quiet. Not OK: logged, counted as a failure, and tried again after the backoff.
  using Idle = std::function<Status()>;
  struct Stats {
    uint64_t delivered = 0;  // batches handled with OK
    uint64_t skipped = 0;    // batches refused with kInvalidArgument
    uint64_t failures = 0;   // attempts that will be retried
    uint64_t cursor = 0;     // last handled sequence
  };

  // `log` must outlive the follower. `name` is the cursor's name and the log label.
  Follower(EventLog& log, std::string name, Deliver deliver, FollowerOptions options,
           Idle idle = nullptr);
  ~Follower();  // Stop()
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  void Start();
  // Wakes and joins the thread; a delivery in progress finishes first.
  void Stop();
  Stats stats() const;
  const std::string& name() const { return name_; }

 private:
  void Run();
  // Sleeps up to `d` unless stopping; false when stopping.
  bool Sleep(std::chrono::milliseconds d);

  EventLog& log_;
  const std::string name_;
  const Deliver deliver_;
  const Idle idle_;
  const FollowerOptions options_;
  std::thread thread_;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> skipped_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> cursor_{0};
  std::mutex mu_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stopping_{false};
};

}  // namespace glint::core
