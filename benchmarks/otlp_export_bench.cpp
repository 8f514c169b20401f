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
// including the pacing waits in paced mode.

#include <arpa/inet.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "krishiv/trace.hpp"
#include "krishiv/trace/detail/protobuf_reader.hpp"
#include "krishiv/trace/exporters/otlp_grpc.hpp"

namespace kt = krishiv::trace;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kSpansPerIteration = 500'000;
constexpr std::int64_t kWindow = 16'384;  // paced mode: spans in flight at most
constexpr std::int64_t kPaceEvery = 1'024;

// ---- the sink (child process) -------------------------------------------------------------

// Shared with the child: spans received, counted without decoding the spans themselves.
std::atomic<std::uint64_t>* g_received = nullptr;
int g_sink_port = 0;

std::uint64_t count_spans(std::string_view request) {
  using kt::detail::ProtoReader;
  std::uint64_t n = 0;
  ProtoReader req(request);
  while (req.next()) {
    if (req.field() != 1) continue;  // ResourceSpans
    ProtoReader rs(req.bytes());
    while (rs.next()) {
      if (rs.field() != 2) continue;  // ScopeSpans
      ProtoReader ss(rs.bytes());
      while (ss.next()) n += ss.field() == 2 ? 1 : 0;  // Span
    }
  }
  return n;
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
      std::string bytes;
      if (request_.Dump(&slices).ok()) {
        for (const auto& s : slices)
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      g_received->fetch_add(count_spans(bytes), std::memory_order_relaxed);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    return new Call;
  }
};

// Serves on 127.0.0.1 until the parent goes away (its end of `alive` closes).
[[noreturn]] void run_sink(int port_fd, int alive_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
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
  void* mem = ::mmap(nullptr, sizeof(std::atomic<std::uint64_t>), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return false;
  g_received = new (mem) std::atomic<std::uint64_t>(0);
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
  std::uint64_t delivered = 0;
  for (auto _ : state) {
    const std::uint64_t received0 = g_received->load();
    const std::uint64_t exported0 = otlp->stats().spans_exported;
    const double cpu0 = cpu_seconds();
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
    provider.force_flush();
    const std::uint64_t want = received0 + (otlp->stats().spans_exported - exported0);
    while (g_received->load() < want) std::this_thread::yield();
    const auto t2 = Clock::now();
    const double cpu1 = cpu_seconds();
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
