// The event log's reads, advance notifications and retention (core/events.h,
// core/event_trimmer.h): trimming respects both the events' age and the slowest consumer,
// never passes the watermark, survives a restart, and readers can tell what they missed.
#include "core/events.h"

#include <atomic>

#include "core/event_trimmer.h"
#include "tests/core/event_log_fixture.h"

namespace glint::core {
namespace {

class EventLogRetentionTest : public EventLogTest {
 protected:
  // Appends n events after HISTORY (1), `step` seconds apart, starting now.
  void AppendAged(int n, int64_t step) {
    for (int i = 0; i < n; ++i) {
      Append("X");
      clock_.Advance(step);
    }
  }

  std::vector<uint64_t> Seqs(uint64_t after) {
    auto events = log_->Read(after, 1000);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    std::vector<uint64_t> out;
    if (events.ok())
      for (const auto& e : *events) out.push_back(e.seq);
    return out;
  }
};

TEST_F(EventLogRetentionTest, ReadPageSaysWhereToContinue) {
  AppendAged(4, 1);  // 2..5
  auto full = log_->ReadPage(1, 2);
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->events.size(), 2u);
  EXPECT_EQ(full->next, 3u) << "a full page continues after its last event";
  EXPECT_EQ(full->watermark, 5u);
  EXPECT_EQ(full->first, 1u);
  auto rest = log_->ReadPage(3, 100);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->events.size(), 2u);
  EXPECT_EQ(rest->next, 5u);
  auto none = log_->ReadPage(5, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->events.empty());
  EXPECT_EQ(none->next, 5u);
}

TEST_F(EventLogRetentionTest, ListenersHearEveryAdvanceOnce) {
  std::atomic<uint64_t> heard{0};
  std::atomic<int> calls{0};
  log_->OnAdvance([&](uint64_t w) {
    heard = w;
    ++calls;
  });
  Append("A");
  EXPECT_EQ(heard.load(), log_->Watermark());
  EXPECT_EQ(calls.load(), 1);
  // A batch that stays open holds the watermark: no call until it settles.
  storage::WriteBatch batch;
  EventRecord e;
  e.type = "B";
  EventLog::Staged staged = log_->Stage(batch, {e});
  Append("C");
  EXPECT_EQ(calls.load(), 1) << "C is behind the open B";
  ASSERT_TRUE(db_->Write(batch).ok());
  staged.Done(Status::Ok());
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(heard.load(), log_->Watermark());
}

TEST_F(EventLogRetentionTest, TrimsOnlyEventsOlderThanTheCutoff) {
  AppendAged(9, 10);  // 2..10 at t0 .. t0+80; HISTORY (1) at t0
  const int64_t t0 = 1'700'000'000;
  auto through = log_->Trim(t0 + 35);  // 1, 2 (t0), 3 (t0+10), 4 (+20), 5 (+30)
  ASSERT_TRUE(through.ok()) << through.status().ToString();
  EXPECT_EQ(*through, 5u);
  EXPECT_EQ(log_->FirstRetained(), 6u);
  EXPECT_EQ(Seqs(0), (std::vector<uint64_t>{6, 7, 8, 9, 10}));
  auto page = log_->ReadPage(2, 100);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->first, 6u) << "a reader after 2 learns that 3..5 are gone";
  // Nothing more is old enough.
  EXPECT_EQ(*log_->Trim(t0 + 35), 5u);
}

TEST_F(EventLogRetentionTest, TheSlowestConsumerHoldsTrimmingBack) {
  AppendAged(9, 10);
  ASSERT_TRUE(log_->Commit("fast", 10).ok());
  ASSERT_TRUE(log_->Commit("slow", 3).ok());
  const int64_t everything = 1'800'000'000;
  EXPECT_EQ(*log_->Trim(everything), 3u);
  EXPECT_EQ(Seqs(0).front(), 4u);
  // Deleting the slow consumer unblocks it.
  ASSERT_TRUE(log_->DeleteCursor("slow").ok());
  EXPECT_EQ(*log_->Trim(everything), 10u);
  EXPECT_TRUE(Seqs(0).empty());
}

TEST_F(EventLogRetentionTest, NeverTrimsPastTheWatermark) {
  AppendAged(3, 10);  // 2..4
  storage::WriteBatch batch;
  EventRecord e;
  e.type = "OPEN";
  EventLog::Staged open = log_->Stage(batch, {e});  // 5, not yet written
  Append("LATER");                                  // 6, written, behind 5
  ASSERT_TRUE(db_->Write(batch).ok());
  EXPECT_EQ(log_->Watermark(), 4u);
  EXPECT_EQ(*log_->Trim(1'800'000'000), 4u) << "5 and 6 are not visible yet";
  open.Done(Status::Ok());
  EXPECT_EQ(Seqs(0), (std::vector<uint64_t>{5, 6}));
}

TEST_F(EventLogRetentionTest, RestartKeepsCursorsTheTrimMarkAndTheSequence) {
  AppendAged(4, 10);  // 2..5
  ASSERT_TRUE(log_->Commit("ext:indexer", 5).ok());
  ASSERT_TRUE(log_->Commit("webhook:http://x", 5).ok());
  EXPECT_EQ(*log_->Trim(1'800'000'000), 5u) << "every event trimmed";
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(log_->FirstRetained(), 6u);
  EXPECT_EQ(log_->Watermark(), 5u) << "the sequence goes on after the trimmed events";
  auto cursors = log_->Cursors();
  ASSERT_TRUE(cursors.ok());
  ASSERT_EQ(cursors->size(), 2u);
  EXPECT_EQ((*cursors)[0].name, "ext:indexer");
  EXPECT_EQ((*cursors)[0].seq, 5u);
  EXPECT_EQ((*cursors)[1].name, "webhook:http://x");
  EXPECT_EQ(Append("NEXT"), 6u);
  EXPECT_EQ(Seqs(0), (std::vector<uint64_t>{6}));
}

TEST_F(EventLogRetentionTest, TrimmerPassRespectsRetention) {
  AppendAged(5, 3600);  // 2..6, an hour apart; now = t0 + 5 h
  EventTrimmer off(*log_, clock_, {std::chrono::seconds(0), std::chrono::seconds(60)});
  EXPECT_EQ(*off.TrimNow(), 0u) << "retention 0 keeps everything";
  EventTrimmer trimmer(*log_, clock_, {std::chrono::hours(2), std::chrono::seconds(60)});
  // Older than now - 2 h = t0 + 3 h: 1, 2 (t0), 3 (+1 h), 4 (+2 h).
  EXPECT_EQ(*trimmer.TrimNow(), 4u);
  trimmer.Start();  // its first pass is at once, and finds nothing more
  trimmer.Stop();
  EXPECT_EQ(log_->FirstRetained(), 5u);
}

}  // namespace
}  // namespace glint::core
