// A real S3-protocol server for tests: s3rver (pinned in tools/s3rver/package.json, installed
// by ./dev test with `npm ci --prefix tools/s3rver`) run with node behind the Signature V4
// check of tools/s3rver/serve.js, on 127.0.0.1 with a free port and its own directory.
// Credentials are s3rver's fixed pair, kAccessKey / kSecretKey.
// Not thread-safe; one test thread owns each object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/testutil/process.h"

namespace glint::testutil {

// The source tree: $GLINT_SOURCE_DIR, else the one this test was built from.
std::string SourceDir();

// Runs `node` with `args` (node found on PATH); output to `log_path`.
std::unique_ptr<ChildProcess> StartNode(const std::vector<std::string>& args,
                                        const std::string& log_path);

// Waits until `log_path`, past its first `from` bytes, contains `marker` followed by a port
// number and returns the port, or 0 when `process` exits or `timeout_ms` passes first.
uint16_t WaitForListening(ChildProcess& process, const std::string& log_path,
                          const std::string& marker, int timeout_ms, size_t from = 0);

class S3rver {
 public:
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";
  // Virtual-host style requests go to http://BUCKET.s3.localhost:PORT (curl resolves
  // *.localhost to the loopback address without DNS).
  static constexpr const char* kServiceHost = "s3.localhost";

  // Starts the server with `bucket` created; adds a test failure when it does not come up.
  explicit S3rver(std::string bucket = "glint-test");
  ~S3rver();
  S3rver(const S3rver&) = delete;
  S3rver& operator=(const S3rver&) = delete;

  // Stops the server (SIGTERM; SIGKILL after 10 s). Its directory, and so its objects, stay.
  void Stop();
  // Starts it again on the same port and directory; false (and a test failure) if it does
  // not come up.
  bool Start();
  bool Running() { return process_ && process_->Running(); }

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT", for path-style clients.
  std::string endpoint() const;
  const std::string& bucket() const { return bucket_; }
  const std::string& directory() const { return data_dir_; }
  std::string log() const { return ReadFileOrEmpty(log_path_); }

 private:
  TempDir temp_;
  std::string data_dir_;
  std::string log_path_;
  std::string bucket_;
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace glint::testutil
