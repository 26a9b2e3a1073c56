// `glint admin fsck [--repair]` and `glint admin rebuild-index` end to end: a data directory
// filled by the real server over HTTP, damaged while the server is stopped, checked and
// repaired by the real binary, then served again (tools/fsck.h).
#include "tools/fsck.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "core/records.h"
#include "storage/blob_store.h"
#include "storage/db.h"
#include "storage/record.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"

namespace glint {
namespace {

using storage::Cf;
using storage::U64Key;
using testutil::ChildProcess;
using testutil::GlintServer;
using testutil::HttpClient;
using testutil::HttpResponse;
using testutil::ReadFileOrEmpty;
using testutil::TempDir;
namespace json = boost::json;

constexpr uint64_t kHeaderBytes = 40;  // docs/formats.md, "Blob segment record"

testutil::Headers Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

json::object Json(const HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << r.body;
    return {};
  }
  return v.as_object();
}

std::string Str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

struct StoredPhoto {
  std::string id;
  uint64_t blob_id = 0;
  std::string bytes;
};

class FsckToolTest : public ::testing::Test {
 protected:
  std::string data_dir() const { return dir_.path() + "/var"; }

  // Starts glint, makes a user with three photos and a rendered variant of the first, stops.
  void Populate() {
    GlintServer server(data_dir(), {"--renditions", ""});
    ASSERT_NE(server.port(), 0);
    HttpClient client(server.port());
    admin_ = server.admin_token();
    const std::string creds = R"({"email":"alice@example.com","password":"correct horse"})";
    ASSERT_EQ(client.Request("POST", "/v1/accounts", creds, Bearer(admin_)).status, 201);
    HttpResponse login = client.Request("POST", "/v1/sessions", creds);
    ASSERT_EQ(login.status, 201) << login.body;
    const std::string token = Str(Json(login), "token");
    for (int i = 0; i < 3; ++i) {
      StoredPhoto p;
      p.bytes = testutil::MakeJpeg(64 + 16 * i, 48);
      HttpResponse r = client.Request("POST", "/v1/photos", p.bytes, Bearer(token));
      ASSERT_EQ(r.status, 201) << r.body;
      json::object o = Json(r);
      p.id = Str(o, "image_id");
      const std::string url = Str(o, "image_url");
      p.blob_id = std::stoull(url.substr(url.rfind("/raw/") + 5));
      photos_.push_back(std::move(p));
    }
    ASSERT_EQ(client.Get("/p/" + photos_[0].id + "?w=16", Bearer(token)).status, 200);
    ASSERT_EQ(server.Stop(), 0) << server.log();
  }

  // Runs `glint admin ARGS... --data-dir <data_dir>`; returns its exit code, its standard
  // output and error in `out_`.
  int Admin(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {testutil::GlintBinary(), "admin"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--data-dir", data_dir()});
    const std::string log_path = dir_.path() + "/admin.log";
    std::remove(log_path.c_str());
    ChildProcess child(argv, log_path);
    int code = child.Stop(0, std::chrono::seconds(120));
    out_ = ReadFileOrEmpty(log_path);
    return code;
  }

  std::unique_ptr<storage::Db> OpenDb() {
    auto db = storage::Db::Open(data_dir() + "/db", {});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  std::map<std::string, std::string> BlobRows() {
    std::map<std::string, std::string> rows;
    auto db = OpenDb();
    if (!db) return rows;
    EXPECT_TRUE(db->Scan(Cf::kBlobs, "", SIZE_MAX, [&](std::string_view k, std::string_view v) {
                    rows.emplace(k, v);
                    return true;
                  }).ok());
    return rows;
  }

  storage::BlobLocation Location(uint64_t blob_id) {
    auto rows = BlobRows();
    auto it = rows.find(U64Key(blob_id));
    EXPECT_NE(it, rows.end()) << "no index row for blob " << blob_id;
    if (it == rows.end()) return {};
    return *storage::BlobLocation::Decode(it->second);
  }

  void FlipByte(uint32_t segment, uint64_t offset) {
    char name[40];
    std::snprintf(name, sizeof name, "/blobs/seg-%08u.log", segment);
    int fd = ::open((data_dir() + name).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char c = 0;
    ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(offset)), 1);
    c = static_cast<char>(~c);
    ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
    ::close(fd);
  }

  TempDir dir_;
  std::string admin_;
  std::vector<StoredPhoto> photos_;
  std::string out_;
};

TEST_F(FsckToolTest, ACleanStorePassesAndARunningServerIsRefused) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  {
    GlintServer server(data_dir(), {"--renditions", ""});
    EXPECT_EQ(Admin({"fsck"}), tools::kExitCannotRun) << out_;
    EXPECT_NE(out_.find("glint admin fsck: "), std::string::npos) << out_;
    EXPECT_NE(out_.find("is in use by another process: stop `glint serve` first"),
              std::string::npos)
        << out_;
    EXPECT_EQ(Admin({"rebuild-index"}), tools::kExitCannotRun) << out_;
    EXPECT_EQ(server.Stop(), 0);
  }
  EXPECT_EQ(Admin({"fsck"}), tools::kExitClean) << out_;
  EXPECT_NE(out_.find("fsck: 3 photos, 1 variants, 0 pending uploads"), std::string::npos) << out_;
  EXPECT_NE(out_.find("fsck: 0 tags (0 tagged rows), 0 badges (0 senders counted)"),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("fsck: clean"), std::string::npos) << out_;
  EXPECT_EQ(out_.find("fsck: segment "), std::string::npos) << "a tiny store printed progress\n"
                                                            << out_;
}

TEST_F(FsckToolTest, AMissingDataDirectoryIsReported) {
  EXPECT_EQ(Admin({"fsck"}), tools::kExitCannotRun) << out_;
  EXPECT_NE(out_.find("no glint data directory at " + data_dir()), std::string::npos) << out_;
}

TEST_F(FsckToolTest, AFlippedPayloadByteIsReportedNamingThePhoto) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const StoredPhoto& victim = photos_[1];
  const storage::BlobLocation loc = Location(victim.blob_id);
  ASSERT_NO_FATAL_FAILURE(FlipByte(loc.segment, loc.offset + kHeaderBytes + 100));
  EXPECT_EQ(Admin({"fsck"}), tools::kExitDifferences) << out_;
  EXPECT_NE(out_.find("damaged_index_row: the index row of blob " + std::to_string(victim.blob_id)),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("the original of photo " + victim.id), std::string::npos) << out_;
  EXPECT_NE(out_.find("payload checksum mismatch"), std::string::npos) << out_;
  EXPECT_NE(out_.find("fsck: 2 differences (damaged_record 1, damaged_index_row 1)"),
            std::string::npos)
      << out_;
  // --repair cannot make the bytes up: it says so, and the exit status stays 1.
  EXPECT_EQ(Admin({"fsck", "--repair"}), tools::kExitDifferences) << out_;
  EXPECT_NE(out_.find("left as is: no intact copy of the bytes exists"), std::string::npos) << out_;
}

TEST_F(FsckToolTest, ADeletedIndexRowIsReportedAndRestoredByRepair) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const auto before = BlobRows();
  {
    auto db = OpenDb();
    ASSERT_NE(db, nullptr);
    storage::WriteBatch batch;
    batch.Delete(Cf::kBlobs, U64Key(photos_[2].blob_id));
    ASSERT_TRUE(db->Write(batch).ok());
  }
  EXPECT_EQ(Admin({"fsck"}), tools::kExitDifferences) << out_;
  EXPECT_NE(out_.find("missing_index_row: blob " + std::to_string(photos_[2].blob_id) +
                      " has no index row; it is the original of photo " + photos_[2].id),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("--repair would add a row"), std::string::npos) << out_;

  EXPECT_EQ(Admin({"fsck", "--repair"}), tools::kExitDifferences) << out_;
  EXPECT_NE(out_.find("repaired: add a row"), std::string::npos) << out_;
  EXPECT_NE(out_.find("1 repaired, 0 left"), std::string::npos) << out_;
  EXPECT_EQ(BlobRows(), before);
  EXPECT_EQ(Admin({"fsck"}), tools::kExitClean) << out_;
}

TEST_F(FsckToolTest, RebuildIndexRestoresTheIndexAndTheServerServesEveryPhoto) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  auto expected = BlobRows();
  ASSERT_EQ(expected.size(), 4u);  // three photos and a variant
  const StoredPhoto& gone = photos_[2];
  {
    // Photo 3 deleted as core/ deletes: its rows in one batch, then a tombstone.
    auto db = OpenDb();
    ASSERT_NE(db, nullptr);
    auto photo_row = db->Get(Cf::kPhotos, U64Key(std::stoull(gone.id)));
    ASSERT_TRUE(photo_row.ok() && *photo_row);
    auto photo = core::Photo::Decode(**photo_row);
    ASSERT_TRUE(photo.ok());
    const storage::BlobLocation loc =
        *storage::BlobLocation::Decode(expected[U64Key(gone.blob_id)]);
    storage::WriteBatch batch;
    batch.Delete(Cf::kPhotos, U64Key(photo->id));
    batch.Delete(Cf::kUserPhotos, storage::U64PairKey(photo->owner, photo->id));
    batch.Delete(Cf::kBlobs, U64Key(gone.blob_id));
    ASSERT_TRUE(db->Write(batch).ok());
    auto blobs = storage::BlobStore::Open(data_dir() + "/blobs", {});
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    std::pair<uint64_t, storage::BlobLocation> deleted{gone.blob_id, loc};
    ASSERT_TRUE((*blobs)->AppendTombstones(std::span(&deleted, 1)).ok());
    expected.erase(U64Key(gone.blob_id));
    // Then the whole index is lost.
    storage::WriteBatch wipe;
    for (const auto& [key, value] : expected) wipe.Delete(Cf::kBlobs, key);
    ASSERT_TRUE(db->Write(wipe).ok());
  }
  ASSERT_TRUE(BlobRows().empty());

  EXPECT_EQ(Admin({"rebuild-index"}), tools::kExitClean) << out_;
  EXPECT_NE(out_.find("rebuild-index: 3 index rows (was 0): 3 written, 0 deleted"),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("1 deleted records"), std::string::npos) << out_;
  EXPECT_EQ(BlobRows(), expected);  // owners included
  EXPECT_EQ(Admin({"fsck"}), tools::kExitClean) << out_;

  GlintServer server(data_dir(), {"--renditions", ""});
  HttpClient client(server.port());
  for (size_t i = 0; i < 2; ++i) {
    HttpResponse raw = client.Get("/raw/" + std::to_string(photos_[i].blob_id), Bearer(admin_));
    EXPECT_EQ(raw.status, 200) << raw.body;
    EXPECT_EQ(raw.body, photos_[i].bytes) << "photo " << photos_[i].id;
    EXPECT_EQ(client.Get("/p/" + photos_[i].id, Bearer(admin_)).status, 200);
  }
  EXPECT_EQ(client.Get("/p/" + photos_[0].id + "?w=16", Bearer(admin_)).status, 200);
  EXPECT_EQ(client.Get("/raw/" + std::to_string(gone.blob_id), Bearer(admin_)).status, 404);
  EXPECT_EQ(server.Stop(), 0) << server.log();
}

}  // namespace
}  // namespace glint
