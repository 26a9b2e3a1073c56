#include "tests/testutil/varnish.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/testutil/s3rver.h"

namespace glint::testutil {
namespace {

bool Connects(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::string VarnishdPath() { return FindBinary("varnishd", {"/usr/sbin", "/usr/local/sbin"}); }

Varnish::Varnish(uint16_t backend_port)
    : work_dir_(temp_.path() + "/varnish"), log_path_(temp_.path() + "/varnishd.log") {
  const std::string varnishd = VarnishdPath();
  if (varnishd.empty()) {
    ADD_FAILURE() << kVarnishMissing;
    return;
  }
  const std::string vcl_path = WriteVcl(backend_port);
  if (vcl_path.empty()) return;

  // -F: stay in the foreground, so the ChildProcess is the manager and SIGTERM stops both
  // it and its worker child. Listening and management ports are picked by the kernel; the
  // listening one is read back through varnishadm.
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{varnishd, "-F", "-j", "none", "-n", work_dir_, "-a", "127.0.0.1:0",
                               "-T", "127.0.0.1:0", "-f", vcl_path, "-s", "malloc,32m"},
      log_path_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && process_->Running()) {
    // "a0 127.0.0.1 34547" once the worker child listens.
    std::istringstream out(Admin({"debug.listen_address"}));
    std::string name, address;
    int port = 0;
    if (out >> name >> address >> port && port > 0 && port < 65536 &&
        Connects(static_cast<uint16_t>(port))) {
      port_ = static_cast<uint16_t>(port);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "varnishd did not start; its log:\n" << log();
}

std::string Varnish::WriteVcl(uint16_t backend_port) {
  // The shipped VCL with its documented default backend port replaced.
  const std::string source = SourceDir() + "/deploy/varnish/glint.vcl";
  std::string vcl = ReadFileOrEmpty(source);
  static constexpr std::string_view kDefaultPort = ".port = \"8080\";";
  size_t at = vcl.find(kDefaultPort);
  if (at == std::string::npos) {
    ADD_FAILURE() << source << " has no " << kDefaultPort << " to point at the test's glint";
    return {};
  }
  vcl.replace(at, kDefaultPort.size(), ".port = \"" + std::to_string(backend_port) + "\";");
  const std::string vcl_path = temp_.path() + "/glint-" + std::to_string(++vcl_count_) + ".vcl";
  std::ofstream(vcl_path) << vcl;
  return vcl_path;
}

bool Varnish::Repoint(uint16_t backend_port) {
  const std::string path = WriteVcl(backend_port);
  if (path.empty()) return false;
  const std::string name = "glint" + std::to_string(vcl_count_);
  if (Admin({"vcl.load", name, path}).empty()) return false;
  return !Admin({"vcl.use", name}).empty();
}

Varnish::~Varnish() {
  if (process_) process_->Stop(SIGTERM, std::chrono::seconds(10));
}

std::string Varnish::Admin(const std::vector<std::string>& args) const {
  const std::string varnishadm = FindBinary("varnishadm", {"/usr/bin", "/usr/local/bin"});
  if (varnishadm.empty()) return {};
  std::vector<std::string> argv = {varnishadm, "-n", work_dir_, "-t", "5"};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string out_path = temp_.path() + "/varnishadm.out";
  std::remove(out_path.c_str());
  ChildProcess admin(argv, out_path);
  if (admin.Stop(0, std::chrono::seconds(10)) != 0) return {};
  return ReadFileOrEmpty(out_path);
}

}  // namespace glint::testutil
