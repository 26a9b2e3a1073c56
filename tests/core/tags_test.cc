// People tagged in photos (core/service.h, core/service_tags.cc): who may tag whom in which
// photo, who sees which tag, the limits, removal, the tagged-photos index and its cursors,
// the events, and photo visibility, which all of it rests on.
#include "core/service.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>

#include <boost/json.hpp>

#include "core/events.h"
#include "storage/record.h"
#include "tests/core/service_fixture.h"

namespace glint::core {
namespace {

constexpr TagBox kBox{0.1, 0.2, 0.3, 0.4};
constexpr TagBox kOtherBox{0.5, 0.5, 0.25, 0.25};

// Changes of one setting.
TagSettingsChange PhotosPolicy(PhotoTagPolicy p) {
  TagSettingsChange c;
  c.photos = p;
  return c;
}
TagSettingsChange MePolicy(MeTagPolicy p) {
  TagSettingsChange c;
  c.me = p;
  return c;
}
TagSettingsChange Approval(bool on) {
  TagSettingsChange c;
  c.approval = on;
  return c;
}

class TagsTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(AttachEvents());
    // Olga owns the photos; Tim tags; Pia is tagged; Sam is a stranger to all of it.
    struct Person {
      const char* name;
      Principal* principal;
      uint64_t* id;
    };
    const Person people[] = {{"olga", &olga_, &olga_id_},
                             {"tim", &tim_, &tim_id_},
                             {"pia", &pia_, &pia_id_},
                             {"sam", &sam_, &sam_id_}};
    for (const Person& p : people) {
      const std::string email = std::string(p.name) + "@example.com";
      ASSERT_OK_AND_ASSIGN(AccountView a, CreateUser(email));
      *p.id = a.id;
      ASSERT_OK_AND_ASSIGN(*p.principal, LoginAs(email));
    }
  }

  void AttachEvents() {
    auto events = EventLog::Open(*db_, clock_);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    events_ = std::move(*events);
    service_->SetEventLog(events_.get());
  }

  // A photo of Olga's (public unless told otherwise).
  uint64_t OlgaPhoto(Visibility visibility = Visibility::kPublic) {
    auto photo = service_->UploadPhoto(olga_, Bytes(MakeJpeg(40, 30)));
    EXPECT_TRUE(photo.ok()) << photo.status().ToString();
    if (!photo.ok()) return 0;
    if (visibility != Visibility::kPublic) {
      auto updated = service_->UpdatePhoto(olga_, photo->photo.id, {}, {}, visibility);
      EXPECT_TRUE(updated.ok()) << updated.status().ToString();
    }
    return photo->photo.id;
  }

  // The tag events written since `after`.
  std::vector<EventRecord> TagEventsSince(uint64_t after) {
    auto events = events_->Read(after, 10000);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    std::vector<EventRecord> out;
    for (auto& e : *events)
      if (e.type == kPhotoTagged || e.type == kPhotoUntagged || e.type == kTagApproved)
        out.push_back(std::move(e));
    return out;
  }

  // The user ids tagged in `photo` as `viewer` sees them.
  std::vector<uint64_t> TaggedIn(const Principal& viewer, uint64_t photo) {
    auto tags = service_->ListPhotoTags(viewer, photo);
    EXPECT_TRUE(tags.ok()) << tags.status().ToString();
    std::vector<uint64_t> out;
    if (tags.ok())
      for (const auto& t : *tags) out.push_back(t.user_id);
    return out;
  }

  // The photo ids of `user`'s tagged list as `viewer` sees it, following every cursor with
  // pages of `limit`.
  std::vector<uint64_t> TaggedPhotos(const Principal& viewer, uint64_t user, size_t limit = 100) {
    std::vector<uint64_t> out;
    std::string cursor;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = service_->ListTaggedPhotos(viewer, user, cursor, limit);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      EXPECT_LE(page->photos.size(), limit);
      for (const auto& p : page->photos) {
        EXPECT_EQ(p.tag.user_id, user);
        EXPECT_EQ(p.tag.photo_id, p.photo.photo.id);
        out.push_back(p.photo.photo.id);
      }
      if (page->next_cursor.empty()) break;
      cursor = page->next_cursor;
    }
    return out;
  }

  size_t Rows(storage::Cf cf) {
    size_t n = 0;
    EXPECT_OK(db_->Scan(cf, "", std::numeric_limits<size_t>::max(),
                        [&](std::string_view, std::string_view) {
                          ++n;
                          return true;
                        }));
    return n;
  }

  void SetSettings(const Principal& who, uint64_t id, TagSettingsChange change) {
    ASSERT_OK(service_->SetTagSettings(who, id, change));
  }

  std::unique_ptr<EventLog> events_;
  Principal olga_, tim_, pia_, sam_;
  uint64_t olga_id_ = 0, tim_id_ = 0, pia_id_ = 0, sam_id_ = 0;
};

TEST(TagRecordTest, RoundTripsEveryField) {
  TagRecord t;
  t.photo_id = 7;
  t.user_id = 9;
  t.tagger = 11;
  t.box = {0.125, 1.0 / 3, 0.5, 0.0625};
  t.created_at = 1'700'000'123;
  t.approved = true;
  t.updated_at = 1'700'000'456;
  ASSERT_OK_AND_ASSIGN(TagRecord back, TagRecord::Decode(t.Encode()));
  EXPECT_EQ(back.photo_id, 7u);
  EXPECT_EQ(back.user_id, 9u);
  EXPECT_EQ(back.tagger, 11u);
  EXPECT_EQ(back.box, t.box) << "doubles round-trip exactly";
  EXPECT_EQ(back.created_at, t.created_at);
  EXPECT_TRUE(back.approved);
  EXPECT_EQ(back.updated_at, t.updated_at);
}

TEST(TagRecordTest, TaggedKeysOrderNewestFirst) {
  TagRecord older{1, 5, 2, kBox, 100, true, 0};
  TagRecord newer{2, 5, 2, kBox, 200, true, 0};
  TagRecord same_second_newer_photo{3, 5, 2, kBox, 200, true, 0};
  TagRecord other_user{4, 6, 2, kBox, 50, true, 0};
  EXPECT_LT(TaggedKey(newer), TaggedKey(older));
  EXPECT_LT(TaggedKey(same_second_newer_photo), TaggedKey(newer));
  EXPECT_LT(TaggedKey(older), TaggedKey(other_user)) << "grouped by user first";
  EXPECT_EQ(TaggedKey(older).size(), 24u);
  EXPECT_EQ(TagKey(1, 5), storage::U64PairKey(1, 5));
}

TEST(TagRecordTest, NewUserFieldsDefaultToTheOpenSettings) {
  User u;
  u.id = 3;
  ASSERT_OK_AND_ASSIGN(User back, User::Decode(u.Encode()));
  EXPECT_EQ(back.tag_policy_photos, PhotoTagPolicy::kViewers);
  EXPECT_EQ(back.tag_policy_me, MeTagPolicy::kAnyone);
  EXPECT_FALSE(back.tag_approval);
  u.tag_policy_photos = PhotoTagPolicy::kOnlyMe;
  u.tag_policy_me = MeTagPolicy::kNobody;
  u.tag_approval = true;
  ASSERT_OK_AND_ASSIGN(back, User::Decode(u.Encode()));
  EXPECT_EQ(back.tag_policy_photos, PhotoTagPolicy::kOnlyMe);
  EXPECT_EQ(back.tag_policy_me, MeTagPolicy::kNobody);
  EXPECT_TRUE(back.tag_approval);
  // A policy value from a later version reads as the strictest one known.
  std::string future = storage::RecordWriter().PutU64(1, 3).PutU64(16, 7).PutU64(17, 9).Finish();
  ASSERT_OK_AND_ASSIGN(back, User::Decode(future));
  EXPECT_EQ(back.tag_policy_photos, PhotoTagPolicy::kOnlyMe);
  EXPECT_EQ(back.tag_policy_me, MeTagPolicy::kNobody);
}

TEST(TagRecordTest, APhotoWrittenBeforeVisibilityExistedStaysPrivate) {
  // Fields 1..16 only, as every photo record was before field 17.
  std::string legacy =
      storage::RecordWriter().PutU64(1, 4).PutU64(2, 8).PutU64(3, 12).PutU64(16, 0).Finish();
  ASSERT_OK_AND_ASSIGN(Photo old, Photo::Decode(legacy));
  EXPECT_EQ(old.visibility, Visibility::kPrivate);
  Photo fresh;
  EXPECT_EQ(fresh.visibility, Visibility::kPublic) << "new photos are public";
  ASSERT_OK_AND_ASSIGN(Photo back, Photo::Decode(fresh.Encode()));
  EXPECT_EQ(back.visibility, Visibility::kPublic);
}

TEST(TagBoxTest, InsideTheImageAndNotEmpty) {
  EXPECT_OK(CheckTagBox({0, 0, 1, 1}));
  EXPECT_OK(CheckTagBox({0.5, 0.5, 0.5, 0.5}));
  EXPECT_OK(CheckTagBox(kBox));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (TagBox bad : {TagBox{0, 0, 0, 0.5}, TagBox{0, 0, 0.5, 0}, TagBox{0, 0, -0.1, 0.5},
                     TagBox{-0.1, 0, 0.5, 0.5}, TagBox{0, -0.01, 0.5, 0.5},
                     TagBox{0.6, 0, 0.5, 0.5}, TagBox{0, 0.6, 0.5, 0.5}, TagBox{0, 0, 1.01, 1},
                     TagBox{nan, 0, 0.5, 0.5}, TagBox{0, 0, inf, 0.5}, TagBox{2, 2, 0.1, 0.1}}) {
    SCOPED_TRACE(std::to_string(bad.x) + "," + std::to_string(bad.y) + "," + std::to_string(bad.w) +
                 "," + std::to_string(bad.h));
    EXPECT_ERROR(CheckTagBox(bad), Code::kInvalidArgument, "box_invalid");
  }
}

TEST_F(TagsTest, OwnerTagsSomeoneAndTheyAreNotified) {
  const uint64_t photo = OlgaPhoto();
  const uint64_t before = events_->Watermark();
  ASSERT_OK_AND_ASSIGN(TagResult r, service_->TagPhoto(olga_, photo, pia_id_, kBox));
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.tag.photo_id, photo);
  EXPECT_EQ(r.tag.user_id, pia_id_);
  EXPECT_EQ(r.tag.tagger, olga_id_);
  EXPECT_EQ(r.tag.box, kBox);
  EXPECT_EQ(r.tag.created_at, kStart);
  EXPECT_TRUE(r.tag.approved);

  auto events = TagEventsSince(before);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, kPhotoTagged);
  EXPECT_EQ(events[0].recipient, pia_id_);
  EXPECT_EQ(events[0].actor, olga_id_);
  EXPECT_EQ(events[0].subject, std::to_string(photo));
  auto payload = boost::json::parse(events[0].payload).as_object();
  EXPECT_EQ(payload["photo_id"].to_number<uint64_t>(), photo);
  EXPECT_EQ(payload["user_id"].to_number<uint64_t>(), pia_id_);
  EXPECT_EQ(payload["tagger_id"].to_number<uint64_t>(), olga_id_);
  EXPECT_EQ(payload["owner_id"].to_number<uint64_t>(), olga_id_);
  EXPECT_EQ(payload["state"].as_string(), "approved");
  EXPECT_DOUBLE_EQ(payload["box"].as_object()["w"].as_double(), kBox.w);

  // Everyone who sees the photo sees the approved tag, anonymous callers too.
  for (const Principal& viewer : {olga_, tim_, pia_, sam_, Principal::Anonymous()})
    EXPECT_EQ(TaggedIn(viewer, photo), std::vector<uint64_t>{pia_id_});
  EXPECT_EQ(Rows(storage::Cf::kTags), 1u);
  EXPECT_EQ(Rows(storage::Cf::kTagged), 1u);
}

TEST_F(TagsTest, TaggingOneselfNotifiesNobody) {
  const uint64_t photo = OlgaPhoto();
  const uint64_t before = events_->Watermark();
  ASSERT_OK_AND_ASSIGN(TagResult r, service_->TagPhoto(tim_, photo, tim_id_, kBox));
  EXPECT_TRUE(r.tag.approved);
  auto events = TagEventsSince(before);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].recipient, 0u);
}

TEST_F(TagsTest, AViewerMayTagInAPublicPhotoByDefault) {
  const uint64_t photo = OlgaPhoto();
  ASSERT_OK_AND_ASSIGN(TagResult r, service_->TagPhoto(tim_, photo, pia_id_, kBox));
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.tag.tagger, tim_id_);
}

TEST_F(TagsTest, WhoCannotSeeAPhotoCannotTagInItNorLearnItExists) {
  const uint64_t hidden = OlgaPhoto(Visibility::kPrivate);
  const uint64_t missing = hidden + 1000;
  for (uint64_t photo : {hidden, missing}) {
    EXPECT_ERROR(service_->TagPhoto(tim_, photo, pia_id_, kBox), Code::kNotFound,
                 "photo_not_found");
    EXPECT_ERROR(service_->ListPhotoTags(tim_, photo), Code::kNotFound, "photo_not_found");
    EXPECT_ERROR(service_->ListPhotoTags(Principal::Anonymous(), photo), Code::kNotFound,
                 "photo_not_found");
    EXPECT_ERROR(service_->GetPhoto(tim_, photo), Code::kNotFound, "photo_not_found");
    EXPECT_ERROR(service_->OpenPhoto(Principal::Anonymous(), photo), Code::kNotFound,
                 "photo_not_found");
    EXPECT_ERROR(service_->ApproveTag(tim_, photo, pia_id_), Code::kNotFound, "photo_not_found");
    EXPECT_ERROR(service_->RemoveTag(tim_, photo, pia_id_), Code::kNotFound, "photo_not_found");
  }
  // The owner still tags in it, and an admin sees it.
  ASSERT_OK(service_->TagPhoto(olga_, hidden, pia_id_, kBox));
  EXPECT_EQ(TaggedIn(olga_, hidden), std::vector<uint64_t>{pia_id_});
  EXPECT_EQ(TaggedIn(Principal::Admin(), hidden), std::vector<uint64_t>{pia_id_});
  EXPECT_EQ(Rows(storage::Cf::kTags), 1u);
}

TEST_F(TagsTest, AnonymousAndAdminTokenCannotTag) {
  const uint64_t photo = OlgaPhoto();
  EXPECT_ERROR(service_->TagPhoto(Principal::Anonymous(), photo, pia_id_, kBox),
               Code::kUnauthenticated, "login_required");
  EXPECT_ERROR(service_->TagPhoto(Principal::Admin(), photo, pia_id_, kBox), Code::kInvalidArgument,
               "user_required");
  EXPECT_ERROR(service_->RemoveTag(Principal::Anonymous(), photo, pia_id_), Code::kNotFound,
               "tag_not_found");
  EXPECT_EQ(Rows(storage::Cf::kTags), 0u);
}

TEST_F(TagsTest, BadBoxesAndUnknownUsersAreRefused) {
  const uint64_t photo = OlgaPhoto();
  EXPECT_ERROR(service_->TagPhoto(tim_, photo, pia_id_, TagBox{0.9, 0, 0.2, 0.2}),
               Code::kInvalidArgument, "box_invalid");
  EXPECT_ERROR(service_->TagPhoto(tim_, photo, pia_id_, TagBox{0, 0, 0, 0}), Code::kInvalidArgument,
               "box_invalid");
  EXPECT_ERROR(service_->TagPhoto(tim_, photo, 9999, kBox), Code::kNotFound, "user_not_found");
  EXPECT_EQ(Rows(storage::Cf::kTags), 0u);
}

TEST_F(TagsTest, TheOwnerMayKeepTaggingToThemselves) {
  const uint64_t photo = OlgaPhoto();
  SetSettings(olga_, olga_id_, PhotosPolicy(PhotoTagPolicy::kOnlyMe));
  EXPECT_ERROR(service_->TagPhoto(tim_, photo, pia_id_, kBox), Code::kPermissionDenied,
               "not_allowed");
  // Not even of oneself.
  EXPECT_ERROR(service_->TagPhoto(pia_, photo, pia_id_, kBox), Code::kPermissionDenied,
               "not_allowed");
  ASSERT_OK(service_->TagPhoto(olga_, photo, pia_id_, kBox));
  // Back to "people who can see the photo".
  SetSettings(olga_, olga_id_, PhotosPolicy(PhotoTagPolicy::kViewers));
  ASSERT_OK(service_->TagPhoto(tim_, photo, sam_id_, kBox));
}

TEST_F(TagsTest, AUserMayRefuseToBeTagged) {
  const uint64_t photo = OlgaPhoto();
  SetSettings(pia_, pia_id_, MePolicy(MeTagPolicy::kNobody));
  EXPECT_ERROR(service_->TagPhoto(tim_, photo, pia_id_, kBox), Code::kPermissionDenied,
               "user_not_taggable");
  // The photo's owner neither.
  EXPECT_ERROR(service_->TagPhoto(olga_, photo, pia_id_, kBox), Code::kPermissionDenied,
               "user_not_taggable");
  ASSERT_OK_AND_ASSIGN(TagResult self, service_->TagPhoto(pia_, photo, pia_id_, kBox));
  EXPECT_TRUE(self.tag.approved) << "tagging oneself is always allowed";
}

TEST_F(TagsTest, PendingTagsAreSeenByTheirPartiesOnlyUntilApproved) {
  const uint64_t photo = OlgaPhoto();
  SetSettings(pia_, pia_id_, Approval(true));
  const uint64_t before = events_->Watermark();
  ASSERT_OK_AND_ASSIGN(TagResult r, service_->TagPhoto(tim_, photo, pia_id_, kBox));
  EXPECT_FALSE(r.tag.approved);
  auto tagged = TagEventsSince(before);
  ASSERT_EQ(tagged.size(), 1u);
  EXPECT_EQ(boost::json::parse(tagged[0].payload).as_object()["state"].as_string(), "pending");
  EXPECT_EQ(tagged[0].recipient, pia_id_) << "she is asked to approve it";

  for (const Principal& party : {olga_, tim_, pia_, Principal::Admin()}) {
    EXPECT_EQ(TaggedIn(party, photo), std::vector<uint64_t>{pia_id_});
    EXPECT_EQ(TaggedPhotos(party, pia_id_), std::vector<uint64_t>{photo});
  }
  for (const Principal& outsider : {sam_, Principal::Anonymous()}) {
    EXPECT_TRUE(TaggedIn(outsider, photo).empty());
    EXPECT_TRUE(TaggedPhotos(outsider, pia_id_).empty());
    EXPECT_ERROR(service_->ApproveTag(outsider, photo, pia_id_), Code::kNotFound, "tag_not_found");
    EXPECT_ERROR(service_->RemoveTag(outsider, photo, pia_id_), Code::kNotFound, "tag_not_found");
  }
  // Tagging her too tells Sam nothing of the pending tag: the answer (code and message) is
  // the one he would get if she took no tags from him.
  auto hidden = service_->TagPhoto(sam_, photo, pia_id_, kBox);
  SetSettings(pia_, pia_id_, MePolicy(MeTagPolicy::kNobody));
  const uint64_t other_photo = OlgaPhoto();
  auto refused = service_->TagPhoto(sam_, other_photo, pia_id_, kBox);
  SetSettings(pia_, pia_id_, MePolicy(MeTagPolicy::kAnyone));
  ASSERT_FALSE(hidden.ok());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(hidden.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(hidden.status().reason(), "user_not_taggable");
  EXPECT_EQ(hidden.status().message(), refused.status().message());
  // Only she approves it.
  EXPECT_ERROR(service_->ApproveTag(olga_, photo, pia_id_), Code::kPermissionDenied, "not_allowed");
  EXPECT_ERROR(service_->ApproveTag(tim_, photo, pia_id_), Code::kPermissionDenied, "not_allowed");
  const uint64_t mid = events_->Watermark();
  ASSERT_OK_AND_ASSIGN(TagRecord approved, service_->ApproveTag(pia_, photo, pia_id_));
  EXPECT_TRUE(approved.approved);
  auto events = TagEventsSince(mid);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, kTagApproved);
  EXPECT_EQ(events[0].recipient, tim_id_) << "the tagger hears of it";
  EXPECT_EQ(events[0].actor, pia_id_);

  for (const Principal& anyone : {sam_, Principal::Anonymous()}) {
    EXPECT_EQ(TaggedIn(anyone, photo), std::vector<uint64_t>{pia_id_});
    EXPECT_EQ(TaggedPhotos(anyone, pia_id_), std::vector<uint64_t>{photo});
  }
  // Approving again changes nothing.
  ASSERT_OK(service_->ApproveTag(pia_, photo, pia_id_));
  EXPECT_TRUE(TagEventsSince(mid + 1).empty());
  // A viewer of an approved tag is told no, not that it is missing.
  EXPECT_ERROR(service_->ApproveTag(sam_, photo, pia_id_), Code::kPermissionDenied, "not_allowed");
}

TEST_F(TagsTest, ApprovalIsNotAskedOfOneselfOrWhenNotWanted) {
  const uint64_t photo = OlgaPhoto();
  SetSettings(pia_, pia_id_, Approval(true));
  ASSERT_OK_AND_ASSIGN(TagResult self, service_->TagPhoto(pia_, photo, pia_id_, kBox));
  EXPECT_TRUE(self.tag.approved);
  ASSERT_OK_AND_ASSIGN(TagResult other, service_->TagPhoto(tim_, photo, sam_id_, kBox));
  EXPECT_TRUE(other.tag.approved) << "Sam did not ask to approve tags";
}

TEST_F(TagsTest, RepeatingATagIsIdempotentAndAnotherBoxMovesIt) {
  const uint64_t photo = OlgaPhoto();
  ASSERT_OK_AND_ASSIGN(TagResult first, service_->TagPhoto(tim_, photo, pia_id_, kBox));
  const uint64_t after_first = events_->Watermark();
  clock_.Advance(10);
  ASSERT_OK_AND_ASSIGN(TagResult again, service_->TagPhoto(tim_, photo, pia_id_, kBox));
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.tag.created_at, first.tag.created_at);
  EXPECT_EQ(again.tag.updated_at, 0);

  ASSERT_OK_AND_ASSIGN(TagResult moved, service_->TagPhoto(tim_, photo, pia_id_, kOtherBox));
  EXPECT_FALSE(moved.created);
  EXPECT_EQ(moved.tag.box, kOtherBox);
  EXPECT_EQ(moved.tag.created_at, first.tag.created_at);
  EXPECT_EQ(moved.tag.updated_at, kStart + 10);
  // Her tag's other parties may move it too; a viewer who is none of them may not.
  ASSERT_OK(service_->TagPhoto(pia_, photo, pia_id_, kBox));
  ASSERT_OK(service_->TagPhoto(olga_, photo, pia_id_, kOtherBox));
  EXPECT_ERROR(service_->TagPhoto(sam_, photo, pia_id_, kBox), Code::kConflict, "already_tagged");

  EXPECT_TRUE(TagEventsSince(after_first).empty()) << "repeats and moves are not new tags";
  ASSERT_OK_AND_ASSIGN(auto tags, service_->ListPhotoTags(sam_, photo));
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0].box, kOtherBox);
  EXPECT_EQ(tags[0].tagger, tim_id_);
  EXPECT_EQ(Rows(storage::Cf::kTags), 1u);
  EXPECT_EQ(Rows(storage::Cf::kTagged), 1u);
}

TEST_F(TagsTest, APhotoHoldsAtMostTheConfiguredNumberOfTags) {
  ServiceOptions options = options_;
  options.max_tags_per_photo = 3;
  ASSERT_NO_FATAL_FAILURE(RestartService(options));
  service_->SetEventLog(events_.get());
  const uint64_t photo = OlgaPhoto();
  SetSettings(sam_, sam_id_, Approval(true));
  ASSERT_OK(service_->TagPhoto(tim_, photo, olga_id_, kBox));
  ASSERT_OK(service_->TagPhoto(tim_, photo, pia_id_, kBox));
  ASSERT_OK(service_->TagPhoto(tim_, photo, sam_id_, kBox));  // pending counts too
  EXPECT_ERROR(service_->TagPhoto(tim_, photo, tim_id_, kBox), Code::kConflict, "tag_limit");
  EXPECT_ERROR(service_->TagPhoto(olga_, photo, tim_id_, kBox), Code::kConflict, "tag_limit");
  // Repeating or moving an existing tag is not a new one.
  ASSERT_OK(service_->TagPhoto(tim_, photo, pia_id_, kOtherBox));
  // Another photo has its own room.
  ASSERT_OK(service_->TagPhoto(tim_, OlgaPhoto(), tim_id_, kBox));
  // A removal makes room again.
  ASSERT_OK(service_->RemoveTag(pia_, photo, pia_id_));
  ASSERT_OK(service_->TagPhoto(tim_, photo, tim_id_, kBox));
  EXPECT_EQ(Rows(storage::Cf::kTags), 4u);
}

TEST_F(TagsTest, RacingTaggersCannotPassTheLimit) {
  ServiceOptions options = options_;
  options.max_tags_per_photo = 5;
  ASSERT_NO_FATAL_FAILURE(RestartService(options));
  const uint64_t photo = OlgaPhoto();
  std::vector<uint64_t> users;
  for (int i = 0; i < 16; ++i) {
    ASSERT_OK_AND_ASSIGN(AccountView a, CreateUser("racer" + std::to_string(i) + "@example.com"));
    users.push_back(a.id);
  }
  std::atomic<int> created{0}, refused{0};
  std::vector<std::thread> threads;
  for (uint64_t u : users)
    threads.emplace_back([&, u] {
      auto r = service_->TagPhoto(tim_, photo, u, kBox);
      if (r.ok())
        ++created;
      else if (r.status().reason() == "tag_limit")
        ++refused;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 5);
  EXPECT_EQ(refused.load(), 11);
  EXPECT_EQ(Rows(storage::Cf::kTags), 5u);
  EXPECT_EQ(Rows(storage::Cf::kTagged), 5u);
}

TEST_F(TagsTest, TheTaggedUserTheOwnerAndTheTaggerMayRemoveATag) {
  const uint64_t photo = OlgaPhoto();
  struct Case {
    const Principal* remover;
    uint64_t expected_recipient;
  };
  // Tim tags Pia each time; each party removes the tag once.
  for (Case c : {Case{&pia_, 0}, Case{&olga_, pia_id_}, Case{&tim_, pia_id_}}) {
    ASSERT_OK(service_->TagPhoto(tim_, photo, pia_id_, kBox));
    EXPECT_ERROR(service_->RemoveTag(sam_, photo, pia_id_), Code::kPermissionDenied, "not_allowed");
    const uint64_t before = events_->Watermark();
    ASSERT_OK(service_->RemoveTag(*c.remover, photo, pia_id_));
    auto events = TagEventsSince(before);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, kPhotoUntagged);
    EXPECT_EQ(events[0].actor, c.remover->user_id);
    EXPECT_EQ(events[0].recipient, c.expected_recipient);
    EXPECT_TRUE(TaggedIn(olga_, photo).empty());
    EXPECT_TRUE(TaggedPhotos(pia_, pia_id_).empty());
    EXPECT_EQ(Rows(storage::Cf::kTags), 0u);
    EXPECT_EQ(Rows(storage::Cf::kTagged), 0u);
    EXPECT_ERROR(service_->RemoveTag(*c.remover, photo, pia_id_), Code::kNotFound, "tag_not_found");
  }
  // An admin may too.
  ASSERT_OK(service_->TagPhoto(tim_, photo, pia_id_, kBox));
  ASSERT_OK(service_->RemoveTag(Principal::Admin(), photo, pia_id_));
}

TEST_F(TagsTest, SelfRemovalWorksEvenWhenThePhotoIsNoLongerVisible) {
  const uint64_t photo = OlgaPhoto();
  ASSERT_OK(service_->TagPhoto(tim_, photo, pia_id_, kBox));
  ASSERT_OK(service_->TagPhoto(tim_, photo, sam_id_, kBox));
  ASSERT_OK(service_->UpdatePhoto(olga_, photo, {}, {}, Visibility::kPrivate));
  // Neither sees the photo any more ...
  EXPECT_ERROR(service_->ListPhotoTags(pia_, photo), Code::kNotFound, "photo_not_found");
  EXPECT_TRUE(TaggedPhotos(pia_, pia_id_).empty());
  EXPECT_TRUE(TaggedPhotos(sam_, sam_id_).empty());
  // ... yet the tagged user removes herself, and the tagger his own tag.
  ASSERT_OK(service_->RemoveTag(pia_, photo, pia_id_));
  ASSERT_OK(service_->RemoveTag(tim_, photo, sam_id_));
  EXPECT_TRUE(TaggedIn(olga_, photo).empty());
}

TEST_F(TagsTest, TaggedPhotosAreNewestFirstAndPagedWithACursor) {
  std::vector<uint64_t> photos;
  for (int i = 0; i < 7; ++i) {
    photos.push_back(OlgaPhoto());
    ASSERT_OK(service_->TagPhoto(tim_, photos.back(), pia_id_, kBox));
    if (i % 2 == 0) clock_.Advance(5);  // two tags share some seconds
  }
  std::vector<uint64_t> newest_first(photos.rbegin(), photos.rend());
  for (size_t limit : {1u, 2u, 3u, 7u, 100u})
    EXPECT_EQ(TaggedPhotos(sam_, pia_id_, limit), newest_first) << "limit " << limit;

  // A cursor continues exactly where the page ended.
  ASSERT_OK_AND_ASSIGN(TaggedPage first, service_->ListTaggedPhotos(sam_, pia_id_, "", 3));
  ASSERT_EQ(first.photos.size(), 3u);
  ASSERT_FALSE(first.next_cursor.empty());
  ASSERT_OK_AND_ASSIGN(TaggedPage rest,
                       service_->ListTaggedPhotos(sam_, pia_id_, first.next_cursor, 100));
  ASSERT_EQ(rest.photos.size(), 4u);
  EXPECT_EQ(rest.photos[0].photo.photo.id, newest_first[3]);
  EXPECT_TRUE(rest.next_cursor.empty()) << "the last page says so";
  ASSERT_OK_AND_ASSIGN(TaggedPage exact, service_->ListTaggedPhotos(sam_, pia_id_, "", 7));
  EXPECT_TRUE(exact.next_cursor.empty()) << "no cursor to an empty page";
  // A tag made between pages shows on the first page, not in the middle of the walk.
  ASSERT_OK(service_->TagPhoto(tim_, OlgaPhoto(), pia_id_, kBox));
  ASSERT_OK_AND_ASSIGN(TaggedPage resumed,
                       service_->ListTaggedPhotos(sam_, pia_id_, first.next_cursor, 100));
  EXPECT_EQ(resumed.photos.size(), 4u);

  for (std::string bad :
       {std::string("zz"), std::string("00"), std::string(32, 'g'), std::string(34, '0')}) {
    SCOPED_TRACE(bad);
    EXPECT_ERROR(service_->ListTaggedPhotos(sam_, pia_id_, bad, 10), Code::kInvalidArgument,
                 "invalid_cursor");
  }
  ASSERT_OK_AND_ASSIGN(TaggedPage none, service_->ListTaggedPhotos(sam_, pia_id_, "", 0));
  EXPECT_TRUE(none.photos.empty());
  ASSERT_OK_AND_ASSIGN(TaggedPage stranger, service_->ListTaggedPhotos(sam_, 424242, "", 10));
  EXPECT_TRUE(stranger.photos.empty()) << "an unknown user simply has no tags";
  EXPECT_TRUE(stranger.next_cursor.empty());
}

TEST_F(TagsTest, TaggedPhotosShowOnlyWhatTheViewerMaySee) {
  const uint64_t open = OlgaPhoto();  // her first: her active avatar
  const uint64_t hidden = OlgaPhoto(Visibility::kPrivate);
  ASSERT_OK(service_->TagPhoto(olga_, hidden, pia_id_, kBox));
  clock_.Advance(1);
  ASSERT_OK(service_->TagPhoto(tim_, open, pia_id_, kBox));
  EXPECT_EQ(TaggedPhotos(olga_, pia_id_), (std::vector<uint64_t>{open, hidden}));
  EXPECT_EQ(TaggedPhotos(Principal::Admin(), pia_id_), (std::vector<uint64_t>{open, hidden}));
  for (const Principal& other : {tim_, pia_, sam_, Principal::Anonymous()})
    EXPECT_EQ(TaggedPhotos(other, pia_id_), std::vector<uint64_t>{open});
  // The page carries the photo as a PhotoView: the owner's active photo is marked.
  ASSERT_OK_AND_ASSIGN(TaggedPage page, service_->ListTaggedPhotos(olga_, pia_id_, "", 10));
  ASSERT_EQ(page.photos.size(), 2u);
  EXPECT_EQ(page.photos[0].photo.photo.owner, olga_id_);
  EXPECT_TRUE(page.photos[0].photo.active);
  EXPECT_FALSE(page.photos[1].photo.active);
  EXPECT_EQ(page.photos[1].photo.photo.visibility, Visibility::kPrivate);
}

TEST_F(TagsTest, APageExaminesABoundedNumberOfRowsAndStillHasACursor) {
  // 1005 tags of Pia in private photos Sam cannot see, then one he can.
  const uint64_t open = OlgaPhoto();
  ASSERT_OK(service_->TagPhoto(tim_, open, pia_id_, kBox));
  clock_.Advance(1);
  storage::WriteBatch batch;
  for (uint64_t i = 0; i < 1005; ++i) {
    TagRecord t{open + 100 + i, pia_id_, olga_id_, kBox, kStart + 1, true, 0};
    batch.Put(storage::Cf::kTags, TagKey(t.photo_id, t.user_id), t.Encode());
    batch.Put(storage::Cf::kTagged, TaggedKey(t), {});
  }
  ASSERT_OK(db_->Write(batch));  // tags of photos that do not exist: skipped like hidden ones
  ASSERT_OK_AND_ASSIGN(TaggedPage first, service_->ListTaggedPhotos(sam_, pia_id_, "", 10));
  EXPECT_TRUE(first.photos.empty());
  ASSERT_FALSE(first.next_cursor.empty()) << "more rows to look at";
  ASSERT_OK_AND_ASSIGN(TaggedPage second,
                       service_->ListTaggedPhotos(sam_, pia_id_, first.next_cursor, 10));
  ASSERT_EQ(second.photos.size(), 1u);
  EXPECT_EQ(second.photos[0].photo.photo.id, open);
  EXPECT_TRUE(second.next_cursor.empty());
}

TEST_F(TagsTest, DeletingAPhotoDeletesItsTagsInTheSameWrite) {
  const uint64_t photo = OlgaPhoto();
  const uint64_t kept = OlgaPhoto();
  SetSettings(sam_, sam_id_, Approval(true));
  ASSERT_OK(service_->TagPhoto(tim_, photo, pia_id_, kBox));
  ASSERT_OK(service_->TagPhoto(tim_, photo, sam_id_, kBox));
  ASSERT_OK(service_->TagPhoto(olga_, photo, olga_id_, kBox));
  ASSERT_OK(service_->TagPhoto(tim_, kept, pia_id_, kBox));
  const uint64_t before = events_->Watermark();
  ASSERT_OK(service_->DeletePhoto(olga_, photo));
  EXPECT_EQ(Rows(storage::Cf::kTags), 1u);
  EXPECT_EQ(Rows(storage::Cf::kTagged), 1u);
  EXPECT_TRUE(TaggedPhotos(olga_, olga_id_).empty());
  EXPECT_EQ(TaggedPhotos(pia_, pia_id_), std::vector<uint64_t>{kept});
  EXPECT_TRUE(TaggedPhotos(sam_, sam_id_).empty());
  auto events = TagEventsSince(before);
  ASSERT_EQ(events.size(), 3u);
  std::vector<uint64_t> recipients;
  for (const auto& e : events) {
    EXPECT_EQ(e.type, kPhotoUntagged);
    EXPECT_EQ(e.subject, std::to_string(photo));
    EXPECT_EQ(boost::json::parse(e.payload).as_object()["reason"].as_string(), "photo_deleted");
    recipients.push_back(e.recipient);
  }
  std::sort(recipients.begin(), recipients.end());
  // Olga deleted the photo she was tagged in herself: nobody to tell of her own tag.
  EXPECT_EQ(recipients, (std::vector<uint64_t>{0, pia_id_, sam_id_}));
  // The photo's id can no longer be tagged in.
  EXPECT_ERROR(service_->TagPhoto(tim_, photo, pia_id_, kBox), Code::kNotFound, "photo_not_found");
}

TEST_F(TagsTest, VisibilityIsTheOwnersAndPrivateMeansNotFound) {
  const uint64_t photo = OlgaPhoto();
  ASSERT_OK_AND_ASSIGN(PhotoView seen, service_->GetPhoto(sam_, photo));
  EXPECT_EQ(seen.photo.visibility, Visibility::kPublic);
  ASSERT_OK_AND_ASSIGN(PhotoSource source, service_->OpenPhoto(Principal::Anonymous(), photo));
  EXPECT_EQ(source.blob.owner, olga_id_);

  EXPECT_ERROR(service_->UpdatePhoto(sam_, photo, {}, {}, Visibility::kPrivate), Code::kNotFound,
               "photo_not_found");
  const uint64_t before = events_->Watermark();
  ASSERT_OK_AND_ASSIGN(PhotoView hidden,
                       service_->UpdatePhoto(olga_, photo, {}, {}, Visibility::kPrivate));
  EXPECT_EQ(hidden.photo.visibility, Visibility::kPrivate);
  EXPECT_EQ(events_->Watermark(), before) << "visibility is no avatar change";
  for (const Principal& other : {sam_, tim_, Principal::Anonymous()}) {
    EXPECT_ERROR(service_->GetPhoto(other, photo), Code::kNotFound, "photo_not_found");
    EXPECT_ERROR(service_->OpenPhoto(other, photo), Code::kNotFound, "photo_not_found");
  }
  for (const Principal& allowed : {olga_, Principal::Admin()})
    EXPECT_OK(service_->GetPhoto(allowed, photo));
  // The avatar is public by nature: a private active photo is still served for the hash.
  ASSERT_OK_AND_ASSIGN(AccountView olga, service_->GetAccount(olga_, olga_id_));
  ASSERT_EQ(olga.active_photo, photo);
  ASSERT_OK_AND_ASSIGN(AvatarRef ref, service_->ResolveAvatar(HashesOf("olga@example.com").sha256));
  EXPECT_EQ(ref.photo_id, photo);
  // And back; the change survives a restart.
  ASSERT_OK(service_->UpdatePhoto(olga_, photo, {}, {}, Visibility::kPublic));
  ASSERT_NO_FATAL_FAILURE(RestartService(options_));
  ASSERT_OK_AND_ASSIGN(seen, service_->GetPhoto(sam_, photo));
  EXPECT_EQ(seen.photo.visibility, Visibility::kPublic);
}

TEST_F(TagsTest, SettingsAreTheAccountOwnersAndSurviveARestart) {
  ASSERT_OK_AND_ASSIGN(TagSettings initial, service_->GetTagSettings(pia_, pia_id_));
  EXPECT_EQ(initial.photos, PhotoTagPolicy::kViewers);
  EXPECT_EQ(initial.me, MeTagPolicy::kAnyone);
  EXPECT_FALSE(initial.approval);
  EXPECT_ERROR(service_->GetTagSettings(sam_, pia_id_), Code::kPermissionDenied, "not_allowed");
  EXPECT_ERROR(service_->SetTagSettings(sam_, pia_id_, Approval(true)), Code::kPermissionDenied,
               "not_allowed");
  EXPECT_ERROR(service_->GetTagSettings(Principal::Anonymous(), pia_id_), Code::kPermissionDenied,
               "not_allowed");
  ASSERT_OK_AND_ASSIGN(TagSettings changed,
                       service_->SetTagSettings(pia_, pia_id_, MePolicy(MeTagPolicy::kNobody)));
  EXPECT_EQ(changed.me, MeTagPolicy::kNobody);
  EXPECT_EQ(changed.photos, PhotoTagPolicy::kViewers) << "unnamed settings are kept";
  ASSERT_OK(service_->SetTagSettings(Principal::Admin(), pia_id_, Approval(true)));
  ASSERT_NO_FATAL_FAILURE(RestartService(options_));
  ASSERT_OK_AND_ASSIGN(TagSettings after, service_->GetTagSettings(pia_, pia_id_));
  EXPECT_EQ(after.me, MeTagPolicy::kNobody);
  EXPECT_TRUE(after.approval);
  // The other account fields are untouched.
  ASSERT_OK_AND_ASSIGN(AccountView pia, service_->GetAccount(pia_, pia_id_));
  EXPECT_EQ(pia.email, "pia@example.com");
}

}  // namespace
}  // namespace glint::core
