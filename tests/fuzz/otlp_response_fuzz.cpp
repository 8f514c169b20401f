// libFuzzer target: the collector's answers (ExportTraceServiceResponse and the
// grpc-status-details-bin google.rpc.Status with RetryInfo), which come from the network. Any
// bytes decode without a crash or an unbounded value: the retry delay stays within
// [0, kMaxRetryDelay], rejected spans are whatever the wire said, and a decode is a pure function.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "krishiv/trace/otlp/response.hpp"

namespace otlp = krishiv::trace::detail::otlp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto details = otlp::decode_status_details(input);
  if (details.retry_delay.count() < 0 ||
      details.retry_delay > std::chrono::nanoseconds{otlp::kMaxRetryDelay}) {
    std::abort();
  }
  if (!details.has_retry_info && details.retry_delay.count() != 0) std::abort();
  const auto again = otlp::decode_status_details(input);
  if (again.well_formed != details.well_formed || again.retry_delay != details.retry_delay) {
    std::abort();
  }

  const auto response = otlp::decode_export_response(input);
  if (response.error_message.size() > size) std::abort();
  if (!response.has_partial_success &&
      (response.rejected_spans != 0 || !response.error_message.empty())) {
    std::abort();
  }
  return 0;
}
