// Publishing the event log to Redis Streams against a real redis-server started by the test
// (tests/testutil/redis.h): entries and their fields, exactly once under replays, Redis going
// down and coming back, the type filter, trimming, AUTH/SELECT, and the glint binary with
// --redis-url.
#include "http/redis_streams.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "core/notifier.h"
#include "tests/core/event_log_fixture.h"
#include "tests/testutil/api_client.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"
#include "tests/testutil/redis.h"

namespace glint::http {
namespace {

using namespace std::chrono_literals;
using testutil::RedisClient;
using testutil::RedisServer;

constexpr char kStream[] = "glint:events";

// Polls `done` every 10 ms for up to 30 s (Redis restarts and backoffs on a busy machine).
bool Eventually(const std::function<bool()>& done) {
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms))
    if (done()) return true;
  return done();
}

std::vector<std::string> Ids(const std::vector<RedisClient::Entry>& entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries) ids.push_back(e.id);
  return ids;
}

std::string Id(uint64_t seq) { return std::to_string(seq) + "-0"; }

class RedisStreamsTest : public core::EventLogTest {
 protected:
  RedisStreamsOptions Options(const std::string& url = {}) {
    RedisStreamsOptions o;
    o.url = url.empty() ? redis_.url() : url;
    o.timeout = 2000ms;
    o.follow.initial_backoff = 20ms;
    o.follow.max_backoff = 200ms;
    return o;
  }
  // A started publisher whose follower has taken its starting cursor (the watermark).
  std::unique_ptr<RedisStreamsPublisher> Start(const RedisStreamsOptions& o) {
    auto p = std::make_unique<RedisStreamsPublisher>(*log_, o);
    p->Start();
    EXPECT_TRUE(Eventually([&] { return p->follower_stats().cursor == log_->Watermark(); }));
    return p;
  }
  std::vector<core::EventRecord> Read(uint64_t after) {
    auto events = log_->Read(after, 1000);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    return events.ok() ? *events : std::vector<core::EventRecord>{};
  }

  RedisServer redis_;
  RedisClient client_{redis_.port()};
};

TEST(ParseRedisUrlTest, ReadsHostPortCredentialsAndDatabase) {
  auto plain = ParseRedisUrl("redis://cache.internal");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->host, "cache.internal");
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0u);
  EXPECT_TRUE(plain->password.empty());

  auto full = ParseRedisUrl("redis://glint:p%40ss@10.0.0.7:6380/4");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->host, "10.0.0.7");
  EXPECT_EQ(full->port, 6380);
  EXPECT_EQ(full->user, "glint");
  EXPECT_EQ(full->password, "p@ss");
  EXPECT_EQ(full->db, 4u);
  EXPECT_EQ(full->Where(), "10.0.0.7:6380");  // no credentials in logs

  auto password_only = ParseRedisUrl("redis://:secret@[::1]:7000/");
  ASSERT_TRUE(password_only.ok()) << password_only.status().ToString();
  EXPECT_EQ(password_only->host, "::1");
  EXPECT_TRUE(password_only->user.empty());
  EXPECT_EQ(password_only->password, "secret");
  EXPECT_EQ(password_only->Where(), "[::1]:7000");

  auto socket = ParseRedisUrl("unix:///run/redis/redis.sock");
  ASSERT_TRUE(socket.ok()) << socket.status().ToString();
  EXPECT_EQ(socket->socket_path, "/run/redis/redis.sock");
}

TEST(ParseRedisUrlTest, RefusesWhatItCannotUse) {
  for (const char* bad :
       {"", "cache:6379", "rediss://h:6380", "http://h/", "redis://", "redis://h:0",
        "redis://h:99999", "redis://h/x", "redis://h/1/2", "redis://h/0?timeout=1", "redis://h#f",
        "redis://user@h", "unix://", "unix://host/path", "unix:relative"}) {
    auto r = ParseRedisUrl(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(r.status().reason(), "bad_redis_url") << bad;
  }
}

TEST_F(RedisStreamsTest, PublishesEventsInOrderWithTheWebhookFields) {
  auto p = Start(Options());
  const uint64_t a = Append(core::kAvatarChanged, 0, R"({"md5":"00ff"})");
  const uint64_t b = Append(core::kPhotoTagged, 42, R"({"photo":"p1"})");
  const uint64_t c = Append(core::kPhotoUntagged, 42, "not json");
  ASSERT_TRUE(Eventually([&] { return client_.Length(kStream) == 3; }));
  const auto entries = client_.Range(kStream);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(Ids(entries), (std::vector<std::string>{Id(a), Id(b), Id(c)}));

  const RedisClient::Entry& tagged = entries[1];
  const std::vector<std::string> names = {"seq",       "type", "subject", "actor",
                                          "recipient", "time", "payload"};
  ASSERT_EQ(tagged.fields.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(tagged.fields[i].first, names[i]);
  EXPECT_EQ(tagged.Field("seq"), std::to_string(b));
  EXPECT_EQ(tagged.Field("type"), "PHOTO_TAGGED");
  EXPECT_EQ(tagged.Field("subject"), "subject");
  EXPECT_EQ(tagged.Field("actor"), "7");
  EXPECT_EQ(tagged.Field("recipient"), "42");
  EXPECT_EQ(tagged.Field("time"), "1700000000");
  EXPECT_EQ(boost::json::parse(tagged.Field("payload")), boost::json::parse(R"({"photo":"p1"})"));
  // The same members and values as the webhook body.
  const auto webhook = boost::json::parse(core::WebhookBody(Read(a)[0], 0)).as_object();
  EXPECT_EQ(webhook.at("payload"), boost::json::parse(tagged.Field("payload")));
  // A payload that is not a JSON object travels as a JSON string, as in the webhook body.
  EXPECT_EQ(boost::json::parse(entries[2].Field("payload")), boost::json::value("not json"));
  EXPECT_EQ(boost::json::parse(entries[0].Field("payload")),
            boost::json::parse(R"({"md5":"00ff"})"));

  EXPECT_TRUE(Eventually([&] { return p->follower_stats().cursor == c; }));
  EXPECT_EQ(p->stats().added, 3u);
  EXPECT_EQ(p->stats().duplicates, 0u);
}

TEST_F(RedisStreamsTest, AReplayedBatchAddsNoDuplicates) {
  const uint64_t before = log_->Watermark();
  for (int i = 0; i < 5; ++i) Append(core::kAvatarChanged);
  const auto batch = Read(before);
  ASSERT_EQ(batch.size(), 5u);

  RedisStreamWriter writer(Options());
  ASSERT_TRUE(writer.Publish(batch).ok());
  ASSERT_EQ(client_.Length(kStream), 5);
  // The follower re-delivers the batch (a crash before its cursor write), and once more
  // with two new events behind it.
  ASSERT_TRUE(writer.Publish(batch).ok());
  EXPECT_EQ(client_.Length(kStream), 5);
  Append(core::kPhotoTagged);
  Append(core::kPhotoTagged);
  const auto longer = Read(before);
  ASSERT_EQ(longer.size(), 7u);
  ASSERT_TRUE(writer.Publish(longer).ok());
  const auto entries = client_.Range(kStream);
  ASSERT_EQ(entries.size(), 7u);
  for (size_t i = 0; i < longer.size(); ++i) EXPECT_EQ(entries[i].id, Id(longer[i].seq));
  EXPECT_EQ(writer.stats().added, 7u);
  EXPECT_EQ(writer.stats().duplicates, 10u);
  EXPECT_EQ(writer.stats().lost, 0u);
}

TEST_F(RedisStreamsTest, AFollowerReplayingAfterACrashAddsNoDuplicates) {
  const RedisStreamsOptions o = Options();
  const std::string name = std::string("redis:") + kStream;
  auto p = Start(o);
  const uint64_t start = log_->Watermark();
  for (int i = 0; i < 4; ++i) Append(core::kAvatarChanged);
  ASSERT_TRUE(Eventually([&] { return p->follower_stats().cursor == log_->Watermark(); }));
  p->Stop();
  ASSERT_EQ(client_.Length(kStream), 4);
  // As if glint died before its cursor reached the disk: the cursor is back at the start.
  ASSERT_TRUE(log_->Commit(name, start).ok());
  const uint64_t next = Append(core::kPhotoTagged);
  auto again = std::make_unique<RedisStreamsPublisher>(*log_, o);
  again->Start();
  ASSERT_TRUE(Eventually([&] { return again->follower_stats().cursor == next; }));
  EXPECT_EQ(again->stats().duplicates, 4u);
  EXPECT_EQ(again->stats().added, 1u);
  const auto entries = client_.Range(kStream);
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries.back().id, Id(next));
}

TEST_F(RedisStreamsTest, RedisDownIsRetriedWithBackoffAndCaughtUpInOrder) {
  auto p = Start(Options());
  const uint64_t first = Append(core::kAvatarChanged);
  ASSERT_TRUE(Eventually([&] { return client_.Length(kStream) == 1; }));
  ASSERT_EQ(client_.Range(kStream)[0].id, Id(first));

  redis_.Stop();
  std::vector<uint64_t> held;
  for (int i = 0; i < 3; ++i) held.push_back(Append(core::kPhotoTagged, 9));
  // The follower keeps failing and waiting, its cursor stays before the held events.
  ASSERT_TRUE(Eventually([&] { return p->follower_stats().failures >= 3; }));
  EXPECT_EQ(p->follower_stats().cursor, first);
  // The log is not held up: more events are written meanwhile.
  held.push_back(Append(core::kTagApproved, 9));

  ASSERT_TRUE(redis_.Start());  // empty: nothing is persisted
  RedisClient after(redis_.port());
  ASSERT_TRUE(Eventually([&] { return after.Length(kStream) == 4; })) << after.Length(kStream);
  const auto entries = after.Range(kStream);
  ASSERT_EQ(entries.size(), 4u);
  for (size_t i = 0; i < held.size(); ++i) EXPECT_EQ(entries[i].id, Id(held[i]));
  EXPECT_EQ(entries[3].Field("type"), "TAG_APPROVED");
  EXPECT_TRUE(Eventually([&] { return p->follower_stats().cursor == held.back(); }));
  EXPECT_GE(p->stats().connects, 2u);
  EXPECT_EQ(p->stats().added, 5u);
}

TEST_F(RedisStreamsTest, OnlyTheConfiguredTypesArePublished) {
  RedisStreamsOptions o = Options();
  o.types = {"PHOTO_TAGGED", "TAG_APPROVED"};
  auto p = Start(o);
  Append(core::kAvatarChanged);
  const uint64_t tagged = Append(core::kPhotoTagged);
  Append(core::kPhotoDeleted);
  const uint64_t approved = Append(core::kTagApproved);
  const uint64_t last = Append(core::kAvatarChanged);
  ASSERT_TRUE(Eventually([&] { return p->follower_stats().cursor == last; }));
  EXPECT_EQ(Ids(client_.Range(kStream)), (std::vector<std::string>{Id(tagged), Id(approved)}));
  EXPECT_EQ(p->stats().filtered, 3u);
}

TEST_F(RedisStreamsTest, MaxlenTrimsTheStreamApproximately) {
  RedisStreamsOptions o = Options();
  o.maxlen = 10;
  auto p = Start(o);
  uint64_t last = 0;
  for (int i = 0; i < 500; ++i) last = Append(core::kAvatarChanged);
  ASSERT_TRUE(Eventually([&] { return p->follower_stats().cursor == last; }));
  const long long length = client_.Length(kStream);
  // "~": whole macro nodes (100 entries by default) are dropped, so about 10, never below.
  EXPECT_GE(length, 10);
  EXPECT_LE(length, 200);
  EXPECT_EQ(client_.Range(kStream).back().id, Id(last));
  EXPECT_EQ(p->stats().added, 500u);

  // 0: no trimming.
  RedisStreamWriter untrimmed([&] {
    RedisStreamsOptions u = Options();
    u.maxlen = 0;
    u.stream = "untrimmed";
    return u;
  }());
  ASSERT_TRUE(untrimmed.Publish(Read(0)).ok());
  EXPECT_EQ(client_.Length("untrimmed"), static_cast<long long>(Read(0).size()));
}

TEST_F(RedisStreamsTest, AuthenticatesAndSelectsTheDatabaseFromTheUrl) {
  ASSERT_EQ(client_.Command({"ACL", "SETUSER", "glint", "on", ">s3cret", "~*", "+@all"}), "OK");
  ASSERT_EQ(client_.Command({"CONFIG", "SET", "requirepass", "hunter2"}), "OK");
  ASSERT_EQ(client_.Command({"AUTH", "hunter2"}), "OK");
  const std::string host = "127.0.0.1:" + std::to_string(redis_.port());
  const uint64_t before = log_->Watermark();
  Append(core::kAvatarChanged);
  const auto events = Read(before);

  RedisStreamWriter wrong(Options("redis://:nope@" + host));
  Status refused = wrong.Publish(events);
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("AUTH refused"), std::string::npos) << refused.ToString();
  EXPECT_EQ(refused.message().find("nope"), std::string::npos) << "password in a message";

  RedisStreamWriter with_password(Options("redis://:hunter2@" + host + "/3"));
  ASSERT_TRUE(with_password.Publish(events).ok());
  RedisStreamsOptions acl = Options("redis://glint:s3cret@" + host + "/5");
  acl.stream = "acl";
  RedisStreamWriter with_user(acl);
  ASSERT_TRUE(with_user.Publish(events).ok());

  EXPECT_EQ(client_.Length(kStream), 0);  // db 0
  ASSERT_EQ(client_.Command({"SELECT", "3"}), "OK");
  EXPECT_EQ(client_.Length(kStream), 1);
  ASSERT_EQ(client_.Command({"SELECT", "5"}), "OK");
  EXPECT_EQ(client_.Length("acl"), 1);
}

TEST_F(RedisStreamsTest, PublishesThroughAUnixSocket) {
  auto p = Start(Options("unix://" + redis_.socket_path()));
  const uint64_t a = Append(core::kAvatarChanged);
  ASSERT_TRUE(Eventually([&] { return client_.Length(kStream) == 1; }));
  EXPECT_EQ(client_.Range(kStream)[0].id, Id(a));
}

TEST_F(RedisStreamsTest, AnErrorReplyIsRetriedNotSkipped) {
  // The key holds a string: every XADD is refused (WRONGTYPE) until an operator fixes it.
  ASSERT_EQ(client_.Command({"SET", kStream, "not a stream"}), "OK");
  auto p = Start(Options());
  const uint64_t a = Append(core::kAvatarChanged);
  ASSERT_TRUE(Eventually([&] { return p->follower_stats().failures >= 2; }));
  EXPECT_LT(p->follower_stats().cursor, a);
  ASSERT_EQ(client_.Command({"DEL", kStream}), "1");
  ASSERT_TRUE(Eventually([&] { return client_.Length(kStream) == 1; }));
  EXPECT_EQ(client_.Range(kStream)[0].id, Id(a));
  EXPECT_EQ(p->stats().lost, 0u);
}

// The real binary with --redis-url: changes made through the HTTP API appear in the stream.
TEST(RedisStreamsFlowTest, GlintPublishesApiChangesToTheStream) {
  RedisServer redis;
  RedisClient client(redis.port());
  testutil::TempDir dir;
  testutil::GlintServer glint(dir.path() + "/var",
                              {"--redis-url", redis.url(), "--redis-stream", "photos"});
  ASSERT_NE(glint.port(), 0) << glint.log();
  testutil::ApiClient api(glint.port(), glint.admin_token());
  auto olga = api.NewAccount("olga@example.com");
  const std::string photo = api.UploadPhoto(olga.token, testutil::MakeJpeg(48, 32));
  ASSERT_FALSE(photo.empty());
  const std::string sha256(
      api.Get("/v1/me", olga.token)["hashes"].as_object().at("sha256").as_string());
  const boost::json::object box{{"x", 0.25}, {"y", 0.1}, {"w", 0.5}, {"h", 0.5}};
  testutil::ApiReply tagged = api.Call("POST", "/v1/photos/" + photo + "/tags", olga.token,
                                       boost::json::object{{"user", olga.id}, {"box", box}});
  ASSERT_EQ(tagged.status() / 100, 2) << tagged.http.body;

  auto find = [&](const std::string& type) -> std::optional<RedisClient::Entry> {
    for (const auto& e : client.Range("photos"))
      if (e.Field("type") == type) return e;
    return std::nullopt;
  };
  ASSERT_TRUE(Eventually([&] { return find("AVATAR_CHANGED") && find("PHOTO_TAGGED"); }))
      << glint.log();
  const RedisClient::Entry avatar = *find("AVATAR_CHANGED");
  EXPECT_EQ(avatar.Field("subject"), sha256);
  EXPECT_EQ(avatar.id, avatar.Field("seq") + "-0");
  EXPECT_EQ(avatar.Field("actor"), std::to_string(olga.id));
  const RedisClient::Entry tag = *find("PHOTO_TAGGED");
  EXPECT_GT(std::stoull(tag.Field("seq")), std::stoull(avatar.Field("seq")));
  EXPECT_NE(glint.log().find("redis: connected to 127.0.0.1:" + std::to_string(redis.port())),
            std::string::npos)
      << glint.log();
  EXPECT_EQ(glint.Stop(), 0);
}

}  // namespace
}  // namespace glint::http
