#include "storage/record.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace glint::storage {
namespace {

TEST(RecordTest, RoundTripsU64AndBytes) {
  const std::string binary("a\0b\xff", 4);
  std::string rec = RecordWriter()
                        .PutU64(1, 0)
                        .PutU64(2, std::numeric_limits<uint64_t>::max())
                        .PutBytes(3, "")
                        .PutBytes(4, binary)
                        .PutU64(300, 127)
                        .Finish();
  ASSERT_EQ(static_cast<uint8_t>(rec[0]), kRecordVersion);

  RecordReader r(rec);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.field(), 1u);
  EXPECT_FALSE(r.is_bytes());
  EXPECT_EQ(r.u64(), 0u);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.field(), 2u);
  EXPECT_EQ(r.u64(), std::numeric_limits<uint64_t>::max());
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.field(), 3u);
  EXPECT_TRUE(r.is_bytes());
  EXPECT_EQ(r.bytes(), "");
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.field(), 4u);
  EXPECT_EQ(r.bytes(), binary);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.field(), 300u);
  EXPECT_EQ(r.u64(), 127u);
  EXPECT_FALSE(r.Next());
  EXPECT_TRUE(r.status().ok()) << r.status().ToString();
}

TEST(RecordTest, UnknownFieldIsSkipped) {
  std::string rec =
      RecordWriter().PutU64(1, 7).PutBytes(99, "from a newer writer").PutBytes(2, "x").Finish();
  uint64_t one = 0;
  std::string two;
  RecordReader r(rec);
  while (r.Next()) {
    if (r.field() == 1) one = r.u64();
    if (r.field() == 2) two = std::string(r.bytes());
  }
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(one, 7u);
  EXPECT_EQ(two, "x");
}

TEST(RecordTest, NewerVersionIsRead) {
  std::string rec = RecordWriter().PutU64(1, 5).Finish();
  rec[0] = static_cast<char>(kRecordVersion + 1);
  RecordReader r(rec);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.u64(), 5u);
}

TEST(RecordTest, EveryTruncationIsCorruptionOrACleanFieldBoundary) {
  std::string rec = RecordWriter().PutU64(1, 1u << 20).PutBytes(2, "hello").Finish();
  // Cuts that land exactly after a field are valid shorter records; every other cut is
  // corruption, never a wrong value.
  const size_t after_first = 1 + 1 + 3;  // version, tag, 3-byte varint
  for (size_t len = 1; len < rec.size(); ++len) {
    RecordReader r(std::string_view(rec).substr(0, len));
    while (r.Next()) {
    }
    if (len == 1 || len == after_first) {
      EXPECT_TRUE(r.status().ok()) << "len " << len;
    } else {
      EXPECT_EQ(r.status().code(), Code::kCorruption) << "len " << len;
    }
  }
}

TEST(RecordTest, TruncatedBytesFieldIsCorruption) {
  std::string rec = RecordWriter().PutBytes(1, "hello").Finish();
  rec.pop_back();
  RecordReader r(rec);
  EXPECT_FALSE(r.Next());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_FALSE(r.Next());  // stays failed
}

TEST(RecordTest, OverlongVarintIsCorruption) {
  std::string rec(1, static_cast<char>(kRecordVersion));
  rec += '\x02';                   // field 1, varint
  rec += std::string(10, '\xff');  // 10 continuation bytes: more than 64 bits
  rec += '\x01';
  RecordReader r(rec);
  EXPECT_FALSE(r.Next());
  EXPECT_EQ(r.status().code(), Code::kCorruption);

  std::string bits65(1, static_cast<char>(kRecordVersion));
  bits65 += '\x02';
  bits65 += std::string(9, '\xff');
  bits65 += '\x02';  // 10th byte may only carry bit 63
  RecordReader r65(bits65);
  EXPECT_FALSE(r65.Next());
  EXPECT_EQ(r65.status().code(), Code::kCorruption);
}

TEST(RecordTest, MissingOrZeroVersionIsCorruption) {
  RecordReader empty("");
  EXPECT_FALSE(empty.Next());
  EXPECT_EQ(empty.status().code(), Code::kCorruption);
  RecordReader zero(std::string_view("\0\x02\x01", 3));
  EXPECT_FALSE(zero.Next());
  EXPECT_EQ(zero.status().code(), Code::kCorruption);
}

TEST(RecordTest, FieldZeroIsCorruption) {
  RecordReader r(std::string_view("\x01\x00\x05", 3));
  EXPECT_FALSE(r.Next());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
}

TEST(RecordKeyTest, BigEndianKeysSortNumerically) {
  EXPECT_LT(U64Key(255), U64Key(256));
  EXPECT_LT(U64Key(0), U64Key(1));
  EXPECT_LT(U64Key(1ull << 32), U64Key((1ull << 32) + 1));
  EXPECT_LT(U64Key(std::numeric_limits<uint64_t>::max() - 1),
            U64Key(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(U64Key(0x0102030405060708ull), std::string("\x01\x02\x03\x04\x05\x06\x07\x08"));
}

TEST(RecordKeyTest, U64PairKeyStartsWithFirstIdKey) {
  std::string key = U64PairKey(42, 7);
  ASSERT_EQ(key.size(), 16u);
  EXPECT_TRUE(key.starts_with(U64Key(42)));
  EXPECT_EQ(ReadU64BE(key, 0), 42u);
  EXPECT_EQ(ReadU64BE(key, 8), 7u);
  // All of one user's rows sort together and before the next user's.
  EXPECT_LT(U64PairKey(42, std::numeric_limits<uint64_t>::max()), U64PairKey(43, 0));
}

TEST(RecordKeyTest, ReadU64BERefusesShortKeys) {
  EXPECT_EQ(ReadU64BE("1234567"), std::nullopt);
  EXPECT_EQ(ReadU64BE(U64Key(9), 1), std::nullopt);
  EXPECT_EQ(ReadU64BE(U64Key(9), 100), std::nullopt);
  EXPECT_EQ(ReadU64BE(U64Key(9)), 9u);
}

}  // namespace
}  // namespace glint::storage
