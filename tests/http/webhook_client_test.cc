// The webhook notifier end to end over real HTTP: core::Notifier posting through
// WebhookClient to local receivers (tests/testutil/receiver.h).
#include "http/webhook_client.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "core/notifier.h"
#include "core/upload_signer.h"
#include "tests/core/event_log_fixture.h"
#include "tests/testutil/receiver.h"

namespace glint::http {
namespace {

using namespace std::chrono_literals;
using core::kAvatarChanged;
using core::WaitFor;
using testutil::Receiver;

constexpr char kSecret[] = "whsec-test";

class WebhookTest : public core::EventLogTest {
 protected:
  std::unique_ptr<core::Notifier> Start(const std::vector<std::string>& specs) {
    std::vector<core::WebhookEndpoint> endpoints;
    for (const std::string& spec : specs) {
      auto e = ParseWebhook(spec);
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      endpoints.push_back(*e);
    }
    core::NotifierOptions o;
    o.follow.initial_backoff = 20ms;
    o.follow.max_backoff = 100ms;
    o.secret = kSecret;
    auto n = std::make_unique<core::Notifier>(
        *log_, clock_, std::move(endpoints),
        [this](const core::WebhookEndpoint& e, const core::WebhookDelivery& d) {
          return client_.Post(e, d);
        },
        o);
    n->Start();
    for (size_t i = 0; i < specs.size(); ++i)
      EXPECT_TRUE(WaitFor([&] { return n->stats(i).cursor == log_->Watermark(); }));
    return n;
  }
  WebhookClient client_{1000ms};
};

// What a receiver does to check a request (docs/operations.md).
bool Verifies(const Receiver::Seen& r) {
  const std::string sig = r.Header("x-glint-signature");
  return sig ==
         "sha256=" + core::HmacSha256Hex(kSecret, r.Header("x-glint-timestamp") + "." + r.body);
}

TEST(ParseWebhookTest, RefusesUrlsThatAreNotHttp) {
  EXPECT_TRUE(ParseWebhook("*=https://app.example/hook?x=1").ok());
  for (const char* bad : {"*=ftp://h/", "*=not a url", "*=http:///nohost", "*=http://h/#frag"})
    EXPECT_EQ(ParseWebhook(bad).status().reason(), "bad_webhook") << bad;
}

TEST_F(WebhookTest, PostsSignedEventWithIdempotencyKey) {
  Receiver receiver;
  auto n = Start({"AVATAR_CHANGED=" + receiver.url() + "/hook?src=glint"});
  const uint64_t seq = Append(kAvatarChanged, 0, R"({"md5":"00ff"})");
  ASSERT_TRUE(WaitFor([&] { return receiver.seen().size() == 1; }));
  n->Stop();
  const Receiver::Seen r = receiver.seen()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/hook?src=glint");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.Header("x-glint-event"), "AVATAR_CHANGED");
  EXPECT_EQ(r.Header("idempotency-key"), std::to_string(seq));
  EXPECT_EQ(r.Header("x-glint-timestamp"), "1700000000");
  EXPECT_TRUE(Verifies(r)) << r.Header("x-glint-signature");
  Receiver::Seen tampered = r;
  tampered.body += " ";
  EXPECT_FALSE(Verifies(tampered));
  boost::json::object body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body["seq"].to_number<uint64_t>(), seq);
  EXPECT_EQ(body["payload"].as_object()["md5"].as_string(), "00ff");
}

TEST_F(WebhookTest, RetriesAfter503WithTheSameIdempotencyKey) {
  Receiver receiver;
  receiver.Script({503, 429, 200});
  auto n = Start({"*=" + receiver.url() + "/"});
  const uint64_t seq = Append(kAvatarChanged);
  ASSERT_TRUE(WaitFor([&] { return n->stats(0).cursor == seq; }));
  n->Stop();
  auto seen = receiver.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].answered, 503);
  EXPECT_EQ(seen[1].answered, 429);
  EXPECT_EQ(seen[2].answered, 200);
  for (const auto& r : seen) {
    EXPECT_EQ(r.Header("idempotency-key"), std::to_string(seq));
    EXPECT_TRUE(Verifies(r));
  }
  EXPECT_EQ(n->stats(0).failures, 2u);
}

TEST_F(WebhookTest, ARefusingEndpointSkipsTheEvent) {
  Receiver receiver(410);
  auto n = Start({"*=" + receiver.url() + "/"});
  const uint64_t seq = Append(kAvatarChanged);
  ASSERT_TRUE(WaitFor([&] { return n->stats(0).cursor == seq; }));
  n->Stop();
  EXPECT_EQ(receiver.seen().size(), 1u);
  EXPECT_EQ(n->stats(0).failures, 0u);
}

TEST_F(WebhookTest, ADeadEndpointDoesNotHoldBackALiveOne) {
  Receiver live;
  Receiver hung(200, /*hang=*/true);
  std::string closed;
  {
    Receiver gone;  // a port that was just free
    closed = gone.url();
  }
  auto n = Start({"*=" + hung.url() + "/", "*=" + closed + "/", "*=" + live.url() + "/"});
  const uint64_t a = Append(kAvatarChanged);
  const uint64_t b = Append(kAvatarChanged);
  // The receiver records a POST before the notifier has its answer and moves its cursor.
  ASSERT_TRUE(WaitFor([&] { return n->stats(2).cursor == b; }));
  EXPECT_EQ(live.seen().size(), 2u);
  EXPECT_EQ(n->stats(0).cursor, a - 1);
  EXPECT_EQ(n->stats(1).cursor, a - 1);
  ASSERT_TRUE(WaitFor([&] { return n->stats(1).failures >= 2; })) << "retried with backoff";
  n->Stop();
}

}  // namespace
}  // namespace glint::http
