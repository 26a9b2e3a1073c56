#include "core/service.h"

#include "tests/core/service_fixture.h"

namespace glint::core {
namespace {

// ---- Accounts -------------------------------------------------------------------------

TEST_F(ServiceTest, AdminCreatesAccountWhenRegistrationClosed) {
  ASSERT_FALSE(options_.open_registration);
  ASSERT_OK_AND_ASSIGN(AccountView view, service_->CreateAccount(Principal::Admin(),
                                                                 " Alice@Example.COM ", kPassword));
  EXPECT_NE(view.id, 0u);
  EXPECT_EQ(view.email, "alice@example.com");
  EXPECT_EQ(view.active_photo, 0u);
  EXPECT_EQ(view.created_at, kStart);
  EmailHashes h = HashesOf("alice@example.com");
  EXPECT_EQ(view.md5_hex, HexEncode(h.md5));
  EXPECT_EQ(view.sha256_hex, HexEncode(h.sha256));

  ASSERT_OK_AND_ASSIGN(AccountView again, service_->GetAccount(Principal::Admin(), view.id));
  EXPECT_EQ(again.id, view.id);
  EXPECT_EQ(again.email, view.email);
}

TEST_F(ServiceTest, AnonymousIsRefusedWhenRegistrationClosed) {
  EXPECT_ERROR(service_->CreateAccount(Principal::Anonymous(), "bob@example.com", kPassword),
               Code::kPermissionDenied, "registration_closed");
  // Nothing was created: the address cannot log in and its hash is unknown.
  EXPECT_ERROR(service_->Login("bob@example.com", kPassword), Code::kUnauthenticated,
               "invalid_credentials");
  EXPECT_MISSING(HashesOf("bob@example.com").md5, "unknown_hash");
}

TEST_F(ServiceTest, AnonymousMayRegisterWhenOpen) {
  ServiceOptions open = DefaultOptions();
  open.open_registration = true;
  ASSERT_NO_FATAL_FAILURE(RestartService(open));

  ASSERT_OK_AND_ASSIGN(AccountView view, service_->CreateAccount(Principal::Anonymous(),
                                                                 "carol@example.com", kPassword));
  EXPECT_EQ(view.email, "carol@example.com");
  ASSERT_OK_AND_ASSIGN(Principal carol, LoginAs("carol@example.com"));
  EXPECT_EQ(carol.user_id, view.id);

  // Open registration still validates its input.
  EXPECT_ERROR(service_->CreateAccount(Principal::Anonymous(), "not-an-email", kPassword),
               Code::kInvalidArgument, "invalid_email");
  EXPECT_ERROR(service_->CreateAccount(Principal::Anonymous(), "dave@example.com", "short"),
               Code::kInvalidArgument, "weak_password");
}

TEST_F(ServiceTest, DuplicateEmailIsRefusedEvenWithOtherCase) {
  ASSERT_OK_AND_ASSIGN(AccountView first, CreateUser("erin@example.com"));
  EXPECT_ERROR(CreateUser("erin@example.com"), Code::kAlreadyExists, "email_taken");
  EXPECT_ERROR(CreateUser("  ERIN@Example.Com\t"), Code::kAlreadyExists, "email_taken");
  // The original account is untouched: its password still works.
  ASSERT_OK_AND_ASSIGN(Principal erin, LoginAs("erin@example.com"));
  EXPECT_EQ(erin.user_id, first.id);
}

TEST_F(ServiceTest, EmailHashesAreIndexedBothWays) {
  ASSERT_OK(CreateUser("Frank@Example.com"));
  EmailHashes h = HashesOf("frank@example.com");
  // The hash is known, the account just has no photo yet.
  EXPECT_MISSING(h.md5, "no_avatar");
  EXPECT_MISSING(h.sha256, "no_avatar");

  EmailHashes unknown = HashesOf("nobody@example.com");
  EXPECT_MISSING(unknown.md5, "unknown_hash");
  EXPECT_MISSING(unknown.sha256, "unknown_hash");
}

// ---- Sessions -------------------------------------------------------------------------

TEST_F(ServiceTest, LoginGivesTokenThatAuthenticates) {
  ASSERT_OK_AND_ASSIGN(AccountView grace, CreateUser("grace@example.com"));
  ASSERT_OK_AND_ASSIGN(LoginResult login, service_->Login(" GRACE@example.com ", kPassword));
  EXPECT_EQ(login.user_id, grace.id);
  EXPECT_EQ(login.expires, kStart + options_.session_ttl_seconds);
  ASSERT_EQ(login.token.size(), 4u + 64u);
  EXPECT_EQ(login.token.substr(0, 4), "glt_");
  EXPECT_TRUE(HexDecode(login.token.substr(4)).has_value()) << login.token;

  ASSERT_OK_AND_ASSIGN(Principal p, service_->Authenticate(login.token));
  EXPECT_EQ(p.user_id, grace.id);
  EXPECT_FALSE(p.admin);
  EXPECT_TRUE(p.authenticated());

  // Each login is a new session with its own token.
  ASSERT_OK_AND_ASSIGN(LoginResult second, service_->Login("grace@example.com", kPassword));
  EXPECT_NE(second.token, login.token);
}

TEST_F(ServiceTest, WrongPasswordAndUnknownEmailAreTheSameRefusal) {
  ASSERT_OK(CreateUser("heidi@example.com"));
  auto wrong_password = service_->Login("heidi@example.com", "not the password");
  auto unknown_email = service_->Login("ivan@example.com", kPassword);
  auto malformed_email = service_->Login("not an email", kPassword);
  EXPECT_ERROR(wrong_password, Code::kUnauthenticated, "invalid_credentials");
  EXPECT_ERROR(unknown_email, Code::kUnauthenticated, "invalid_credentials");
  EXPECT_ERROR(malformed_email, Code::kUnauthenticated, "invalid_credentials");
  EXPECT_EQ(wrong_password.status().message(), unknown_email.status().message());
  EXPECT_EQ(wrong_password.status().message(), malformed_email.status().message());
}

TEST_F(ServiceTest, TokenExpiresWithTheClock) {
  ASSERT_OK(CreateUser("judy@example.com"));
  ASSERT_OK_AND_ASSIGN(LoginResult login, service_->Login("judy@example.com", kPassword));

  clock_.Advance(options_.session_ttl_seconds - 1);
  EXPECT_OK(service_->Authenticate(login.token));

  clock_.Advance(2);
  EXPECT_ERROR(service_->Authenticate(login.token), Code::kUnauthenticated, "invalid_token");
}

TEST_F(ServiceTest, LogoutEndsTheSession) {
  ASSERT_OK(CreateUser("mallory@example.com"));
  ASSERT_OK_AND_ASSIGN(LoginResult a, service_->Login("mallory@example.com", kPassword));
  ASSERT_OK_AND_ASSIGN(LoginResult b, service_->Login("mallory@example.com", kPassword));

  ASSERT_OK(service_->Logout(a.token));
  EXPECT_ERROR(service_->Authenticate(a.token), Code::kUnauthenticated, "invalid_token");
  // Only that session ends.
  EXPECT_OK(service_->Authenticate(b.token));
  // Idempotent.
  EXPECT_OK(service_->Logout(a.token));
  EXPECT_ERROR(service_->Authenticate(a.token), Code::kUnauthenticated, "invalid_token");
}

TEST_F(ServiceTest, AdminTokenIsAdmin) {
  ASSERT_OK_AND_ASSIGN(Principal p, service_->Authenticate(kAdminToken));
  EXPECT_TRUE(p.admin);
  EXPECT_EQ(p.user_id, 0u);
  EXPECT_TRUE(p.authenticated());

  std::string near = kAdminToken;
  near.back() = 'x';
  EXPECT_ERROR(service_->Authenticate(near), Code::kUnauthenticated, "invalid_token");
  EXPECT_ERROR(service_->Authenticate(std::string(kAdminToken) + "4"), Code::kUnauthenticated,
               "invalid_token");
  EXPECT_ERROR(service_->Authenticate(std::string(kAdminToken).substr(1)), Code::kUnauthenticated,
               "invalid_token");
}

TEST_F(ServiceTest, EmptyAdminTokenDisablesAdminLogin) {
  ServiceOptions no_admin = DefaultOptions();
  no_admin.admin_token.clear();
  ASSERT_NO_FATAL_FAILURE(RestartService(no_admin));
  EXPECT_ERROR(service_->Authenticate(""), Code::kUnauthenticated, "invalid_token");
  EXPECT_ERROR(service_->Authenticate(kAdminToken), Code::kUnauthenticated, "invalid_token");
}

TEST_F(ServiceTest, GarbageTokenIsInvalid) {
  ASSERT_OK(CreateUser("niaj@example.com"));
  ASSERT_OK_AND_ASSIGN(LoginResult login, service_->Login("niaj@example.com", kPassword));

  std::string flipped = login.token;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  const std::string garbage[] = {
      "",
      "garbage",
      "glt_",
      "glt_" + std::string(64, 'z'),
      "glt_" + std::string(64, '0'),  // well-formed, but no such session
      login.token + "0",
      login.token.substr(0, login.token.size() - 1),
      "xyz_" + login.token.substr(4),
      flipped,
  };
  for (const std::string& token : garbage) {
    SCOPED_TRACE("token: \"" + token + "\"");
    EXPECT_ERROR(service_->Authenticate(token), Code::kUnauthenticated, "invalid_token");
  }
  EXPECT_OK(service_->Authenticate(login.token));
}

// ---- Uploads --------------------------------------------------------------------------

TEST_F(ServiceTest, PreparedUploadRoundTrip) {
  ASSERT_OK_AND_ASSIGN(AccountView olivia, CreateUser("olivia@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("olivia@example.com"));
  const std::string jpeg = MakeJpeg(64, 48);

  ASSERT_OK_AND_ASSIGN(UploadTicket ticket, service_->PrepareUpload(who, {}, {}));
  EXPECT_EQ(ticket.grant.user_id, olivia.id);
  EXPECT_EQ(ticket.grant.expires, kStart + options_.upload_url_ttl_seconds);
  EXPECT_EQ(ticket.grant.max_bytes, options_.max_upload_bytes);
  EXPECT_EQ(ticket.grant.upload_id.size(), 32u);
  EXPECT_OK(service_->CheckUploadGrant(ticket.grant, ticket.signature));

  ASSERT_OK_AND_ASSIGN(UploadReceipt receipt,
                       service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(jpeg)));
  EXPECT_EQ(receipt.upload_id, ticket.grant.upload_id);
  EXPECT_EQ(receipt.header.format, codec::Format::kJpeg);
  EXPECT_EQ(receipt.header.width, 64u);
  EXPECT_EQ(receipt.header.height, 48u);
  EXPECT_EQ(receipt.bytes, jpeg.size());

  ASSERT_OK_AND_ASSIGN(PhotoView view, service_->RegisterUpload(who, receipt.upload_id));
  EXPECT_NE(view.photo.id, 0u);
  EXPECT_EQ(view.photo.owner, olivia.id);
  EXPECT_EQ(view.photo.width, 64u);
  EXPECT_EQ(view.photo.height, 48u);
  EXPECT_EQ(view.photo.format, codec::Format::kJpeg);
  EXPECT_EQ(view.photo.bytes, jpeg.size());
  EXPECT_TRUE(view.active) << "the first photo becomes the avatar";

  ASSERT_OK_AND_ASSIGN(AccountView account, service_->GetAccount(who, olivia.id));
  EXPECT_EQ(account.active_photo, view.photo.id);

  EmailHashes h = HashesOf("olivia@example.com");
  ASSERT_OK_AND_ASSIGN(AvatarRef ref, service_->ResolveAvatar(h.md5));
  EXPECT_EQ(ref.user_id, olivia.id);
  EXPECT_EQ(ref.photo_id, view.photo.id);
  EXPECT_EQ(ref.format, codec::Format::kJpeg);
  EXPECT_EQ(ref.blob.length, jpeg.size());
  EXPECT_EQ(ref.blob.checksum, view.photo.checksum);
  EXPECT_EQ(ref.etag, BlobEtag(ref.blob.checksum));
  ASSERT_OK_AND_ASSIGN(std::string served, blobs_->Read(ref.blob));
  EXPECT_EQ(served, jpeg);

  // The SHA-256 form names the same avatar.
  ASSERT_OK_AND_ASSIGN(AvatarRef by_sha, service_->ResolveAvatar(h.sha256));
  EXPECT_EQ(by_sha.photo_id, view.photo.id);
  ExpectSameLocation(by_sha.blob, ref.blob);

  // The upload became a photo: it cannot be registered twice.
  EXPECT_ERROR(service_->RegisterUpload(who, receipt.upload_id), Code::kConflict,
               "upload_already_registered");
  ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(who, olivia.id, 0, 10));
  EXPECT_EQ(photos.size(), 1u);
}

TEST_F(ServiceTest, PngAndWebpAreAccepted) {
  ASSERT_OK(CreateUser("peggy@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("peggy@example.com"));
  ASSERT_OK_AND_ASSIGN(PhotoView png, Upload(who, MakePng(20, 30)));
  EXPECT_EQ(png.photo.format, codec::Format::kPng);
  EXPECT_EQ(png.photo.width, 20u);
  EXPECT_EQ(png.photo.height, 30u);
  ASSERT_OK_AND_ASSIGN(PhotoView webp, service_->UploadPhoto(who, Bytes(MakeWebp(40, 10))));
  EXPECT_EQ(webp.photo.format, codec::Format::kWebp);
  EXPECT_EQ(webp.photo.width, 40u);
  EXPECT_EQ(webp.photo.height, 10u);
  EXPECT_FALSE(webp.active) << "only the first photo becomes active on its own";
}

TEST_F(ServiceTest, ExpiredUploadUrlIsRefused) {
  ASSERT_OK_AND_ASSIGN(AccountView rupert, CreateUser("rupert@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("rupert@example.com"));
  ASSERT_OK_AND_ASSIGN(UploadTicket ticket, service_->PrepareUpload(who, {}, int64_t{60}));
  EXPECT_EQ(ticket.grant.expires, kStart + 60);

  clock_.Advance(59);
  EXPECT_OK(service_->CheckUploadGrant(ticket.grant, ticket.signature));

  clock_.Advance(1);
  EXPECT_ERROR(service_->CheckUploadGrant(ticket.grant, ticket.signature), Code::kPermissionDenied,
               "upload_expired");
  const std::string jpeg = MakeJpeg(16, 16);
  EXPECT_ERROR(service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(jpeg)),
               Code::kPermissionDenied, "upload_expired");
  EXPECT_ERROR(service_->RegisterUpload(who, ticket.grant.upload_id), Code::kNotFound,
               "upload_not_found");
  ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(who, rupert.id, 0, 10));
  EXPECT_TRUE(photos.empty());
}

TEST_F(ServiceTest, TamperedGrantIsRefused) {
  ASSERT_OK_AND_ASSIGN(AccountView sybil, CreateUser("sybil@example.com"));
  ASSERT_OK_AND_ASSIGN(AccountView victim, CreateUser("trent@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("sybil@example.com"));
  ASSERT_OK_AND_ASSIGN(UploadTicket ticket, service_->PrepareUpload(who, uint64_t{1000}, {}));
  const std::string jpeg = MakeJpeg(32, 32);

  UploadGrant other_user = ticket.grant;
  other_user.user_id = victim.id;  // try to upload into someone else's account
  EXPECT_ERROR(service_->ReceiveUpload(other_user, ticket.signature, Bytes(jpeg)),
               Code::kPermissionDenied, "bad_signature");

  UploadGrant bigger = ticket.grant;
  bigger.max_bytes = options_.max_upload_bytes;
  EXPECT_ERROR(service_->ReceiveUpload(bigger, ticket.signature, Bytes(jpeg)),
               Code::kPermissionDenied, "bad_signature");

  UploadGrant later = ticket.grant;
  later.expires += 3600;
  EXPECT_ERROR(service_->CheckUploadGrant(later, ticket.signature), Code::kPermissionDenied,
               "bad_signature");

  UploadGrant other_id = ticket.grant;
  other_id.upload_id = NewUploadId();
  EXPECT_ERROR(service_->ReceiveUpload(other_id, ticket.signature, Bytes(jpeg)),
               Code::kPermissionDenied, "bad_signature");

  std::string bad_sig = ticket.signature;
  bad_sig[0] = bad_sig[0] == 'a' ? 'b' : 'a';
  EXPECT_ERROR(service_->ReceiveUpload(ticket.grant, bad_sig, Bytes(jpeg)), Code::kPermissionDenied,
               "bad_signature");
  EXPECT_ERROR(service_->ReceiveUpload(ticket.grant, "", Bytes(jpeg)), Code::kPermissionDenied,
               "bad_signature");

  for (uint64_t id : {sybil.id, victim.id}) {
    ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(Principal::Admin(), id, 0, 10));
    EXPECT_TRUE(photos.empty());
  }
  EXPECT_MISSING(HashesOf("trent@example.com").md5, "no_avatar");
}

TEST_F(ServiceTest, OversizeUploadIsRefused) {
  ServiceOptions small = DefaultOptions();
  small.max_upload_bytes = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(RestartService(small));
  ASSERT_OK_AND_ASSIGN(AccountView uma, CreateUser("uma@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("uma@example.com"));

  // Body larger than the grant's own limit.
  const std::string jpeg = MakeJpeg(64, 64);
  ASSERT_GT(jpeg.size(), 100u);
  ASSERT_OK_AND_ASSIGN(UploadTicket ticket, service_->PrepareUpload(who, uint64_t{100}, {}));
  EXPECT_EQ(ticket.grant.max_bytes, 100u);
  EXPECT_ERROR(service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(jpeg)),
               Code::kTooLarge, "upload_too_large");
  EXPECT_ERROR(service_->RegisterUpload(who, ticket.grant.upload_id), Code::kNotFound,
               "upload_not_found");

  // A body past the service-wide limit, on the one-step path.
  std::string huge = MakeJpeg(16, 16);
  huge.resize(small.max_upload_bytes + 1, '\0');
  EXPECT_ERROR(service_->UploadPhoto(who, Bytes(huge)), Code::kTooLarge, "upload_too_large");

  ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(who, uma.id, 0, 10));
  EXPECT_TRUE(photos.empty());
}

TEST_F(ServiceTest, NonImageIsRefused) {
  ASSERT_OK_AND_ASSIGN(AccountView victor, CreateUser("victor@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("victor@example.com"));
  ASSERT_OK_AND_ASSIGN(UploadTicket ticket, service_->PrepareUpload(who, {}, {}));
  const std::string text = "this is plain text, not a JPEG, PNG or WebP image";
  EXPECT_ERROR(service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(text)),
               Code::kUnsupportedMedia, "not_an_image");

  // A JPEG cut short after its magic is not an image either.
  std::string truncated = MakeJpeg(32, 32).substr(0, 12);
  EXPECT_ERROR(service_->UploadPhoto(who, Bytes(truncated)), Code::kUnsupportedMedia,
               "not_an_image");

  EXPECT_ERROR(service_->RegisterUpload(who, ticket.grant.upload_id), Code::kNotFound,
               "upload_not_found");
  ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(who, victor.id, 0, 10));
  EXPECT_TRUE(photos.empty());
  ASSERT_OK_AND_ASSIGN(AccountView account, service_->GetAccount(who, victor.id));
  EXPECT_EQ(account.active_photo, 0u);
}

TEST_F(ServiceTest, SecondPutOfSameUrlIsRefused) {
  ASSERT_OK(CreateUser("walter@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("walter@example.com"));
  ASSERT_OK_AND_ASSIGN(UploadTicket ticket, service_->PrepareUpload(who, {}, {}));
  const std::string first = MakeJpeg(32, 32);
  const std::string second = MakePng(32, 32);

  ASSERT_OK(service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(first)));
  EXPECT_ERROR(service_->CheckUploadGrant(ticket.grant, ticket.signature), Code::kConflict,
               "upload_already_received");
  EXPECT_ERROR(service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(second)),
               Code::kConflict, "upload_already_received");

  // The first body is what gets registered.
  ASSERT_OK_AND_ASSIGN(PhotoView view, service_->RegisterUpload(who, ticket.grant.upload_id));
  EXPECT_EQ(view.photo.format, codec::Format::kJpeg);
  ASSERT_OK_AND_ASSIGN(std::string served, AvatarBytes(HashesOf("walter@example.com").md5));
  EXPECT_EQ(served, first);
}

// A pre-signed URL is good for one PUT: registering the upload must not make it reusable
// for another body while the URL is still unexpired.
TEST_F(ServiceTest, PutOfAlreadyRegisteredUploadUrlIsRefused) {
  ASSERT_OK_AND_ASSIGN(AccountView xavier, CreateUser("xavier@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("xavier@example.com"));
  ASSERT_OK_AND_ASSIGN(UploadTicket ticket, service_->PrepareUpload(who, {}, {}));
  ASSERT_OK(service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(MakeJpeg(32, 32))));
  ASSERT_OK(service_->RegisterUpload(who, ticket.grant.upload_id));

  EXPECT_ERROR(service_->CheckUploadGrant(ticket.grant, ticket.signature), Code::kConflict,
               "upload_already_received");
  const std::string again = MakePng(16, 16);
  EXPECT_ERROR(service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(again)),
               Code::kConflict, "upload_already_received");
  (void)service_->RegisterUpload(who, ticket.grant.upload_id);
  ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(who, xavier.id, 0, 10));
  EXPECT_EQ(photos.size(), 1u);
}

TEST_F(ServiceTest, RegisteringSomeoneElsesUploadIsRefused) {
  ASSERT_OK_AND_ASSIGN(AccountView owner, CreateUser("yvonne@example.com"));
  ASSERT_OK_AND_ASSIGN(AccountView thief, CreateUser("zed@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal owner_p, LoginAs("yvonne@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal thief_p, LoginAs("zed@example.com"));
  ASSERT_OK_AND_ASSIGN(UploadTicket ticket, service_->PrepareUpload(owner_p, {}, {}));
  const std::string jpeg = MakeJpeg(40, 40);
  ASSERT_OK(service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(jpeg)));

  EXPECT_ERROR(service_->RegisterUpload(thief_p, ticket.grant.upload_id), Code::kPermissionDenied,
               "not_your_upload");

  // Nothing changed for either user.
  ASSERT_OK_AND_ASSIGN(auto thief_photos, service_->ListPhotos(thief_p, thief.id, 0, 10));
  EXPECT_TRUE(thief_photos.empty());
  ASSERT_OK_AND_ASSIGN(AccountView thief_account, service_->GetAccount(thief_p, thief.id));
  EXPECT_EQ(thief_account.active_photo, 0u);
  EXPECT_MISSING(HashesOf("zed@example.com").md5, "no_avatar");
  ASSERT_OK_AND_ASSIGN(auto owner_photos, service_->ListPhotos(owner_p, owner.id, 0, 10));
  EXPECT_TRUE(owner_photos.empty());

  // The owner can still register it.
  ASSERT_OK_AND_ASSIGN(PhotoView view, service_->RegisterUpload(owner_p, ticket.grant.upload_id));
  EXPECT_EQ(view.photo.owner, owner.id);
  ASSERT_OK_AND_ASSIGN(std::string served, AvatarBytes(HashesOf("yvonne@example.com").sha256));
  EXPECT_EQ(served, jpeg);
}

TEST_F(ServiceTest, RegisterUnknownUploadIsNotFound) {
  ASSERT_OK(CreateUser("amy@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("amy@example.com"));
  EXPECT_ERROR(service_->RegisterUpload(who, NewUploadId()), Code::kNotFound, "upload_not_found");
  // A prepared but never PUT upload is unknown too.
  ASSERT_OK_AND_ASSIGN(UploadTicket ticket, service_->PrepareUpload(who, {}, {}));
  EXPECT_ERROR(service_->RegisterUpload(who, ticket.grant.upload_id), Code::kNotFound,
               "upload_not_found");
}

// ---- Photos and the active avatar -----------------------------------------------------

TEST_F(ServiceTest, SetActivePhotoSwitchesTheAvatar) {
  ASSERT_OK_AND_ASSIGN(AccountView bea, CreateUser("bea@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("bea@example.com"));
  const std::string first = MakeJpeg(48, 48);
  const std::string second = MakePng(24, 24);
  ASSERT_OK_AND_ASSIGN(PhotoView p1, Upload(who, first));
  ASSERT_OK_AND_ASSIGN(PhotoView p2, Upload(who, second));
  EXPECT_TRUE(p1.active);
  EXPECT_FALSE(p2.active);
  EXPECT_GT(p2.photo.id, p1.photo.id);

  // Warm the cache with both hash forms of the first photo.
  EmailHashes h = HashesOf("bea@example.com");
  for (const std::string& hash : {h.md5, h.sha256}) {
    ASSERT_OK_AND_ASSIGN(AvatarRef ref, service_->ResolveAvatar(hash));
    EXPECT_EQ(ref.photo_id, p1.photo.id);
    ASSERT_OK_AND_ASSIGN(AvatarRef again, service_->ResolveAvatar(hash));
    EXPECT_EQ(again.photo_id, p1.photo.id);
  }

  ASSERT_OK_AND_ASSIGN(AccountView after, service_->SetActivePhoto(who, bea.id, p2.photo.id));
  EXPECT_EQ(after.active_photo, p2.photo.id);

  for (const std::string& hash : {h.md5, h.sha256}) {
    ASSERT_OK_AND_ASSIGN(AvatarRef ref, service_->ResolveAvatar(hash));
    EXPECT_EQ(ref.photo_id, p2.photo.id);
    EXPECT_EQ(ref.format, codec::Format::kPng);
    ASSERT_OK_AND_ASSIGN(std::string served, blobs_->Read(ref.blob));
    EXPECT_EQ(served, second);
  }
  ASSERT_OK_AND_ASSIGN(AccountView account, service_->GetAccount(who, bea.id));
  EXPECT_EQ(account.active_photo, p2.photo.id);
  ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(who, bea.id, 0, 10));
  ASSERT_EQ(photos.size(), 2u);
  EXPECT_FALSE(photos[0].active);
  EXPECT_TRUE(photos[1].active);

  // And back again.
  ASSERT_OK(service_->SetActivePhoto(who, bea.id, p1.photo.id));
  ASSERT_OK_AND_ASSIGN(std::string served, AvatarBytes(h.md5));
  EXPECT_EQ(served, first);
}

TEST_F(ServiceTest, ActivatingAnotherUsersPhotoIsRefusedAndChangesNothing) {
  ASSERT_OK_AND_ASSIGN(AccountView cy, CreateUser("cy@example.com"));
  ASSERT_OK(CreateUser("di@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal cy_p, LoginAs("cy@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal di_p, LoginAs("di@example.com"));
  const std::string cy_jpeg = MakeJpeg(30, 30);
  ASSERT_OK_AND_ASSIGN(PhotoView cy_photo, Upload(cy_p, cy_jpeg));
  ASSERT_OK_AND_ASSIGN(PhotoView di_photo, Upload(di_p, MakeJpeg(31, 31)));
  const std::string cy_md5 = HashesOf("cy@example.com").md5;
  ASSERT_OK_AND_ASSIGN(AvatarRef before, service_->ResolveAvatar(cy_md5));

  EXPECT_ERROR(service_->SetActivePhoto(cy_p, cy.id, di_photo.photo.id), Code::kNotFound,
               "photo_not_found");
  // Not even an admin can make one user's photo another user's avatar.
  EXPECT_ERROR(service_->SetActivePhoto(Principal::Admin(), cy.id, di_photo.photo.id),
               Code::kNotFound, "photo_not_found");
  EXPECT_ERROR(service_->SetActivePhoto(cy_p, cy.id, di_photo.photo.id + 1000), Code::kNotFound,
               "photo_not_found");

  ASSERT_OK_AND_ASSIGN(AvatarRef after, service_->ResolveAvatar(cy_md5));
  EXPECT_EQ(after.photo_id, cy_photo.photo.id);
  ExpectSameLocation(after.blob, before.blob);
  ASSERT_OK_AND_ASSIGN(AccountView account, service_->GetAccount(cy_p, cy.id));
  EXPECT_EQ(account.active_photo, cy_photo.photo.id);
  ASSERT_OK_AND_ASSIGN(std::string served, AvatarBytes(cy_md5));
  EXPECT_EQ(served, cy_jpeg);
}

TEST_F(ServiceTest, UserCannotActForAnotherUser) {
  ASSERT_OK(CreateUser("eve@example.com"));
  ASSERT_OK_AND_ASSIGN(AccountView fay, CreateUser("fay@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal eve_p, LoginAs("eve@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal fay_p, LoginAs("fay@example.com"));
  ASSERT_OK_AND_ASSIGN(PhotoView f1, Upload(fay_p, MakeJpeg(20, 20)));
  ASSERT_OK_AND_ASSIGN(PhotoView f2, Upload(fay_p, MakeJpeg(21, 21)));

  EXPECT_ERROR(service_->GetAccount(eve_p, fay.id), Code::kPermissionDenied, "not_allowed");
  EXPECT_ERROR(service_->SetActivePhoto(eve_p, fay.id, f2.photo.id), Code::kPermissionDenied,
               "not_allowed");
  EXPECT_ERROR(service_->ListPhotos(eve_p, fay.id, 0, 10), Code::kPermissionDenied, "not_allowed");
  EXPECT_ERROR(service_->GetAccount(Principal::Anonymous(), fay.id), Code::kPermissionDenied,
               "not_allowed");
  EXPECT_ERROR(service_->SetActivePhoto(Principal::Anonymous(), fay.id, f2.photo.id),
               Code::kPermissionDenied, "not_allowed");

  ASSERT_OK_AND_ASSIGN(AvatarRef ref, service_->ResolveAvatar(HashesOf("fay@example.com").md5));
  EXPECT_EQ(ref.photo_id, f1.photo.id);

  // The admin may act for her.
  ASSERT_OK_AND_ASSIGN(AccountView by_admin,
                       service_->SetActivePhoto(Principal::Admin(), fay.id, f2.photo.id));
  EXPECT_EQ(by_admin.active_photo, f2.photo.id);
}

TEST_F(ServiceTest, ListPhotosIsOwnerOrAdminOnly) {
  ASSERT_OK_AND_ASSIGN(AccountView gus, CreateUser("gus@example.com"));
  ASSERT_OK(CreateUser("hal@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal gus_p, LoginAs("gus@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal hal_p, LoginAs("hal@example.com"));
  ASSERT_OK_AND_ASSIGN(PhotoView photo, Upload(gus_p, MakeJpeg(22, 22)));

  for (const Principal& allowed : {gus_p, Principal::Admin()}) {
    ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(allowed, gus.id, 0, 10));
    ASSERT_EQ(photos.size(), 1u);
    EXPECT_EQ(photos[0].photo.id, photo.photo.id);
    EXPECT_EQ(photos[0].photo.owner, gus.id);
    EXPECT_TRUE(photos[0].active);
  }
  EXPECT_ERROR(service_->ListPhotos(hal_p, gus.id, 0, 10), Code::kPermissionDenied, "not_allowed");
  EXPECT_ERROR(service_->ListPhotos(Principal::Anonymous(), gus.id, 0, 10), Code::kPermissionDenied,
               "not_allowed");
  // Another user's list does not leak into one's own.
  ASSERT_OK_AND_ASSIGN(auto hal_photos, service_->ListPhotos(hal_p, hal_p.user_id, 0, 10));
  EXPECT_TRUE(hal_photos.empty());
}

TEST_F(ServiceTest, ListPhotosPaginatesWithAfter) {
  ASSERT_OK_AND_ASSIGN(AccountView ida, CreateUser("ida@example.com"));
  ASSERT_OK(CreateUser("jon@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal ida_p, LoginAs("ida@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal jon_p, LoginAs("jon@example.com"));
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(PhotoView v, service_->UploadPhoto(ida_p, Bytes(MakeJpeg(16 + i, 16))));
    ids.push_back(v.photo.id);
    // Interleave another user's photos: they must not appear in ida's pages.
    ASSERT_OK(service_->UploadPhoto(jon_p, Bytes(MakeJpeg(16, 16 + i))));
  }

  std::vector<uint64_t> seen;
  uint64_t after = 0;
  for (int page = 0; page < 10; ++page) {
    ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(ida_p, ida.id, after, 2));
    EXPECT_LE(photos.size(), 2u);
    if (photos.empty()) break;
    for (const PhotoView& p : photos) {
      EXPECT_EQ(p.photo.owner, ida.id);
      EXPECT_GT(p.photo.id, after);
      seen.push_back(p.photo.id);
    }
    after = photos.back().photo.id;
  }
  EXPECT_EQ(seen, ids);

  ASSERT_OK_AND_ASSIGN(auto tail, service_->ListPhotos(ida_p, ida.id, ids[2], 100));
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].photo.id, ids[3]);
  EXPECT_EQ(tail[1].photo.id, ids[4]);
  ASSERT_OK_AND_ASSIGN(auto none, service_->ListPhotos(ida_p, ida.id, ids[4], 100));
  EXPECT_TRUE(none.empty());
}

// "at most `limit`" holds for a limit of zero too.
TEST_F(ServiceTest, ListPhotosWithZeroLimitIsEmpty) {
  ASSERT_OK_AND_ASSIGN(AccountView kim, CreateUser("kim@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal who, LoginAs("kim@example.com"));
  ASSERT_OK(service_->UploadPhoto(who, Bytes(MakeJpeg(16, 16))));
  ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(who, kim.id, 0, 0));
  EXPECT_TRUE(photos.empty()) << photos.size() << " photos returned for limit 0";
}

TEST_F(ServiceTest, AuthorizeBlobOwnerAndAdminOnly) {
  ASSERT_OK_AND_ASSIGN(AccountView lea, CreateUser("lea@example.com"));
  ASSERT_OK(CreateUser("max@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal lea_p, LoginAs("lea@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal max_p, LoginAs("max@example.com"));
  const std::string jpeg = MakeJpeg(26, 26);
  ASSERT_OK_AND_ASSIGN(PhotoView view, Upload(lea_p, jpeg));
  const uint64_t blob = view.photo.blob_id;

  EXPECT_ERROR(service_->AuthorizeBlob(Principal::Anonymous(), blob), Code::kUnauthenticated,
               "login_required");
  EXPECT_ERROR(service_->AuthorizeBlob(max_p, blob), Code::kPermissionDenied, "not_your_blob");

  ASSERT_OK_AND_ASSIGN(storage::BlobLocation by_owner, service_->AuthorizeBlob(lea_p, blob));
  EXPECT_EQ(by_owner.owner, lea.id);
  ASSERT_OK_AND_ASSIGN(std::string bytes, blobs_->Read(by_owner));
  EXPECT_EQ(bytes, jpeg);
  ASSERT_OK_AND_ASSIGN(storage::BlobLocation by_admin,
                       service_->AuthorizeBlob(Principal::Admin(), blob));
  ExpectSameLocation(by_admin, by_owner);

  EXPECT_ERROR(service_->AuthorizeBlob(lea_p, blob + 1000), Code::kNotFound, "blob_not_found");
}

// ---- Durability and concurrency -------------------------------------------------------

TEST_F(ServiceTest, EverythingSurvivesReopen) {
  ASSERT_OK_AND_ASSIGN(AccountView nia, CreateUser("nia@example.com"));
  ASSERT_OK_AND_ASSIGN(LoginResult login, service_->Login("nia@example.com", kPassword));
  ASSERT_OK_AND_ASSIGN(Principal who, service_->Authenticate(login.token));
  const std::string jpeg = MakeJpeg(50, 40);
  ASSERT_OK_AND_ASSIGN(PhotoView old_photo, Upload(who, jpeg));
  const EmailHashes h = HashesOf("nia@example.com");

  CloseAll();
  ASSERT_NO_FATAL_FAILURE(OpenAll());

  // Accounts, passwords and sessions are all on disk.
  ASSERT_OK_AND_ASSIGN(Principal again, LoginAs("nia@example.com"));
  EXPECT_EQ(again.user_id, nia.id);
  ASSERT_OK_AND_ASSIGN(Principal old_session, service_->Authenticate(login.token));
  EXPECT_EQ(old_session.user_id, nia.id);
  EXPECT_ERROR(CreateUser("NIA@example.com"), Code::kAlreadyExists, "email_taken");

  for (const std::string& hash : {h.md5, h.sha256}) {
    ASSERT_OK_AND_ASSIGN(AvatarRef ref, service_->ResolveAvatar(hash));
    EXPECT_EQ(ref.photo_id, old_photo.photo.id);
    ASSERT_OK_AND_ASSIGN(std::string served, blobs_->Read(ref.blob));
    EXPECT_EQ(served, jpeg);
  }
  ASSERT_OK_AND_ASSIGN(auto photos, service_->ListPhotos(again, nia.id, 0, 10));
  ASSERT_EQ(photos.size(), 1u);
  EXPECT_EQ(photos[0].photo.id, old_photo.photo.id);
  EXPECT_TRUE(photos[0].active);

  // Id counters resume after the stored ids.
  const std::string png = MakePng(12, 12);
  ASSERT_OK_AND_ASSIGN(PhotoView new_photo, Upload(again, png));
  EXPECT_GT(new_photo.photo.id, old_photo.photo.id);
  EXPECT_GT(new_photo.photo.blob_id, old_photo.photo.blob_id);
  ASSERT_OK_AND_ASSIGN(AccountView other, CreateUser("oz@example.com"));
  EXPECT_GT(other.id, nia.id);

  // The old photo's bytes are untouched by the new append.
  ASSERT_OK_AND_ASSIGN(storage::BlobLocation old_loc,
                       service_->AuthorizeBlob(again, old_photo.photo.blob_id));
  ASSERT_OK_AND_ASSIGN(std::string old_bytes, blobs_->Read(old_loc));
  EXPECT_EQ(old_bytes, jpeg);
  ASSERT_OK_AND_ASSIGN(storage::BlobLocation new_loc,
                       service_->AuthorizeBlob(again, new_photo.photo.blob_id));
  ASSERT_OK_AND_ASSIGN(std::string new_bytes, blobs_->Read(new_loc));
  EXPECT_EQ(new_bytes, png);
}

TEST_F(ServiceTest, ConcurrentRegistrationOfOneEmailCreatesOneAccount) {
  constexpr int kThreads = 8;
  std::vector<Status> results(kThreads);
  std::vector<uint64_t> ids(kThreads, 0);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      // Case variants of one address: all normalise to the same account.
      std::string email = i % 2 ? "Quinn@Example.com" : "quinn@example.COM";
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      auto r = service_->CreateAccount(Principal::Admin(), email, kPassword);
      results[i] = r.status();
      if (r.ok()) ids[i] = r->id;
    });
  }
  for (auto& t : threads) t.join();

  int created = 0;
  uint64_t id = 0;
  for (int i = 0; i < kThreads; ++i) {
    if (results[i].ok()) {
      ++created;
      id = ids[i];
    } else {
      EXPECT_EQ(results[i].code(), Code::kAlreadyExists) << results[i].ToString();
      EXPECT_EQ(results[i].reason(), "email_taken") << results[i].ToString();
    }
  }
  EXPECT_EQ(created, 1);
  ASSERT_OK_AND_ASSIGN(Principal quinn, LoginAs("quinn@example.com"));
  EXPECT_EQ(quinn.user_id, id);
}

// ---- AvatarCache ----------------------------------------------------------------------

// A 16-byte digest-like key whose first byte is `first` (the cache shards by digest).
std::string Key(unsigned first, uint64_t n) {
  std::string k(16, '\0');
  k[0] = static_cast<char>(first);
  for (int i = 0; i < 8; ++i) k[1 + i] = static_cast<char>(n >> (8 * i));
  return k;
}

AvatarRef Ref(uint64_t photo_id) {
  AvatarRef r;
  r.user_id = 7;
  r.photo_id = photo_id;
  r.blob.segment = 1;
  r.blob.offset = photo_id * 100;
  r.blob.length = 42;
  r.blob.checksum = photo_id * 31;
  r.blob.owner = 7;
  r.format = codec::Format::kPng;
  r.etag = BlobEtag(r.blob.checksum);
  return r;
}

TEST(AvatarCacheTest, InsertThenFind) {
  AvatarCache cache(1024);
  const std::string k = Key(1, 1);
  EXPECT_EQ(cache.Find(k), std::nullopt);
  cache.Insert(k, Ref(5), cache.Generation(k));
  auto found = cache.Find(k);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->user_id, 7u);
  EXPECT_EQ(found->photo_id, 5u);
  EXPECT_EQ(found->blob.offset, 500u);
  EXPECT_EQ(found->format, codec::Format::kPng);
  EXPECT_EQ(found->etag, BlobEtag(5 * 31));
  EXPECT_EQ(cache.Find(Key(1, 2)), std::nullopt);

  // A later insert replaces the answer.
  cache.Insert(k, Ref(6), cache.Generation(k));
  ASSERT_TRUE(cache.Find(k).has_value());
  EXPECT_EQ(cache.Find(k)->photo_id, 6u);
}

TEST(AvatarCacheTest, InvalidateDropsEntry) {
  AvatarCache cache(1024);
  const std::string a = Key(1, 1), b = Key(2, 2);
  cache.Insert(a, Ref(1), cache.Generation(a));
  cache.Insert(b, Ref(2), cache.Generation(b));
  cache.Invalidate(a);
  EXPECT_EQ(cache.Find(a), std::nullopt);
  ASSERT_TRUE(cache.Find(b).has_value());
  EXPECT_EQ(cache.Find(b)->photo_id, 2u);
  // Invalidating what is absent is harmless.
  cache.Invalidate(Key(3, 3));
  cache.Invalidate(a);
  EXPECT_EQ(cache.Find(a), std::nullopt);
}

TEST(AvatarCacheTest, StaleInsertAfterInvalidateIsIgnored) {
  AvatarCache cache(1024);
  const std::string k = Key(9, 9);
  uint64_t before = cache.Generation(k);  // a reader starts its database lookup...
  cache.Invalidate(k);                    // ...a writer changes the avatar...
  cache.Insert(k, Ref(1), before);        // ...and the reader's stale answer arrives.
  EXPECT_EQ(cache.Find(k), std::nullopt);

  // A reader that started after the change may insert.
  cache.Insert(k, Ref(2), cache.Generation(k));
  ASSERT_TRUE(cache.Find(k).has_value());
  EXPECT_EQ(cache.Find(k)->photo_id, 2u);

  // An entry already present is not resurrected by a stale insert either.
  uint64_t stale = cache.Generation(k);
  cache.Invalidate(k);
  cache.Insert(k, Ref(3), stale);
  EXPECT_EQ(cache.Find(k), std::nullopt);
}

// Inserts keys with every possible first byte (so every shard is hit), many times over, and
// counts what is still findable. With a budget of at least one entry per shard, the entry
// just inserted is always there.
size_t FillAndCount(AvatarCache& cache, unsigned rounds, bool every_shard_has_room = true) {
  for (unsigned n = 0; n < rounds; ++n) {
    for (unsigned first = 0; first < 256; ++first) {
      const std::string k = Key(first, n);
      cache.Insert(k, Ref(n * 256 + first + 1), cache.Generation(k));
      if (every_shard_has_room) {
        EXPECT_TRUE(cache.Find(k).has_value());
      }
    }
  }
  size_t found = 0;
  for (unsigned n = 0; n < rounds; ++n) {
    for (unsigned first = 0; first < 256; ++first) found += cache.Find(Key(first, n)).has_value();
  }
  return found;
}

TEST(AvatarCacheTest, BoundedSize) {
  constexpr size_t kBudget = 64;
  AvatarCache cache(kBudget);
  size_t found = FillAndCount(cache, 8);  // 2048 inserts
  EXPECT_LE(found, kBudget);
  EXPECT_GT(found, 0u);
}

// max_entries is a bound even when it is smaller than the number of shards.
TEST(AvatarCacheTest, BudgetSmallerThanShardCountIsStillABound) {
  constexpr size_t kBudget = 4;
  AvatarCache cache(kBudget);
  size_t found = FillAndCount(cache, 2, /*every_shard_has_room=*/false);
  EXPECT_LE(found, kBudget);
  EXPECT_GT(found, 0u);
}

}  // namespace
}  // namespace glint::core
