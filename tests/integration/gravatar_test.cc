// glint as a drop-in Gravatar, end to end: the real binary over real HTTP, asked with URLs
// built exactly as Gravatar's documentation builds them (https://docs.gravatar.com/):
// SHA-256 and MD5 of the trimmed, lower-cased address, every image option in its short and
// long spelling, the generated defaults, profiles, the v3 REST calls, verified emails,
// caching validators and the API's rate limit.
#include <openssl/evp.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "codec/image_header.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"
#include "tests/testutil/varnish.h"

namespace glint {
namespace {

using testutil::GlintServer;
using testutil::Headers;
using testutil::HttpClient;
using testutil::HttpResponse;
using testutil::TempDir;
namespace json = boost::json;

std::string Hex(const EVP_MD* md, std::string email) {
  // Gravatar: trim leading and trailing white space, force lower case, then hash.
  while (!email.empty() && email.front() == ' ') email.erase(0, 1);
  while (!email.empty() && email.back() == ' ') email.pop_back();
  for (char& c : email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(email.data(), email.size(), out, &len, md, nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  return hex;
}
std::string Md5(const std::string& email) { return Hex(EVP_md5(), email); }
std::string Sha(const std::string& email) { return Hex(EVP_sha256(), email); }

json::value Parse(const HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec) ADD_FAILURE() << "not JSON: " << r.body;
  return v;
}
std::string ErrorCode(const HttpResponse& r) {
  json::value v = Parse(r);
  if (!v.is_object() || !v.as_object().contains("error")) return "(none: " + r.body + ")";
  return std::string(v.at("error").at("code").as_string());
}
Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::optional<codec::ImageHeader> HeaderOf(const std::string& bytes) {
  auto h = codec::ReadHeader(std::span<const char>(bytes.data(), bytes.size()));
  if (!h.ok()) return std::nullopt;
  return *h;
}

class GravatarTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}) {
    server_ = std::make_unique<GlintServer>(dir_.path() + "/var", extra);
    ASSERT_NE(server_->port(), 0);
    client_ = std::make_unique<HttpClient>(server_->port());
  }

  // An admin-made account (its address is verified) and its bearer token.
  std::string User(const std::string& email) {
    const std::string creds =
        json::serialize(json::object{{"email", email}, {"password", "correct horse battery"}});
    HttpResponse created =
        client_->Request("POST", "/v1/accounts", creds, Bearer(server_->admin_token()));
    EXPECT_EQ(created.status, 201) << created.body;
    user_id_ = std::to_string(Parse(created).at("id").as_int64());
    HttpResponse login = client_->Request("POST", "/v1/sessions", creds);
    EXPECT_EQ(login.status, 201) << login.body;
    return std::string(Parse(login).at("token").as_string());
  }

  // Uploads `image` directly; returns its image_id.
  std::string Upload(const std::string& token, const std::string& image) {
    HttpResponse r = client_->Request("POST", "/v1/photos", image, Bearer(token));
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(Parse(r).at("image_id").as_string());
  }

  // The body of a curl -F 'image=@file' request.
  static std::pair<std::string, std::string> Multipart(const std::string& image) {
    const std::string boundary = "------------------------glintTestBoundary0123";
    std::string body = "--" + boundary +
                       "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"me.png\""
                       "\r\nContent-Type: image/png\r\n\r\n" +
                       image + "\r\n--" + boundary + "--\r\n";
    return {"multipart/form-data; boundary=" + boundary, body};
  }

  TempDir dir_;
  std::unique_ptr<GlintServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::string user_id_;
};

TEST_F(GravatarTest, ImageUrlsAsGravatarDocumentsThem) {
  Start();
  std::string token = User("  Ann.Lee@Example.COM ");
  const std::string email = "ann.lee@example.com";
  Upload(token, testutil::MakeJpeg(300, 200));

  for (const std::string& hash : {Md5(email), Sha(email)}) {
    std::string upper = hash;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& path :
         {"/avatar/" + hash, "/avatar/" + upper, "/avatar/" + hash + ".jpg",
          "/avatar/" + hash + ".png", "/" + hash, "/" + hash + ".jpeg"}) {
      HttpResponse r = client_->Get(path);
      ASSERT_EQ(r.status, 200) << path << " " << r.body;
      auto h = HeaderOf(r.body);
      ASSERT_TRUE(h) << path;
      EXPECT_EQ(h->width, 80u) << path << ": 80 px by default";
      EXPECT_EQ(h->height, 80u) << path << ": square";
    }
    // s and size, 1..2048, clamped outside; non-numbers refused.
    for (auto [query, side] : std::vector<std::pair<std::string, uint32_t>>{{"s=32", 32},
                                                                            {"size=32", 32},
                                                                            {"s=1", 1},
                                                                            {"s=0", 1},
                                                                            {"s=-3", 1},
                                                                            {"s=200", 200},
                                                                            {"size=9999", 200}}) {
      HttpResponse r = client_->Get("/avatar/" + hash + "?" + query);
      ASSERT_EQ(r.status, 200) << query << " " << r.body;
      auto h = HeaderOf(r.body);
      ASSERT_TRUE(h) << query;
      // Never enlarged: this photo is 300x200, so its square is at most 200.
      EXPECT_EQ(h->width, side) << query;
      EXPECT_EQ(h->height, side) << query;
    }
    HttpResponse bad = client_->Get("/avatar/" + hash + "?s=large");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(ErrorCode(bad), "invalid_parameter");
  }

  // The transform parameters combine: format, quality, device pixel ratio, grayscale.
  HttpResponse webp = client_->Get("/avatar/" + Sha(email) + "?s=50&dpr=2&fm=webp&q=60");
  ASSERT_EQ(webp.status, 200) << webp.body;
  EXPECT_EQ(webp.Header("content-type"), "image/webp");
  EXPECT_EQ(HeaderOf(webp.body)->width, 100u);
  HttpResponse negotiated =
      client_->Get("/avatar/" + Sha(email) + "?fm=auto", {{"Accept", "image/webp,*/*"}});
  EXPECT_EQ(negotiated.Header("content-type"), "image/webp");
  EXPECT_EQ(negotiated.Header("vary"), "Accept");
  EXPECT_EQ(client_->Get("/avatar/" + Sha(email) + "?grayscale=true").status, 200);
  EXPECT_EQ(client_->Get("/avatar/" + Sha(email) + "?fm=tiff").status, 400);
  EXPECT_EQ(client_->Get("/avatar/" + Sha(email) + "?_=12345").status, 200)
      << "unknown parameters are ignored, as Gravatar does";

  // Gravatar's legacy form moves to the canonical URL, other parameters kept.
  HttpResponse legacy = client_->Get("/avatar.php?gravatar_id=" + Md5(email) + "&size=40&d=mp");
  EXPECT_EQ(legacy.status, 301);
  EXPECT_EQ(legacy.Header("location"), "/avatar/" + Md5(email) + "?size=40&d=mp");
  EXPECT_EQ(client_->Get("/avatar.php?gravatar_id=nope").status, 400);
  // The email never appears in what the public path answers.
  HttpResponse any = client_->Get("/avatar/" + Md5(email));
  for (const auto& [name, value] : any.headers) EXPECT_EQ(value.find("ann.lee"), std::string::npos);
}

TEST_F(GravatarTest, GeneratedDefaultsAreDrawnAtTheRequestedSize) {
  Start();
  const std::string nobody = Md5("nobody@example.com");
  const std::string styles[] = {"mp",    "mm",       "identicon", "monsterid", "wavatar",
                                "retro", "robohash", "blank",     "initials",  "color"};
  for (const std::string& style : styles) {
    for (const std::string& d : {"d=" + style, "default=" + style}) {
      HttpResponse r = client_->Get("/avatar/" + nobody + "?s=64&" + d + "&name=Ann+Lee");
      ASSERT_EQ(r.status, 200) << d << " " << r.body;
      EXPECT_EQ(r.Header("content-type"), "image/png") << d;
      auto h = HeaderOf(r.body);
      ASSERT_TRUE(h) << d;
      EXPECT_EQ(h->width, 64u) << d;
      EXPECT_EQ(h->height, 64u) << d;
      EXPECT_EQ(client_->Get("/avatar/" + nobody + "?s=64&" + d + "&name=Ann+Lee").body, r.body)
          << d << ": deterministic";
    }
  }
  // Seeded by the hash: two hashes, two identicons; the mystery person is everyone's.
  auto get = [&](const std::string& hash, const std::string& q) {
    return client_->Get("/avatar/" + hash + "?" + q).body;
  };
  const std::string other = Sha("other@example.com");
  EXPECT_NE(get(nobody, "d=identicon"), get(other, "d=identicon"));
  EXPECT_EQ(get(nobody, "d=mp"), get(other, "d=mp"));
  EXPECT_EQ(HeaderOf(get(nobody, "d=retro&s=2048"))->width, 2048u);
  EXPECT_EQ(HeaderOf(get(nobody, "d=retro&s=48&fm=webp"))->format, codec::Format::kWebp);
  // With no d: glint's default (the mystery person), like Gravatar's own logo default.
  EXPECT_EQ(get(nobody, ""), get(nobody, "d=mp"));

  HttpResponse missing = client_->Get("/avatar/" + nobody + "?d=404");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "no_avatar");
  HttpResponse redirect =
      client_->Get("/avatar/" + nobody + "?d=https%3A%2F%2Fexample.com%2Fimages%2Fdefault.png");
  EXPECT_EQ(redirect.status, 302);
  EXPECT_EQ(redirect.Header("location"), "https://example.com/images/default.png");
  for (std::string_view refused :
       {"d=ftp%3A%2F%2Fexample.com%2Fa.png", "d=javascript%3Aalert(1)", "d=smiley"}) {
    HttpResponse r = client_->Get("/avatar/" + nobody + "?" + std::string(refused));
    EXPECT_EQ(r.status, 400) << refused;
    EXPECT_EQ(ErrorCode(r), "invalid_parameter") << refused;
  }
}

TEST_F(GravatarTest, ForceDefaultAndRatings) {
  Start();
  std::string token = User("rae@example.com");
  const std::string id = Upload(token, testutil::MakeJpeg(64, 64));
  const std::string url = "/avatar/" + Sha("rae@example.com");
  const std::string photo = client_->Get(url).body;
  const std::string mp = client_->Get(url + "?d=mp&f=y").body;
  ASSERT_NE(photo, mp);
  EXPECT_EQ(client_->Get(url + "?d=mp&forcedefault=y").body, mp);
  EXPECT_EQ(client_->Get(url + "?d=mp&f=n").body, photo);
  EXPECT_EQ(client_->Get(url + "?f=y&d=404").status, 404);

  // The owner rates the photo R (v3 shape): G and PG requests get the default.
  HttpResponse rated =
      client_->Request("PATCH", "/v3/me/avatars/" + id,
                       R"({"rating":"R","alt_text":"Rae, squinting"})", Bearer(token));
  ASSERT_EQ(rated.status, 200) << rated.body;
  EXPECT_EQ(Parse(rated).at("rating").as_string(), "R");
  EXPECT_EQ(Parse(rated).at("alt_text").as_string(), "Rae, squinting");
  EXPECT_EQ(client_->Get(url + "?d=mp").body, mp) << "rating g is the default limit";
  EXPECT_EQ(client_->Get(url + "?d=mp&r=pg").body, mp);
  EXPECT_EQ(client_->Get(url + "?d=mp&rating=r").body, photo);
  EXPECT_EQ(client_->Get(url + "?d=mp&r=x").body, photo);
  EXPECT_EQ(client_->Get(url + "?r=nc17").status, 400);
  EXPECT_EQ(client_->Request("PATCH", "/v3/me/avatars/" + id, R"({"rating":"XXX"})", Bearer(token))
                .status,
            400);
}

TEST_F(GravatarTest, CachingValidators) {
  Start({"--avatar-max-age", "120"});
  std::string token = User("val@example.com");
  const std::string id = Upload(token, testutil::MakeJpeg(64, 64));
  const std::string url = "/avatar/" + Md5("val@example.com") + "?s=40";
  HttpResponse a = client_->Get(url);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.Header("cache-control"), "public, max-age=120");
  EXPECT_EQ(a.Header("etag").front(), '"') << "a strong ETag";
  const std::string modified = a.Header("last-modified");
  ASSERT_FALSE(modified.empty());
  EXPECT_EQ(modified.substr(modified.size() - 4), " GMT");
  EXPECT_EQ(client_->Get(url, {{"If-None-Match", a.Header("etag")}}).status, 304);
  EXPECT_EQ(client_->Get(url, {{"If-Modified-Since", modified}}).status, 304);
  EXPECT_EQ(client_->Get(url, {{"If-Modified-Since", "Thu, 01 Jan 2015 00:00:00 GMT"}}).status,
            200);
  EXPECT_EQ(
      client_->Get(url, {{"If-None-Match", "\"other\""}, {"If-Modified-Since", modified}}).status,
      200)
      << "If-None-Match decides when both are sent";
  HttpResponse head = client_->Request("HEAD", url);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("etag"), a.Header("etag"));
  EXPECT_TRUE(head.body.empty());
  // Defaults are validated too.
  HttpResponse d = client_->Get("/avatar/" + Md5("none@example.com") + "?d=identicon");
  EXPECT_EQ(client_
                ->Get("/avatar/" + Md5("none@example.com") + "?d=identicon",
                      {{"If-None-Match", d.Header("etag")}})
                .status,
            304);
  // A photo URL names fixed bytes: immutable (for its owner only).
  HttpResponse p = client_->Get("/p/" + id + "?w=20", Bearer(token));
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.Header("cache-control"), "private, max-age=31536000, immutable");
  EXPECT_FALSE(p.Header("last-modified").empty());
}

TEST_F(GravatarTest, ProfilesJsonAndJsonp) {
  Start();
  std::string token = User("pat@example.com");
  Upload(token, testutil::MakeJpeg(64, 64));
  HttpResponse set = client_->Request(
      "PUT", "/v1/me/profile",
      R"({"display_name":"Pat Doe","location":"Lisbon","description":"Takes photos",
          "url":"https://pat.example.com"})",
      Bearer(token));
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(client_->Request("PUT", "/v1/me/profile", R"({"favourite":"x"})", Bearer(token)).status,
            400);

  const std::string hash = Md5("pat@example.com");
  HttpResponse legacy = client_->Get("/" + hash + ".json");
  ASSERT_EQ(legacy.status, 200) << legacy.body;
  const json::value entry = Parse(legacy).at("entry").at(0);
  EXPECT_EQ(entry.at("hash").as_string(), hash);
  EXPECT_EQ(entry.at("displayName").as_string(), "Pat Doe");
  EXPECT_EQ(entry.at("currentLocation").as_string(), "Lisbon");
  EXPECT_EQ(entry.at("aboutMe").as_string(), "Takes photos");
  EXPECT_NE(std::string(entry.at("thumbnailUrl").as_string()).find("/avatar/" + hash),
            std::string::npos);
  EXPECT_EQ(legacy.body.find("pat@"), std::string::npos) << "never the email";

  HttpResponse v3 = client_->Get("/v3/profiles/" + Sha("pat@example.com"));
  ASSERT_EQ(v3.status, 200) << v3.body;
  EXPECT_EQ(Parse(v3).at("display_name").as_string(), "Pat Doe");
  EXPECT_EQ(v3.body.find("pat@"), std::string::npos);

  HttpResponse jsonp = client_->Get("/" + hash + ".json?callback=window.show_1");
  ASSERT_EQ(jsonp.status, 200);
  EXPECT_EQ(jsonp.Header("content-type"), "application/javascript; charset=utf-8");
  EXPECT_EQ(jsonp.body.rfind("/**/window.show_1({", 0), 0u) << jsonp.body;
  for (std::string_view evil : {"alert(1)", "a;b", "%3Cscript%3E", "1abc", "a..b"}) {
    HttpResponse r = client_->Get("/" + hash + ".json?callback=" + std::string(evil));
    EXPECT_EQ(r.status, 400) << evil;
    EXPECT_EQ(ErrorCode(r), "invalid_callback") << evil;
  }
  EXPECT_EQ(client_->Get("/" + Md5("ghost@example.com") + ".json").status, 404);
  EXPECT_EQ(client_->Get("/v3/profiles/" + Sha("ghost@example.com")).status, 404);
}

TEST_F(GravatarTest, Md5CanBeSwitchedOff) {
  Start({"--allow-md5", "false"});
  std::string token = User("sec@example.com");
  Upload(token, testutil::MakeJpeg(64, 64));
  EXPECT_EQ(client_->Get("/avatar/" + Sha("sec@example.com") + "?d=404").status, 200);
  EXPECT_EQ(client_->Get("/avatar/" + Md5("sec@example.com") + "?d=404").status, 404)
      << "an MD5 is then as unknown as a random hash";
  EXPECT_EQ(client_->Get("/" + Md5("sec@example.com") + ".json").status, 404);
}

TEST_F(GravatarTest, EmailsAreVerifiedBeforeTheirAvatarShows) {
  Start();
  std::string token = User("main@example.com");
  const std::string first = Upload(token, testutil::MakeJpeg(64, 64));
  const std::string second = Upload(token, testutil::MakePng(48, 48));

  HttpResponse added =
      client_->Request("POST", "/v1/me/emails", R"({"email":"Work@Example.com"})", Bearer(token));
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_FALSE(Parse(added).at("email").at("verified").as_bool());
  EXPECT_FALSE(Parse(added).at("verification").as_object().contains("token"))
      << "the owner gets the token by mail, not in the answer";
  const std::string work = Sha("work@example.com");
  EXPECT_EQ(client_->Get("/avatar/" + work + "?d=404").status, 404) << "not verified yet";
  // Without SMTP the mail goes to the log, where a self-hoster finds the token.
  const std::string log = server_->log();
  const size_t at = log.find("gev_");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string token_from_log = log.substr(at, 68);
  // The admin can also ask for a fresh one and hand it over.
  HttpResponse resent =
      client_->Request("POST", "/v1/users/" + user_id_ + "/emails/" + work + "/verification", "",
                       Bearer(server_->admin_token()));
  ASSERT_EQ(resent.status, 202) << resent.body;
  const std::string admin_token(Parse(resent).at("verification").at("token").as_string());
  EXPECT_EQ(client_->Get("/v1/emails/verify?token=" + token_from_log).status, 404)
      << "superseded by the newer token";
  HttpResponse verified = client_->Request("POST", "/v1/emails/verify",
                                           json::serialize(json::object{{"token", admin_token}}));
  ASSERT_EQ(verified.status, 200) << verified.body;
  EXPECT_TRUE(Parse(verified).at("verified").as_bool());
  EXPECT_EQ(client_
                ->Request("POST", "/v1/emails/verify",
                          json::serialize(json::object{{"token", admin_token}}))
                .status,
            404)
      << "single use";
  const std::string shown = client_->Get("/avatar/" + work).body;
  EXPECT_EQ(shown, client_->Get("/avatar/" + Sha("main@example.com")).body)
      << "the account default";

  // Per-email avatars, v3 shape: POST /v3/me/avatars/{id}/email.
  HttpResponse chosen =
      client_->Request("POST", "/v3/me/avatars/" + second + "/email",
                       json::serialize(json::object{{"email_hash", work}}), Bearer(token));
  ASSERT_EQ(chosen.status, 200) << chosen.body;
  EXPECT_NE(client_->Get("/avatar/" + work).body, shown);
  EXPECT_EQ(client_->Get("/avatar/" + Sha("main@example.com")).body, shown);
  HttpResponse listed = client_->Get("/v3/me/avatars?selected_email_hash=" + work, Bearer(token));
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json::value avatars = Parse(listed);
  for (const json::value& a : avatars.as_array())
    EXPECT_EQ(a.at("selected").as_bool(), a.at("image_id").as_string() == second);
  HttpResponse assoc =
      client_->Get("/v3/me/associated-email?email_hash=" + Md5("work@example.com"), Bearer(token));
  EXPECT_EQ(Parse(assoc).at("associated").as_bool(), true);

  // Deleting the chosen avatar falls back to the account default.
  EXPECT_EQ(client_->Request("DELETE", "/v3/me/avatars/" + second, "", Bearer(token)).status, 204);
  EXPECT_EQ(client_->Get("/avatar/" + work).body, shown);

  // An upload in the v3 shape (multipart, field "image"), selected for one email.
  auto [type, body] = Multipart(testutil::MakePng(30, 30));
  HttpResponse uploaded =
      client_->Request("POST", "/v3/me/avatars?selected_email_hash=" + work + "&select_avatar=true",
                       body, {{"Authorization", "Bearer " + token}, {"Content-Type", type}});
  ASSERT_EQ(uploaded.status, 200) << uploaded.body;
  EXPECT_TRUE(Parse(uploaded).at("selected").as_bool());
  EXPECT_EQ(HeaderOf(client_->Get("/avatar/" + work).body)->width, 30u);
  HttpResponse no_image =
      client_->Request("POST", "/v3/me/avatars", Multipart("x").second,
                       {{"Authorization", "Bearer " + token}, {"Content-Type", type}});
  EXPECT_EQ(no_image.status, 415) << no_image.body;

  // Removing an email forgets its hash.
  EXPECT_EQ(client_->Request("DELETE", "/v1/me/emails/" + work, "", Bearer(token)).status, 204);
  EXPECT_EQ(client_->Get("/avatar/" + work + "?d=404").status, 404);
  HttpResponse primary =
      client_->Request("DELETE", "/v1/me/emails/" + Sha("main@example.com"), "", Bearer(token));
  EXPECT_EQ(primary.status, 409);
  EXPECT_EQ(ErrorCode(primary), "primary_email");
  HttpResponse emails = client_->Get("/v1/me/emails", Bearer(token));
  EXPECT_EQ(Parse(emails).at("emails").as_array().size(), 1u);
}

TEST_F(GravatarTest, SignUpsMustVerifyTheirAddress) {
  Start({"--open-registration", "true"});
  const std::string creds = R"({"email":"new@example.com","password":"correct horse battery"})";
  ASSERT_EQ(client_->Request("POST", "/v1/accounts", creds).status, 201);
  HttpResponse login = client_->Request("POST", "/v1/sessions", creds);
  std::string token(Parse(login).at("token").as_string());
  Upload(token, testutil::MakeJpeg(64, 64));
  EXPECT_EQ(client_->Get("/avatar/" + Md5("new@example.com") + "?d=404").status, 404)
      << "anyone could sign up with someone else's address";
  EXPECT_EQ(client_->Get("/" + Md5("new@example.com") + ".json").status, 404);
  const std::string log = server_->log();
  const size_t at = log.find("gev_");
  ASSERT_NE(at, std::string::npos) << log;
  ASSERT_EQ(client_->Get("/v1/emails/verify?token=" + log.substr(at, 68)).status, 200);
  EXPECT_EQ(client_->Get("/avatar/" + Md5("new@example.com") + "?d=404").status, 200);
}

// Without mail and without reading the log: `glint admin email-token` on the stopped server.
TEST_F(GravatarTest, AdminCliHandsOutAVerificationToken) {
  Start({"--open-registration", "true"});
  const std::string creds = R"({"email":"cli@example.com","password":"correct horse battery"})";
  ASSERT_EQ(client_->Request("POST", "/v1/accounts", creds).status, 201);
  ASSERT_EQ(server_->Stop(), 0);
  const std::string out = dir_.path() + "/email-token.out";
  testutil::ChildProcess cli({testutil::GlintBinary(), "admin", "email-token", "--data-dir",
                              dir_.path() + "/var", "--email", "CLI@example.com"},
                             out);
  ASSERT_EQ(cli.Stop(0, std::chrono::seconds(30)), 0) << testutil::ReadFileOrEmpty(out);
  const std::string printed = testutil::ReadFileOrEmpty(out);
  const size_t json_at = printed.rfind("{\"email\"");
  ASSERT_NE(json_at, std::string::npos) << printed;
  const json::value answer = json::parse(printed.substr(json_at));
  const std::string token(answer.at("token").as_string());
  EXPECT_EQ(token.substr(0, 4), "gev_");
  server_->Restart();
  client_ = std::make_unique<HttpClient>(server_->port());
  EXPECT_EQ(client_->Get("/v1/emails/verify?token=" + token).status, 200);
}

TEST_F(GravatarTest, ManagementIsRateLimitedImagesAreNot) {
  Start({"--api-rate-limit", "1", "--api-rate-burst", "5"});
  std::string token = User("busy@example.com");  // 2 of the 5
  Upload(token, testutil::MakeJpeg(32, 32));     // 3
  int limited = 0;
  HttpResponse refused;
  for (int i = 0; i < 6; ++i) {
    HttpResponse r = client_->Get("/v1/me", Bearer(token));
    if (r.status == 429) {
      ++limited;
      refused = r;
    }
  }
  EXPECT_GE(limited, 3);
  EXPECT_EQ(ErrorCode(refused), "rate_limited");
  EXPECT_GE(std::stoi(refused.Header("retry-after")), 1);
  EXPECT_EQ(client_->Get("/" + Md5("busy@example.com") + ".json").status, 429)
      << "profiles are limited like the API";
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(client_->Get("/avatar/" + Md5("busy@example.com")).status, 200) << "never images";
  // Without trust_forwarded_for a client cannot pick its own key with the header.
  EXPECT_EQ(client_
                ->Get("/v1/me",
                      {{"Authorization", "Bearer " + token}, {"X-Forwarded-For", "203.0.113.9"}})
                .status,
            429);
}

TEST_F(GravatarTest, BehindAProxyEachForwardedClientHasItsOwnLimit) {
  Start({"--api-rate-limit", "1", "--api-rate-burst", "2", "--trust-forwarded-for", "true"});
  auto from = [&](const std::string& address) {
    return client_
        ->Get("/v3/profiles/" + Sha("x@example.com"),
              {{"X-Forwarded-For", "198.51.100.1, " + address}})
        .status;
  };
  EXPECT_EQ(from("203.0.113.1"), 404);
  EXPECT_EQ(from("203.0.113.1"), 404);
  EXPECT_EQ(from("203.0.113.1"), 429) << "the address the proxy saw is the client";
  EXPECT_EQ(from("203.0.113.2"), 404) << "another client behind the same proxy";
}

// The issue's CDN proof: Varnish in front of glint caches the avatar; changing the active
// photo reaches a viewer through Varnish within a second, through glint's purge worker.
TEST_F(GravatarTest, ThroughVarnishAChangeShowsWithinASecond) {
  if (testutil::VarnishdPath().empty()) GTEST_SKIP() << testutil::kVarnishMissing;
  testutil::Varnish varnish(1);  // pointed at glint once glint runs
  ASSERT_NE(varnish.port(), 0) << varnish.log();
  Start({"--purge-targets", "ban:http://127.0.0.1:" + std::to_string(varnish.port())});
  ASSERT_TRUE(varnish.Repoint(server_->port())) << varnish.log();
  std::string token = User("vee@example.com");
  Upload(token, testutil::MakeJpeg(64, 64));
  const std::string second = Upload(token, testutil::MakePng(48, 48));

  HttpClient through(varnish.port());
  const std::vector<std::string> urls = {"/avatar/" + Md5("vee@example.com") + "?s=40",
                                         "/avatar/" + Sha("vee@example.com"),
                                         "/" + Md5("vee@example.com") + ".json"};
  std::vector<std::string> before;
  for (const std::string& url : urls) {
    HttpResponse miss = through.Get(url);
    ASSERT_EQ(miss.status, 200) << url << " " << miss.body;
    EXPECT_EQ(miss.Header("x-cache"), "MISS") << url;
    HttpResponse hit = through.Get(url);
    EXPECT_EQ(hit.Header("x-cache"), "HIT") << url << ": the second fetch is a cache hit";
    EXPECT_EQ(hit.body, miss.body);
    EXPECT_TRUE(hit.Header("surrogate-key").empty()) << "the VCL keeps the keys to itself";
    before.push_back(hit.body);
  }

  HttpResponse set = client_->Request(
      "PUT", "/v1/me/avatar", json::serialize(json::object{{"photo_id", second}}), Bearer(token));
  ASSERT_EQ(set.status, 200) << set.body;
  const auto changed = std::chrono::steady_clock::now();
  for (size_t i = 0; i < 2; ++i) {  // the two image URLs
    std::string now;
    while (std::chrono::steady_clock::now() - changed < std::chrono::seconds(1)) {
      now = through.Get(urls[i]).body;
      if (now != before[i]) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_NE(now, before[i]) << urls[i] << ": still the old image a second after the change";
    EXPECT_EQ(now, client_->Get(urls[i]).body) << urls[i] << ": the new image, as glint serves it";
  }
}

}  // namespace
}  // namespace glint
