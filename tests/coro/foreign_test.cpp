// Coroutine types krishiv-trace does not own: what the adaptors fix, and what stays broken without
// them (pinned here so the documentation in docs/coroutines.md stays true).

#include <catch2/catch.hpp>
#include <coroutine>
#include <exception>
#include <latch>
#include <optional>
#include <stdexcept>
#include <utility>

#include "hop_pool.hpp"
#include "krishiv/trace/coro/sync_wait.hpp"
#include "krishiv/trace/coro/task.hpp"
#include "krishiv/trace/coro/with_context.hpp"

using namespace krishiv::trace;
using krishiv::trace::test::child_of;
using krishiv::trace::test::HopPool;
using krishiv::trace::test::root_context;
using krishiv::trace::test::same_span;

namespace {

struct NoBase {};

// A lazy task in the style of cppcoro::task: symmetric transfer, no await_transform, a promise
// that the tracing library cannot change. Base is empty, or ContextAwarePromise for the variant
// whose owner opted in.
template <class T, bool Aware>
class foreign_task {
 public:
  struct promise_type : std::conditional_t<Aware, ContextAwarePromise, NoBase> {
    std::coroutine_handle<> continuation;
    std::optional<T> value;
    std::exception_ptr error;

    foreign_task get_return_object() noexcept {
      return foreign_task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    struct Final {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        return h.promise().continuation;
      }
      void await_resume() noexcept {}
    };
    auto initial_suspend() noexcept {
      if constexpr (Aware) {
        return this->context_initial(std::suspend_always{});
      } else {
        return std::suspend_always{};
      }
    }
    auto final_suspend() noexcept {
      if constexpr (Aware) {
        return this->context_final(Final{});
      } else {
        return Final{};
      }
    }
    void return_value(T v) { value.emplace(std::move(v)); }
    void unhandled_exception() noexcept { error = std::current_exception(); }
  };

  explicit foreign_task(std::coroutine_handle<promise_type> h) : h_(h) {}
  foreign_task(foreign_task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  ~foreign_task() {
    if (h_) h_.destroy();
  }

  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> h;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> c) noexcept {
        h.promise().continuation = c;
        return h;
      }
      T await_resume() {
        if (h.promise().error) std::rethrow_exception(h.promise().error);
        return std::move(*h.promise().value);
      }
    };
    return Awaiter{h_};
  }

 private:
  std::coroutine_handle<promise_type> h_;
};

template <class T>
using plain_task = foreign_task<T, false>;
template <class T>
using aware_task = foreign_task<T, true>;

}  // namespace

TEST_CASE("foreign: without an adaptor the context is lost at a thread hop (the problem)") {
  HopPool pool(2);
  const Context creator = root_context();
  auto body = [&]() -> plain_task<bool> {
    const bool started_in_creator = same_span(Context::current(), creator);
    co_await pool.hop();
    // Resumed on a worker: the worker's context is current, not the one the body started with.
    const Context* sentinel = pool.sentinel_here();
    co_return started_in_creator&& sentinel != nullptr&& same_span(Context::current(), *sentinel);
  };
  ContextScope s(creator);
  CHECK(sync_wait(body()));
}

TEST_CASE("foreign: FrameContext + with_context keeps the context across hops, no leaks") {
  HopPool pool(3);
  const Context main_ctx = root_context();
  ContextScope m(main_ctx);
  const Context creator = root_context();
  auto body = [&]() -> plain_task<int> {
    FrameContext frame;  // adopts the context current at the body's start
    int errors = 0;
    if (!same_span(Context::current(), creator)) ++errors;
    ContextScope span(child_of(Context::current()));
    const Context mine = Context::current();
    for (int i = 0; i < 5; ++i) {
      co_await with_context(frame, pool.hop());
      if (!same_span(Context::current(), mine)) ++errors;
    }
    // A Suspension scope, for coroutine types that reject foreign awaitables.
    {
      auto s = frame.suspension();
      co_await pool.hop();
    }
    if (!same_span(Context::current(), mine)) ++errors;
    co_return errors;
  };
  // Lazy foreign coroutine: it runs in the context current when it *starts*, hence the scope here.
  {
    ContextScope s(creator);
    CHECK(sync_wait(body()) == 0);
  }
  CHECK(same_span(Context::current(), main_ctx));
  pool.join();
  CHECK(pool.leaks() == 0);
}

TEST_CASE("foreign: with_context passes results and exceptions through") {
  HopPool pool(2);
  auto body = [&]() -> plain_task<bool> {
    FrameContext frame(root_context());
    const Context mine = Context::current();
    int v = co_await with_context(frame, [&]() -> task<int> {
      co_await pool.hop();
      co_return 7;
    }());
    bool ok = v == 7 && same_span(Context::current(), mine);
    try {
      co_await with_context(frame, pool.failing_hop());
      ok = false;
    } catch (const std::runtime_error&) {
      ok = ok && same_span(Context::current(), mine);
    }
    co_return ok;
  };
  const Context main_ctx = root_context();
  ContextScope m(main_ctx);
  CHECK(sync_wait(body()));
  CHECK(same_span(Context::current(), main_ctx));
  pool.join();
  CHECK(pool.leaks() == 0);
}

TEST_CASE("foreign: ContextAwarePromise makes a foreign task type fully context-aware") {
  HopPool pool(3);
  const Context main_ctx = root_context();
  ContextScope m(main_ctx);
  const Context creator = root_context();

  auto inner_task = [&](Context expected) -> task<int> {
    int errors = same_span(Context::current(), expected) ? 0 : 1;
    co_await pool.hop();
    errors += same_span(Context::current(), expected) ? 0 : 1;
    co_return errors;
  };
  auto aware_leaf = [&](Context expected) -> aware_task<int> {
    int errors = same_span(Context::current(), expected) ? 0 : 1;
    co_await pool.hop();
    errors += same_span(Context::current(), expected) ? 0 : 1;
    co_return errors;
  };
  auto body = [&]() -> aware_task<int> {
    int errors = same_span(Context::current(), creator) ? 0 : 1;
    ContextScope span(child_of(Context::current()));
    const Context mine = Context::current();
    for (int i = 0; i < 3; ++i) {
      co_await pool.hop();  // through ContextAwarePromise::await_transform
      errors += same_span(Context::current(), mine) ? 0 : 1;
      errors += co_await inner_task(mine);  // task<T> from an aware foreign task: chained
      errors += same_span(Context::current(), mine) ? 0 : 1;
      errors += co_await aware_leaf(mine);
      errors += same_span(Context::current(), mine) ? 0 : 1;
    }
    co_return errors;
  };
  // Captured at creation, like task<T>: awaited under a different context.
  auto t = [&] {
    ContextScope s(creator);
    return body();
  }();
  // And awaited from a task<T>: the foreign awaitable goes through the exchange wrapper.
  auto outer = [&](aware_task<int> inner) -> task<int> {
    ContextScope s(root_context());
    const Context mine = Context::current();
    int errors = co_await std::move(inner);
    errors += same_span(Context::current(), mine) ? 0 : 1;
    co_return errors;
  };
  CHECK(sync_wait(outer(std::move(t))) == 0);
  CHECK(same_span(Context::current(), main_ctx));
  pool.join();
  CHECK(pool.leaks() == 0);
}

TEST_CASE("foreign: a task<T> awaited by an unaware coroutine restores the thread at completion") {
  HopPool pool(2);
  auto child = [&](Context expected) -> task<bool> {
    co_await pool.hop();
    co_return same_span(Context::current(), expected);
  };
  auto body = [&]() -> plain_task<bool> {
    const Context c = root_context();
    auto t = [&] {
      ContextScope s(c);
      return child(c);
    }();
    bool ok = co_await std::move(t);
    // Resumed on the worker where the child completed, with that worker's own context.
    const Context* sentinel = pool.sentinel_here();
    co_return ok&& sentinel != nullptr&& same_span(Context::current(), *sentinel);
  };
  CHECK(sync_wait(body()));
  pool.join();
  CHECK(pool.leaks() == 0);
}
