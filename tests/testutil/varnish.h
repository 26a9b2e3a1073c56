// A real Varnish for tests: varnishd (Debian's `varnish` package, installed by ./dev test)
// run with the shipped deploy/varnish/glint.vcl, its backend pointed at a port of the test's
// choosing, on 127.0.0.1 with a free port, its own -n working directory and a 32 MB malloc
// store in a temporary directory. It runs unjailed (-j none), so it works the same whether
// the test runs as root or not.
// Not thread-safe; one test thread owns each object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/testutil/process.h"

namespace glint::testutil {

// The varnishd binary (on PATH, else /usr/sbin or /usr/local/sbin), or "" when Varnish is
// not installed; a test needing it then skips with kVarnishMissing.
std::string VarnishdPath();
inline constexpr const char* kVarnishMissing =
    "varnishd is not installed (Debian package `varnish`; ./dev test installs it)";

class Varnish {
 public:
  // Starts varnishd in front of 127.0.0.1:`backend_port` and waits until it accepts
  // connections; adds a test failure (and port() stays 0) when it does not come up.
  explicit Varnish(uint16_t backend_port);
  // Stops varnishd (SIGTERM; SIGKILL after 10 s) and removes its directory.
  ~Varnish();
  Varnish(const Varnish&) = delete;
  Varnish& operator=(const Varnish&) = delete;

  uint16_t port() const { return port_; }
  bool Running() { return process_ && process_->Running(); }
  // varnishd's own output (start-up, VCL compiler errors).
  std::string log() const { return ReadFileOrEmpty(log_path_); }
  // Runs `varnishadm -n <dir> args...` and returns what it printed ("" if it failed):
  // Admin({"ban.list"}) for a failure message.
  std::string Admin(const std::vector<std::string>& args) const;
  // Loads and uses the shipped VCL again with 127.0.0.1:`backend_port` as the backend (for
  // a glint started after Varnish, e.g. one told to purge this Varnish). False on failure.
  bool Repoint(uint16_t backend_port);

 private:
  // Writes the shipped VCL for `backend_port` into the temp dir; its path, "" on failure.
  std::string WriteVcl(uint16_t backend_port);

  TempDir temp_;
  std::string work_dir_;
  std::string log_path_;
  uint16_t port_ = 0;
  int vcl_count_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace glint::testutil
