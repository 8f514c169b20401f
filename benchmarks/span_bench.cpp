// What a span costs: every figure is also reported as a ratio to `floor`, measured in the same run
// (scripts/bench.sh prints the table). The floor is the naive cost of a span on this machine:
// two CLOCK_REALTIME reads, one 64-bit random id and a 64-byte store.

#include <benchmark/benchmark.h>
#include <time.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <krishiv/trace.hpp>
#include <memory>
#include <mutex>
#include <string>

namespace kt = krishiv::trace;
using TaskRun = kt::span_schema<"task_run", kt::job_id, kt::task_id, kt::epoch, kt::operator_id>;

void compiled_out_span(std::string_view job, std::int64_t i);  // span_bench_disabled.cpp

namespace {

const std::string kJob = "job-2026-11-25-0001";

// One provider for the whole run, installed lazily; sampled spans go to a discarding exporter at
// the default queue size, as an application with a fast exporter would see it.
struct CountingDiscard : kt::SpanExporter {
  std::atomic<std::uint64_t> spans{0};
  kt::ExportResult export_batch(const kt::SpanBatch& b) override {
    spans.fetch_add(b.size(), std::memory_order_relaxed);
    return kt::ExportResult::Success;
  }
};

struct Setup {
  std::shared_ptr<CountingDiscard> sink = std::make_shared<CountingDiscard>();
  std::unique_ptr<kt::TracerProvider> provider;
  void use(kt::Sampler sampler) {
    provider.reset();
    provider = std::make_unique<kt::TracerProvider>(kt::TracerProviderOptions{
        .exporter = kt::TracerExporter::Custom(sink), .sampler = sampler});
  }
};
Setup& setup() {
  static Setup s;
  return s;
}

// Providers are installed before a benchmark's threads start (Setup), not inside them.
void sampled(const benchmark::State&) {
  setup().use(kt::Sampler::always_on());
}
void unsampled(const benchmark::State&) {
  setup().use(kt::Sampler::always_off());
}

std::uint64_t dropped_now() {
  return setup().provider->stats().dropped_queue_full;
}

// Drops are cheaper than recorded spans, so they flatter ns/span: reported with every run, also
// as a share of the spans started (by all threads).
void report_drops(benchmark::State& state, std::uint64_t dropped_before,
                  std::int64_t spans_per_iteration = 1) {
  if (state.thread_index() != 0) return;
  setup().provider->force_flush();
  const auto dropped = static_cast<double>(dropped_now() - dropped_before);
  state.counters["dropped"] = dropped;
  state.counters["dropped_pct"] =
      100.0 * dropped /
      static_cast<double>(state.iterations() * state.threads() * spans_per_iteration);
}

// ---- floors ---------------------------------------------------------------------------------

alignas(64) std::uint8_t g_ring[64 * 64];

void BM_floor(benchmark::State& state) {
  kt::detail::Xoshiro256& rng = kt::detail::thread_rng();
  unsigned slot = 0;
  for (auto _ : state) {
    timespec a, b;
    clock_gettime(CLOCK_REALTIME, &a);
    const std::uint64_t id = rng.next();
    clock_gettime(CLOCK_REALTIME, &b);
    std::uint8_t* dst = g_ring + 64 * (slot++ & 63);
    std::memcpy(dst, &a, sizeof a);
    std::memcpy(dst + 16, &b, sizeof b);
    std::memcpy(dst + 32, &id, 8);
    std::memset(dst + 40, 0, 24);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_floor);

void BM_floor_tsc(benchmark::State& state) {
  kt::detail::Xoshiro256& rng = kt::detail::thread_rng();
  unsigned slot = 0;
  for (auto _ : state) {
    const std::uint64_t a = __rdtsc();
    const std::uint64_t id = rng.next();
    const std::uint64_t b = __rdtsc();
    std::uint8_t* dst = g_ring + 64 * (slot++ & 63);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + 8, &b, 8);
    std::memcpy(dst + 16, &id, 8);
    std::memset(dst + 24, 0, 40);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_floor_tsc);

// ---- spans ----------------------------------------------------------------------------------

void BM_span_no_fields(benchmark::State& state) {
  const auto dropped = dropped_now();
  for (auto _ : state) {
    auto s = kt::info_span("no_fields");
    benchmark::DoNotOptimize(s);
  }
  report_drops(state, dropped);
}
BENCHMARK(BM_span_no_fields)->Setup(sampled);

void BM_span_4_fields(benchmark::State& state) {
  const auto dropped = dropped_now();
  std::int64_t i = 0;
  for (auto _ : state) {
    auto s = TaskRun::start(kJob, ++i, 7, "hash-join-3");
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
  report_drops(state, dropped);
}
BENCHMARK(BM_span_4_fields)->Setup(sampled);
BENCHMARK(BM_span_4_fields)->Setup(sampled)->Threads(2)->UseRealTime();

void BM_span_4_fields_4_attributes(benchmark::State& state) {
  const auto dropped = dropped_now();
  std::int64_t i = 0;
  for (auto _ : state) {
    auto s = TaskRun::start(kJob, ++i, 7, "hash-join-3");
    s.set_attribute("rows", i)
        .set_attribute("bytes", i * 64)
        .set_attribute("table", "lineitem")
        .set_attribute("spilled", false);
    benchmark::DoNotOptimize(s);
  }
  report_drops(state, dropped);
}
BENCHMARK(BM_span_4_fields_4_attributes)->Setup(sampled);

template <int Depth>
void nest(std::int64_t i) {
  auto s = kt::info_span("nested", kt::task_id{i}).entered();
  if constexpr (Depth > 1) nest<Depth - 1>(i);
}

// Time per span: the nest of 8 counts 8 items.
void BM_span_nested_depth_8(benchmark::State& state) {
  const auto dropped = dropped_now();
  std::int64_t i = 0;
  for (auto _ : state) nest<8>(++i);
  state.SetItemsProcessed(state.iterations() * 8);
  state.counters["ns_per_span"] =
      benchmark::Counter(static_cast<double>(state.iterations() * 8),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  report_drops(state, dropped, 8);
}
BENCHMARK(BM_span_nested_depth_8)->Setup(sampled);

void BM_span_unsampled(benchmark::State& state) {
  std::int64_t i = 0;
  for (auto _ : state) {
    auto s = TaskRun::start(kJob, ++i, 7, "hash-join-3");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_span_unsampled)->Setup(unsampled);

// The common unsampled case: a span inside a trace whose root was not sampled.
void BM_span_unsampled_child(benchmark::State& state) {
  auto root = kt::info_span("unsampled_root").entered();
  std::int64_t i = 0;
  for (auto _ : state) {
    auto s = TaskRun::start(kJob, ++i, 7, "hash-join-3");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_span_unsampled_child)->Setup(unsampled);

void BM_span_disabled_level(benchmark::State& state) {
  kt::set_max_level(kt::Level::Info);
  std::int64_t i = 0;
  for (auto _ : state) {
    auto s = kt::debug_span("hidden", kt::task_id{++i});
    benchmark::DoNotOptimize(s);
  }
  kt::set_max_level(kt::Level::Trace);
}
BENCHMARK(BM_span_disabled_level)->Setup(sampled);

void BM_span_compiled_out(benchmark::State& state) {
  std::int64_t i = 0;
  for (auto _ : state) compiled_out_span(kJob, ++i);
}
BENCHMARK(BM_span_compiled_out);

void BM_current_traceparent(benchmark::State& state) {
  auto s = kt::info_span("outer").entered();
  for (auto _ : state) {
    auto tp = kt::current_traceparent();
    benchmark::DoNotOptimize(tp);
  }
}
BENCHMARK(BM_current_traceparent)->Setup(sampled);

// ---- the machine -------------------------------------------------------------------------------

// How often the machine takes the CPU away from a thread that never blocks, and for how long (a
// jump between two clock reads). The export thread must get a CPU before the producers fill the
// pool: at the default queue size that is about 140 µs for one producer running flat out. Longer
// stalls cost drops whatever the pipeline does; this says how many to expect. With 2 threads both
// CPUs are busy, as with one producer and a polling export thread.
void BM_machine_stalls(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    double over = 0, max_us = 0;
    const auto t0 = Clock::now();
    for (auto last = t0, now = t0; now - t0 < std::chrono::milliseconds(500); last = now) {
      now = Clock::now();
      const double us = std::chrono::duration<double, std::micro>(now - last).count();
      over += us > 140 ? 1 : 0;
      max_us = std::max(max_us, us);
    }
    state.counters["stalls_over_140us_per_s"] =
        benchmark::Counter(over * 2, benchmark::Counter::kAvgThreads);
    state.counters["max_stall_us"] = benchmark::Counter(max_us, benchmark::Counter::kAvgThreads);
  }
}
BENCHMARK(BM_machine_stalls)->Iterations(1)->Threads(1)->UseRealTime();
BENCHMARK(BM_machine_stalls)->Iterations(1)->Threads(2)->UseRealTime();

// ---- memory ---------------------------------------------------------------------------------

std::size_t rss_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0) return std::stoul(line.substr(std::strlen(field)));
  }
  return 0;
}

// Holds every export until released, so spans pile up in the buffers.
struct Gate : kt::SpanExporter {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::size_t record_bytes = 0;
  kt::ExportResult export_batch(const kt::SpanBatch& b) override {
    std::unique_lock lock(mu);
    if (record_bytes == 0 && !b.empty()) record_bytes = b[0].record_size();
    cv.wait(lock, [&] { return open; });
    return kt::ExportResult::Success;
  }
};

// 1,000,000 spans with the 4 standard fields buffered at once: bytes per span and peak RSS.
void BM_memory_1M_buffered(benchmark::State& state) {
  for (auto _ : state) {
    auto gate = std::make_shared<Gate>();
    {
      kt::TracerProvider p({.exporter = kt::TracerExporter::Custom(gate),
                            .sampler = kt::Sampler::always_on(),
                            .batch = kt::BatchOptions{.max_queue_size = 1'100'000}});
      for (std::int64_t i = 0; i < 1'000'000; ++i)
        auto s = TaskRun::start(kJob, i, 7, "hash-join-3");
      state.counters["dropped"] = static_cast<double>(p.stats().dropped_queue_full);
      // Peak RSS of the whole benchmark process, whose other runs stay well below this one.
      state.counters["peak_rss_MiB"] = static_cast<double>(rss_kib("VmHWM:")) / 1024.0;
      {
        std::lock_guard lock(gate->mu);
        gate->open = true;
      }
      gate->cv.notify_all();
      p.force_flush();
      state.counters["record_bytes"] = static_cast<double>(gate->record_bytes);
    }
  }
}
BENCHMARK(BM_memory_1M_buffered)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
