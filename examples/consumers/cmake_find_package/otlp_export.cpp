// The OTLP/gRPC exporter from an installed krishiv-trace: two spans, exported as the OTEL_*
// environment says (OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT by default).
#include <krishiv/trace.hpp>
#include <krishiv/trace/exporters/otlp_grpc.hpp>

#include <cstdio>

namespace kt = krishiv::trace;

int main() {
  {
    kt::TracerProvider provider({.sampler = kt::Sampler::always_on()});
    auto job = kt::info_span("consumer_job", kt::job_id{"j-1"}).entered();
    auto step = kt::info_span("consumer_step", kt::epoch{1}).entered();
  }
  std::printf("otlp_export: done\n");
}
