// The acceptance test for context propagation through coroutines: 10,000 concurrent tasks on a
// pool that resumes every coroutine on a different thread than it suspended on, with real spans
// exported through a provider. Every parent/child link is checked from the exported SpanData, no
// worker may be left holding a task's context, and exceptions must carry through the hops.

#include <catch2/catch.hpp>
#include <krishiv/trace.hpp>
#include <krishiv/trace/exporters/in_memory.hpp>

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <cstdint>
#include <latch>
#include <map>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "hop_pool.hpp"
#include "krishiv/trace/coro/sync_wait.hpp"
#include "krishiv/trace/coro/task.hpp"

using namespace krishiv::trace;
using krishiv::trace::test::child_of;
using krishiv::trace::test::HopPool;
using krishiv::trace::test::root_context;
using krishiv::trace::test::same_span;

namespace {

constexpr int kTasks = 10'000;
constexpr int kRounds = 3;

// A provider that keeps every span: always sampled, and a queue no test loop can overrun.
struct Recorder {
  std::shared_ptr<InMemoryExporter> sink = std::make_shared<InMemoryExporter>();
  TracerProvider provider{{.exporter = TracerExporter::InMemory(sink),
                           .sampler = Sampler::always_on(),
                           .batch = BatchOptions{.max_queue_size = 1 << 20}}};

  std::vector<SpanData> flush() {
    provider.force_flush();
    return sink->spans();
  }
};

// Counted inside the tasks and checked once at the end: a CHECK per resumption would be 130,000
// assertions, and Catch2's assertion macros are not thread-safe.
struct Tally {
  std::atomic<int> context_errors{0};  // the current span was wrong after a resumption
  std::atomic<int> same_thread{0};     // a hop that did not change threads
  std::atomic<int> caught{0};

  void expect_current(const SpanContext& expected) {
    const SpanContext& c = Context::current().span_context();
    if (c.span_id != expected.span_id || c.trace_id != expected.trace_id) {
      context_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
  // hop() through this so that every resumption is checked to be on another thread.
  auto hop(HopPool& pool) {
    struct Awaiter {
      decltype(pool.hop()) inner;
      Tally* tally;
      std::thread::id before{};
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) {
        before = test::thread_id();
        inner.await_suspend(h);
      }
      void await_resume() noexcept {
        if (test::thread_id() == before) tally->same_thread.fetch_add(1, std::memory_order_relaxed);
      }
    };
    return Awaiter{pool.hop(), this};
  }
};

bool current_is(const SpanContext& sc) {
  const SpanContext& c = Context::current().span_context();
  return c.span_id == sc.span_id && c.trace_id == sc.trace_id;
}

// Awaited by a task under its child span: starts in that context (captured at creation), opens its
// own span after a resumption on another thread, keeps it open across a second hop, and may throw
// through its awaiter.
task<void> leaf(HopPool& pool, Tally& tally, std::int64_t index, bool fail) {
  const SpanContext parent = Context::current().span_context();
  co_await tally.hop(pool);
  tally.expect_current(parent);
  auto span = info_span("leaf").entered();
  span.set_attribute("index", index);
  const SpanContext mine = span.context();
  co_await tally.hop(pool);
  tally.expect_current(mine);
  if (fail) throw std::runtime_error("leaf failed");
}

// One span open across every co_await of the body; a child span after each resumption.
task<void> traced(HopPool& pool, Tally& tally, std::int64_t index, bool fail) {
  auto span = info_span("task").entered();
  span.set_attribute("index", index);
  const SpanContext mine = span.context();
  for (int round = 0; round < kRounds; ++round) {
    co_await tally.hop(pool);
    tally.expect_current(mine);
    {
      auto child = info_span("child").entered();
      child.set_attribute("index", index);
      const SpanContext c = child.context();
      co_await tally.hop(pool);
      tally.expect_current(c);
      try {
        co_await leaf(pool, tally, index, fail && round == 1);
      } catch (const std::runtime_error&) {
        tally.caught.fetch_add(1, std::memory_order_relaxed);
      }
      tally.expect_current(c);
    }
    tally.expect_current(mine);
  }
  co_await tally.hop(pool);
  tally.expect_current(mine);
  if (fail) throw std::logic_error("task failed");
}

task<void> guarded(HopPool& pool, Tally& tally, SpanContext root, std::int64_t index, bool fail) {
  try {
    co_await traced(pool, tally, index, fail);
  } catch (const std::logic_error&) {
    tally.caught.fetch_add(1, std::memory_order_relaxed);
  }
  tally.expect_current(root);
}

std::int64_t index_of(const SpanData& s) {
  const AttributeValue* v = s.attribute("index");
  return v != nullptr && std::holds_alternative<std::int64_t>(*v) ? std::get<std::int64_t>(*v) : -1;
}

}  // namespace

TEST_CASE(
    "propagation: 10,000 concurrent tasks with spans, resumed on a different thread each time") {
  Recorder rec;
  HopPool pool(4);
  Tally tally;
  const Context main_ctx = root_context();
  ContextScope m(main_ctx);
  std::latch done(kTasks);
  SpanContext root;
  int main_context_errors = 0;
  {
    auto fanout = info_span("fanout").entered();
    root = fanout.context();
    for (int i = 0; i < kTasks; ++i) {
      test::spawn(guarded(pool, tally, root, i, i % 10 == 0), done);
      // The task has suspended on its first hop: this thread's context is the fan-out's still.
      if (!current_is(root)) ++main_context_errors;
    }
    done.wait();
    CHECK(current_is(root));
  }
  CHECK(main_context_errors == 0);
  CHECK(same_span(Context::current(), main_ctx));

  CHECK(tally.context_errors == 0);
  CHECK(tally.same_thread == 0);
  CHECK(tally.caught == kTasks / 10 * 2);
  pool.join();
  CHECK(pool.leaks() == 0);
  CHECK(pool.resumptions() == std::size_t{kTasks} * (kRounds * 4 + 1));

  const std::vector<SpanData> spans = rec.flush();
  REQUIRE(spans.size() == 1 + std::size_t{kTasks} * (1 + 2 * kRounds));

  // Which task (by index) each task and child span belongs to, keyed by span id.
  std::map<std::uint64_t, std::int64_t> task_index, child_index;
  std::vector<int> seen(kTasks, 0);
  for (const SpanData& s : spans) {
    if (s.name == "task") {
      task_index[s.span_id.to_u64()] = index_of(s);
      if (index_of(s) >= 0 && index_of(s) < kTasks) ++seen[static_cast<std::size_t>(index_of(s))];
    }
    if (s.name == "child") child_index[s.span_id.to_u64()] = index_of(s);
  }
  CHECK(task_index.size() == std::size_t{kTasks});
  CHECK(child_index.size() == std::size_t{kTasks} * kRounds);
  CHECK(std::count(seen.begin(), seen.end(), 1) == kTasks);

  std::size_t bad_task = 0, bad_child = 0, bad_leaf = 0, leaves = 0, wrong_trace = 0;
  for (const SpanData& s : spans) {
    if (s.name == "fanout") continue;
    if (s.trace_id != root.trace_id) ++wrong_trace;
    if (s.name == "task") {
      if (s.parent_span_id != root.span_id) ++bad_task;
    } else if (s.name == "child") {
      auto it = task_index.find(s.parent_span_id.to_u64());
      if (it == task_index.end() || it->second != index_of(s)) ++bad_child;
    } else if (s.name == "leaf") {
      ++leaves;
      auto it = child_index.find(s.parent_span_id.to_u64());
      if (it == child_index.end() || it->second != index_of(s)) ++bad_leaf;
    }
  }
  CHECK(leaves == std::size_t{kTasks} * kRounds);
  CHECK(bad_task == 0);
  CHECK(bad_child == 0);
  CHECK(bad_leaf == 0);
  CHECK(wrong_trace == 0);
}

TEST_CASE("propagation: a task's span is a child of the span current at its creation") {
  Recorder rec;
  HopPool pool(2);
  auto work = [&]() -> task<void> {
    auto s = info_span("work").entered();
    co_await pool.hop();
    auto inner = info_span("after_hop").entered();
  };
  SpanContext creator, awaiter;
  {
    auto t = [&] {
      auto c = info_span("creator").entered();
      creator = c.context();
      return work();
    }();
    auto a = info_span("awaiter").entered();
    awaiter = a.context();
    sync_wait(std::move(t));
    CHECK(current_is(awaiter));
  }
  CHECK_FALSE(Context::current().has_span());
  const auto spans = rec.flush();
  auto find = [&](std::string_view name) {
    for (const auto& s : spans) {
      if (s.name == name) return s;
    }
    FAIL("no span " << name);
    return SpanData{};
  };
  CHECK(find("work").parent_span_id == creator.span_id);
  CHECK(find("after_hop").parent_span_id == find("work").span_id);
  pool.join();
  CHECK(pool.leaks() == 0);
}

TEST_CASE("propagation: destroying a suspended task ends its spans in its context") {
  Recorder rec;
  std::coroutine_handle<> parked;
  struct Park {
    std::coroutine_handle<>* slot;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { *slot = h; }
    void await_resume() const noexcept {}
  };
  auto body = [&]() -> task<void> {
    auto s = info_span("abandoned").entered();
    auto inner = info_span("abandoned.inner").entered();
    co_await Park{&parked};
  };
  const Context destroyer = root_context();
  ContextScope d(destroyer);
  {
    auto t = body();
    auto driver = test::drive(t);
    REQUIRE(parked);
    CHECK(same_span(Context::current(), destroyer));
  }  // driver, then t: t destroys the suspended body
  CHECK(same_span(Context::current(), destroyer));
  const auto spans = rec.flush();
  REQUIRE(spans.size() == 2);
  const SpanData& outer = spans[0].name == "abandoned" ? spans[0] : spans[1];
  const SpanData& inner = spans[0].name == "abandoned" ? spans[1] : spans[0];
  CHECK(outer.parent_span_id == destroyer.span_context().span_id);
  CHECK(inner.parent_span_id == outer.span_id);
}

// Context-level: independent of the span API, so a failure here points at the coroutine layer.

namespace {

struct Link {
  SpanId expected_parent;
  SpanId observed_parent;
  TraceId expected_trace;
  TraceId observed_trace;
  bool ok() const { return expected_parent == observed_parent && expected_trace == observed_trace; }
};

struct Record {
  Context root;
  std::vector<Link> links;
  int context_errors = 0;  // current context wrong after a resumption
  int same_thread_resumptions = 0;
  int exceptions_caught = 0;
};

void expect_current(Record& rec, const Context& expected) {
  if (!same_span(Context::current(), expected)) ++rec.context_errors;
}

// Creates a child of whatever is current after `hops` resumptions on other threads.
task<void> context_leaf(HopPool& pool, Record& rec, int hops, bool fail) {
  const Context parent = Context::current();
  for (int i = 0; i < hops; ++i) {
    const auto before = test::thread_id();
    co_await pool.hop();
    if (test::thread_id() == before) ++rec.same_thread_resumptions;
    expect_current(rec, parent);
  }
  const Context child = child_of(Context::current());
  rec.links.push_back({parent.span_context().span_id, Context::current().span_context().span_id,
                       parent.span_context().trace_id, child.span_context().trace_id});
  ContextScope s(child);
  co_await pool.hop();
  expect_current(rec, child);
  if (fail) throw std::runtime_error("leaf failed");
}

task<int> request(HopPool& pool, Record& rec, bool fail) {
  const Context base = Context::current();
  expect_current(rec, rec.root);
  for (int round = 0; round < kRounds; ++round) {
    const auto before = test::thread_id();
    co_await pool.hop();
    if (test::thread_id() == before) ++rec.same_thread_resumptions;
    expect_current(rec, base);
    {
      // A span open across co_await: everything below, on any thread, is its child.
      const Context span = child_of(Context::current());
      rec.links.push_back({base.span_context().span_id, Context::current().span_context().span_id,
                           base.span_context().trace_id, span.span_context().trace_id});
      ContextScope s(span);
      co_await pool.hop();
      expect_current(rec, span);
      try {
        co_await context_leaf(pool, rec, 2, fail && round == 1);
      } catch (const std::runtime_error&) {
        ++rec.exceptions_caught;
      }
      expect_current(rec, span);
      co_await context_leaf(pool, rec, 1, false);
      expect_current(rec, span);
    }
    expect_current(rec, base);
  }
  if (fail) throw std::logic_error("request failed");
  co_return 1;
}

}  // namespace

TEST_CASE("propagation: sync_wait from main, completion on a worker") {
  HopPool pool(2);
  const Context main_ctx = root_context();
  ContextScope m(main_ctx);
  Record rec;
  rec.root = root_context();
  auto t = [&] {
    ContextScope s(rec.root);
    return request(pool, rec, false);
  }();
  CHECK(sync_wait(std::move(t)) == 1);
  CHECK(rec.context_errors == 0);
  CHECK(rec.links.size() == std::size_t{kRounds} * 3);
  for (const Link& l : rec.links) CHECK(l.ok());
  CHECK(same_span(Context::current(), main_ctx));
  pool.join();
  CHECK(pool.leaks() == 0);
}
