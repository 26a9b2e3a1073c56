// Test helpers for driving real processes: temporary directories, a child process with its
// output captured to a file, and the glint server started from the built binary.
// Not thread-safe; one test thread owns each object.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace glint::testutil {

// A fresh directory under $TMPDIR (or /tmp); removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFileOrEmpty(const std::string& path);

// A child process; stdout and stderr go to `log_path`. Killed (SIGKILL) on destruction if
// still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  // Sends `sig` (0: none, just wait) and waits up to `timeout`; returns the exit code,
  // 128+signal when killed by one, or -1 when it did not exit in time (then it is SIGKILLed).
  int Stop(int sig, std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// `name` on PATH, else in one of `extra` directories; "" when nowhere.
std::string FindBinary(const std::string& name, const std::vector<std::string>& extra);

// The glint binary under test: $GLINT_BINARY (set by CTest), else ./glint.
std::string GlintBinary();

// A running `glint serve` on 127.0.0.1 with a free port and `data_dir`, fast password
// hashing, and `extra` flags. The constructor waits until it listens (fails the test
// otherwise).
class GlintServer {
 public:
  GlintServer(const std::string& data_dir, const std::vector<std::string>& extra = {});
  // The port of the current run; a Restart() picks a new one.
  uint16_t port() const { return port_; }
  // What the current run (since the constructor or the last Restart()) wrote to stdout and
  // stderr; earlier runs' output stays in the file before it.
  std::string log() const;
  std::string admin_token() const;
  // The service token glint made into <data_dir>/service.token (empty before it started).
  std::string service_token() const;
  // Graceful stop (SIGTERM); returns the exit code.
  int Stop() { return process_->Stop(15, std::chrono::seconds(30)); }
  // Waits for a run that was already told to stop (a SIGTERM of the test's own) to exit,
  // sending nothing: a second SIGTERM would find it past its signal handler, closing its
  // database, and end it there. Returns the exit code.
  int WaitForExit() { return process_->Stop(0, std::chrono::seconds(30)); }
  // SIGKILL, as a crash would: no handler runs and nothing is flushed. Returns once the
  // process is reaped (so its locks are released), with 128+9 when the signal killed it, or
  // the status it had already exited with (a crash of its own).
  int Kill9() { return process_->Stop(9, std::chrono::seconds(30)); }
  // Starts `glint serve` again on the same data directory with the same flags, once the
  // previous run has exited (Stop() or Kill9()); waits until it listens like the constructor.
  void Restart();
  bool Running() { return process_->Running(); }
  pid_t pid() const { return process_->pid(); }

 private:
  void Launch();

  std::string data_dir_;
  std::vector<std::string> extra_;
  std::string log_path_;
  size_t log_offset_ = 0;  // where the current run's output starts in log_path_
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace glint::testutil
