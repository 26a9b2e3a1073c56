#include "http/event_waiters.h"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace glint::http {

namespace asio = boost::asio;

EventWaiters::Ticket::~Ticket() {
  if (!waiters_) return;
  std::lock_guard lock(waiters_->mu_);
  --waiters_->tickets_;
}

std::optional<EventWaiters::Ticket> EventWaiters::Enter() {
  std::lock_guard lock(mu_);
  if (tickets_ >= max_waiters_) return std::nullopt;
  ++tickets_;
  return Ticket(*this);
}

size_t EventWaiters::waiting() const {
  std::lock_guard lock(mu_);
  return tickets_;
}

void EventWaiters::Advanced(uint64_t watermark) {
  std::lock_guard lock(mu_);
  for (const std::shared_ptr<Waiter>& w : waiting_) {
    if (w->after >= watermark) continue;
    // A timer is touched only on its own event loop.
    asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
  }
}

asio::awaitable<void> EventWaiters::Wait(const core::EventLog& log, uint64_t after,
                                         std::chrono::steady_clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  auto waiter = std::make_shared<Waiter>(Waiter{asio::steady_timer(executor, deadline), after});
  {
    std::lock_guard lock(mu_);
    waiting_.push_back(waiter);
  }
  // Checked after joining the list: an advance from now on posts a cancel, which this
  // single-threaded loop runs only once the wait below has begun.
  if (log.Watermark() <= after) {
    boost::system::error_code ec;  // operation_aborted: woken; success: the deadline
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    co_await waiter->timer.async_wait(token);
  }
  std::lock_guard lock(mu_);
  std::erase(waiting_, waiter);
}

}  // namespace glint::http
