// End to end: the real `glint` binary on a free port with a temporary data directory,
// driven over real HTTP through the whole Gravatar flow, its refusals, and restarts.
#include <openssl/evp.h>

#include <signal.h>
#include <sys/socket.h>

#include <array>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "codec/image_header.h"
#include "tests/testutil/exif.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"
#include "tests/testutil/s3rver.h"

namespace glint {
namespace {

using testutil::GlintServer;
using testutil::Headers;
using testutil::HttpClient;
using testutil::HttpResponse;
using testutil::TempDir;
namespace json = boost::json;

std::string HexDigest(const EVP_MD* md, const std::string& s) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), out, &len, md, nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  return hex;
}

json::object Json(const HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << r.body;
    return {};
  }
  return v.as_object();
}

std::string ErrorCode(const HttpResponse& r) {
  json::object o = Json(r);
  if (!o.contains("error")) return "(no error object: " + r.body + ")";
  return std::string(o["error"].as_object()["code"].as_string());
}

std::string Str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Width and height of an encoded image ({0, 0} when it is not one).
std::pair<uint32_t, uint32_t> Dimensions(const std::string& bytes) {
  auto h = codec::ReadHeader(std::span<const char>(bytes.data(), bytes.size()));
  return h.ok() ? std::make_pair(h->width, h->height) : std::make_pair(0u, 0u);
}

Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// The path and query of an absolute URL returned by the server.
std::string PathOf(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

class GlintFlowTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra = {}) {
    server_ = std::make_unique<GlintServer>(dir_.path() + "/var", extra);
    ASSERT_NE(server_->port(), 0);
    client_ = std::make_unique<HttpClient>(server_->port());
  }
  void Restart(const std::vector<std::string>& extra = {}) {
    client_.reset();
    ASSERT_EQ(server_->Stop(), 0) << server_->log();
    EXPECT_NE(server_->log().find("stopped cleanly"), std::string::npos) << server_->log();
    Start(extra);
  }

  // Creates an account through the admin token and logs in; returns the bearer token.
  std::string CreateUserAndLogin(const std::string& email,
                                 const std::string& password = "correct horse battery") {
    HttpResponse created =
        client_->Request("POST", "/v1/accounts",
                         json::serialize(json::object{{"email", email}, {"password", password}}),
                         Bearer(server_->admin_token()));
    EXPECT_EQ(created.status, 201) << created.body;
    HttpResponse login =
        client_->Request("POST", "/v1/sessions",
                         json::serialize(json::object{{"email", email}, {"password", password}}));
    EXPECT_EQ(login.status, 201) << login.body;
    return Str(Json(login), "token");
  }

  // Prepares an upload URL; returns (upload_id, path+query of the URL).
  std::pair<std::string, std::string> Prepare(const std::string& token,
                                              const std::string& body = "") {
    HttpResponse r = client_->Request("POST", "/v1/uploads", body, Bearer(token));
    EXPECT_EQ(r.status, 201) << r.body;
    json::object o = Json(r);
    return {Str(o, "upload_id"), PathOf(Str(o, "upload_url"))};
  }

  // The whole pre-signed flow; returns the registered photo's JSON.
  json::object UploadAndRegister(const std::string& token, const std::string& image) {
    auto [id, url] = Prepare(token);
    HttpResponse put = client_->Request("PUT", url, image, {{"Content-Type", "image/jpeg"}});
    EXPECT_EQ(put.status, 201) << put.body;
    HttpResponse reg = client_->Request(
        "POST", "/v1/photos", json::serialize(json::object{{"upload_id", id}}), Bearer(token));
    EXPECT_EQ(reg.status, 201) << reg.body;
    return Json(reg);
  }

  TempDir dir_;
  std::unique_ptr<GlintServer> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(GlintFlowTest, HealthAndReadiness) {
  Start();
  EXPECT_EQ(client_->Get("/healthz").status, 200);
  HttpResponse ready = client_->Get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(Str(Json(ready), "status"), "ready");
}

TEST_F(GlintFlowTest, GravatarFlowServesTheActivePhotoByEitherHash) {
  Start();
  std::string token = CreateUserAndLogin(" Alice@Example.COM ");
  const std::string md5 = HexDigest(EVP_md5(), "alice@example.com");
  const std::string sha = HexDigest(EVP_sha256(), "alice@example.com");

  // Before any photo: the hash is known but there is nothing to show.
  EXPECT_EQ(client_->Get("/avatar/" + md5 + "?d=404").status, 404);

  std::string jpeg = testutil::MakeJpeg(96, 80);
  json::object photo = UploadAndRegister(token, jpeg);
  EXPECT_EQ(photo["width"].as_int64(), 96);
  EXPECT_EQ(photo["height"].as_int64(), 80);
  EXPECT_EQ(Str(photo, "format"), "jpeg");
  EXPECT_TRUE(photo["selected"].as_bool()) << "the first photo becomes the avatar";

  HttpResponse a = client_->Get("/avatar/" + md5);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(Dimensions(a.body), std::make_pair(80u, 80u)) << "no parameters: Gravatar's 80 px";
  EXPECT_EQ(a.Header("content-type"), "image/jpeg");
  EXPECT_FALSE(a.Header("etag").empty());
  EXPECT_NE(a.Header("cache-control").find("max-age="), std::string::npos);

  std::string upper = sha;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // Gravatar sizing: a square, cropped to fill, never larger than the source (96x80).
  HttpResponse sized = client_->Get("/avatar/" + upper + ".jpg?s=48&d=404");
  ASSERT_EQ(sized.status, 200) << sized.body;
  auto sized_header =
      codec::ReadHeader(std::span<const char>(sized.body.data(), sized.body.size()));
  ASSERT_TRUE(sized_header.ok());
  EXPECT_EQ(sized_header->width, 48u);
  EXPECT_EQ(sized_header->height, 48u);
  EXPECT_NE(sized.Header("etag"), a.Header("etag"));
  HttpResponse capped = client_->Get("/avatar/" + md5 + "?size=200");
  auto capped_header =
      codec::ReadHeader(std::span<const char>(capped.body.data(), capped.body.size()));
  ASSERT_TRUE(capped_header.ok());
  EXPECT_EQ(capped_header->width, 80u);
  EXPECT_EQ(capped_header->height, 80u);
  HttpResponse webp = client_->Get("/avatar/" + md5 + "?s=32&fm=webp&q=75");
  EXPECT_EQ(webp.Header("content-type"), "image/webp");
  EXPECT_EQ(client_->Get("/avatar/" + md5 + "?s=32&fm=bmp").status, 400);
  EXPECT_EQ(client_->Get("/" + md5 + ".png").body, a.body) << "bare Gravatar path";

  HttpResponse head = client_->Request("HEAD", "/avatar/" + md5);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.Header("content-length"), std::to_string(a.body.size()));

  HttpResponse cached = client_->Get("/avatar/" + md5, {{"If-None-Match", a.Header("etag")}});
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());

  // The email is never exposed by the public path.
  EXPECT_EQ(a.body.find("alice@"), std::string::npos);

  // A second photo, then switching the active one.
  std::string png = testutil::MakePng(40, 30, true);
  HttpResponse direct =
      client_->Request("POST", "/v1/photos", png,
                       {{"Authorization", "Bearer " + token}, {"Content-Type", "image/png"}});
  ASSERT_EQ(direct.status, 201) << direct.body;
  json::object second = Json(direct);
  EXPECT_FALSE(second["selected"].as_bool());
  HttpResponse list = client_->Get("/v1/photos", Bearer(token));
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(Json(list)["photos"].as_array().size(), 2u);

  HttpResponse set = client_->Request(
      "PUT", "/v1/me/avatar", json::serialize(json::object{{"photo_id", Str(second, "image_id")}}),
      Bearer(token));
  ASSERT_EQ(set.status, 200) << set.body;
  HttpResponse now = client_->Get("/avatar/" + md5);
  EXPECT_EQ(Dimensions(now.body), std::make_pair(30u, 30u)) << "the 40x30 photo, squared";
  EXPECT_EQ(now.Header("content-type"), "image/png");
  EXPECT_NE(now.Header("etag"), a.Header("etag"));

  // The owner reads the original through /raw/.
  HttpResponse raw = client_->Get(PathOf(Str(second, "image_url")), Bearer(token));
  EXPECT_EQ(raw.status, 200);
  EXPECT_EQ(raw.body, png);
}

TEST_F(GlintFlowTest, RefusalsAreSpecificJsonErrors) {
  Start();
  std::string alice = CreateUserAndLogin("alice@example.com");
  std::string bob = CreateUserAndLogin("bob@example.com");
  json::object alice_photo = UploadAndRegister(alice, testutil::MakeJpeg(32, 32));

  // Wrong owner: bob cannot activate or read alice's photo.
  HttpResponse steal = client_->Request(
      "PUT", "/v1/me/avatar",
      json::serialize(json::object{{"photo_id", Str(alice_photo, "image_id")}}), Bearer(bob));
  EXPECT_EQ(steal.status, 404);
  EXPECT_EQ(ErrorCode(steal), "photo_not_found");
  EXPECT_EQ(client_->Get("/avatar/" + HexDigest(EVP_md5(), "bob@example.com") + "?d=404").status,
            404)
      << "bob still has no avatar";
  std::string raw_path = PathOf(Str(alice_photo, "image_url"));
  HttpResponse other = client_->Get(raw_path, Bearer(bob));
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(ErrorCode(other), "not_your_blob");
  EXPECT_EQ(client_->Get(raw_path).status, 401);
  EXPECT_EQ(client_->Get(raw_path, Bearer(server_->admin_token())).status, 200) << "admins may";

  // Bad signature, tampered limit, expired URL.
  auto [id, url] = Prepare(alice);
  std::string jpeg = testutil::MakeJpeg(16, 16);
  std::string forged = url.substr(0, url.size() - 1) + (url.back() == '0' ? "1" : "0");
  HttpResponse bad = client_->Request("PUT", forged, jpeg);
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(ErrorCode(bad), "bad_signature");
  std::string raised = url;
  raised.replace(raised.find("&max=") + 5, 1, "9");
  EXPECT_EQ(ErrorCode(client_->Request("PUT", raised, jpeg)), "bad_signature");

  auto [short_id, short_url] = Prepare(alice, R"({"expires_in": 1})");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  HttpResponse expired = client_->Request("PUT", short_url, jpeg);
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(ErrorCode(expired), "upload_expired");

  // Not an image, then an upload over the URL's limit.
  HttpResponse text = client_->Request("PUT", url, "just some text, not a picture");
  EXPECT_EQ(text.status, 415);
  EXPECT_EQ(ErrorCode(text), "not_an_image");
  auto [small_id, small_url] = Prepare(alice, R"({"max_bytes": 100})");
  HttpResponse big = client_->Request("PUT", small_url, testutil::MakeJpeg(64, 64));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(ErrorCode(big), "upload_too_large");

  // The refused PUTs registered nothing.
  HttpResponse reg = client_->Request(
      "POST", "/v1/photos", json::serialize(json::object{{"upload_id", id}}), Bearer(alice));
  EXPECT_EQ(reg.status, 404);
  EXPECT_EQ(ErrorCode(reg), "upload_not_found");
  EXPECT_EQ(Json(client_->Get("/v1/photos", Bearer(alice)))["photos"].as_array().size(), 1u);

  // Bob cannot register alice's upload.
  ASSERT_EQ(client_->Request("PUT", url, jpeg).status, 201);
  HttpResponse theirs = client_->Request(
      "POST", "/v1/photos", json::serialize(json::object{{"upload_id", id}}), Bearer(bob));
  EXPECT_EQ(theirs.status, 403);
  EXPECT_EQ(ErrorCode(theirs), "not_your_upload");
  EXPECT_EQ(ErrorCode(client_->Request("PUT", url, jpeg)), "upload_already_received");

  // Accounts and sessions.
  HttpResponse closed = client_->Request("POST", "/v1/accounts",
                                         R"({"email":"eve@example.com","password":"12345678"})");
  EXPECT_EQ(closed.status, 403);
  EXPECT_EQ(ErrorCode(closed), "registration_closed");
  HttpResponse dup = client_->Request("POST", "/v1/accounts",
                                      R"({"email":"ALICE@example.com","password":"12345678"})",
                                      Bearer(server_->admin_token()));
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(ErrorCode(dup), "email_taken");
  HttpResponse wrong = client_->Request("POST", "/v1/sessions",
                                        R"({"email":"alice@example.com","password":"nope-nope"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(ErrorCode(wrong), "invalid_credentials");
  EXPECT_EQ(client_->Get("/v1/me", Bearer("glt_" + std::string(64, 'a'))).status, 401);
  EXPECT_EQ(client_->Get("/v1/me").status, 401);

  // Malformed input, unknown things, wrong methods.
  HttpResponse malformed = client_->Request("POST", "/v1/sessions", "{not json");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(ErrorCode(malformed), "invalid_json");
  EXPECT_EQ(ErrorCode(client_->Get("/avatar/not-a-hash")), "invalid_hash");
  EXPECT_EQ(ErrorCode(client_->Get("/avatar/" + std::string(32, '0') + "?d=404")), "no_avatar");
  EXPECT_EQ(client_->Get("/no/such/path").status, 404);
  HttpResponse method = client_->Request("DELETE", "/healthz");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.Header("allow"), "GET, HEAD");
  HttpResponse body_on_get = client_->Request("GET", "/healthz", "unexpected body");
  EXPECT_EQ(body_on_get.status, 413);
}

TEST_F(GlintFlowTest, OversizeBodyIsRefusedBeforeItIsRead) {
  Start({"--max-upload-bytes", "65536"});
  std::string token = CreateUserAndLogin("carol@example.com");
  HttpResponse r =
      client_->Request("POST", "/v1/photos", std::string(200000, 'x'),
                       {{"Authorization", "Bearer " + token}, {"Content-Type", "image/jpeg"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorCode(r), "body_too_large");
  EXPECT_FALSE(r.keep_alive) << "an unread body closes the connection";
}

TEST_F(GlintFlowTest, EverythingSurvivesARestart) {
  Start();
  std::string token = CreateUserAndLogin("dave@example.com");
  std::string jpeg = testutil::MakeJpeg(50, 50);
  UploadAndRegister(token, jpeg);
  const std::string md5 = HexDigest(EVP_md5(), "dave@example.com");
  const std::string before = client_->Get("/avatar/" + md5).body;
  ASSERT_EQ(Dimensions(before), std::make_pair(50u, 50u));

  Restart();
  EXPECT_EQ(client_->Get("/avatar/" + md5).body, before);
  HttpResponse me = client_->Get("/v1/me", Bearer(token));
  EXPECT_EQ(me.status, 200) << "sessions survive a restart";
  EXPECT_EQ(Str(Json(me), "email"), "dave@example.com");
  json::object second = UploadAndRegister(token, testutil::MakeJpeg(20, 20));
  EXPECT_EQ(Json(client_->Get("/v1/photos", Bearer(token)))["photos"].as_array().size(), 2u);
}

TEST_F(GlintFlowTest, KeepAliveAndPipelinedRequestsAreAnsweredInOrder) {
  Start();
  std::string two =
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: "
      "close\r\n\r\n";
  std::string out = testutil::RawExchange(server_->port(), two);
  size_t first = out.find("HTTP/1.1 200");
  size_t second = out.find("HTTP/1.1 404");
  ASSERT_NE(first, std::string::npos) << out;
  ASSERT_NE(second, std::string::npos) << out;
  EXPECT_LT(first, second);
}

TEST_F(GlintFlowTest, MalformedRequestsGet4xxAndTheServerStaysUp) {
  Start();
  std::string garbage = testutil::RawExchange(server_->port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(garbage.find("HTTP/1.1 400"), std::string::npos) << garbage;
  std::string huge =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') + "\r\n\r\n";
  std::string big = testutil::RawExchange(server_->port(), huge);
  EXPECT_NE(big.find("HTTP/1.1 431"), std::string::npos) << big.substr(0, 200);
  EXPECT_EQ(client_->Get("/healthz").status, 200);
}

TEST_F(GlintFlowTest, SigtermDrainsAndExitsCleanly) {
  Start();
  // An idle keep-alive connection must not hold the shutdown up.
  EXPECT_EQ(client_->Get("/healthz").status, 200);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(server_->Stop(), 0) << server_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(8));
  EXPECT_NE(server_->log().find("stopped cleanly"), std::string::npos) << server_->log();
}

TEST_F(GlintFlowTest, InFlightUploadFinishesAcrossSigterm) {
  Start();
  std::string token = CreateUserAndLogin("erin@example.com");
  auto [id, url] = Prepare(token);
  std::string jpeg = testutil::MakeJpeg(64, 64);
  client_.reset();

  // Send the header and half the body, then ask the server to stop.
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket sock(io);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), server_->port()});
  std::string head = "PUT " + url +
                     " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(jpeg.size()) +
                     "\r\n\r\n";
  boost::asio::write(sock, boost::asio::buffer(head + jpeg.substr(0, jpeg.size() / 2)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(::kill(server_->pid(), SIGTERM), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  boost::asio::write(sock, boost::asio::buffer(jpeg.substr(jpeg.size() / 2)));
  boost::beast::flat_buffer buf;
  boost::beast::http::response<boost::beast::http::string_body> res;
  boost::beast::http::read(sock, buf, res);
  EXPECT_EQ(res.result_int(), 201u) << res.body();
  EXPECT_FALSE(res.keep_alive()) << "a draining server closes after the response";
  EXPECT_EQ(server_->WaitForExit(), 0) << server_->log();

  // The acknowledged upload is there after a restart.
  Start();
  HttpResponse reg = client_->Request(
      "POST", "/v1/photos", json::serialize(json::object{{"upload_id", id}}), Bearer(token));
  EXPECT_EQ(reg.status, 201) << reg.body;
  HttpResponse avatar = client_->Get("/avatar/" + HexDigest(EVP_md5(), "erin@example.com"));
  EXPECT_EQ(avatar.status, 200);
  EXPECT_EQ(Dimensions(avatar.body), Dimensions(jpeg)) << "the acknowledged upload, served";
}

TEST_F(GlintFlowTest, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  Start({"--idle-timeout", "1"});
  auto started = std::chrono::steady_clock::now();
  std::string out = testutil::RawExchange(server_->port(), "", std::chrono::milliseconds(5000));
  EXPECT_TRUE(out.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(4500))
      << "the server closed the idle connection before the client gave up";
}

TEST_F(GlintFlowTest, AdminCommandCreatesAccountsInAStoppedDataDir) {
  std::string data = dir_.path() + "/var";
  testutil::ChildProcess admin({testutil::GlintBinary(), "admin", "create-user", "--email",
                                "Frank@Example.com", "--password", "frank-password", "--data-dir",
                                data, "--kdf-memlimit-kib", "8", "--kdf-opslimit", "1"},
                               dir_.path() + "/admin.log");
  ASSERT_EQ(admin.Stop(0, std::chrono::seconds(60)), 0)
      << testutil::ReadFileOrEmpty(dir_.path() + "/admin.log");
  EXPECT_NE(
      testutil::ReadFileOrEmpty(dir_.path() + "/admin.log").find("\"email\":\"frank@example.com\""),
      std::string::npos);
  Start();
  HttpResponse login = client_->Request(
      "POST", "/v1/sessions", R"({"email":"frank@example.com","password":"frank-password"})");
  EXPECT_EQ(login.status, 201) << login.body;

  // While the server runs, the data directory is locked and the command says so.
  testutil::ChildProcess busy({testutil::GlintBinary(), "admin", "create-user", "--email",
                               "g@example.com", "--password", "12345678", "--data-dir", data},
                              dir_.path() + "/busy.log");
  EXPECT_EQ(busy.Stop(0, std::chrono::seconds(60)), 1);
  EXPECT_NE(testutil::ReadFileOrEmpty(dir_.path() + "/busy.log").find("in use"), std::string::npos)
      << testutil::ReadFileOrEmpty(dir_.path() + "/busy.log");
}

// Found in review: sessions cut off by the grace timeout were torn down after the state they
// unregister from (use after free in Loop's destructor).
TEST_F(GlintFlowTest, GraceTimeoutCutsASlowClientAndExitsCleanly) {
  Start({"--shutdown-grace", "1"});
  std::string token = CreateUserAndLogin("mia@example.com");
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket sock(io);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), server_->port()});
  // A body that never finishes keeps the request in flight past the grace period.
  std::string head = "POST /v1/photos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                     "\r\nContent-Length: 100000\r\n\r\n" + std::string(10, 'x');
  boost::asio::write(sock, boost::asio::buffer(head));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(server_->Stop(), 0) << server_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_NE(server_->log().find("grace period over"), std::string::npos) << server_->log();
}

TEST_F(GlintFlowTest, RefusedBodySentInFullStillGetsItsAnswer) {
  Start();
  // The whole 3 MiB body is sent although the route takes none: the server refuses from the
  // header, then drains (lingering close) so the client can still read the 413.
  std::string req =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(3 << 20) +
      "\r\n\r\n" + std::string(3 << 20, 'b');
  std::string out = testutil::RawExchange(server_->port(), req);
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out.substr(0, 200);
}

TEST_F(GlintFlowTest, ConnectionsBeyondTheCapAreClosed) {
  Start({"--max-connections", "2"});
  boost::asio::io_context io;
  auto endpoint =
      boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), server_->port());
  boost::asio::ip::tcp::socket a(io), b(io);
  a.connect(endpoint);
  b.connect(endpoint);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string third = testutil::RawExchange(
      server_->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::milliseconds(1000));
  EXPECT_TRUE(third.empty()) << third;
  a.close();
  b.close();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(client_->Get("/healthz").status, 200) << "room again once connections close";
}

// Found in review: Beast's default 1 MiB body limit on the header parser answered every
// larger upload with 400.
TEST_F(GlintFlowTest, UploadsOverOneMebibyteAreAccepted) {
  Start();
  std::string token = CreateUserAndLogin("heidi@example.com");
  // A real JPEG followed by 3 MiB of trailing bytes: a valid image, as large as a photo.
  std::string big = testutil::MakeJpeg(64, 64) + std::string(3 << 20, '\x5a');
  auto [id, url] = Prepare(token);
  HttpResponse put = client_->Request("PUT", url, big);
  ASSERT_EQ(put.status, 201) << put.body;
  HttpResponse direct = client_->Request("POST", "/v1/photos", big, Bearer(token));
  ASSERT_EQ(direct.status, 201) << direct.body;
  HttpResponse avatar = client_->Get("/avatar/" + HexDigest(EVP_md5(), "heidi@example.com"));
  EXPECT_EQ(avatar.status, 200);
  EXPECT_EQ(Dimensions(avatar.body), std::make_pair(64u, 64u));
}

TEST_F(GlintFlowTest, ExpectContinueIsAnsweredBeforeTheBody) {
  Start();
  std::string token = CreateUserAndLogin("ivan@example.com");
  std::string jpeg = testutil::MakeJpeg(32, 32);
  std::string head = "POST /v1/photos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                     "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(jpeg.size()) +
                     "\r\n\r\n";
  std::string interim =
      testutil::RawExchange(server_->port(), head, std::chrono::milliseconds(500));
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
}

TEST_F(GlintFlowTest, AnonymousUploadIsRefusedBeforeItsBodyArrives) {
  Start();
  // Ten megabytes announced, none sent: the 401 must not wait for them.
  std::string out = testutil::RawExchange(
      server_->port(), "POST /v1/photos HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n",
      std::chrono::milliseconds(1000));
  EXPECT_EQ(out.rfind("HTTP/1.1 401", 0), 0u) << out;
}

TEST_F(GlintFlowTest, ChunkedUploadIsHeldToTheUrlCap) {
  Start();
  std::string token = CreateUserAndLogin("judy@example.com");
  auto [id, url] = Prepare(token, R"({"max_bytes": 100})");
  std::string chunk(1000, 'x');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  std::string req = "PUT " + url + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                    size + "\r\n" + chunk + "\r\n0\r\n\r\n";
  std::string out = testutil::RawExchange(server_->port(), req);
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out.substr(0, 200);
}

TEST_F(GlintFlowTest, BodiesBeyondTheInFlightBudgetGet503) {
  Start({"--max-body-bytes-in-flight", "1048576"});
  std::string token = CreateUserAndLogin("kim@example.com");
  HttpResponse r = client_->Request("POST", "/v1/photos", std::string(2 << 20, 'x'), Bearer(token));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(ErrorCode(r), "server_busy");
  EXPECT_FALSE(r.Header("retry-after").empty());
  // Small bodies still go through.
  EXPECT_EQ(client_->Request("POST", "/v1/photos", testutil::MakeJpeg(8, 8), Bearer(token)).status,
            201);
}

TEST_F(GlintFlowTest, HeadOfNotModifiedCarriesNoContentLength) {
  Start();
  std::string token = CreateUserAndLogin("leo@example.com");
  UploadAndRegister(token, testutil::MakeJpeg(16, 16));
  std::string path = "/avatar/" + HexDigest(EVP_md5(), "leo@example.com");
  std::string etag = client_->Get(path).Header("etag");
  std::string out = testutil::RawExchange(
      server_->port(), "HEAD " + path + " HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag +
                           "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 304", 0), 0u) << out;
  EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
}

TEST_F(GlintFlowTest, PhotoTransformsAreForThoseWhoMaySeeThePhoto) {
  Start();
  std::string owner = CreateUserAndLogin("nina@example.com");
  std::string other = CreateUserAndLogin("omar@example.com");
  json::object photo = UploadAndRegister(owner, testutil::MakeJpeg(400, 300));
  std::string path = "/p/" + Str(photo, "image_id");
  HttpResponse small = client_->Get(path + "?w=100&fm=png", Bearer(owner));
  ASSERT_EQ(small.status, 200) << small.body;
  EXPECT_EQ(small.Header("content-type"), "image/png");
  auto header = codec::ReadHeader(std::span<const char>(small.body.data(), small.body.size()));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->width, 100u);
  EXPECT_EQ(header->height, 75u);
  EXPECT_NE(small.Header("cache-control").find("private"), std::string::npos);
  // A new photo is public: anyone may see it, and so its transforms.
  EXPECT_EQ(client_->Get(path + "?w=100", Bearer(other)).status, 200);
  EXPECT_EQ(client_->Get(path + "?w=100").status, 200);
  // A private one is its owner's alone; to others it does not exist.
  HttpResponse hidden =
      client_->Request("PATCH", "/v1/photos/" + Str(photo, "image_id"),
                       json::serialize(json::object{{"visibility", "private"}}), Bearer(owner));
  ASSERT_EQ(hidden.status, 200) << hidden.body;
  EXPECT_EQ(client_->Get(path + "?w=100", Bearer(other)).status, 404);
  EXPECT_EQ(client_->Get(path + "?w=100").status, 404);
  EXPECT_EQ(ErrorCode(client_->Get(path + "?w=100")), "photo_not_found");
  EXPECT_EQ(client_->Get(path + "?w=100", Bearer(owner)).status, 200);
  EXPECT_EQ(ErrorCode(client_->Get(path + "?w=99999", Bearer(owner))), "invalid_parameter");
}

TEST_F(GlintFlowTest, PhotosKeepTheirExifFactsAndGetABlurHashInTheBackground) {
  Start();
  std::string token = CreateUserAndLogin("exif@example.com");
  testutil::ExifFields f;
  f.orientation = 6;
  f.make = "Canon";
  f.model = "Canon EOS R5";
  f.date_time_original = "2024:05:01 14:03:22";
  f.gps = true;
  json::object photo = UploadAndRegister(
      token, testutil::JpegWithExif(testutil::MakeJpeg(400, 300), testutil::MakeExifBlock(f)));
  EXPECT_EQ(photo.at("width").as_int64(), 300) << "upright";
  EXPECT_EQ(photo.at("height").as_int64(), 400);
  EXPECT_EQ(Str(photo.at("camera").as_object(), "make"), "Canon");
  EXPECT_EQ(Str(photo.at("camera").as_object(), "model"), "Canon EOS R5");
  EXPECT_EQ(Str(photo, "taken_at"), "2024-05-01T14:03:22");
  EXPECT_EQ(photo.find("gps"), photo.end());

  const std::string id = Str(photo, "image_id");
  std::string blurhash;
  for (int i = 0; i < 500 && blurhash.empty(); ++i) {
    HttpResponse r = client_->Get("/v1/photos/" + id, Bearer(token));
    ASSERT_EQ(r.status, 200) << r.body;
    blurhash = Str(Json(r), "blurhash");
    if (blurhash.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(blurhash.size(), 28u);
  EXPECT_EQ(blurhash[0], 'T') << "3x4 components: the upright photo is portrait";

  HttpResponse small = client_->Get("/p/" + id + "?w=150", Bearer(token));
  ASSERT_EQ(small.status, 200);
  auto header = codec::ReadHeader(std::span<const char>(small.body.data(), small.body.size()));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->width, 150u);
  EXPECT_EQ(header->height, 200u);
  EXPECT_EQ(small.body.find("Canon"), std::string::npos) << "no EXIF in outputs";
  EXPECT_EQ(header->exif, codec::ExifInfo{});
}

TEST_F(GlintFlowTest, RawAndOriginalBytesServeOneByteRange) {
  Start();
  std::string token = CreateUserAndLogin("range@example.com");
  const std::string jpeg = testutil::MakeJpeg(120, 90);
  json::object photo = UploadAndRegister(token, jpeg);
  const std::string size = std::to_string(jpeg.size());
  for (const std::string& path :
       {PathOf(Str(photo, "image_url")), "/p/" + Str(photo, "image_id")}) {
    HttpResponse whole = client_->Get(path, Bearer(token));
    ASSERT_EQ(whole.status, 200) << path;
    EXPECT_EQ(whole.Header("accept-ranges"), "bytes");
    EXPECT_EQ(whole.body, jpeg);

    Headers h = Bearer(token);
    h.push_back({"Range", "bytes=0-9"});
    HttpResponse head = client_->Get(path, h);
    ASSERT_EQ(head.status, 206) << path;
    EXPECT_EQ(head.Header("content-range"), "bytes 0-9/" + size);
    EXPECT_EQ(head.body, jpeg.substr(0, 10));

    h.back().second = "bytes=-4";
    HttpResponse tail = client_->Get(path, h);
    ASSERT_EQ(tail.status, 206);
    EXPECT_EQ(tail.body, jpeg.substr(jpeg.size() - 4)) << "ends with EOI";

    h.back().second = "bytes=" + size + "-";
    HttpResponse past = client_->Get(path, h);
    EXPECT_EQ(past.status, 416);
    EXPECT_EQ(past.Header("content-range"), "bytes */" + size);
    EXPECT_EQ(ErrorCode(past), "range_not_satisfiable");

    // A stale If-Range (the bytes changed since) gets the whole representation.
    h.back().second = "bytes=0-9";
    h.push_back({"If-Range", "\"stale\""});
    EXPECT_EQ(client_->Get(path, h).status, 200);
    h.back().second = whole.Header("etag");
    EXPECT_EQ(client_->Get(path, h).status, 206);
  }
}

// The access log line of a request (the first that contains `needle`), waiting for it: the
// line is written after the response.
std::string AccessLine(GlintServer& server, const std::string& needle) {
  for (int i = 0; i < 250; ++i) {
    std::string log = server.log();
    if (size_t at = log.find(needle); at != std::string::npos)
      return log.substr(at, log.find('\n', at) - at);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "(no log line with '" + needle + "')";
}

TEST_F(GlintFlowTest, LargeOriginalsAreSentFromTheirFile) {
  Start();
  std::string token = CreateUserAndLogin("sendfile@example.com");
  // A real JPEG padded to over 5 MB with varied bytes, so a misplaced range shows.
  std::string big = testutil::MakeJpeg(640, 480);
  uint32_t x = 1;
  while (big.size() < (5u << 20) + 12345) {
    x = x * 1664525u + 1013904223u;
    big.push_back(static_cast<char>(x >> 24));
  }
  const std::string size = std::to_string(big.size());
  json::object photo = UploadAndRegister(token, big);
  const std::string raw = PathOf(Str(photo, "image_url"));
  const std::string original = "/p/" + Str(photo, "image_id");

  for (const std::string& path : {raw, original}) {
    HttpResponse whole = client_->Get(path, Bearer(token));
    ASSERT_EQ(whole.status, 200) << path << " " << whole.body.substr(0, 200);
    EXPECT_EQ(whole.Header("content-length"), size);
    EXPECT_EQ(whole.Header("content-type"), "image/jpeg");
    EXPECT_TRUE(whole.body == big) << path << ": bytes differ";
    EXPECT_NE(AccessLine(*server_, "GET " + path + " 200 " + size + "B").find(" sendfile"),
              std::string::npos)
        << "the body went out with sendfile";
  }

  Headers ranged = Bearer(token);
  ranged.push_back({"Range", "bytes=1000000-1999999"});
  HttpResponse part = client_->Get(raw, ranged);
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.Header("content-range"), "bytes 1000000-1999999/" + size);
  EXPECT_EQ(part.Header("content-length"), "1000000");
  EXPECT_TRUE(part.body == big.substr(1000000, 1000000)) << "bytes differ";
  EXPECT_NE(AccessLine(*server_, "GET " + raw + " 206 1000000B").find(" sendfile"),
            std::string::npos);

  HttpResponse head = client_->Request("HEAD", raw, {}, Bearer(token));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), size);
  EXPECT_TRUE(head.body.empty());
  // The connection is still in step after the HEAD: the next answer parses.
  EXPECT_EQ(client_->Get("/healthz").status, 200);

  namespace bhttp = boost::beast::http;
  boost::asio::io_context io;
  const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                server_->port());
  {
    // Keep-alive: a large body from the file, then another request on the same connection.
    boost::asio::ip::tcp::socket sock(io);
    sock.connect(endpoint);
    std::string two = "GET " + raw + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                      "\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    boost::asio::write(sock, boost::asio::buffer(two));
    boost::beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> first;
    first.body_limit(64u << 20);
    bhttp::read(sock, buf, first);
    EXPECT_EQ(first.get().result_int(), 200u);
    EXPECT_TRUE(first.get().keep_alive());
    EXPECT_TRUE(first.get().body() == big) << "bytes differ";
    bhttp::response<bhttp::string_body> second;
    bhttp::read(sock, buf, second);
    EXPECT_EQ(second.result_int(), 200u);
    EXPECT_NE(second.body().find("ok"), std::string::npos);
  }
  {
    // A client that stops reading mid-body and then goes away: the server serves others
    // meanwhile and afterwards, and does not count it as its own failure.
    boost::asio::ip::tcp::socket sock(io);
    sock.open(boost::asio::ip::tcp::v4());
    sock.set_option(boost::asio::socket_base::receive_buffer_size(4096));
    sock.connect(endpoint);
    std::string get =
        "GET " + raw + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n";
    boost::asio::write(sock, boost::asio::buffer(get));
    std::array<char, 1000> some;
    boost::asio::read(sock, boost::asio::buffer(some));
    EXPECT_EQ(std::string(some.data(), 12), "HTTP/1.1 200");
    HttpResponse other = client_->Get(original, Bearer(token));
    EXPECT_EQ(other.status, 200);
    EXPECT_TRUE(other.body == big) << "bytes differ";
    sock.close();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(server_->Running());
  HttpResponse after = client_->Get(raw, Bearer(token));
  EXPECT_EQ(after.status, 200);
  EXPECT_TRUE(after.body == big) << "bytes differ";
  EXPECT_EQ(server_->log().find("from a file failed"), std::string::npos) << server_->log();

  client_.reset();
  EXPECT_EQ(server_->Stop(), 0) << server_->log();
  EXPECT_NE(server_->log().find("stopped cleanly"), std::string::npos);
}

// A client that asks for a large original and never reads it: the sendfile path is held to
// the write timeout and cut off by the shutdown grace period like any response.
TEST_F(GlintFlowTest, AStalledSendfileMeetsTheWriteTimeoutAndTheShutdownGrace) {
  Start({"--write-timeout", "1"});
  std::string token = CreateUserAndLogin("stall@example.com");
  // Larger than the kernel's socket buffers (4 MiB send at most), so sending must wait.
  std::string big = testutil::MakeJpeg(64, 64) + std::string(12 << 20, '\x5a');
  const std::string raw = PathOf(Str(UploadAndRegister(token, big), "image_url"));
  const std::string get =
      "GET " + raw + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  boost::asio::io_context io;
  auto stalled = [&] {
    auto sock = std::make_unique<boost::asio::ip::tcp::socket>(io);
    sock->open(boost::asio::ip::tcp::v4());
    sock->set_option(boost::asio::socket_base::receive_buffer_size(4096));
    sock->connect({boost::asio::ip::make_address("127.0.0.1"), server_->port()});
    boost::asio::write(*sock, boost::asio::buffer(get));
    return sock;
  };

  auto first = stalled();
  std::string line = AccessLine(*server_, "GET " + raw + " 200 ");
  EXPECT_NE(line.find(" sendfile"), std::string::npos) << line;
  // The server gave up on the response (its access line is written once it has): the client
  // reads what was already in flight, then the end of the connection, short of the body.
  timeval tv{10, 0};  // a server that never ends the response fails the test, not hangs it
  ::setsockopt(first->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t received = 0;
  std::array<char, 65536> buf;
  ssize_t n;
  while ((n = ::recv(first->native_handle(), buf.data(), buf.size(), 0)) > 0) received += n;
  EXPECT_EQ(n, 0) << "the server closed the connection";
  EXPECT_LT(received, big.size());
  EXPECT_EQ(server_->log().find("from a file failed"), std::string::npos)
      << "a slow client is not the server's failure";
  EXPECT_EQ(client_->Get("/healthz").status, 200);

  Restart({"--shutdown-grace", "1"});
  auto second = stalled();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto started = std::chrono::steady_clock::now();
  client_.reset();
  EXPECT_EQ(server_->Stop(), 0) << server_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_NE(server_->log().find("grace period over"), std::string::npos) << server_->log();
}

TEST_F(GlintFlowTest, RequestPathsCannotForgeLogLines) {
  Start();
  EXPECT_EQ(client_->Get("/avatar/%0aFORGED%20LINE").status, 400);
  // The access line is written after the response: wait for it.
  std::string log;
  for (int i = 0; i < 100 && log.find("FORGED") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    log = server_->log();
  }
  EXPECT_EQ(log.find("\nFORGED LINE"), std::string::npos) << log;
  EXPECT_NE(log.find("\\x0aFORGED LINE"), std::string::npos) << log;
}

// S3 tiering end to end: sealed segments leave the disk for a real S3-protocol server, the
// photos are still served (also by a restarted glint with an empty tier cache), and while the
// bucket is away an uncached original is a 503, then served again once it is back.
TEST_F(GlintFlowTest, TieredPhotosAreServedFromTheBucketAndAnOutageIsA503) {
  testutil::S3rver s3;
  const std::vector<std::string> flags = {"--segment-bytes",
                                          "1048576",
                                          "--s3-endpoint",
                                          s3.endpoint(),
                                          "--s3-bucket",
                                          s3.bucket(),
                                          "--s3-access-key",
                                          testutil::S3rver::kAccessKey,
                                          "--s3-secret-key",
                                          testutil::S3rver::kSecretKey,
                                          "--tier-local-budget-bytes",
                                          "1",
                                          "--tier-interval-ms",
                                          "100",
                                          "--renditions",
                                          "",
                                          "--blob-cache-bytes",
                                          "0"};
  Start(flags);
  std::string token = CreateUserAndLogin("tiered@example.com");
  std::vector<std::pair<std::string, std::string>> photos;  // image id, original bytes
  uint64_t uploaded = 0;
  for (int i = 0; uploaded < (3u << 20); ++i) {  // three 1 MiB segments' worth
    std::string jpeg = testutil::MakeJpeg(1600 + 8 * i, 1200, 95);
    json::object photo = UploadAndRegister(token, jpeg);
    photos.emplace_back(Str(photo, "image_id"), jpeg);
    uploaded += jpeg.size();
  }
  // Every segment but the active one leaves the disk.
  const std::string blobs = dir_.path() + "/var/blobs";
  auto remote_manifests = [&] {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(blobs))
      n += e.path().extension() == ".remote";
    return n;
  };
  for (int i = 0; i < 300 && remote_manifests() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GT(remote_manifests(), 0u) << server_->log();

  auto restart_with_empty_cache = [&] {
    client_.reset();
    ASSERT_EQ(server_->Stop(), 0) << server_->log();
    std::filesystem::remove_all(dir_.path() + "/var/tier-cache");
    Start(flags);
  };
  restart_with_empty_cache();
  for (auto& [id, bytes] : photos) {
    HttpResponse r = client_->Get("/p/" + id, Bearer(token));
    ASSERT_EQ(r.status, 200) << id << ": " << r.body;
    EXPECT_EQ(r.body, bytes) << id;
  }
  restart_with_empty_cache();
  s3.Stop();
  // The first photo went to the first segment, which is remote and no longer cached.
  HttpResponse down = client_->Get("/p/" + photos[0].first, Bearer(token));
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(down.body.find(photos[0].second.substr(0, 64)), std::string::npos);
  ASSERT_TRUE(s3.Start());
  HttpResponse back = client_->Get("/p/" + photos[0].first, Bearer(token));
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(back.body, photos[0].second);
}

TEST_F(GlintFlowTest, DeletingAPhotoTakesItsBytesTransformsAndAvatar) {
  Start();
  std::string token = CreateUserAndLogin("dora@example.com");
  std::string other = CreateUserAndLogin("eve@example.com");
  const std::string md5 = HexDigest(EVP_md5(), "dora@example.com");
  json::object photo = UploadAndRegister(token, testutil::MakeJpeg(200, 150));
  const std::string id = Str(photo, "image_id");
  const std::string raw = PathOf(Str(photo, "image_url"));
  const std::string transform = "/p/" + id + "?w=50&fm=webp";
  ASSERT_EQ(client_->Get(transform, Bearer(token)).status, 200);
  ASSERT_EQ(client_->Get("/avatar/" + md5 + "?s=40").status, 200);
  ASSERT_EQ(client_->Get("/avatar/" + md5).status, 200);
  ASSERT_EQ(client_->Get(raw, Bearer(token)).status, 200);

  HttpResponse refused = client_->Request("DELETE", "/v1/photos/" + id, {}, Bearer(other));
  EXPECT_EQ(refused.status, 404);
  EXPECT_EQ(ErrorCode(refused), "photo_not_found");
  EXPECT_EQ(client_->Request("DELETE", "/v1/photos/" + id).status, 401);

  HttpResponse deleted = client_->Request("DELETE", "/v1/photos/" + id, {}, Bearer(token));
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_TRUE(deleted.body.empty());

  auto gone = [&] {
    HttpResponse meta = client_->Get("/v1/photos/" + id, Bearer(token));
    EXPECT_EQ(meta.status, 404);
    EXPECT_EQ(ErrorCode(meta), "photo_not_found");
    HttpResponse variant = client_->Get(transform, Bearer(token));
    EXPECT_EQ(variant.status, 404) << "not served from the transform cache";
    EXPECT_EQ(ErrorCode(variant), "photo_not_found");
    HttpResponse bytes = client_->Get(raw, Bearer(token));
    EXPECT_EQ(bytes.status, 404);
    EXPECT_EQ(ErrorCode(bytes), "blob_not_found");
    for (const std::string& avatar :
         {"/avatar/" + md5 + "?d=404", "/avatar/" + md5 + "?s=40&d=404"}) {
      HttpResponse a = client_->Get(avatar);
      EXPECT_EQ(a.status, 404) << avatar;
      EXPECT_EQ(ErrorCode(a), "no_avatar") << avatar;
    }
    HttpResponse again = client_->Request("DELETE", "/v1/photos/" + id, {}, Bearer(token));
    EXPECT_EQ(again.status, 404);
    EXPECT_EQ(ErrorCode(again), "photo_not_found");
  };
  gone();
  ASSERT_NO_FATAL_FAILURE(Restart());
  gone();

  // The account goes on: the next photo becomes the avatar.
  std::string png = testutil::MakePng(30, 20);
  HttpResponse next = client_->Request("POST", "/v1/photos", png, Bearer(token));
  ASSERT_EQ(next.status, 201) << next.body;
  EXPECT_TRUE(Json(next)["selected"].as_bool());
  HttpResponse avatar = client_->Get("/avatar/" + md5);
  EXPECT_EQ(avatar.status, 200);
  EXPECT_EQ(Dimensions(avatar.body), std::make_pair(20u, 20u));
}

}  // namespace
}  // namespace glint
