#include "core/follower.h"

#include <algorithm>

#include "base/log.h"

namespace glint::core {

Follower::Follower(EventLog& log, std::string name, Deliver deliver, FollowerOptions options,
                   Idle idle)
    : log_(log),
      name_(std::move(name)),
      deliver_(std::move(deliver)),
      idle_(std::move(idle)),
      options_(options) {}

Follower::~Follower() { Stop(); }

void Follower::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Follower::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Follower::Stats Follower::stats() const {
  return {delivered_.load(), skipped_.load(), failures_.load(), cursor_.load()};
}

bool Follower::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !stop_cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void Follower::Run() {
  uint64_t cursor = 0;
  for (;;) {
    auto stored = log_.Cursor(name_);
    if (stored.ok()) {
      cursor = *stored;
      break;
    }
    log::Error("consumer " + name_ + ": " + stored.status().ToString());
    if (!Sleep(options_.max_backoff)) return;
  }
  if (cursor == 0) {
    cursor = log_.Watermark();
    if (Status s = log_.Commit(name_, cursor); !s.ok())
      log::Warn("consumer " + name_ + ": " + s.ToString());
  }
  cursor_ = cursor;
  std::chrono::milliseconds backoff = options_.initial_backoff;
  auto back_off = [&] {
    const bool awake = Sleep(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
    return awake;
  };
  // A failed attempt: counted, logged, waited out; false when stopping.
  auto failed = [&](const Status& s) {
    ++failures_;
    log::Warn("consumer " + name_ + " failed (retrying in " + std::to_string(backoff.count()) +
              " ms): " + s.ToString());
    return back_off();
  };
  auto idle = [&] {
    if (!idle_) return true;
    Status s = idle_();
    return s.ok() || failed(s);
  };
  while (!stopping_) {
    // Short waits, so Stop is noticed promptly.
    if (!log_.WaitBeyond(cursor, std::chrono::milliseconds(200))) {
      if (!idle()) return;
      continue;
    }
    auto events = log_.Read(cursor, options_.batch_events);
    if (!events.ok()) {
      log::Error("consumer " + name_ + ": " + events.status().ToString());
      if (!back_off()) return;
      continue;
    }
    if (events->empty()) continue;
    Status s = deliver_(*events);
    if (!s.ok() && s.code() != Code::kInvalidArgument) {
      if (!failed(s)) return;
      continue;
    }
    if (s.ok()) {
      ++delivered_;
    } else {
      ++skipped_;
      log::Error("consumer " + name_ + " refused events " + std::to_string(events->front().seq) +
                 ".." + std::to_string(events->back().seq) + " (skipped): " + s.ToString());
    }
    backoff = options_.initial_backoff;
    cursor = events->back().seq;
    cursor_ = cursor;
    if (Status c = log_.Commit(name_, cursor); !c.ok())
      log::Warn("consumer " + name_ + ": cursor not saved: " + c.ToString());
    if (!idle()) return;
  }
}

}  // namespace glint::core
