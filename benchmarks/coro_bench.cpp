// Cost per co_await of the context-aware task<T> against a plain lazy task written here, in the
// same run: (1) a task awaiting a child task that completes synchronously (the child copies the
// current context at creation, takes the thread's chain head over from its awaiter at the start
// and hands it back at completion), and (2) a task awaiting a foreign awaitable that suspends and
// is resumed at once by symmetric transfer (the exchange wrapper's two pointer exchanges). The
// current context holds a span, as in real use. Compare the pairs; the budget is 5 ns more per
// co_await.

#include <benchmark/benchmark.h>

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "krishiv/trace/coro/sync_wait.hpp"
#include "krishiv/trace/coro/task.hpp"
#include "krishiv/trace/ids.hpp"

namespace kt = krishiv::trace;

namespace {

// The baseline: a minimal lazy task with symmetric transfer and nothing else.
template <class T>
class plain_task {
 public:
  struct promise_type {
    std::coroutine_handle<> continuation;
    std::optional<T> value;
    std::exception_ptr error;
    plain_task get_return_object() noexcept {
      return plain_task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        return h.promise().continuation;
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_value(T v) { value.emplace(std::move(v)); }
    void unhandled_exception() noexcept { error = std::current_exception(); }
  };
  explicit plain_task(std::coroutine_handle<promise_type> h) : h_(h) {}
  plain_task(plain_task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  ~plain_task() {
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

// Suspends and resumes the awaiter immediately: the cheapest real suspension.
struct Yield {
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) const noexcept { return h; }
  void await_resume() const noexcept {}
};

template <template <class> class Task>
Task<int> leaf(int i) {
  co_return i;
}

template <template <class> class Task>
Task<long> await_children(long n) {
  long sum = 0;
  for (long i = 0; i < n; ++i) sum += co_await leaf<Task>(static_cast<int>(i));
  co_return sum;
}

template <template <class> class Task>
Task<long> await_yields(long n) {
  long sum = 0;
  for (long i = 0; i < n; ++i) {
    co_await Yield{};
    sum += i;
  }
  co_return sum;
}

constexpr long kChain = 1000;

kt::Context span_context() {
  kt::SpanContext sc;
  sc.trace_id = kt::TraceId::random();
  sc.span_id = kt::SpanId::random();
  sc.flags = kt::TraceFlags(kt::TraceFlags::kSampled);
  return kt::Context(sc);
}

template <template <class> class Task>
void BM_TaskAwait(benchmark::State& state) {
  kt::ContextScope scope(span_context());
  for (auto _ : state) benchmark::DoNotOptimize(kt::sync_wait(await_children<Task>(kChain)));
  state.SetItemsProcessed(state.iterations() * kChain);
  state.counters["ns_per_co_await"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kChain),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <template <class> class Task>
void BM_YieldAwait(benchmark::State& state) {
  kt::ContextScope scope(span_context());
  for (auto _ : state) benchmark::DoNotOptimize(kt::sync_wait(await_yields<Task>(kChain)));
  state.SetItemsProcessed(state.iterations() * kChain);
  state.counters["ns_per_co_await"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kChain),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK_TEMPLATE(BM_TaskAwait, plain_task);
BENCHMARK_TEMPLATE(BM_TaskAwait, kt::task);
BENCHMARK_TEMPLATE(BM_YieldAwait, plain_task);
BENCHMARK_TEMPLATE(BM_YieldAwait, kt::task);

}  // namespace

BENCHMARK_MAIN();
