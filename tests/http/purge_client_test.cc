// The purge client against real peers: the glint binary behind a real varnishd running the
// shipped VCL (deploy/varnish/glint.vcl) for BAN and PURGE, and a small Beast receiver in
// this test for webhooks and the error mapping.
#include "http/purge_client.h"

#include <openssl/evp.h>

#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "tests/testutil/http_client.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"
#include "tests/testutil/receiver.h"
#include "tests/testutil/varnish.h"

namespace glint::http {
namespace {

using testutil::Headers;
using testutil::HttpClient;
using testutil::HttpResponse;
namespace json = boost::json;

constexpr std::chrono::milliseconds kTimeout(2000);

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

std::string Str(const HttpResponse& r, const char* key) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return {};
  auto* s = v.as_object().if_contains(key);
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

std::string PathOf(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

PurgeTarget Target(const std::string& spec) {
  auto t = ParsePurgeTarget(spec);
  EXPECT_TRUE(t.ok()) << spec << ": " << t.status().ToString();
  return t.ok() ? *t : PurgeTarget{};
}

// glint with one user whose avatar is set, and varnishd in front of it.
class PurgeClientVarnishTest : public ::testing::Test {
 protected:
  static constexpr const char* kEmail = "alice@example.com";

  void SetUp() override {
    if (testutil::VarnishdPath().empty()) GTEST_SKIP() << testutil::kVarnishMissing;
    glint_ = std::make_unique<testutil::GlintServer>(dir_.path() + "/var");
    ASSERT_NE(glint_->port(), 0);
    HttpClient direct(glint_->port());
    const Headers admin = {{"Authorization", "Bearer " + glint_->admin_token()}};
    const std::string account =
        json::serialize(json::object{{"email", kEmail}, {"password", "correct horse battery"}});
    ASSERT_EQ(direct.Request("POST", "/v1/accounts", account, admin).status, 201);
    HttpResponse login = direct.Request("POST", "/v1/sessions", account);
    ASSERT_EQ(login.status, 201) << login.body;
    token_ = Str(login, "token");
    const Headers auth = {{"Authorization", "Bearer " + token_}};
    HttpResponse prepared = direct.Request("POST", "/v1/uploads", "", auth);
    ASSERT_EQ(prepared.status, 201) << prepared.body;
    HttpResponse put = direct.Request("PUT", PathOf(Str(prepared, "upload_url")),
                                      testutil::MakeJpeg(96, 80), {{"Content-Type", "image/jpeg"}});
    ASSERT_EQ(put.status, 201) << put.body;
    HttpResponse photo = direct.Request(
        "POST", "/v1/photos",
        json::serialize(json::object{{"upload_id", Str(prepared, "upload_id")}}), auth);
    ASSERT_EQ(photo.status, 201) << photo.body;

    md5_ = HexDigest(EVP_md5(), kEmail);
    key_ = "avatar-" + md5_;  // the surrogate key names the hash the URL asked for
    varnish_ = std::make_unique<testutil::Varnish>(glint_->port());
    ASSERT_NE(varnish_->port(), 0);
    client_ = std::make_unique<HttpClient>(varnish_->port());
    base_ = "http://127.0.0.1:" + std::to_string(varnish_->port());
  }

  // X-Cache of a GET through Varnish ("HIT" or "MISS"), after checking it succeeded.
  std::string Fetch(const std::string& path, const Headers& headers = {}) {
    HttpResponse r = client_->Get(path, headers);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.Header("x-cache");
  }
  std::string Bans() { return varnish_->Admin({"ban.list"}); }

  testutil::TempDir dir_;
  std::unique_ptr<testutil::GlintServer> glint_;
  std::unique_ptr<testutil::Varnish> varnish_;
  std::unique_ptr<HttpClient> client_;
  std::string token_, md5_, key_, base_;
  PurgeClient purger_{kTimeout};
};

TEST_F(PurgeClientVarnishTest, GlintTagsAvatarsWithTheEmailKeyAndVarnishHidesIt) {
  HttpClient direct(glint_->port());
  EXPECT_EQ(direct.Get("/avatar/" + md5_).Header("surrogate-key"), key_);
  EXPECT_EQ(direct.Get("/avatar/" + md5_ + "?s=32&fm=webp").Header("surrogate-key"), key_);
  HttpResponse through = client_->Get("/avatar/" + md5_);
  ASSERT_EQ(through.status, 200);
  EXPECT_EQ(through.Header("surrogate-key"), "");
  EXPECT_EQ(through.Header("x-glint-url"), "");
}

TEST_F(PurgeClientVarnishTest, SecondFetchIsAHitAndEtagsStillRevalidate) {
  EXPECT_EQ(Fetch("/avatar/" + md5_), "MISS");
  HttpResponse hit = client_->Get("/avatar/" + md5_);
  EXPECT_EQ(hit.Header("x-cache"), "HIT");
  ASSERT_FALSE(hit.Header("etag").empty());
  HttpResponse not_modified =
      client_->Get("/avatar/" + md5_, {{"If-None-Match", hit.Header("etag")}});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());
}

TEST_F(PurgeClientVarnishTest, ApiAndAuthorisedRequestsAreNeverCached) {
  const Headers auth = {{"Authorization", "Bearer " + token_}};
  EXPECT_EQ(Fetch("/v1/me", auth), "MISS");
  EXPECT_EQ(Fetch("/v1/me", auth), "MISS");
  Fetch("/avatar/" + md5_);
  EXPECT_EQ(Fetch("/avatar/" + md5_, auth), "MISS") << "credentials go to glint";
}

TEST_F(PurgeClientVarnishTest, BanOfTheKeyDropsEveryVariant) {
  const std::vector<std::string> paths = {"/avatar/" + md5_, "/avatar/" + md5_ + "?s=32",
                                          "/" + md5_ + ".png"};
  for (const auto& p : paths) EXPECT_EQ(Fetch(p), "MISS") << p;
  for (const auto& p : paths) EXPECT_EQ(Fetch(p), "HIT") << p;

  Status s = purger_.Purge(Target("ban:" + base_), PurgeJob{{"avatar-unrelated", key_}, {}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const auto& p : paths) EXPECT_EQ(Fetch(p), "MISS") << p << "\n" << Bans();
  for (const auto& p : paths) EXPECT_EQ(Fetch(p), "HIT") << p;
}

TEST_F(PurgeClientVarnishTest, BanMatchesWholeKeysOnly) {
  const std::string path = "/avatar/" + md5_ + "?s=48";
  Fetch(path);
  ASSERT_EQ(Fetch(path), "HIT");
  // A key that is a prefix of the object's key, one that extends it, and an unrelated one.
  const PurgeJob job{{key_.substr(0, key_.size() - 1), key_ + "0", "avatar"}, {}};
  Status s = purger_.Purge(Target("ban:" + base_ + "/"), job);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Fetch(path), "HIT") << Bans();
}

TEST_F(PurgeClientVarnishTest, BanOfAKeyThatWouldBeARegexIsRefused) {
  const std::string path = "/avatar/" + md5_;
  Fetch(path);
  for (const std::string& key : {std::string("avatar-.*"), std::string("a|avatar"), key_ + "\\"}) {
    Status s = purger_.Purge(Target("ban:" + base_), PurgeJob{{key}, {}});
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << key << ": " << s.ToString();
    EXPECT_NE(s.message().find("HTTP 400"), std::string::npos) << s.message();
  }
  EXPECT_EQ(Fetch(path), "HIT") << Bans();
}

TEST_F(PurgeClientVarnishTest, PurgeDropsTheExactUrlWithAllItsVariants) {
  const std::string exact = "/avatar/" + md5_ + "?s=32&fm=auto";
  const std::string other = "/avatar/" + md5_ + "?s=64";
  const Headers webp = {{"Accept", "image/webp,*/*"}};
  // Two Vary: Accept variants of one URL (fm=auto: WebP when Accept allows), another URL.
  for (int round = 0; round < 2; ++round) {
    const std::string want = round == 0 ? "MISS" : "HIT";
    EXPECT_EQ(Fetch(exact), want);
    EXPECT_EQ(Fetch(exact, webp), want);
    EXPECT_EQ(Fetch(other), want);
  }
  EXPECT_EQ(client_->Get(exact, webp).Header("content-type"), "image/webp");

  Status s = purger_.Purge(Target("purge:" + base_), PurgeJob{{key_}, {exact}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Fetch(exact), "MISS");
  EXPECT_EQ(Fetch(exact, webp), "MISS");
  EXPECT_EQ(Fetch(other), "HIT");

  // Nothing cached under a path is fine.
  s = purger_.Purge(Target("purge:" + base_), PurgeJob{{}, {"/avatar/" + md5_ + "?s=7"}});
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(PurgeClientVarnishTest, WildcardPurgeDropsEveryQueryOfThePath) {
  const std::vector<std::string> paths = {"/avatar/" + md5_, "/avatar/" + md5_ + "?s=32",
                                          "/avatar/" + md5_ + ".jpg?s=40"};
  const std::string bare = "/" + md5_ + ".png";
  for (const auto& p : paths) Fetch(p);
  Fetch(bare);
  for (const auto& p : paths) ASSERT_EQ(Fetch(p), "HIT") << p;

  Status s = purger_.Purge(Target("purge:" + base_ + "/*"), PurgeJob{{}, {"/avatar/" + md5_}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const auto& p : paths) EXPECT_EQ(Fetch(p), "MISS") << p << "\n" << Bans();
  EXPECT_EQ(Fetch(bare), "HIT") << "another prefix";
}

TEST(ParsePurgeTargetTest, AcceptsTheThreeKinds) {
  auto ban = ParsePurgeTarget("ban:http://127.0.0.1:6081");
  ASSERT_TRUE(ban.ok()) << ban.status().ToString();
  EXPECT_EQ(ban->kind, PurgeTarget::Kind::kBan);
  EXPECT_EQ(ban->url, "http://127.0.0.1:6081");
  auto purge = ParsePurgeTarget("purge:https://cache.example.com/");
  ASSERT_TRUE(purge.ok()) << purge.status().ToString();
  EXPECT_EQ(purge->kind, PurgeTarget::Kind::kPurge);
  EXPECT_EQ(purge->url, "https://cache.example.com/");
  auto wildcard = ParsePurgeTarget("purge:http://[::1]:8081/*");
  ASSERT_TRUE(wildcard.ok()) << wildcard.status().ToString();
  EXPECT_EQ(wildcard->url, "http://[::1]:8081/*");
  auto hook = ParsePurgeTarget("webhook:https://api.cdn.example/v1/purge?tag={key}&u={path}");
  ASSERT_TRUE(hook.ok()) << hook.status().ToString();
  EXPECT_EQ(hook->kind, PurgeTarget::Kind::kWebhook);
  EXPECT_EQ(hook->url, "https://api.cdn.example/v1/purge?tag={key}&u={path}");
}

TEST(ParsePurgeTargetTest, RefusesWhatItCannotSendTo) {
  for (const char* spec :
       {"", "http://127.0.0.1:6081", "flush:http://127.0.0.1:6081", "ban:", "ban:127.0.0.1:6081",
        "ban:ftp://127.0.0.1/", "ban:http://", "ban:http:///path", "ban:http://h/?x=1",
        "ban:http://h/#f", "ban:http://h/*", "purge:http://h/?q*", "purge:http://a b/",
        "webhook:https://h/purge#{key}", "webhook:file:///tmp/{key}",
        "webhook:https://h/purge?x={key"}) {
    auto t = ParsePurgeTarget(spec);
    ASSERT_FALSE(t.ok()) << "accepted \"" << spec << "\"";
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument) << spec;
    EXPECT_EQ(t.status().reason(), "bad_purge_target") << spec;
    EXPECT_NE(t.status().message().find(spec), std::string::npos) << t.status().message();
  }
}

using testutil::Receiver;

TEST(PurgeClientWebhookTest, PostsOncePerKeyWithTheKeyEncodedAndTheWholeJob) {
  Receiver receiver;
  PurgeClient client(kTimeout);
  const PurgeJob job{{"avatar-ab12", "tag/slash+x"}, {"/avatar/00ff", "/x.json"}};
  Status s = client.Purge(Target("webhook:" + receiver.url() + "/hook?tag={key}"), job);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto seen = receiver.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/hook?tag=avatar-ab12");
  EXPECT_EQ(seen[1].target, "/hook?tag=tag%2Fslash%2Bx");
  for (const auto& r : seen) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(json::parse(r.body), json::parse(R"({"keys":["avatar-ab12","tag/slash+x"],)"
                                               R"("paths":["/avatar/00ff","/x.json"]})"));
  }
}

TEST(PurgeClientWebhookTest, PostsOncePerPathWhenTheTemplateNamesPath) {
  Receiver receiver;
  PurgeClient client(kTimeout);
  const PurgeJob job{{"k1", "k2"}, {"/avatar/00ff?s=1", "/x.json"}};
  Status s = client.Purge(Target("webhook:" + receiver.url() + "/p/{path}?keys={key}"), job);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto seen = receiver.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/p/%2Favatar%2F00ff%3Fs%3D1?keys=k1%20k2");
  EXPECT_EQ(seen[1].target, "/p/%2Fx.json?keys=k1%20k2");
}

TEST(PurgeClientWebhookTest, PostsOnceWithoutPlaceholders) {
  Receiver receiver(204);
  PurgeClient client(kTimeout);
  Status s =
      client.Purge(Target("webhook:" + receiver.url() + "/purge"), PurgeJob{{"a", "b"}, {"/c"}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto seen = receiver.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/purge");
  EXPECT_EQ(json::parse(seen[0].body), json::parse(R"({"keys":["a","b"],"paths":["/c"]})"));
}

TEST(PurgeClientErrorTest, ConnectionRefusedIsUnavailable) {
  uint16_t port;
  {
    Receiver closed;  // a port that was just free
    port = closed.port();
  }
  PurgeClient client(kTimeout);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  for (const std::string& spec : {"ban:" + url, "purge:" + url, "webhook:" + url + "/h"}) {
    Status s = client.Purge(Target(spec), PurgeJob{{"k"}, {"/p"}});
    EXPECT_EQ(s.code(), Code::kUnavailable) << spec << ": " << s.ToString();
    EXPECT_EQ(s.reason(), "purge_unavailable");
    EXPECT_NE(s.message().find(url), std::string::npos) << s.message();
  }
}

TEST(PurgeClientErrorTest, ForbiddenIsInvalidArgumentWithTheStatus) {
  Receiver receiver(403);
  PurgeClient client(kTimeout);
  Status s = client.Purge(Target("ban:" + receiver.url()), PurgeJob{{"k1", "k2"}, {}});
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(s.reason(), "purge_rejected");
  EXPECT_NE(s.message().find("BAN " + receiver.url() + "/"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("HTTP 403"), std::string::npos) << s.message();
  ASSERT_EQ(receiver.seen().size(), 1u);
  EXPECT_EQ(receiver.seen()[0].method, "BAN");
}

TEST(PurgeClientErrorTest, ServerErrorsAreUnavailable) {
  for (int status : {500, 503, 429}) {
    Receiver receiver(status);
    Status s = PurgeClient(kTimeout).Purge(Target("purge:" + receiver.url()), PurgeJob{{}, {"/p"}});
    EXPECT_EQ(s.code(), Code::kUnavailable) << status << ": " << s.ToString();
    EXPECT_NE(s.message().find("HTTP " + std::to_string(status)), std::string::npos);
  }
}

TEST(PurgeClientErrorTest, NotFoundIsFineForPurgeOnly) {
  Receiver receiver(404);
  PurgeClient client(kTimeout);
  Status s = client.Purge(Target("purge:" + receiver.url() + "/*"), PurgeJob{{}, {"/a", "/b"}});
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto seen = receiver.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "PURGE");
  EXPECT_EQ(seen[0].target, "/a*");
  EXPECT_EQ(seen[1].target, "/b*");
  EXPECT_EQ(client.Purge(Target("ban:" + receiver.url()), PurgeJob{{"k"}, {}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(client.Purge(Target("webhook:" + receiver.url()), PurgeJob{{"k"}, {}}).code(),
            Code::kInvalidArgument);
}

TEST(PurgeClientErrorTest, SilentPeerTimesOutAsUnavailable) {
  Receiver receiver(200, /*hang=*/true);
  PurgeClient client(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  Status s = client.Purge(Target("ban:" + receiver.url()), PurgeJob{{"k"}, {}});
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(PurgeClientErrorTest, UnsendableKeysAndPathsAreRefusedBeforeSending) {
  Receiver receiver;
  PurgeClient client(kTimeout);
  for (const PurgeJob& job :
       {PurgeJob{{"two words"}, {}}, PurgeJob{{""}, {}}, PurgeJob{{"k\r\nX-Evil: 1"}, {}},
        PurgeJob{{}, {"no-slash"}}, PurgeJob{{}, {"/a b"}}}) {
    Status s = client.Purge(Target("ban:" + receiver.url()), job);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
    EXPECT_EQ(s.reason(), "bad_purge_job");
  }
  EXPECT_TRUE(receiver.seen().empty());
  // Nothing to do for the kind: no request, OK.
  EXPECT_TRUE(client.Purge(Target("ban:" + receiver.url()), PurgeJob{{}, {"/p"}}).ok());
  EXPECT_TRUE(client.Purge(Target("purge:" + receiver.url()), PurgeJob{{"k"}, {}}).ok());
  EXPECT_TRUE(
      client.Purge(Target("webhook:" + receiver.url() + "/{key}"), PurgeJob{{}, {"/p"}}).ok());
  EXPECT_TRUE(client.Purge(Target("webhook:" + receiver.url()), PurgeJob{}).ok());
  EXPECT_TRUE(receiver.seen().empty());
}

}  // namespace
}  // namespace glint::http
