// The newly-unread badge, end to end: the real `glint` binary over real HTTP. Ingest as JSON
// and NDJSON with the service token, who may ingest and read, bad bodies, acknowledgement,
// the live Server-Sent Events stream and presence, and counts across a restart. Exactness
// under floods and races is tested in core (tests/core/badge_test.cc).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "tests/testutil/api_client.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/process.h"

namespace glint {
namespace {

using testutil::ApiClient;
using testutil::ApiReply;
using testutil::GlintServer;
using testutil::HttpClient;
using testutil::TempDir;
namespace json = boost::json;

json::array Events(std::initializer_list<std::pair<uint64_t, uint64_t>> pairs) {
  json::array a;
  for (auto [src, dest] : pairs) a.push_back(json::object{{"src", src}, {"dest", dest}});
  return a;
}

// A Server-Sent Events reader on its own connection: plain sockets and poll(2), so that
// every wait has a deadline.
class SseClient {
 public:
  SseClient(uint16_t port, const std::string& target, const std::string& token) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    std::string req = "GET " + target +
                      " HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
                      "Authorization: Bearer " +
                      token + "\r\n\r\n";
    EXPECT_EQ(::send(fd_, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  }
  ~SseClient() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Reads until everything received since the last match contains `text` (true) or 20 s
  // pass (false).
  bool WaitFor(const std::string& text) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      if (size_t at = data_.find(text, seen_); at != std::string::npos) {
        seen_ = at + text.size();
        return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      data_.append(buf, static_cast<size_t>(n));
    }
  }
  const std::string& data() const { return data_; }

 private:
  int fd_ = -1;
  std::string data_;
  size_t seen_ = 0;
};

class BadgeFlowTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra = {}) {
    server_ = std::make_unique<GlintServer>(dir_.path() + "/var", extra);
    ASSERT_NE(server_->port(), 0);
    Connect();
  }
  void Connect() {
    api_ = std::make_unique<ApiClient>(server_->port(), server_->admin_token());
    http_ = std::make_unique<HttpClient>(server_->port());
    service_ = server_->service_token();
    ASSERT_FALSE(service_.empty());
  }
  void Restart() {
    api_.reset();
    http_.reset();
    ASSERT_EQ(server_->Stop(), 0) << server_->log();
    server_->Restart();
    Connect();
  }
  ApiReply Ingest(const json::value& events, const std::string& token) {
    return api_->Call("POST", "/v1/badges/events", token, events);
  }
  uint64_t Count(const ApiClient::Account& who) {
    ApiReply r = api_->Get("/v1/me/badge", who.token);
    EXPECT_EQ(r.status(), 200) << r.http.body;
    return r.status() == 200 ? r["count"].to_number<uint64_t>() : ~uint64_t{0};
  }
  testutil::HttpResponse PostRaw(const std::string& body, const std::string& type) {
    return http_->Request("POST", "/v1/badges/events", body,
                          {{"Authorization", "Bearer " + service_}, {"Content-Type", type}});
  }

  TempDir dir_;
  std::unique_ptr<GlintServer> server_;
  std::unique_ptr<ApiClient> api_;
  std::unique_ptr<HttpClient> http_;
  std::string service_;
};

TEST_F(BadgeFlowTest, IngestJsonAndNdjsonReadAndAck) {
  Start();
  auto a = api_->NewAccount("a@example.com");
  auto b = api_->NewAccount("b@example.com");
  auto c = api_->NewAccount("c@example.com");
  EXPECT_EQ(Count(a), 0u);

  ApiReply r = Ingest(Events({{b.id, a.id}, {c.id, a.id}, {b.id, a.id}}), service_);
  ASSERT_EQ(r.status(), 200) << r.http.body;
  EXPECT_EQ(r["received"].to_number<int>(), 3);
  EXPECT_EQ(r["counted"].to_number<int>(), 2);
  EXPECT_EQ(r["absorbed"].to_number<int>(), 1);
  EXPECT_EQ(Count(a), 2u);

  // NDJSON: one object per line, blank lines allowed, ids also as strings.
  std::string nd = "{\"src\":" + std::to_string(b.id) + ",\"dest\":" + std::to_string(a.id) +
                   "}\n\n{\"src\":\"9001\",\"dest\":" + std::to_string(a.id) + "}\n";
  auto raw = PostRaw(nd, "application/x-ndjson");
  ASSERT_EQ(raw.status, 200) << raw.body;
  json::object o = json::parse(raw.body).as_object();
  EXPECT_EQ(o["counted"].to_number<int>(), 1);
  EXPECT_EQ(o["absorbed"].to_number<int>(), 1);
  EXPECT_EQ(Count(a), 3u);
  EXPECT_EQ(Count(b), 0u);

  ApiReply ack = api_->Call("POST", "/v1/me/badge/ack", a.token);
  ASSERT_EQ(ack.status(), 200) << ack.http.body;
  EXPECT_EQ(ack["count"].to_number<int>(), 0);
  EXPECT_EQ(Count(a), 0u);
  // After the acknowledgement the same sender counts again.
  EXPECT_EQ(Ingest(Events({{b.id, a.id}}), service_)["counted"].to_number<int>(), 1);
  EXPECT_EQ(Count(a), 1u);

  ApiReply stats = api_->Get("/v1/badges/stats", service_);
  ASSERT_EQ(stats.status(), 200) << stats.http.body;
  EXPECT_EQ(stats["received"].to_number<int>(), 6);
  EXPECT_EQ(stats["durable_writes"].to_number<int>(), 4);
  EXPECT_EQ(stats["absorbed"].to_number<int>(), 2);
  EXPECT_EQ(stats["acks"].to_number<int>(), 1);

  // The event log got the counted events only, each with the badge after it.
  ApiReply log = api_->Get("/v1/events?types=MESSAGE_UNSENT", service_);
  ASSERT_EQ(log.status(), 200) << log.http.body;
  const json::array& events = log["events"].as_array();
  ASSERT_EQ(events.size(), 4u) << log.http.body;
  uint64_t counts[4];
  for (size_t i = 0; i < 4; ++i) {
    const json::object& e = events[i].as_object();
    EXPECT_EQ(e.at("recipient").to_number<uint64_t>(), a.id);
    EXPECT_EQ(e.at("subject").as_string(), std::to_string(a.id));
    counts[i] = e.at("payload").at("count").to_number<uint64_t>();
  }
  EXPECT_EQ(events[3].at("actor").to_number<uint64_t>(), b.id);  // re-counted after the ack
  EXPECT_EQ(counts[0] + counts[1], 3u);                          // 1 then 2, in stripe order
  EXPECT_EQ(counts[2], 3u);
  EXPECT_EQ(counts[3], 1u);
}

TEST_F(BadgeFlowTest, OnlyBackendsIngestAndOnlyTheReceiverReads) {
  Start();
  auto a = api_->NewAccount("a@example.com");
  auto b = api_->NewAccount("b@example.com");
  const json::array one = Events({{b.id, a.id}});
  EXPECT_EQ(Ingest(one, "").status(), 401);
  ApiReply as_user = Ingest(one, a.token);
  EXPECT_EQ(as_user.status(), 403);
  EXPECT_EQ(as_user.error_code(), "service_token_required");
  EXPECT_EQ(api_->Get("/v1/badges/stats", b.token).status(), 403);
  EXPECT_EQ(Ingest(one, api_->admin_token()).status(), 200);  // the admin is a backend too

  EXPECT_EQ(api_->Get("/v1/me/badge").status(), 401);
  EXPECT_EQ(api_->Call("POST", "/v1/me/badge/ack").status(), 401);
  const std::string theirs = "/v1/users/" + std::to_string(a.id) + "/badge";
  EXPECT_EQ(api_->Get(theirs, b.token).status(), 403);
  EXPECT_EQ(api_->Call("POST", theirs + "/ack", b.token).status(), 403);
  EXPECT_EQ(api_->Get(theirs, service_).status(), 403);
  ApiReply admin = api_->Get(theirs, api_->admin_token());
  ASSERT_EQ(admin.status(), 200);
  EXPECT_EQ(admin["count"].to_number<int>(), 1);
  EXPECT_EQ(api_->Get(theirs, a.token)["count"].to_number<int>(), 1);
  EXPECT_EQ(Count(a), 1u);  // b's attempt to acknowledge changed nothing
}

TEST_F(BadgeFlowTest, BadBodiesAreRefusedAndCountNothing) {
  Start({"--badge-max-batch", "3"});
  auto a = api_->NewAccount("a@example.com");
  auto expect = [&](const std::string& body, const std::string& type, int status,
                    const std::string& code) {
    auto r = PostRaw(body, type);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    EXPECT_NE(r.body.find("\"code\":\"" + code + "\""), std::string::npos) << r.body;
  };
  const std::string d = std::to_string(a.id);
  expect("not json", "application/json", 400, "invalid_json");
  expect("{\"src\":1,\"dest\":" + d + "}", "application/json", 400, "invalid_body");
  expect("[]", "application/json", 400, "invalid_body");
  expect("[{\"src\":" + d + ",\"dest\":" + d + "}]", "application/json", 400, "invalid_event");
  expect("[{\"src\":0,\"dest\":" + d + "}]", "application/json", 400, "invalid_event");
  expect("[{\"src\":-4,\"dest\":" + d + "}]", "application/json", 400, "invalid_event");
  expect("[{\"src\":101.5,\"dest\":" + d + "}]", "application/json", 400, "invalid_event");
  expect("[{\"dest\":" + d + "}]", "application/json", 400, "invalid_event");
  expect("[{\"src\":101,\"dest\":" + d + "}, 7]", "application/json", 400, "invalid_event");
  expect("{\"src\":101,\"dest\":" + d + "}\n{oops\n", "application/x-ndjson", 400, "invalid_json");
  std::string four;
  json::array four_array;
  for (uint64_t s = 101; s <= 104; ++s) {
    four += "{\"src\":" + std::to_string(s) + ",\"dest\":" + d + "}\n";
    four_array.push_back(json::object{{"src", s}, {"dest", a.id}});
  }
  expect(json::serialize(four_array), "application/json", 413, "batch_too_large");
  expect(four, "application/x-ndjson", 413, "batch_too_large");
  EXPECT_EQ(Count(a), 0u);
  // A body far over the limit is refused before it is read.
  expect(std::string(1 << 20, ' '), "application/json", 413, "body_too_large");
}

TEST_F(BadgeFlowTest, StreamPushesEveryChange) {
  Start();
  auto a = api_->NewAccount("a@example.com");
  auto b = api_->NewAccount("b@example.com");
  ASSERT_EQ(Ingest(Events({{b.id, a.id}}), service_).status(), 200);
  SseClient sse(server_->port(), "/v1/me/badge/stream", a.token);
  ASSERT_TRUE(sse.WaitFor("text/event-stream")) << sse.data();
  ASSERT_TRUE(sse.WaitFor("event: badge\ndata: {\"count\":1}\n\n")) << sse.data();
  ASSERT_EQ(Ingest(Events({{9001, a.id}, {9002, a.id}}), service_).status(), 200);
  ASSERT_TRUE(sse.WaitFor("data: {\"count\":3}")) << sse.data();
  ASSERT_EQ(api_->Call("POST", "/v1/me/badge/ack", a.token).status(), 200);
  ASSERT_TRUE(sse.WaitFor("data: {\"count\":0}")) << sse.data();
  // Other receivers' changes are not sent; requests on other connections still flow.
  ASSERT_EQ(Ingest(Events({{a.id, b.id}}), service_).status(), 200);
  ASSERT_EQ(Ingest(Events({{9003, a.id}}), service_).status(), 200);
  ASSERT_TRUE(sse.WaitFor("data: {\"count\":1}")) << sse.data();
  EXPECT_EQ(sse.data().find("count\":2"), std::string::npos) << sse.data();
  // Someone else's stream is refused before any event.
  SseClient other(server_->port(), "/v1/users/" + std::to_string(a.id) + "/badge/stream", b.token);
  EXPECT_TRUE(other.WaitFor("403"));
  // The server drains with a stream open: it stops promptly and cleanly.
  EXPECT_EQ(server_->Stop(), 0) << server_->log();
}

TEST_F(BadgeFlowTest, SkipOnlineDoesNotCountWhileAStreamIsOpen) {
  Start({"--badge-skip-online", "true"});
  auto a = api_->NewAccount("a@example.com");
  {
    SseClient sse(server_->port(), "/v1/me/badge/stream", a.token);
    ASSERT_TRUE(sse.WaitFor("data: {\"count\":0}")) << sse.data();
    ApiReply r = Ingest(Events({{9001, a.id}}), service_);
    ASSERT_EQ(r.status(), 200);
    EXPECT_EQ(r["skipped"].to_number<int>(), 1);
    EXPECT_EQ(Count(a), 0u);
  }
  // The stream closed: once the server notices, a is offline and counted again.
  bool counted = false;
  for (int i = 0; i < 200 && !counted; ++i) {
    counted = Ingest(Events({{9001, a.id}}), service_)["counted"].to_number<int>() == 1;
    if (!counted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(counted);
  EXPECT_EQ(Count(a), 1u);
}

TEST_F(BadgeFlowTest, CountsSurviveARestart) {
  Start();
  auto a = api_->NewAccount("a@example.com");
  ASSERT_EQ(Ingest(Events({{11, a.id}, {12, a.id}, {13, a.id}}), service_).status(), 200);
  Restart();
  EXPECT_EQ(Count(a), 3u);
  ApiReply again = Ingest(Events({{11, a.id}, {12, a.id}, {14, a.id}}), service_);
  ASSERT_EQ(again.status(), 200);
  EXPECT_EQ(again["counted"].to_number<int>(), 1);
  EXPECT_EQ(again["absorbed"].to_number<int>(), 2);
  EXPECT_EQ(Count(a), 4u);
}

}  // namespace
}  // namespace glint
