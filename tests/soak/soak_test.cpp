// Soak: 8 producer threads and coroutine tasks that hop between threads record for
// KT_SOAK_SECONDS (60 by default; longer for a real soak) into the OTLP/gRPC exporter, while the
// collector on 127.0.0.1 goes up, down, and sometimes accepts calls and never answers. Afterwards
// every span is accounted for, exactly: produced = exported + dropped (each cause) + failed, in
// the provider's stats, and what the pipeline handed the exporter = what the exporter counted.
// Memory stays under a stated bound. Times (the longest producer call, the shutdown) are printed,
// not asserted: the machine may be busy.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <krishiv/trace.hpp>
#include <krishiv/trace/coro/sync_wait.hpp>
#include <krishiv/trace/coro/task.hpp>
#include <krishiv/trace/exporters/otlp_grpc.hpp>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "otlp_collector.hpp"  // free_port()

namespace kt = krishiv::trace;
using Clock = std::chrono::steady_clock;

namespace {

// Peak resident memory of this process (VmHWM), KiB.
std::uint64_t peak_rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// A collector that only counts (a soak's requests would not fit in memory) and can stall: calls
// then wait for the client to give up.
class CountingCollector : public grpc::CallbackGenericService {
 public:
  explicit CountingCollector(int port) {
    grpc::ServerBuilder b;
    int bound = 0;
    b.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                       &bound);
    b.RegisterCallbackGenericService(this);
    server_ = b.BuildAndStart();
    up_ = server_ != nullptr && bound == port;
  }
  ~CountingCollector() override {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      server_->Wait();
    }
  }
  bool up() const { return up_; }
  void set_stalling(bool s) { stalling_ = s; }
  std::uint64_t calls() const { return calls_; }

 private:
  class Call final : public grpc::ServerGenericBidiReactor {
   public:
    Call(CountingCollector* c) : c_(c) { StartRead(&request_); }
    void OnReadDone(bool ok) override {
      ++c_->calls_;
      std::lock_guard lock(mu_);
      if (!ok) return finish_locked(grpc::Status(grpc::StatusCode::INTERNAL, "no request"));
      if (c_->stalling_) {
        stalled_ = true;
        if (cancelled_) finish_locked(grpc::Status::CANCELLED);
        return;
      }
      if (finished_) return;
      finished_ = true;
      grpc::Slice empty(std::string{});  // an empty ExportTraceServiceResponse
      response_ = grpc::ByteBuffer(&empty, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnCancel() override {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      if (stalled_) finish_locked(grpc::Status::CANCELLED);
    }
    void OnDone() override { delete this; }

   private:
    void finish_locked(grpc::Status s) {
      if (finished_) return;
      finished_ = true;
      Finish(std::move(s));
    }
    CountingCollector* c_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
    std::mutex mu_;
    bool stalled_ = false;
    bool cancelled_ = false;
    bool finished_ = false;
  };
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    return new Call(this);
  }

  std::unique_ptr<grpc::Server> server_;
  bool up_ = false;
  std::atomic<bool> stalling_{false};
  std::atomic<std::uint64_t> calls_{0};
};

// Two threads that resume coroutines: a task that awaits hop() continues on one of them.
class Hopper {
 public:
  Hopper() {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { run(); });
  }
  ~Hopper() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  auto hop() {
    struct Awaiter {
      Hopper* h;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> c) { h->post(c); }
      void await_resume() const noexcept {}
    };
    return Awaiter{this};
  }

 private:
  void post(std::coroutine_handle<> c) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(c);
    }
    cv_.notify_one();
  }
  void run() {
    for (;;) {
      std::coroutine_handle<> c;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        c = queue_.front();
        queue_.pop_front();
      }
      c.resume();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::coroutine_handle<>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

using Unit = kt::span_schema<"soak.unit", kt::task_id, kt::epoch>;

kt::task<void> child(Hopper& h, std::int64_t i, std::atomic<std::uint64_t>& produced) {
  auto s = kt::debug_span("soak.child").entered();
  co_await h.hop();
  s.set_attribute("i", i);
  ++produced;  // ends when the task completes
}

kt::task<void> parent(Hopper& h, std::int64_t i, std::atomic<std::uint64_t>& produced) {
  auto s = Unit::enter(i, i % 7);
  co_await h.hop();
  co_await child(h, i, produced);
  s.add_event("children done", kt::attr("n", 1));
  ++produced;
}

}  // namespace

TEST_CASE("soak: producers and coroutines while the collector comes, goes and stalls") {
  int seconds = 60;
  if (const char* v = std::getenv("KT_SOAK_SECONDS")) seconds = std::max(1, std::atoi(v));
  // Stated bound on peak RSS (uninstrumented builds): the library's memory is bounded by the
  // queue and the exporter's request buffer whatever the run's length; the rest is the test
  // program, grpc and its threads.
  constexpr std::uint64_t kRssBoundMiB = 256;

  const int port = test::free_port();
  std::unique_ptr<CountingCollector> collector = std::make_unique<CountingCollector>(port);
  REQUIRE(collector->up());

  kt::OtlpGrpcOptions opts;
  opts.endpoint = "http://127.0.0.1:" + std::to_string(port);
  opts.timeout = std::chrono::seconds(2);  // a stalled call costs at most this
  auto otlp = std::make_shared<kt::OtlpGrpcExporter>(opts);
  kt::set_max_level(kt::Level::Trace);
  auto provider = std::make_unique<kt::TracerProvider>(kt::TracerProviderOptions{
      .exporter = kt::TracerExporter::Custom(otlp),
      .sampler = kt::Sampler::always_on(),
      .batch = kt::BatchOptions{.schedule_delay = std::chrono::milliseconds(200)},
  });

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::int64_t> longest_ns{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::uint64_t n = 0;
      std::int64_t longest = 0;
      const std::string payload(static_cast<std::size_t>(16 + t * 8), 'p');
      while (!stop.load(std::memory_order_relaxed)) {
        const auto t0 = Clock::now();
        {
          auto outer = Unit::enter(static_cast<std::int64_t>(n), t);
          {
            auto inner = kt::info_span("soak.inner");
            inner.set_attribute("payload", payload);
            if (n % 64 == 0) inner.set_status(kt::StatusCode::Error, "sampled error");
          }
          outer.add_event("tick", kt::attr("n", static_cast<std::int64_t>(n)));
        }
        longest = std::max<std::int64_t>(
            longest,
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
        n += 2;
        if (n % 4096 == 0) std::this_thread::yield();
      }
      produced += n;
      std::int64_t seen = longest_ns.load();
      while (seen < longest && !longest_ns.compare_exchange_weak(seen, longest)) {
      }
    });
  }
  // Coroutine tasks: spans entered across co_await, resumed on the hopper's threads.
  Hopper hopper;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (std::int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        kt::sync_wait(parent(hopper, i, produced));
      }
    });
  }

  // The collector's schedule: up, down, stalling, each for 0.3-2 s, chosen at random; up for
  // the last stretch so that shutdown can deliver what is left.
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> phase_ms(300, 2000);
  std::uniform_int_distribution<int> kind(0, 2);
  int ups = 0, downs = 0, stalls = 0;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() + std::chrono::seconds(3) < end) {
    switch (kind(rng)) {
      case 0:
        if (!collector) collector = std::make_unique<CountingCollector>(port);
        if (collector) collector->set_stalling(false);
        ++ups;
        break;
      case 1:
        collector.reset();
        ++downs;
        break;
      case 2:
        if (!collector) collector = std::make_unique<CountingCollector>(port);
        collector->set_stalling(true);
        ++stalls;
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(phase_ms(rng)));
  }
  if (!collector) collector = std::make_unique<CountingCollector>(port);
  collector->set_stalling(false);
  CHECK(collector->up());
  std::this_thread::sleep_until(end);

  stop = true;
  for (auto& t : threads) t.join();

  const auto shutdown_start = Clock::now();
  const bool shut = provider->shutdown(std::chrono::seconds(30));
  const double shutdown_s = std::chrono::duration<double>(Clock::now() - shutdown_start).count();
  const kt::PipelineStats ps = provider->stats();
  const kt::OtlpExporterStats es = otlp->stats();
  const std::uint64_t dropped = ps.dropped_queue_full + ps.dropped_inactive + ps.dropped_too_large;
  const std::uint64_t rss_kib = peak_rss_kib();

  std::printf(
      "soak: %d s, collector phases up %d / down %d / stalling %d, %llu calls in the last up\n"
      "soak: produced %llu = exported %llu + dropped %llu (queue full %llu, inactive %llu, too "
      "large %llu) + failed %llu\n"
      "soak: exporter: exported %llu, failed %llu, rejected %llu, requests %llu (%llu failed), "
      "retries %llu\n"
      "soak: peak RSS %.1f MiB (bound %llu MiB%s), longest producer call %.3f ms, shutdown %s in "
      "%.3f s\n",
      seconds, ups, downs, stalls, static_cast<unsigned long long>(collector->calls()),
      static_cast<unsigned long long>(produced.load()),
      static_cast<unsigned long long>(ps.exported), static_cast<unsigned long long>(dropped),
      static_cast<unsigned long long>(ps.dropped_queue_full),
      static_cast<unsigned long long>(ps.dropped_inactive),
      static_cast<unsigned long long>(ps.dropped_too_large),
      static_cast<unsigned long long>(ps.export_failed),
      static_cast<unsigned long long>(es.spans_exported),
      static_cast<unsigned long long>(es.spans_failed),
      static_cast<unsigned long long>(es.spans_rejected),
      static_cast<unsigned long long>(es.requests),
      static_cast<unsigned long long>(es.requests_failed),
      static_cast<unsigned long long>(es.retries), static_cast<double>(rss_kib) / 1024.0,
      static_cast<unsigned long long>(kRssBoundMiB), kSanitized ? ", not checked: sanitizer" : "",
      static_cast<double>(longest_ns.load()) / 1e6, shut ? "true" : "false", shutdown_s);
  std::fflush(stdout);

  CHECK(shut);
  CHECK(produced.load() > 0);
  CHECK(produced.load() == ps.exported + dropped + ps.export_failed);
  // What the pipeline handed the exporter, the exporter counted: delivered, refused or failed.
  CHECK(ps.exported + ps.export_failed == es.spans_exported + es.spans_rejected + es.spans_failed);
  CHECK(ps.exported <= es.spans_exported + es.spans_rejected);
  if (!kSanitized) CHECK(rss_kib < kRssBoundMiB * 1024);
  provider.reset();
}
