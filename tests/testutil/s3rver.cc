#include "tests/testutil/s3rver.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

namespace glint::testutil {

std::string SourceDir() {
  const char* env = std::getenv("GLINT_SOURCE_DIR");
  if (env && *env) return env;
  return GLINT_SOURCE_DIR;
}

std::unique_ptr<ChildProcess> StartNode(const std::vector<std::string>& args,
                                        const std::string& log_path) {
  std::vector<std::string> argv = {"/usr/bin/env", "node"};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<ChildProcess>(argv, log_path);
}

uint16_t WaitForListening(ChildProcess& process, const std::string& log_path,
                          const std::string& marker, int timeout_ms, size_t from) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadFileOrEmpty(log_path);
    if (size_t at = text.find(marker, from); at != std::string::npos) {
      int port = std::atoi(text.c_str() + at + marker.size());
      if (port > 0 && port < 65536) return static_cast<uint16_t>(port);
    }
    if (!process.Running()) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

S3rver::S3rver(std::string bucket)
    : data_dir_(temp_.path() + "/data"),
      log_path_(temp_.path() + "/s3rver.log"),
      bucket_(std::move(bucket)) {
  std::filesystem::create_directories(data_dir_);
  Start();
}

S3rver::~S3rver() { Stop(); }

std::string S3rver::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

void S3rver::Stop() {
  if (process_) process_->Stop(SIGTERM, std::chrono::seconds(10));
  process_.reset();
}

bool S3rver::Start() {
  const std::string tools = SourceDir() + "/tools/s3rver";
  if (!std::filesystem::exists(tools + "/node_modules/s3rver")) {
    ADD_FAILURE() << "s3rver is not installed: run `npm ci --prefix " << tools
                  << "` (./dev test does)";
    return false;
  }
  Stop();
  const size_t from = log().size();  // the log is appended to across restarts
  process_ =
      StartNode({tools + "/serve.js", "--address", "127.0.0.1", "--port", std::to_string(port_),
                 "--directory", data_dir_, "--bucket", bucket_, "--service-endpoint", "localhost"},
                log_path_);
  uint16_t port =
      WaitForListening(*process_, log_path_, "s3rver listening on 127.0.0.1:", 60000, from);
  if (port == 0 || (port_ != 0 && port != port_)) {
    ADD_FAILURE() << "s3rver did not start on port " << port_ << "; its log:\n" << log();
    return false;
  }
  port_ = port;
  return true;
}

}  // namespace glint::testutil
