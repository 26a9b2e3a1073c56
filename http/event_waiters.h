// Long-polls of GET /v1/events waiting for the event log to grow, without blocking an event
// loop: each waiter is an Asio timer on its request's event loop, set to the poll's deadline;
// when the log's watermark rises past what a waiter has seen (EventLog::OnAdvance, on the
// writing thread), its timer is cancelled through a post to that event loop, which resumes
// the request at once. No thread sleeps and no one polls.
//
// At most `max_waiters` requests wait at once; past that, Enter() refuses, and the request
// is answered 503 at once rather than queued.
//
// Thread-safety: Advanced() from any thread; Enter() and Wait() from a coroutine running on
// a single-threaded event loop (glint's io_contexts are).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/events.h"

namespace glint::http {

class EventWaiters {
 public:
  explicit EventWaiters(size_t max_waiters) : max_waiters_(max_waiters) {}

  // Wakes the waiters that have seen less than `watermark`. Quick: never blocks.
  void Advanced(uint64_t watermark);

  // A place among the waiters, held for one request; released when destroyed.
  class Ticket {
   public:
    explicit Ticket(EventWaiters& w) : waiters_(&w) {}
    Ticket(Ticket&& o) noexcept : waiters_(std::exchange(o.waiters_, nullptr)) {}
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket();

   private:
    EventWaiters* waiters_;
  };
  // A ticket, or nullopt when max_waiters requests already hold one.
  std::optional<Ticket> Enter();
  size_t waiting() const;

  // Returns when `log`'s watermark is above `after`, or at `deadline`, whichever is first
  // (at once when it already is). Runs on the calling coroutine's executor.
  boost::asio::awaitable<void> Wait(const core::EventLog& log, uint64_t after,
                                    std::chrono::steady_clock::time_point deadline);

 private:
  struct Waiter {
    boost::asio::steady_timer timer;
    uint64_t after;
  };

  const size_t max_waiters_;
  mutable std::mutex mu_;
  size_t tickets_ = 0;                            // GUARDED_BY(mu_)
  std::vector<std::shared_ptr<Waiter>> waiting_;  // GUARDED_BY(mu_)
};

}  // namespace glint::http
