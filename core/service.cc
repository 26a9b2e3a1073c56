#include "core/service.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <utility>

#include <boost/json.hpp>

#include "base/hex.h"
#include "base/log.h"
#include "core/email.h"
#include "storage/record.h"

namespace glint::core {
namespace {

using storage::Cf;
using storage::U64Key;
using storage::U64PairKey;

constexpr std::string_view kTokenPrefix = "glt_";

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Resumes an id counter after the greatest key of `cf`.
Result<uint64_t> NextIdAfterLastKey(const storage::Db& db, Cf cf) {
  GLINT_ASSIGN_OR_RETURN(auto last, db.LastKey(cf));
  if (!last) return uint64_t{1};
  auto id = storage::ReadU64BE(*last);
  if (!id) return Corruption("malformed id key in the database");
  return *id + 1;
}

// PHOTO_REGISTERED or PHOTO_DELETED of `photo`: subject is the photo id, the actor its owner
// (for a delete: whoever deleted it, 0 for an admin); the payload describes the photo.
EventRecord PhotoEvent(std::string_view type, const Photo& photo, uint64_t actor) {
  EventRecord e;
  e.type = type;
  e.subject = std::to_string(photo.id);
  e.actor = actor;
  e.payload =
      boost::json::serialize(boost::json::object{{"photo_id", photo.id},
                                                 {"owner_id", photo.owner},
                                                 {"width", photo.width},
                                                 {"height", photo.height},
                                                 {"format", codec::FormatName(photo.format)},
                                                 {"bytes", photo.bytes},
                                                 {"visibility", VisibilityName(photo.visibility)}});
  return e;
}

}  // namespace

Result<EmailHashRow> EmailHashRow::Decode(std::string_view row) {
  auto user_id = storage::ReadU64BE(row);
  if (!user_id || (row.size() != 8 && row.size() != 40))
    return Corruption("malformed email index row");
  EmailHashRow out{*user_id, std::string(row.size() == 40 ? row.substr(8) : std::string_view())};
  return out;
}

std::string EmailHashRow::Encode() const { return U64Key(user_id) + sha256; }

std::optional<int> RatingRank(std::string_view rating) {
  static constexpr std::string_view kRatings[] = {"g", "pg", "r", "x"};
  for (int i = 0; i < 4; ++i) {
    const std::string_view r = kRatings[i];
    if (rating.size() == r.size() && std::equal(r.begin(), r.end(), rating.begin(),
                                                [](char a, char b) { return a == (b | 0x20); }))
      return i;
  }
  return std::nullopt;
}

std::string BlobEtag(uint64_t checksum) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(checksum));
  return buf;
}

Service::Service(storage::Db& db, storage::BlobStore& blobs, const Clock& clock,
                 ServiceOptions options)
    : db_(db),
      blobs_(blobs),
      clock_(clock),
      options_(std::move(options)),
      signer_(options_.signing_key),
      avatars_(options_.avatar_cache_entries) {}

Result<std::unique_ptr<Service>> Service::Create(storage::Db& db, storage::BlobStore& blobs,
                                                 const Clock& clock, ServiceOptions options) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  if (options.signing_key.size() < 32) return InvalidArgument("signing key must be >= 32 bytes");
  std::unique_ptr<Service> s(new Service(db, blobs, clock, std::move(options)));
  GLINT_ASSIGN_OR_RETURN(uint64_t next_user, NextIdAfterLastKey(db, Cf::kUsers));
  GLINT_ASSIGN_OR_RETURN(uint64_t next_photo, NextIdAfterLastKey(db, Cf::kPhotos));
  GLINT_ASSIGN_OR_RETURN(uint64_t next_blob, NextIdAfterLastKey(db, Cf::kBlobs));
  s->next_user_id_ = next_user;
  s->next_photo_id_ = next_photo;
  s->next_blob_id_ = next_blob;
  // Unknown emails are checked against this hash so a login's timing does not reveal
  // whether an address has an account.
  GLINT_ASSIGN_OR_RETURN(s->dummy_password_hash_,
                         HashPassword("glint-no-such-account", s->options_.kdf));
  return s;
}

Status Service::Ping() const { return db_.Get(Cf::kUsers, U64Key(0)).status(); }

std::mutex& Service::Stripe(std::string_view key) const {
  return stripes_[std::hash<std::string_view>{}(key) % stripes_.size()];
}

Result<User> Service::LoadUser(uint64_t user_id) const {
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kUsers, U64Key(user_id)));
  if (!row) return NotFound("no user " + std::to_string(user_id), "user_not_found");
  return User::Decode(*row);
}

Result<Photo> Service::LoadPhoto(uint64_t photo_id) const {
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kPhotos, U64Key(photo_id)));
  if (!row) return NotFound("no photo " + std::to_string(photo_id), "photo_not_found");
  return Photo::Decode(*row);
}

AccountView Service::View(const User& u) const {
  return {u.id, u.email, HexEncode(u.md5), HexEncode(u.sha256), u.active_photo, u.created_at};
}

Result<Principal> Service::Authenticate(std::string_view token) const {
  auto invalid = [] {
    return Unauthenticated("the bearer token is invalid or expired", "invalid_token");
  };
  if (!options_.admin_token.empty() && ConstantTimeEquals(token, options_.admin_token))
    return Principal::Admin();
  if (!options_.service_token.empty() && ConstantTimeEquals(token, options_.service_token))
    return Principal::Service();
  if (!token.starts_with(kTokenPrefix) || token.size() != kTokenPrefix.size() + 64)
    return invalid();
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kSessions, Sha256(token)));
  if (!row) return invalid();
  GLINT_ASSIGN_OR_RETURN(SessionRecord session, SessionRecord::Decode(*row));
  if (clock_.NowUnixSeconds() >= session.expires) return invalid();
  return Principal{session.user_id, false};
}

Result<AccountView> Service::CreateAccount(const Principal& actor, std::string_view email,
                                           std::string_view password) {
  if (!actor.admin && !options_.open_registration)
    return PermissionDenied("registration is closed; ask an administrator", "registration_closed");
  GLINT_ASSIGN_OR_RETURN(std::string normalized, NormalizeEmail(email));
  GLINT_RETURN_IF_ERROR(CheckPasswordPolicy(password));
  EmailHashes hashes = HashEmail(normalized);
  // Hash the password before taking the lock: it is the slow part.
  GLINT_ASSIGN_OR_RETURN(std::string password_hash, HashPassword(password, options_.kdf));

  std::lock_guard lock(Stripe(hashes.sha256));
  GLINT_ASSIGN_OR_RETURN(auto existing, db_.Get(Cf::kEmailHashes, hashes.sha256));
  if (existing) return AlreadyExists("an account with this email already exists", "email_taken");

  User user;
  user.id = next_user_id_++;
  user.email = std::move(normalized);
  user.password_hash = std::move(password_hash);
  user.created_at = clock_.NowUnixSeconds();
  user.md5 = hashes.md5;
  user.sha256 = hashes.sha256;
  EmailRecord primary;
  primary.user_id = user.id;
  primary.address = user.email;
  primary.md5 = hashes.md5;
  primary.added_at = primary.updated_at = user.created_at;
  // An administrator vouches for the address; a self-service sign-up proves it by mail.
  if (actor.admin) primary.verified_at = user.created_at;
  std::string token;
  storage::WriteBatch batch;
  if (!primary.verified()) token = NewEmailToken(primary, hashes.sha256, batch);
  const std::string hash_row = EmailHashRow{user.id, hashes.sha256}.Encode();
  batch.Put(Cf::kUsers, U64Key(user.id), user.Encode());
  batch.Put(Cf::kEmailHashes, hashes.md5, hash_row);
  batch.Put(Cf::kEmailHashes, hashes.sha256, hash_row);
  batch.Put(Cf::kEmails, hashes.sha256, primary.Encode());
  batch.Put(Cf::kUserEmails, U64Key(user.id) + hashes.sha256, {});
  GLINT_RETURN_IF_ERROR(db_.Write(batch));
  // A sign-up whose mail failed can ask for another (ResendVerification).
  if (!token.empty()) {
    if (Status s = MailToken(primary, token, primary.token_expires); !s.ok())
      log::Warn("verification mail for new account " + std::to_string(user.id) +
                " not sent: " + s.ToString());
  }
  return View(user);
}

Result<LoginResult> Service::Login(std::string_view email, std::string_view password) {
  auto refused = [] {
    return Unauthenticated("email or password is wrong", "invalid_credentials");
  };
  auto normalized = NormalizeEmail(email);
  if (!normalized.ok() || password.size() > kMaxPasswordBytes) return refused();
  GLINT_ASSIGN_OR_RETURN(auto id_row, db_.Get(Cf::kEmailHashes, HashEmail(*normalized).sha256));
  if (!id_row) {
    (void)VerifyPassword(dummy_password_hash_, password);
    return refused();
  }
  GLINT_ASSIGN_OR_RETURN(EmailHashRow owner, EmailHashRow::Decode(*id_row));
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(owner.user_id));
  if (!VerifyPassword(user.password_hash, password)) return refused();

  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  LoginResult out;
  out.token = std::string(kTokenPrefix) +
              HexEncode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  out.user_id = user.id;
  int64_t now = clock_.NowUnixSeconds();
  out.expires = now + options_.session_ttl_seconds;
  SessionRecord session{user.id, out.expires, now};
  storage::WriteBatch batch;
  batch.Put(Cf::kSessions, Sha256(out.token), session.Encode());
  GLINT_RETURN_IF_ERROR(db_.Write(batch));
  return out;
}

Status Service::Logout(std::string_view token) {
  storage::WriteBatch batch;
  batch.Delete(Cf::kSessions, Sha256(token));
  return db_.Write(batch);
}

Result<AccountView> Service::GetAccount(const Principal& actor, uint64_t user_id) const {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only see your own account", "not_allowed");
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  return View(user);
}

Result<UploadTicket> Service::PrepareUpload(const Principal& actor,
                                            std::optional<uint64_t> max_bytes,
                                            std::optional<int64_t> ttl_seconds) {
  if (actor.user_id == 0)
    return PermissionDenied("uploads belong to a user; log in as one", "user_required");
  uint64_t cap = max_bytes.value_or(options_.max_upload_bytes);
  if (cap == 0 || cap > options_.max_upload_bytes)
    return InvalidArgument(
        "max_bytes must be between 1 and " + std::to_string(options_.max_upload_bytes),
        "invalid_max_bytes");
  int64_t ttl = ttl_seconds.value_or(options_.upload_url_ttl_seconds);
  if (ttl <= 0 || ttl > options_.max_upload_url_ttl_seconds)
    return InvalidArgument("expires_in must be between 1 and " +
                               std::to_string(options_.max_upload_url_ttl_seconds) + " seconds",
                           "invalid_expires_in");
  UploadTicket ticket;
  ticket.grant = {NewUploadId(), actor.user_id, clock_.NowUnixSeconds() + ttl, cap};
  ticket.signature = signer_.Sign(ticket.grant);
  return ticket;
}

Result<Service::StoredImage> Service::StoreImage(uint64_t user_id, std::span<const char> bytes) {
  if (bytes.size() > options_.max_upload_bytes)
    return TooLarge("the upload exceeds " + std::to_string(options_.max_upload_bytes) + " bytes",
                    "upload_too_large");
  GLINT_ASSIGN_OR_RETURN(codec::ImageHeader header,
                         codec::ReadHeader(bytes, options_.image_limits));
  StoredImage out;
  out.blob_id = next_blob_id_++;
  out.format = header.format;
  const bool turned = header.exif.orientation >= 5;  // 5..8 swap the axes
  out.width = turned ? header.height : header.width;
  out.height = turned ? header.width : header.height;
  out.camera = {header.exif.camera_make, header.exif.camera_model, header.exif.taken_at};
  GLINT_ASSIGN_OR_RETURN(out.location, blobs_.Append(out.blob_id, bytes));
  out.location.owner = user_id;
  return out;
}

Status Service::CheckUploadGrant(const UploadGrant& grant, std::string_view signature) const {
  GLINT_RETURN_IF_ERROR(signer_.Verify(grant, signature, clock_.NowUnixSeconds()));
  auto id = HexDecode(grant.upload_id);
  if (!id || id->size() != 16) return InvalidArgument("malformed upload id", "invalid_upload_id");
  GLINT_ASSIGN_OR_RETURN(auto seen, db_.Get(Cf::kUploads, *id));
  if (seen) return Conflict("this upload URL was already used", "upload_already_received");
  return Status::Ok();
}

Result<UploadReceipt> Service::ReceiveUpload(const UploadGrant& grant, std::string_view signature,
                                             std::span<const char> bytes) {
  // Also refuses a repeated PUT cheaply, before its bytes are stored again.
  GLINT_RETURN_IF_ERROR(CheckUploadGrant(grant, signature));
  if (bytes.size() > grant.max_bytes)
    return TooLarge(
        "the upload exceeds this URL's limit of " + std::to_string(grant.max_bytes) + " bytes",
        "upload_too_large");
  std::string id = *HexDecode(grant.upload_id);  // validated by CheckUploadGrant
  GLINT_ASSIGN_OR_RETURN(StoredImage image, StoreImage(grant.user_id, bytes));

  std::lock_guard lock(Stripe(id));
  GLINT_ASSIGN_OR_RETURN(auto seen, db_.Get(Cf::kUploads, id));
  // A concurrent PUT of the same URL won; the bytes just appended stay unreferenced.
  if (seen) return Conflict("this upload URL was already used", "upload_already_received");
  ReceivedUpload rec{grant.user_id,
                     image.blob_id,
                     image.width,
                     image.height,
                     image.format,
                     bytes.size(),
                     clock_.NowUnixSeconds(),
                     image.location.checksum,
                     grant.expires,
                     0,
                     image.camera};
  storage::WriteBatch batch;
  batch.Put(Cf::kBlobs, U64Key(image.blob_id), image.location.Encode());
  batch.Put(Cf::kUploads, id, rec.Encode());
  GLINT_RETURN_IF_ERROR(db_.Write(batch));
  codec::ImageHeader shown;
  shown.format = image.format;
  shown.width = image.width;
  shown.height = image.height;
  return UploadReceipt{grant.upload_id, shown, bytes.size()};
}

Result<PhotoView> Service::AddPhoto(uint64_t user_id, uint64_t photo_id, const StoredImage& image,
                                    storage::WriteBatch& batch) {
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  Photo photo;
  photo.id = photo_id;
  photo.owner = user_id;
  photo.blob_id = image.blob_id;
  photo.width = image.width;
  photo.height = image.height;
  photo.format = image.format;
  photo.camera = image.camera;
  photo.bytes = image.location.length;
  photo.created_at = clock_.NowUnixSeconds();
  photo.checksum = image.location.checksum;
  batch.Put(Cf::kPhotos, U64Key(photo.id), photo.Encode());
  batch.Put(Cf::kUserPhotos, U64PairKey(user_id, photo.id), {});
  // Its blurhash and common sizes are made in the background (core/renditions.h); the row
  // is the durable to-do item, so a crash before that work is done does not lose it.
  batch.Put(Cf::kRenditionsDue, U64Key(photo.id), {});
  bool activate = user.active_photo == 0;
  std::vector<std::pair<std::string, std::string>> changed;
  if (activate) {
    user.active_photo = photo.id;
    user.avatar_updated_at = photo.created_at;
    batch.Put(Cf::kUsers, U64Key(user.id), user.Encode());
    GLINT_ASSIGN_OR_RETURN(changed, EmailsFollowingDefault(user));
  }
  std::vector<EventRecord> registered{PhotoEvent(kPhotoRegistered, photo, user_id)};
  GLINT_RETURN_IF_ERROR(CommitAvatarChange(batch, user_id, changed, std::move(registered)));
  if (photo_listener_) photo_listener_(photo.id);
  return PhotoView{photo, activate};
}

Result<PhotoView> Service::RegisterUpload(const Principal& actor, std::string_view upload_id) {
  if (actor.user_id == 0)
    return PermissionDenied("photos belong to a user; log in as one", "user_required");
  auto id = HexDecode(upload_id);
  if (!id || id->size() != 16)
    return InvalidArgument("upload_id must be 32 hex characters", "invalid_upload_id");
  std::lock_guard lock(Stripe(U64Key(actor.user_id)));
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kUploads, *id));
  if (!row)
    return NotFound("no received upload with this id (PUT the bytes first)", "upload_not_found");
  GLINT_ASSIGN_OR_RETURN(ReceivedUpload rec, ReceivedUpload::Decode(*row));
  if (rec.user_id != actor.user_id)
    return PermissionDenied("this upload belongs to another user", "not_your_upload");
  // Checked before the blob: the blob of a photo since deleted is gone, the mark is not.
  if (rec.photo_id != 0)
    return Conflict("this upload is already photo " + std::to_string(rec.photo_id),
                    "upload_already_registered");
  GLINT_ASSIGN_OR_RETURN(auto blob_row, db_.Get(Cf::kBlobs, U64Key(rec.blob_id)));
  if (!blob_row)
    return Corruption("upload " + std::string(upload_id) + " points at a missing blob");
  StoredImage image;
  image.blob_id = rec.blob_id;
  GLINT_ASSIGN_OR_RETURN(image.location, storage::BlobLocation::Decode(*blob_row));
  image.format = rec.format;
  image.width = rec.width;
  image.height = rec.height;
  image.camera = rec.camera;
  // The row stays, marked, so the signed URL cannot bring a second body in.
  rec.photo_id = next_photo_id_++;
  storage::WriteBatch batch;
  batch.Put(Cf::kUploads, *id, rec.Encode());
  return AddPhoto(actor.user_id, rec.photo_id, image, batch);
}

Result<PhotoView> Service::UploadPhoto(const Principal& actor, std::span<const char> bytes) {
  if (actor.user_id == 0)
    return PermissionDenied("photos belong to a user; log in as one", "user_required");
  GLINT_ASSIGN_OR_RETURN(StoredImage image, StoreImage(actor.user_id, bytes));
  std::lock_guard lock(Stripe(U64Key(actor.user_id)));
  storage::WriteBatch batch;
  batch.Put(Cf::kBlobs, U64Key(image.blob_id), image.location.Encode());
  return AddPhoto(actor.user_id, next_photo_id_++, image, batch);
}

Result<std::vector<PhotoView>> Service::ListPhotos(const Principal& actor, uint64_t user_id,
                                                   uint64_t after, size_t limit) const {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only list your own photos", "not_allowed");
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  std::vector<uint64_t> ids;
  // Rows at or below `after` are skipped, not sought past: a user's photo count is small.
  Status scan = db_.Scan(Cf::kUserPhotos, U64Key(user_id), std::numeric_limits<size_t>::max(),
                         [&](std::string_view key, std::string_view) {
                           if (ids.size() >= limit) return false;
                           auto id = storage::ReadU64BE(key, 8);
                           if (id && *id > after) ids.push_back(*id);
                           return ids.size() < limit;
                         });
  GLINT_RETURN_IF_ERROR(scan);
  std::vector<PhotoView> out;
  out.reserve(ids.size());
  for (uint64_t id : ids) {
    GLINT_ASSIGN_OR_RETURN(Photo p, LoadPhoto(id));
    out.push_back({std::move(p), id == user.active_photo});
  }
  return out;
}

Result<PhotoView> Service::GetPhoto(const Principal& actor, uint64_t photo_id) const {
  auto photo = LoadPhoto(photo_id);
  if (!photo.ok() && photo.status().code() != Code::kNotFound) return photo.status();
  // Someone else's private photo is reported as missing, so ids cannot be probed.
  if (!photo.ok() || !CanSeePhoto(actor, *photo))
    return NotFound("no photo " + std::to_string(photo_id), "photo_not_found");
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(photo->owner));
  return PhotoView{*photo, user.active_photo == photo_id};
}

Result<PhotoSource> Service::OpenPhoto(const Principal& actor, uint64_t photo_id) const {
  GLINT_ASSIGN_OR_RETURN(PhotoView view, GetPhoto(actor, photo_id));
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kBlobs, U64Key(view.photo.blob_id)));
  // Only after a repair that dropped a damaged blob (glint admin fsck): nothing to serve.
  if (!row) return NotFound("no blob " + std::to_string(view.photo.blob_id), "blob_not_found");
  GLINT_ASSIGN_OR_RETURN(storage::BlobLocation loc, storage::BlobLocation::Decode(*row));
  return PhotoSource{std::move(view), loc};
}

Status Service::RecordRenditions(uint64_t photo_id, std::string_view blurhash) {
  auto photo = LoadPhoto(photo_id);
  if (!photo.ok() && photo.status().code() != Code::kNotFound) return photo.status();
  storage::WriteBatch batch;
  batch.Delete(Cf::kRenditionsDue, U64Key(photo_id));
  if (!photo.ok() || blurhash.empty()) return db_.Write(batch);
  // Photo records change under their owner's stripe: read again inside it (DeletePhoto may
  // have removed it meanwhile; then only the row goes).
  std::lock_guard lock(Stripe(U64Key(photo->owner)));
  auto current = LoadPhoto(photo_id);
  if (!current.ok() && current.status().code() == Code::kNotFound) return db_.Write(batch);
  if (!current.ok()) return current.status();
  current->blurhash = blurhash;
  batch.Put(Cf::kPhotos, U64Key(photo_id), current->Encode());
  return db_.Write(batch);
}

Result<AccountView> Service::SetActivePhoto(const Principal& actor, uint64_t user_id,
                                            uint64_t photo_id) {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only change your own avatar", "not_allowed");
  std::lock_guard lock(Stripe(U64Key(user_id)));
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  auto photo = LoadPhoto(photo_id);
  if (!photo.ok() && photo.status().code() != Code::kNotFound) return photo.status();
  if (!photo.ok() || photo->owner != user_id)
    return NotFound("user " + std::to_string(user_id) + " has no photo " + std::to_string(photo_id),
                    "photo_not_found");
  if (user.active_photo == photo_id) return View(user);
  user.active_photo = photo_id;
  user.avatar_updated_at = clock_.NowUnixSeconds();
  storage::WriteBatch batch;
  batch.Put(Cf::kUsers, U64Key(user.id), user.Encode());
  GLINT_ASSIGN_OR_RETURN(auto changed, EmailsFollowingDefault(user));
  GLINT_RETURN_IF_ERROR(CommitAvatarChange(batch, actor.user_id, changed));
  return View(user);
}

Status Service::CollectVariants(uint64_t photo_id, storage::WriteBatch& batch,
                                std::vector<uint64_t>& blob_ids) const {
  std::map<uint32_t, std::vector<storage::BlobLocation>> legacy;  // by segment
  Status scan = db_.Scan(
      Cf::kVariants, U64Key(photo_id), std::numeric_limits<size_t>::max(),
      [&](std::string_view key, std::string_view value) {
        batch.Delete(Cf::kVariants, key);
        auto rec = VariantRecord::Decode(value);
        if (!rec.ok()) {
          log::Warn("deleting photo " + std::to_string(photo_id) + ": " + rec.status().ToString());
        } else if (rec->legacy) {
          legacy[rec->legacy->segment].push_back(*rec->legacy);
        } else {
          blob_ids.push_back(rec->blob_id);
        }
        return true;
      });
  GLINT_RETURN_IF_ERROR(scan);
  // A legacy row holds a place, not an id. The id is in the header of the record at that
  // place: walk the segment's headers up to it (rare, and only once per old variant). The
  // blobs row of that id is deleted only if it still describes the same bytes.
  for (auto& [segment, places] : legacy) {
    uint64_t last = 0;
    for (const auto& p : places) last = std::max(last, p.offset);
    size_t found = 0;
    Status read;
    Status walk = blobs_.ScanSegment(segment, false, [&](const storage::ScannedRecord& r) {
      if (r.tombstone) return r.location.offset < last;
      for (const auto& p : places) {
        if (p.offset != r.location.offset) continue;
        ++found;
        auto row = db_.Get(Cf::kBlobs, U64Key(r.blob_id));
        if (!row.ok()) {
          read = row.status();
          return false;
        }
        if (!*row) break;
        auto loc = storage::BlobLocation::Decode(**row);
        if (loc.ok() && loc->checksum == p.checksum && loc->length == p.length)
          blob_ids.push_back(r.blob_id);
        break;
      }
      return r.location.offset < last;
    });
    GLINT_RETURN_IF_ERROR(read);
    // The variants rows go regardless; a blob not identified stays indexed (fsck finds it).
    if (found < places.size())
      log::Warn("deleting photo " + std::to_string(photo_id) + ": " +
                std::to_string(places.size() - found) + " old-format variant(s) not found in " +
                "segment " + std::to_string(segment) +
                (walk.ok() ? std::string() : " (" + walk.ToString() + ")") +
                "; their blobs stay indexed");
  }
  return Status::Ok();
}

Status Service::DeletePhoto(const Principal& actor, uint64_t photo_id) {
  auto missing = [photo_id] {
    return NotFound("no photo " + std::to_string(photo_id), "photo_not_found");
  };
  auto photo = LoadPhoto(photo_id);
  if (!photo.ok() && photo.status().code() != Code::kNotFound) return photo.status();
  // Someone else's photo is reported as missing, as GetPhoto does.
  if (!photo.ok() || !actor.CanActFor(photo->owner)) return missing();
  const uint64_t owner = photo->owner;

  std::vector<std::pair<uint64_t, storage::BlobLocation>> deleted;
  User user;
  {
    // The owner's stripe orders this against the other writers of the user and photo
    // records; the index lock against compaction re-pointing the blobs rows read below and
    // against Transformer::Store adding a variants row.
    std::lock_guard stripe(Stripe(U64Key(owner)));
    auto index = blobs_.LockIndex();
    auto current = LoadPhoto(photo_id);
    if (!current.ok() && current.status().code() == Code::kNotFound) return missing();
    if (!current.ok()) return current.status();
    GLINT_ASSIGN_OR_RETURN(user, LoadUser(owner));

    storage::WriteBatch batch;
    batch.Delete(Cf::kPhotos, U64Key(photo_id));
    batch.Delete(Cf::kUserPhotos, U64PairKey(owner, photo_id));
    batch.Delete(Cf::kRenditionsDue, U64Key(photo_id));
    std::vector<uint64_t> blob_ids{current->blob_id};
    GLINT_RETURN_IF_ERROR(CollectVariants(photo_id, batch, blob_ids));
    std::sort(blob_ids.begin(), blob_ids.end());
    blob_ids.erase(std::unique(blob_ids.begin(), blob_ids.end()), blob_ids.end());
    for (uint64_t id : blob_ids) {
      GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kBlobs, U64Key(id)));
      if (!row) continue;  // already gone: nothing to delete or mark
      GLINT_ASSIGN_OR_RETURN(storage::BlobLocation loc, storage::BlobLocation::Decode(*row));
      batch.Delete(Cf::kBlobs, U64Key(id));
      deleted.emplace_back(id, loc);
    }
    // Its tags go with it, each with its PHOTO_UNTAGGED.
    std::vector<EventRecord> events;
    GLINT_RETURN_IF_ERROR(CollectTags(*current, actor.user_id, batch, events));
    events.push_back(PhotoEvent(kPhotoDeleted, *current, actor.user_id));
    // Every email showing it falls back: those that chose it to the account's default, and
    // (when it is the account's default) those following the default to none.
    GLINT_ASSIGN_OR_RETURN(auto changed, EmailsShowing(user, photo_id));
    const int64_t now = clock_.NowUnixSeconds();
    GLINT_ASSIGN_OR_RETURN(auto emails, LoadEmails(user));
    for (auto& [sha256, e] : emails) {
      if (e.photo_id != photo_id) continue;
      e.photo_id = 0;
      e.updated_at = now;
      batch.Put(Cf::kEmails, sha256, e.Encode());
      batch.Put(Cf::kUserEmails, U64Key(owner) + sha256, {});
    }
    if (user.active_photo == photo_id) {
      user.active_photo = 0;
      user.avatar_updated_at = now;
      batch.Put(Cf::kUsers, U64Key(owner), user.Encode());
    }
    GLINT_RETURN_IF_ERROR(CommitAvatarChange(batch, actor.user_id, changed, std::move(events)));
  }
  if (photo_deleted_listener_) photo_deleted_listener_(photo_id);
  // After the rows are gone: a tombstone never marks a blob that is still referenced.
  if (Status s = blobs_.AppendTombstones(deleted); !s.ok())
    log::Error("photo " + std::to_string(photo_id) + " deleted, but its " +
               std::to_string(deleted.size()) + " tombstone(s) were not written: " + s.ToString());
  return Status::Ok();
}

Result<storage::BlobLocation> Service::AuthorizeBlob(const Principal& actor,
                                                     uint64_t blob_id) const {
  if (!actor.authenticated()) return Unauthenticated("log in to read raw blobs", "login_required");
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kBlobs, U64Key(blob_id)));
  if (!row) return NotFound("no blob " + std::to_string(blob_id), "blob_not_found");
  GLINT_ASSIGN_OR_RETURN(storage::BlobLocation loc, storage::BlobLocation::Decode(*row));
  if (!actor.CanActFor(loc.owner))
    return PermissionDenied("this blob belongs to another user", "not_your_blob");
  return loc;
}

}  // namespace glint::core
