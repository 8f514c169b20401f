// Cost per co_await of an asio operation that completes at once, with the asio integration
// (co_spawn_traced: every resumption runs through traced_executor) against plain asio::co_spawn,
// in the same run. Two operations: asio::post(use_awaitable), the cheapest round trip through the
// executor, and a steady_timer that has already expired (through the timer queue). One
// io_context run by the benchmark thread; the current context holds a span, as in real use.
// Compare the pairs; the budget is 10 ns more per co_await.

#include <benchmark/benchmark.h>

#include <krishiv/trace/integrations/asio.hpp>

#include <asio.hpp>

#include "krishiv/trace/context.hpp"
#include "krishiv/trace/ids.hpp"

namespace kt = krishiv::trace;

namespace {

kt::Context a_span() {
  kt::SpanContext sc;
  sc.trace_id = kt::TraceId::random();
  sc.span_id = kt::SpanId::random();
  sc.flags = kt::TraceFlags(kt::TraceFlags::kSampled);
  return kt::Context(sc);
}

asio::awaitable<void> post_loop(benchmark::State& state) {
  for (auto _ : state) co_await asio::post(asio::use_awaitable);
}

asio::awaitable<void> timer_loop(benchmark::State& state) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (auto _ : state) {
    timer.expires_at(asio::steady_timer::time_point::min());
    co_await timer.async_wait(asio::use_awaitable);
  }
}

template <asio::awaitable<void> (*Loop)(benchmark::State&)>
void run(benchmark::State& state, bool traced) {
  asio::io_context io(1);
  const kt::Context ctx = a_span();
  kt::ContextScope scope(ctx);
  if (traced) {
    kt::co_spawn_traced(io, Loop(state), asio::detached);
  } else {
    asio::co_spawn(io, Loop(state), asio::detached);
  }
  io.run();
}

void BM_post_plain(benchmark::State& s) {
  run<post_loop>(s, false);
}
void BM_post_traced(benchmark::State& s) {
  run<post_loop>(s, true);
}
void BM_expired_timer_plain(benchmark::State& s) {
  run<timer_loop>(s, false);
}
void BM_expired_timer_traced(benchmark::State& s) {
  run<timer_loop>(s, true);
}

BENCHMARK(BM_post_plain);
BENCHMARK(BM_post_traced);
BENCHMARK(BM_expired_timer_plain);
BENCHMARK(BM_expired_timer_traced);

}  // namespace

BENCHMARK_MAIN();
