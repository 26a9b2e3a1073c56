// The domain records glint stores, and their encodings (storage/record.h's versioned field
// format; field numbers below are permanent: never reuse or renumber one).
// Value types; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "codec/image_header.h"
#include "storage/blob_store.h"

namespace glint::core {

// What an account shows on its public profile (GET /{hash}.json, /v3/profiles/{hash}). Every
// field is optional ("" = not shown): setting one is making it public.
struct Profile {
  std::string display_name;  // field 9
  std::string location;      // field 10
  std::string description;   // field 11 ("about me")
  std::string pronouns;      // field 12
  std::string job_title;     // field 13
  std::string company;       // field 14
  std::string url;           // field 15: the owner's own web page (http/https)

  bool operator==(const Profile&) const = default;
};

// Who may tag people in a user's photos (User field 16; 0, the default, is kViewers).
enum class PhotoTagPolicy : uint8_t {
  kViewers = 0,  // anyone who can see the photo
  kOnlyMe = 1,   // only the owner
};
// Who may tag a user (User field 17; 0, the default, is kAnyone). Tagging oneself is always
// allowed. (Until follows exist there is no "people I follow".)
enum class MeTagPolicy : uint8_t {
  kAnyone = 0,
  kNobody = 1,
};

// users CF, key U64Key(id).
struct User {
  uint64_t id = 0;                // field 1
  std::string email;              // field 2: normalised; shown only to its owner and admins
  std::string password_hash;      // field 3: Argon2id encoded string
  uint64_t active_photo = 0;      // field 4: 0 = none
  int64_t created_at = 0;         // field 5: unix seconds
  std::string md5;                // field 6: raw 16 bytes (kept to invalidate caches by hash)
  std::string sha256;             // field 7: raw 32 bytes
  int64_t avatar_updated_at = 0;  // field 8: last change of the account-wide avatar
  Profile profile;                // fields 9..15
  PhotoTagPolicy tag_policy_photos = PhotoTagPolicy::kViewers;  // field 16
  MeTagPolicy tag_policy_me = MeTagPolicy::kAnyone;             // field 17
  bool tag_approval = false;  // field 18: others' tags of this user wait for their approval

  std::string Encode() const;
  static Result<User> Decode(std::string_view data);
};

// The EXIF facts kept with a photo (codec::ExifInfo without the orientation, which is
// already applied to the dimensions). Empty strings when the file had none.
struct CameraFacts {
  std::string make;
  std::string model;
  std::string taken_at;  // ISO 8601, the camera's local time, "+hh:mm" when recorded

  bool operator==(const CameraFacts&) const = default;
};

// Who may see a photo (Photo field 17). On disk 0 is private: a photo written before the
// field existed was shown to its owner alone, and still is; new photos are public.
enum class Visibility : uint8_t {
  kPrivate = 0,  // its owner (and admins) only; others are told it does not exist
  kPublic = 1,   // anyone, logged in or not, who knows its id
};

// photos CF, key U64Key(id).
struct Photo {
  uint64_t id = 0;                                 // field 1
  uint64_t owner = 0;                              // field 2
  uint64_t blob_id = 0;                            // field 3
  uint32_t width = 0;                              // field 4: upright (EXIF orientation applied)
  uint32_t height = 0;                             // field 5: upright
  codec::Format format = codec::Format::kUnknown;  // field 6
  uint64_t bytes = 0;                              // field 7: size of the original
  int64_t created_at = 0;                          // field 8
  std::string rating = "g";                        // field 9: g|pg|r|x (Gravatar's ratings)
  uint64_t checksum = 0;                           // field 10: xxh3-64 of the original (ETag)
  CameraFacts camera;                              // fields 11 (make), 12 (model), 13 (taken_at)
  std::string blurhash;    // field 14: set by the background renditions; "" until then
  std::string alt_text;    // field 15: the owner's description of the image (Gravatar's alt_text)
  int64_t updated_at = 0;  // field 16: last change of rating, alt text or visibility
  Visibility visibility = Visibility::kPublic;  // field 17 (absent: kPrivate, see above)

  std::string Encode() const;
  static Result<Photo> Decode(std::string_view data);
};

// uploads CF, key: the 16 raw bytes of the upload id. Written when the PUT arrives and kept
// after registration (with photo_id set), so a signed URL can never be used twice.
struct ReceivedUpload {
  uint64_t user_id = 0;                            // field 1
  uint64_t blob_id = 0;                            // field 2
  uint32_t width = 0;                              // field 3: upright
  uint32_t height = 0;                             // field 4: upright
  codec::Format format = codec::Format::kUnknown;  // field 5
  uint64_t bytes = 0;                              // field 6
  int64_t received_at = 0;                         // field 7
  uint64_t checksum = 0;                           // field 8
  int64_t expires = 0;    // field 9: the URL's expiry (rows past it may be purged)
  uint64_t photo_id = 0;  // field 10: the photo it became; 0 = not registered yet
  CameraFacts camera;     // fields 11 (make), 12 (model), 13 (taken_at)

  std::string Encode() const;
  static Result<ReceivedUpload> Decode(std::string_view data);
};

// emails CF, key: the raw SHA-256 (32 B) of the normalised address. One row per email an
// account registered; email_hashes maps both digests of it to the owner (and the SHA-256).
// An email's avatar is served only once it is verified.
struct EmailRecord {
  uint64_t user_id = 0;       // field 1
  std::string address;        // field 2: normalised; shown only to its owner and admins
  std::string md5;            // field 3: raw 16 bytes
  int64_t verified_at = 0;    // field 4: unix seconds; 0 = not verified
  uint64_t photo_id = 0;      // field 5: the avatar of this email; 0 = the account's default
  int64_t added_at = 0;       // field 6
  int64_t updated_at = 0;     // field 7: last change of what its hashes serve
  std::string token_sha256;   // field 8: SHA-256 of the outstanding verification token; "" none
  int64_t token_expires = 0;  // field 9

  bool verified() const { return verified_at != 0; }
  std::string Encode() const;
  static Result<EmailRecord> Decode(std::string_view data);
};

// email_tokens CF, key: SHA-256 of a verification token (the token itself is never stored).
struct EmailTokenRecord {
  std::string email_sha256;  // field 1: the emails CF key it verifies
  int64_t expires = 0;       // field 2

  std::string Encode() const;
  static Result<EmailTokenRecord> Decode(std::string_view data);
};

// events CF, key U64Key(seq): one entry of the durable event log (core/events.h).
struct EventRecord {
  uint64_t seq = 0;        // field 1 (also the key)
  std::string type;        // field 2: "AVATAR_CHANGED", ...
  std::string subject;     // field 3: what changed, e.g. the email's SHA-256 in hex
  uint64_t actor = 0;      // field 4: the user who made the change; 0 = the system or an admin
  int64_t time = 0;        // field 5: unix seconds
  std::string payload;     // field 6: a JSON object with the event's details
  uint64_t recipient = 0;  // field 7: the user the event notifies (0 = nobody)

  std::string Encode() const;
  static Result<EventRecord> Decode(std::string_view data);
};

// A tag's box, in fractions 0..1 of the upright image (EXIF orientation applied): its left
// and top edges, width and height. Valid when every number is finite, w and h are above 0,
// and x + w and y + h are at most 1 (core/service.h ValidTagBox).
struct TagBox {
  double x = 0;
  double y = 0;
  double w = 0;
  double h = 0;

  bool operator==(const TagBox&) const = default;
};

// tags CF, key U64PairKey(photo_id, user_id): one person tagged in one photo. Each tag has a
// row in the tagged CF too (docs/formats.md), written and deleted in the same batch.
struct TagRecord {
  uint64_t photo_id = 0;   // field 1
  uint64_t user_id = 0;    // field 2: who is tagged
  uint64_t tagger = 0;     // field 3: who tagged them
  TagBox box;              // fields 4..7: x, y, w, h as the bits of IEEE 754 binary64
  int64_t created_at = 0;  // field 8: unix seconds; also orders the tagged CF
  bool approved = false;   // field 9: 0 pending (awaiting the tagged user), 1 approved
  int64_t updated_at = 0;  // field 10: last move of the box or approval (0 = never)

  std::string Encode() const;
  static Result<TagRecord> Decode(std::string_view data);
};

// The keys of a tag's two rows (docs/formats.md). tags: photo_id u64be ‖ user_id u64be.
// tagged: user_id u64be ‖ (2^64-1 - created_at) u64be ‖ (2^64-1 - photo_id) u64be, so a
// prefix scan on the user lists their tags newest first (a newer photo first within a
// second).
std::string TagKey(uint64_t photo_id, uint64_t user_id);
std::string TaggedKey(const TagRecord& tag);

// badges CF, key U64Key(receiver): the newly-unread badge of one receiver. `count` is always
// the number of the receiver's badge_senders rows (receiver ‖ sender, empty values), written
// with them in one batch. A receiver without a row has count 0.
struct BadgeRecord {
  uint64_t count = 0;    // field 1: distinct senders counted since the last acknowledgement
  int64_t acked_at = 0;  // field 2: unix seconds of the last acknowledgement (0 = never)

  std::string Encode() const;
  static Result<BadgeRecord> Decode(std::string_view data);
};

// sessions CF, key: SHA-256 of the bearer token (the token itself is never stored).
struct SessionRecord {
  uint64_t user_id = 0;    // field 1
  int64_t expires = 0;     // field 2
  int64_t created_at = 0;  // field 3

  std::string Encode() const;
  static Result<SessionRecord> Decode(std::string_view data);
};

// variants CF, key U64Key(photo_id) + the canonical variant key. The rendered bytes are blob
// `blob_id`, reached through the blobs CF: compaction moves blobs and re-points only the
// blobs rows, so a variant row holds the id, never a place.
//
// Rows written before this record existed are a copy of the blob's BlobLocation (its fields
// 1..5, no field 6). Decode returns those as `legacy` and leaves blob_id 0; readers still
// serve them. That is why the blob id is field 6: fields 1..5 are never used here.
struct VariantRecord {
  uint64_t blob_id = 0;                         // field 6
  std::optional<storage::BlobLocation> legacy;  // a legacy row's location (blob_id is then 0)

  // Writes field 6 only. REQUIRES: blob_id != 0 and no legacy location.
  std::string Encode() const;
  // kCorruption when `data` is malformed or has neither a blob id nor a legacy location.
  static Result<VariantRecord> Decode(std::string_view data);
};

}  // namespace glint::core
