// A real SMTP server for mailer tests: tests/testutil/smtp_sink.py (Python 3.11's stdlib
// smtpd, Debian 12's python3) run on 127.0.0.1 with a free port, writing each message it
// accepts as one JSON file (envelope, raw message and Python's parse of it; see the script).
// A recipient starting with "reject" is refused with 554.
// Not thread-safe; one test thread owns each object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/testutil/process.h"

namespace glint::testutil {

class SmtpSink {
 public:
  // Starts the server; adds a test failure when it does not come up.
  SmtpSink();
  ~SmtpSink();
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  uint16_t port() const { return port_; }
  // "smtp://127.0.0.1:PORT".
  std::string url() const;
  // The JSON record of every message accepted so far, oldest first. A message is recorded
  // before the server acknowledges it, so after a successful send it is already here.
  std::vector<std::string> Messages() const;
  std::string log() const { return ReadFileOrEmpty(log_path_); }

 private:
  TempDir temp_;
  std::string messages_dir_;
  std::string log_path_;
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace glint::testutil
