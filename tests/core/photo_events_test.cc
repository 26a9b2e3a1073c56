// PHOTO_REGISTERED and PHOTO_DELETED (core/service.cc): written in the batch of the change
// they describe, once per change, and never for a change that was refused.
#include "core/service.h"

#include <boost/json.hpp>

#include "core/events.h"
#include "core/purger.h"
#include "tests/core/service_fixture.h"

namespace glint::core {
namespace {

class PhotoEventsTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    auto events = EventLog::Open(*db_, clock_);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    events_ = std::move(*events);
    service_->SetEventLog(events_.get());
    ASSERT_OK_AND_ASSIGN(AccountView a, CreateUser("ann@example.com"));
    ann_id_ = a.id;
    ASSERT_OK_AND_ASSIGN(ann_, LoginAs("ann@example.com"));
    ASSERT_OK_AND_ASSIGN(AccountView b, CreateUser("bob@example.com"));
    (void)b;
    ASSERT_OK_AND_ASSIGN(bob_, LoginAs("bob@example.com"));
  }

  // The events of `type` written after `after`.
  std::vector<EventRecord> EventsSince(uint64_t after, std::string_view type) {
    auto events = events_->Read(after, 10000);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    std::vector<EventRecord> out;
    if (events.ok())
      for (auto& e : *events)
        if (e.type == type) out.push_back(std::move(e));
    return out;
  }

  static boost::json::object Payload(const EventRecord& e) {
    boost::json::value v = boost::json::parse(e.payload);
    EXPECT_TRUE(v.is_object()) << e.payload;
    return v.is_object() ? v.as_object() : boost::json::object{};
  }

  void ExpectDescribes(const EventRecord& e, const PhotoView& p, uint64_t actor) {
    EXPECT_EQ(e.subject, std::to_string(p.photo.id));
    EXPECT_EQ(e.actor, actor);
    EXPECT_EQ(e.recipient, 0u);
    EXPECT_EQ(e.time, kStart);
    boost::json::object o = Payload(e);
    EXPECT_EQ(o["photo_id"], boost::json::value(p.photo.id));
    EXPECT_EQ(o["owner_id"], boost::json::value(ann_id_));
    EXPECT_EQ(o["width"], boost::json::value(p.photo.width));
    EXPECT_EQ(o["height"], boost::json::value(p.photo.height));
    EXPECT_EQ(o["format"], boost::json::value("jpeg"));
    EXPECT_EQ(o["bytes"], boost::json::value(p.photo.bytes));
    EXPECT_EQ(o["visibility"], boost::json::value("public"));
  }

  std::unique_ptr<EventLog> events_;
  Principal ann_, bob_;
  uint64_t ann_id_ = 0;
};

TEST_F(PhotoEventsTest, RegisteringAnUploadWritesOnePhotoRegistered) {
  const uint64_t before = events_->Watermark();
  ASSERT_OK_AND_ASSIGN(PhotoView p, Upload(ann_, MakeJpeg(64, 48)));
  auto registered = EventsSince(before, kPhotoRegistered);
  ASSERT_EQ(registered.size(), 1u);
  ExpectDescribes(registered[0], p, ann_id_);
  EXPECT_EQ(p.photo.width, 64u);
  EXPECT_EQ(p.photo.height, 48u);
  // The first photo is also the avatar: both events come from the one batch, in order.
  auto all = events_->Read(before, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].type, kPhotoRegistered);
  EXPECT_EQ((*all)[1].type, kAvatarChanged);
  EXPECT_EQ((*all)[1].seq, (*all)[0].seq + 1);
}

TEST_F(PhotoEventsTest, DirectUploadWritesOnePhotoRegistered) {
  const uint64_t before = events_->Watermark();
  ASSERT_OK_AND_ASSIGN(PhotoView first, service_->UploadPhoto(ann_, Bytes(MakeJpeg(30, 20))));
  ASSERT_OK_AND_ASSIGN(PhotoView second, service_->UploadPhoto(ann_, Bytes(MakeJpeg(20, 30))));
  auto registered = EventsSince(before, kPhotoRegistered);
  ASSERT_EQ(registered.size(), 2u);
  ExpectDescribes(registered[0], first, ann_id_);
  ExpectDescribes(registered[1], second, ann_id_);
  // The second photo changed no avatar: its registration is its only event.
  EXPECT_EQ(events_->Watermark(), registered[1].seq);
}

TEST_F(PhotoEventsTest, RefusedRegistrationsWriteNoEvent) {
  ASSERT_OK_AND_ASSIGN(UploadTicket ticket, service_->PrepareUpload(ann_, {}, {}));
  ASSERT_OK_AND_ASSIGN(
      UploadReceipt receipt,
      service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(MakeJpeg(16, 16))));
  const uint64_t before = events_->Watermark();
  EXPECT_ERROR(service_->RegisterUpload(bob_, receipt.upload_id), Code::kPermissionDenied,
               "not_your_upload");
  EXPECT_ERROR(service_->RegisterUpload(ann_, "00112233445566778899aabbccddeeff"), Code::kNotFound,
               "upload_not_found");
  EXPECT_ERROR(service_->UploadPhoto(ann_, Bytes(std::string("not an image at all"))),
               Code::kUnsupportedMedia, "not_an_image");
  EXPECT_EQ(events_->Watermark(), before);

  ASSERT_OK(service_->RegisterUpload(ann_, receipt.upload_id));
  const uint64_t registered = events_->Watermark();
  EXPECT_ERROR(service_->RegisterUpload(ann_, receipt.upload_id), Code::kConflict,
               "upload_already_registered");
  EXPECT_EQ(events_->Watermark(), registered) << "a repeated registration is no new photo";
  EXPECT_EQ(EventsSince(before, kPhotoRegistered).size(), 1u);
}

TEST_F(PhotoEventsTest, DeletingWritesOnePhotoDeleted) {
  ASSERT_OK_AND_ASSIGN(PhotoView keep, service_->UploadPhoto(ann_, Bytes(MakeJpeg(30, 20))));
  ASSERT_OK_AND_ASSIGN(PhotoView p, service_->UploadPhoto(ann_, Bytes(MakeJpeg(40, 30))));
  const uint64_t before = events_->Watermark();
  ASSERT_OK(service_->DeletePhoto(ann_, p.photo.id));
  auto deleted = EventsSince(before, kPhotoDeleted);
  ASSERT_EQ(deleted.size(), 1u);
  ExpectDescribes(deleted[0], p, ann_id_);
  EXPECT_EQ(events_->Watermark(), deleted[0].seq) << "not the avatar: no other event";
  EXPECT_TRUE(EventsSince(before, kPhotoRegistered).empty());

  // An admin's delete of the active photo: actor 0, with the avatar change in the same batch.
  const uint64_t mid = events_->Watermark();
  ASSERT_OK(service_->DeletePhoto(Principal::Admin(), keep.photo.id));
  auto all = events_->Read(mid, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].type, kPhotoDeleted);
  ExpectDescribes((*all)[0], keep, 0);
  EXPECT_EQ((*all)[1].type, kAvatarChanged);
}

TEST_F(PhotoEventsTest, RefusedDeletesWriteNoEvent) {
  ASSERT_OK_AND_ASSIGN(PhotoView p, service_->UploadPhoto(ann_, Bytes(MakeJpeg(30, 20))));
  const uint64_t before = events_->Watermark();
  EXPECT_ERROR(service_->DeletePhoto(bob_, p.photo.id), Code::kNotFound, "photo_not_found");
  EXPECT_ERROR(service_->DeletePhoto(ann_, p.photo.id + 100), Code::kNotFound, "photo_not_found");
  EXPECT_EQ(events_->Watermark(), before);
  ASSERT_OK(service_->DeletePhoto(ann_, p.photo.id));
  const uint64_t deleted = events_->Watermark();
  EXPECT_ERROR(service_->DeletePhoto(ann_, p.photo.id), Code::kNotFound, "photo_not_found");
  EXPECT_EQ(events_->Watermark(), deleted) << "a second delete deletes nothing";
  EXPECT_EQ(EventsSince(before, kPhotoDeleted).size(), 1u);
}

TEST_F(PhotoEventsTest, ThePurgerIgnoresPhotoEvents) {
  ASSERT_OK_AND_ASSIGN(PhotoView keep, service_->UploadPhoto(ann_, Bytes(MakeJpeg(30, 20))));
  ASSERT_OK_AND_ASSIGN(PhotoView p, service_->UploadPhoto(ann_, Bytes(MakeJpeg(40, 30))));
  (void)keep;
  const uint64_t before = events_->Watermark();
  ASSERT_OK(service_->DeletePhoto(ann_, p.photo.id));
  auto events = events_->Read(before, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  PurgeBatch batch = PurgeBatchFor(*events);
  EXPECT_TRUE(batch.keys.empty()) << "no avatar changed: nothing to purge";
  EXPECT_TRUE(batch.paths.empty());
}

}  // namespace
}  // namespace glint::core
