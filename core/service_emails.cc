// Service: emails (verification, per-email avatars), avatar resolution, Gravatar metadata of
// photos and public profiles. The rest of Service is in service.cc.
#include <sodium.h>

#include <algorithm>
#include <ctime>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "base/hex.h"
#include "base/log.h"
#include "core/email.h"
#include "core/service.h"
#include "storage/record.h"

namespace glint::core {
namespace {

using storage::Cf;
using storage::U64Key;

constexpr std::string_view kEmailTokenPrefix = "gev_";
constexpr size_t kMaxAltText = 500;
constexpr size_t kMaxProfileField = 1000;

// When this process started: the Last-Modified of answers for hashes nobody has.
const int64_t kProcessStart = static_cast<int64_t>(std::time(nullptr));

Status EmailNotFound() { return NotFound("no such email on this account", "email_not_found"); }

}  // namespace

Result<std::optional<EmailRecord>> Service::LoadEmail(std::string_view sha256) const {
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kEmails, sha256));
  if (!row) return std::optional<EmailRecord>();
  GLINT_ASSIGN_OR_RETURN(EmailRecord e, EmailRecord::Decode(*row));
  return std::optional<EmailRecord>(std::move(e));
}

// The primary email of an account made before emails rows: verified (it was served as the
// avatar before verification existed), showing the account's default.
static EmailRecord LegacyPrimary(const User& user) {
  EmailRecord e;
  e.user_id = user.id;
  e.address = user.email;
  e.md5 = user.md5;
  e.verified_at = user.created_at ? user.created_at : 1;
  e.added_at = user.created_at;
  e.updated_at = user.created_at;
  return e;
}

Result<std::vector<std::pair<std::string, EmailRecord>>> Service::LoadEmails(
    const User& user) const {
  std::vector<std::pair<std::string, EmailRecord>> out;
  std::vector<std::string> keys;
  GLINT_RETURN_IF_ERROR(
      db_.Scan(Cf::kUserEmails, U64Key(user.id), 1000, [&](std::string_view key, std::string_view) {
        keys.emplace_back(key.substr(8));
        return true;
      }));
  bool primary_seen = false;
  for (const std::string& k : keys) {
    GLINT_ASSIGN_OR_RETURN(auto e, LoadEmail(k));
    if (!e || e->user_id != user.id) continue;
    if (k == user.sha256) {
      primary_seen = true;
      out.insert(out.begin(), {k, std::move(*e)});
    } else {
      out.emplace_back(k, std::move(*e));
    }
  }
  if (!primary_seen) {
    GLINT_ASSIGN_OR_RETURN(auto e, LoadEmail(user.sha256));
    out.insert(out.begin(), {user.sha256, e ? std::move(*e) : LegacyPrimary(user)});
  }
  return out;
}

Result<std::string> Service::OwnEmailKey(uint64_t user_id, std::string_view hash) const {
  if (hash.size() != 16 && hash.size() != 32) return EmailNotFound();
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kEmailHashes, hash));
  if (!row) return EmailNotFound();
  GLINT_ASSIGN_OR_RETURN(EmailHashRow owner, EmailHashRow::Decode(*row));
  if (owner.user_id != user_id) return EmailNotFound();
  if (!owner.sha256.empty()) return owner.sha256;
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  return user.sha256;
}

EmailView Service::ViewEmail(const User& user, std::string_view sha256,
                             const EmailRecord& e) const {
  EmailView v;
  v.address = e.address;
  v.md5_hex = HexEncode(e.md5);
  v.sha256_hex = HexEncode(sha256);
  v.verified = e.verified();
  v.primary = sha256 == user.sha256;
  v.photo_id = e.photo_id;
  v.added_at = e.added_at;
  return v;
}

std::string Service::NewEmailToken(EmailRecord& e, std::string_view sha256,
                                   storage::WriteBatch& batch) {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string token = std::string(kEmailTokenPrefix) +
                      HexEncode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  // The previous token stops working: only the newest one is named by the email row.
  if (!e.token_sha256.empty()) batch.Delete(Cf::kEmailTokens, e.token_sha256);
  e.token_sha256 = Sha256(token);
  e.token_expires = clock_.NowUnixSeconds() + options_.email_token_ttl_seconds;
  batch.Put(Cf::kEmailTokens, e.token_sha256,
            EmailTokenRecord{std::string(sha256), e.token_expires}.Encode());
  return token;
}

Status Service::MailToken(const EmailRecord& e, const std::string& token, int64_t expires) {
  if (!mailer_) mailer_ = std::make_shared<LogMailer>();
  std::string how =
      options_.public_url.empty()
          ? "Confirm it by sending the token to glint:\n\n  curl -X POST -H 'Content-Type: "
            "application/json' -d '{\"token\":\"" +
                token + "\"}' <glint-url>/v1/emails/verify\n"
          : "Confirm it by opening this link:\n\n  " + options_.public_url +
                "/v1/emails/verify?token=" + token + "\n";
  Mail mail;
  mail.to = e.address;
  mail.subject = "Confirm your email address for your avatar";
  mail.text = "Someone (we hope you) added " + e.address +
              " to an account, so that its avatar is shown wherever this address is used.\n\n" +
              how + "\nThe token works once and expires in " +
              std::to_string((expires - clock_.NowUnixSeconds() + 3599) / 3600) +
              " hour(s). If this was not you, ignore this mail: nothing is shown for the "
              "address until it is confirmed.\n\ntoken: " +
              token + "\n";
  Status s = mailer_->Send(mail);
  if (!s.ok())
    return Unavailable("the verification mail could not be sent; try again later: " + s.message(),
                       "mail_failed");
  return s;
}

Status Service::CommitWithEvents(storage::WriteBatch& batch, std::vector<EventRecord> events) {
  EventLog::Staged staged;
  if (events_) staged = events_->Stage(batch, std::move(events));
  Status written = db_.Write(batch);
  staged.Done(written);
  return written;
}

Status Service::CommitAvatarChange(storage::WriteBatch& batch, uint64_t actor,
                                   const std::vector<std::pair<std::string, std::string>>& changed,
                                   std::vector<EventRecord> extra) {
  std::vector<EventRecord> events = std::move(extra);
  for (const auto& [sha256, md5] : changed) {
    EventRecord e;
    e.type = kAvatarChanged;
    e.subject = HexEncode(sha256);
    e.actor = actor;
    e.payload = boost::json::serialize(
        boost::json::object{{"sha256", HexEncode(sha256)}, {"md5", HexEncode(md5)}});
    events.push_back(std::move(e));
  }
  GLINT_RETURN_IF_ERROR(CommitWithEvents(batch, std::move(events)));
  for (const auto& [sha256, md5] : changed) {
    avatars_.Invalidate(sha256);
    avatars_.Invalidate(md5);
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> Service::EmailsShowing(
    const User& user, uint64_t photo_id) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (photo_id == 0) return out;
  GLINT_ASSIGN_OR_RETURN(auto emails, LoadEmails(user));
  for (const auto& [sha256, e] : emails) {
    const bool shows = e.photo_id == photo_id || (e.photo_id == 0 && user.active_photo == photo_id);
    if (shows && e.verified()) out.emplace_back(sha256, e.md5);
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> Service::EmailsFollowingDefault(
    const User& user) const {
  std::vector<std::pair<std::string, std::string>> out;
  GLINT_ASSIGN_OR_RETURN(auto emails, LoadEmails(user));
  for (const auto& [sha256, e] : emails)
    if (e.photo_id == 0 && e.verified()) out.emplace_back(sha256, e.md5);
  return out;
}

Result<AvatarRef> Service::ResolveAvatar(std::string_view hash) const {
  if (auto hit = avatars_.Find(hash)) return std::move(*hit);
  uint64_t generation = avatars_.Generation(hash);
  AvatarRef ref;
  ref.modified = kProcessStart;
  auto done = [&](std::string missing) {
    ref.missing = std::move(missing);
    avatars_.Insert(hash, ref, generation);
    return ref;
  };
  if (hash.size() == 16 && !options_.allow_md5) return done("unknown_hash");
  GLINT_ASSIGN_OR_RETURN(auto id_row, db_.Get(Cf::kEmailHashes, hash));
  if (!id_row) return done("unknown_hash");
  GLINT_ASSIGN_OR_RETURN(EmailHashRow owner, EmailHashRow::Decode(*id_row));
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(owner.user_id));
  const std::string sha256 = owner.sha256.empty() ? user.sha256 : owner.sha256;
  GLINT_ASSIGN_OR_RETURN(auto email, LoadEmail(sha256));
  EmailRecord e = email ? std::move(*email) : LegacyPrimary(user);
  ref.user_id = user.id;
  ref.modified = std::max(e.updated_at, e.verified_at);
  if (!e.verified()) return done("unverified");
  uint64_t photo_id = e.photo_id;
  if (photo_id == 0) {
    photo_id = user.active_photo;
    ref.modified = std::max(ref.modified, user.avatar_updated_at);
  }
  if (photo_id == 0) return done("no_avatar");
  GLINT_ASSIGN_OR_RETURN(Photo photo, LoadPhoto(photo_id));
  GLINT_ASSIGN_OR_RETURN(auto blob_row, db_.Get(Cf::kBlobs, U64Key(photo.blob_id)));
  if (!blob_row)
    return Corruption("photo " + std::to_string(photo.id) + " points at a missing blob");
  ref.photo_id = photo.id;
  GLINT_ASSIGN_OR_RETURN(ref.blob, storage::BlobLocation::Decode(*blob_row));
  ref.format = photo.format;
  ref.etag = BlobEtag(ref.blob.checksum);
  ref.rating = photo.rating;
  ref.alt_text = photo.alt_text;
  ref.modified = std::max({ref.modified, photo.created_at, photo.updated_at});
  return done("");
}

Result<std::vector<EmailView>> Service::ListEmails(const Principal& actor, uint64_t user_id) const {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only see your own emails", "not_allowed");
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  GLINT_ASSIGN_OR_RETURN(auto emails, LoadEmails(user));
  std::vector<EmailView> out;
  for (const auto& [sha256, e] : emails) out.push_back(ViewEmail(user, sha256, e));
  return out;
}

Result<VerificationSent> Service::AddEmail(const Principal& actor, uint64_t user_id,
                                           std::string_view address) {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only add emails to your own account", "not_allowed");
  GLINT_ASSIGN_OR_RETURN(std::string normalized, NormalizeEmail(address));
  EmailHashes hashes = HashEmail(normalized);
  VerificationSent out;
  EmailRecord e;
  {
    std::lock_guard lock(Stripe(hashes.sha256));
    GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
    GLINT_ASSIGN_OR_RETURN(auto existing_row, db_.Get(Cf::kEmailHashes, hashes.sha256));
    storage::WriteBatch batch;
    const int64_t now = clock_.NowUnixSeconds();
    if (existing_row) {
      GLINT_ASSIGN_OR_RETURN(EmailHashRow owner, EmailHashRow::Decode(*existing_row));
      GLINT_ASSIGN_OR_RETURN(auto claim, LoadEmail(hashes.sha256));
      // An unverified claim on someone else's account is released once its token expired,
      // so nobody can squat an address they cannot read mail for.
      const bool stale = owner.user_id != user_id && claim && !claim->verified() &&
                         claim->token_expires <= now && hashes.sha256 != user.sha256;
      if (!stale) return AlreadyExists("this email is already registered", "email_taken");
      GLINT_ASSIGN_OR_RETURN(User previous, LoadUser(owner.user_id));
      if (previous.sha256 == hashes.sha256)
        return AlreadyExists("this email is already registered", "email_taken");
      batch.Delete(Cf::kUserEmails, U64Key(owner.user_id) + hashes.sha256);
      if (!claim->token_sha256.empty()) batch.Delete(Cf::kEmailTokens, claim->token_sha256);
    }
    e.user_id = user_id;
    e.address = normalized;
    e.md5 = hashes.md5;
    e.added_at = e.updated_at = now;
    out.token = NewEmailToken(e, hashes.sha256, batch);
    const std::string hash_row = EmailHashRow{user_id, hashes.sha256}.Encode();
    batch.Put(Cf::kEmailHashes, hashes.md5, hash_row);
    batch.Put(Cf::kEmailHashes, hashes.sha256, hash_row);
    batch.Put(Cf::kEmails, hashes.sha256, e.Encode());
    batch.Put(Cf::kUserEmails, U64Key(user_id) + hashes.sha256, {});
    GLINT_RETURN_IF_ERROR(db_.Write(batch));
    avatars_.Invalidate(hashes.sha256);
    avatars_.Invalidate(hashes.md5);
    out.email = ViewEmail(user, hashes.sha256, e);
  }
  out.expires = e.token_expires;
  GLINT_RETURN_IF_ERROR(MailToken(e, out.token, out.expires));
  if (!actor.admin) out.token.clear();
  return out;
}

Result<VerificationSent> Service::ResendVerification(const Principal& actor, uint64_t user_id,
                                                     std::string_view hash) {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only verify your own emails", "not_allowed");
  GLINT_ASSIGN_OR_RETURN(std::string sha256, OwnEmailKey(user_id, hash));
  VerificationSent out;
  EmailRecord e;
  {
    std::lock_guard lock(Stripe(sha256));
    GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
    GLINT_ASSIGN_OR_RETURN(auto email, LoadEmail(sha256));
    if (!email) return Conflict("this email is already verified", "already_verified");
    e = std::move(*email);
    if (e.user_id != user_id) return EmailNotFound();
    if (e.verified()) return Conflict("this email is already verified", "already_verified");
    storage::WriteBatch batch;
    out.token = NewEmailToken(e, sha256, batch);
    batch.Put(Cf::kEmails, sha256, e.Encode());
    GLINT_RETURN_IF_ERROR(db_.Write(batch));
    out.email = ViewEmail(user, sha256, e);
  }
  out.expires = e.token_expires;
  GLINT_RETURN_IF_ERROR(MailToken(e, out.token, out.expires));
  if (!actor.admin) out.token.clear();
  return out;
}

Result<EmailView> Service::VerifyEmail(std::string_view token) {
  auto invalid = [] {
    return NotFound("the verification token is unknown, used or expired", "invalid_token");
  };
  if (!token.starts_with(kEmailTokenPrefix) || token.size() != kEmailTokenPrefix.size() + 64)
    return invalid();
  const std::string token_key = Sha256(token);
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kEmailTokens, token_key));
  if (!row) return invalid();
  GLINT_ASSIGN_OR_RETURN(EmailTokenRecord t, EmailTokenRecord::Decode(*row));
  std::lock_guard lock(Stripe(t.email_sha256));
  GLINT_ASSIGN_OR_RETURN(auto email, LoadEmail(t.email_sha256));
  const int64_t now = clock_.NowUnixSeconds();
  if (!email || email->token_sha256 != token_key || now >= email->token_expires) return invalid();
  EmailRecord e = std::move(*email);
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(e.user_id));
  e.verified_at = now;
  e.updated_at = now;
  e.token_sha256.clear();
  e.token_expires = 0;
  storage::WriteBatch batch;
  batch.Delete(Cf::kEmailTokens, token_key);
  batch.Put(Cf::kEmails, t.email_sha256, e.Encode());
  GLINT_RETURN_IF_ERROR(CommitAvatarChange(batch, e.user_id, {{t.email_sha256, e.md5}}));
  return ViewEmail(user, t.email_sha256, e);
}

Status Service::RemoveEmail(const Principal& actor, uint64_t user_id, std::string_view hash) {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only remove your own emails", "not_allowed");
  GLINT_ASSIGN_OR_RETURN(std::string sha256, OwnEmailKey(user_id, hash));
  std::lock_guard lock(Stripe(sha256));
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  if (sha256 == user.sha256)
    return Conflict("the address the account logs in with cannot be removed", "primary_email");
  GLINT_ASSIGN_OR_RETURN(auto email, LoadEmail(sha256));
  if (!email || email->user_id != user_id) return EmailNotFound();
  storage::WriteBatch batch;
  batch.Delete(Cf::kEmails, sha256);
  batch.Delete(Cf::kUserEmails, U64Key(user_id) + sha256);
  batch.Delete(Cf::kEmailHashes, sha256);
  batch.Delete(Cf::kEmailHashes, email->md5);
  if (!email->token_sha256.empty()) batch.Delete(Cf::kEmailTokens, email->token_sha256);
  // Both hashes stop answering: the in-process cache is dropped either way, and caches
  // outside hear of it when the address was being served.
  std::vector<std::pair<std::string, std::string>> changed{{sha256, email->md5}};
  if (!email->verified()) {
    GLINT_RETURN_IF_ERROR(db_.Write(batch));
    avatars_.Invalidate(sha256);
    avatars_.Invalidate(email->md5);
    return Status::Ok();
  }
  return CommitAvatarChange(batch, actor.user_id, changed);
}

Result<EmailView> Service::SetEmailAvatar(const Principal& actor, uint64_t user_id,
                                          std::string_view hash, uint64_t photo_id) {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only change your own avatars", "not_allowed");
  GLINT_ASSIGN_OR_RETURN(std::string sha256, OwnEmailKey(user_id, hash));
  // The owner's stripe orders this against DeletePhoto resetting emails that show a photo.
  std::lock_guard lock(Stripe(U64Key(user_id)));
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  if (photo_id != 0) {
    auto photo = LoadPhoto(photo_id);
    if (!photo.ok() && photo.status().code() != Code::kNotFound) return photo.status();
    if (!photo.ok() || photo->owner != user_id)
      return NotFound("you have no photo " + std::to_string(photo_id), "photo_not_found");
  }
  GLINT_ASSIGN_OR_RETURN(auto email, LoadEmail(sha256));
  EmailRecord e = email ? std::move(*email) : LegacyPrimary(user);
  if (e.user_id != user_id) return EmailNotFound();
  if (e.photo_id == photo_id) return ViewEmail(user, sha256, e);
  e.photo_id = photo_id;
  e.updated_at = clock_.NowUnixSeconds();
  storage::WriteBatch batch;
  batch.Put(Cf::kEmails, sha256, e.Encode());
  batch.Put(Cf::kUserEmails, U64Key(user_id) + sha256, {});
  std::vector<std::pair<std::string, std::string>> changed;
  if (e.verified()) changed.emplace_back(sha256, e.md5);
  GLINT_RETURN_IF_ERROR(CommitAvatarChange(batch, actor.user_id, changed));
  if (!e.verified()) {
    avatars_.Invalidate(sha256);
    avatars_.Invalidate(e.md5);
  }
  return ViewEmail(user, sha256, e);
}

Result<EmailView> Service::FindEmail(const Principal& actor, uint64_t user_id,
                                     std::string_view hash) const {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only see your own emails", "not_allowed");
  GLINT_ASSIGN_OR_RETURN(std::string sha256, OwnEmailKey(user_id, hash));
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  GLINT_ASSIGN_OR_RETURN(auto email, LoadEmail(sha256));
  return ViewEmail(user, sha256, email ? *email : LegacyPrimary(user));
}

Result<PhotoView> Service::UpdatePhoto(const Principal& actor, uint64_t photo_id,
                                       std::optional<std::string> rating,
                                       std::optional<std::string> alt_text,
                                       std::optional<Visibility> visibility) {
  auto missing = [photo_id] {
    return NotFound("no photo " + std::to_string(photo_id), "photo_not_found");
  };
  if (rating) {
    auto rank = RatingRank(*rating);
    if (!rank) return InvalidArgument("rating must be one of G, PG, R, X", "invalid_rating");
    static constexpr const char* kNames[] = {"g", "pg", "r", "x"};
    *rating = kNames[*rank];
  }
  if (alt_text && alt_text->size() > kMaxAltText)
    return InvalidArgument("alt_text is limited to " + std::to_string(kMaxAltText) + " bytes",
                           "invalid_alt_text");
  auto photo = LoadPhoto(photo_id);
  if (!photo.ok() && photo.status().code() != Code::kNotFound) return photo.status();
  if (!photo.ok() || !actor.CanActFor(photo->owner)) return missing();
  std::lock_guard lock(Stripe(U64Key(photo->owner)));
  auto current = LoadPhoto(photo_id);
  if (!current.ok() && current.status().code() == Code::kNotFound) return missing();
  if (!current.ok()) return current.status();
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(current->owner));
  Photo p = std::move(*current);
  const bool shown_changed =
      (rating && *rating != p.rating) || (alt_text && *alt_text != p.alt_text);
  const bool visibility_changed = visibility && *visibility != p.visibility;
  if (!shown_changed && !visibility_changed) return PhotoView{p, user.active_photo == photo_id};
  if (rating) p.rating = *rating;
  if (alt_text) p.alt_text = *alt_text;
  if (visibility) p.visibility = *visibility;
  p.updated_at = clock_.NowUnixSeconds();
  storage::WriteBatch batch;
  batch.Put(Cf::kPhotos, U64Key(photo_id), p.Encode());
  // Avatars ignore visibility: only rating and alt text change what the hashes serve.
  std::vector<std::pair<std::string, std::string>> changed;
  if (shown_changed) {
    GLINT_ASSIGN_OR_RETURN(changed, EmailsShowing(user, photo_id));
  }
  GLINT_RETURN_IF_ERROR(CommitAvatarChange(batch, actor.user_id, changed));
  return PhotoView{p, user.active_photo == photo_id};
}

Result<Profile> Service::GetProfile(const Principal& actor, uint64_t user_id) const {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only see your own profile", "not_allowed");
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  return user.profile;
}

Result<Profile> Service::SetProfile(const Principal& actor, uint64_t user_id, Profile profile) {
  if (!actor.CanActFor(user_id))
    return PermissionDenied("you may only change your own profile", "not_allowed");
  for (const std::string* f :
       {&profile.display_name, &profile.location, &profile.description, &profile.pronouns,
        &profile.job_title, &profile.company, &profile.url}) {
    if (f->size() > kMaxProfileField)
      return InvalidArgument(
          "profile fields are limited to " + std::to_string(kMaxProfileField) + " bytes",
          "invalid_profile");
    for (unsigned char c : *f)
      if (c < 0x20 && c != '\n')
        return InvalidArgument("profile fields may not hold control characters", "invalid_profile");
  }
  if (!profile.url.empty()) {
    auto url = boost::urls::parse_absolute_uri(profile.url);
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty())
      return InvalidArgument("the profile url must be an http or https URL", "invalid_profile");
  }
  std::lock_guard lock(Stripe(U64Key(user_id)));
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(user_id));
  if (user.profile == profile) return user.profile;
  user.profile = std::move(profile);
  storage::WriteBatch batch;
  batch.Put(Cf::kUsers, U64Key(user_id), user.Encode());
  // The profile is part of what the hashes serve (/{hash}.json): caches outside hear of it.
  GLINT_ASSIGN_OR_RETURN(auto emails, LoadEmails(user));
  std::vector<std::pair<std::string, std::string>> changed;
  for (const auto& [sha256, e] : emails)
    if (e.verified()) changed.emplace_back(sha256, e.md5);
  GLINT_RETURN_IF_ERROR(CommitAvatarChange(batch, actor.user_id, changed));
  return user.profile;
}

Result<PublicProfile> Service::GetPublicProfile(std::string_view hash) const {
  GLINT_ASSIGN_OR_RETURN(AvatarRef ref, ResolveAvatar(hash));
  if (ref.missing == "unknown_hash" || ref.missing == "unverified")
    return NotFound("no profile has this email hash", "unknown_hash");
  GLINT_ASSIGN_OR_RETURN(User user, LoadUser(ref.user_id));
  PublicProfile out;
  out.hash_hex = HexEncode(hash);
  out.profile = user.profile;
  out.has_avatar = ref.photo_id != 0;
  out.avatar_alt_text = ref.alt_text;
  return out;
}

}  // namespace glint::core
