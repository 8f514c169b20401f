// End-to-end export throughput: spans created with the span API (the four standard fields), through
// TracerProvider → ExportWorker → OtlpGrpcExporter → gRPC over loopback → a sink that counts
// the spans it receives. Target: >= 1M spans/s end to end (aim 2M).
//
// The sink runs in a child process forked before gRPC starts in this one, so that getrusage here
// measures only the exporting side: cpu_ns/span is user + system CPU of this whole process
// (producer, export thread, gRPC's threads) divided by the spans the sink received.
//
// One iteration = kSpansPerIteration spans created on one thread, then force_flush(), then wait
// until the sink has counted every span the exporter reports exported; the manual time covers
// all of that, so `spans/s` is spans received per second from the first span's creation to the
// last span's arrival. Spans dropped at span end (bounded queue) are reported in `dropped` and
// not counted as delivered; every configuration here should read dropped=0. Two modes:
// - burst (paced=0): the producer runs flat out; the queue is sized to hold a whole iteration,
//   since creating spans is much faster than exporting them.
// - paced (paced=1): a queue of the usual order (64K spans), and the producer waits whenever
//   more than kWindow spans are not yet exported: the sustained rate of a steady pipeline, with
//   chunks recycled instead of freshly touched memory.
// create_ns/span is the producer loop's time per span: pure span creation in burst mode, and
// including the pacing waits in paced mode. export_cpu_ns/span is this process's CPU minus the
// producer thread's, per delivered span: the export thread plus gRPC's client threads;
// export_thread_ns/span is the export thread's alone (here: the threads with the process's name,
// which gRPC's unnamed threads share; the capacity trials read the export thread itself).
//
// Capacity (otlp_capacity/latency_ms:L): what a user sizes a deployment with. The sink answers
// each request L ms after it arrives (a timer, so requests overlap as they would with a distant
// collector); a producer thread makes 4-field schema spans at a paced rate for
// KT_CAPACITY_SECONDS (default 10 s), batch 512, queue 65536. The benchmark searches the highest
// rate with zero spans dropped or failed (doubling, then bisecting to 5%), and reports it as
// max_spans/s with the CPU per delivered span at that rate. One iteration is the whole search.
// KT_CAPACITY_RATE=R skips the search: one trial at R spans/s, to compare CPU per span at equal
// load.
// concurrent:0 is the default (max_concurrent_exports 32); concurrent:1 is the baseline of one
// request in flight, measured in the same run.

#include <arpa/inet.h>
#include <dirent.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <grpcpp/alarm.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "krishiv/trace.hpp"
#include "krishiv/trace/exporters/otlp_grpc.hpp"

namespace kt = krishiv::trace;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kSpansPerIteration = 500'000;
constexpr std::int64_t kWindow = 16'384;  // paced mode: spans in flight at most
constexpr std::int64_t kPaceEvery = 1'024;

// ---- the sink (child process) -------------------------------------------------------------

// Shared with the child: spans received, counted without decoding the spans themselves; and the
// latency the sink adds to every answer, set by the parent.
std::atomic<std::uint64_t>* g_received = nullptr;
std::atomic<std::int64_t>* g_latency_us = nullptr;
int g_sink_port = 0;

// Reads the request where gRPC received it, across its slices, without joining them into one
// string: the sink shares the two vCPUs with the side being measured, so it copies nothing and
// reads only the tags and lengths it counts.
class SliceReader {
 public:
  explicit SliceReader(const std::vector<grpc::Slice>& slices) : slices_(slices) {}

  std::uint64_t pos() const noexcept { return pos_; }

  bool varint(std::uint64_t& v) noexcept {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = 0;
      if (!byte(b)) return false;
      v |= std::uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80u) == 0) return true;
    }
    return false;
  }
  bool skip(std::uint64_t n) noexcept {
    while (n > 0) {
      if (i_ == slices_.size()) return false;
      const std::uint64_t left = slices_[i_].size() - off_;
      const std::uint64_t take = std::min(left, n);
      off_ += take;
      pos_ += take;
      n -= take;
      if (off_ == slices_[i_].size()) next_slice();
    }
    return true;
  }
  // Skips a value of wire type `wt` (groups, unused by OTLP, end the reading).
  bool skip_value(std::uint64_t wt) noexcept {
    std::uint64_t v = 0;
    switch (wt) {
      case 0:
        return varint(v);
      case 1:
        return skip(8);
      case 2:
        return varint(v) && skip(v);
      case 5:
        return skip(4);
      default:
        return false;
    }
  }

 private:
  bool byte(std::uint8_t& b) noexcept {
    while (i_ < slices_.size() && off_ == slices_[i_].size()) next_slice();
    if (i_ == slices_.size()) return false;
    b = slices_[i_].begin()[off_];
    ++off_;
    ++pos_;
    return true;
  }
  void next_slice() noexcept {
    ++i_;
    off_ = 0;
  }

  const std::vector<grpc::Slice>& slices_;
  std::size_t i_ = 0;
  std::uint64_t off_ = 0;
  std::uint64_t pos_ = 0;
};

// Spans in the message part that ends at `end`: at depth 0 an ExportTraceServiceRequest (its
// ResourceSpans are field 1), at 1 a ResourceSpans (ScopeSpans, field 2), at 2 a ScopeSpans
// (Span, field 2). Only tags and lengths are read; the spans themselves are skipped.
std::uint64_t count_spans(SliceReader& r, std::uint64_t end, int depth) {
  std::uint64_t n = 0;
  while (r.pos() < end) {
    std::uint64_t tag = 0;
    if (!r.varint(tag)) return n;
    const std::uint64_t field = tag >> 3;
    const std::uint64_t wt = tag & 7u;
    if (wt != 2 || field != (depth == 0 ? 1u : 2u)) {
      if (!r.skip_value(wt)) return n;
      continue;
    }
    std::uint64_t len = 0;
    if (!r.varint(len)) return n;
    if (depth == 2) {
      ++n;
      if (!r.skip(len)) return n;
    } else {
      n += count_spans(r, r.pos() + len, depth + 1);
    }
  }
  return n;
}

std::uint64_t count_spans(const std::vector<grpc::Slice>& slices) {
  std::uint64_t total = 0;
  for (const auto& s : slices) total += s.size();
  SliceReader r(slices);
  return count_spans(r, total, 0);
}

class Sink final : public grpc::CallbackGenericService {
  class Call final : public grpc::ServerGenericBidiReactor {
   public:
    Call() {
      // An empty ExportTraceServiceResponse (full success); a ByteBuffer must hold a slice to
      // be a valid message, even an empty one.
      grpc::Slice empty;
      response_ = grpc::ByteBuffer(&empty, 1);
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request"));
        return;
      }
      std::vector<grpc::Slice> slices;
      if (request_.Dump(&slices).ok()) {
        g_received->fetch_add(count_spans(slices), std::memory_order_relaxed);
      }
      const auto latency = std::chrono::microseconds(g_latency_us->load());
      if (latency.count() > 0) {
        alarm_.Set(std::chrono::system_clock::now() + latency, [this](bool) {
          StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
        });
        return;
      }
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
    grpc::Alarm alarm_;
  };

 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    return new Call;
  }
};

// Serves on 127.0.0.1 until the parent goes away (its end of `alive` closes).
[[noreturn]] void run_sink(int port_fd, int alive_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // A collector on its own machine pays for its memory there. Here it shares the two vCPUs with
  // the side being measured, and glibc's default of handing freed heap back to the kernel (and
  // faulting it in again for the next request) made the sink cost more than the exporter.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
  Sink sink;
  grpc::ServerBuilder b;
  int port = 0;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  b.SetMaxReceiveMessageSize(64 << 20);
  b.RegisterCallbackGenericService(&sink);
  auto server = b.BuildAndStart();
  if (!server) port = 0;
  if (::write(port_fd, &port, sizeof port) != sizeof port || port == 0) std::_Exit(1);
  char c;
  while (::read(alive_fd, &c, 1) > 0) {
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  std::_Exit(0);
}

bool start_sink() {
  void* mem = ::mmap(nullptr, 2 * sizeof(std::atomic<std::uint64_t>), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return false;
  g_received = new (mem) std::atomic<std::uint64_t>(0);
  g_latency_us =
      new (static_cast<std::atomic<std::uint64_t>*>(mem) + 1) std::atomic<std::int64_t>(0);
  int port_pipe[2];
  int alive_pipe[2];
  if (::pipe(port_pipe) != 0 || ::pipe(alive_pipe) != 0) return false;
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    ::close(port_pipe[0]);
    ::close(alive_pipe[1]);
    run_sink(port_pipe[1], alive_pipe[0]);
  }
  ::close(port_pipe[1]);
  ::close(alive_pipe[0]);  // alive_pipe[1] stays open until this process exits
  if (::read(port_pipe[0], &g_sink_port, sizeof g_sink_port) != sizeof g_sink_port) return false;
  ::close(port_pipe[0]);
  return g_sink_port > 0;
}

// ---- the exporting side -------------------------------------------------------------------

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// CPU of the export thread: the threads that carry the process's own name (gRPC names its threads),
// except the main thread, which produces. Read from schedstat (nanoseconds).
// CPU seconds per thread id.
using ThreadTimes = std::map<std::string, double>;

ThreadTimes export_thread_times() {
  const auto read_line = [](const std::string& path) {
    std::string line;
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      char buf[256];
      if (std::fgets(buf, sizeof buf, f)) line = buf;
      std::fclose(f);
    }
    return line;
  };
  const std::string self = read_line("/proc/self/comm");
  const std::string main_tid = std::to_string(::getpid());
  ThreadTimes times;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      const std::string tid = e->d_name;
      if (tid == "." || tid == ".." || tid == main_tid) continue;
      if (read_line("/proc/self/task/" + tid + "/comm") != self) continue;
      times[tid] = std::atof(read_line("/proc/self/task/" + tid + "/schedstat").c_str()) * 1e-9;
    }
    ::closedir(d);
  }
  return times;
}

// Export-thread CPU since `before`: per thread, so a thread that ended in between (a previous
// provider's) cannot make the difference negative.
double export_thread_cpu_since(const ThreadTimes& before) {
  double total = 0;
  for (const auto& [tid, t] : export_thread_times()) {
    const auto it = before.find(tid);
    total += t - (it == before.end() ? 0.0 : it->second);
  }
  return total;
}

double thread_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

using OperatorRun =
    kt::span_schema<"operator_run", kt::job_id, kt::task_id, kt::epoch, kt::operator_id>;

enum class Api { Fields, Schema };

template <Api api>
void BM_OtlpExportEndToEnd(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  const bool paced = state.range(1) != 0;
  auto opts = kt::OtlpGrpcOptions{};
  opts.endpoint = "http://127.0.0.1:" + std::to_string(g_sink_port);
  auto otlp = std::make_shared<kt::OtlpGrpcExporter>(opts);
  kt::TracerProvider provider(
      {.exporter = kt::TracerExporter::Custom(otlp),
       .sampler = kt::Sampler::always_on(),
       .batch = kt::BatchOptions{
           .max_queue_size = paced ? std::size_t{1} << 16 : std::size_t{4} * kSpansPerIteration,
           .schedule_delay = std::chrono::milliseconds(200),
           .max_export_batch_size = batch_size}});
  {  // connect and warm up outside the measurement
    auto s = kt::info_span("warmup");
  }
  provider.force_flush();
  if (otlp->stats().spans_exported != 1) {
    state.SkipWithError(("the loopback sink did not answer: " + otlp->stats().last_error).c_str());
    return;
  }

  double wall = 0;
  double cpu = 0;
  double produce = 0;
  double producer_cpu = 0;
  double export_cpu = 0;
  std::uint64_t delivered = 0;
  for (auto _ : state) {
    const std::uint64_t received0 = g_received->load();
    const std::uint64_t exported0 = otlp->stats().spans_exported;
    const double cpu0 = cpu_seconds();
    const double tcpu0 = thread_cpu_seconds();
    const ThreadTimes ecpu0 = export_thread_times();
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < kSpansPerIteration; ++i) {
      if constexpr (api == Api::Fields) {
        auto s = kt::info_span("operator_run", kt::job_id{"job-2024-06-01-etl"}, kt::task_id{i},
                               kt::epoch{7}, kt::operator_id{"op/hash-join"});
      } else {
        auto s = OperatorRun::start("job-2024-06-01-etl", i, 7, "op/hash-join");
      }
      if (paced && i % kPaceEvery == kPaceEvery - 1) {
        while (i + 1 - static_cast<std::int64_t>(otlp->stats().spans_exported - exported0) >
               kWindow) {
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
      }
    }
    const auto t1 = Clock::now();
    producer_cpu += thread_cpu_seconds() - tcpu0;
    provider.force_flush();
    const std::uint64_t want = received0 + (otlp->stats().spans_exported - exported0);
    while (g_received->load() < want) std::this_thread::yield();
    const auto t2 = Clock::now();
    const double cpu1 = cpu_seconds();
    export_cpu += export_thread_cpu_since(ecpu0);
    const double secs = std::chrono::duration<double>(t2 - t0).count();
    state.SetIterationTime(secs);
    wall += secs;
    cpu += cpu1 - cpu0;
    produce += std::chrono::duration<double>(t1 - t0).count();
    delivered += want - received0;
  }
  provider.shutdown();
  const auto p = provider.stats();
  const auto s = otlp->stats();
  const double offered = static_cast<double>(state.iterations()) * kSpansPerIteration;
  state.SetItemsProcessed(static_cast<std::int64_t>(delivered));
  state.counters["spans/s"] = static_cast<double>(delivered) / wall;
  state.counters["cpu_ns/span"] = cpu * 1e9 / static_cast<double>(delivered);
  state.counters["create_ns/span"] = produce * 1e9 / offered;
  state.counters["export_thread_ns/span"] = export_cpu * 1e9 / static_cast<double>(delivered);
  state.counters["export_cpu_ns/span"] =
      (cpu - producer_cpu) * 1e9 / static_cast<double>(delivered);
  state.counters["dropped"] = static_cast<double>(p.dropped_queue_full);
  state.counters["failed"] = static_cast<double>(s.spans_failed);
  state.counters["requests"] = static_cast<double>(s.requests);
}

BENCHMARK_TEMPLATE(BM_OtlpExportEndToEnd, Api::Fields)
    ->Name("otlp_export/fields")
    ->ArgNames({"batch", "paced"})
    ->Args({512, 0})
    ->Args({4096, 0})
    ->Args({512, 1})
    ->Args({4096, 1})
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_OtlpExportEndToEnd, Api::Schema)
    ->Name("otlp_export/schema")
    ->ArgNames({"batch", "paced"})
    ->Args({512, 0})
    ->Args({4096, 0})
    ->Args({512, 1})
    ->Args({4096, 1})
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// ---- capacity -----------------------------------------------------------------------------

struct Trial {
  bool clean = false;  // nothing dropped or failed
  double cpu_ns_per_span = 0;
  double export_cpu_ns_per_span = 0;
  double export_thread_ns_per_span = 0;
  double spans_per_request = 0;  // batches smaller than 512 cost more per span
};

// Forwards to the OTLP exporter and notes the export thread's id, so that the capacity trials
// read that thread's CPU alone (gRPC's unnamed threads carry the process's name too).
class ExportThreadProbe final : public kt::SpanExporter {
 public:
  explicit ExportThreadProbe(std::shared_ptr<kt::OtlpGrpcExporter> e) : e_(std::move(e)) {}
  kt::ExportResult export_batch(const kt::SpanBatch& b) override {
    note();
    return e_->export_batch(b);
  }
  void export_async(const kt::SpanBatch& b, Clock::time_point deadline,
                    kt::ExportCallback done) override {
    note();
    e_->export_async(b, deadline, std::move(done));
  }
  bool force_flush(std::chrono::milliseconds t) override { return e_->force_flush(t); }
  void shutdown(std::chrono::milliseconds t) override { e_->shutdown(t); }
  void cancel() noexcept override { e_->cancel(); }
  void discarded(std::size_t n) noexcept override { e_->discarded(n); }

  // The export thread's CPU seconds so far (0 before its first export).
  double cpu_seconds() const {
    const long tid = tid_.load();
    if (tid == 0) return 0;
    double ns = 0;
    if (FILE* f =
            std::fopen(("/proc/self/task/" + std::to_string(tid) + "/schedstat").c_str(), "r")) {
      if (std::fscanf(f, "%lf", &ns) != 1) ns = 0;
      std::fclose(f);
    }
    return ns * 1e-9;
  }

 private:
  void note() noexcept { tid_.store(static_cast<long>(::syscall(SYS_gettid))); }
  std::shared_ptr<kt::OtlpGrpcExporter> e_;
  std::atomic<long> tid_{0};
};

// Produces at `rate` spans/s for `seconds` through a fresh provider, then drains.
// Produces at `rate` spans/s through a fresh provider for a warm-up of `warmup` seconds and then
// for `seconds`, and drains. Only the second part counts (drops, CPU): the capacity asked for is
// the sustained one. The warm-up is what a freshly started pipeline goes through once (gRPC's
// HTTP/2 flow-control window, the exporter's request buffers and the span pool's first use of
// its memory, as far as we could tell); its drops are printed beside the trial's.
Trial run_at_rate(double rate, double seconds, double warmup, int max_concurrent) {
  auto opts = kt::OtlpGrpcOptions{};
  opts.endpoint = "http://127.0.0.1:" + std::to_string(g_sink_port);
  if (max_concurrent > 0) opts.max_concurrent_exports = max_concurrent;
  auto otlp = std::make_shared<kt::OtlpGrpcExporter>(opts);
  auto probe = std::make_shared<ExportThreadProbe>(otlp);
  kt::TracerProvider provider(
      {.exporter = kt::TracerExporter::Custom(probe),
       .sampler = kt::Sampler::always_on(),
       .batch = kt::BatchOptions{.max_queue_size = std::size_t{1} << 16,
                                 .schedule_delay = std::chrono::milliseconds(200),
                                 .max_export_batch_size = 512}});
  { auto s = kt::info_span("warmup"); }
  provider.force_flush();
  const std::uint64_t received0 = g_received->load();
  const auto warm_total = static_cast<std::int64_t>(rate * warmup);
  const auto total = warm_total + static_cast<std::int64_t>(rate * seconds);
  // Read where the warm-up ends, from the producer thread.
  double cpu0 = 0;
  double tcpu0 = 0;
  double ecpu0 = 0;
  kt::PipelineStats p0;
  kt::OtlpExporterStats s0;
  const auto mark = [&] {
    cpu0 = cpu_seconds();
    tcpu0 = thread_cpu_seconds();
    ecpu0 = probe->cpu_seconds();
    p0 = provider.stats();
    s0 = otlp->stats();
  };
  const auto t0 = Clock::now();
  constexpr std::int64_t kStep = 256;  // spans per pacing check
  for (std::int64_t i = 0; i < total;) {
    if (i == warm_total) mark();
    const auto due = t0 + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(static_cast<double>(i) / rate));
    if (Clock::now() < due) std::this_thread::sleep_until(due);
    const std::int64_t step_end = std::min(i + kStep, i < warm_total ? warm_total : total);
    for (; i < step_end; ++i) {
      auto s = OperatorRun::start("job-2024-06-01-etl", i, 7, "op/hash-join");
    }
  }
  const double producer_cpu = thread_cpu_seconds() - tcpu0;
  provider.force_flush(std::chrono::seconds(60));
  const auto p = provider.stats();
  const auto s = otlp->stats();
  while (g_received->load() < received0 + (s.spans_exported - 1)) std::this_thread::yield();
  const double cpu = cpu_seconds() - cpu0;
  const double export_cpu = probe->cpu_seconds() - ecpu0;
  provider.shutdown();
  Trial t;
  const std::uint64_t dropped = p.dropped_queue_full - p0.dropped_queue_full;
  const std::uint64_t failed = s.spans_failed - s0.spans_failed;
  const std::uint64_t rejected = s.spans_rejected - s0.spans_rejected;
  t.clean = dropped == 0 && failed == 0 && rejected == 0;
  std::fprintf(stderr,
               "  trial %.0f spans/s: dropped=%llu failed=%llu rejected=%llu (warm-up: "
               "dropped=%llu failed=%llu)\n",
               rate, static_cast<unsigned long long>(dropped),
               static_cast<unsigned long long>(failed), static_cast<unsigned long long>(rejected),
               static_cast<unsigned long long>(p0.dropped_queue_full),
               static_cast<unsigned long long>(s0.spans_failed));
  const double delivered = static_cast<double>(total - warm_total);
  t.cpu_ns_per_span = cpu * 1e9 / delivered;
  t.export_cpu_ns_per_span = (cpu - producer_cpu) * 1e9 / delivered;
  t.export_thread_ns_per_span = export_cpu * 1e9 / delivered;
  t.spans_per_request = static_cast<double>(s.spans_exported - s0.spans_exported) /
                        static_cast<double>(std::max<std::uint64_t>(s.requests - s0.requests, 1));
  return t;
}

double capacity_seconds() {
  const char* v = std::getenv("KT_CAPACITY_SECONDS");
  const double s = v ? std::atof(v) : 10.0;
  return s > 0 ? s : 10.0;
}

// KT_CAPACITY_WARMUP (default 1 s; 0 counts the pipeline's start too).
double warmup_seconds() {
  const char* v = std::getenv("KT_CAPACITY_WARMUP");
  const double s = v ? std::atof(v) : 1.0;
  return s >= 0 ? s : 1.0;
}

// KT_CAPACITY_RATE=R: no search, one trial at R spans/s (max_spans/s reads R when it was clean,
// 0 otherwise).
double fixed_rate() {
  const char* v = std::getenv("KT_CAPACITY_RATE");
  return v ? std::atof(v) : 0;
}

void BM_Capacity(benchmark::State& state) {
  g_latency_us->store(state.range(0) * 1000);
  const int concurrent = static_cast<int>(state.range(1));
  const double seconds = capacity_seconds();
  const double warmup = warmup_seconds();
  double best = 0;
  Trial at_best;
  for (auto _ : state) {
    if (const double rate = fixed_rate(); rate > 0) {
      // One trial at that rate: CPU per span compared at equal load.
      const Trial t = run_at_rate(rate, seconds, warmup, concurrent);
      best = t.clean ? rate : 0;
      at_best = t;
      continue;
    }
    double lo = 0;
    double hi = 0;
    for (double rate = 62'500; rate <= 16'000'000; rate *= 2) {  // doubling
      const Trial t = run_at_rate(rate, seconds, warmup, concurrent);
      if (!t.clean) {
        hi = rate;
        break;
      }
      lo = rate;
      at_best = t;
    }
    while (hi > 0 && hi - lo > 0.05 * lo && lo > 0) {  // bisecting
      const double mid = (lo + hi) / 2;
      const Trial t = run_at_rate(mid, seconds, warmup, concurrent);
      if (t.clean) {
        lo = mid;
        at_best = t;
      } else {
        hi = mid;
      }
    }
    best = lo;
  }
  g_latency_us->store(0);
  state.counters["max_spans/s"] = best;
  state.counters["cpu_ns/span"] = at_best.cpu_ns_per_span;
  state.counters["export_cpu_ns/span"] = at_best.export_cpu_ns_per_span;
  state.counters["export_thread_ns/span"] = at_best.export_thread_ns_per_span;
  state.counters["spans/request"] = at_best.spans_per_request;
}

BENCHMARK(BM_Capacity)
    ->Name("otlp_capacity")
    ->ArgNames({"latency_ms", "concurrent"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({5, 0})
    ->Args({0, 1})  // the baseline: one request in flight at a time
    ->Args({5, 1})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace

int main(int argc, char** argv) {
  // Before anything starts gRPC in this process: a forked gRPC process is not usable.
  if (!start_sink()) {
    std::fprintf(stderr, "otlp_export_bench: could not start the loopback sink\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
