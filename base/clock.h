// Time behind a seam, so expiry (signed URLs, sessions) is testable without sleeping.
// Every Clock implementation is safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace glint {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch (wall clock: what expiry timestamps in URLs mean).
  virtual int64_t NowUnixSeconds() const = 0;
};

// The real wall clock. Stateless; one shared instance is fine.
class SystemClock final : public Clock {
 public:
  int64_t NowUnixSeconds() const override;
};

// A clock that only moves when told to (tests).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start) : now_(start) {}
  int64_t NowUnixSeconds() const override { return now_.load(); }
  void Advance(int64_t seconds) { now_ += seconds; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace glint
