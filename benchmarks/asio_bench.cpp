// Cost per co_await of an asio operation that completes at once, with the asio integration
// (co_spawn_traced: every resumption runs through traced_executor) against plain asio::co_spawn,
// in the same run. Two operations: asio::post(use_awaitable), the cheapest round trip through the
// executor, and a steady_timer that has already expired (through the timer queue). One
// io_context run by the benchmark thread; the current context holds a span, as in real use.
// The budget is 10 ns more per co_await. The closing table gives traced - plain per co_await from
// this run's medians (with --benchmark_repetitions > 1; --benchmark_enable_random_interleaving
// spreads the machine's noise over both).

#include <benchmark/benchmark.h>

#include <krishiv/trace/integrations/asio.hpp>

#include <asio.hpp>
#include <cstdio>
#include <map>
#include <string>

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

// The console output, then traced - plain for each pair from the medians it saw.
class DifferenceReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Aggregate || r.aggregate_name != "median") continue;
      std::string name = r.run_name.function_name;
      bool traced = false;
      if (name.ends_with("_traced")) {
        traced = true;
        name.resize(name.size() - 7);
      } else if (name.ends_with("_plain")) {
        name.resize(name.size() - 6);
      } else {
        continue;
      }
      Pair& p = pairs_[name];
      (traced ? p.traced : p.plain) = {r.GetAdjustedRealTime(), r.GetAdjustedCPUTime(), true};
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    bool header = false;
    for (const auto& [name, p] : pairs_) {
      if (!p.plain.seen || !p.traced.seen) continue;
      if (!header) {
        std::printf("\n%-20s %12s %12s %12s   (medians, ns per co_await)\n", "traced - plain",
                    "cpu plain", "cpu traced", "cpu diff");
        header = true;
      }
      std::printf("%-20s %12.1f %12.1f %+12.1f   (real: %.1f %.1f %+.1f)\n", name.c_str(),
                  p.plain.cpu, p.traced.cpu, p.traced.cpu - p.plain.cpu, p.plain.real,
                  p.traced.real, p.traced.real - p.plain.real);
    }
    std::fflush(stdout);
  }

 private:
  struct Times {
    double real = 0, cpu = 0;
    bool seen = false;
  };
  struct Pair {
    Times plain, traced;
  };
  std::map<std::string, Pair> pairs_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  DifferenceReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
