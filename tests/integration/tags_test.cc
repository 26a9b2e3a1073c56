// People tagged in photos, end to end: the real `glint` binary over real HTTP. Photo
// visibility, tag settings, tagging with approval, the two tag lists with their cursor,
// removal, the per-photo limit and the per-tagger rate limit, and a restart in between.
// Every rule on its own is tested in core (tests/core/tags_test.cc); this is the API's shape.
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "tests/testutil/api_client.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"

namespace glint {
namespace {

using testutil::ApiClient;
using testutil::ApiReply;
using testutil::GlintServer;
using testutil::TempDir;
namespace json = boost::json;

const json::object kBox{{"x", 0.25}, {"y", 0.1}, {"w", 0.5}, {"h", 0.5}};

json::object TagBody(uint64_t user, const json::value& box = kBox) {
  return json::object{{"user", user}, {"box", box}};
}

class TagsFlowTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra = {}) {
    server_ = std::make_unique<GlintServer>(dir_.path() + "/var", extra);
    ASSERT_NE(server_->port(), 0);
    api_ = std::make_unique<ApiClient>(server_->port(), server_->admin_token());
  }

  void Restart() {
    api_.reset();
    ASSERT_EQ(server_->Stop(), 0) << server_->log();
    server_->Restart();
    api_ = std::make_unique<ApiClient>(server_->port(), server_->admin_token());
  }

  std::string Photo(const ApiClient::Account& owner) {
    return api_->UploadPhoto(owner.token, testutil::MakeJpeg(48, 32));
  }

  // The image ids of `user`'s tagged photos as `token` sees them, following next_cursor
  // with pages of `limit`.
  std::vector<std::string> Tagged(uint64_t user, const std::string& token, int limit = 20) {
    std::vector<std::string> out;
    std::string cursor;
    for (int pages = 0; pages < 100; ++pages) {
      std::string target =
          "/v1/users/" + std::to_string(user) + "/tagged?limit=" + std::to_string(limit);
      if (!cursor.empty()) target += "&cursor=" + cursor;
      ApiReply r = api_->Get(target, token);
      EXPECT_EQ(r.status(), 200) << r.http.body;
      if (r.status() != 200) break;
      for (const auto& item : r["photos"].as_array()) {
        const json::object& o = item.as_object();
        const std::string id(o.at("photo").as_object().at("image_id").as_string());
        EXPECT_EQ(o.at("tag").as_object().at("photo_id").as_string(), id);
        out.push_back(id);
      }
      if (r["next_cursor"].is_null()) break;
      cursor = std::string(r["next_cursor"].as_string());
    }
    return out;
  }

  // The user ids tagged in `photo` as `token` sees them.
  std::vector<uint64_t> TagsOf(const std::string& photo, const std::string& token) {
    ApiReply r = api_->Get("/v1/photos/" + photo + "/tags", token);
    EXPECT_EQ(r.status(), 200) << r.http.body;
    std::vector<uint64_t> out;
    if (r.status() == 200)
      for (const auto& t : r["tags"].as_array())
        out.push_back(t.as_object().at("user_id").to_number<uint64_t>());
    return out;
  }

  TempDir dir_;
  std::unique_ptr<GlintServer> server_;
  std::unique_ptr<ApiClient> api_;
};

TEST_F(TagsFlowTest, VisibilityDecidesWhoSeesAPhoto) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto olga = api_->NewAccount("olga@example.com");
  auto sam = api_->NewAccount("sam@example.com");
  const std::string photo = Photo(olga);

  ApiReply shown = api_->Get("/v1/photos/" + photo);  // no credentials at all
  ASSERT_EQ(shown.status(), 200) << shown.http.body;
  EXPECT_EQ(shown["visibility"].as_string(), "public");
  EXPECT_EQ(shown["owner_id"].to_number<uint64_t>(), olga.id);
  const std::string url(shown["photo_url"].as_string());
  EXPECT_TRUE(url.ends_with("/p/" + photo)) << url;
  EXPECT_EQ(api_->Get("/p/" + photo + "?w=16", sam.token).status(), 200);

  ApiReply hide = api_->Call("PATCH", "/v1/photos/" + photo, olga.token,
                             json::object{{"visibility", "private"}});
  ASSERT_EQ(hide.status(), 200) << hide.http.body;
  EXPECT_EQ(hide["visibility"].as_string(), "private");
  for (const std::string& token : {sam.token, std::string()}) {
    for (const std::string& target : {"/v1/photos/" + photo, "/p/" + photo, "/p/" + photo + "?w=16",
                                      "/v1/photos/" + photo + "/tags"}) {
      ApiReply r = api_->Get(target, token);
      EXPECT_EQ(r.status(), 404) << target;
      EXPECT_EQ(r.error_code(), "photo_not_found") << target;
    }
  }
  EXPECT_EQ(api_->Get("/p/" + photo, olga.token).status(), 200);
  // Only the owner changes it; a bad value is named.
  ApiReply stolen =
      api_->Call("PATCH", "/v1/photos/" + photo, sam.token, json::object{{"visibility", "public"}});
  EXPECT_EQ(stolen.status(), 404);
  ApiReply bad = api_->Call("PATCH", "/v1/photos/" + photo, olga.token,
                            json::object{{"visibility", "friends"}});
  EXPECT_EQ(bad.status(), 400);
  EXPECT_EQ(bad.error_code(), "invalid_field");
  ApiReply unknown =
      api_->Call("PATCH", "/v1/photos/" + photo, olga.token, json::object{{"owner", 5}});
  EXPECT_EQ(unknown.status(), 400);
  EXPECT_EQ(unknown.error_code(), "invalid_field");
  // The avatar is public whatever its photo's visibility.
  ApiReply me = api_->Get("/v1/me", olga.token);
  const std::string avatar =
      "/avatar/" + std::string(me["hashes"].as_object().at("sha256").as_string());
  EXPECT_EQ(api_->Get(avatar + "?d=404").status(), 200);
}

TEST_F(TagsFlowTest, TagApproveListAndRemove) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto olga = api_->NewAccount("olga@example.com");
  auto tim = api_->NewAccount("tim@example.com");
  auto pia = api_->NewAccount("pia@example.com");
  auto sam = api_->NewAccount("sam@example.com");
  const std::string photo = Photo(olga);
  const std::string tags = "/v1/photos/" + photo + "/tags";

  // Pia wants to approve tags of her.
  ApiReply defaults = api_->Get("/v1/me/settings/tags", pia.token);
  ASSERT_EQ(defaults.status(), 200) << defaults.http.body;
  EXPECT_EQ(defaults.json, (json::value(json::object{{"tag_policy_photos", "viewers"},
                                                     {"tag_policy_me", "anyone"},
                                                     {"tag_approval", false}})));
  ApiReply set =
      api_->Call("PUT", "/v1/me/settings/tags", pia.token, json::object{{"tag_approval", true}});
  ASSERT_EQ(set.status(), 200) << set.http.body;
  EXPECT_EQ(set["tag_approval"].as_bool(), true);
  EXPECT_EQ(set["tag_policy_me"].as_string(), "anyone");
  EXPECT_EQ(
      api_->Get("/v1/users/" + std::to_string(pia.id) + "/settings/tags", sam.token).error_code(),
      "not_allowed");

  ApiReply tagged = api_->Call("POST", tags, tim.token, TagBody(pia.id));
  ASSERT_EQ(tagged.status(), 201) << tagged.http.body;
  EXPECT_EQ(tagged["state"].as_string(), "pending");
  EXPECT_EQ(tagged["photo_id"].as_string(), photo);
  EXPECT_EQ(tagged["tagger_id"].to_number<uint64_t>(), tim.id);
  EXPECT_EQ(tagged["box"], json::value(kBox));
  ApiReply again = api_->Call("POST", tags, tim.token, TagBody(pia.id));
  EXPECT_EQ(again.status(), 200) << "a repeat is no new tag";
  EXPECT_EQ(again.json, tagged.json);

  EXPECT_EQ(TagsOf(photo, tim.token), std::vector<uint64_t>{pia.id});
  EXPECT_EQ(TagsOf(photo, pia.token), std::vector<uint64_t>{pia.id});
  EXPECT_TRUE(TagsOf(photo, sam.token).empty()) << "pending: parties only";
  EXPECT_TRUE(TagsOf(photo, "").empty());
  EXPECT_EQ(Tagged(pia.id, pia.token), std::vector<std::string>{photo});
  EXPECT_TRUE(Tagged(pia.id, "").empty());

  const std::string approve = tags + "/" + std::to_string(pia.id) + "/approve";
  ApiReply by_tagger = api_->Call("POST", approve, tim.token);
  EXPECT_EQ(by_tagger.status(), 403);
  EXPECT_EQ(by_tagger.error_code(), "not_allowed");
  ApiReply by_stranger = api_->Call("POST", approve, sam.token);
  EXPECT_EQ(by_stranger.status(), 404);
  EXPECT_EQ(by_stranger.error_code(), "tag_not_found");
  ApiReply approved = api_->Call("POST", approve, pia.token);
  ASSERT_EQ(approved.status(), 200) << approved.http.body;
  EXPECT_EQ(approved["state"].as_string(), "approved");
  EXPECT_EQ(TagsOf(photo, ""), std::vector<uint64_t>{pia.id});
  EXPECT_EQ(Tagged(pia.id, ""), std::vector<std::string>{photo});

  // Moving the box is an update of the same tag.
  const json::object moved_box{{"x", 0}, {"y", 0}, {"w", 1}, {"h", 0.5}};
  ApiReply moved = api_->Call("POST", tags, tim.token, TagBody(pia.id, moved_box));
  EXPECT_EQ(moved.status(), 200) << moved.http.body;
  EXPECT_EQ(moved["box"].as_object().at("w").to_number<double>(), 1.0);
  EXPECT_EQ(moved["state"].as_string(), "approved");

  // Removal: not by a stranger; by herself.
  const std::string remove = tags + "/" + std::to_string(pia.id);
  ApiReply refused = api_->Call("DELETE", remove, sam.token);
  EXPECT_EQ(refused.status(), 403);
  EXPECT_EQ(refused.error_code(), "not_allowed");
  EXPECT_EQ(api_->Call("DELETE", remove).status(), 401);
  ApiReply removed = api_->Call("DELETE", remove, pia.token);
  EXPECT_EQ(removed.status(), 204) << removed.http.body;
  EXPECT_TRUE(removed.http.body.empty());
  ApiReply gone = api_->Call("DELETE", remove, pia.token);
  EXPECT_EQ(gone.status(), 404);
  EXPECT_EQ(gone.error_code(), "tag_not_found");
  EXPECT_TRUE(TagsOf(photo, olga.token).empty());
  EXPECT_TRUE(Tagged(pia.id, pia.token).empty());
}

TEST_F(TagsFlowTest, BadTagRequestsGetSpecificErrors) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto olga = api_->NewAccount("olga@example.com");
  auto tim = api_->NewAccount("tim@example.com");
  auto pia = api_->NewAccount("pia@example.com");
  const std::string photo = Photo(olga);
  const std::string tags = "/v1/photos/" + photo + "/tags";
  struct Case {
    json::value body;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {TagBody(pia.id, json::object{{"x", 0.8}, {"y", 0}, {"w", 0.5}, {"h", 0.5}}), 400,
       "box_invalid"},
      {TagBody(pia.id, json::object{{"x", 0}, {"y", 0}, {"w", 0}, {"h", 0.5}}), 400, "box_invalid"},
      {TagBody(pia.id, json::object{{"x", "0"}, {"y", 0}, {"w", 0.5}, {"h", 0.5}}), 400,
       "box_invalid"},
      {TagBody(pia.id, json::array{0, 0, 1, 1}), 400, "box_invalid"},
      {json::object{{"user", pia.id}}, 400, "box_invalid"},
      {json::object{{"box", kBox}}, 400, "invalid_field"},
      {TagBody(987654), 404, "user_not_found"},
      {json::array{}, 400, "invalid_json"},
  };
  for (const Case& c : cases) {
    ApiReply r = api_->Call("POST", tags, tim.token, c.body);
    EXPECT_EQ(r.status(), c.status) << json::serialize(c.body) << " " << r.http.body;
    EXPECT_EQ(r.error_code(), c.code) << json::serialize(c.body);
  }
  EXPECT_EQ(api_->Call("POST", tags, {}, TagBody(pia.id)).error_code(), "login_required");
  EXPECT_EQ(api_->Call("POST", tags, server_->admin_token(), TagBody(pia.id)).error_code(),
            "user_required");
  EXPECT_EQ(api_->Call("POST", "/v1/photos/99999/tags", tim.token, TagBody(pia.id)).error_code(),
            "photo_not_found");

  // The owner's and the tagged user's policies: each setting, then the refusal it makes.
  struct Policy {
    const ApiClient::Account* who;
    json::object setting;
    const ApiClient::Account* tagger;
    const char* code;
  };
  for (const Policy& p :
       {Policy{&olga, {{"tag_policy_photos", "only_me"}}, &tim, "not_allowed"},
        Policy{&pia, {{"tag_policy_me", "nobody"}}, &olga, "user_not_taggable"}}) {
    ASSERT_EQ(api_->Call("PUT", "/v1/me/settings/tags", p.who->token, p.setting).status(), 200);
    ApiReply refused = api_->Call("POST", tags, p.tagger->token, TagBody(pia.id));
    EXPECT_EQ(refused.status(), 403);
    EXPECT_EQ(refused.error_code(), p.code);
  }
  for (const json::object& bad :
       {json::object{{"tag_policy_me", "friends"}}, json::object{{"tag_approval", "yes"}},
        json::object{{"colour", "blue"}}}) {
    ApiReply r = api_->Call("PUT", "/v1/me/settings/tags", pia.token, bad);
    EXPECT_EQ(r.status(), 400) << json::serialize(bad);
    EXPECT_EQ(r.error_code(), "invalid_field") << json::serialize(bad);
  }
  // List queries.
  const std::string list = "/v1/users/" + std::to_string(pia.id) + "/tagged";
  EXPECT_EQ(api_->Get(list + "?cursor=xyz").error_code(), "invalid_cursor");
  EXPECT_EQ(api_->Get(list + "?limit=0").error_code(), "invalid_query");
  EXPECT_EQ(api_->Get(list + "?limit=101").error_code(), "invalid_query");
}

TEST_F(TagsFlowTest, TaggedPhotosPageNewestFirstAndSurviveARestart) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto olga = api_->NewAccount("olga@example.com");
  auto tim = api_->NewAccount("tim@example.com");
  auto pia = api_->NewAccount("pia@example.com");
  std::vector<std::string> photos;
  for (int i = 0; i < 5; ++i) {
    photos.push_back(Photo(olga));
    ASSERT_EQ(
        api_->Call("POST", "/v1/photos/" + photos.back() + "/tags", tim.token, TagBody(pia.id))
            .status(),
        201);
  }
  const std::vector<std::string> newest_first(photos.rbegin(), photos.rend());
  EXPECT_EQ(Tagged(pia.id, "", 2), newest_first);
  EXPECT_EQ(Tagged(pia.id, tim.token, 5), newest_first);
  EXPECT_EQ(Tagged(pia.id, "", 100), newest_first);
  ApiReply first = api_->Get("/v1/users/" + std::to_string(pia.id) + "/tagged?limit=2");
  EXPECT_EQ(first["photos"].as_array().size(), 2u);
  EXPECT_TRUE(first["next_cursor"].is_string());
  // /v1/me/tagged is the caller's own list.
  ApiReply mine = api_->Get("/v1/me/tagged", pia.token);
  EXPECT_EQ(mine["photos"].as_array().size(), 5u);

  // A private photo drops out for everyone but its owner; a deleted one for all.
  ASSERT_EQ(api_->Call("PATCH", "/v1/photos/" + photos[1], olga.token,
                       json::object{{"visibility", "private"}})
                .status(),
            200);
  ASSERT_EQ(api_->Call("DELETE", "/v1/photos/" + photos[3], olga.token).status(), 204);
  const std::vector<std::string> left{photos[4], photos[2], photos[0]};
  EXPECT_EQ(Tagged(pia.id, pia.token, 2), left);
  EXPECT_EQ(Tagged(pia.id, olga.token, 2),
            (std::vector<std::string>{photos[4], photos[2], photos[1], photos[0]}));

  ASSERT_NO_FATAL_FAILURE(Restart());
  EXPECT_EQ(Tagged(pia.id, "", 2), left);
  EXPECT_EQ(TagsOf(photos[0], ""), std::vector<uint64_t>{pia.id});
}

TEST_F(TagsFlowTest, PerPhotoLimitAndPerTaggerRate) {
  ASSERT_NO_FATAL_FAILURE(
      Start({"--max-tags-per-photo", "2", "--tag-rate-limit", "1", "--tag-rate-burst", "4"}));
  auto olga = api_->NewAccount("olga@example.com");
  auto tim = api_->NewAccount("tim@example.com");
  std::vector<ApiClient::Account> people;
  for (int i = 0; i < 3; ++i)
    people.push_back(api_->NewAccount("p" + std::to_string(i) + "@example.com"));
  const std::string tags = "/v1/photos/" + Photo(olga) + "/tags";
  EXPECT_EQ(api_->Call("POST", tags, tim.token, TagBody(people[0].id)).status(), 201);
  EXPECT_EQ(api_->Call("POST", tags, tim.token, TagBody(people[1].id)).status(), 201);
  ApiReply full = api_->Call("POST", tags, tim.token, TagBody(people[2].id));
  EXPECT_EQ(full.status(), 409);
  EXPECT_EQ(full.error_code(), "tag_limit");
  // A burst of 4 at one a minute: the fifth request is refused, whatever it would do.
  EXPECT_EQ(api_->Call("POST", tags, tim.token, TagBody(people[0].id)).status(), 200);
  ApiReply limited = api_->Call("POST", tags, tim.token, TagBody(people[0].id));
  EXPECT_EQ(limited.status(), 429);
  EXPECT_EQ(limited.error_code(), "tag_rate_limited");
  const int retry = std::stoi(limited.http.Header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  // Per tagger: the owner still tags (and reads are not limited).
  EXPECT_EQ(api_->Call("POST", tags, olga.token, TagBody(people[0].id)).status(), 200);
  EXPECT_EQ(api_->Get(tags, tim.token).status(), 200);
}

}  // namespace
}  // namespace glint
