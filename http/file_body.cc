#include "http/file_body.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include "base/log.h"

namespace glint::http {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// One sendfile(2) call moves at most this much; the socket buffer usually stops it sooner.
// (Linux caps a call at 0x7ffff000 bytes anyway.)
constexpr uint64_t kMaxSendfileBytes = 16u << 20;

// Waits until `socket` can take more bytes or `deadline` passes (beast::error::timeout).
awaitable<error_code> WaitWritable(tcp::socket& socket,
                                   std::chrono::steady_clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(socket.get_executor(), deadline);
  // The loser is cancelled and waited for before this resumes: nothing outlives the frame.
  auto first =
      co_await (socket.async_wait(tcp::socket::wait_write, kNoThrow) || timer.async_wait(kNoThrow));
  if (first.index() == 1) co_return boost::beast::error::timeout;
  co_return std::get<0>(std::get<0>(first));
}

}  // namespace

awaitable<error_code> SendFileResponse(tcp::socket& socket, std::string_view header,
                                       const FileBody& body,
                                       std::chrono::steady_clock::time_point deadline) {
  error_code ec;
  socket.native_non_blocking(true, ec);
  if (ec) co_return ec;
  const int sock = socket.native_handle();
  size_t header_sent = 0;
  off_t offset = static_cast<off_t>(body.offset);
  uint64_t left = body.length;
  while (header_sent < header.size() || left > 0) {
    ssize_t n;
    if (header_sent < header.size()) {
      // MSG_MORE: hold the header back for the body's first bytes (one segment, not two).
      const int flags = MSG_NOSIGNAL | (left > 0 ? MSG_MORE : 0);
      n = ::send(sock, header.data() + header_sent, header.size() - header_sent, flags);
      if (n > 0) {
        header_sent += static_cast<size_t>(n);
        continue;
      }
    } else {
      n = ::sendfile(sock, body.fd, &offset, std::min(left, kMaxSendfileBytes));
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
        continue;
      }
    }
    // The file ended early (truncated under us): the promised length cannot be sent.
    if (n == 0) co_return asio::error::eof;
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EAGAIN && err != EWOULDBLOCK)
      co_return error_code(err, boost::system::system_category());
    ec = co_await WaitWritable(socket, deadline);
    if (ec) co_return ec;
  }
  co_return error_code();
}

Result<std::string> ReadFilePrefix(const FileBody& body, size_t n) {
  std::string out(static_cast<size_t>(std::min<uint64_t>(n, body.length)), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r =
        ::pread(body.fd, out.data() + got, out.size() - got, static_cast<off_t>(body.offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      Status s = ErrnoStatus("read the start of a file body", errno);
      log::Error(s.ToString());
      return s;
    }
    if (r == 0) return Corruption("the file ends before the body it holds", "short_file");
    got += static_cast<size_t>(r);
  }
  return out;
}

}  // namespace glint::http
