#include "base/status.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace glint {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.reason(), "ok");
}

TEST(StatusTest, ReasonFallsBackToCodeName) {
  EXPECT_EQ(NotFound("no such user").reason(), "not_found");
  EXPECT_EQ(AlreadyExists("taken", "email_taken").reason(), "email_taken");
  EXPECT_EQ(AlreadyExists("taken", "email_taken").ToString(), "email_taken: taken");
}

TEST(StatusTest, ErrnoMapsNotFoundAndIo) {
  EXPECT_EQ(ErrnoStatus("open x", ENOENT).code(), Code::kNotFound);
  EXPECT_EQ(ErrnoStatus("write x", ENOSPC).code(), Code::kIoError);
}

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  GLINT_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Quarter(7).status().message(), "odd");
}

}  // namespace
}  // namespace glint
