#include "core/event_trimmer.h"

#include "base/log.h"

namespace glint::core {

EventTrimmer::EventTrimmer(EventLog& log, const Clock& clock, TrimmerOptions options)
    : log_(log), clock_(clock), options_(options) {}

EventTrimmer::~EventTrimmer() { Stop(); }

void EventTrimmer::Start() {
  if (options_.retention.count() == 0 || thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void EventTrimmer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<uint64_t> EventTrimmer::TrimNow() {
  uint64_t through = log_.FirstRetained() - 1;
  if (options_.retention.count() == 0) return through;
  const int64_t cutoff = clock_.NowUnixSeconds() - options_.retention.count();
  while (true) {
    GLINT_ASSIGN_OR_RETURN(uint64_t now_through, log_.Trim(cutoff));
    if (now_through == through) return through;
    through = now_through;
  }
}

void EventTrimmer::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    if (auto r = TrimNow(); !r.ok()) log::Error("event log trim failed: " + r.status().ToString());
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

}  // namespace glint::core
