// SendFileResponse over real loopback sockets: partial sends, a slow reader, a client that
// goes away, the write deadline and a file shorter than promised.
#include "http/file_body.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/error.hpp>

#include "tests/testutil/process.h"

namespace glint::http {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Bytes no two offsets of which repeat within a few MB, so a misplaced chunk shows.
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

class FileBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_.connect(acceptor.local_endpoint());
    acceptor.accept(server_);
    // A body that never arrives fails the test instead of hanging it.
    timeval tv{10, 0};
    ::setsockopt(client_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }

  // A file holding `bytes`, opened read-only.
  int File(const std::string& bytes) {
    std::string path = dir_.path() + "/file";
    int w = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_EQ(::write(w, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(w);
    fd_ = ::open(path.c_str(), O_RDONLY);
    return fd_;
  }

  // Small socket buffers, so a body of a few MB needs many sends and waits.
  void ShrinkBuffers() {
    int small = 16 << 10;
    ::setsockopt(server_.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(client_.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }

  boost::system::error_code Send(std::string_view header, const FileBody& body,
                                 Clock::duration timeout = std::chrono::seconds(30)) {
    auto fut = asio::co_spawn(io_, SendFileResponse(server_, header, body, Clock::now() + timeout),
                              asio::use_future);
    io_.run();
    io_.restart();
    return fut.get();
  }

  // Reads from the client side until `n` bytes or end of stream.
  std::string ReadClient(size_t n) {
    std::string out;
    char buf[65536];
    while (out.size() < n) {
      ssize_t r = ::recv(client_.native_handle(), buf, std::min(sizeof buf, n - out.size()), 0);
      if (r <= 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }

  testutil::TempDir dir_;
  asio::io_context io_;
  tcp::socket server_{io_};
  tcp::socket client_{io_};
  int fd_ = -1;
};

TEST_F(FileBodyTest, SendsTheHeaderThenTheFileRange) {
  const std::string bytes = Pattern(200000);
  FileBody body{nullptr, File(bytes), 1000, 150000};
  const std::string header = "HTTP/1.1 200 OK\r\nContent-Length: 150000\r\n\r\n";
  std::string got;
  std::thread reader([&] { got = ReadClient(header.size() + body.length); });
  EXPECT_FALSE(Send(header, body));
  reader.join();
  EXPECT_EQ(got, header + bytes.substr(1000, 150000));
}

TEST_F(FileBodyTest, PartialSendsWaitForTheSlowReader) {
  ShrinkBuffers();
  const std::string bytes = Pattern(4 << 20);
  FileBody body{nullptr, File(bytes), 0, bytes.size()};
  const std::string header = "HTTP/1.1 200 OK\r\n\r\n";
  std::atomic<bool> reading{false};
  std::string got;
  std::thread reader([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    reading = true;
    got = ReadClient(header.size() + bytes.size());
  });
  EXPECT_FALSE(Send(header, body));
  EXPECT_TRUE(reading) << "4 MB cannot fit in 16 KB buffers: the sender had to wait";
  reader.join();
  ASSERT_EQ(got.size(), header.size() + bytes.size());
  EXPECT_TRUE(got == header + bytes) << "bytes differ";
}

TEST_F(FileBodyTest, AClientThatGoesAwayIsAnErrorNotACrash) {
  ShrinkBuffers();
  const std::string bytes = Pattern(4 << 20);
  FileBody body{nullptr, File(bytes), 0, bytes.size()};
  std::thread reader([&] {
    EXPECT_EQ(ReadClient(1000).size(), 1000u);
    client_.close();  // unread bytes left: the kernel answers further data with a reset
  });
  boost::system::error_code ec = Send("HTTP/1.1 200 OK\r\n\r\n", body);
  reader.join();
  EXPECT_TRUE(ec == asio::error::broken_pipe || ec == asio::error::connection_reset)
      << ec.message();
}

TEST_F(FileBodyTest, AClientThatNeverReadsMeetsTheDeadline) {
  ShrinkBuffers();
  const std::string bytes = Pattern(4 << 20);
  FileBody body{nullptr, File(bytes), 0, bytes.size()};
  auto started = Clock::now();
  boost::system::error_code ec =
      Send("HTTP/1.1 200 OK\r\n\r\n", body, std::chrono::milliseconds(300));
  EXPECT_EQ(ec, boost::beast::error::timeout) << ec.message();
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(300));
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(10));
}

TEST_F(FileBodyTest, AFileShorterThanPromisedEndsTheResponseWithAnError) {
  const std::string bytes = Pattern(5000);
  FileBody body{nullptr, File(bytes), 1000, 10000};  // 4000 bytes exist past the offset
  std::string got;
  std::thread reader([&] { got = ReadClient(20000); });
  EXPECT_EQ(Send("H\r\n", body), asio::error::eof);
  server_.close();
  reader.join();
  EXPECT_EQ(got, "H\r\n" + bytes.substr(1000));
}

TEST_F(FileBodyTest, AnEmptyBodyStillFlushesTheHeader) {
  FileBody body{nullptr, File("abc"), 0, 0};
  const std::string header = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_FALSE(Send(header, body));
  EXPECT_EQ(ReadClient(header.size()), header) << "not held back waiting for a body (MSG_MORE)";
}

TEST_F(FileBodyTest, ReadFilePrefixReadsTheStartOrReportsAShortFile) {
  const std::string bytes = Pattern(100);
  FileBody body{nullptr, File(bytes), 10, 50};
  auto head = ReadFilePrefix(body, 16);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, bytes.substr(10, 16));
  auto all = ReadFilePrefix(body, 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, bytes.substr(10, 50)) << "never past the body";
  FileBody past{nullptr, body.fd, 90, 50};
  EXPECT_EQ(ReadFilePrefix(past, 50).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace glint::http
