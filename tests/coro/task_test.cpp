#include "krishiv/trace/coro/task.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "hop_pool.hpp"
#include "krishiv/trace/coro/sync_wait.hpp"

using namespace krishiv::trace;
using krishiv::trace::test::child_of;
using krishiv::trace::test::root_context;
using krishiv::trace::test::same_span;

namespace {

task<int> forty_two() {
  co_return 42;
}

task<std::unique_ptr<std::string>> boxed(std::string s) {
  co_return std::make_unique<std::string>(std::move(s));
}

task<int&> ref_to(int& x) {
  co_return x;
}

task<void> set_flag(bool& flag) {
  flag = true;
  co_return;
}

task<Context> current_in_task() {
  co_return Context::current();
}

// Parks its awaiter; the test resumes it by hand.
struct Park {
  std::coroutine_handle<>* slot;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { *slot = h; }
  void await_resume() const noexcept {}
};

struct RecordOnDestroy {
  Context* out;
  ~RecordOnDestroy() { *out = Context::current(); }
};

}  // namespace

TEST_CASE("task: lazy, values, references, void") {
  bool ran = false;
  auto t = set_flag(ran);
  CHECK_FALSE(ran);
  CHECK_FALSE(t.is_ready());
  sync_wait(std::move(t));
  CHECK(ran);

  CHECK(sync_wait(forty_two()) == 42);
  CHECK(*sync_wait(boxed("move-only")) == "move-only");

  int x = 1;
  int& r = sync_wait(ref_to(x));
  CHECK(&r == &x);

  // An lvalue co_await yields a reference to the task's result.
  auto outer = [](task<int>& inner) -> task<int> {
    int& v = co_await inner;
    v += 1;
    co_return co_await inner;
  };
  auto inner = forty_two();
  CHECK(sync_wait(outer(inner)) == 43);
  CHECK(inner.is_ready());
}

TEST_CASE("task: captures the context at creation, not at the await") {
  const Context creator = root_context();
  const Context awaiter = root_context();
  auto t = [&] {
    ContextScope s(creator);
    return current_in_task();
  }();
  ContextScope s(awaiter);
  CHECK(same_span(sync_wait(std::move(t)), creator));
  CHECK(same_span(Context::current(), awaiter));
}

TEST_CASE("task: nested tasks see the awaiting task's span; their own spans do not leak out") {
  const Context main_ctx = root_context();
  ContextScope m(main_ctx);
  auto parent = []() -> task<bool> {
    bool ok = true;
    ContextScope span(child_of(Context::current()));
    const Context mine = Context::current();
    auto child = [](Context expected_parent) -> task<bool> {
      bool inner_ok = same_span(Context::current(), expected_parent);
      ContextScope own(child_of(Context::current()));
      co_return inner_ok;
    };
    ok &= co_await child(mine);
    ok &= same_span(Context::current(), mine);
    Context seen = co_await current_in_task();
    ok &= same_span(seen, mine);
    ok &= same_span(Context::current(), mine);
    co_return ok;
  };
  CHECK(sync_wait(parent()));
  CHECK(same_span(Context::current(), main_ctx));
}

TEST_CASE("task: suspension gives the thread its context back; resumption brings the task's") {
  std::coroutine_handle<> parked;
  const Context spawner = root_context();
  const Context resumer = root_context();
  Context in_task_after_resume;
  Context span_ctx;
  std::latch done(1);

  auto body = [&]() -> task<void> {
    ContextScope span(child_of(Context::current()));
    span_ctx = Context::current();
    co_await Park{&parked};
    in_task_after_resume = Context::current();
  };
  {
    ContextScope s(spawner);
    test::spawn(body(), done);
    CHECK(same_span(Context::current(), spawner));  // the task suspended: no leak
  }
  REQUIRE(parked);
  {
    ContextScope s(resumer);
    parked.resume();  // runs to completion, then the spawner's continuation, here
    CHECK(same_span(Context::current(), resumer));  // completion: no leak
  }
  CHECK(done.try_wait());
  CHECK(same_span(in_task_after_resume, span_ctx));
}

TEST_CASE("task: exceptions propagate to the awaiter with the awaiter's context current") {
  auto thrower = []() -> task<int> {
    ContextScope s(child_of(Context::current()));
    throw std::runtime_error("boom");
    co_return 0;
  };
  auto catcher = [&]() -> task<bool> {
    ContextScope s(root_context());
    const Context mine = Context::current();
    try {
      co_await thrower();
    } catch (const std::runtime_error& e) {
      co_return same_span(Context::current(), mine) && std::string(e.what()) == "boom";
    }
    co_return false;
  };
  CHECK(sync_wait(catcher()));
  CHECK_THROWS_AS(sync_wait(thrower()), std::runtime_error);
}

TEST_CASE("task: a throwing await_suspend leaves the coroutine in its own context") {
  test::HopPool pool(2);
  auto body = [&]() -> task<bool> {
    ContextScope s(root_context());
    const Context mine = Context::current();
    try {
      co_await pool.failing_hop();
    } catch (const std::runtime_error&) {
      co_return same_span(Context::current(), mine);
    }
    co_return false;
  };
  const Context main_ctx = root_context();
  ContextScope m(main_ctx);
  CHECK(sync_wait(body()));
  CHECK(same_span(Context::current(), main_ctx));
}

TEST_CASE("task: symmetric transfer: a million synchronous co_awaits do not grow the stack") {
  auto loop = []() -> task<long> {
    long sum = 0;
    for (int i = 0; i < 1'000'000; ++i) sum += co_await forty_two();
    co_return sum;
  };
  CHECK(sync_wait(loop()) == 42'000'000L);
}

TEST_CASE("task: destroying a suspended task runs its destructors in its context") {
  std::coroutine_handle<> parked;
  Context seen_by_destructor;
  Context span_ctx;
  auto body = [&]() -> task<void> {
    ContextScope span(child_of(root_context()));
    span_ctx = Context::current();
    RecordOnDestroy r{&seen_by_destructor};
    co_await Park{&parked};
  };
  // The outer task is suspended in a chained await of body: destroying it destroys both.
  auto outer = [&]() -> task<void> { co_await body(); };

  const Context destroyer = root_context();
  ContextScope d(destroyer);
  auto t = outer();
  auto driver = test::drive(t);
  REQUIRE(parked);
  CHECK(same_span(Context::current(), destroyer));
  t = task<void>{};
  CHECK(same_span(seen_by_destructor, span_ctx));
  CHECK(same_span(Context::current(), destroyer));
}

TEST_CASE("task: an awaitable that is ready at once leaves the contexts as they were") {
  const Context main_ctx = root_context();
  ContextScope m(main_ctx);
  auto body = []() -> task<bool> {
    ContextScope s(child_of(Context::current()));
    const Context mine = Context::current();
    co_await std::suspend_never{};  // no suspension: await_resume straight after await_ready
    bool ok = same_span(Context::current(), mine);
    co_await forty_two();
    ok = ok && same_span(Context::current(), mine);
    co_return ok;
  };
  CHECK(sync_wait(body()));
  CHECK(same_span(Context::current(), main_ctx));
}

TEST_CASE("task: destroying a task that never started gives its parameters the thread's context") {
  const Context creator = root_context();
  const Context destroyer = root_context();
  Context seen_by_parameter;
  auto body = [](RecordOnDestroy) -> task<void> { co_return; };
  ContextScope d(destroyer);
  {
    auto t = [&] {
      ContextScope s(creator);
      return body(RecordOnDestroy{&seen_by_parameter});
    }();
    CHECK(same_span(seen_by_parameter, creator));  // the argument temporary, at the call
  }
  // The promise, and the task's chain with it, dies before the parameter copies: the thread's own
  // chain must be back by then.
  CHECK(same_span(seen_by_parameter, destroyer));
  CHECK(same_span(Context::current(), destroyer));
}
