// emit: records one small trace that uses every span feature (or N of them), exports it as the
// OTEL_* environment says (OTLP/gRPC by default), and prints what became of the spans.
//
//   emit [--count N]
//
// Each trace has five spans, one of each kind: a server root, and under it internal, client,
// producer and consumer children carrying job_id, task_id, epoch and operator_id; an event with
// attributes; a link (consumer → producer); an error status with a message.
//
// Output, once shutdown() has returned, on stdout:
//   exported=N dropped=N failed=N rejected=N retries=N
// `dropped` is the pipeline's (queue full, or ended after shutdown); the others are the OTLP
// exporter's. With another exporter selected, exported and failed are the pipeline's counts and
// rejected and retries are 0. Exit status 0, or 2 for bad arguments.
// Test suites run this program as a black box: keep the command line and output stable.

#include <krishiv/trace.hpp>
#include <krishiv/trace/exporters/otlp_grpc.hpp>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string_view>
#include <system_error>

namespace kt = krishiv::trace;

namespace {

constexpr std::uint64_t kMaxCount = 1'000'000'000;

int usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "emit: %s\n", why);
  std::fprintf(stderr,
               "usage: emit [--count N]\n"
               "  Records N traces (default 1, at most %llu) of five spans each and exports\n"
               "  them per the OTEL_* environment (OTLP/gRPC by default), then prints\n"
               "  exported=N dropped=N failed=N rejected=N retries=N\n",
               static_cast<unsigned long long>(kMaxCount));
  return 2;
}

void emit_trace(std::int64_t i) {
  const std::string_view job = "job-7";
  auto request = kt::info_span("handle_request", kt::SpanKind::Server, kt::root).entered();
  request.set_attribute("request.seq", i);

  {
    auto run = kt::info_span("run_operator", kt::job_id{job}, kt::task_id{i}, kt::epoch{42},
                             kt::operator_id{"scan"})
                   .entered();
    run.add_event("checkpoint_written", kt::attr("bytes", 4096), kt::attr("path", "s3://ckpt/m"),
                  kt::attr("compressed", true), kt::attr("ratio", 0.25));
  }
  {
    auto fetch = kt::info_span("fetch_manifest", kt::SpanKind::Client, kt::job_id{job},
                               kt::task_id{i}, kt::epoch{42}, kt::operator_id{"scan"});
    fetch.set_status(kt::StatusCode::Error, "manifest not found");
  }
  kt::SpanContext produced;
  {
    auto publish = kt::info_span("publish_result", kt::SpanKind::Producer, kt::job_id{job},
                                 kt::task_id{i}, kt::epoch{42}, kt::operator_id{"sink"});
    produced = publish.context();
  }
  {
    auto consume = kt::info_span("consume_result", kt::SpanKind::Consumer, kt::job_id{job},
                                 kt::task_id{i}, kt::epoch{42}, kt::operator_id{"sink"});
    consume.add_link(produced, kt::attr("messaging.operation", "receive"));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t count = 1;
  for (int a = 1; a < argc; ++a) {
    const std::string_view arg = argv[a];
    if (arg == "--count") {
      if (a + 1 >= argc) return usage("--count needs a value");
      const std::string_view v = argv[++a];
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), count);
      if (ec != std::errc() || end != v.data() + v.size() || count == 0 || count > kMaxCount) {
        return usage("--count takes a whole number from 1 to 1000000000");
      }
    } else if (arg == "--help" || arg == "-h") {
      return usage(nullptr);
    } else {
      return usage("unknown argument");
    }
  }

  // The same exporter TracerProvider would build from the environment, but held here so its
  // counters can be read after shutdown.
  kt::TracerExporter exporter = kt::TracerExporter::from_env();
  std::shared_ptr<kt::OtlpGrpcExporter> otlp;
  if (exporter.name() == "otlp") {
    otlp = std::make_shared<kt::OtlpGrpcExporter>();
    exporter = kt::TracerExporter::Custom(otlp);
  }
  kt::TracerProvider provider({.exporter = exporter});

  for (std::uint64_t i = 0; i < count; ++i) emit_trace(static_cast<std::int64_t>(i));
  provider.shutdown();

  const kt::PipelineStats p = provider.stats();
  kt::OtlpExporterStats o;
  if (otlp) {
    o = otlp->stats();
  } else {
    o.spans_exported = p.exported;
    o.spans_failed = p.export_failed;
  }
  std::printf("exported=%llu dropped=%llu failed=%llu rejected=%llu retries=%llu\n",
              static_cast<unsigned long long>(o.spans_exported),
              static_cast<unsigned long long>(p.dropped_queue_full + p.dropped_inactive),
              static_cast<unsigned long long>(o.spans_failed),
              static_cast<unsigned long long>(o.spans_rejected),
              static_cast<unsigned long long>(o.retries));
  return 0;
}
