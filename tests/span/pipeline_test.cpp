// The recording pipeline seen from the outside: completeness under concurrency, thread exit,
// flush and shutdown, and drops when the queue is full.

#include "krishiv/trace/pipeline/export_worker.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include "span_test_support.hpp"

namespace kt = krishiv::trace;
using test::Recorder;

using Work = kt::span_schema<"work", kt::task_id, kt::epoch>;

TEST_CASE("pipeline: 8 threads x 100,000 spans, none lost or duplicated") {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100'000;
  // A queue large enough that nothing may be dropped even if the export thread is descheduled.
  Recorder r({.batch = kt::BatchOptions{.max_queue_size = 1 << 21}});
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kPerThread; ++i) auto s = Work::start(t, i);
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(r.provider.force_flush(std::chrono::seconds(60)));
  const auto spans = r.sink->spans();
  CHECK(r.provider.stats().dropped_queue_full == 0);
  REQUIRE(spans.size() == std::size_t{kThreads} * kPerThread);
  std::vector<std::vector<bool>> seen(kThreads, std::vector<bool>(kPerThread, false));
  std::unordered_set<std::uint64_t> ids;
  std::size_t duplicates = 0;
  for (const auto& s : spans) {
    const auto t = std::get<std::int64_t>(s.attributes[0].value);
    const auto i = std::get<std::int64_t>(s.attributes[1].value);
    if (seen[t][i]) ++duplicates;
    seen[t][i] = true;
    ids.insert(s.span_id.to_u64());
  }
  CHECK(duplicates == 0);
  CHECK(ids.size() == spans.size());
  CHECK(r.provider.stats().exported == spans.size());
}

TEST_CASE("pipeline: a thread that exits hands over the spans it holds") {
  Recorder r;
  std::thread([] {
    for (int i = 0; i < 10; ++i) auto s = Work::start(1, i);
  }).join();
  // The exited thread's buffer is no longer registered, so flush cannot read it in place: the
  // spans arrive only if the thread handed its chunk over on exit.
  r.provider.force_flush();
  CHECK(r.sink->size() == 10);
}

TEST_CASE("pipeline: flush and shutdown deliver everything ended before them, 4 producers") {
  auto sink = std::make_shared<kt::InMemoryExporter>();
  std::atomic<int> ended{0};
  {
    kt::TracerProvider provider({.exporter = kt::TracerExporter::InMemory(sink),
                                 .sampler = kt::Sampler::always_on(),
                                 .batch = kt::BatchOptions{.max_queue_size = 1 << 20}});
    constexpr int kPerProducer = 50'000;
    std::vector<std::thread> producers;
    for (int t = 0; t < 4; ++t) {
      producers.emplace_back([&, t] {
        for (int i = 0; i < kPerProducer; ++i) {
          { auto s = Work::start(t, i); }
          ended.fetch_add(1, std::memory_order_release);
        }
      });
    }
    while (ended.load() < 20'000) std::this_thread::yield();
    // Spans counted in `before` ended before force_flush() was called: all must be delivered.
    const int before = ended.load(std::memory_order_acquire);
    REQUIRE(provider.force_flush(std::chrono::seconds(30)));
    CHECK(sink->size() >= static_cast<std::size_t>(before));
    for (auto& p : producers) p.join();
    const int total = ended.load();
    REQUIRE(provider.shutdown(std::chrono::seconds(30)));
    CHECK(sink->size() == static_cast<std::size_t>(total));
    CHECK(provider.stats().dropped_queue_full == 0);
    // after shutdown: dropped and counted
    { auto s = kt::info_span("late"); }
    CHECK(provider.stats().dropped_inactive == 1);
    CHECK(sink->size() == static_cast<std::size_t>(total));
  }
}

TEST_CASE("pipeline: a span that ends after its provider was replaced is dropped and counted") {
  Recorder first;
  auto s = kt::info_span("outlived");
  Recorder second;  // installed in place of the first
  s.end();
  first.provider.force_flush();
  second.provider.force_flush();
  CHECK(first.sink->size() == 0);
  CHECK(second.sink->size() == 0);
  CHECK(first.provider.stats().dropped_inactive == 1);
}

namespace {
// Blocks every export until released: the queue then fills up.
class GateExporter : public kt::SpanExporter {
 public:
  kt::ExportResult export_batch(const kt::SpanBatch& b) override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
    received_ += b.size();
    return kt::ExportResult::Success;
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::size_t received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  std::size_t received_ = 0;
};
}  // namespace

TEST_CASE("pipeline: a full queue drops and counts, never blocks, memory stays bounded") {
  auto gate = std::make_shared<GateExporter>();
  kt::TracerProvider provider(
      {.exporter = kt::TracerExporter::Custom(gate),
       .sampler = kt::Sampler::always_on(),
       .batch = kt::BatchOptions{.max_queue_size = 512, .max_export_batch_size = 64}});
  constexpr int kSpans = 200'000;
  for (int i = 0; i < kSpans; ++i) auto s = Work::start(0, i);  // returns although export is stuck
  const auto dropped = provider.stats().dropped_queue_full;
  CHECK(dropped > 0);
  gate->open();
  REQUIRE(provider.force_flush(std::chrono::seconds(30)));
  const auto stats = provider.stats();
  // every span is either delivered or counted as dropped, exactly once
  CHECK(gate->received() + stats.dropped_queue_full == kSpans);
  CHECK(stats.exported == gate->received());
  // bounded: what got through is what fits in the queue's memory, not the 200,000 offered
  CHECK(gate->received() < 20'000);
}

TEST_CASE("pipeline: shutdown returns within its timeout while an export is stuck") {
  auto gate = std::make_shared<GateExporter>();
  auto provider = std::make_unique<kt::TracerProvider>(kt::TracerProviderOptions{
      .exporter = kt::TracerExporter::Custom(gate), .sampler = kt::Sampler::always_on()});
  { auto s = Work::start(0, 0); }
  CHECK_FALSE(provider->force_flush(std::chrono::milliseconds(100)));
  CHECK_FALSE(provider->shutdown(std::chrono::milliseconds(100)));
  gate->open();  // let the detached export thread finish
  provider.reset();
}

// Batches are cut out of the per-thread buffers without reading them, a buffer split between two
// batches included; flushes export the filled part of a buffer still in use, and the rest of it
// follows later. Every span must still arrive once, in order, in batches of at most the size.
TEST_CASE("pipeline: batches respect the export batch size, and split buffers lose nothing") {
  struct SizeRecorder : kt::SpanExporter {
    std::mutex mu;
    std::vector<std::size_t> sizes;
    std::vector<std::int64_t> epochs;
    bool read = true;  // read the spans, or only look at the size (the records stay unread)
    kt::ExportResult export_batch(const kt::SpanBatch& b) override {
      std::lock_guard lock(mu);
      sizes.push_back(b.size());
      if (!read) return kt::ExportResult::Success;
      for (kt::SpanView v : b) {
        v.for_each_attribute([&](std::string_view key, kt::ValueView value) {
          if (key == "epoch") epochs.push_back(value.as_int());
        });
      }
      return kt::ExportResult::Success;
    }
  };
  for (std::size_t batch_size : {1, 7, 100, 512}) {
    for (int flush_every : {0, 97}) {
      for (bool read : {true, false}) {
        CAPTURE(batch_size, flush_every, read);
        auto rec = std::make_shared<SizeRecorder>();
        rec->read = read;
        kt::TracerProvider provider(
            {.exporter = kt::TracerExporter::Custom(rec),
             .sampler = kt::Sampler::always_on(),
             .batch =
                 kt::BatchOptions{.max_queue_size = 100'000, .max_export_batch_size = batch_size}});
        for (int i = 0; i < 3000; ++i) {
          auto s = Work::start(0, i);
          if (flush_every != 0 && i % flush_every == 0) {
            s.end();
            provider.force_flush();
          }
        }
        provider.force_flush();
        std::lock_guard lock(rec->mu);
        std::size_t total = 0;
        for (auto n : rec->sizes) {
          CHECK(n >= 1);
          CHECK(n <= batch_size);
          total += n;
        }
        CHECK(total == 3000);
        CHECK(provider.stats().exported == 3000);
        if (read) {
          REQUIRE(rec->epochs.size() == 3000);
          for (int i = 0; i < 3000; ++i) CHECK(rec->epochs[i] == i);
        }
      }
    }
  }
}

TEST_CASE("pipeline: BatchOptions from the environment, with fallbacks") {
  setenv("OTEL_BSP_MAX_QUEUE_SIZE", "4096", 1);
  setenv("OTEL_BSP_SCHEDULE_DELAY", "250", 1);
  setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "bogus", 1);
  setenv("OTEL_BSP_EXPORT_TIMEOUT", "-5", 1);
  const auto o = kt::BatchOptions::from_env();
  CHECK(o.max_queue_size == 4096);
  CHECK(o.schedule_delay == std::chrono::milliseconds(250));
  CHECK(o.max_export_batch_size == 512);
  CHECK(o.export_timeout == std::chrono::milliseconds(30000));
  unsetenv("OTEL_BSP_MAX_QUEUE_SIZE");
  unsetenv("OTEL_BSP_SCHEDULE_DELAY");
  unsetenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
  unsetenv("OTEL_BSP_EXPORT_TIMEOUT");
  const auto d = kt::BatchOptions::from_env();
  CHECK(d.max_queue_size == 2048);
  CHECK(d.schedule_delay == std::chrono::milliseconds(5000));
  CHECK(d.max_export_batch_size == 512);
}

TEST_CASE("pipeline: the schedule delay bounds how long an ended span waits") {
  // One span on a thread that keeps running: its chunk is not full and never handed off, so only
  // the scheduled export (not a flush, not thread exit) can deliver it.
  Recorder r({.batch = kt::BatchOptions{.schedule_delay = std::chrono::milliseconds(10)}});
  { auto s = kt::info_span("lonely"); }
  CHECK(r.sink->wait_for(1, std::chrono::seconds(20)));  // a hang guard, not a timing claim
}

TEST_CASE("context: scopes ended out of order leave a correct chain") {
  auto a = kt::info_span("a");
  auto b = kt::info_span("b");
  auto c = kt::info_span("c");
  std::optional<kt::SpanScope> sa, sb, sc;
  sa.emplace(a);
  sb.emplace(b);
  sc.emplace(c);
  sb.reset();  // out of order: b is not current
  CHECK(kt::Context::current().span_context().span_id == c.context().span_id);
  sc.reset();  // back to a, skipping the ended b
  CHECK(kt::Context::current().span_context().span_id == a.context().span_id);
  sa.reset();
  CHECK_FALSE(kt::Context::current().has_span());
}

TEST_CASE("pipeline: buffer memory stays bounded however many threads come and go") {
  Recorder r({.batch = kt::BatchOptions{}});  // the default queue
  const auto baseline = r.provider.stats().buffer_bytes;
  CHECK(baseline > 0);  // allocated up front, not on the span path
  for (int round = 0; round < 50; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < 100; ++i) auto s = Work::start(t, i);
      });
    }
    for (auto& th : threads) th.join();
  }
  r.provider.force_flush();
  // 400 threads have lived; the pool grew by at most the 8 that were alive at once (+ main).
  CHECK(r.provider.stats().buffer_bytes <= baseline + 9 * 16 * 1024);
  CHECK(r.sink->size() + r.provider.stats().dropped_queue_full == 400 * 100);
}

// Chunks go back to the thread that filled them (its cache still holds them). A thread that has
// stopped producing must not sit on the pool: another thread short of chunks takes them.
TEST_CASE("pipeline: an idle thread's free chunks serve a busy one") {
  auto gate = std::make_shared<GateExporter>();
  kt::TracerProvider provider(
      {.exporter = kt::TracerExporter::Custom(gate),
       .sampler = kt::Sampler::always_on(),
       .batch = kt::BatchOptions{.max_queue_size = 512, .max_export_batch_size = 64}});
  std::mutex mu;
  std::condition_variable cv;
  bool filled = false;
  bool done = false;
  std::thread idle([&] {
    // With the exporter stuck, this thread fills the whole pool (and drops); once the exporter
    // moves, every chunk comes back to this thread's free list.
    for (int i = 0; i < 20'000; ++i) auto s = Work::start(1, i);
    std::unique_lock lock(mu);
    filled = true;
    cv.notify_all();
    cv.wait(lock, [&] { return done; });  // still registered, holding its free chunks
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return filled; });
  }
  REQUIRE(provider.stats().dropped_queue_full > 0);  // the pool was used up
  gate->open();
  REQUIRE(provider.force_flush(std::chrono::seconds(30)));
  const auto dropped_before = provider.stats().dropped_queue_full;
  for (int i = 0; i < 20'000; ++i) {
    auto s = Work::start(2, i);
    if (i % 100 == 0) {
      s.end();
      provider.force_flush();  // the queue never holds more than 100 of these
    }
  }
  REQUIRE(provider.force_flush(std::chrono::seconds(30)));
  CHECK(provider.stats().dropped_queue_full == dropped_before);
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  idle.join();
}
