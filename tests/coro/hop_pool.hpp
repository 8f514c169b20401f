#pragma once
// Test executors for the coroutine tests.
//
// HopPool resumes every coroutine on a different thread than the one it suspended on: the
// condition under which a thread-local context goes wrong. Each worker runs with its own sentinel
// context current and checks, after every resumption it performs, that the sentinel is still
// current: a coroutine that leaked its context into the worker shows up as a count, not a crash.

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "krishiv/trace/context.hpp"
#include "krishiv/trace/ids.hpp"

namespace krishiv::trace::test {

inline Context root_context() {
  SpanContext sc;
  sc.trace_id = TraceId::random();
  sc.span_id = SpanId::random();
  sc.flags = TraceFlags(TraceFlags::kSampled);
  return Context(sc);
}

// A child of `parent`: same trace, fresh span id. What span.hpp will do; written out here so the
// propagation tests do not depend on the span API.
inline Context child_of(const Context& parent) {
  SpanContext sc = parent.span_context();
  sc.span_id = SpanId::random();
  sc.is_remote = false;
  return Context(sc);
}

inline bool same_span(const Context& a, const Context& b) {
  return a.span_context().trace_id == b.span_context().trace_id &&
         a.span_context().span_id == b.span_context().span_id;
}

// std::this_thread::get_id() inside a coroutine is not to be trusted with clang: pthread_self() is
// declared const, and clang reuses a value from before a suspension after the coroutine resumed
// elsewhere. An out-of-line call is asked afresh.
[[gnu::noinline]] inline std::thread::id thread_id() noexcept {
  return std::this_thread::get_id();
}

class HopPool {
 public:
  explicit HopPool(std::size_t threads) {
    for (std::size_t i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
    for (std::size_t i = 0; i < threads; ++i) {
      workers_[i]->sentinel = root_context();
      workers_[i]->thread = std::thread([this, i] { run(i); });
    }
  }
  ~HopPool() { join(); }

  // Stops the workers once their queues are empty. A worker counts a resumption, and checks it for
  // a leak, after resume() returns, which may be after the coroutine it resumed has already
  // released a waiting test: read leaks() and resumptions() after join().
  void join() {
    for (auto& w : workers_) {
      std::lock_guard lock(w->mutex);
      w->stop = true;
      w->cv.notify_one();
    }
    for (auto& w : workers_) {
      if (w->thread.joinable()) w->thread.join();
    }
  }
  HopPool(const HopPool&) = delete;
  HopPool& operator=(const HopPool&) = delete;

  // co_await pool.hop(): resumes the awaiter on a worker other than the calling thread.
  auto hop() noexcept {
    struct Awaiter {
      HopPool* pool;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) { pool->post_elsewhere(h); }
      void await_resume() const noexcept {}
    };
    return Awaiter{this};
  }

  // An awaitable whose await_suspend throws after the coroutine has suspended.
  auto failing_hop() noexcept {
    struct Awaiter {
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<>) { throw std::runtime_error("hop refused"); }
      void await_resume() const noexcept {}
    };
    return Awaiter{};
  }

  std::size_t leaks() const noexcept { return leaks_.load(); }
  std::size_t resumptions() const noexcept { return resumptions_.load(); }

  // The sentinel context of the worker running the caller, or nullptr off the pool.
  const Context* sentinel_here() const noexcept {
    for (auto& w : workers_) {
      if (w->thread.get_id() == thread_id()) return &w->sentinel;
    }
    return nullptr;
  }

 private:
  struct Worker {
    std::thread thread;
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::coroutine_handle<>> queue;
    bool stop = false;
    Context sentinel;
  };

  void post_elsewhere(std::coroutine_handle<> h) {
    const auto self = thread_id();
    std::size_t i = next_.fetch_add(1, std::memory_order_relaxed) % workers_.size();
    if (workers_[i]->thread.get_id() == self) i = (i + 1) % workers_.size();
    Worker& w = *workers_[i];
    std::lock_guard lock(w.mutex);
    w.queue.push_back(h);
    w.cv.notify_one();
  }

  void run(std::size_t index) {
    Worker& w = *workers_[index];
    ContextScope own(w.sentinel);
    for (;;) {
      std::coroutine_handle<> h;
      {
        std::unique_lock lock(w.mutex);
        w.cv.wait(lock, [&] { return w.stop || !w.queue.empty(); });
        if (w.queue.empty()) return;
        h = w.queue.front();
        w.queue.pop_front();
      }
      h.resume();
      resumptions_.fetch_add(1, std::memory_order_relaxed);
      if (!same_span(Context::current(), w.sentinel)) leaks_.fetch_add(1);
    }
  }

  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> leaks_{0};
  std::atomic<std::size_t> resumptions_{0};
};

// Starts an awaitable eagerly and counts down when it finishes: the fan-out without a when_all.
// A deliberately context-unaware coroutine type, like most foreign ones.
struct Spawned {
  struct promise_type {
    Spawned get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

template <class Task>
Spawned spawn(Task t, std::latch& done) {
  co_await std::move(t);
  done.count_down();
}

// Starts an awaitable eagerly and keeps the frame, so a test can destroy it while it is suspended.
struct Driven {
  struct promise_type {
    Driven get_return_object() noexcept {
      return Driven{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  explicit Driven(std::coroutine_handle<promise_type> h) noexcept : handle(h) {}
  Driven(Driven&& o) noexcept : handle(std::exchange(o.handle, {})) {}
  ~Driven() {
    if (handle) handle.destroy();
  }
  std::coroutine_handle<promise_type> handle;
};

template <class Task>
Driven drive(Task& t) {
  co_await t;
}

}  // namespace krishiv::trace::test
