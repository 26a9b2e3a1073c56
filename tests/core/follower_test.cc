#include "core/follower.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "tests/core/event_log_fixture.h"

namespace glint::core {
namespace {

using namespace std::chrono_literals;

// Records every delivered batch; answers with the statuses queued in `script`, then OK.
struct Sink {
  std::mutex mu;
  std::vector<std::vector<uint64_t>> batches;  // the seqs of every call, failed ones included
  std::vector<Status> script;

  Status Deliver(const std::vector<EventRecord>& events) {
    std::lock_guard lock(mu);
    std::vector<uint64_t> seqs;
    for (const EventRecord& e : events) seqs.push_back(e.seq);
    batches.push_back(seqs);
    if (script.empty()) return Status::Ok();
    Status s = script.front();
    script.erase(script.begin());
    return s;
  }
  size_t calls() {
    std::lock_guard lock(mu);
    return batches.size();
  }
};

class FollowerTest : public EventLogTest {
 protected:
  std::unique_ptr<Follower> Make(Sink& sink, FollowerOptions options = Fast()) {
    return std::make_unique<Follower>(
        *log_, "test:sink", [&sink](const std::vector<EventRecord>& e) { return sink.Deliver(e); },
        options);
  }
  static FollowerOptions Fast() {
    FollowerOptions o;
    o.initial_backoff = 10ms;
    o.max_backoff = 40ms;
    return o;
  }
};

TEST_F(FollowerTest, NewConsumerStartsAtTheWatermarkAndCommitsAfterDelivery) {
  Append(kAvatarChanged);
  const uint64_t before = Append(kAvatarChanged);
  Sink sink;
  auto f = Make(sink);
  f->Start();
  ASSERT_TRUE(WaitFor([&] { return f->stats().cursor == before; }));
  const uint64_t a = Append(kPhotoTagged);
  ASSERT_TRUE(WaitFor([&] { return f->stats().cursor == a; }));
  f->Stop();
  {
    std::lock_guard lock(sink.mu);
    ASSERT_EQ(sink.batches.size(), 1u) << "history before the consumer existed is not sent";
    EXPECT_EQ(sink.batches[0], std::vector<uint64_t>{a});
  }
  EXPECT_EQ(*log_->Cursor("test:sink"), a);

  // A restarted consumer resumes after its cursor: only what came since.
  const uint64_t b = Append(kPhotoTagged);
  f = Make(sink);
  f->Start();
  ASSERT_TRUE(WaitFor([&] { return f->stats().cursor == b; }));
  f->Stop();
  std::lock_guard lock(sink.mu);
  ASSERT_EQ(sink.batches.size(), 2u);
  EXPECT_EQ(sink.batches[1], std::vector<uint64_t>{b});
}

TEST_F(FollowerTest, UnavailableIsRetriedWithTheSameBatchAndCursorWaits) {
  Sink sink;
  sink.script = {Unavailable("down"), Unavailable("down"), Internal("odd")};
  auto f = Make(sink);
  f->Start();
  ASSERT_TRUE(WaitFor([&] { return f->stats().cursor == log_->Watermark(); }));
  const uint64_t a = Append(kAvatarChanged);
  ASSERT_TRUE(WaitFor([&] { return f->stats().delivered == 1; }));
  f->Stop();
  EXPECT_EQ(f->stats().failures, 3u);
  EXPECT_EQ(f->stats().cursor, a);
  std::lock_guard lock(sink.mu);
  ASSERT_EQ(sink.batches.size(), 4u);
  for (const auto& batch : sink.batches) EXPECT_EQ(batch, std::vector<uint64_t>{a});
}

TEST_F(FollowerTest, BackoffDoublesUpToTheMaximum) {
  Sink sink;
  for (int i = 0; i < 6; ++i) sink.script.push_back(Unavailable("down"));
  FollowerOptions o;
  o.initial_backoff = 20ms;
  o.max_backoff = 80ms;
  auto f = Make(sink, o);
  f->Start();
  ASSERT_TRUE(WaitFor([&] { return f->stats().cursor == log_->Watermark(); }));
  Append(kAvatarChanged);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return f->stats().delivered == 1; }));
  const auto took = std::chrono::steady_clock::now() - start;
  f->Stop();
  // 20 + 40 + 80 + 80 + 80 + 80 ms of backoff, not 6 x 20 and not 20 + 40 + ... + 640.
  EXPECT_GE(took, 380ms);
  EXPECT_LT(took, 1200ms);
}

TEST_F(FollowerTest, InvalidArgumentSkipsTheBatch) {
  Sink sink;
  sink.script = {InvalidArgument("never")};
  auto f = Make(sink);
  f->Start();
  ASSERT_TRUE(WaitFor([&] { return f->stats().cursor == log_->Watermark(); }));
  const uint64_t a = Append(kAvatarChanged);
  ASSERT_TRUE(WaitFor([&] { return f->stats().cursor == a; }));
  const uint64_t b = Append(kAvatarChanged);
  ASSERT_TRUE(WaitFor([&] { return f->stats().cursor == b; }));
  f->Stop();
  EXPECT_EQ(f->stats().skipped, 1u);
  EXPECT_EQ(f->stats().delivered, 1u);
  EXPECT_EQ(f->stats().failures, 0u);
  EXPECT_EQ(sink.calls(), 2u);
}

TEST_F(FollowerTest, StopIsPromptDuringALongBackoff) {
  Sink sink;
  sink.script = {Unavailable("down")};
  FollowerOptions o;
  o.initial_backoff = 60s;
  o.max_backoff = 60s;
  auto f = Make(sink, o);
  f->Start();
  ASSERT_TRUE(WaitFor([&] { return f->stats().cursor == log_->Watermark(); }));
  Append(kAvatarChanged);
  ASSERT_TRUE(WaitFor([&] { return f->stats().failures == 1; }));
  const auto start = std::chrono::steady_clock::now();
  f->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace glint::core
