#include "core/mailer.h"

#include <gtest/gtest.h>

#include "base/log.h"

namespace glint::core {
namespace {

TEST(LogMailerTest, WritesRecipientSubjectAndBodyToTheLogAsOneLine) {
  log::SetLevel(log::Level::kInfo);
  LogMailer mailer;
  testing::internal::CaptureStderr();
  Status s = mailer.Send({.to = "alice@example.com",
                          .subject = "Reset your glint password",
                          .text = "Open this link:\nhttps://glint.example/reset?t=abc123\n"});
  std::string out = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_NE(out.find("INFO"), std::string::npos) << out;
  EXPECT_NE(out.find("to=alice@example.com"), std::string::npos) << out;
  EXPECT_NE(out.find("subject=\"Reset your glint password\""), std::string::npos) << out;
  EXPECT_NE(out.find("Open this link:\\x0ahttps://glint.example/reset?t=abc123\\x0a"),
            std::string::npos)
      << out;
  // A body cannot forge further log lines.
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
}

}  // namespace
}  // namespace glint::core
