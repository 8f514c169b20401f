#pragma once
// sync_wait(awaitable): blocks the calling thread until the awaitable completes and returns its
// result (or rethrows its exception). For tests and main(); never call it on a thread that the
// awaitable needs in order to complete (a pool worker waiting for its own pool deadlocks).
//
// Which thread resumes what: the awaitable is started on the calling thread; whichever thread
// completes it only signals the caller, which then returns the result on its own thread.
// The calling thread's context is the same after sync_wait as before, wherever the awaitable ran:
// a task<T> installs its own chain while it runs and gives each thread its chain back at every
// suspension. The awaitable sees the caller's context as current when it starts (a task<T> sees
// the one captured at its creation). The wrapper coroutine here is deliberately not context-aware:
// it never runs user code, so it has nothing to carry.

#include <condition_variable>
#include <coroutine>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "krishiv/trace/coro/with_context.hpp"

namespace krishiv::trace {

namespace detail {

// A mutex and condition variable rather than an atomic wait: the completing thread notifies while
// holding the lock, so the waiter cannot return and destroy the event under it.
class SyncWaitEvent {
 public:
  void set() noexcept {
    std::lock_guard lock(mutex_);
    done_ = true;
    cv_.notify_one();
  }
  void wait() noexcept {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return done_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
};

template <class R>
class SyncWaitPromiseBase {
 public:
  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    void await_suspend(std::coroutine_handle<P> h) noexcept {
      // The event outlives this call only until set() unlocks: read the pointer first, touch
      // nothing of the frame after.
      SyncWaitEvent* event = h.promise().event_;
      event->set();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  SyncWaitEvent* event_ = nullptr;
  std::exception_ptr exception_;
};

template <class R>
class SyncWaitPromise;

template <class R>
class SyncWaitTask {
 public:
  using promise_type = SyncWaitPromise<R>;
  explicit SyncWaitTask(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  SyncWaitTask(SyncWaitTask&& o) noexcept : handle_(std::exchange(o.handle_, {})) {}
  SyncWaitTask(const SyncWaitTask&) = delete;
  SyncWaitTask& operator=(const SyncWaitTask&) = delete;
  SyncWaitTask& operator=(SyncWaitTask&&) = delete;
  ~SyncWaitTask() {
    if (handle_) handle_.destroy();
  }

  decltype(auto) run() {
    SyncWaitEvent event;
    handle_.promise().event_ = &event;
    handle_.resume();
    event.wait();
    return handle_.promise().result();
  }

 private:
  std::coroutine_handle<promise_type> handle_;
};

template <class R>
class SyncWaitPromise final : public SyncWaitPromiseBase<R> {
  using Stored = std::conditional_t<std::is_reference_v<R>, std::remove_reference_t<R>*,
                                    std::optional<std::remove_cvref_t<R>>>;

 public:
  SyncWaitTask<R> get_return_object() noexcept {
    return SyncWaitTask<R>(std::coroutine_handle<SyncWaitPromise>::from_promise(*this));
  }
  void return_value(R&& v) {
    if constexpr (std::is_reference_v<R>) {
      value_ = std::addressof(v);
    } else {
      value_.emplace(std::move(v));
    }
  }
  decltype(auto) result() {
    if (this->exception_) std::rethrow_exception(this->exception_);
    if constexpr (std::is_lvalue_reference_v<R>) {
      return static_cast<R>(*value_);
    } else {
      return std::remove_cvref_t<R>(std::move(*value_));
    }
  }

 private:
  Stored value_{};
};

template <>
class SyncWaitPromise<void> final : public SyncWaitPromiseBase<void> {
 public:
  SyncWaitTask<void> get_return_object() noexcept {
    return SyncWaitTask<void>(std::coroutine_handle<SyncWaitPromise>::from_promise(*this));
  }
  void return_void() noexcept {}
  void result() {
    if (exception_) std::rethrow_exception(exception_);
  }
};

// The awaitable is taken by reference: it lives in the caller's full expression, which outlasts
// the wait.
template <class A, class R = await_result_t<A>>
SyncWaitTask<R> make_sync_wait_task(A&& awaitable) {
  if constexpr (std::is_void_v<R>) {
    co_await static_cast<A&&>(awaitable);
  } else {
    co_return co_await static_cast<A&&>(awaitable);
  }
}

}  // namespace detail

// Returns what `co_await awaitable` would: a value for a prvalue or rvalue result (moved out), a
// reference for a reference result, nothing for void.
template <class A>
decltype(auto) sync_wait(A&& awaitable) {
  return detail::make_sync_wait_task(static_cast<A&&>(awaitable)).run();
}

}  // namespace krishiv::trace
