// The event log for other backends, end to end: the real `glint` binary over real HTTP.
// GET /v1/events with its long-poll, types filter and outside consumers' cursors, the
// consumers list and delete, and every refusal. Retention is tested in core
// (tests/core/event_log_test.cc); this is the API's shape and the long-poll's behaviour.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "tests/testutil/api_client.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"

namespace glint {
namespace {

using testutil::ApiClient;
using testutil::ApiReply;
using testutil::GlintServer;
using testutil::TempDir;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

class EventsFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<GlintServer>(dir_.path() + "/var");
    ASSERT_NE(server_->port(), 0);
    api_ = std::make_unique<ApiClient>(server_->port(), server_->admin_token());
    service_ = server_->service_token();
    ASSERT_FALSE(service_.empty());
  }

  // GET /v1/events?<query> with the service token, on a connection of its own.
  ApiReply Events(const std::string& query, const std::string& token = "") {
    ApiClient client(server_->port(), server_->admin_token());
    return client.Get("/v1/events?" + query, token.empty() ? service_ : token);
  }

  static std::vector<std::string> Types(const ApiReply& r) {
    std::vector<std::string> out;
    for (const auto& e : r["events"].as_array())
      out.emplace_back(e.as_object().at("type").as_string());
    return out;
  }

  static uint64_t U(const json::value& v) { return v.to_number<uint64_t>(); }

  TempDir dir_;
  std::unique_ptr<GlintServer> server_;
  std::unique_ptr<ApiClient> api_;
  std::string service_;
};

TEST_F(EventsFlowTest, RegisteredAndDeletedPhotosAppear) {
  ApiClient::Account ann = api_->NewAccount("ann@example.com");
  ApiReply start = Events("wait=0");
  ASSERT_EQ(start.status(), 200) << start.http.body;
  const uint64_t after = U(start["watermark"]);
  const std::string photo = api_->UploadPhoto(ann.token, testutil::MakeJpeg(48, 32));
  ASSERT_FALSE(photo.empty());

  ApiReply r = Events("after=" + std::to_string(after) + "&types=PHOTO_REGISTERED");
  ASSERT_EQ(r.status(), 200) << r.http.body;
  ASSERT_EQ(Types(r), std::vector<std::string>{"PHOTO_REGISTERED"});
  const json::object& e = r["events"].as_array()[0].as_object();
  EXPECT_EQ(e.at("subject").as_string(), photo);
  EXPECT_EQ(U(e.at("actor")), ann.id);
  EXPECT_GT(U(e.at("seq")), after);
  EXPECT_GT(U(e.at("time")), 1'700'000'000u);
  const json::object& p = e.at("payload").as_object();
  EXPECT_EQ(std::to_string(U(p.at("photo_id"))), photo);
  EXPECT_EQ(U(p.at("owner_id")), ann.id);
  EXPECT_EQ(U(p.at("width")), 48u);
  EXPECT_EQ(U(p.at("height")), 32u);
  EXPECT_EQ(p.at("format").as_string(), "jpeg");
  EXPECT_GT(U(p.at("bytes")), 0u);
  // The filter passed the AVATAR_CHANGED of the first photo: `next` is past it as well.
  EXPECT_EQ(U(r["next"]), U(r["watermark"]));
  EXPECT_EQ(r["missed"], json::value(false));

  ASSERT_EQ(api_->Call("DELETE", "/v1/photos/" + photo, ann.token).status(), 204);
  ApiReply all = Events("after=" + std::to_string(after));
  ASSERT_EQ(all.status(), 200);
  std::vector<std::string> types = Types(all);
  EXPECT_EQ(std::count(types.begin(), types.end(), "PHOTO_REGISTERED"), 1);
  EXPECT_EQ(std::count(types.begin(), types.end(), "PHOTO_DELETED"), 1);
  // Pages: limit=1 walks them one at a time through `next`.
  uint64_t cursor = after;
  size_t walked = 0;
  for (int i = 0; i < 20; ++i) {
    ApiReply page = Events("limit=1&after=" + std::to_string(cursor));
    ASSERT_EQ(page.status(), 200);
    if (page["events"].as_array().empty()) break;
    ASSERT_EQ(page["events"].as_array().size(), 1u);
    EXPECT_EQ(U(page["next"]), U(page["events"].as_array()[0].as_object().at("seq")));
    cursor = U(page["next"]);
    ++walked;
  }
  EXPECT_EQ(walked, types.size());
}

TEST_F(EventsFlowTest, LongPollReturnsAsSoonAsAnEventIsWritten) {
  ApiClient::Account ann = api_->NewAccount("ann@example.com");
  const uint64_t after = U(Events("")["watermark"]);
  auto poll = std::async(std::launch::async, [&] {
    const auto t0 = Clock::now();
    ApiReply r = Events("wait=30&after=" + std::to_string(after));
    return std::make_pair(r, Clock::now() - t0);
  });
  // Let the poll begin waiting (it must not return before anything happens).
  EXPECT_EQ(poll.wait_for(std::chrono::milliseconds(700)), std::future_status::timeout);
  api_->UploadPhoto(ann.token, testutil::MakeJpeg(16, 16));
  ASSERT_EQ(poll.wait_for(std::chrono::seconds(20)), std::future_status::ready)
      << "the poll did not wake up";
  auto [r, took] = poll.get();
  ASSERT_EQ(r.status(), 200) << r.http.body;
  EXPECT_FALSE(r["events"].as_array().empty());
  EXPECT_LT(took, std::chrono::seconds(20)) << "woken well before wait=30";
}

TEST_F(EventsFlowTest, LongPollReturnsEmptyAfterWait) {
  const uint64_t after = U(Events("")["watermark"]);
  const auto t0 = Clock::now();
  ApiReply r = Events("wait=2&after=" + std::to_string(after));
  const auto took = Clock::now() - t0;
  ASSERT_EQ(r.status(), 200) << r.http.body;
  EXPECT_TRUE(r["events"].as_array().empty());
  EXPECT_EQ(U(r["next"]), after);
  EXPECT_GE(took, std::chrono::milliseconds(1900));
  EXPECT_LT(took, std::chrono::seconds(15));
}

TEST_F(EventsFlowTest, LongPollsDoNotBlockOtherRequests) {
  const uint64_t after = U(Events("")["watermark"]);
  // Many more waiting polls than the server's 2 event loops.
  constexpr int kPolls = 24;
  std::vector<std::future<ApiReply>> polls;
  for (int i = 0; i < kPolls; ++i)
    polls.push_back(std::async(std::launch::async,
                               [&] { return Events("wait=6&after=" + std::to_string(after)); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    ApiReply health = api_->Get("/healthz");
    EXPECT_EQ(health.status(), 200);
    ApiReply consumers = api_->Get("/v1/events/consumers", service_);
    EXPECT_EQ(consumers.status(), 200);
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2)) << "blocked behind the long-polls";
  }
  // One event wakes every one of them.
  ApiClient::Account ann = api_->NewAccount("ann@example.com");
  api_->UploadPhoto(ann.token, testutil::MakeJpeg(16, 16));
  for (auto& p : polls) {
    ApiReply r = p.get();
    EXPECT_EQ(r.status(), 200) << r.http.body;
    EXPECT_FALSE(r["events"].as_array().empty());
  }
}

TEST_F(EventsFlowTest, ShutdownAnswersWaitingPolls) {
  const uint64_t after = U(Events("")["watermark"]);
  // A raw exchange: the test client would reconnect after the last response, to a server
  // that is gone by then.
  const std::string request = "GET /v1/events?wait=60&after=" + std::to_string(after) +
                              " HTTP/1.1\r\nHost: glint\r\nAuthorization: Bearer " + service_ +
                              "\r\n\r\n";
  const uint16_t port = server_->port();
  auto poll = std::async(std::launch::async, [&] {
    return testutil::RawExchange(port, request, std::chrono::seconds(20));
  });
  EXPECT_EQ(poll.wait_for(std::chrono::milliseconds(800)), std::future_status::timeout);
  const auto t0 = Clock::now();
  EXPECT_EQ(server_->Stop(), 0) << server_->log();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(8)) << "the poll held the shutdown back";
  ASSERT_EQ(poll.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  const std::string reply = poll.get();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
  EXPECT_NE(reply.find("\"events\":[]"), std::string::npos) << reply;
}

TEST_F(EventsFlowTest, TooManyWaitingPollsAre503) {
  server_.reset();
  TempDir other;
  server_ = std::make_unique<GlintServer>(other.path() + "/var",
                                          std::vector<std::string>{"--max-event-waiters", "2"});
  service_ = server_->service_token();
  const uint64_t after = U(Events("")["watermark"]);
  std::vector<std::future<ApiReply>> polls;
  for (int i = 0; i < 2; ++i)
    polls.push_back(std::async(std::launch::async,
                               [&] { return Events("wait=4&after=" + std::to_string(after)); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ApiReply third = Events("wait=4&after=" + std::to_string(after));
  EXPECT_EQ(third.status(), 503);
  EXPECT_EQ(third.error_code(), "too_many_waiters");
  EXPECT_FALSE(third.http.Header("retry-after").empty());
  EXPECT_EQ(Events("wait=0&after=" + std::to_string(after)).status(), 200)
      << "a poll that does not wait needs no place";
  for (auto& p : polls) EXPECT_EQ(p.get().status(), 200);
}

TEST_F(EventsFlowTest, ConsumerCursorCommitsAndResumes) {
  ApiClient::Account ann = api_->NewAccount("ann@example.com");
  // A new consumer without `after` starts at the oldest event kept, and is registered.
  ApiReply first = Events("consumer=indexer&limit=1000");
  ASSERT_EQ(first.status(), 200) << first.http.body;
  const uint64_t handled = U(first["next"]);
  ApiReply list = api_->Get("/v1/events/consumers", service_);
  ASSERT_EQ(list.status(), 200);
  bool found = false;
  for (const auto& c : list["consumers"].as_array()) {
    const json::object& o = c.as_object();
    if (o.at("name").as_string() != "indexer") continue;
    found = true;
    EXPECT_EQ(o.at("kind").as_string(), "outside");
    EXPECT_EQ(U(o.at("cursor")), 0u);
    EXPECT_EQ(U(o.at("lag")), U(list["watermark"]));
  }
  EXPECT_TRUE(found) << list.http.body;

  // It handled that page: commits it, reads on.
  api_->UploadPhoto(ann.token, testutil::MakeJpeg(16, 16));
  ApiReply next = Events("consumer=indexer&after=" + std::to_string(handled));
  ASSERT_EQ(next.status(), 200);
  EXPECT_EQ(Types(next).front(), "PHOTO_REGISTERED");
  // Without `after`, it resumes at its committed cursor, after a restart too.
  api_.reset();
  ASSERT_EQ(server_->Stop(), 0) << server_->log();
  server_->Restart();
  api_ = std::make_unique<ApiClient>(server_->port(), server_->admin_token());
  ApiReply resumed = Events("consumer=indexer");
  ASSERT_EQ(resumed.status(), 200);
  EXPECT_EQ(Types(resumed), Types(next));
  ApiReply after_restart = api_->Get("/v1/events/consumers", service_);
  for (const auto& c : after_restart["consumers"].as_array()) {
    if (c.as_object().at("name").as_string() == "indexer") {
      EXPECT_EQ(U(c.as_object().at("cursor")), handled);
    }
  }

  // Only the admin deletes it; then it is gone.
  EXPECT_EQ(api_->Call("DELETE", "/v1/events/consumers/indexer", service_).error_code(),
            "admin_required");
  EXPECT_EQ(api_->Call("DELETE", "/v1/events/consumers/indexer", api_->admin_token()).status(),
            204);
  ApiReply gone = api_->Call("DELETE", "/v1/events/consumers/indexer", api_->admin_token());
  EXPECT_EQ(gone.status(), 404);
  EXPECT_EQ(gone.error_code(), "consumer_not_found");
  EXPECT_EQ(api_->Call("DELETE", "/v1/events/consumers/Bad!", api_->admin_token()).error_code(),
            "invalid_consumer");
}

// A webhook removed from the configuration leaves its cursor behind, which would hold
// retention back for ever: the list shows it inactive and the admin deletes it; a built-in
// consumer that runs is refused (409), like Kafka refuses a group with members.
TEST_F(EventsFlowTest, CursorsOfRemovedBuiltinConsumersCanBeDeleted) {
  const std::string hook = "webhook:http://127.0.0.1:9/hook";
  auto find = [&](const std::string& name) -> std::optional<json::object> {
    ApiReply list = api_->Get("/v1/events/consumers", service_);
    EXPECT_EQ(list.status(), 200) << list.http.body;
    for (const auto& c : list["consumers"].as_array())
      if (c.as_object().at("name").as_string() == name) return c.as_object();
    return std::nullopt;
  };
  auto restart = [&](const std::vector<std::string>& extra) {
    api_.reset();
    ASSERT_EQ(server_->Stop(), 0) << server_->log();
    server_ = std::make_unique<GlintServer>(dir_.path() + "/var", extra);
    ASSERT_NE(server_->port(), 0);
    api_ = std::make_unique<ApiClient>(server_->port(), server_->admin_token());
  };
  ASSERT_NO_FATAL_FAILURE(restart({"--webhooks", "*=http://127.0.0.1:9/hook"}));
  for (int i = 0; i < 200 && !find(hook); ++i)  // its thread writes the cursor on start
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(find(hook));
  EXPECT_TRUE(find(hook)->at("active").as_bool());
  const std::string target =
      "/v1/events/consumers?builtin=webhook%3Ahttp%3A%2F%2F127.0.0.1%3A9%2Fhook";
  ApiReply running = api_->Call("DELETE", target, api_->admin_token());
  EXPECT_EQ(running.status(), 409) << running.http.body;
  EXPECT_EQ(running.error_code(), "consumer_active");

  ASSERT_NO_FATAL_FAILURE(restart({}));
  ASSERT_TRUE(find(hook));
  EXPECT_FALSE(find(hook)->at("active").as_bool());
  EXPECT_NE(server_->log().find("is no longer configured"), std::string::npos) << server_->log();
  EXPECT_EQ(api_->Call("DELETE", target, service_).error_code(), "admin_required");
  EXPECT_EQ(api_->Call("DELETE", target, api_->admin_token()).status(), 204);
  EXPECT_FALSE(find(hook));
  EXPECT_EQ(api_->Call("DELETE", target, api_->admin_token()).error_code(), "consumer_not_found");
  // The running badge consumer is refused; outside names go by their own route.
  EXPECT_EQ(
      api_->Call("DELETE", "/v1/events/consumers?builtin=badge", api_->admin_token()).error_code(),
      "consumer_active");
  EXPECT_EQ(api_->Call("DELETE", "/v1/events/consumers?builtin=ext%3Ax", api_->admin_token())
                .error_code(),
            "invalid_consumer");
  EXPECT_EQ(api_->Call("DELETE", "/v1/events/consumers", api_->admin_token()).error_code(),
            "invalid_consumer");
}

TEST_F(EventsFlowTest, BadParametersAre400) {
  const std::pair<std::string, std::string> cases[] = {
      {"after=x", "invalid_after"},
      {"after=-1", "invalid_after"},
      {"after=", "invalid_after"},
      {"limit=0", "invalid_limit"},
      {"limit=1001", "invalid_limit"},
      {"limit=ten", "invalid_limit"},
      {"wait=61", "invalid_wait"},
      {"wait=1.5", "invalid_wait"},
      {"types=", "invalid_types"},
      {"types=PHOTO_REGISTERED,,PHOTO_DELETED", "invalid_types"},
      {"types=PHOTO_REGISTERD", "unknown_event_type"},
      {"consumer=", "invalid_consumer"},
      {"consumer=UPPER", "invalid_consumer"},
      {"consumer=" + std::string(65, 'a'), "invalid_consumer"},
  };
  for (const auto& [query, code] : cases) {
    ApiReply r = Events(query);
    EXPECT_EQ(r.status(), 400) << query << ": " << r.http.body;
    EXPECT_EQ(r.error_code(), code) << query;
  }
  EXPECT_EQ(Events("limit=1000&wait=1&types=PHOTO_REGISTERED,PHOTO_DELETED&after=0").status(), 200);
}

TEST_F(EventsFlowTest, OnlyBackendTokensReadEvents) {
  ApiClient::Account ann = api_->NewAccount("ann@example.com");
  EXPECT_EQ(api_->Get("/v1/events").status(), 401);
  EXPECT_EQ(api_->Get("/v1/events").error_code(), "login_required");
  EXPECT_EQ(api_->Get("/v1/events", "glt_bogus").status(), 401);
  ApiReply user = api_->Get("/v1/events", ann.token);
  EXPECT_EQ(user.status(), 403);
  EXPECT_EQ(user.error_code(), "service_token_required");
  EXPECT_EQ(api_->Get("/v1/events/consumers", ann.token).error_code(), "service_token_required");
  EXPECT_EQ(api_->Call("DELETE", "/v1/events/consumers/x", ann.token).error_code(),
            "service_token_required");
  EXPECT_EQ(api_->Get("/v1/events", api_->admin_token()).status(), 200);
  EXPECT_EQ(api_->Get("/v1/events", service_).status(), 200);
}

}  // namespace
}  // namespace glint
