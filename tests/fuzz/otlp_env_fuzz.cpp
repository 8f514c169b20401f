// libFuzzer target: every OTEL_* variable the library reads, set to fuzzed text and parsed by
// the readers that take them (batch options, span limits, sampler, resource, OTLP exporter
// options). Whatever the values, parsing returns (no crash, no exception), and every warning it
// prints is exactly one line starting with "krishiv-trace: ", CR-free: a value cannot forge log
// lines. The input is the values, separated by NUL bytes, in the order of kVars.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "krishiv/trace/exporters/otlp_grpc/options.hpp"
#include "krishiv/trace/pipeline/options.hpp"
#include "krishiv/trace/resource.hpp"
#include "krishiv/trace/sampler.hpp"
#include "krishiv/trace/span_limits.hpp"

namespace {

constexpr const char* kVars[] = {
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_INSECURE",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
};

// Stderr into a temporary file for the duration of one input.
std::string capture_stderr(void (*fn)()) {
  static std::FILE* file = std::tmpfile();
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  ::ftruncate(::fileno(file), 0);
  std::rewind(file);
  ::dup2(::fileno(file), STDERR_FILENO);
  fn();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out;
  std::rewind(file);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) out.append(buf, n);
  return out;
}

void parse_everything() {
  (void)krishiv::trace::BatchOptions::from_env();
  (void)krishiv::trace::SpanLimits::from_env();
  (void)krishiv::trace::Sampler::from_env();
  (void)krishiv::trace::Resource::from_env();
  (void)krishiv::trace::OtlpGrpcOptions::from_env();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const char* var : kVars) {
    const std::size_t nul = input.find('\0');
    const std::string value(input.substr(0, nul));
    input = nul == std::string_view::npos ? std::string_view{} : input.substr(nul + 1);
    if (value.empty()) {
      ::unsetenv(var);
    } else {
      ::setenv(var, value.c_str(), 1);
    }
  }
  const std::string err = capture_stderr(parse_everything);
  if (err.find('\r') != std::string::npos) std::abort();
  for (std::size_t start = 0; start < err.size();) {
    if (err.compare(start, 15, "krishiv-trace: ") != 0) std::abort();
    const std::size_t end = err.find('\n', start);
    if (end == std::string::npos) std::abort();  // every line ends
    start = end + 1;
  }
  return 0;
}
