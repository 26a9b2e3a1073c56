// A fixture for consumers of the event log: a fresh Db and EventLog in a temp dir holding one
// event, a manual clock, and Append() to write events as a change would.
#pragma once
#include "core/events.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "storage/db.h"

namespace glint::core {

// Polls `done` every 5 ms for up to 5 s.
inline bool WaitFor(const std::function<bool()>& done) {
  using namespace std::chrono_literals;
  for (auto until = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(5ms))
    if (done()) return true;
  return done();
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/glint-events-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_NO_FATAL_FAILURE(Open());
    // History: the watermark is above 0, so a consumer that started (its cursor is the
    // watermark) differs from one whose thread has yet to read its cursor (0).
    Append("HISTORY");
  }
  void TearDown() override {
    log_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Opens (again, after a reset: a restart) the Db and the EventLog in dir_.
  void Open() {
    log_.reset();
    db_.reset();
    auto db = storage::Db::Open(dir_ + "/db", storage::DbOptions{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto log = EventLog::Open(*db_, clock_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
  }

  // Writes one event in its own batch; returns its sequence.
  uint64_t Append(std::string_view type, uint64_t recipient = 0, std::string payload = "{}") {
    storage::WriteBatch batch;
    EventRecord e;
    e.type = std::string(type);
    e.subject = "subject";
    e.actor = 7;
    e.recipient = recipient;
    e.payload = std::move(payload);
    EventLog::Staged staged = log_->Stage(batch, {e});
    Status written = db_->Write(batch);
    staged.Done(written);
    EXPECT_TRUE(written.ok()) << written.ToString();
    return log_->Watermark();
  }

  std::string dir_;
  ManualClock clock_{1'700'000'000};
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<EventLog> log_;
};

}  // namespace glint::core
