#include "core/badge.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/record.h"
#include "tests/core/event_log_fixture.h"

namespace glint::core {
namespace {

const Principal kService = Principal::Service();

Principal User(uint64_t id) {
  Principal p;
  p.user_id = id;
  return p;
}

class BadgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/glint-badge-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Open(BadgeOptions{});
  }
  void TearDown() override {
    badges_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  // (Re)opens the database and a fresh Badges (empty memory) over it.
  void Open(BadgeOptions options) {
    badges_.reset();
    db_.reset();
    auto db = storage::Db::Open(dir_ + "/db", storage::DbOptions{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    badges_ = std::make_unique<Badges>(*db_, clock_, options);
  }
  BadgeIngestResult Ingest(const std::vector<BadgeEvent>& events) {
    auto r = badges_->Ingest(kService, events);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : BadgeIngestResult{};
  }
  uint64_t Count(uint64_t receiver) {
    auto c = badges_->Count(User(receiver), receiver);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : ~uint64_t{0};
  }
  // Rows of badge_senders for `receiver`: must always equal its count.
  uint64_t SenderRows(uint64_t receiver) {
    uint64_t n = 0;
    Status s = db_->Scan(storage::Cf::kBadgeSenders, storage::U64Key(receiver), SIZE_MAX,
                         [&](std::string_view, std::string_view) { return ++n, true; });
    EXPECT_TRUE(s.ok());
    return n;
  }

  std::string dir_;
  ManualClock clock_{1'700'000'000};
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<Badges> badges_;
};

// Exposes the fixture's helpers to RaceAckAndIngest.
class BadgeRaceTest : public BadgeTest {
 public:
  uint64_t CountOf(uint64_t r) { return Count(r); }
  uint64_t SenderRowsOf(uint64_t r) { return SenderRows(r); }
};

TEST_F(BadgeTest, CountsDistinctSendersNotMessages) {
  auto r = Ingest({{1, 10}, {2, 10}, {1, 10}, {3, 10}, {1, 11}, {2, 10}});
  EXPECT_EQ(r.received, 6u);
  EXPECT_EQ(r.counted, 4u);
  EXPECT_EQ(r.absorbed, 2u);
  EXPECT_EQ(Count(10), 3u);
  EXPECT_EQ(Count(11), 1u);
  EXPECT_EQ(Count(12), 0u);
  EXPECT_EQ(SenderRows(10), 3u);
}

TEST_F(BadgeTest, DuplicateFloodWritesOncePerSender) {
  std::vector<BadgeEvent> flood;
  for (int i = 0; i < 100000; ++i) flood.push_back({static_cast<uint64_t>(1 + i % 10), 77});
  for (size_t at = 0; at < flood.size(); at += 10000) {
    std::vector<BadgeEvent> part(flood.begin() + at, flood.begin() + at + 10000);
    Ingest(part);
  }
  EXPECT_EQ(Count(77), 10u);
  Badges::Stats s = badges_->stats();
  EXPECT_EQ(s.received, 100000u);
  EXPECT_EQ(s.durable_writes, 10u);
  EXPECT_EQ(s.absorbed, 99990u);
  EXPECT_EQ(s.batches, 1u);  // all ten first-time senders were in the first batch
}

TEST_F(BadgeTest, ExactAcrossRestart) {
  std::vector<BadgeEvent> first;
  for (uint64_t s = 101; s <= 150; ++s) first.push_back({s, 9});
  Ingest(first);
  ASSERT_EQ(Count(9), 50u);
  Open(BadgeOptions{});  // a restart: memory is empty, RocksDB remembers
  std::vector<BadgeEvent> again = first;
  for (uint64_t s = 151; s <= 155; ++s) again.push_back({s, 9});
  auto r = Ingest(again);
  EXPECT_EQ(r.counted, 5u);
  EXPECT_EQ(r.absorbed, 50u);
  EXPECT_EQ(Count(9), 55u);
  Badges::Stats s = badges_->stats();
  EXPECT_EQ(s.durable_writes, 5u);
  EXPECT_EQ(s.disk_hits, 50u);
  // Now remembered in memory again: no disk lookups.
  Ingest(again);
  EXPECT_EQ(badges_->stats().disk_hits, 50u);
  EXPECT_EQ(Count(9), 55u);
}

TEST_F(BadgeTest, AckResetsCountAndSendersAcrossRestart) {
  Ingest({{1, 5}, {2, 5}, {3, 6}});
  auto reset = badges_->Ack(User(5), 5);
  ASSERT_TRUE(reset.ok());
  EXPECT_EQ(*reset, 2u);
  EXPECT_EQ(Count(5), 0u);
  EXPECT_EQ(SenderRows(5), 0u);
  EXPECT_EQ(Count(6), 1u);  // others untouched
  // The same senders count again after the acknowledgement, also after a restart.
  EXPECT_EQ(Ingest({{1, 5}}).counted, 1u);
  Open(BadgeOptions{});
  EXPECT_EQ(Ingest({{1, 5}, {2, 5}}).counted, 1u);
  EXPECT_EQ(Count(5), 2u);
  EXPECT_EQ(SenderRows(5), 2u);
  // Acknowledging nothing writes nothing and says so.
  ASSERT_TRUE(badges_->Ack(User(7), 7).ok());
  EXPECT_EQ(*badges_->Ack(User(7), 7), 0u);
}

TEST_F(BadgeTest, EvictionWhenMemoryIsFullStaysExact) {
  BadgeOptions tiny;
  tiny.memory_pairs = 16;  // a handful of slots per stripe
  Open(tiny);
  std::vector<BadgeEvent> events;
  for (uint64_t s = 1001; s <= 2000; ++s) events.push_back({s, 3});
  EXPECT_EQ(Ingest(events).counted, 1000u);
  EXPECT_EQ(Ingest(events).absorbed, 1000u);
  EXPECT_EQ(Count(3), 1000u);
  Badges::Stats s = badges_->stats();
  EXPECT_EQ(s.durable_writes, 1000u);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_GT(s.disk_hits, 900u);
  ASSERT_TRUE(badges_->Ack(User(3), 3).ok());
  EXPECT_EQ(Ingest(events).counted, 1000u);
  EXPECT_EQ(Count(3), 1000u);
}

TEST_F(BadgeTest, NoMemorySetStillExact) {
  BadgeOptions none;
  none.memory_pairs = 0;
  Open(none);
  Ingest({{1, 2}, {1, 2}, {4, 2}});
  Ingest({{1, 2}, {4, 2}});
  EXPECT_EQ(Count(2), 2u);
  EXPECT_EQ(badges_->stats().durable_writes, 2u);
}

// Ingest threads and an acknowledging thread race on one receiver. Conservation: every
// counted sender is either reset by exactly one Ack or still in the final count, and the
// count always equals the receiver's sender rows. Afterwards every sender sends once more:
// since all of them sent after the last Ack, the count must be exactly all of them (a pair
// left in memory across an Ack would be absorbed instead, and lost).
void RaceAckAndIngest(BadgeRaceTest& t, Badges& badges, size_t pool) {
  constexpr uint64_t kReceiver = 424242;
  constexpr int kThreads = 4;
  std::atomic<uint64_t> counted{0};
  std::atomic<uint64_t> reset{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ingesters;
  for (int t_i = 0; t_i < kThreads; ++t_i) {
    ingesters.emplace_back([&, t_i] {
      uint64_t x = 12345 + t_i;
      for (int round = 0; round < 300; ++round) {
        std::vector<BadgeEvent> events;
        for (int k = 0; k < 40; ++k) {
          x = x * 6364136223846793005ull + 1442695040888963407ull;
          events.push_back({1 + (x >> 33) % pool, kReceiver});
        }
        auto r = badges.Ingest(kService, events);
        ASSERT_TRUE(r.ok());
        counted += r->counted;
      }
    });
  }
  std::thread acker([&] {
    while (!stop) {
      auto r = badges.Ack(User(kReceiver), kReceiver);
      ASSERT_TRUE(r.ok());
      reset += *r;
      std::this_thread::yield();
    }
  });
  for (auto& th : ingesters) th.join();
  stop = true;
  acker.join();
  const uint64_t final_count = t.CountOf(kReceiver);
  EXPECT_EQ(counted.load(), reset.load() + final_count);
  EXPECT_EQ(final_count, t.SenderRowsOf(kReceiver));
  EXPECT_GT(reset.load(), 0u);

  std::vector<BadgeEvent> everyone;
  for (uint64_t s = 1; s <= pool; ++s) everyone.push_back({s, kReceiver});
  auto r = badges.Ingest(kService, everyone);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->counted, pool - final_count);
  EXPECT_EQ(t.CountOf(kReceiver), pool);
  EXPECT_EQ(t.SenderRowsOf(kReceiver), pool);
}

TEST_F(BadgeRaceTest, ConcurrentAckNeverLosesOrDoublesASender) {
  RaceAckAndIngest(*this, *badges_, 200);
}

TEST_F(BadgeRaceTest, ConcurrentAckWithEvictionsNeverLosesOrDoublesASender) {
  BadgeOptions tiny;
  tiny.memory_pairs = 16;
  Open(tiny);
  RaceAckAndIngest(*this, *badges_, 200);
}

// Batches large enough to commit lane by lane (2048+ new pairs), from two threads, over
// receivers in every lane, while another thread acknowledges them: per receiver the count
// equals its sender rows, and every counted sender is reset by one Ack or still counted.
TEST_F(BadgeRaceTest, LargeBatchesCommitLaneByLaneExactlyUnderConcurrentAcks) {
  constexpr uint64_t kReceivers = 64;
  constexpr uint64_t kPool = 100;  // senders 1001..1100
  std::atomic<uint64_t> counted{0};
  std::atomic<uint64_t> reset{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ingesters;
  for (int t_i = 0; t_i < 2; ++t_i) {
    ingesters.emplace_back([&, t_i] {
      uint64_t x = 777 + t_i;
      for (int round = 0; round < 12; ++round) {
        std::vector<BadgeEvent> events;
        for (int k = 0; k < 4000; ++k) {
          x = x * 6364136223846793005ull + 1442695040888963407ull;
          events.push_back({1001 + (x >> 33) % kPool, 1 + (x >> 13) % kReceivers});
        }
        auto r = badges_->Ingest(kService, events);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        EXPECT_EQ(r->counted + r->absorbed, events.size());
        counted += r->counted;
      }
    });
  }
  std::thread acker([&] {
    for (uint64_t i = 0; !stop; ++i) {
      const uint64_t receiver = 1 + (i * 7) % kReceivers;
      auto r = badges_->Ack(User(receiver), receiver);
      ASSERT_TRUE(r.ok());
      reset += *r;
    }
  });
  for (auto& th : ingesters) th.join();
  stop = true;
  acker.join();
  uint64_t left = 0;
  for (uint64_t r = 1; r <= kReceivers; ++r) {
    EXPECT_EQ(CountOf(r), SenderRowsOf(r)) << "receiver " << r;
    left += CountOf(r);
  }
  EXPECT_EQ(counted.load(), reset.load() + left);
  EXPECT_GT(reset.load(), 0u);
  EXPECT_GT(badges_->stats().batches, 24u);  // more than one write per Ingest: lanes

  // Everyone sends to everyone once more: every count becomes exactly the whole pool.
  std::vector<BadgeEvent> all;
  for (uint64_t r = 1; r <= kReceivers; ++r)
    for (uint64_t s = 1001; s < 1001 + kPool; ++s) all.push_back({s, r});
  auto r = badges_->Ingest(kService, all);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->counted, kReceivers * kPool - left);
  for (uint64_t rc = 1; rc <= kReceivers; ++rc) EXPECT_EQ(CountOf(rc), kPool);
}

TEST_F(BadgeTest, WatchSeesEveryCountAndMakesTheReceiverOnline) {
  std::mutex mu;
  std::vector<uint64_t> seen;
  Ingest({{1, 8}});
  auto watch = badges_->Subscribe(User(8), 8, [&](uint64_t c) {
    std::lock_guard lock(mu);
    seen.push_back(c);
  });
  ASSERT_TRUE(watch.ok());
  EXPECT_EQ((*watch)->initial_count(), 1u);
  EXPECT_TRUE(badges_->Online(8));
  Ingest({{2, 8}, {3, 8}});  // skip_online is off: counted while online
  Ingest({{2, 8}});          // absorbed: no change, no callback
  ASSERT_TRUE(badges_->Ack(User(8), 8).ok());
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(seen, (std::vector<uint64_t>{3, 0}));
  }
  watch->reset();
  EXPECT_FALSE(badges_->Online(8));
  Ingest({{4, 8}});
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(BadgeTest, SkipOnlineDoesNotCountOnlineReceivers) {
  BadgeOptions skip;
  skip.skip_online = true;
  Open(skip);
  auto watch = badges_->Subscribe(User(8), 8, [](uint64_t) {});
  ASSERT_TRUE(watch.ok());
  auto r = Ingest({{1, 8}, {1, 8}, {2, 9}});
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_EQ(r.counted, 1u);
  EXPECT_EQ(Count(8), 0u);
  EXPECT_EQ(badges_->stats().skipped_online, 2u);
  watch->reset();  // offline again: counted
  EXPECT_EQ(Ingest({{1, 8}}).counted, 1u);
  EXPECT_EQ(Count(8), 1u);
}

TEST_F(BadgeTest, OnlyBackendsIngest) {
  const std::vector<BadgeEvent> one{{1, 2}};
  EXPECT_EQ(badges_->Ingest(User(1), one).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(badges_->Ingest(User(2), one).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(badges_->Ingest(Principal::Anonymous(), one).status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(badges_->Ingest(Principal::Admin(), one).ok());
  EXPECT_EQ(Count(2), 1u);
}

TEST_F(BadgeTest, OnlyTheReceiverOrAnAdminReadsAcksAndWatches) {
  Ingest({{1, 2}});
  EXPECT_EQ(badges_->Count(User(3), 2).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(badges_->Count(kService, 2).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(badges_->Count(Principal::Anonymous(), 2).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(badges_->Ack(User(1), 2).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(badges_->Subscribe(User(3), 2, [](uint64_t) {}).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(*badges_->Count(Principal::Admin(), 2), 1u);
  EXPECT_EQ(Count(2), 1u);
  EXPECT_TRUE(badges_->Ack(Principal::Admin(), 2).ok());
  EXPECT_EQ(Count(2), 0u);
}

TEST_F(BadgeTest, BadBatchCountsNothing) {
  EXPECT_EQ(badges_->Ingest(kService, std::vector<BadgeEvent>{{1, 2}, {3, 3}}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(badges_->Ingest(kService, std::vector<BadgeEvent>{{0, 2}}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(badges_->Ingest(kService, std::vector<BadgeEvent>{{1, 0}}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Count(2), 0u);
  BadgeOptions small;
  small.max_batch = 2;
  Open(small);
  auto r = badges_->Ingest(kService, std::vector<BadgeEvent>{{1, 2}, {3, 2}, {4, 2}});
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
  EXPECT_EQ(r.status().reason(), "batch_too_large");
  EXPECT_EQ(Count(2), 0u);
}

// MESSAGE_UNSENT events staged in the event log reach the badge through its follower.
class BadgeFollowerTest : public EventLogTest {
 protected:
  void Stage(std::string_view type, uint64_t src, uint64_t dest) {
    storage::WriteBatch batch;
    EventRecord e;
    e.type = std::string(type);
    e.subject = std::to_string(dest);
    e.actor = src;
    e.recipient = dest;
    e.payload = "{}";
    EventLog::Staged staged = log_->Stage(batch, {e});
    Status written = db_->Write(batch);
    staged.Done(written);
    ASSERT_TRUE(written.ok());
  }
};

TEST_F(BadgeFollowerTest, AppliesMessageUnsentEventsFromTheLog) {
  Badges badges(*db_, clock_, BadgeOptions{});
  FollowerOptions fast;
  fast.initial_backoff = std::chrono::milliseconds(10);
  auto follower = NewBadgeFollower(*log_, badges, fast);
  EXPECT_EQ(follower->name(), "badge");
  follower->Start();
  // A new follower starts at the watermark: wait until it has, then stage.
  const uint64_t start = log_->Watermark();
  ASSERT_TRUE(WaitFor([&] { return follower->stats().cursor >= start; }));
  Stage(kMessageUnsent, 1, 20);
  Stage(kMessageUnsent, 2, 20);
  Stage(kMessageUnsent, 1, 20);
  Stage(kPhotoTagged, 3, 20);     // not a badge event
  Stage(kMessageUnsent, 20, 20);  // malformed: skipped, not blocking
  Stage(kMessageUnsent, 5, 21);
  const uint64_t last = log_->Watermark();
  ASSERT_TRUE(WaitFor([&] { return follower->stats().cursor >= last; }));
  follower->Stop();
  EXPECT_EQ(*badges.Count(Principal::Admin(), 20), 2u);
  EXPECT_EQ(*badges.Count(Principal::Admin(), 21), 1u);
  EXPECT_EQ(badges.stats().durable_writes, 3u);
  EXPECT_EQ(badges.stats().absorbed, 1u);
}

// With a log, every counted event (and only those) is appended as a MESSAGE_UNSENT with the
// count after it, in the batch that counted it; the badge's own follower does not count
// them again, even after an acknowledgement.
TEST_F(BadgeFollowerTest, CountedEventsAreAppendedToTheLogAndNotCountedTwice) {
  Badges badges(*db_, clock_, BadgeOptions{}, log_.get());
  FollowerOptions fast;
  fast.initial_backoff = std::chrono::milliseconds(10);
  auto follower = NewBadgeFollower(*log_, badges, fast);
  follower->Start();
  const uint64_t start = log_->Watermark();
  ASSERT_TRUE(WaitFor([&] { return follower->stats().cursor >= start; }));

  auto r = badges.Ingest(Principal::Service(),
                         std::vector<BadgeEvent>{{1, 20}, {2, 20}, {1, 20}, {1, 21}, {2, 20}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->counted, 3u);
  EXPECT_EQ(r->absorbed, 2u);
  auto events = log_->Read(start, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);  // absorbed events never reach the log
  struct Want {
    uint64_t src, dest;
    const char* payload;
  };
  const Want want[] = {{1, 20, R"({"src":1,"dest":20,"count":1})"},
                       {2, 20, R"({"src":2,"dest":20,"count":2})"},
                       {1, 21, R"({"src":1,"dest":21,"count":1})"}};
  // Receivers come in stripe order: compare as a set.
  for (const Want& w : want) {
    bool found = false;
    for (const EventRecord& e : *events)
      if (e.actor == w.src && e.recipient == w.dest) {
        found = true;
        EXPECT_EQ(e.type, kMessageUnsent);
        EXPECT_EQ(e.subject, std::to_string(w.dest));
        EXPECT_EQ(e.payload, w.payload);
      }
    EXPECT_TRUE(found) << w.payload;
  }

  // The receiver looks before the follower reaches those events: they must not come back.
  ASSERT_TRUE(badges.Ack(Principal::Admin(), 20).ok());
  const uint64_t last = log_->Watermark();
  ASSERT_TRUE(WaitFor([&] { return follower->stats().cursor >= last; }));
  follower->Stop();
  EXPECT_EQ(*badges.Count(Principal::Admin(), 20), 0u);
  EXPECT_EQ(*badges.Count(Principal::Admin(), 21), 1u);
  EXPECT_EQ(badges.stats().durable_writes, 3u);
  EXPECT_EQ(log_->Watermark(), start + 3);  // the follower appended nothing
}

// Events from the log are counted without being written to the log again.
TEST_F(BadgeFollowerTest, EventsFromTheLogAreNotAppendedAgain) {
  Badges badges(*db_, clock_, BadgeOptions{}, log_.get());
  const uint64_t start = log_->Watermark();
  Stage(kMessageUnsent, 1, 20);
  auto events = log_->Read(start, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_TRUE(badges.ApplyLogEvents(*events).ok());
  EXPECT_EQ(*badges.Count(Principal::Admin(), 20), 1u);
  EXPECT_EQ(log_->Watermark(), start + 1);
}

}  // namespace
}  // namespace glint::core
