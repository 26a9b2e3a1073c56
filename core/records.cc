#include "core/records.h"

#include <bit>
#include <cassert>

#include "storage/record.h"

namespace glint::core {
namespace {

using storage::RecordReader;
using storage::RecordWriter;

// Reads every field with `on_field`; the caller's switch ignores numbers it does not know,
// which is what keeps old readers working on new records.
template <class F>
Status ReadFields(std::string_view data, std::string_view what, F&& on_field) {
  RecordReader r(data);
  while (r.Next()) on_field(r);
  if (!r.status().ok())
    return Corruption(std::string(what) + " record is malformed: " + r.status().message());
  return Status::Ok();
}

}  // namespace

std::string User::Encode() const {
  return RecordWriter()
      .PutU64(1, id)
      .PutBytes(2, email)
      .PutBytes(3, password_hash)
      .PutU64(4, active_photo)
      .PutU64(5, static_cast<uint64_t>(created_at))
      .PutBytes(6, md5)
      .PutBytes(7, sha256)
      .PutU64(8, static_cast<uint64_t>(avatar_updated_at))
      .PutBytes(9, profile.display_name)
      .PutBytes(10, profile.location)
      .PutBytes(11, profile.description)
      .PutBytes(12, profile.pronouns)
      .PutBytes(13, profile.job_title)
      .PutBytes(14, profile.company)
      .PutBytes(15, profile.url)
      .PutU64(16, static_cast<uint64_t>(tag_policy_photos))
      .PutU64(17, static_cast<uint64_t>(tag_policy_me))
      .PutU64(18, tag_approval ? 1 : 0)
      .Finish();
}

Result<User> User::Decode(std::string_view data) {
  User u;
  GLINT_RETURN_IF_ERROR(ReadFields(data, "user", [&](const RecordReader& r) {
    switch (r.field()) {
      case 1:
        u.id = r.u64();
        break;
      case 2:
        u.email = r.bytes();
        break;
      case 3:
        u.password_hash = r.bytes();
        break;
      case 4:
        u.active_photo = r.u64();
        break;
      case 5:
        u.created_at = static_cast<int64_t>(r.u64());
        break;
      case 6:
        u.md5 = r.bytes();
        break;
      case 7:
        u.sha256 = r.bytes();
        break;
      case 8:
        u.avatar_updated_at = static_cast<int64_t>(r.u64());
        break;
      case 9:
        u.profile.display_name = r.bytes();
        break;
      case 10:
        u.profile.location = r.bytes();
        break;
      case 11:
        u.profile.description = r.bytes();
        break;
      case 12:
        u.profile.pronouns = r.bytes();
        break;
      case 13:
        u.profile.job_title = r.bytes();
        break;
      case 14:
        u.profile.company = r.bytes();
        break;
      case 15:
        u.profile.url = r.bytes();
        break;
      // A value this code does not know (a policy added later) reads as the strictest one.
      case 16:
        u.tag_policy_photos = r.u64() == 0 ? PhotoTagPolicy::kViewers : PhotoTagPolicy::kOnlyMe;
        break;
      case 17:
        u.tag_policy_me = r.u64() == 0 ? MeTagPolicy::kAnyone : MeTagPolicy::kNobody;
        break;
      case 18:
        u.tag_approval = r.u64() != 0;
        break;
      default:
        break;
    }
  }));
  return u;
}

std::string Photo::Encode() const {
  return RecordWriter()
      .PutU64(1, id)
      .PutU64(2, owner)
      .PutU64(3, blob_id)
      .PutU64(4, width)
      .PutU64(5, height)
      .PutU64(6, static_cast<uint64_t>(format))
      .PutU64(7, bytes)
      .PutU64(8, static_cast<uint64_t>(created_at))
      .PutBytes(9, rating)
      .PutU64(10, checksum)
      .PutBytes(11, camera.make)
      .PutBytes(12, camera.model)
      .PutBytes(13, camera.taken_at)
      .PutBytes(14, blurhash)
      .PutBytes(15, alt_text)
      .PutU64(16, static_cast<uint64_t>(updated_at))
      .PutU64(17, static_cast<uint64_t>(visibility))
      .Finish();
}

Result<Photo> Photo::Decode(std::string_view data) {
  Photo p;
  p.visibility = Visibility::kPrivate;  // what a record without field 17 was
  GLINT_RETURN_IF_ERROR(ReadFields(data, "photo", [&](const RecordReader& r) {
    switch (r.field()) {
      case 1:
        p.id = r.u64();
        break;
      case 2:
        p.owner = r.u64();
        break;
      case 3:
        p.blob_id = r.u64();
        break;
      case 4:
        p.width = static_cast<uint32_t>(r.u64());
        break;
      case 5:
        p.height = static_cast<uint32_t>(r.u64());
        break;
      case 6:
        p.format = static_cast<codec::Format>(r.u64());
        break;
      case 7:
        p.bytes = r.u64();
        break;
      case 8:
        p.created_at = static_cast<int64_t>(r.u64());
        break;
      case 9:
        p.rating = r.bytes();
        break;
      case 10:
        p.checksum = r.u64();
        break;
      case 11:
        p.camera.make = r.bytes();
        break;
      case 12:
        p.camera.model = r.bytes();
        break;
      case 13:
        p.camera.taken_at = r.bytes();
        break;
      case 14:
        p.blurhash = r.bytes();
        break;
      case 15:
        p.alt_text = r.bytes();
        break;
      case 16:
        p.updated_at = static_cast<int64_t>(r.u64());
        break;
      case 17:  // an unknown value reads as the stricter one
        p.visibility = r.u64() == 1 ? Visibility::kPublic : Visibility::kPrivate;
        break;
      default:
        break;
    }
  }));
  return p;
}

std::string ReceivedUpload::Encode() const {
  return RecordWriter()
      .PutU64(1, user_id)
      .PutU64(2, blob_id)
      .PutU64(3, width)
      .PutU64(4, height)
      .PutU64(5, static_cast<uint64_t>(format))
      .PutU64(6, bytes)
      .PutU64(7, static_cast<uint64_t>(received_at))
      .PutU64(8, checksum)
      .PutU64(9, static_cast<uint64_t>(expires))
      .PutU64(10, photo_id)
      .PutBytes(11, camera.make)
      .PutBytes(12, camera.model)
      .PutBytes(13, camera.taken_at)
      .Finish();
}

Result<ReceivedUpload> ReceivedUpload::Decode(std::string_view data) {
  ReceivedUpload u;
  GLINT_RETURN_IF_ERROR(ReadFields(data, "upload", [&](const RecordReader& r) {
    switch (r.field()) {
      case 1:
        u.user_id = r.u64();
        break;
      case 2:
        u.blob_id = r.u64();
        break;
      case 3:
        u.width = static_cast<uint32_t>(r.u64());
        break;
      case 4:
        u.height = static_cast<uint32_t>(r.u64());
        break;
      case 5:
        u.format = static_cast<codec::Format>(r.u64());
        break;
      case 6:
        u.bytes = r.u64();
        break;
      case 7:
        u.received_at = static_cast<int64_t>(r.u64());
        break;
      case 8:
        u.checksum = r.u64();
        break;
      case 9:
        u.expires = static_cast<int64_t>(r.u64());
        break;
      case 10:
        u.photo_id = r.u64();
        break;
      case 11:
        u.camera.make = r.bytes();
        break;
      case 12:
        u.camera.model = r.bytes();
        break;
      case 13:
        u.camera.taken_at = r.bytes();
        break;
      default:
        break;
    }
  }));
  return u;
}

std::string EmailRecord::Encode() const {
  return RecordWriter()
      .PutU64(1, user_id)
      .PutBytes(2, address)
      .PutBytes(3, md5)
      .PutU64(4, static_cast<uint64_t>(verified_at))
      .PutU64(5, photo_id)
      .PutU64(6, static_cast<uint64_t>(added_at))
      .PutU64(7, static_cast<uint64_t>(updated_at))
      .PutBytes(8, token_sha256)
      .PutU64(9, static_cast<uint64_t>(token_expires))
      .Finish();
}

Result<EmailRecord> EmailRecord::Decode(std::string_view data) {
  EmailRecord e;
  GLINT_RETURN_IF_ERROR(ReadFields(data, "email", [&](const RecordReader& r) {
    switch (r.field()) {
      case 1:
        e.user_id = r.u64();
        break;
      case 2:
        e.address = r.bytes();
        break;
      case 3:
        e.md5 = r.bytes();
        break;
      case 4:
        e.verified_at = static_cast<int64_t>(r.u64());
        break;
      case 5:
        e.photo_id = r.u64();
        break;
      case 6:
        e.added_at = static_cast<int64_t>(r.u64());
        break;
      case 7:
        e.updated_at = static_cast<int64_t>(r.u64());
        break;
      case 8:
        e.token_sha256 = r.bytes();
        break;
      case 9:
        e.token_expires = static_cast<int64_t>(r.u64());
        break;
      default:
        break;
    }
  }));
  return e;
}

std::string EmailTokenRecord::Encode() const {
  return RecordWriter()
      .PutBytes(1, email_sha256)
      .PutU64(2, static_cast<uint64_t>(expires))
      .Finish();
}

Result<EmailTokenRecord> EmailTokenRecord::Decode(std::string_view data) {
  EmailTokenRecord t;
  GLINT_RETURN_IF_ERROR(ReadFields(data, "email token", [&](const RecordReader& r) {
    if (r.field() == 1) t.email_sha256 = r.bytes();
    if (r.field() == 2) t.expires = static_cast<int64_t>(r.u64());
  }));
  return t;
}

std::string EventRecord::Encode() const {
  return RecordWriter()
      .PutU64(1, seq)
      .PutBytes(2, type)
      .PutBytes(3, subject)
      .PutU64(4, actor)
      .PutU64(5, static_cast<uint64_t>(time))
      .PutBytes(6, payload)
      .PutU64(7, recipient)
      .Finish();
}

Result<EventRecord> EventRecord::Decode(std::string_view data) {
  EventRecord e;
  GLINT_RETURN_IF_ERROR(ReadFields(data, "event", [&](const RecordReader& r) {
    switch (r.field()) {
      case 1:
        e.seq = r.u64();
        break;
      case 2:
        e.type = r.bytes();
        break;
      case 3:
        e.subject = r.bytes();
        break;
      case 4:
        e.actor = r.u64();
        break;
      case 5:
        e.time = static_cast<int64_t>(r.u64());
        break;
      case 6:
        e.payload = r.bytes();
        break;
      case 7:
        e.recipient = r.u64();
        break;
      default:
        break;
    }
  }));
  return e;
}

std::string TagRecord::Encode() const {
  return RecordWriter()
      .PutU64(1, photo_id)
      .PutU64(2, user_id)
      .PutU64(3, tagger)
      .PutU64(4, std::bit_cast<uint64_t>(box.x))
      .PutU64(5, std::bit_cast<uint64_t>(box.y))
      .PutU64(6, std::bit_cast<uint64_t>(box.w))
      .PutU64(7, std::bit_cast<uint64_t>(box.h))
      .PutU64(8, static_cast<uint64_t>(created_at))
      .PutU64(9, approved ? 1 : 0)
      .PutU64(10, static_cast<uint64_t>(updated_at))
      .Finish();
}

Result<TagRecord> TagRecord::Decode(std::string_view data) {
  TagRecord t;
  GLINT_RETURN_IF_ERROR(ReadFields(data, "tag", [&](const RecordReader& r) {
    switch (r.field()) {
      case 1:
        t.photo_id = r.u64();
        break;
      case 2:
        t.user_id = r.u64();
        break;
      case 3:
        t.tagger = r.u64();
        break;
      case 4:
        t.box.x = std::bit_cast<double>(r.u64());
        break;
      case 5:
        t.box.y = std::bit_cast<double>(r.u64());
        break;
      case 6:
        t.box.w = std::bit_cast<double>(r.u64());
        break;
      case 7:
        t.box.h = std::bit_cast<double>(r.u64());
        break;
      case 8:
        t.created_at = static_cast<int64_t>(r.u64());
        break;
      case 9:
        t.approved = r.u64() != 0;
        break;
      case 10:
        t.updated_at = static_cast<int64_t>(r.u64());
        break;
      default:
        break;
    }
  }));
  return t;
}

std::string TagKey(uint64_t photo_id, uint64_t user_id) {
  return storage::U64PairKey(photo_id, user_id);
}

std::string TaggedKey(const TagRecord& tag) {
  std::string key = storage::U64Key(tag.user_id);
  storage::AppendU64BE(key, ~static_cast<uint64_t>(tag.created_at));
  storage::AppendU64BE(key, ~tag.photo_id);
  return key;
}

std::string BadgeRecord::Encode() const {
  return RecordWriter().PutU64(1, count).PutU64(2, static_cast<uint64_t>(acked_at)).Finish();
}

Result<BadgeRecord> BadgeRecord::Decode(std::string_view data) {
  BadgeRecord b;
  GLINT_RETURN_IF_ERROR(ReadFields(data, "badge", [&](const RecordReader& r) {
    if (r.is_bytes()) return;
    if (r.field() == 1) b.count = r.u64();
    if (r.field() == 2) b.acked_at = static_cast<int64_t>(r.u64());
  }));
  return b;
}

std::string SessionRecord::Encode() const {
  return RecordWriter()
      .PutU64(1, user_id)
      .PutU64(2, static_cast<uint64_t>(expires))
      .PutU64(3, static_cast<uint64_t>(created_at))
      .Finish();
}

Result<SessionRecord> SessionRecord::Decode(std::string_view data) {
  SessionRecord s;
  GLINT_RETURN_IF_ERROR(ReadFields(data, "session", [&](const RecordReader& r) {
    switch (r.field()) {
      case 1:
        s.user_id = r.u64();
        break;
      case 2:
        s.expires = static_cast<int64_t>(r.u64());
        break;
      case 3:
        s.created_at = static_cast<int64_t>(r.u64());
        break;
      default:
        break;
    }
  }));
  return s;
}

std::string VariantRecord::Encode() const {
  assert(blob_id != 0 && !legacy);
  return RecordWriter().PutU64(6, blob_id).Finish();
}

Result<VariantRecord> VariantRecord::Decode(std::string_view data) {
  VariantRecord v;
  GLINT_RETURN_IF_ERROR(ReadFields(data, "variant", [&](const RecordReader& r) {
    if (r.field() == 6 && !r.is_bytes()) v.blob_id = r.u64();
  }));
  if (v.blob_id != 0) return v;
  // No blob id: a row from before variant records, the BlobLocation itself.
  auto legacy = storage::BlobLocation::Decode(data);
  if (!legacy.ok())
    return Corruption("variant record has neither a blob id nor a location: " +
                      legacy.status().message());
  v.legacy = *legacy;
  return v;
}

}  // namespace glint::core
