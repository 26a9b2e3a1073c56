// The Service test fixture: a Service over fresh stores in a temp dir, with a manual clock,
// and the assertion macros the core tests share.
#pragma once
#include "core/service.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/status.h"
#include "core/avatar_cache.h"
#include "core/email.h"
#include "core/upload_signer.h"
#include "storage/blob_store.h"
#include "storage/db.h"
#include "tests/testutil/images.h"

namespace glint::core {

using testutil::MakeJpeg;
using testutil::MakePng;
using testutil::MakeWebp;

inline const Status& StatusOf(const Status& s) { return s; }
template <class T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

#define ASSERT_OK(expr)                                            \
  do {                                                             \
    const ::glint::Status s_ = StatusOf(expr);                     \
    ASSERT_TRUE(s_.ok()) << #expr << " failed: " << s_.ToString(); \
  } while (0)

#define EXPECT_OK(expr)                                            \
  do {                                                             \
    const ::glint::Status s_ = StatusOf(expr);                     \
    EXPECT_TRUE(s_.ok()) << #expr << " failed: " << s_.ToString(); \
  } while (0)

#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr)                          \
  auto tmp = (expr);                                                        \
  ASSERT_TRUE(tmp.ok()) << #expr << " failed: " << tmp.status().ToString(); \
  lhs = std::move(tmp).value()

#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(GLINT_CONCAT_(assign_result_, __LINE__), lhs, expr)

// Asserts the code and the API reason of a failed Status or Result.
#define EXPECT_ERROR(expr, expected_code, expected_reason)                                       \
  do {                                                                                           \
    const ::glint::Status s_ = StatusOf(expr);                                                   \
    EXPECT_FALSE(s_.ok()) << #expr << " unexpectedly succeeded";                                 \
    EXPECT_EQ(CodeName(s_.code()), CodeName(expected_code)) << #expr << ": " << s_.ToString();   \
    EXPECT_EQ(s_.reason(), std::string_view(expected_reason)) << #expr << ": " << s_.ToString(); \
  } while (0)

// Asserts that ResolveAvatar answers "nothing to serve" for `hash`, for `why`.
#define EXPECT_MISSING(hash, why)                       \
  do {                                                  \
    auto ref_ = service_->ResolveAvatar(hash);          \
    ASSERT_TRUE(ref_.ok()) << ref_.status().ToString(); \
    EXPECT_EQ(ref_->photo_id, 0u);                      \
    EXPECT_EQ(ref_->missing, std::string_view(why));    \
  } while (0)

constexpr int64_t kStart = 1'700'000'000;
constexpr char kAdminToken[] = "admin-token-for-tests-0123";
constexpr char kSigningKey[] = "test-signing-key-0123456789abcdef-0123456789";
constexpr char kPassword[] = "correct horse battery staple";

inline std::span<const char> Bytes(const std::string& s) { return {s.data(), s.size()}; }

inline void ExpectSameLocation(const storage::BlobLocation& a, const storage::BlobLocation& b) {
  EXPECT_EQ(a.segment, b.segment);
  EXPECT_EQ(a.offset, b.offset);
  EXPECT_EQ(a.length, b.length);
  EXPECT_EQ(a.checksum, b.checksum);
  EXPECT_EQ(a.owner, b.owner);
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/glint_service_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    options_ = DefaultOptions();
    ASSERT_NO_FATAL_FAILURE(OpenAll());
  }

  void TearDown() override {
    CloseAll();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  static ServiceOptions DefaultOptions() {
    ServiceOptions o;
    o.signing_key = kSigningKey;
    o.admin_token = kAdminToken;
    // Argon2id at libsodium's minimum cost (crypto_pwhash_argon2id_OPSLIMIT_MIN = 1,
    // crypto_pwhash_argon2id_MEMLIMIT_MIN = 8192 bytes) so tests do not spend 64 MiB each.
    o.kdf = {1, 8192};
    return o;
  }

  void OpenAll() {
    auto db = storage::Db::Open(dir_ + "/db", storage::DbOptions{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto blobs = storage::BlobStore::Open(dir_ + "/blobs", storage::BlobStoreOptions{});
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::move(*blobs);
    ASSERT_NO_FATAL_FAILURE(StartService());
  }

  void StartService() {
    auto service = Service::Create(*db_, *blobs_, clock_, options_);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
  }

  // A new Service over the same stores, with `options`.
  void RestartService(ServiceOptions options) {
    service_.reset();
    options_ = std::move(options);
    ASSERT_NO_FATAL_FAILURE(StartService());
  }

  void CloseAll() {
    service_.reset();
    blobs_.reset();
    db_.reset();
  }

  Result<AccountView> CreateUser(std::string_view email) {
    return service_->CreateAccount(Principal::Admin(), email, kPassword);
  }

  // Logs in and turns the token into a Principal, as a request handler would.
  Result<Principal> LoginAs(std::string_view email, std::string_view password = kPassword) {
    GLINT_ASSIGN_OR_RETURN(LoginResult login, service_->Login(email, password));
    return service_->Authenticate(login.token);
  }

  // The pre-signed flow: prepare, PUT, register.
  Result<PhotoView> Upload(const Principal& who, const std::string& bytes) {
    GLINT_ASSIGN_OR_RETURN(UploadTicket ticket, service_->PrepareUpload(who, {}, {}));
    GLINT_ASSIGN_OR_RETURN(UploadReceipt receipt,
                           service_->ReceiveUpload(ticket.grant, ticket.signature, Bytes(bytes)));
    return service_->RegisterUpload(who, receipt.upload_id);
  }

  static EmailHashes HashesOf(std::string_view email) {
    auto normalized = NormalizeEmail(email);
    EXPECT_TRUE(normalized.ok()) << normalized.status().ToString();
    return HashEmail(normalized.ok() ? *normalized : std::string());
  }

  // The bytes served for `hash`, or the error (kNotFound with the reason when there is no
  // avatar to serve).
  Result<std::string> AvatarBytes(std::string_view hash) {
    GLINT_ASSIGN_OR_RETURN(AvatarRef ref, service_->ResolveAvatar(hash));
    if (ref.photo_id == 0) return NotFound("nothing to serve", ref.missing);
    return blobs_->Read(ref.blob);
  }

  std::string dir_;
  ManualClock clock_{kStart};
  ServiceOptions options_;
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<Service> service_;
};

}  // namespace glint::core
