// Recording into a histogram series: uncontended, and from 2 threads into the same series, to
// be read as ratios in one run:
// - BM_HistogramRecord/threads:1 against BM_RelaxedAtomicAdd/threads:1 (one fetch_add, the floor
//   of any shared counter): the cost of a record (target <= 20 ns);
// - BM_HistogramRecord threads:2 over threads:1 items_per_second: the scaling (target >= 1.6x);
// - the same for the ways not taken: every thread on one set of cells (BM_HistogramUnsharded)
//   and per-thread shards written with fetch_add instead of load+store (BM_HistogramShardedRmw);
// - BM_HistogramFindAndRecord: what the gRPC interceptor does per call (lock-free series lookup
//   by method, code and side, then a record).

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <string_view>

#include "krishiv/trace/metrics/histogram.hpp"
#include "krishiv/trace/metrics/sharded_cells.hpp"

namespace {

namespace m = krishiv::trace::metrics;
namespace d = krishiv::trace::detail;

const std::vector<double> kBounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

// Durations spread over the first buckets, as fast calls are.
constexpr double kValues[8] = {0.00012, 0.0003, 0.00007, 0.0011, 0.0004, 0.0026, 0.00009, 0.006};

m::Histogram& shared_histogram() {
  static m::Histogram h("bench_seconds", "bench", {"method", "code", "side"}, kBounds);
  return h;
}

alignas(64) std::atomic<std::uint64_t> g_counter{0};

void BM_RelaxedAtomicAdd(benchmark::State& state) {
  for (auto _ : state) g_counter.fetch_add(1, std::memory_order_relaxed);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RelaxedAtomicAdd)->Threads(1)->Threads(2)->UseRealTime();

void BM_HistogramRecord(benchmark::State& state) {
  auto& s = shared_histogram().series({"/p.S/M", "OK", "server"});
  unsigned i = 0;
  for (auto _ : state) s.record(kValues[i++ & 7]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord)->Threads(1)->Threads(2)->UseRealTime();

// The same cells and bucket search, with a given slot instead of the thread's own.
class Cells {
 public:
  Cells() : cells_(kBounds.size() + 2) {}
  void record(const d::ShardSlot& slot, double v) noexcept {
    std::size_t i = 0;
    while (i < kBounds.size() && kBounds[i] < v) ++i;
    cells_.add(slot, i, 1);
    cells_.add_double(slot, kBounds.size() + 1, v);
  }

 private:
  d::ShardedCells cells_;
};

Cells& shared_cells() {
  static Cells c;
  return c;
}

void BM_HistogramUnsharded(benchmark::State& state) {
  const d::ShardSlot slot(d::ShardSlot::Shared{0});
  unsigned i = 0;
  for (auto _ : state) shared_cells().record(slot, kValues[i++ & 7]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramUnsharded)->Threads(1)->Threads(2)->UseRealTime();

void BM_HistogramShardedRmw(benchmark::State& state) {
  const d::ShardSlot slot(d::ShardSlot::Shared{static_cast<unsigned>(state.thread_index())});
  unsigned i = 0;
  for (auto _ : state) shared_cells().record(slot, kValues[i++ & 7]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramShardedRmw)->Threads(1)->Threads(2)->UseRealTime();

void BM_HistogramFindAndRecord(benchmark::State& state) {
  auto& h = shared_histogram();
  constexpr std::string_view kMethods[4] = {"/krishiv.Executor/RunTask", "/krishiv.Executor/Ping",
                                            "/krishiv.Coordinator/Heartbeat",
                                            "/krishiv.Coordinator/Register"};
  unsigned i = 0;
  for (auto _ : state) {
    h.series({kMethods[i & 3], "OK", "client"}).record(kValues[i & 7]);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramFindAndRecord)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
