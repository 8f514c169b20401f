#pragma once
// task<T>: a lazy coroutine task that carries the current context across every co_await.
//
// Capture point: the context current when the task is *created* (when the coroutine function is
// called), not when it is first awaited. A task body is the body of a function call, so its spans
// belong under the span that was current at the call, as for a synchronous call; it also gives
// tasks started without an awaiting task (sync_wait, a spawn onto an executor, a when_all written
// later) a well-defined parent, and costs nothing at the await. `co_await f()` creates and awaits
// in the same place, so the difference only shows when a task is created in one context and
// awaited in another: it runs in the one it was created in.
//
// At every resumption, whatever thread resumes it, the task's context becomes current; at every
// suspension and at completion the resuming thread gets back the context it had. A span entered in
// the body stays current across co_await and its children are its children, on any thread.
//
// Which thread resumes the awaiter of a task: the thread on which the task completes. The awaiter
// resumes by symmetric transfer from the task's final suspension, so a chain of tasks that complete
// synchronously does not grow the stack. If the task completes on a pool thread, the code after
// `co_await task` runs on that pool thread, in the awaiter's context.

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "krishiv/trace/context.hpp"
#include "krishiv/trace/coro/with_context.hpp"

namespace krishiv::trace {

template <class T = void>
class task;

namespace detail {

class TaskPromiseBase : public ContextAwarePromise {
 public:
  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      return h.promise().complete();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  // Started by an awaiter that is not a context-aware promise (sync_wait, a foreign coroutine, a
  // with_context wrapper that has already taken its coroutine's chain off the thread).
  void start_detached(std::coroutine_handle<> continuation) noexcept {
    continuation_ = continuation;
    awaiting_ = nullptr;
    coroutine_context().enter();
  }

  // Started by a context-aware coroutine whose chain is current: the awaiter's chain is parked in
  // it and the thread's, which the awaiter was holding, passes to this task in one step.
  void start_chained(std::coroutine_handle<> continuation, CoroutineContext& awaiting) noexcept {
    continuation_ = continuation;
    awaiting_ = &awaiting;
    coroutine_context().enter_from(awaiting);
  }

  // At the final suspension, on whichever thread completed the body: a chained awaiter's chain
  // becomes current (it resumes here and now, without entering), else the thread's own.
  std::coroutine_handle<> complete() noexcept {
    if (awaiting_ != nullptr) {
      coroutine_context().leave_to(*awaiting_);
    } else {
      coroutine_context().leave();
    }
    return continuation_;
  }

  // Destroying a suspended body runs its destructors (span guards end, ContextScopes unlink) in the
  // destroying thread: they must see the task's chain. The promise dies after the body's locals and
  // before the parameter copies, so its destructor is where the thread gets its own chain back; by
  // then nothing points into the chain any more.
  void enter_for_destroy() noexcept {
    coroutine_context().enter();
    entered_for_destroy_ = true;
  }
  ~TaskPromiseBase() {
    if (entered_for_destroy_) coroutine_context().leave();
  }

  void rethrow_if_exception() const {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  std::coroutine_handle<> continuation_;
  CoroutineContext* awaiting_ = nullptr;
  std::exception_ptr exception_;
  bool entered_for_destroy_ = false;
};

template <class T>
class TaskPromise final : public TaskPromiseBase {
 public:
  task<T> get_return_object() noexcept;

  template <class U>
  requires std::constructible_from<T, U&&>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(v));
  }

  T& result() & {
    rethrow_if_exception();
    return *value_;
  }
  T result() && {
    rethrow_if_exception();
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <class T>
class TaskPromise<T&> final : public TaskPromiseBase {
 public:
  task<T&> get_return_object() noexcept;
  void return_value(T& v) noexcept { value_ = std::addressof(v); }
  T& result() {
    rethrow_if_exception();
    return *value_;
  }

 private:
  T* value_ = nullptr;
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
 public:
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void result() { rethrow_if_exception(); }
};

// Awaiting a task starts it and resumes the awaiter when it completes. Chained is the fast path for
// awaiters that are themselves context-aware promises (see start_chained).
template <class T, bool Rvalue, bool Chained>
class TaskAwaiter {
 public:
  using Handle = std::coroutine_handle<TaskPromise<T>>;
  TaskAwaiter(Handle h, CoroutineContext* awaiting) noexcept : handle_(h), awaiting_(awaiting) {}

  bool await_ready() const noexcept { return handle_.done(); }

  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    if constexpr (Chained) {
      handle_.promise().start_chained(awaiter, *awaiting_);
    } else {
      handle_.promise().start_detached(awaiter);
    }
    return handle_;
  }

  decltype(auto) await_resume() {
    if constexpr (Rvalue && !std::is_reference_v<T> && !std::is_void_v<T>) {
      return std::move(handle_.promise()).result();
    } else {
      return handle_.promise().result();
    }
  }

 private:
  Handle handle_;
  CoroutineContext* awaiting_;
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using value_type = T;

  task() noexcept = default;
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  // True once the body has finished (normally or by exception); awaiting it then does not suspend.
  bool is_ready() const noexcept { return !handle_ || handle_.done(); }

  // `co_await std::move(t)` (or `co_await f()`) yields T by value; `co_await t` yields T&.
  auto operator co_await() && noexcept {
    return detail::TaskAwaiter<T, true, false>(handle_, nullptr);
  }
  auto operator co_await() & noexcept {
    return detail::TaskAwaiter<T, false, false>(handle_, nullptr);
  }

 private:
  friend promise_type;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}

  friend auto chained_awaiter(task&& t, ContextAwarePromise& awaiting) noexcept {
    return detail::TaskAwaiter<T, true, true>(t.handle_, &awaiting.coroutine_context());
  }
  friend auto chained_awaiter(task& t, ContextAwarePromise& awaiting) noexcept {
    return detail::TaskAwaiter<T, false, true>(t.handle_, &awaiting.coroutine_context());
  }

  void destroy() noexcept {
    if (!handle_) return;
    if (!handle_.done()) handle_.promise().enter_for_destroy();
    handle_.destroy();
    handle_ = {};
  }

  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

template <class T>
task<T> TaskPromise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<TaskPromise>::from_promise(*this));
}
template <class T>
task<T&> TaskPromise<T&>::get_return_object() noexcept {
  return task<T&>(std::coroutine_handle<TaskPromise>::from_promise(*this));
}
inline task<void> TaskPromise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<TaskPromise>::from_promise(*this));
}

}  // namespace detail

}  // namespace krishiv::trace
