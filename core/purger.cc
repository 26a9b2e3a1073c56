#include "core/purger.h"

#include <algorithm>

#include <boost/json.hpp>

#include "base/log.h"

namespace glint::core {

PurgeBatch PurgeBatchFor(const std::vector<EventRecord>& events) {
  PurgeBatch b;
  for (const EventRecord& e : events) {
    if (e.type != kAvatarChanged) continue;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(e.payload, ec);
    if (ec || !v.is_object()) {
      log::Warn("event " + std::to_string(e.seq) + ": malformed AVATAR_CHANGED payload");
      continue;
    }
    for (const char* field : {"md5", "sha256"}) {
      const boost::json::value* h = v.as_object().if_contains(field);
      if (!h || !h->is_string() || h->as_string().empty()) continue;
      std::string hex(h->as_string());
      b.keys.push_back("avatar-" + hex);
      b.paths.push_back("/avatar/" + hex);
      b.paths.push_back("/" + hex);
      b.paths.push_back("/" + hex + ".json");
    }
  }
  for (auto* list : {&b.keys, &b.paths}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  return b;
}

Purger::Purger(EventLog& log, std::vector<Target> targets, PurgerOptions options)
    : log_(log), options_(options) {
  for (Target& t : targets) {
    auto w = std::make_unique<Worker>();
    w->target = std::move(t);
    workers_.push_back(std::move(w));
  }
}

Purger::~Purger() { Stop(); }

void Purger::Start() {
  stopping_ = false;
  for (auto& w : workers_) w->thread = std::thread([this, w = w.get()] { Run(*w); });
}

void Purger::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

Purger::Stats Purger::stats(size_t target) const {
  const Worker& w = *workers_.at(target);
  return {w.sent.load(), w.failures.load(), w.cursor.load()};
}

bool Purger::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !stop_cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void Purger::Run(Worker& w) {
  const std::string cursor_name = "purge:" + w.target.name;
  uint64_t cursor = 0;
  for (;;) {
    auto stored = log_.Cursor(cursor_name);
    if (stored.ok()) {
      cursor = *stored;
      break;
    }
    log::Error("purge target " + w.target.name + ": " + stored.status().ToString());
    if (!Sleep(options_.max_backoff)) return;
  }
  if (cursor == 0) {
    // A new target has nothing cached from before it was configured.
    cursor = log_.Watermark();
    if (Status s = log_.Commit(cursor_name, cursor); !s.ok())
      log::Warn("purge target " + w.target.name + ": " + s.ToString());
  }
  w.cursor = cursor;
  std::chrono::milliseconds backoff = options_.initial_backoff;
  while (!stopping_) {
    // Short waits, so Stop is noticed promptly.
    if (!log_.WaitBeyond(cursor, std::chrono::milliseconds(200))) continue;
    auto events = log_.Read(cursor, options_.batch_events);
    if (!events.ok()) {
      log::Error("purge target " + w.target.name + ": " + events.status().ToString());
      if (!Sleep(backoff)) return;
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    if (events->empty()) continue;
    const uint64_t last = events->back().seq;
    PurgeBatch batch = PurgeBatchFor(*events);
    if (!batch.keys.empty()) {
      Status s = w.target.send(batch);
      if (!s.ok() && s.code() != Code::kInvalidArgument) {
        ++w.failures;
        log::Warn("purge target " + w.target.name + " failed (retrying in " +
                  std::to_string(backoff.count()) + " ms): " + s.ToString());
        if (!Sleep(backoff)) return;
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      if (!s.ok())
        log::Error("purge target " + w.target.name + " refused a purge (skipped): " + s.ToString());
      else
        ++w.sent;
    }
    backoff = options_.initial_backoff;
    cursor = last;
    w.cursor = cursor;
    if (Status s = log_.Commit(cursor_name, cursor); !s.ok())
      log::Warn("purge target " + w.target.name + ": cursor not saved: " + s.ToString());
  }
}

}  // namespace glint::core
