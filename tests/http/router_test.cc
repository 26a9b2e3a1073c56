#include "http/router.h"

#include <gtest/gtest.h>

namespace glint::http {
namespace {

boost::asio::awaitable<Reply> Nothing(RequestContext&) { co_return Response{}; }

Router MakeRouter() {
  Router r;
  r.Add(bhttp::verb::get, "/healthz", 0, Nothing);
  r.Add(bhttp::verb::get, "/{hash}", 0, Nothing);
  r.Add(bhttp::verb::get, "/avatar/{hash}", 0, Nothing);
  r.Add(bhttp::verb::get, "/v1/photos/{id}", 0, Nothing);
  r.Add(bhttp::verb::post, "/v1/photos", 100, Nothing);
  r.Add(bhttp::verb::get, "/v1/photos", 0, Nothing);
  return r;
}

TEST(RouterTest, LiteralBeatsParameter) {
  Router r = MakeRouter();
  auto m = r.Find(bhttp::verb::get, "/healthz");
  ASSERT_EQ(m.kind, Router::Match::kFound);
  EXPECT_EQ(m.route->pattern, "/healthz");
  m = r.Find(bhttp::verb::get, "/abc123");
  ASSERT_EQ(m.kind, Router::Match::kFound);
  EXPECT_EQ(m.route->pattern, "/{hash}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "hash");
  EXPECT_EQ(m.params[0].second, "abc123");
}

TEST(RouterTest, CapturesParameters) {
  Router r = MakeRouter();
  auto m = r.Find(bhttp::verb::get, "/v1/photos/42");
  ASSERT_EQ(m.kind, Router::Match::kFound);
  EXPECT_EQ(m.route->pattern, "/v1/photos/{id}");
  EXPECT_EQ(m.params[0].second, "42");
}

TEST(RouterTest, HeadUsesGetRoutes) {
  Router r = MakeRouter();
  EXPECT_EQ(r.Find(bhttp::verb::head, "/avatar/x").kind, Router::Match::kFound);
}

TEST(RouterTest, OtherMethodIs405WithAllow) {
  Router r = MakeRouter();
  auto m = r.Find(bhttp::verb::delete_, "/v1/photos");
  ASSERT_EQ(m.kind, Router::Match::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
  // A literal path wins over the "/{hash}" catch-all for other methods too.
  m = r.Find(bhttp::verb::post, "/healthz");
  EXPECT_EQ(m.kind, Router::Match::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD");
}

TEST(RouterTest, UnknownPathsAreNotFound) {
  Router r = MakeRouter();
  EXPECT_EQ(r.Find(bhttp::verb::get, "/a/b/c/d").kind, Router::Match::kNotFound);
  EXPECT_EQ(r.Find(bhttp::verb::get, "/avatar/").kind, Router::Match::kNotFound)
      << "empty parameter";
  EXPECT_EQ(r.Find(bhttp::verb::get, "/").kind, Router::Match::kNotFound);
}

}  // namespace
}  // namespace glint::http
