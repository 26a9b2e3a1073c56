// Service: tags of people in photos, and the accounts' rules for them. The rest of Service
// is in service.cc and service_emails.cc.
#include <cmath>
#include <limits>

#include <boost/json.hpp>

#include "base/hex.h"
#include "base/log.h"
#include "core/service.h"
#include "storage/record.h"

namespace glint::core {
namespace {

// The refusal of a tag of `user_id` by someone the user takes no tags from (tag settings are
// private, so it does not say why).
Status UserNotTaggable(uint64_t user_id) {
  return PermissionDenied(
      "user " + std::to_string(user_id) + " cannot be tagged in this photo by you",
      "user_not_taggable");
}

using storage::Cf;
using storage::U64Key;

// Rows of the tagged CF one ListTaggedPhotos call examines at most, visible or not: a page
// costs a bounded amount of work however many of a user's tags the viewer may not see.
constexpr size_t kMaxTaggedRowsPerPage = 1000;
// The part of a tagged key after the user id: what a cursor names.
constexpr size_t kTaggedSuffix = 16;

Status PhotoNotFound(uint64_t photo_id) {
  return NotFound("no photo " + std::to_string(photo_id), "photo_not_found");
}

Status TagNotFound(uint64_t photo_id, uint64_t user_id) {
  return NotFound(
      "photo " + std::to_string(photo_id) + " has no tag of user " + std::to_string(user_id),
      "tag_not_found");
}

// The photo's owner, the tagger, the tagged user, or an admin.
bool IsParty(const Principal& actor, const Photo& photo, const TagRecord& tag) {
  if (actor.admin) return true;
  const uint64_t u = actor.user_id;
  return u != 0 && (u == photo.owner || u == tag.tagger || u == tag.user_id);
}

bool CanSeeTag(const Principal& actor, const Photo& photo, const TagRecord& tag) {
  return IsParty(actor, photo, tag) || (tag.approved && CanSeePhoto(actor, photo));
}

boost::json::object BoxJson(const TagBox& b) {
  return boost::json::object{{"x", b.x}, {"y", b.y}, {"w", b.w}, {"h", b.h}};
}

// A tag event: subject is the photo id; the payload names everything a notifier shows.
EventRecord TagEvent(std::string_view type, const Photo& photo, const TagRecord& tag,
                     uint64_t actor, uint64_t recipient, std::string_view reason = {}) {
  EventRecord e;
  e.type = type;
  e.subject = std::to_string(photo.id);
  e.actor = actor;
  e.recipient = recipient;
  boost::json::object payload{{"photo_id", photo.id},
                              {"owner_id", photo.owner},
                              {"user_id", tag.user_id},
                              {"tagger_id", tag.tagger},
                              {"state", tag.approved ? "approved" : "pending"},
                              {"box", BoxJson(tag.box)}};
  if (!reason.empty()) payload["reason"] = reason;
  e.payload = boost::json::serialize(payload);
  return e;
}

void PutTag(storage::WriteBatch& batch, const TagRecord& tag) {
  batch.Put(Cf::kTags, TagKey(tag.photo_id, tag.user_id), tag.Encode());
  batch.Put(Cf::kTagged, TaggedKey(tag), {});
}

}  // namespace

Status CheckTagBox(const TagBox& b) {
  for (double v : {b.x, b.y, b.w, b.h})
    if (!std::isfinite(v))
      return InvalidArgument("box values must be finite numbers", "box_invalid");
  if (b.w <= 0 || b.h <= 0)
    return InvalidArgument("the box must have a positive width and height", "box_invalid");
  if (b.x < 0 || b.y < 0 || b.x + b.w > 1 || b.y + b.h > 1)
    return InvalidArgument(
        "the box must lie inside the image: x, y >= 0 and x + w, y + h <= 1 (fractions of "
        "the upright image)",
        "box_invalid");
  return Status::Ok();
}

std::string_view VisibilityName(Visibility v) {
  return v == Visibility::kPublic ? "public" : "private";
}

Result<TagSettings> Service::GetTagSettings(const Principal& actor, uint64_t user_id) const {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only see your own tag settings", "not_allowed");
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  return TagSettings{user.tag_policy_photos, user.tag_policy_me, user.tag_approval};
}

Result<TagSettings> Service::SetTagSettings(const Principal& actor, uint64_t user_id,
                                            const TagSettingsChange& change) {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only change your own tag settings", "not_allowed");
  std::lock_guard lock(Stripe(U64Key(user_id)));
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  TagSettings before{user.tag_policy_photos, user.tag_policy_me, user.tag_approval};
  if (change.photos) user.tag_policy_photos = *change.photos;
  if (change.me) user.tag_policy_me = *change.me;
  if (change.approval) user.tag_approval = *change.approval;
  TagSettings after{user.tag_policy_photos, user.tag_policy_me, user.tag_approval};
  if (after.photos == before.photos && after.me == before.me && after.approval == before.approval)
    return after;
  storage::WriteBatch batch;
  batch.Put(Cf::kUsers, U64Key(user_id), user.Encode());
  GLINT_RETURN_IF_ERROR(db_.Write(batch));
  return after;
}

Result<TagResult> Service::TagPhoto(const Principal& actor, uint64_t photo_id, uint64_t user_id,
                                    const TagBox& box) {
  if (!actor.authenticated())
    return Unauthenticated("log in to tag people in photos", "login_required");
  if (actor.user_id == 0)
    return InvalidArgument("tags are made by a user; the admin token has no account",
                           "user_required");
  GLINT_RETURN_IF_ERROR(CheckTagBox(box));
  auto first = LoadPhoto(photo_id);
  if (!first.ok() && first.status().code() != Code::kNotFound) return first.status();
  if (!first.ok() || !CanSeePhoto(actor, *first)) return PhotoNotFound(photo_id);

  // The owner's stripe orders this against every other change of the photo and its tags
  // (DeletePhoto, UpdatePhoto's visibility, other tag writes): the count below stays true
  // until the write.
  std::lock_guard lock(Stripe(U64Key(first->owner)));
  auto photo = LoadPhoto(photo_id);
  if (!photo.ok() && photo.status().code() != Code::kNotFound) return photo.status();
  if (!photo.ok() || !CanSeePhoto(actor, *photo)) return PhotoNotFound(photo_id);
  const std::string key = TagKey(photo_id, user_id);
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kTags, key));
  const int64_t now = clock_.NowUnixSeconds();

  if (row) {
    GLINT_ASSIGN_OR_RETURN(TagRecord tag, TagRecord::Decode(*row));
    // Only its parties may move a tag. Anyone else learns that the person is tagged when the
    // tag is approved (they can see it anyway); a pending one is seen by its parties only,
    // so they get the answer of a user who takes no tags from them, word for word.
    if (!IsParty(actor, *photo, tag)) {
      if (!tag.approved) return UserNotTaggable(user_id);
      return Conflict("user " + std::to_string(user_id) + " is already tagged in this photo",
                      "already_tagged");
    }
    if (tag.box == box) return TagResult{tag, false};
    tag.box = box;
    tag.updated_at = now;
    storage::WriteBatch batch;
    batch.Put(Cf::kTags, key, tag.Encode());
    GLINT_RETURN_IF_ERROR(db_.Write(batch));
    return TagResult{tag, false};
  }

  GLINT_ASSIGN_OR_RETURN(User owner, LoadUser(photo->owner));
  if (owner.tag_policy_photos == PhotoTagPolicy::kOnlyMe && actor.user_id != owner.id)
    return PermissionDenied("only the owner of this photo tags people in it", "not_allowed");
  auto tagged = LoadUser(user_id);
  if (!tagged.ok()) return tagged.status();  // "user_not_found" for an unknown id
  if (tagged->tag_policy_me == MeTagPolicy::kNobody && actor.user_id != user_id)
    return UserNotTaggable(user_id);
  size_t count = 0;
  GLINT_RETURN_IF_ERROR(db_.Scan(Cf::kTags, U64Key(photo_id), options_.max_tags_per_photo + 1,
                                 [&](std::string_view, std::string_view) {
                                   ++count;
                                   return true;
                                 }));
  if (count >= options_.max_tags_per_photo)
    return Conflict("this photo already has " + std::to_string(count) + " tags, the most it may",
                    "tag_limit");

  TagRecord tag;
  tag.photo_id = photo_id;
  tag.user_id = user_id;
  tag.tagger = actor.user_id;
  tag.box = box;
  tag.created_at = now;
  tag.approved = actor.user_id == user_id || !tagged->tag_approval;
  storage::WriteBatch batch;
  PutTag(batch, tag);
  const uint64_t recipient = user_id == actor.user_id ? 0 : user_id;
  std::vector<EventRecord> events;
  events.push_back(TagEvent(kPhotoTagged, *photo, tag, actor.user_id, recipient));
  GLINT_RETURN_IF_ERROR(CommitWithEvents(batch, std::move(events)));
  return TagResult{tag, true};
}

Result<Service::FoundTag> Service::FindTag(const Principal& actor, uint64_t photo_id,
                                           uint64_t user_id) const {
  auto photo = LoadPhoto(photo_id);
  if (!photo.ok() && photo.status().code() != Code::kNotFound) return photo.status();
  if (!photo.ok()) return PhotoNotFound(photo_id);
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kTags, TagKey(photo_id, user_id)));
  std::optional<TagRecord> tag;
  if (row) {
    GLINT_ASSIGN_OR_RETURN(tag, TagRecord::Decode(*row));
  }
  // A party knows of the tag whatever the photo's visibility now is.
  if (tag && IsParty(actor, *photo, *tag)) return FoundTag{std::move(*photo), std::move(*tag)};
  if (!CanSeePhoto(actor, *photo)) return PhotoNotFound(photo_id);
  if (!tag || !CanSeeTag(actor, *photo, *tag)) return TagNotFound(photo_id, user_id);
  return FoundTag{std::move(*photo), std::move(*tag)};
}

Result<TagRecord> Service::ApproveTag(const Principal& actor, uint64_t photo_id, uint64_t user_id) {
  GLINT_ASSIGN_OR_RETURN(FoundTag seen, FindTag(actor, photo_id, user_id));
  if (!actor.CanActFor(user_id))
    return PermissionDenied("only the tagged user approves a tag of them", "not_allowed");
  std::lock_guard lock(Stripe(U64Key(seen.photo.owner)));
  GLINT_ASSIGN_OR_RETURN(FoundTag found, FindTag(actor, photo_id, user_id));
  TagRecord tag = std::move(found.tag);
  if (tag.approved) return tag;
  tag.approved = true;
  tag.updated_at = clock_.NowUnixSeconds();
  storage::WriteBatch batch;
  batch.Put(Cf::kTags, TagKey(photo_id, user_id), tag.Encode());
  const uint64_t recipient = tag.tagger == user_id ? 0 : tag.tagger;
  std::vector<EventRecord> events;
  events.push_back(TagEvent(kTagApproved, found.photo, tag, actor.user_id, recipient));
  GLINT_RETURN_IF_ERROR(CommitWithEvents(batch, std::move(events)));
  return tag;
}

Status Service::RemoveTag(const Principal& actor, uint64_t photo_id, uint64_t user_id) {
  GLINT_ASSIGN_OR_RETURN(FoundTag seen, FindTag(actor, photo_id, user_id));
  if (!IsParty(actor, seen.photo, seen.tag))
    return PermissionDenied(
        "a tag is removed by the tagged user, the photo's owner or the one who tagged",
        "not_allowed");
  std::lock_guard lock(Stripe(U64Key(seen.photo.owner)));
  GLINT_ASSIGN_OR_RETURN(FoundTag found, FindTag(actor, photo_id, user_id));
  storage::WriteBatch batch;
  batch.Delete(Cf::kTags, TagKey(photo_id, user_id));
  batch.Delete(Cf::kTagged, TaggedKey(found.tag));
  const uint64_t recipient = actor.user_id == user_id ? 0 : user_id;
  std::vector<EventRecord> events;
  events.push_back(
      TagEvent(kPhotoUntagged, found.photo, found.tag, actor.user_id, recipient, "removed"));
  return CommitWithEvents(batch, std::move(events));
}

Status Service::CollectTags(const Photo& photo, uint64_t actor, storage::WriteBatch& batch,
                            std::vector<EventRecord>& events) const {
  return db_.Scan(
      Cf::kTags, U64Key(photo.id), std::numeric_limits<size_t>::max(),
      [&](std::string_view key, std::string_view value) {
        batch.Delete(Cf::kTags, key);
        auto tag = TagRecord::Decode(value);
        if (!tag.ok()) {
          // Its tagged row cannot be named; readers skip such orphans.
          log::Warn("deleting photo " + std::to_string(photo.id) + ": " + tag.status().ToString());
          return true;
        }
        batch.Delete(Cf::kTagged, TaggedKey(*tag));
        const uint64_t recipient = tag->user_id == actor ? 0 : tag->user_id;
        events.push_back(TagEvent(kPhotoUntagged, photo, *tag, actor, recipient, "photo_deleted"));
        return true;
      });
}

Result<std::vector<TagRecord>> Service::ListPhotoTags(const Principal& actor,
                                                      uint64_t photo_id) const {
  auto photo = LoadPhoto(photo_id);
  if (!photo.ok() && photo.status().code() != Code::kNotFound) return photo.status();
  if (!photo.ok() || !CanSeePhoto(actor, *photo)) return PhotoNotFound(photo_id);
  std::vector<TagRecord> out;
  Status decode;
  GLINT_RETURN_IF_ERROR(db_.Scan(Cf::kTags, U64Key(photo_id), std::numeric_limits<size_t>::max(),
                                 [&](std::string_view, std::string_view value) {
                                   auto tag = TagRecord::Decode(value);
                                   if (!tag.ok()) {
                                     decode = tag.status();
                                     return false;
                                   }
                                   if (CanSeeTag(actor, *photo, *tag))
                                     out.push_back(std::move(*tag));
                                   return true;
                                 }));
  GLINT_RETURN_IF_ERROR(decode);
  return out;
}

Result<TaggedPage> Service::ListTaggedPhotos(const Principal& actor, uint64_t user_id,
                                             std::string_view cursor, size_t limit) const {
  const std::string prefix = U64Key(user_id);
  std::string start = prefix;
  if (!cursor.empty()) {
    auto after = HexDecode(cursor);
    if (!after || after->size() != kTaggedSuffix)
      return InvalidArgument("the cursor is not one this API gave out", "invalid_cursor");
    start += *after;
  }
  TaggedPage page;
  if (limit == 0) return page;
  size_t examined = 0;
  std::string last;  // the last row examined
  bool more = false;
  Status failed;
  // Owners' active photos, loaded once per owner for PhotoView::active.
  std::vector<std::pair<uint64_t, uint64_t>> actives;
  auto active_of = [&](uint64_t owner) -> Result<uint64_t> {
    for (const auto& [o, a] : actives)
      if (o == owner) return a;
    GLINT_ASSIGN_OR_RETURN(User u, LoadUser(owner));
    actives.emplace_back(owner, u.active_photo);
    return u.active_photo;
  };
  // Examines one tagged row; false stops the scan (with `failed` set on an error).
  auto visit = [&](std::string_view key) -> bool {
    auto inverted = storage::ReadU64BE(key, 16);
    if (key.size() != prefix.size() + kTaggedSuffix || !inverted) {
      failed = Corruption("malformed key in the tagged table");
      return false;
    }
    const uint64_t photo_id = ~*inverted;
    auto row = db_.Get(Cf::kTags, TagKey(photo_id, user_id));
    if (!row.ok()) {
      failed = row.status();
      return false;
    }
    if (!*row) return true;  // an orphan (its tag row was unreadable when deleted)
    auto tag = TagRecord::Decode(**row);
    if (!tag.ok()) {
      failed = tag.status();
      return false;
    }
    auto photo = LoadPhoto(photo_id);
    if (!photo.ok()) {
      if (photo.status().code() == Code::kNotFound) return true;
      failed = photo.status();
      return false;
    }
    if (!CanSeePhoto(actor, *photo) || !CanSeeTag(actor, *photo, *tag)) return true;
    auto active = active_of(photo->owner);
    if (!active.ok()) {
      failed = active.status();
      return false;
    }
    const bool is_active = *active == photo_id;
    page.photos.push_back({PhotoView{std::move(*photo), is_active}, std::move(*tag)});
    return true;
  };
  GLINT_RETURN_IF_ERROR(db_.ScanFrom(Cf::kTagged, start, std::numeric_limits<size_t>::max(),
                                     [&](std::string_view key, std::string_view) {
                                       if (!key.starts_with(prefix)) return false;
                                       if (!cursor.empty() && key == start)
                                         return true;  // the cursor's own row
                                       // A full page (or an exhausted budget) stops here: this row
                                       // is where the next page starts looking.
                                       if (page.photos.size() >= limit ||
                                           examined >= kMaxTaggedRowsPerPage) {
                                         more = true;
                                         return false;
                                       }
                                       ++examined;
                                       last.assign(key);
                                       return visit(key);
                                     }));
  GLINT_RETURN_IF_ERROR(failed);
  if (more) page.next_cursor = HexEncode(std::string_view(last).substr(prefix.size()));
  return page;
}

}  // namespace glint::core
