#include "tests/testutil/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

namespace glint::testutil {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/glint-test-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (Running()) Stop(SIGKILL, std::chrono::seconds(10));
}

bool ChildProcess::Running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return true;
}

int ChildProcess::Stop(int sig, std::chrono::milliseconds timeout) {
  if (sig != 0 && Running()) ::kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (Running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    return -1;
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

std::string FindBinary(const std::string& name, const std::vector<std::string>& extra) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream in(path);
    for (std::string dir; std::getline(in, dir, ':');) {
      if (!dir.empty()) dirs.push_back(dir);
    }
  }
  dirs.insert(dirs.end(), extra.begin(), extra.end());
  for (const std::string& dir : dirs) {
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::string GlintBinary() {
  const char* env = std::getenv("GLINT_BINARY");
  return env && *env ? env : "./glint";
}

GlintServer::GlintServer(const std::string& data_dir, const std::vector<std::string>& extra)
    : data_dir_(data_dir), extra_(extra), log_path_(data_dir + ".log") {
  std::remove(log_path_.c_str());
  Launch();
}

void GlintServer::Restart() {
  if (process_ && process_->Running()) {
    ADD_FAILURE() << "GlintServer::Restart while the previous run is still up";
    return;
  }
  Launch();
}

std::string GlintServer::log() const {
  std::string text = ReadFileOrEmpty(log_path_);
  return log_offset_ < text.size() ? text.substr(log_offset_) : std::string();
}

void GlintServer::Launch() {
  std::vector<std::string> argv = {GlintBinary(),        "serve",   "--listen",       "127.0.0.1:0",
                                   "--data-dir",         data_dir_, "--threads",      "2",
                                   "--kdf-memlimit-kib", "8",       "--kdf-opslimit", "1"};
  // Tests drive the API far faster than a client should: no rate limit unless a test sets one.
  if (std::find(extra_.begin(), extra_.end(), "--api-rate-limit") == extra_.end())
    argv.insert(argv.end(), {"--api-rate-limit", "0"});
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  log_offset_ = ReadFileOrEmpty(log_path_).size();
  port_ = 0;
  process_.reset();
  process_ = std::make_unique<ChildProcess>(argv, log_path_);
  static constexpr std::string_view kListening = "listening on http://127.0.0.1:";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = log();
    if (size_t at = text.find(kListening); at != std::string::npos) {
      port_ = static_cast<uint16_t>(std::atoi(text.c_str() + at + kListening.size()));
      return;
    }
    if (!process_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "glint did not start; its log:\n" << log();
}

std::string GlintServer::admin_token() const {
  std::string t = ReadFileOrEmpty(data_dir_ + "/admin.token");
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

std::string GlintServer::service_token() const {
  std::string t = ReadFileOrEmpty(data_dir_ + "/service.token");
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

}  // namespace glint::testutil
