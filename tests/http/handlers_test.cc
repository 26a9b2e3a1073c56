// The API handlers driven without a socket (STYLE rule 7): requests in, responses out.
#include "http/handlers.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "http/errors.h"
#include "http/file_body.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"

namespace glint::http {
namespace {

namespace json = boost::json;

ApiOptions Options(std::string public_url, size_t max_blocking_queue) {
  ApiOptions o;
  o.public_url = std::move(public_url);
  o.max_blocking_queue = max_blocking_queue;
  return o;
}

class HandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(storage::Db::Open(dir_.path() + "/db", {})).value();
    blobs_ = std::move(storage::BlobStore::Open(dir_.path() + "/blobs", {})).value();
    core::ServiceOptions opt;
    opt.signing_key = std::string(32, 'k');
    opt.admin_token = "admin-token-for-handler-tests";
    opt.kdf = {1, 8192};
    service_ = std::move(core::Service::Create(*db_, *blobs_, clock_, opt)).value();
    transformer_ = std::make_unique<core::Transformer>(
        *db_, *blobs_, [this] { return service_->AllocateBlobId(); }, core::TransformerOptions{});
    badges_ = std::make_unique<core::Badges>(*db_, clock_, core::BadgeOptions{});
    api_ = std::make_unique<Api>(*service_, *transformer_, *badges_, pool_,
                                 Options("https://img.example", 256), [] { return true; });
    api_->Register(router_);
  }

  // The handler's reply as is (a file body left in its file).
  Reply CallReply(Router& router, bhttp::verb method, const std::string& target,
                  std::string body = {},
                  std::vector<std::pair<bhttp::field, std::string>> headers = {}) {
    Request req{method, target, 11};
    for (auto& [f, v] : headers) req.set(f, v);
    req.body() = std::move(body);
    req.prepare_payload();
    auto url = boost::urls::parse_origin_form(target).value();
    std::string path = url.path();
    auto match = router.Find(method, path);
    if (match.kind != Router::Match::kFound)
      return ErrorResponse(bhttp::status::not_found, "not_found", "-");
    RequestContext ctx{req, path, url, std::move(match.params), "test", std::nullopt, "127.0.0.1"};
    boost::asio::io_context io;
    auto fut = boost::asio::co_spawn(io, match.route->handler(ctx), boost::asio::use_future);
    io.run();
    return fut.get();
  }

  // The response a client sees: a file body read into memory.
  Response Call(bhttp::verb method, const std::string& target, std::string body = {},
                std::vector<std::pair<bhttp::field, std::string>> headers = {}) {
    return Materialize(CallReply(router_, method, target, std::move(body), std::move(headers)));
  }
  static Response Materialize(Reply reply) {
    if (reply.file) reply.response.body() = ReadFilePrefix(*reply.file, reply.file->length).value();
    return std::move(reply.response);
  }

  // Creates an account (admin) and logs in; returns {Authorization header, md5 hex}.
  std::pair<std::vector<std::pair<bhttp::field, std::string>>, std::string> NewUser(
      const std::string& email) {
    Response created =
        Call(bhttp::verb::post, "/v1/accounts",
             json::serialize(json::object{{"email", email}, {"password", "long enough"}}),
             {{bhttp::field::authorization, "Bearer admin-token-for-handler-tests"}});
    EXPECT_EQ(created.result(), bhttp::status::created) << created.body();
    Response login =
        Call(bhttp::verb::post, "/v1/sessions",
             json::serialize(json::object{{"email", email}, {"password", "long enough"}}));
    EXPECT_EQ(login.result(), bhttp::status::created) << login.body();
    return {
        {{bhttp::field::authorization, "Bearer " + std::string(Body(login)["token"].as_string())}},
        std::string(Body(created)["hashes"].as_object()["md5"].as_string())};
  }

  static json::object Body(const Response& r) { return json::parse(r.body()).as_object(); }

  testutil::TempDir dir_;
  ManualClock clock_{1'800'000'000};
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<core::Service> service_;
  std::unique_ptr<core::Transformer> transformer_;
  std::unique_ptr<core::Badges> badges_;
  boost::asio::thread_pool pool_{2};
  Router router_;
  std::unique_ptr<Api> api_;
};

TEST(ErrorsTest, EveryErrorHasTheJsonShapeAndMappedStatus) {
  Response r = ErrorResponse(NotFound("no such photo", "photo_not_found"));
  EXPECT_EQ(r.result(), bhttp::status::not_found);
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
  auto o = json::parse(r.body()).as_object();
  EXPECT_EQ(o["error"].as_object()["code"].as_string(), "photo_not_found");
  EXPECT_EQ(o["error"].as_object()["message"].as_string(), "no such photo");
  EXPECT_EQ(HttpStatusFor(Code::kTooLarge), bhttp::status::payload_too_large);
  EXPECT_EQ(HttpStatusFor(Code::kUnsupportedMedia), bhttp::status::unsupported_media_type);
  EXPECT_EQ(ErrorResponse(Unauthenticated("x")).count(bhttp::field::www_authenticate), 1u);
}

TEST(ErrorsTest, InternalDetailsAreNotShownToClients) {
  Response r = ErrorResponse(IoError("write /secret/path: EIO"));
  EXPECT_EQ(r.result(), bhttp::status::internal_server_error);
  EXPECT_EQ(r.body().find("/secret/path"), std::string::npos);
}

TEST_F(HandlersTest, AccountUploadAndAvatarWithoutASocket) {
  std::vector<std::pair<bhttp::field, std::string>> admin = {
      {bhttp::field::authorization, "Bearer admin-token-for-handler-tests"}};
  Response created = Call(bhttp::verb::post, "/v1/accounts",
                          R"({"email":"Zed@Example.com","password":"long enough"})", admin);
  ASSERT_EQ(created.result(), bhttp::status::created) << created.body();
  auto account = Body(created);
  EXPECT_EQ(account["email"].as_string(), "zed@example.com");
  std::string md5(account["hashes"].as_object()["md5"].as_string());
  EXPECT_EQ(account["avatar_url"].as_string().find("https://img.example/avatar/"), 0u);

  Response login = Call(bhttp::verb::post, "/v1/sessions",
                        R"({"email":"zed@example.com","password":"long enough"})");
  ASSERT_EQ(login.result(), bhttp::status::created);
  std::string token(Body(login)["token"].as_string());
  std::vector<std::pair<bhttp::field, std::string>> auth = {
      {bhttp::field::authorization, "Bearer " + token}};

  std::string png = testutil::MakePng(12, 10);
  Response photo = Call(bhttp::verb::post, "/v1/photos", png, auth);
  ASSERT_EQ(photo.result(), bhttp::status::created) << photo.body();
  EXPECT_EQ(Body(photo)["selected"].as_bool(), true);

  // Gravatar's default: 80 px, square, never enlarged (this photo is 12x10).
  Response original = Call(bhttp::verb::get, "/avatar/" + md5);
  ASSERT_EQ(original.result(), bhttp::status::ok) << original.body();
  auto square =
      codec::ReadHeader(std::span<const char>(original.body().data(), original.body().size()));
  ASSERT_TRUE(square.ok());
  EXPECT_EQ(square->width, 10u);
  EXPECT_EQ(square->height, 10u);
  EXPECT_EQ(original["Surrogate-Key"], "avatar-" + md5);
  EXPECT_FALSE(original[bhttp::field::last_modified].empty());
  Response avatar = Call(bhttp::verb::get, "/avatar/" + md5 + "?s=64&d=mp");
  ASSERT_EQ(avatar.result(), bhttp::status::ok) << avatar.body();
  auto header =
      codec::ReadHeader(std::span<const char>(avatar.body().data(), avatar.body().size()));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->width, 10u) << "a square, never larger than the source";
  EXPECT_EQ(header->height, 10u);
  EXPECT_EQ(avatar[bhttp::field::content_type], "image/png");
  EXPECT_EQ(avatar[bhttp::field::cache_control], "public, max-age=300");
  EXPECT_NE(avatar[bhttp::field::etag], original[bhttp::field::etag]);
  std::string etag(avatar[bhttp::field::etag]);
  Response again = Call(bhttp::verb::get, "/avatar/" + md5 + "?size=64", {},
                        {{bhttp::field::if_none_match, "W/" + etag}});
  EXPECT_EQ(again.result(), bhttp::status::not_modified)
      << "same variant, same ETag, answered before any work";
  Response bad = Call(bhttp::verb::get, "/avatar/" + md5 + "?s=tiny");
  EXPECT_EQ(bad.result(), bhttp::status::bad_request);
  EXPECT_NE(bad.body().find("invalid_parameter"), std::string::npos);
  Response webp = Call(bhttp::verb::get, "/avatar/" + md5 + "?s=8&fm=auto", {},
                       {{bhttp::field::accept, "image/webp,*/*"}});
  ASSERT_EQ(webp.result(), bhttp::status::ok) << webp.body();
  EXPECT_EQ(webp[bhttp::field::content_type], "image/webp");
  EXPECT_EQ(webp[bhttp::field::vary], "Accept");
}

TEST_F(HandlersTest, UploadUrlIsCheckedBeforeTheBodyIsRead) {
  auto match = router_.Find(bhttp::verb::put, "/v1/uploads/00112233445566778899aabbccddeeff");
  ASSERT_EQ(match.kind, Router::Match::kFound);
  ASSERT_TRUE(match.route->early);
  Request req{bhttp::verb::put,
              "/v1/uploads/00112233445566778899aabbccddeeff?uid=1&expires=1900000000&max=10&sig=00",
              11};
  auto url = boost::urls::parse_origin_form(req.target()).value();
  RequestContext ctx{req, "/v1/uploads/00112233445566778899aabbccddeeff",
                     url, std::move(match.params),
                     "t", std::nullopt,
                     {}};
  auto refused = match.route->early(ctx);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->result(), bhttp::status::forbidden);
  EXPECT_NE(refused->body().find("bad_signature"), std::string::npos);
}

TEST_F(HandlersTest, BadInputIsA4xxNamingTheField) {
  Response r = Call(bhttp::verb::post, "/v1/sessions", R"({"email": 5})");
  EXPECT_EQ(r.result(), bhttp::status::bad_request);
  EXPECT_NE(r.body().find("'email' must be a string"), std::string::npos);
  Response list = Call(bhttp::verb::get, "/v1/photos?limit=abc", {},
                       {{bhttp::field::authorization, "Bearer admin-token-for-handler-tests"}});
  EXPECT_EQ(list.result(), bhttp::status::bad_request);
}

TEST_F(HandlersTest, AFullBlockingQueueAnswers503InsteadOfQueueing) {
  Api busy(*service_, *transformer_, *badges_, pool_, Options("", /*max_blocking_queue=*/0),
           [] { return true; });
  Router router;
  busy.Register(router);
  auto match = router.Find(bhttp::verb::post, "/v1/sessions");
  ASSERT_EQ(match.kind, Router::Match::kFound);
  Request req{bhttp::verb::post, "/v1/sessions", 11};
  req.body() = R"({"email":"a@example.com","password":"whatever1"})";
  auto url = boost::urls::parse_origin_form(req.target()).value();
  RequestContext ctx{req, "/v1/sessions", url, {}, "t", std::nullopt, {}};
  boost::asio::io_context io;
  auto fut = boost::asio::co_spawn(io, match.route->handler(ctx), boost::asio::use_future);
  io.run();
  Response r = fut.get().response;
  EXPECT_EQ(r.result(), bhttp::status::service_unavailable);
  EXPECT_NE(r.body().find("server_busy"), std::string::npos);
  EXPECT_EQ(r[bhttp::field::retry_after], "1");
}

TEST_F(HandlersTest, DeletePhotoAnswers204ThenTheSpecific404) {
  using Fields = std::vector<std::pair<bhttp::field, std::string>>;
  const Fields admin = {{bhttp::field::authorization, "Bearer admin-token-for-handler-tests"}};
  auto login = [&](const std::string& email) {
    Response created = Call(bhttp::verb::post, "/v1/accounts",
                            R"({"email":")" + email + R"(","password":"long enough"})", admin);
    EXPECT_EQ(created.result(), bhttp::status::created) << created.body();
    Response r = Call(bhttp::verb::post, "/v1/sessions",
                      R"({"email":")" + email + R"(","password":"long enough"})");
    return Fields{
        {bhttp::field::authorization, "Bearer " + std::string(Body(r)["token"].as_string())}};
  };
  const Fields ann = login("ann@example.com");
  const Fields bob = login("bob@example.com");
  auto upload = [&](const Fields& who) {
    Response r = Call(bhttp::verb::post, "/v1/photos", testutil::MakePng(12, 10), who);
    EXPECT_EQ(r.result(), bhttp::status::created) << r.body();
    return std::string(Body(r)["image_id"].as_string());
  };
  auto code = [](const Response& r) {
    return std::string(Body(r)["error"].as_object()["code"].as_string());
  };
  const std::string first = upload(ann);
  const std::string second = upload(ann);
  const std::string path = "/v1/photos/" + first;

  Response anonymous = Call(bhttp::verb::delete_, path);
  EXPECT_EQ(anonymous.result(), bhttp::status::unauthorized);
  EXPECT_EQ(code(anonymous), "login_required");
  Response other = Call(bhttp::verb::delete_, path, {}, bob);
  EXPECT_EQ(other.result(), bhttp::status::not_found) << "as GET: no probing of ids";
  EXPECT_EQ(code(other), "photo_not_found");
  Response junk = Call(bhttp::verb::delete_, "/v1/photos/abc", {}, ann);
  EXPECT_EQ(junk.result(), bhttp::status::not_found);
  EXPECT_EQ(Call(bhttp::verb::get, path, {}, ann).result(), bhttp::status::ok);

  Response deleted = Call(bhttp::verb::delete_, path, {}, ann);
  EXPECT_EQ(deleted.result(), bhttp::status::no_content) << deleted.body();
  EXPECT_TRUE(deleted.body().empty());
  EXPECT_EQ(Call(bhttp::verb::get, path, {}, ann).result(), bhttp::status::not_found);
  EXPECT_EQ(Call(bhttp::verb::get, "/p/" + first + "?w=5", {}, ann).result(),
            bhttp::status::not_found);
  Response again = Call(bhttp::verb::delete_, path, {}, ann);
  EXPECT_EQ(again.result(), bhttp::status::not_found);
  EXPECT_EQ(code(again), "photo_not_found");
  Response me = Call(bhttp::verb::get, "/v1/me", {}, ann);
  EXPECT_TRUE(Body(me)["active_photo_id"].is_null()) << "the deleted photo was the avatar";

  Response by_admin = Call(bhttp::verb::delete_, "/v1/photos/" + second, {}, admin);
  EXPECT_EQ(by_admin.result(), bhttp::status::no_content) << by_admin.body();
  EXPECT_EQ(router_.Find(bhttp::verb::post, path).kind, Router::Match::kMethodNotAllowed);
}

// A valid JPEG padded past the sendfile threshold and past the blob cache's largest entry
// (1 MiB), with varied bytes so a misplaced range shows.
std::string BigJpeg() {
  std::string out = testutil::MakeJpeg(64, 64);
  uint32_t x = 7;
  for (size_t i = 0; i < (1536u << 10); ++i) {
    x = x * 1664525u + 1013904223u;
    out.push_back(static_cast<char>(x >> 24));
  }
  return out;
}

std::string PathOf(std::string_view url) { return std::string(url.substr(url.find("/raw/"))); }

TEST_F(HandlersTest, LargeOriginalsAreRepliedFromTheirFile) {
  auto [auth, md5] = NewUser("big@example.com");
  const std::string big = BigJpeg();
  Response photo = Call(bhttp::verb::post, "/v1/photos", big, auth);
  ASSERT_EQ(photo.result(), bhttp::status::created) << photo.body();
  auto o = Body(photo);
  const std::string raw = PathOf(o["image_url"].as_string());
  const std::string size = std::to_string(big.size());
  for (const std::string& path : {raw, "/p/" + std::string(o["image_id"].as_string())}) {
    Reply r = CallReply(router_, bhttp::verb::get, path, {}, auth);
    ASSERT_EQ(r.response.result(), bhttp::status::ok) << path << " " << r.response.body();
    ASSERT_TRUE(r.file) << path;
    EXPECT_EQ(r.file->length, big.size());
    EXPECT_TRUE(r.response.body().empty());
    EXPECT_EQ(r.response[bhttp::field::content_length], size);
    EXPECT_EQ(r.response[bhttp::field::content_type], "image/jpeg") << path;
    EXPECT_EQ(r.response[bhttp::field::accept_ranges], "bytes");
    EXPECT_TRUE(Materialize(std::move(r)).body() == big) << path << ": bytes differ";
  }

  auto ranged = auth;
  ranged.push_back({bhttp::field::range, "bytes=1000-1999"});
  Reply part = CallReply(router_, bhttp::verb::get, raw, {}, ranged);
  ASSERT_EQ(part.response.result(), bhttp::status::partial_content);
  ASSERT_TRUE(part.file);
  EXPECT_EQ(part.file->length, 1000u);
  EXPECT_EQ(part.response[bhttp::field::content_length], "1000");
  EXPECT_EQ(part.response[bhttp::field::content_range], "bytes 1000-1999/" + size);
  EXPECT_TRUE(Materialize(std::move(part)).body() == big.substr(1000, 1000)) << "bytes differ";

  ranged.back().second = "bytes=" + size + "-";
  Reply past = CallReply(router_, bhttp::verb::get, raw, {}, ranged);
  EXPECT_EQ(past.response.result(), bhttp::status::range_not_satisfiable);
  EXPECT_FALSE(past.file);
  EXPECT_EQ(past.response[bhttp::field::content_range], "bytes */" + size);

  ranged.back().second = "bytes=0-9";
  ranged.push_back({bhttp::field::if_range, "\"stale\""});
  Reply stale = CallReply(router_, bhttp::verb::get, raw, {}, ranged);
  EXPECT_EQ(stale.response.result(), bhttp::status::ok);
  ASSERT_TRUE(stale.file);
  EXPECT_EQ(stale.file->length, big.size());
}

TEST_F(HandlersTest, SmallOriginalsAndVariantsStayInMemory) {
  auto [auth, md5] = NewUser("small@example.com");
  const std::string png = testutil::MakePng(40, 30);
  Response small = Call(bhttp::verb::post, "/v1/photos", png, auth);
  ASSERT_EQ(small.result(), bhttp::status::created) << small.body();
  Reply r =
      CallReply(router_, bhttp::verb::get, PathOf(Body(small)["image_url"].as_string()), {}, auth);
  EXPECT_EQ(r.response.result(), bhttp::status::ok);
  EXPECT_FALSE(r.file);
  EXPECT_EQ(r.response.body(), png);

  const std::string big = BigJpeg();
  Response photo = Call(bhttp::verb::post, "/v1/photos", big, auth);
  ASSERT_EQ(photo.result(), bhttp::status::created) << photo.body();
  auto o = Body(photo);
  Reply variant = CallReply(router_, bhttp::verb::get,
                            "/p/" + std::string(o["image_id"].as_string()) + "?w=16", {}, auth);
  EXPECT_EQ(variant.response.result(), bhttp::status::ok) << variant.response.body();
  EXPECT_FALSE(variant.file) << "rendered in memory";

  ApiOptions opt = Options("https://img.example", 256);
  opt.sendfile_threshold = 0;
  Api memory(*service_, *transformer_, *badges_, pool_, opt, [] { return true; });
  Router router;
  memory.Register(router);
  Reply whole = CallReply(router, bhttp::verb::get, PathOf(o["image_url"].as_string()), {}, auth);
  EXPECT_EQ(whole.response.result(), bhttp::status::ok);
  EXPECT_FALSE(whole.file) << "threshold 0: never from the file";
  EXPECT_TRUE(whole.response.body() == big) << "bytes differ";
}

TEST_F(HandlersTest, ACorruptLargeBlobIsTheSameJsonErrorOnBothPaths) {
  auto [auth, md5] = NewUser("rot@example.com");
  const std::string big = BigJpeg();
  Response photo = Call(bhttp::verb::post, "/v1/photos", big, auth);
  ASSERT_EQ(photo.result(), bhttp::status::created) << photo.body();
  const std::string raw = PathOf(Body(photo)["image_url"].as_string());

  // Flip one payload byte in the segment file.
  std::string segment;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path() + "/blobs"))
    if (e.path().filename().string().starts_with("seg-")) segment = e.path().string();
  ASSERT_FALSE(segment.empty());
  const std::string data = testutil::ReadFileOrEmpty(segment);
  size_t at = data.find(big.substr(big.size() - 4096, 64));
  ASSERT_NE(at, std::string::npos);
  int fd = ::open(segment.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  char flipped = static_cast<char>(data[at] ^ 0x01);
  ASSERT_EQ(::pwrite(fd, &flipped, 1, static_cast<off_t>(at)), 1);
  ::close(fd);

  Reply from_file = CallReply(router_, bhttp::verb::get, raw, {}, auth);
  EXPECT_EQ(from_file.response.result(), bhttp::status::internal_server_error);
  EXPECT_FALSE(from_file.file) << "nothing is sent from a blob that failed its checksum";

  ApiOptions opt = Options("https://img.example", 256);
  opt.sendfile_threshold = 0;
  Api memory(*service_, *transformer_, *badges_, pool_, opt, [] { return true; });
  Router router;
  memory.Register(router);
  Reply from_memory = CallReply(router, bhttp::verb::get, raw, {}, auth);
  EXPECT_EQ(from_memory.response.result(), bhttp::status::internal_server_error);
  EXPECT_EQ(from_file.response.body(), from_memory.response.body());
  EXPECT_EQ(from_file.response[bhttp::field::content_type],
            from_memory.response[bhttp::field::content_type]);
  EXPECT_NE(from_file.response.body().find("\"internal\""), std::string::npos)
      << from_file.response.body();
}

}  // namespace
}  // namespace glint::http
