#include "http/range.h"

#include <gtest/gtest.h>

namespace glint::http {
namespace {

constexpr std::string_view kEtag = "\"0123456789abcdef\"";

RangeDecision Decide(std::string_view range, uint64_t size = 100, std::string_view if_range = "") {
  return DecideRange(range, if_range, kEtag, size);
}

void ExpectPartial(std::string_view range, uint64_t first, uint64_t last, uint64_t size = 100) {
  RangeDecision d = Decide(range, size);
  ASSERT_EQ(d.kind, RangeDecision::kPartial) << range;
  EXPECT_EQ(d.range.first, first) << range;
  EXPECT_EQ(d.range.last, last) << range;
}

TEST(RangeTest, TheThreeFormsOfOneRange) {
  ExpectPartial("bytes=0-9", 0, 9);
  ExpectPartial("bytes=90-", 90, 99);
  ExpectPartial("bytes=-10", 90, 99);
  ExpectPartial("bytes=95-1000", 95, 99);  // the end is clamped to the size
  ExpectPartial("bytes=-1000", 0, 99);     // a suffix longer than the whole is the whole
  ExpectPartial("Bytes = 5-5", 5, 5);      // unit case and spaces
}

TEST(RangeTest, RangesOutsideTheRepresentationAreUnsatisfiable) {
  EXPECT_EQ(Decide("bytes=100-").kind, RangeDecision::kUnsatisfiable);
  EXPECT_EQ(Decide("bytes=150-200").kind, RangeDecision::kUnsatisfiable);
  EXPECT_EQ(Decide("bytes=-0").kind, RangeDecision::kUnsatisfiable);
  EXPECT_EQ(Decide("bytes=-5", 0).kind, RangeDecision::kUnsatisfiable);
}

TEST(RangeTest, WhatIsNotOneValidByteRangeGetsTheWhole) {
  for (std::string_view r :
       {"", "bytes=", "bytes=abc", "bytes=9-3", "items=0-9", "bytes 0-9", "bytes=0-9,20-29",
        "bytes=--5", "bytes=1-2-3", "bytes=99999999999999999999999-"}) {
    EXPECT_EQ(Decide(r).kind, RangeDecision::kWhole) << r;
  }
}

TEST(RangeTest, IfRangeMustMatchTheStrongEtag) {
  EXPECT_EQ(Decide("bytes=0-9", 100, kEtag).kind, RangeDecision::kPartial);
  EXPECT_EQ(Decide("bytes=0-9", 100, "\"other\"").kind, RangeDecision::kWhole);
  EXPECT_EQ(Decide("bytes=0-9", 100, "W/\"0123456789abcdef\"").kind, RangeDecision::kWhole);
  EXPECT_EQ(Decide("bytes=0-9", 100, "Sat, 21 Nov 2026 10:00:00 GMT").kind, RangeDecision::kWhole);
}

}  // namespace
}  // namespace glint::http
