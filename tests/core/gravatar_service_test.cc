// Gravatar's account model in core/: verified emails, per-email avatars, ratings and alt
// text, public profiles, and the AVATAR_CHANGED events (with the purge worker that follows
// them).
#include <chrono>
#include <mutex>
#include <set>

#include <boost/json.hpp>

#include "core/events.h"
#include "core/mailer.h"
#include "core/purger.h"
#include "storage/record.h"
#include "tests/core/service_fixture.h"

namespace glint::core {
namespace {

using namespace std::chrono_literals;

// Keeps what the Service mails, so a test can read the verification token as the
// recipient would.
class RecordingMailer final : public Mailer {
 public:
  Status Send(const Mail& mail) override {
    std::lock_guard lock(mu_);
    if (fail_) return Unavailable("SMTP server down");
    mails_.push_back(mail);
    return Status::Ok();
  }
  std::vector<Mail> mails() {
    std::lock_guard lock(mu_);
    return mails_;
  }
  // The token of the last mail to `to`.
  std::string TokenFor(std::string_view to) {
    std::lock_guard lock(mu_);
    for (auto it = mails_.rbegin(); it != mails_.rend(); ++it) {
      if (it->to != to) continue;
      size_t at = it->text.find("token: ");
      if (at != std::string::npos) return it->text.substr(at + 7, 68);
    }
    return {};
  }
  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }

 private:
  std::mutex mu_;
  std::vector<Mail> mails_;
  bool fail_ = false;
};

class GravatarServiceTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(Attach());
    ASSERT_OK_AND_ASSIGN(AccountView ann, CreateUser("ann@example.com"));
    ann_id_ = ann.id;
    ASSERT_OK_AND_ASSIGN(ann_, LoginAs("ann@example.com"));
  }

  void Attach() {
    auto events = EventLog::Open(*db_, clock_);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    events_ = std::move(*events);
    service_->SetEventLog(events_.get());
    service_->SetMailer(mailer_);
  }

  // The AVATAR_CHANGED subjects (sha256 hex) written since `after`.
  std::vector<std::string> ChangedSince(uint64_t after) {
    auto events = events_->Read(after, 1000);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    std::vector<std::string> out;
    for (const auto& e : *events)
      if (e.type == kAvatarChanged) out.push_back(e.subject);
    return out;
  }

  std::string Sha(std::string_view email) { return HashesOf(email).sha256; }
  std::string Md5(std::string_view email) { return HashesOf(email).md5; }

  Result<AvatarRef> Resolve(std::string_view hash) { return service_->ResolveAvatar(hash); }

  // Adds `email` to Ann's account and verifies it with the mailed token.
  void AddVerified(std::string_view email) {
    ASSERT_OK(service_->AddEmail(ann_, ann_id_, email));
    std::string token = mailer_->TokenFor(email);
    ASSERT_FALSE(token.empty());
    ASSERT_OK(service_->VerifyEmail(token));
  }

  std::shared_ptr<RecordingMailer> mailer_ = std::make_shared<RecordingMailer>();
  std::unique_ptr<EventLog> events_;
  uint64_t ann_id_ = 0;
  Principal ann_;
};

TEST_F(GravatarServiceTest, AnAdminCreatedAccountIsVerifiedASignUpIsNot) {
  PhotoView photo = *Upload(ann_, MakeJpeg(40, 30));
  ASSERT_OK_AND_ASSIGN(AvatarRef ref, Resolve(Sha("ann@example.com")));
  EXPECT_EQ(ref.photo_id, photo.photo.id) << "the admin vouched for ann's address";
  EXPECT_TRUE(mailer_->mails().empty());

  ServiceOptions open = options_;
  open.open_registration = true;
  ASSERT_NO_FATAL_FAILURE(RestartService(open));
  ASSERT_NO_FATAL_FAILURE(Attach());
  ASSERT_OK(service_->CreateAccount(Principal::Anonymous(), "Bob@Example.com ", kPassword));
  ASSERT_OK_AND_ASSIGN(Principal bob, LoginAs("bob@example.com"));
  ASSERT_OK(Upload(bob, MakePng(20, 20)));
  for (const std::string& h : {Sha("bob@example.com"), Md5("bob@example.com")}) {
    ASSERT_OK_AND_ASSIGN(AvatarRef unverified, Resolve(h));
    EXPECT_EQ(unverified.photo_id, 0u) << "nothing is served for an address nobody proved";
    EXPECT_EQ(unverified.missing, "unverified");
  }
  ASSERT_EQ(mailer_->mails().size(), 1u);
  EXPECT_EQ(mailer_->mails()[0].to, "bob@example.com");
  std::string token = mailer_->TokenFor("bob@example.com");
  ASSERT_EQ(token.size(), 68u) << mailer_->mails()[0].text;

  const uint64_t before = events_->Watermark();
  ASSERT_OK_AND_ASSIGN(EmailView verified, service_->VerifyEmail(token));
  EXPECT_TRUE(verified.verified);
  ASSERT_OK_AND_ASSIGN(AvatarRef served, Resolve(Md5("bob@example.com")));
  EXPECT_NE(served.photo_id, 0u) << "the verification drops the cached 'unverified' answer";
  EXPECT_EQ(ChangedSince(before), std::vector<std::string>{HexEncode(Sha("bob@example.com"))});
  EXPECT_ERROR(service_->VerifyEmail(token), Code::kNotFound, "invalid_token");
}

TEST_F(GravatarServiceTest, TokensExpireAndOnlyTheNewestWorks) {
  ASSERT_OK_AND_ASSIGN(VerificationSent first, service_->AddEmail(ann_, ann_id_, "a2@example.com"));
  EXPECT_TRUE(first.token.empty()) << "only admins see the token; the owner reads it in the mail";
  EXPECT_FALSE(first.email.verified);
  std::string old_token = mailer_->TokenFor("a2@example.com");
  ASSERT_OK_AND_ASSIGN(VerificationSent again,
                       service_->ResendVerification(ann_, ann_id_, Md5("a2@example.com")));
  std::string new_token = mailer_->TokenFor("a2@example.com");
  ASSERT_NE(old_token, new_token);
  EXPECT_ERROR(service_->VerifyEmail(old_token), Code::kNotFound, "invalid_token");
  EXPECT_ERROR(service_->VerifyEmail("gev_not-a-token"), Code::kNotFound, "invalid_token");
  clock_.Advance(options_.email_token_ttl_seconds);
  EXPECT_ERROR(service_->VerifyEmail(new_token), Code::kNotFound, "invalid_token");

  ASSERT_OK_AND_ASSIGN(
      VerificationSent by_admin,
      service_->ResendVerification(Principal::Admin(), ann_id_, Sha("a2@example.com")));
  ASSERT_FALSE(by_admin.token.empty()) << "an admin without mail hands the token over";
  EXPECT_OK(service_->VerifyEmail(by_admin.token));
  EXPECT_ERROR(service_->ResendVerification(ann_, ann_id_, Sha("a2@example.com")), Code::kConflict,
               "already_verified");
}

TEST_F(GravatarServiceTest, AFailedMailLeavesTheAddressToRetry) {
  mailer_->set_fail(true);
  EXPECT_ERROR(service_->AddEmail(ann_, ann_id_, "a3@example.com"), Code::kUnavailable,
               "mail_failed");
  ASSERT_OK_AND_ASSIGN(auto emails, service_->ListEmails(ann_, ann_id_));
  ASSERT_EQ(emails.size(), 2u);
  EXPECT_FALSE(emails[1].verified);
  mailer_->set_fail(false);
  EXPECT_OK(service_->ResendVerification(ann_, ann_id_, Sha("a3@example.com")));
  EXPECT_OK(service_->VerifyEmail(mailer_->TokenFor("a3@example.com")));
}

TEST_F(GravatarServiceTest, EachEmailCanShowItsOwnAvatar) {
  PhotoView first = *Upload(ann_, MakeJpeg(40, 30));
  PhotoView second = *Upload(ann_, MakePng(30, 30));
  ASSERT_NO_FATAL_FAILURE(AddVerified("work@example.com"));
  EXPECT_EQ(Resolve(Sha("work@example.com"))->photo_id, first.photo.id) << "the account default";

  const uint64_t before = events_->Watermark();
  ASSERT_OK_AND_ASSIGN(
      EmailView work,
      service_->SetEmailAvatar(ann_, ann_id_, Md5("work@example.com"), second.photo.id));
  EXPECT_EQ(work.photo_id, second.photo.id);
  EXPECT_EQ(Resolve(Sha("work@example.com"))->photo_id, second.photo.id);
  EXPECT_EQ(Resolve(Md5("work@example.com"))->photo_id, second.photo.id);
  EXPECT_EQ(Resolve(Sha("ann@example.com"))->photo_id, first.photo.id);
  EXPECT_EQ(ChangedSince(before), std::vector<std::string>{HexEncode(Sha("work@example.com"))});

  // The account default moves: only the emails following it change.
  const uint64_t mid = events_->Watermark();
  ASSERT_OK(service_->SetActivePhoto(ann_, ann_id_, second.photo.id));
  EXPECT_EQ(ChangedSince(mid), std::vector<std::string>{HexEncode(Sha("ann@example.com"))});
  ASSERT_OK(service_->SetEmailAvatar(ann_, ann_id_, Sha("work@example.com"), 0));
  EXPECT_EQ(Resolve(Sha("work@example.com"))->photo_id, second.photo.id);

  // Nobody else's photo, and nobody else's email.
  ASSERT_OK(CreateUser("cy@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal cy, LoginAs("cy@example.com"));
  PhotoView cys = *Upload(cy, MakePng(10, 10));
  EXPECT_ERROR(service_->SetEmailAvatar(ann_, ann_id_, Sha("work@example.com"), cys.photo.id),
               Code::kNotFound, "photo_not_found");
  EXPECT_ERROR(service_->SetEmailAvatar(ann_, ann_id_, Sha("cy@example.com"), first.photo.id),
               Code::kNotFound, "email_not_found");
  EXPECT_ERROR(service_->SetEmailAvatar(cy, ann_id_, Sha("work@example.com"), 0),
               Code::kPermissionDenied, "not_allowed");
}

TEST_F(GravatarServiceTest, DeletingAChosenPhotoFallsBackToTheDefault) {
  PhotoView first = *Upload(ann_, MakeJpeg(40, 30));
  PhotoView second = *Upload(ann_, MakePng(30, 30));
  ASSERT_NO_FATAL_FAILURE(AddVerified("work@example.com"));
  ASSERT_OK(service_->SetEmailAvatar(ann_, ann_id_, Sha("work@example.com"), second.photo.id));
  const uint64_t before = events_->Watermark();
  ASSERT_OK(service_->DeletePhoto(ann_, second.photo.id));
  EXPECT_EQ(Resolve(Sha("work@example.com"))->photo_id, first.photo.id);
  EXPECT_EQ(ChangedSince(before), std::vector<std::string>{HexEncode(Sha("work@example.com"))});
  ASSERT_OK_AND_ASSIGN(auto emails, service_->ListEmails(ann_, ann_id_));
  EXPECT_EQ(emails[1].photo_id, 0u);

  const uint64_t mid = events_->Watermark();
  ASSERT_OK(service_->DeletePhoto(ann_, first.photo.id));
  auto changed = ChangedSince(mid);
  std::sort(changed.begin(), changed.end());
  std::vector<std::string> both{HexEncode(Sha("ann@example.com")),
                                HexEncode(Sha("work@example.com"))};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(changed, both);
  EXPECT_EQ(Resolve(Sha("work@example.com"))->missing, "no_avatar");
}

TEST_F(GravatarServiceTest, AnAddressBelongsToOneAccountButStaleClaimsLapse) {
  ASSERT_OK(CreateUser("cy@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal cy, LoginAs("cy@example.com"));
  EXPECT_ERROR(service_->AddEmail(cy, cy.user_id, "ANN@example.com"), Code::kAlreadyExists,
               "email_taken");
  ASSERT_OK(service_->AddEmail(ann_, ann_id_, "shared@example.com"));
  // A claim whose token is still valid holds.
  EXPECT_ERROR(service_->AddEmail(cy, cy.user_id, "shared@example.com"), Code::kAlreadyExists,
               "email_taken");
  EXPECT_ERROR(service_->AddEmail(ann_, ann_id_, "shared@example.com"), Code::kAlreadyExists,
               "email_taken");
  clock_.Advance(options_.email_token_ttl_seconds + 1);
  // Ann never proved it: Cy, who can read its mail, takes it.
  ASSERT_OK(service_->AddEmail(cy, cy.user_id, "shared@example.com"));
  ASSERT_OK(service_->VerifyEmail(mailer_->TokenFor("shared@example.com")));
  ASSERT_OK_AND_ASSIGN(auto anns, service_->ListEmails(ann_, ann_id_));
  EXPECT_EQ(anns.size(), 1u);
  ASSERT_OK_AND_ASSIGN(AvatarRef ref, Resolve(Sha("shared@example.com")));
  EXPECT_EQ(ref.user_id, cy.user_id);
}

TEST_F(GravatarServiceTest, RemovingAnEmailForgetsItsHashes) {
  ASSERT_OK(Upload(ann_, MakeJpeg(40, 30)));
  ASSERT_NO_FATAL_FAILURE(AddVerified("old@example.com"));
  ASSERT_NE(Resolve(Md5("old@example.com"))->photo_id, 0u);
  EXPECT_ERROR(service_->RemoveEmail(ann_, ann_id_, Sha("ann@example.com")), Code::kConflict,
               "primary_email");
  const uint64_t before = events_->Watermark();
  ASSERT_OK(service_->RemoveEmail(ann_, ann_id_, Md5("old@example.com")));
  EXPECT_EQ(Resolve(Md5("old@example.com"))->missing, "unknown_hash");
  EXPECT_EQ(Resolve(Sha("old@example.com"))->missing, "unknown_hash");
  EXPECT_EQ(ChangedSince(before), std::vector<std::string>{HexEncode(Sha("old@example.com"))});
  EXPECT_ERROR(service_->RemoveEmail(ann_, ann_id_, Md5("old@example.com")), Code::kNotFound,
               "email_not_found");
}

TEST_F(GravatarServiceTest, RatingAndAltTextArePhotoMetadata) {
  PhotoView photo = *Upload(ann_, MakeJpeg(40, 30));
  EXPECT_EQ(Resolve(Sha("ann@example.com"))->rating, "g");
  const uint64_t before = events_->Watermark();
  ASSERT_OK_AND_ASSIGN(PhotoView updated,
                       service_->UpdatePhoto(ann_, photo.photo.id, "PG", "Ann at the beach"));
  EXPECT_EQ(updated.photo.rating, "pg");
  EXPECT_EQ(updated.photo.alt_text, "Ann at the beach");
  ASSERT_OK_AND_ASSIGN(AvatarRef ref, Resolve(Sha("ann@example.com")));
  EXPECT_EQ(ref.rating, "pg") << "a re-rating reaches the cached answer";
  EXPECT_EQ(ref.alt_text, "Ann at the beach");
  EXPECT_EQ(ChangedSince(before).size(), 1u);
  EXPECT_ERROR(service_->UpdatePhoto(ann_, photo.photo.id, "nc-17", std::nullopt),
               Code::kInvalidArgument, "invalid_rating");
  EXPECT_ERROR(service_->UpdatePhoto(ann_, photo.photo.id, std::nullopt, std::string(501, 'a')),
               Code::kInvalidArgument, "invalid_alt_text");
  ASSERT_OK(CreateUser("cy@example.com"));
  ASSERT_OK_AND_ASSIGN(Principal cy, LoginAs("cy@example.com"));
  EXPECT_ERROR(service_->UpdatePhoto(cy, photo.photo.id, "x", std::nullopt), Code::kNotFound,
               "photo_not_found");
  EXPECT_EQ(RatingRank("G"), 0);
  EXPECT_EQ(RatingRank("x"), 3);
  EXPECT_EQ(RatingRank("xx"), std::nullopt);
}

TEST_F(GravatarServiceTest, Md5LookupsCanBeRefused) {
  ASSERT_OK(Upload(ann_, MakeJpeg(40, 30)));
  ServiceOptions sha_only = options_;
  sha_only.allow_md5 = false;
  ASSERT_NO_FATAL_FAILURE(RestartService(sha_only));
  EXPECT_EQ(Resolve(Md5("ann@example.com"))->missing, "unknown_hash");
  EXPECT_NE(Resolve(Sha("ann@example.com"))->photo_id, 0u);
  EXPECT_ERROR(service_->GetPublicProfile(Md5("ann@example.com")), Code::kNotFound, "unknown_hash");
}

TEST_F(GravatarServiceTest, PublicProfileShowsOnlyWhatTheOwnerSet) {
  Profile p;
  p.display_name = "Ann";
  p.location = "Lisbon";
  p.url = "https://ann.example.com/";
  ASSERT_OK(service_->SetProfile(ann_, ann_id_, p));
  ASSERT_OK_AND_ASSIGN(PublicProfile pub, service_->GetPublicProfile(Md5("ann@example.com")));
  EXPECT_EQ(pub.profile, p);
  EXPECT_EQ(pub.hash_hex, HexEncode(Md5("ann@example.com")));
  EXPECT_FALSE(pub.has_avatar);
  Profile bad = p;
  bad.url = "javascript:alert(1)";
  EXPECT_ERROR(service_->SetProfile(ann_, ann_id_, bad), Code::kInvalidArgument, "invalid_profile");
  bad = p;
  bad.description = std::string(1001, 'x');
  EXPECT_ERROR(service_->SetProfile(ann_, ann_id_, bad), Code::kInvalidArgument, "invalid_profile");
  ASSERT_OK(service_->AddEmail(ann_, ann_id_, "new@example.com"));
  // An unverified address has no profile.
  EXPECT_ERROR(service_->GetPublicProfile(Sha("new@example.com")), Code::kNotFound, "unknown_hash");
  EXPECT_ERROR(service_->GetPublicProfile(Sha("nobody@example.com")), Code::kNotFound,
               "unknown_hash");
}

TEST_F(GravatarServiceTest, ModifiedMovesForwardWithEveryChange) {
  PhotoView first = *Upload(ann_, MakeJpeg(40, 30));
  PhotoView second = *Upload(ann_, MakePng(30, 30));
  const int64_t t0 = Resolve(Sha("ann@example.com"))->modified;
  clock_.Advance(100);
  ASSERT_OK(service_->SetActivePhoto(ann_, ann_id_, second.photo.id));
  const int64_t t1 = Resolve(Sha("ann@example.com"))->modified;
  EXPECT_EQ(t1, t0 + 100);
  clock_.Advance(100);
  ASSERT_OK(service_->SetActivePhoto(ann_, ann_id_, first.photo.id));
  EXPECT_EQ(Resolve(Sha("ann@example.com"))->modified, t1 + 100)
      << "going back to an older photo is still a later change (If-Modified-Since)";
}

// ---- The event log ----

TEST_F(GravatarServiceTest, ReadersNeverSeePastAnEventStillBeingWritten) {
  const uint64_t start = events_->Watermark();
  storage::WriteBatch a, b;
  EventRecord e;
  e.type = "TEST";
  EventLog::Staged first = events_->Stage(a, {e});
  EventLog::Staged second = events_->Stage(b, {e, e});
  ASSERT_OK(db_->Write(b));
  second.Done(Status::Ok());
  EXPECT_EQ(events_->Watermark(), start) << "the first batch is not written yet";
  EXPECT_TRUE(events_->Read(start, 10)->empty());
  EXPECT_FALSE(events_->WaitBeyond(start, 10ms));
  std::thread writer([&] {
    std::this_thread::sleep_for(20ms);
    ASSERT_OK(db_->Write(a));
    first.Done(Status::Ok());
  });
  EXPECT_TRUE(events_->WaitBeyond(start, 5s));
  writer.join();
  ASSERT_OK_AND_ASSIGN(auto read, events_->Read(start, 10));
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0].seq, start + 1);
  EXPECT_EQ(read[2].seq, start + 3);
  EXPECT_EQ(read[0].time, kStart);

  // A batch that is never written leaves a gap, and the log goes on past it.
  storage::WriteBatch lost, kept;
  { EventLog::Staged abandoned = events_->Stage(lost, {e}); }
  EventLog::Staged ok = events_->Stage(kept, {e});
  ASSERT_OK(db_->Write(kept));
  ok.Done(Status::Ok());
  ASSERT_OK_AND_ASSIGN(auto after_gap, events_->Read(start + 3, 10));
  ASSERT_EQ(after_gap.size(), 1u);
  EXPECT_EQ(after_gap[0].seq, start + 5);

  // Sequences resume after a restart; cursors persist.
  ASSERT_OK(events_->Commit("c", start + 5));
  ASSERT_NO_FATAL_FAILURE(Attach());
  EXPECT_EQ(events_->Watermark(), start + 5);
  EXPECT_EQ(*events_->Cursor("c"), start + 5);
  EXPECT_EQ(*events_->Cursor("never"), 0u);
}

// ---- The purge worker ----

struct RecordedSend {
  std::mutex mu;
  std::vector<PurgeBatch> batches;
  int failures_left = 0;
  Status Send(const PurgeBatch& b) {
    std::lock_guard lock(mu);
    if (failures_left > 0) {
      --failures_left;
      return Unavailable("proxy down");
    }
    batches.push_back(b);
    return Status::Ok();
  }
  std::set<std::string> Keys() {
    std::lock_guard lock(mu);
    std::set<std::string> out;
    for (const auto& b : batches) out.insert(b.keys.begin(), b.keys.end());
    return out;
  }
};

// Polls `done` for up to 20 s: generous, as CI machines are shared and sometimes stall.
bool WaitFor(const std::function<bool()>& done) {
  for (auto until = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(5ms))
    if (done()) return true;
  return done();
}

TEST_F(GravatarServiceTest, PurgerTellsEveryTargetAndADeadOneHoldsBackOnlyItself) {
  PhotoView first = *Upload(ann_, MakeJpeg(40, 30));
  PhotoView second = *Upload(ann_, MakePng(30, 30));
  RecordedSend live, flaky;
  flaky.failures_left = 3;
  PurgerOptions options;
  options.initial_backoff = 10ms;
  options.max_backoff = 40ms;
  auto make = [&] {
    return std::make_unique<Purger>(
        *events_,
        std::vector<Purger::Target>{{"live", [&](const PurgeBatch& b) { return live.Send(b); }},
                                    {"flaky", [&](const PurgeBatch& b) { return flaky.Send(b); }}},
        options);
  };
  auto purger = make();
  purger->Start();
  // A target starts at the end of the log: the uploads before it are not purged.
  // Each target's thread finds its start on its own: wait for both, or under load the change
  // below may land before the flaky one looked, and it would rightly start after it.
  ASSERT_TRUE(WaitFor([&] {
    return purger->stats(0).cursor == events_->Watermark() &&
           purger->stats(1).cursor == events_->Watermark();
  }));
  ASSERT_OK(service_->SetActivePhoto(ann_, ann_id_, second.photo.id));
  const std::set<std::string> expected{"avatar-" + HexEncode(Md5("ann@example.com")),
                                       "avatar-" + HexEncode(Sha("ann@example.com"))};
  ASSERT_TRUE(WaitFor([&] { return live.Keys() == expected; }));
  {
    std::lock_guard lock(live.mu);
    const auto& paths = live.batches.back().paths;
    const std::string md5 = HexEncode(Md5("ann@example.com"));
    for (const std::string& p : {"/avatar/" + md5, "/" + md5, "/" + md5 + ".json"})
      EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;
  }
  ASSERT_TRUE(WaitFor([&] { return flaky.Keys() == expected; })) << "retried with backoff";
  EXPECT_EQ(purger->stats(1).failures, 3u);
  purger->Stop();

  // Cursors persist: a new worker resumes where the old one stopped and sends only news.
  ASSERT_OK(service_->SetActivePhoto(ann_, ann_id_, first.photo.id));
  const size_t sent_before = live.batches.size();
  purger = make();
  purger->Start();
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(live.mu);
    return live.batches.size() == sent_before + 1;
  }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(live.batches.size(), sent_before + 1) << "nothing is sent twice";
  purger->Stop();
}

TEST(PurgeBatchTest, CollectsBothHashesOfEveryChangedEmailOnce) {
  EventRecord a;
  a.type = std::string(kAvatarChanged);
  a.payload = R"({"sha256":"aa","md5":"bb"})";
  EventRecord other;
  other.type = "PHOTO_REGISTERED";
  other.payload = R"({"sha256":"cc"})";
  PurgeBatch b = PurgeBatchFor({a, other, a});
  EXPECT_EQ(b.keys, (std::vector<std::string>{"avatar-aa", "avatar-bb"}));
  EXPECT_EQ(b.paths.size(), 6u);
  EXPECT_TRUE(PurgeBatchFor({other}).keys.empty());
}

}  // namespace
}  // namespace glint::core
