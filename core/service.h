// glint's domain: accounts, sessions, pre-signed uploads, photos, the active avatar and
// avatar resolution. Pure logic over storage/ (RocksDB + blob store) and codec/ (headers);
// it knows nothing of HTTP. Authorisation is decided here: every method that acts on
// someone's data takes the acting Principal and refuses what it may not do.
//
// Thread-safety: every method may be called from any thread at once. Methods that write
// (their names say so: Create, Login, Receive, Register, Upload, Set, Logout, Delete) block on
// fsync and on password hashing, so callers run them on a blocking pool, never on an event
// loop. ResolveAvatar, Authenticate and the Get/List methods only read (memory or RocksDB's
// cache) and may run on an event loop.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "codec/image_header.h"
#include "core/avatar_cache.h"
#include "core/events.h"
#include "core/mailer.h"
#include "core/passwords.h"
#include "core/records.h"
#include "core/upload_signer.h"
#include "storage/blob_store.h"
#include "storage/db.h"

namespace glint::core {

// An email_hashes row: the owner, and the SHA-256 naming the emails row (empty in rows
// written before emails rows existed: those name the owner's primary address).
struct EmailHashRow {
  uint64_t user_id = 0;
  std::string sha256;

  std::string Encode() const;
  static Result<EmailHashRow> Decode(std::string_view row);
};

// The strong ETag of stored bytes: their xxh3-64 checksum, quoted ("\"0123456789abcdef\"").
std::string BlobEtag(uint64_t checksum);

// Who is acting. Built only by Service::Authenticate (or for the local admin CLI).
struct Principal {
  uint64_t user_id = 0;  // 0 for the admin and service tokens and for anonymous callers
  bool admin = false;
  // The service token: another backend (a chat server feeding badge events, a search indexer
  // following the event log). It may do only what a method says service callers may.
  bool service = false;

  static Principal Anonymous() { return {}; }
  static Principal Admin() { return {0, true}; }
  static Principal Service() { return {0, false, true}; }
  // Admin or service: the backend-to-backend calls.
  bool backend() const { return admin || service; }
  bool authenticated() const { return admin || service || user_id != 0; }
  bool CanActFor(uint64_t user) const { return admin || (user != 0 && user == user_id); }
};

struct ServiceOptions {
  bool open_registration = false;  // anyone may create an account (else admin only)
  std::string admin_token;         // bearer token with admin rights; empty disables it
  std::string service_token;       // bearer token of other backends; empty disables it
  std::string signing_key;         // HMAC key for upload URLs (>= 32 bytes)
  int64_t upload_url_ttl_seconds = 15 * 60;
  int64_t max_upload_url_ttl_seconds = 7 * 24 * 3600;
  uint64_t max_upload_bytes = 50ull << 20;
  int64_t session_ttl_seconds = 30 * 24 * 3600;
  KdfParams kdf = InteractiveKdf();
  codec::HeaderLimits image_limits;
  size_t avatar_cache_entries = 1 << 20;
  // Answer avatar lookups by MD5 (Gravatar's legacy hash). Off: an MD5 is treated as an
  // unknown hash, so the default is served and nothing about the address leaks.
  bool allow_md5 = true;
  int64_t email_token_ttl_seconds = 24 * 3600;
  // Where verification links point ("https://img.example.com"); empty: the mail gives the
  // token and the API call to make.
  std::string public_url;
  // Tags one photo may hold (pending and approved alike); the next is "tag_limit".
  size_t max_tags_per_photo = 50;
};

// An email of an account as shown to its owner (or an admin).
struct EmailView {
  std::string address;
  std::string md5_hex;
  std::string sha256_hex;
  bool verified = false;
  bool primary = false;   // the address the account logs in with (cannot be removed)
  uint64_t photo_id = 0;  // its own avatar; 0 = the account's default
  int64_t added_at = 0;
};

// A verification just issued: the token was mailed (or logged); `token` is returned to
// admins only, for self-hosters without mail.
struct VerificationSent {
  EmailView email;
  std::string token;
  int64_t expires = 0;
};

// What the public profile of an email hash shows (never the address).
struct PublicProfile {
  std::string hash_hex;  // the hash that was asked for
  Profile profile;
  bool has_avatar = false;
  std::string avatar_alt_text;
};

// Gravatar's ratings, in order: an avatar rated above a request's limit is not shown.
// Returns 0..3 for g, pg, r, x (either case); nullopt for anything else.
std::optional<int> RatingRank(std::string_view rating);

// An account as shown to its owner (or an admin).
struct AccountView {
  uint64_t id = 0;
  std::string email;
  std::string md5_hex;
  std::string sha256_hex;
  uint64_t active_photo = 0;
  int64_t created_at = 0;
};

struct LoginResult {
  std::string token;  // "glt_" + 64 hex chars; shown once, stored only as its SHA-256
  uint64_t user_id = 0;
  int64_t expires = 0;
};

// A prepared upload: PUT the bytes to the URL built from these fields before `expires`.
struct UploadTicket {
  UploadGrant grant;
  std::string signature;
};

// What a successful PUT stored, waiting to be registered.
struct UploadReceipt {
  std::string upload_id;
  codec::ImageHeader header;  // width and height upright (EXIF orientation applied)
  uint64_t bytes = 0;
};

// A photo with the id of the user it belongs to; `active` is relative to its owner.
struct PhotoView {
  Photo photo;
  bool active = false;
};

// Whether `viewer` may see `photo`: its owner, an admin, or anyone when it is public.
inline bool CanSeePhoto(const Principal& viewer, const Photo& photo) {
  return photo.visibility == Visibility::kPublic || viewer.CanActFor(photo.owner);
}

// A photo a viewer may see, with the place of its original bytes (for serving them).
struct PhotoSource {
  PhotoView view;
  storage::BlobLocation blob;
};

// An account's rules for tags (User fields 16..18).
struct TagSettings {
  PhotoTagPolicy photos = PhotoTagPolicy::kViewers;  // who may tag people in my photos
  MeTagPolicy me = MeTagPolicy::kAnyone;             // who may tag me
  bool approval = false;                             // tags of me wait for my approval
};

// A change of some of an account's TagSettings (nullopt: kept).
struct TagSettingsChange {
  std::optional<PhotoTagPolicy> photos;
  std::optional<MeTagPolicy> me;
  std::optional<bool> approval;
};

// What TagPhoto did: the tag as stored, and whether this call created it (false: it
// existed, and was moved or was already so).
struct TagResult {
  TagRecord tag;
  bool created = false;
};

// A photo someone is tagged in, with that tag.
struct TaggedPhoto {
  PhotoView photo;
  TagRecord tag;
};

// One page of ListTaggedPhotos: newest tag first. `next_cursor` continues after it ("" when
// there is no more). A page may hold fewer than `limit` photos (even none) and still have a
// cursor: rows the viewer may not see are skipped, and one call examines a bounded number.
struct TaggedPage {
  std::vector<TaggedPhoto> photos;
  std::string next_cursor;
};

// An event-log consumer as GET /v1/events/consumers shows it.
struct ConsumerView {
  // An outside consumer's own name (cursor "ext:<name>"), else a built-in's cursor name
  // ("webhook:<url>", "purge:<target>").
  std::string name;
  bool outside = false;
  // A built-in consumer this process runs (SetActiveConsumers); false for a cursor left by
  // a webhook, purge target or stream that is no longer configured.
  bool active = false;
  uint64_t cursor = 0;
  uint64_t lag = 0;  // watermark - cursor (0 when the cursor is ahead)
};

// An outside consumer's name: 1 to 64 of [a-z0-9_.-].
bool ValidConsumerName(std::string_view name);

// kInvalidArgument "box_invalid" unless every number of `box` is finite, w and h are above
// 0, and the box lies inside the image (x, y >= 0; x + w, y + h <= 1).
Status CheckTagBox(const TagBox& box);

// "public" or "private".
std::string_view VisibilityName(Visibility v);

class Service {
 public:
  // Resumes id counters from the stores. `db`, `blobs` and `clock` must outlive the Service.
  static Result<std::unique_ptr<Service>> Create(storage::Db& db, storage::BlobStore& blobs,
                                                 const Clock& clock, ServiceOptions options);

  const ServiceOptions& options() const { return options_; }

  // OK when the metadata store answers a read (for readiness probes).
  Status Ping() const;

  // Called with a photo's id once it is durably registered (after the write that added its
  // renditions_due row). Set before serving; runs on the registering thread, so it must be
  // quick (core/renditions.h only wakes its worker).
  void SetPhotoListener(std::function<void(uint64_t photo_id)> listener) {
    photo_listener_ = std::move(listener);
  }

  // Called with a photo's id once DeletePhoto has removed its rows, so that memory caches
  // keyed by photo (the Transformer's variants) drop it. Set before serving; must be quick.
  void SetPhotoDeletedListener(std::function<void(uint64_t photo_id)> listener) {
    photo_deleted_listener_ = std::move(listener);
  }

  // System actions of the background renditions (core/renditions.h); no Principal, as no
  // caller acts. RecordRenditions stores `blurhash` in the photo (kept as it is when empty)
  // and removes its renditions_due row, in one write; a photo that no longer exists only
  // loses its row.
  Status RecordRenditions(uint64_t photo_id, std::string_view blurhash);

  // A fresh blob id (for blobs written outside the Service, such as rendered variants).
  uint64_t AllocateBlobId() { return next_blob_id_++; }
  storage::BlobStore& blobs() { return blobs_; }

  // Maps a bearer token to a Principal. The admin token gives Principal::Admin().
  // Errors: kUnauthenticated "invalid_token" (unknown, malformed or expired).
  Result<Principal> Authenticate(std::string_view bearer_token) const;

  // Where events go (core/events.h); set before serving. Without one, changes only
  // invalidate the in-process cache, and the event-log calls below are "events_disabled".
  void SetEventLog(EventLog* log) { events_ = log; }
  EventLog* event_log() const { return events_; }
  // How verification mails are delivered; set before serving (default: the log).
  void SetMailer(std::shared_ptr<Mailer> mailer) { mailer_ = std::move(mailer); }

  // Creates an account. Allowed for admins always, for anonymous callers only with
  // open_registration. An admin vouches for the address (verified at once); an anonymous
  // sign-up is mailed a verification token. Errors: "registration_closed" (403),
  // "invalid_email", "weak_password" (400), "email_taken" (409).
  Result<AccountView> CreateAccount(const Principal& actor, std::string_view email,
                                    std::string_view password);

  // Errors: kUnauthenticated "invalid_credentials" for an unknown email or a wrong password
  // (the same answer and similar time for both).
  Result<LoginResult> Login(std::string_view email, std::string_view password);
  // Ends the session of `bearer_token` (idempotent).
  Status Logout(std::string_view bearer_token);

  Result<AccountView> GetAccount(const Principal& actor, uint64_t user_id) const;

  // Signs a PUT URL grant for `actor`; `max_bytes` (default and ceiling max_upload_bytes) and
  // `ttl_seconds` (default upload_url_ttl_seconds, ceiling max_upload_url_ttl_seconds).
  Result<UploadTicket> PrepareUpload(const Principal& actor, std::optional<uint64_t> max_bytes,
                                     std::optional<int64_t> ttl_seconds);

  // The checks on an upload URL that need no body: signature, expiry, not used before.
  // Run before reading a large body. Errors as ReceiveUpload's URL errors.
  Status CheckUploadGrant(const UploadGrant& grant, std::string_view signature) const;

  // Accepts the PUT body for a signed grant: verifies the signature and expiry, the size,
  // that the bytes are a JPEG/PNG/WebP within the pixel limits, stores them durably, and
  // records the upload. Errors: "bad_signature"/"upload_expired" (403), "upload_too_large"
  // (413), "not_an_image" (415), "image_too_large" (413), "upload_already_received" (409).
  Result<UploadReceipt> ReceiveUpload(const UploadGrant& grant, std::string_view signature,
                                      std::span<const char> bytes);

  // Turns a received upload of `actor` into a photo (one WriteBatch). The user's first
  // photo becomes their active avatar. Errors: "upload_not_found" (404), "not_your_upload"
  // (403), "upload_already_registered" (409).
  Result<PhotoView> RegisterUpload(const Principal& actor, std::string_view upload_id);

  // Direct upload in one step (checks as ReceiveUpload, then RegisterUpload's effects).
  Result<PhotoView> UploadPhoto(const Principal& actor, std::span<const char> bytes);

  // The photos of `user_id` in upload order whose ids are greater than `after` (0 = from the
  // first), at most `limit`. Owner or admin only ("not_allowed", 403).
  Result<std::vector<PhotoView>> ListPhotos(const Principal& actor, uint64_t user_id,
                                            uint64_t after, size_t limit) const;
  // A photo the actor may see: their own, any as an admin, anyone's public one (also for
  // anonymous callers). Errors: kNotFound "photo_not_found" when it does not exist or is
  // someone else's private photo (the two are indistinguishable, so ids cannot be probed).
  Result<PhotoView> GetPhoto(const Principal& actor, uint64_t photo_id) const;
  // GetPhoto, with the place of the original (for /p/{id}; viewers other than the owner read
  // the bytes only through this). Errors as GetPhoto's, and kNotFound "blob_not_found" when
  // the photo's blobs row is gone (a repair dropped its damaged bytes).
  Result<PhotoSource> OpenPhoto(const Principal& actor, uint64_t photo_id) const;

  // Makes `photo_id` the active avatar of `user_id`: one write of the user record.
  // Refused ("photo_not_found", 404) when the photo does not exist or is not that user's,
  // and then nothing changes.
  Result<AccountView> SetActivePhoto(const Principal& actor, uint64_t user_id, uint64_t photo_id);

  // Deletes photo `photo_id` and everything rendered from it, for its owner or an admin. In
  // one WriteBatch, under the owner's stripe and the blob index lock (BlobStore::LockIndex):
  // the photo, user_photos, renditions_due and variants rows, its tags and tagged rows (a
  // PHOTO_UNTAGGED per tag), the blobs rows of the original and of every variant, and, when
  // it is the owner's active avatar, the user's active photo
  // (the avatar cache is invalidated after the write; the owner then has no avatar). Then a
  // tombstone per deleted blob is appended: after the write, so a crash in between leaves
  // only unreferenced records. A failed tombstone append is logged and the delete stands (the
  // same state as that crash); compaction reclaims the bytes either way.
  // A variant render racing the delete cannot leave a row behind (core/transformer.h).
  // Errors: kNotFound "photo_not_found" when the photo does not exist (also after a first
  // delete) or is someone else's (as GetPhoto: ids cannot be probed).
  Status DeletePhoto(const Principal& actor, uint64_t photo_id);

  // What to serve for a raw MD5 (16 B) or SHA-256 (32 B) email digest: one cache probe, else
  // index point-gets (email_hashes -> emails -> users -> photos -> blobs). The email's own
  // avatar, else the account's default. When there is nothing to serve, the answer says why
  // (AvatarRef::missing: "unknown_hash", "unverified", "no_avatar"), so callers serve a
  // default. Errors only when the stores fail.
  Result<AvatarRef> ResolveAvatar(std::string_view hash) const;

  // --- Emails (Gravatar: one account, several addresses, each verified before use) ---

  // The emails of `user_id`, primary first. Owner or admin.
  Result<std::vector<EmailView>> ListEmails(const Principal& actor, uint64_t user_id) const;
  // Adds an unverified address to `user_id` and sends it a verification token. Errors:
  // "invalid_email" (400), "email_taken" (409: another account, or this one, has it; an
  // unverified claim whose token expired is released), "not_allowed" (403), kUnavailable
  // "mail_failed" when the mail could not be sent (the address stays, unverified; ask again).
  Result<VerificationSent> AddEmail(const Principal& actor, uint64_t user_id,
                                    std::string_view address);
  // A fresh token for an unverified address of `user_id` (`hash`: raw MD5 or SHA-256), the
  // old one revoked. Errors: "email_not_found" (404), "already_verified" (409), "mail_failed".
  Result<VerificationSent> ResendVerification(const Principal& actor, uint64_t user_id,
                                              std::string_view hash);
  // Marks the token's address verified (single use). AVATAR_CHANGED for it. Errors:
  // kNotFound "invalid_token" (unknown, used, superseded or expired).
  Result<EmailView> VerifyEmail(std::string_view token);
  // Removes a non-primary address. AVATAR_CHANGED for it when it was verified. Errors:
  // "email_not_found" (404), "primary_email" (409).
  Status RemoveEmail(const Principal& actor, uint64_t user_id, std::string_view hash);
  // Makes `photo_id` (0 = back to the account's default) the avatar of one email of
  // `user_id`. Errors: "email_not_found", "photo_not_found" (404).
  Result<EmailView> SetEmailAvatar(const Principal& actor, uint64_t user_id, std::string_view hash,
                                   uint64_t photo_id);
  // The owner's email of `hash`, for Gravatar's "associated email" check.
  Result<EmailView> FindEmail(const Principal& actor, uint64_t user_id,
                              std::string_view hash) const;

  // --- Photos' Gravatar metadata, profiles ---

  // Changes a photo's rating (g|pg|r|x), alt text (<= 500 bytes) and/or visibility, for its
  // owner or an admin. A change of rating or alt text is an AVATAR_CHANGED for every email
  // the photo is shown for; visibility does not change avatars (an avatar is public whatever
  // its photo's visibility). Errors: "photo_not_found" (404), "invalid_rating",
  // "invalid_alt_text" (400).
  Result<PhotoView> UpdatePhoto(const Principal& actor, uint64_t photo_id,
                                std::optional<std::string> rating,
                                std::optional<std::string> alt_text,
                                std::optional<Visibility> visibility = std::nullopt);
  Result<Profile> GetProfile(const Principal& actor, uint64_t user_id) const;
  // Replaces the profile; each field <= 1000 bytes, url http(s). Errors: "invalid_profile".
  Result<Profile> SetProfile(const Principal& actor, uint64_t user_id, Profile profile);
  // The public profile behind a hash (verified emails only; MD5 only when allowed).
  // Errors: kNotFound "unknown_hash".
  Result<PublicProfile> GetPublicProfile(std::string_view hash) const;

  // --- Tags: people in photos (core/service_tags.cc) ---
  //
  // Who sees what. A photo is seen as GetPhoto says; who cannot see it cannot tag in it and
  // is told it does not exist. A tag's parties are the photo's owner, the tagger and the
  // tagged user (and admins); an approved tag is seen by whoever sees the photo, a pending
  // one by its parties only. Tag writes serialise on the photo owner's stripe (as photo
  // writes and DeletePhoto do), so the per-photo limit holds under racing requests and no
  // tag outlives its photo. Each change writes its rows and its event in one batch.

  // An account's tag rules; the account's owner or an admin. Errors: "not_allowed" (403).
  Result<TagSettings> GetTagSettings(const Principal& actor, uint64_t user_id) const;
  Result<TagSettings> SetTagSettings(const Principal& actor, uint64_t user_id,
                                     const TagSettingsChange& change);

  // Tags `user_id` in `photo_id` at `box`, or moves the box of their existing tag there.
  // A new tag needs: the actor sees the photo; the owner's policy lets the actor tag in it
  // (kOnlyMe: the owner alone); the tagged user's policy lets the actor tag them (kNobody:
  // themselves alone); fewer than max_tags_per_photo tags on the photo. It is pending when
  // the tagged user asked to approve tags of them (and is not the tagger), else approved,
  // and is a PHOTO_TAGGED event (recipient: the tagged user, unless they tagged
  // themselves). Repeating a tag with the same box changes nothing; another box moves it
  // (its parties only; no event). Errors: "login_required" (401), "user_required" (400: the
  // admin token tags no one), "box_invalid" (400), "photo_not_found", "user_not_found"
  // (404), "not_allowed" (403: the owner's policy), "user_not_taggable" (403: the tagged
  // user's policy), "already_tagged" (409: someone else's tag of that user is there),
  // "tag_limit" (409).
  Result<TagResult> TagPhoto(const Principal& actor, uint64_t photo_id, uint64_t user_id,
                             const TagBox& box);
  // Approves the pending tag of `user_id` in `photo_id`: the tagged user (or an admin) only.
  // TAG_APPROVED (recipient: the tagger). Approving an approved tag changes nothing.
  // Errors: "photo_not_found", "tag_not_found" (404, also for a tag the actor may not see),
  // "not_allowed" (403: a party or viewer who is not the tagged user).
  Result<TagRecord> ApproveTag(const Principal& actor, uint64_t photo_id, uint64_t user_id);
  // Removes the tag of `user_id` from `photo_id`: by the tagged user (always, even when they
  // can no longer see the photo), the photo's owner, the tagger or an admin. PHOTO_UNTAGGED
  // (recipient: the tagged user, unless they removed it). Errors as ApproveTag's.
  Status RemoveTag(const Principal& actor, uint64_t photo_id, uint64_t user_id);
  // The tags of a photo the actor sees, those they may see, in tagged-user id order.
  // Errors: "photo_not_found".
  Result<std::vector<TagRecord>> ListPhotoTags(const Principal& actor, uint64_t photo_id) const;
  // The photos `user_id` is tagged in that the actor may see (photo and tag), newest tag
  // first, at most `limit`, after `cursor` ("" = from the newest; else a next_cursor). An
  // unknown user has no tags (no error: user ids cannot be probed). Errors: "invalid_cursor"
  // (400).
  Result<TaggedPage> ListTaggedPhotos(const Principal& actor, uint64_t user_id,
                                      std::string_view cursor, size_t limit) const;

  // --- The event log, for other backends (core/service_events.cc) ---
  //
  // Every call takes the service or admin token: "login_required" (401) for anonymous
  // callers, "service_token_required" (403) for users. DeleteConsumer is the admin's alone
  // ("admin_required", 403). Without an event log: kUnavailable "events_disabled".

  // Up to `limit` events after `after` (EventLog::ReadPage); with `types` non-empty, only
  // those types (the page's `next` still passes the others). Errors: "unknown_event_type"
  // (400) for a type glint does not write.
  Result<EventPage> ReadEvents(const Principal& actor, uint64_t after, size_t limit,
                               const std::vector<std::string>& types) const;
  // The committed cursor of outside consumer `name` (nullopt when it has none).
  // Errors: "invalid_consumer" (400) unless ValidConsumerName.
  Result<std::optional<uint64_t>> ConsumerCursor(const Principal& actor,
                                                 std::string_view name) const;
  // Durably records that outside consumer `name` handled every event up to `seq`, which
  // registers it: from then on retention keeps what it has not handled. Writes (blocks).
  Status CommitConsumer(const Principal& actor, std::string_view name, uint64_t seq);
  // Every consumer with a cursor, outside and built-in, in cursor-name order.
  Result<std::vector<ConsumerView>> ListConsumers(const Principal& actor) const;
  // Forgets outside consumer `name`, so it no longer holds retention back. Writes (blocks).
  // Errors: "consumer_not_found" (404).
  Status DeleteConsumer(const Principal& actor, std::string_view name);
  // Forgets the cursor of a built-in consumer that is not running (a webhook, purge target
  // or Redis stream removed from the configuration), which would otherwise hold retention
  // back for ever. `name` is the cursor name ListConsumers shows. Writes (blocks). Errors:
  // "invalid_consumer" (400: empty, over 4096 bytes, or an outside consumer's row),
  // "consumer_not_found" (404), "consumer_active" (409: this process runs it; like Kafka,
  // which deletes only groups without members).
  Status DeleteBuiltinConsumer(const Principal& actor, std::string_view name);
  // The cursor names of the built-in consumers this process runs (`glint serve` sets them
  // once its consumers started). Thread-safe.
  void SetActiveConsumers(std::vector<std::string> names);

  // Where a blob the actor may read is (its owner or an admin may). The blob index keeps no
  // format: the bytes' magic names it. Errors: kUnauthenticated "login_required",
  // kNotFound "blob_not_found", kPermissionDenied "not_your_blob".
  Result<storage::BlobLocation> AuthorizeBlob(const Principal& actor, uint64_t blob_id) const;

 private:
  Service(storage::Db& db, storage::BlobStore& blobs, const Clock& clock, ServiceOptions options);

  Result<User> LoadUser(uint64_t user_id) const;
  // An email row by its SHA-256, nullopt when absent. The primary email of an account made
  // before emails rows existed has none: LoadEmails and ResolveAvatar stand one in.
  Result<std::optional<EmailRecord>> LoadEmail(std::string_view sha256) const;
  // Every email of `user` (the primary first), with their SHA-256 in `first`.
  Result<std::vector<std::pair<std::string, EmailRecord>>> LoadEmails(const User& user) const;
  // The SHA-256 of an email of `user_id` named by either digest; "email_not_found".
  Result<std::string> OwnEmailKey(uint64_t user_id, std::string_view hash) const;
  EmailView ViewEmail(const User& user, std::string_view sha256, const EmailRecord& e) const;
  // A new verification token for `e` (stored in `batch`); returns the token.
  std::string NewEmailToken(EmailRecord& e, std::string_view sha256, storage::WriteBatch& batch);
  Status MailToken(const EmailRecord& e, const std::string& token, int64_t expires);
  // Writes `batch` with an AVATAR_CHANGED event per email in `changed` (their SHA-256 and
  // MD5, raw), then drops both hashes of each from the avatar cache.
  // `extra` events (already typed and addressed) are staged into the same batch.
  Status CommitAvatarChange(storage::WriteBatch& batch, uint64_t actor,
                            const std::vector<std::pair<std::string, std::string>>& changed,
                            std::vector<EventRecord> extra = {});
  // Writes `batch` with `events` staged into it.
  Status CommitWithEvents(storage::WriteBatch& batch, std::vector<EventRecord> events);
  // Adds the deletion of every tag of `photo_id` (tags and tagged rows) to `batch` and a
  // PHOTO_UNTAGGED event per tag to `events`. REQUIRES: the photo owner's stripe is held.
  Status CollectTags(const Photo& photo, uint64_t actor, storage::WriteBatch& batch,
                     std::vector<EventRecord>& events) const;
  // A photo and its tag of `user_id` as `actor` may know of them (ApproveTag, RemoveTag):
  // "photo_not_found" when the actor cannot see the photo and is no party to such a tag,
  // "tag_not_found" when there is no such tag they may see.
  struct FoundTag {
    Photo photo;
    TagRecord tag;
  };
  Result<FoundTag> FindTag(const Principal& actor, uint64_t photo_id, uint64_t user_id) const;
  // The emails of `user` whose avatar is `photo_id` (for photo 0: none): those showing the
  // account default when it is the user's active photo, and those that chose it.
  Result<std::vector<std::pair<std::string, std::string>>> EmailsShowing(const User& user,
                                                                         uint64_t photo_id) const;
  // The verified emails of `user` that show the account's default avatar (whatever it is).
  Result<std::vector<std::pair<std::string, std::string>>> EmailsFollowingDefault(
      const User& user) const;
  Result<Photo> LoadPhoto(uint64_t photo_id) const;
  AccountView View(const User& u) const;
  // Validates bytes as an image and appends them as a blob owned by `user_id`.
  struct StoredImage {
    uint64_t blob_id = 0;
    storage::BlobLocation location;
    codec::Format format = codec::Format::kUnknown;
    uint32_t width = 0;  // upright (EXIF orientation applied)
    uint32_t height = 0;
    CameraFacts camera;
  };
  Result<StoredImage> StoreImage(uint64_t user_id, std::span<const char> bytes);
  // Creates the rows of photo `photo_id` for a stored image in `batch`, makes it active if
  // the user has none, and writes the batch. REQUIRES: the user's stripe lock is held.
  Result<PhotoView> AddPhoto(uint64_t user_id, uint64_t photo_id, const StoredImage& image,
                             storage::WriteBatch& batch);
  std::mutex& Stripe(std::string_view key) const;
  // True when `name` is one of SetActiveConsumers' names.
  bool IsActiveConsumer(std::string_view name) const;
  // Adds the deletion of the variants rows of `photo_id` to `batch` and the ids of the blobs
  // they name to `blob_ids`. REQUIRES: blobs_.LockIndex() is held.
  Status CollectVariants(uint64_t photo_id, storage::WriteBatch& batch,
                         std::vector<uint64_t>& blob_ids) const;

  storage::Db& db_;
  storage::BlobStore& blobs_;
  const Clock& clock_;
  ServiceOptions options_;
  UploadSigner signer_;
  mutable AvatarCache avatars_;
  std::atomic<uint64_t> next_user_id_{1};
  std::atomic<uint64_t> next_photo_id_{1};
  std::atomic<uint64_t> next_blob_id_{1};
  // Read-modify-write sections are serialised per key (user id, email hash, upload id).
  mutable std::array<std::mutex, 64> stripes_;
  std::string dummy_password_hash_;  // verified against for unknown emails (equal timing)
  std::function<void(uint64_t)> photo_listener_;
  std::function<void(uint64_t)> photo_deleted_listener_;

  EventLog* events_ = nullptr;
  mutable std::mutex active_consumers_mu_;
  std::vector<std::string> active_consumers_;  // GUARDED_BY(active_consumers_mu_)
  std::shared_ptr<Mailer> mailer_;
};

}  // namespace glint::core
