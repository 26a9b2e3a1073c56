// `glint convert` end to end: the real binary on generated images in a temporary directory
// (tools/convert.h).
#include "tools/convert.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codec/image_header.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"

namespace glint {
namespace {

using testutil::ChildProcess;
using testutil::ReadFileOrEmpty;
using testutil::TempDir;

class ConvertTest : public ::testing::Test {
 protected:
  // Runs `glint convert ARGS...`; returns its exit code, its output in `log_`.
  int Run(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {testutil::GlintBinary(), "convert"};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log_path = dir_.path() + "/convert.log";
    std::remove(log_path.c_str());
    ChildProcess child(argv, log_path);
    int code = child.Stop(0, std::chrono::seconds(60));
    log_ = ReadFileOrEmpty(log_path);
    return code;
  }

  std::string WriteJpeg(int width, int height) {
    std::string path = dir_.path() + "/in.jpg";
    std::ofstream(path, std::ios::binary) << testutil::MakeJpeg(width, height);
    return path;
  }

  TempDir dir_;
  std::string log_;
};

TEST_F(ConvertTest, JpegToNarrowPng) {
  const std::string in = WriteJpeg(320, 240);
  const std::string out = dir_.path() + "/out.png";
  ASSERT_EQ(Run({in, out, "w=64&fm=png"}), 0) << log_;
  std::string bytes = ReadFileOrEmpty(out);
  auto header = codec::ReadHeader(std::span<const char>(bytes.data(), bytes.size()));
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->format, codec::Format::kPng);
  EXPECT_EQ(header->width, 64u);
  EXPECT_EQ(header->height, 48u);
}

TEST_F(ConvertTest, BadQueryFailsNamingTheParameter) {
  const std::string in = WriteJpeg(64, 64);
  const std::string out = dir_.path() + "/out.jpg";
  EXPECT_EQ(Run({in, out, "w=64&sharpness=3"}), 1);
  EXPECT_NE(log_.find("glint convert: "), std::string::npos) << log_;
  EXPECT_NE(log_.find("'sharpness'"), std::string::npos) << log_;
  EXPECT_TRUE(ReadFileOrEmpty(out).empty());  // nothing written
}

TEST_F(ConvertTest, MissingArgumentsAreAUsageError) { EXPECT_EQ(Run({"only-in.jpg"}), 2) << log_; }

}  // namespace
}  // namespace glint
