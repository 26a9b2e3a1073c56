#include "http/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <optional>
#include <unordered_set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include "base/log.h"
#include "http/file_body.h"

namespace glint::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// The HTTP Date header, formatted at most once a second per thread.
std::string_view HttpDate() {
  thread_local std::time_t last = 0;
  thread_local char buf[64];
  std::time_t now = std::time(nullptr);
  if (now != last) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    last = now;
  }
  return buf;
}

// A client-supplied X-Request-Id is kept when it is short and plain; else one is made.
bool UsableRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

// A write that failed because the client went away or was too slow: not the server's fault.
bool PeerGone(const boost::system::error_code& ec) {
  return ec == asio::error::broken_pipe || ec == asio::error::connection_reset ||
         ec == beast::error::timeout || ec == asio::error::operation_aborted;
}

// Completes when the peer closes the connection or sends anything (or the read is
// cancelled): what a streamed response waits on next to its source.
awaitable<void> PeerLeaves(tcp::socket& socket) {
  std::array<char, 64> sink;
  co_await socket.async_read_some(asio::buffer(sink), kNoThrow);
}

// Accounts for one request body in Server::body_bytes_in_flight_ while it exists.
class BodyReservation {
 public:
  BodyReservation() = default;
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;
  ~BodyReservation() {
    if (counter_) counter_->fetch_sub(bytes_);
  }
  void Hold(std::atomic<uint64_t>& counter, uint64_t bytes) {
    counter_ = &counter;
    bytes_ = bytes;
  }

 private:
  std::atomic<uint64_t>* counter_ = nullptr;
  uint64_t bytes_ = 0;
};

}  // namespace

struct Server::Loop {
  explicit Loop(unsigned index) : index(index), io(1), acceptor(io) {}
  unsigned index;
  // Declared before `io`: sessions still suspended when `io` is destroyed (after a grace
  // timeout) unregister themselves from this set while `io` tears them down.
  uint64_t next_request = 0;              // touched only on this loop's thread
  std::unordered_set<Session*> sessions;  // touched only on this loop's thread
  asio::io_context io;
  tcp::acceptor acceptor;
  std::unique_ptr<asio::signal_set> signals;  // loop 0 only
};

struct Server::Session {
  beast::tcp_stream* stream = nullptr;
  bool idle = true;        // waiting for a request header
  bool streaming = false;  // waiting for a streamed response's next chunk

  static awaitable<void> Accept(Server& server, Loop& loop);
  static awaitable<void> Serve(Server& server, Loop& loop, tcp::socket socket);
  // Sends `header`, then the chunks of `source` (Reply::stream) until it ends, the peer
  // leaves or the server drains, then the last chunk. `sent` counts the body bytes.
  static awaitable<boost::system::error_code> SendStream(Server& server, Session& self,
                                                         beast::tcp_stream& stream,
                                                         const std::string& header,
                                                         StreamSource& source, uint64_t& sent);
};

Server::Server(const Router& router, ServerOptions options)
    : router_(router), options_(std::move(options)) {
  if (options_.threads == 0) options_.threads = std::max(1u, std::thread::hardware_concurrency());
}

Server::~Server() {
  if (watchdog_.joinable()) watchdog_.join();
}

Status Server::Listen() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options_.address, ec);
  if (ec) return InvalidArgument("bad listen address '" + options_.address + "'");
  uint16_t port = options_.port;
  for (unsigned i = 0; i < options_.threads; ++i) {
    auto loop = std::make_unique<Loop>(i);
    tcp::endpoint ep(address, port);
    loop->acceptor.open(ep.protocol(), ec);
    if (!ec) loop->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) loop->acceptor.set_option(ReusePort(true), ec);
    if (!ec) loop->acceptor.bind(ep, ec);
    if (!ec) loop->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      std::string msg =
          "cannot listen on " + options_.address + ":" + std::to_string(port) + ": " + ec.message();
      if (ec == asio::error::address_in_use) return Unavailable(msg, "address_in_use");
      return IoError(msg);
    }
    // Port 0: the first listener picks the port, the others join it.
    if (i == 0) port = loop->acceptor.local_endpoint().port();
    loops_.push_back(std::move(loop));
  }
  port_ = port;
  return Status::Ok();
}

void Server::Run() {
  Loop& first = *loops_.front();
  first.signals = std::make_unique<asio::signal_set>(first.io, SIGINT, SIGTERM);
  first.signals->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::Info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", draining");
    Shutdown();
  });
  for (auto& loop : loops_) asio::co_spawn(loop->io, Session::Accept(*this, *loop), asio::detached);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < loops_.size(); ++i)
    threads.emplace_back([l = loops_[i].get()] { l->io.run(); });
  first.io.run();
  for (auto& t : threads) t.join();
  std::thread watchdog;
  {
    std::lock_guard lock(done_mu_);
    done_ = true;
    watchdog = std::move(watchdog_);
  }
  done_cv_.notify_all();
  if (watchdog.joinable()) watchdog.join();
}

void Server::Shutdown() {
  if (draining_.exchange(true)) return;
  {
    // Started before the loops are told, under the mutex Run() takes when it finishes, so
    // Run() either joins this thread or it is never started.
    std::lock_guard lock(done_mu_);
    if (!done_) {
      watchdog_ = std::thread([this] {
        std::unique_lock wait_lock(done_mu_);
        if (!done_cv_.wait_for(wait_lock, options_.shutdown_grace, [this] { return done_; })) {
          log::Warn("shutdown grace period over; closing the remaining connections");
          for (auto& loop : loops_) loop->io.stop();
        }
      });
    }
  }
  for (auto& loop : loops_) {
    asio::post(loop->io, [l = loop.get()] {
      boost::system::error_code ec;
      l->acceptor.close(ec);
      if (l->signals) l->signals->cancel(ec);
      // Idle keep-alive connections have nothing in flight: close them now, and so do
      // streamed responses waiting for their next chunk. Busy ones close after their
      // response (the session sees draining()).
      // Cancelling (not shutting the socket) leaves alone a read that already completed
      // but has not resumed yet: that request is served, then the connection closes.
      for (Session* s : l->sessions)
        if (s->idle || s->streaming) s->stream->cancel();
    });
  }
}

awaitable<void> Server::Session::Accept(Server& server, Loop& loop) {
  for (;;) {
    auto [ec, socket] = co_await loop.acceptor.async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !loop.acceptor.is_open()) co_return;
      log::Warn("accept failed: " + ec.message());
      // Out of descriptors and the like: back off instead of spinning.
      asio::steady_timer pause(loop.io, std::chrono::milliseconds(50));
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    // Counted here, before the session exists, so a burst of accepts cannot overshoot.
    if (server.connections_.fetch_add(1) >= server.options_.max_connections) {
      --server.connections_;
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(loop.io, Serve(server, loop, std::move(socket)), asio::detached);
  }
}

awaitable<void> Server::Session::Serve(Server& server, Loop& loop, tcp::socket socket) {
  const ServerOptions& opt = server.options_;
  boost::system::error_code peer_ec;
  const auto peer = socket.remote_endpoint(peer_ec);
  const std::string client = peer_ec ? std::string() : peer.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  Session self;
  self.stream = &stream;
  loop.sessions.insert(&self);
  struct Cleanup {
    Server& server;
    Loop& loop;
    Session* self;
    ~Cleanup() {
      loop.sessions.erase(self);
      --server.connections_;
    }
  } cleanup{server, loop, &self};

  bool unread_body = false;  // the last request was refused without reading its body
  for (;;) {
    if (server.draining()) break;
    self.idle = true;
    bhttp::request_parser<bhttp::empty_body> head;
    head.header_limit(opt.header_limit);
    // Body limits are per route and applied once the route is known; Beast's default of
    // 1 MiB would otherwise refuse larger uploads while reading the header.
    head.body_limit(boost::none);
    stream.expires_after(opt.idle_timeout);
    auto [hec, header_bytes] = co_await bhttp::async_read_header(stream, buffer, head, kNoThrow);
    self.idle = false;
    auto started = std::chrono::steady_clock::now();

    char id_buf[32];
    std::snprintf(id_buf, sizeof id_buf, "%x-%llx", loop.index,
                  static_cast<unsigned long long>(++loop.next_request));
    std::string request_id = id_buf;

    Reply reply;
    Response& res = reply.response;
    bool close_after = false;
    BodyReservation reservation;  // released when this request's body is gone
    std::optional<bhttp::request_parser<bhttp::string_body>> parser;
    std::string path;
    std::string method = "-";
    if (hec) {
      // A peer that closed, a timeout, or a shutdown: nothing to answer.
      if (hec == bhttp::error::end_of_stream || hec == beast::error::timeout ||
          hec == asio::error::operation_aborted || hec == asio::error::eof ||
          hec == asio::error::connection_reset)
        break;
      if (hec == bhttp::error::header_limit)
        res = ErrorResponse(
            bhttp::status::request_header_fields_too_large, "headers_too_large",
            "the request header exceeds " + std::to_string(opt.header_limit) + " bytes");
      else
        res = ErrorResponse(bhttp::status::bad_request, "malformed_request",
                            "the request is not valid HTTP/1.1: " + hec.message());
      close_after = true;
    } else {
      parser.emplace(std::move(head));
      Request& req = parser->get();
      method = std::string(req.method_string());
      if (auto rid = req["X-Request-Id"]; UsableRequestId(rid)) request_id = std::string(rid);
      auto url = boost::urls::parse_origin_form(req.target());
      if (!url) {
        res = ErrorResponse(bhttp::status::bad_request, "malformed_target",
                            "the request target is not a valid path");
        close_after = true;
      } else {
        path = url->path();
        RequestContext ctx{req, path, *url, {}, request_id, std::nullopt, client};
        Router::Match match = server.router_.Find(req.method(), path);
        if (match.kind == Router::Match::kNotFound) {
          res = ErrorResponse(bhttp::status::not_found, "not_found", "no such path");
        } else if (match.kind == Router::Match::kMethodNotAllowed) {
          res = ErrorResponse(bhttp::status::method_not_allowed, "method_not_allowed",
                              "this path does not answer " + method);
          res.set(bhttp::field::allow, match.allow);
        } else {
          ctx.params = std::move(match.params);
          const Route& route = *match.route;
          std::optional<Response> refused;
          if (!refused && route.early) refused = route.early(ctx);
          // The early check may lower the limit (a signed URL's own size cap).
          uint64_t limit = std::min(route.body_limit, ctx.body_limit.value_or(route.body_limit));
          auto declared = parser->content_length();
          if (!refused && declared && *declared > limit)
            refused = ErrorResponse(bhttp::status::payload_too_large, "body_too_large",
                                    "the body exceeds " + std::to_string(limit) + " bytes");
          if (!refused && !parser->is_done()) {
            // Bodies are held in memory: reserve the most this one can take, or refuse.
            uint64_t want = declared ? *declared : limit;
            uint64_t now = server.body_bytes_in_flight_.fetch_add(want) + want;
            reservation.Hold(server.body_bytes_in_flight_, want);
            if (now > opt.max_body_bytes_in_flight)
              refused = ErrorResponse(
                  Unavailable("too many request bodies in flight; retry shortly", "server_busy"));
          }
          if (refused) {
            res = std::move(*refused);
            close_after = !parser->is_done();  // an unread body cannot be skipped safely
          } else {
            bool body_ok = true;
            if (!parser->is_done()) {
              if (boost::beast::iequals(req[bhttp::field::expect], "100-continue")) {
                bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
                stream.expires_after(opt.write_timeout);
                auto [cec, cn] = co_await bhttp::async_write(stream, go_on, kNoThrow);
                if (cec) break;
              }
              parser->body_limit(limit);
              stream.expires_after(opt.read_timeout);
              auto [bec, bn] = co_await bhttp::async_read(stream, buffer, *parser, kNoThrow);
              if (bec == bhttp::error::body_limit) {
                res = ErrorResponse(bhttp::status::payload_too_large, "body_too_large",
                                    "the body exceeds " + std::to_string(limit) + " bytes");
                close_after = true;
                body_ok = false;
              } else if (bec) {
                if (bec == beast::error::timeout || bec == asio::error::eof ||
                    bec == bhttp::error::partial_message || bec == asio::error::operation_aborted ||
                    bec == asio::error::connection_reset)
                  break;
                res = ErrorResponse(bhttp::status::bad_request, "malformed_body",
                                    "the request body is malformed: " + bec.message());
                close_after = true;
                body_ok = false;
              }
            }
            if (body_ok) {
              stream.expires_never();  // the handler's time is the server's, not the client's
              try {
                reply = co_await route.handler(ctx);
              } catch (const std::exception& e) {
                log::Write(log::Level::kError, request_id,
                           std::string("handler threw: ") + e.what());
                res = ErrorResponse(Internal("handler threw"));
              }
            }
          }
        }
      }
    }

    const bool head_request = parser && parser->get().method() == bhttp::verb::head;
    res.version(11);
    res.keep_alive(!close_after && parser && parser->get().keep_alive() && !server.draining());
    res.set(bhttp::field::server, "glint");
    res.set(bhttp::field::date, HttpDate());
    res.set("X-Request-Id", request_id);
    if (res.result_int() >= 500)
      log::Write(log::Level::kError, request_id,
                 method + " " + path + " answered " + std::to_string(res.result_int()));
    if (reply.file) {
      // The file is the body.
      res.body().clear();
      res.content_length(reply.file->length);
    }
    const unsigned code = res.result_int();
    if (reply.stream && (head_request || code != 200)) reply.stream.reset();
    if (reply.stream) {
      // The body is the stream's chunks; the connection closes when it ends.
      res.body().clear();
      res.chunked(true);
      res.keep_alive(false);
    }
    uint64_t body_bytes = reply.file ? reply.file->length : res.body().size();
    if (head_request && code != 304 && code != 204 && code >= 200) {
      // HEAD: the GET answer's headers, Content-Length included, and no body.
      res.body().clear();
      res.content_length(body_bytes);
      reply.file.reset();
    }
    // Beast renders the header once into one buffer; header and body then go out in one
    // gathered write. (Beast's serializer walks its many small header buffers on every
    // write step, which was the largest cost of a small cached response.)
    std::string header = boost::beast::buffers_to_string(
        Response::fields_type::writer(res.base(), res.version(), res.result_int()).get());
    boost::system::error_code wec;
    if (reply.file) {
      // Straight from the file to the socket (sendfile), under the same write timeout.
      wec = co_await SendFileResponse(stream.socket(), header, *reply.file,
                                      std::chrono::steady_clock::now() + opt.write_timeout);
      if (wec && !PeerGone(wec))
        log::Write(log::Level::kError, request_id,
                   "sending " + std::to_string(body_bytes) +
                       " bytes from a file failed: " + wec.message());
    } else if (reply.stream) {
      wec = co_await SendStream(server, self, stream, header, *reply.stream, body_bytes);
      reply.stream.reset();  // the source's resources (a watch) go with the stream
      if (wec && !PeerGone(wec))
        log::Write(log::Level::kError, request_id, "streaming a response failed: " + wec.message());
    } else {
      stream.expires_after(opt.write_timeout);
      std::array<asio::const_buffer, 2> wire = {asio::buffer(header), asio::buffer(res.body())};
      auto [ec, n] = co_await asio::async_write(stream, wire, kNoThrow);
      wec = ec;
    }
    if (opt.access_log) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
      char line[112];
      // "sendfile" marks a body sent from its file, not from memory.
      std::snprintf(line, sizeof line, " %u %lluB %.2fms%s", res.result_int(),
                    static_cast<unsigned long long>(body_bytes), us / 1000.0,
                    reply.file ? " sendfile" : (res.chunked() ? " stream" : ""));
      log::Write(log::Level::kInfo, request_id, method + " " + (path.empty() ? "-" : path) + line);
    }
    if (wec) break;
    if (!res.keep_alive()) {
      unread_body = close_after && parser && !parser->is_done();
      break;
    }
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (unread_body) {
    // Lingering close (as nginx does): closing with unread bytes makes the kernel send a
    // reset, which can destroy the refusal before the client reads it. Drain for a bounded
    // time and amount instead.
    std::array<char, 16384> sink;
    uint64_t drained = 0;
    stream.expires_after(std::chrono::seconds(2));
    while (drained < (64u << 20)) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
      if (rec) break;
      drained += n;
    }
  }
  stream.close();
}

awaitable<boost::system::error_code> Server::Session::SendStream(Server& server, Session& self,
                                                                 beast::tcp_stream& stream,
                                                                 const std::string& header,
                                                                 StreamSource& source,
                                                                 uint64_t& sent) {
  using namespace asio::experimental::awaitable_operators;
  const auto write_timeout = server.options_.write_timeout;
  stream.expires_after(write_timeout);
  auto [hec, hn] = co_await asio::async_write(stream, asio::buffer(header), kNoThrow);
  if (hec) co_return hec;
  // Set before draining() is read: Shutdown's cancel runs on this thread, so it either
  // comes after this (and cancels the wait below) or draining() is already true.
  self.streaming = true;
  while (!server.draining()) {
    auto next = source.Next();
    auto peer = PeerLeaves(stream.socket());
    auto either = std::move(next) || std::move(peer);
    auto got = co_await std::move(either);
    if (got.index() != 0 || !std::get<0>(got)) break;
    const std::string& chunk = *std::get<0>(got);
    if (chunk.empty()) continue;  // an empty chunk would end the body
    auto framed = bhttp::make_chunk(asio::buffer(chunk));
    stream.expires_after(write_timeout);
    auto [ec, n] = co_await asio::async_write(stream, framed, kNoThrow);
    if (ec) {
      self.streaming = false;
      co_return ec;
    }
    sent += chunk.size();
  }
  self.streaming = false;
  auto last = bhttp::make_chunk_last();
  stream.expires_after(write_timeout);
  auto [lec, ln] = co_await asio::async_write(stream, last, kNoThrow);
  co_return lec;
}

}  // namespace glint::http
