#pragma once
// Decoding of what an OTLP/gRPC collector answers (opentelemetry-proto docs/specification.md
// "OTLP/gRPC Response"), standard library only:
// - an OK call's ExportTraceServiceResponse, for its partial_success ("Partial Success");
// - a failed call's google.rpc.Status, carried serialized in the `grpc-status-details-bin`
//   trailer, for the google.rpc.RetryInfo that makes RESOURCE_EXHAUSTED retryable and tells how
//   long to wait ("Failures", "OTLP/gRPC Throttling").
//
// The bytes come from the network: malformed input sets well_formed to false and keeps what was
// read before the damage; it never reads past the buffer.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "krishiv/trace/detail/protobuf_reader.hpp"
#include "krishiv/trace/otlp/fields.hpp"

namespace krishiv::trace::detail::otlp {

// Field keys of the google.* messages involved (not OTLP's own, so not in fields.hpp).
namespace rpc {
// google/rpc/status.proto: Status
namespace status {
inline constexpr std::uint32_t details = len(3);  // repeated google.protobuf.Any
}
// google/protobuf/any.proto: Any
namespace any {
inline constexpr std::uint32_t type_url = len(1);
inline constexpr std::uint32_t value = len(2);
}  // namespace any
// google/rpc/error_details.proto: RetryInfo
namespace retry_info {
inline constexpr std::uint32_t retry_delay = len(1);  // google.protobuf.Duration
}
// google/protobuf/duration.proto: Duration
namespace duration {
inline constexpr std::uint32_t seconds = var(1);  // int64
inline constexpr std::uint32_t nanos = var(2);    // int32
}  // namespace duration
// Any.type_url is "<host>/<full message name>"; only the name after the last '/' is meaningful.
inline constexpr std::string_view kRetryInfoTypeSuffix = "/google.rpc.RetryInfo";
}  // namespace rpc

// The longest delay honoured. A server may send any int64 of seconds; capping also keeps the
// conversion to nanoseconds far from overflow.
inline constexpr std::chrono::seconds kMaxRetryDelay{600};

// ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
// ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
struct ExportResponse {
  bool well_formed = true;
  bool has_partial_success = false;  // the field was present on the wire
  std::int64_t rejected_spans = 0;
  std::string error_message;
};

inline ExportResponse decode_export_response(std::string_view bytes) {
  ExportResponse out;
  ProtoReader r(bytes);
  while (r.next()) {
    if (r.key() != response::partial_success) continue;
    out.has_partial_success = true;
    // Repeated occurrences of a message field merge (protobuf encoding spec, "Last One Wins"
    // for scalars inside).
    ProtoReader p(r.bytes());
    while (p.next()) {
      if (p.key() == partial_success::rejected_spans) out.rejected_spans = p.int64();
      if (p.key() == partial_success::error_message) out.error_message = p.bytes();
    }
    if (!p.ok()) out.well_formed = false;
  }
  if (!r.ok()) out.well_formed = false;
  return out;
}

// What the transport needs from a google.rpc.Status:
//   Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
//   Any { string type_url = 1; bytes value = 2; }
//   RetryInfo { google.protobuf.Duration retry_delay = 1; }
//   Duration { int64 seconds = 1; int32 nanos = 2; }
// code and message also arrive as gRPC's own status; other Any types are skipped.
struct StatusDetails {
  bool well_formed = true;
  bool has_retry_info = false;  // a RetryInfo was among the details (the first one counts)
  // Its delay, within [0, kMaxRetryDelay]. A negative or invalid Duration, or a RetryInfo that
  // does not parse, reads as 0: retry, with the exporter's own backoff.
  std::chrono::nanoseconds retry_delay{0};
};

inline StatusDetails decode_status_details(std::string_view bytes) {
  StatusDetails out;
  ProtoReader status(bytes);
  while (status.next()) {
    if (status.key() != rpc::status::details) continue;
    std::string_view type_url;
    std::string_view value;
    ProtoReader any(status.bytes());
    while (any.next()) {
      if (any.key() == rpc::any::type_url) type_url = any.bytes();
      if (any.key() == rpc::any::value) value = any.bytes();
    }
    if (!any.ok()) {
      out.well_formed = false;
      continue;
    }
    if (out.has_retry_info || !type_url.ends_with(rpc::kRetryInfoTypeSuffix)) continue;
    out.has_retry_info = true;
    std::int64_t seconds = 0;
    std::int64_t nanos = 0;
    bool usable = true;
    ProtoReader info(value);
    while (info.next()) {
      if (info.key() != rpc::retry_info::retry_delay) continue;
      ProtoReader d(info.bytes());
      while (d.next()) {
        if (d.key() == rpc::duration::seconds) seconds = d.int64();
        if (d.key() == rpc::duration::nanos) nanos = static_cast<std::int32_t>(d.varint());
      }
      usable = usable && d.ok();
    }
    usable = usable && info.ok();
    if (!usable) {
      out.well_formed = false;
      continue;
    }
    // Duration: nanos in (-1e9, 1e9) with the sign of seconds; a negative delay means "now".
    if (seconds < 0 || nanos < 0 || nanos >= 1'000'000'000) continue;
    out.retry_delay = seconds >= kMaxRetryDelay.count()
                          ? std::chrono::nanoseconds{kMaxRetryDelay}
                          : std::chrono::seconds{seconds} + std::chrono::nanoseconds{nanos};
  }
  if (!status.ok()) out.well_formed = false;
  return out;
}

}  // namespace krishiv::trace::detail::otlp
