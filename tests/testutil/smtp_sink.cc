#include "tests/testutil/smtp_sink.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/testutil/s3rver.h"

namespace glint::testutil {

SmtpSink::SmtpSink()
    : messages_dir_(temp_.path() + "/messages"), log_path_(temp_.path() + "/smtp_sink.log") {
  std::filesystem::create_directories(messages_dir_);
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/env", "python3", "-W", "ignore::DeprecationWarning",
                               SourceDir() + "/tests/testutil/smtp_sink.py", "--directory",
                               messages_dir_},
      log_path_);
  port_ = WaitForListening(*process_, log_path_, "smtp_sink listening on 127.0.0.1:", 30000);
  if (port_ == 0) ADD_FAILURE() << "smtp_sink did not start; its log:\n" << log();
}

SmtpSink::~SmtpSink() { process_->Stop(SIGTERM, std::chrono::seconds(10)); }

std::string SmtpSink::url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

std::vector<std::string> SmtpSink::Messages() const {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(messages_dir_)) {
    if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());  // zero-padded sequence numbers
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(ReadFileOrEmpty(p));
  return out;
}

}  // namespace glint::testutil
