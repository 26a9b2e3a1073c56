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
#include "core/passwords.h"
#include "core/records.h"
#include "core/upload_signer.h"
#include "storage/blob_store.h"
#include "storage/db.h"

namespace glint::core {

// The strong ETag of stored bytes: their xxh3-64 checksum, quoted ("\"0123456789abcdef\"").
std::string BlobEtag(uint64_t checksum);

// Who is acting. Built only by Service::Authenticate (or for the local admin CLI).
struct Principal {
  uint64_t user_id = 0;  // 0 for the admin token and for anonymous callers
  bool admin = false;

  static Principal Anonymous() { return {}; }
  static Principal Admin() { return {0, true}; }
  bool authenticated() const { return admin || user_id != 0; }
  bool CanActFor(uint64_t user) const { return admin || (user != 0 && user == user_id); }
};

struct ServiceOptions {
  bool open_registration = false;  // anyone may create an account (else admin only)
  std::string admin_token;         // bearer token with admin rights; empty disables it
  std::string signing_key;         // HMAC key for upload URLs (>= 32 bytes)
  int64_t upload_url_ttl_seconds = 15 * 60;
  int64_t max_upload_url_ttl_seconds = 7 * 24 * 3600;
  uint64_t max_upload_bytes = 50ull << 20;
  int64_t session_ttl_seconds = 30 * 24 * 3600;
  KdfParams kdf = InteractiveKdf();
  codec::HeaderLimits image_limits;
  size_t avatar_cache_entries = 1 << 20;
};

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

  // Creates an account. Allowed for admins always, for anonymous callers only with
  // open_registration. Errors: "registration_closed" (403), "invalid_email",
  // "weak_password" (400), "email_taken" (409).
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
  Result<PhotoView> GetPhoto(const Principal& actor, uint64_t photo_id) const;

  // Makes `photo_id` the active avatar of `user_id`: one write of the user record.
  // Refused ("photo_not_found", 404) when the photo does not exist or is not that user's,
  // and then nothing changes.
  Result<AccountView> SetActivePhoto(const Principal& actor, uint64_t user_id, uint64_t photo_id);

  // Deletes photo `photo_id` and everything rendered from it, for its owner or an admin. In
  // one WriteBatch, under the owner's stripe and the blob index lock (BlobStore::LockIndex):
  // the photo, user_photos, renditions_due and variants rows, the blobs rows of the original
  // and of every variant, and, when it is the owner's active avatar, the user's active photo
  // (the avatar cache is invalidated after the write; the owner then has no avatar). Then a
  // tombstone per deleted blob is appended: after the write, so a crash in between leaves
  // only unreferenced records. A failed tombstone append is logged and the delete stands (the
  // same state as that crash); compaction reclaims the bytes either way.
  // A variant render racing the delete cannot leave a row behind (core/transformer.h).
  // Errors: kNotFound "photo_not_found" when the photo does not exist (also after a first
  // delete) or is someone else's (as GetPhoto: ids cannot be probed).
  Status DeletePhoto(const Principal& actor, uint64_t photo_id);

  // The active avatar for a raw MD5 (16 B) or SHA-256 (32 B) email digest: one cache probe,
  // else index point-gets (email_hashes -> users -> photos -> blobs). Errors: kNotFound
  // "unknown_hash" or "no_avatar".
  Result<AvatarRef> ResolveAvatar(std::string_view hash) const;

  // Where a blob the actor may read is (its owner or an admin may). The blob index keeps no
  // format: the bytes' magic names it. Errors: kUnauthenticated "login_required",
  // kNotFound "blob_not_found", kPermissionDenied "not_your_blob".
  Result<storage::BlobLocation> AuthorizeBlob(const Principal& actor, uint64_t blob_id) const;

 private:
  Service(storage::Db& db, storage::BlobStore& blobs, const Clock& clock, ServiceOptions options);

  Result<User> LoadUser(uint64_t user_id) const;
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
};

}  // namespace glint::core
