// Event-log retention (core/events.h EventLog::Trim) in the background: one thread that,
// every `interval`, trims the events older than `retention` that every consumer with a cursor
// row has handled. A consumer that stopped reading therefore keeps the log growing until it
// reads on or is deleted (DELETE /v1/events/consumers/{name}); docs/operations.md says so.
//
// Thread-safety: Start/Stop from one thread; TrimNow from any (it serialises on the log).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "base/status.h"
#include "core/events.h"

namespace glint::core {

struct TrimmerOptions {
  std::chrono::seconds retention{7 * 24 * 3600};  // 0: keep every event (no trimming)
  std::chrono::seconds interval{60};              // between passes
};

class EventTrimmer {
 public:
  // `log` and `clock` must outlive the trimmer.
  EventTrimmer(EventLog& log, const Clock& clock, TrimmerOptions options);
  ~EventTrimmer();  // Stop()
  EventTrimmer(const EventTrimmer&) = delete;
  EventTrimmer& operator=(const EventTrimmer&) = delete;

  // Starts the thread (nothing with retention 0). Its first pass is at once.
  void Start();
  // Wakes and joins the thread; a pass in progress finishes first.
  void Stop();
  // One pass now, on the calling thread (it blocks on the write): trims in steps until a
  // step trims nothing. Returns how far the log is trimmed (FirstRetained() - 1). With
  // retention 0 it trims nothing.
  Result<uint64_t> TrimNow();

 private:
  void Run();

  EventLog& log_;
  const Clock& clock_;
  const TrimmerOptions options_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
};

}  // namespace glint::core
