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

Purger::Purger(EventLog& log, std::vector<Target> targets, PurgerOptions options) {
  for (Target& t : targets) {
    sent_.push_back(std::make_unique<std::atomic<uint64_t>>(0));
    Follower::Deliver deliver = [send = std::move(t.send), sent = sent_.back().get()](
                                    const std::vector<EventRecord>& events) -> Status {
      PurgeBatch batch = PurgeBatchFor(events);
      if (batch.keys.empty()) return Status::Ok();
      Status s = send(batch);
      if (s.ok()) ++*sent;
      return s;
    };
    followers_.push_back(
        std::make_unique<Follower>(log, "purge:" + t.name, std::move(deliver), options));
  }
}

Purger::~Purger() { Stop(); }

void Purger::Start() {
  for (auto& f : followers_) f->Start();
}

void Purger::Stop() {
  for (auto& f : followers_) f->Stop();
}

std::vector<std::string> Purger::cursor_names() const {
  std::vector<std::string> out;
  for (const auto& f : followers_) out.push_back(f->name());
  return out;
}

Purger::Stats Purger::stats(size_t target) const {
  const Follower::Stats s = followers_.at(target)->stats();
  return {sent_.at(target)->load(), s.failures, s.cursor};
}

}  // namespace glint::core
