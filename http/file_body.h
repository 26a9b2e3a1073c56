// Response bodies that stay in a file: a byte range of an open descriptor that the server
// sends to the socket with sendfile(2), so large blobs never pass through a user-space copy.
//
// The response header is rendered by the caller (Beast); SendFileResponse writes it and then
// the range, on a non-blocking socket, waiting for writability on the socket's executor.
// There is no TLS in glint's server (plain TCP only); a TLS stream would need the copy.
//
// Thread-safety: SendFileResponse runs on the socket's executor, which must be a
// single-threaded io_context (the server's loops are); ReadFilePrefix from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "base/status.h"

namespace glint::http {

// `length` bytes of `fd` from `offset`. `keep` owns whatever keeps `fd` open (a blob
// segment, storage::BlobStore::FileExtent::keep); the descriptor is valid while any copy of
// the FileBody exists.
struct FileBody {
  std::shared_ptr<const void> keep;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Writes `header` (a rendered HTTP response header) and then `body` to `socket` with
// send(2) and sendfile(2), resuming after partial writes and EINTR and waiting for
// writability on EAGAIN. Header and body leave together where the kernel allows (MSG_MORE).
//
// Returns success once every byte was handed to the kernel; otherwise the first error:
// beast::error::timeout when `deadline` passes first (the whole response shares one
// deadline, as the in-memory path's write timeout does), the errno of a failed send
// (EPIPE, ECONNRESET when the client went away; the process ignores SIGPIPE, which Asio's
// io_context arranges), or asio::error::eof when the file ends before `body.length` bytes.
// After an error the response is cut: the caller must close the connection.
// `socket` is left in non-blocking mode. `header` and `body` must outlive the awaitable.
boost::asio::awaitable<boost::system::error_code> SendFileResponse(
    boost::asio::ip::tcp::socket& socket, std::string_view header, const FileBody& body,
    std::chrono::steady_clock::time_point deadline);

// The first min(n, body.length) bytes of `body` (with pread; blocking). kIoError on a read
// failure, kCorruption when the file is shorter than `body` says.
Result<std::string> ReadFilePrefix(const FileBody& body, size_t n);

}  // namespace glint::http
