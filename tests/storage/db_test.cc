#include "storage/db.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "storage/record.h"

namespace glint::storage {
namespace {

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/glint_db_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Db> OpenDb(DbOptions options = {}) {
    auto db = Db::Open(dir_, options);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  static std::optional<std::string> GetOrDie(const Db& db, Cf cf, std::string_view key) {
    auto r = db.Get(cf, key);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }

  std::string dir_;
};

TEST_F(DbTest, ColumnFamiliesAreSeparate) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  WriteBatch b;
  b.Put(Cf::kUsers, U64Key(1), "user");
  b.Put(Cf::kPhotos, U64Key(1), "photo");
  ASSERT_TRUE(db->Write(b).ok());
  EXPECT_EQ(GetOrDie(*db, Cf::kUsers, U64Key(1)), "user");
  EXPECT_EQ(GetOrDie(*db, Cf::kPhotos, U64Key(1)), "photo");
  EXPECT_EQ(GetOrDie(*db, Cf::kBlobs, U64Key(1)), std::nullopt);
  EXPECT_EQ(GetOrDie(*db, Cf::kSessions, U64Key(1)), std::nullopt);
}

TEST_F(DbTest, BatchAppliesPutsAndDeletesAcrossColumnFamilies) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  WriteBatch first;
  first.Put(Cf::kUsers, U64Key(1), "old");
  ASSERT_TRUE(db->Write(first).ok());

  WriteBatch b;
  b.Delete(Cf::kUsers, U64Key(1));
  b.Put(Cf::kPhotos, U64Key(9), "photo");
  b.Put(Cf::kUserPhotos, U64PairKey(1, 9), "");
  EXPECT_EQ(b.Count(), 3u);
  // Nothing is visible until Write.
  EXPECT_EQ(GetOrDie(*db, Cf::kPhotos, U64Key(9)), std::nullopt);
  ASSERT_TRUE(db->Write(b).ok());
  EXPECT_EQ(GetOrDie(*db, Cf::kUsers, U64Key(1)), std::nullopt);
  EXPECT_EQ(GetOrDie(*db, Cf::kPhotos, U64Key(9)), "photo");
  EXPECT_EQ(GetOrDie(*db, Cf::kUserPhotos, U64PairKey(1, 9)), "");
}

// Each batch sets both counters to i, users first in the batch. A reader that reads users
// and then photos must never see photos behind users: that would be a half-applied batch.
TEST_F(DbTest, BatchIsAtomicAcrossColumnFamilies) {
  auto db = OpenDb(DbOptions{.sync = false});
  ASSERT_NE(db, nullptr);
  constexpr uint64_t kBatches = 300;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto a = db->Get(Cf::kUsers, "counter");
      auto b = db->Get(Cf::kPhotos, "counter");
      if (!a.ok() || !b.ok()) continue;
      uint64_t x = a->has_value() ? *ReadU64BE(**a) : 0;
      uint64_t y = b->has_value() ? *ReadU64BE(**b) : 0;
      if (y < x) ++torn;
    }
  });
  for (uint64_t i = 1; i <= kBatches; ++i) {
    WriteBatch b;
    b.Put(Cf::kUsers, "counter", U64Key(i));
    b.Put(Cf::kPhotos, "counter", U64Key(i));
    ASSERT_TRUE(db->Write(b).ok());
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
}

TEST_F(DbTest, ScanVisitsPrefixInKeyOrderUpToLimit) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  WriteBatch b;
  // Inserted out of order, with neighbours on both sides of the prefix.
  for (uint64_t photo : {300, 2, 256, 1}) b.Put(Cf::kUserPhotos, U64PairKey(7, photo), "");
  b.Put(Cf::kUserPhotos, U64PairKey(6, 5), "");
  b.Put(Cf::kUserPhotos, U64PairKey(8, 0), "");
  ASSERT_TRUE(db->Write(b).ok());

  std::vector<uint64_t> seen;
  auto collect = [&](std::string_view key, std::string_view) {
    EXPECT_EQ(ReadU64BE(key, 0), 7u);
    seen.push_back(*ReadU64BE(key, 8));
    return true;
  };
  ASSERT_TRUE(db->Scan(Cf::kUserPhotos, U64Key(7), 100, collect).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 256, 300}));

  seen.clear();
  ASSERT_TRUE(db->Scan(Cf::kUserPhotos, U64Key(7), 3, collect).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 256}));

  seen.clear();
  ASSERT_TRUE(
      db->Scan(Cf::kUserPhotos, U64Key(7), 100, [&](std::string_view key, std::string_view) {
          seen.push_back(*ReadU64BE(key, 8));
          return seen.size() < 2;
        }).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
}

TEST_F(DbTest, ScanOfAllOnesPrefixReachesTheEnd) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  WriteBatch b;
  b.Put(Cf::kEmailHashes, std::string("\xff\xff\x01", 3), "a");
  b.Put(Cf::kEmailHashes, std::string("\xff\xfe", 2), "b");
  ASSERT_TRUE(db->Write(b).ok());
  int n = 0;
  ASSERT_TRUE(db->Scan(Cf::kEmailHashes, std::string("\xff\xff", 2), 10,
                       [&](std::string_view, std::string_view value) {
                         EXPECT_EQ(value, "a");
                         ++n;
                         return true;
                       })
                  .ok());
  EXPECT_EQ(n, 1);
}

TEST_F(DbTest, LastKeyIsTheGreatestKeyOrNullopt) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  auto empty = db->LastKey(Cf::kPhotos);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, std::nullopt);

  WriteBatch b;
  for (uint64_t id : {5, 256, 255, 1}) b.Put(Cf::kPhotos, U64Key(id), "p");
  b.Put(Cf::kUsers, U64Key(1000), "other family");
  ASSERT_TRUE(db->Write(b).ok());
  auto last = db->LastKey(Cf::kPhotos);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, U64Key(256));
}

TEST_F(DbTest, DataSurvivesCloseAndReopen) {
  {
    auto db = OpenDb();
    ASSERT_NE(db, nullptr);
    WriteBatch b;
    b.Put(Cf::kUsers, U64Key(1), "alice");
    b.Put(Cf::kSessions, "token-hash", "session");
    ASSERT_TRUE(db->Write(b).ok());
  }
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(GetOrDie(*db, Cf::kUsers, U64Key(1)), "alice");
  EXPECT_EQ(GetOrDie(*db, Cf::kSessions, "token-hash"), "session");
}

TEST_F(DbTest, SecondOpenWhileOpenIsUnavailable) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  auto second = Db::Open(dir_, DbOptions{});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable) << second.status().ToString();
  EXPECT_NE(second.status().message().find("in use by another process"), std::string::npos);
}

}  // namespace
}  // namespace glint::storage
