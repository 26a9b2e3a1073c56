#include "core/notifier.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "core/upload_signer.h"
#include "tests/core/event_log_fixture.h"

namespace glint::core {
namespace {

using namespace std::chrono_literals;

// Records the requests the notifier makes of one endpoint, answering with `script` first.
struct Endpoint {
  std::mutex mu;
  std::vector<WebhookDelivery> got;
  std::vector<Status> script;

  Status Post(const WebhookDelivery& d) {
    std::lock_guard lock(mu);
    got.push_back(d);
    if (script.empty()) return Status::Ok();
    Status s = script.front();
    script.erase(script.begin());
    return s;
  }
  std::vector<WebhookDelivery> Got() {
    std::lock_guard lock(mu);
    return got;
  }
};

boost::json::object Body(const WebhookDelivery& d) {
  return boost::json::parse(d.body).as_object();
}

class NotifierTest : public EventLogTest {
 protected:
  std::unique_ptr<Notifier> Make(std::vector<std::pair<std::string, Endpoint*>> specs,
                                 std::chrono::seconds window = 0s) {
    std::vector<WebhookEndpoint> endpoints;
    for (auto& [spec, sink] : specs) {
      auto e = ParseWebhookSpec(spec);
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      endpoints.push_back(*e);
      by_url_.emplace_back(e->url, sink);
    }
    NotifierOptions o;
    o.follow.initial_backoff = 10ms;
    o.follow.max_backoff = 40ms;
    o.secret = "s3cret";
    o.window = window;
    o.max_recipients = 2;
    auto n = std::make_unique<Notifier>(
        *log_, clock_, std::move(endpoints),
        [this](const WebhookEndpoint& e, const WebhookDelivery& d) {
          for (auto& [url, sink] : by_url_)
            if (url == e.url) return sink->Post(d);
          return Internal("no sink for " + e.url);
        },
        o);
    n->Start();
    for (size_t i = 0; i < specs.size(); ++i)
      EXPECT_TRUE(WaitFor([&] { return n->stats(i).cursor == log_->Watermark(); }));
    return n;
  }
  std::vector<std::pair<std::string, Endpoint*>> by_url_;
};

TEST(WebhookSpecTest, ParsesTypesAndStar) {
  auto all = ParseWebhookSpec("*=http://h/x?a=b");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->url, "http://h/x?a=b");
  EXPECT_TRUE(all->Wants("ANYTHING"));
  auto two = ParseWebhookSpec("PHOTO_TAGGED,TAG_APPROVED=http://h/");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->types, (std::vector<std::string>{"PHOTO_TAGGED", "TAG_APPROVED"}));
  EXPECT_FALSE(two->Wants("AVATAR_CHANGED"));
  for (const char* bad : {"http://h/", "=http://h/", "A,,B=http://h/", "lower=http://h/", "A="})
    EXPECT_EQ(ParseWebhookSpec(bad).status().reason(), "bad_webhook") << bad;
}

TEST(WebhookSignatureTest, IsHmacOfTimestampDotBody) {
  EXPECT_EQ(WebhookSignature("key", "1700000000", "{}"),
            "sha256=" + HmacSha256Hex("key", "1700000000.{}"));
  // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_F(NotifierTest, SendsEachWantedEventSignedAndSkipsTheRest) {
  Endpoint avatars, all;
  auto n = Make({{"AVATAR_CHANGED=http://a/", &avatars}, {"*=http://b/", &all}});
  const uint64_t a = Append(kAvatarChanged, 0, R"({"md5":"ab"})");
  const uint64_t t = Append(kPhotoTagged, 9);
  ASSERT_TRUE(WaitFor([&] { return n->stats(0).cursor == t && n->stats(1).cursor == t; }));
  n->Stop();
  auto got = avatars.Got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, a);
  EXPECT_EQ(got[0].type, "AVATAR_CHANGED");
  EXPECT_EQ(got[0].timestamp, "1700000000");
  EXPECT_EQ(got[0].signature, WebhookSignature("s3cret", got[0].timestamp, got[0].body));
  boost::json::object body = Body(got[0]);
  EXPECT_EQ(body["seq"].to_number<uint64_t>(), a);
  EXPECT_EQ(body["type"].as_string(), "AVATAR_CHANGED");
  EXPECT_EQ(body["subject"].as_string(), "subject");
  EXPECT_EQ(body["actor"].to_number<uint64_t>(), 7u);
  EXPECT_EQ(body["payload"].as_object().at("md5").as_string(), "ab");
  EXPECT_FALSE(body.contains("collapsed"));
  ASSERT_EQ(all.Got().size(), 2u);
  EXPECT_EQ(all.Got()[1].seq, t);
  EXPECT_EQ(Body(all.Got()[1])["recipient"].to_number<uint64_t>(), 9u);
}

TEST_F(NotifierTest, RetriesResumeAfterWhatWasSentAndRefusedEventsAreSkipped) {
  Endpoint e;
  auto n = Make({{"*=http://a/", &e}});
  {
    std::lock_guard lock(e.mu);
    // First event: refused for good (skipped). Second: down twice, then taken.
    e.script = {InvalidArgument("410"), Unavailable("503"), Unavailable("503")};
  }
  storage::WriteBatch batch;
  EventRecord one, two;
  one.type = std::string(kAvatarChanged);
  two.type = std::string(kPhotoDeleted);
  EventLog::Staged staged = log_->Stage(batch, {one, two});
  staged.Done(db_->Write(batch));
  const uint64_t last = log_->Watermark();
  ASSERT_TRUE(WaitFor([&] { return n->stats(0).cursor == last; }));
  n->Stop();
  auto got = e.Got();
  ASSERT_EQ(got.size(), 4u) << "the refused first event is not sent again with the retries";
  EXPECT_EQ(got[0].seq, last - 1);
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(got[i].seq, last);
  EXPECT_EQ(n->stats(0).failures, 2u);
}

TEST_F(NotifierTest, RepeatedNotificationsToOneRecipientCollapseInsideTheWindow) {
  Endpoint e;
  auto n = Make({{"*=http://a/", &e}}, 60s);
  const uint64_t first = Append(kPhotoTagged, 5);
  ASSERT_TRUE(WaitFor([&] { return e.Got().size() == 1; })) << "the first is sent at once";
  Append(kPhotoTagged, 5);
  Append(kPhotoTagged, 6);  // another recipient: its own window
  const uint64_t latest = Append(kTagApproved, 5);
  Append(kAvatarChanged);  // no recipient: never throttled
  ASSERT_TRUE(WaitFor([&] { return n->stats(0).cursor == log_->Watermark(); }));
  std::this_thread::sleep_for(300ms);
  auto got = e.Got();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].seq, first);
  EXPECT_EQ(Body(got[1])["recipient"].to_number<uint64_t>(), 6u);
  EXPECT_EQ(got[2].type, "AVATAR_CHANGED");

  clock_.Advance(60);  // the window closes: one notification for the two held back
  ASSERT_TRUE(WaitFor([&] { return e.Got().size() == 4; }));
  got = e.Got();
  EXPECT_EQ(got[3].seq, latest);
  EXPECT_EQ(got[3].type, "TAG_APPROVED");
  EXPECT_EQ(Body(got[3])["collapsed"].to_number<uint64_t>(), 2u);
  EXPECT_EQ(got[3].signature, WebhookSignature("s3cret", got[3].timestamp, got[3].body));

  // The flush opened a new window: the next one waits for it too.
  const uint64_t later = Append(kPhotoTagged, 5);
  ASSERT_TRUE(WaitFor([&] { return n->stats(0).cursor == later; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(e.Got().size(), 4u);
  clock_.Advance(60);
  ASSERT_TRUE(WaitFor([&] { return e.Got().size() == 5; }));
  EXPECT_EQ(e.Got()[4].seq, later);
  EXPECT_EQ(Body(e.Got()[4])["collapsed"].to_number<uint64_t>(), 1u);

  // A quiet window passes: the next notification is sent at once again.
  clock_.Advance(60);
  std::this_thread::sleep_for(300ms);
  const uint64_t fresh = Append(kPhotoTagged, 5);
  ASSERT_TRUE(WaitFor([&] { return e.Got().size() == 6; }));
  EXPECT_EQ(e.Got()[5].seq, fresh);
  EXPECT_FALSE(Body(e.Got()[5]).contains("collapsed"));
  n->Stop();
}

TEST_F(NotifierTest, BeyondTheRecipientCapNotificationsAreSentUnthrottled) {
  Endpoint e;
  auto n = Make({{"*=http://a/", &e}}, 60s);  // max_recipients = 2
  Append(kPhotoTagged, 1);
  Append(kPhotoTagged, 2);
  Append(kPhotoTagged, 3);
  Append(kPhotoTagged, 3);
  ASSERT_TRUE(WaitFor([&] { return n->stats(0).cursor == log_->Watermark(); }));
  n->Stop();
  EXPECT_EQ(e.Got().size(), 4u);
}

TEST_F(NotifierTest, WindowZeroSendsEveryNotification) {
  Endpoint e;
  auto n = Make({{"*=http://a/", &e}}, 0s);
  Append(kPhotoTagged, 1);
  Append(kPhotoTagged, 1);
  ASSERT_TRUE(WaitFor([&] { return n->stats(0).cursor == log_->Watermark(); }));
  n->Stop();
  EXPECT_EQ(e.Got().size(), 2u);
}

}  // namespace
}  // namespace glint::core
