#pragma once
// OTLP facts written once: the field keys of the trace messages (field number and wire type,
// one constant per field, grouped by message) and the protocol constants the encoder, the
// response decoder, the options and the gRPC transport share. Standard library only.
//
// Field numbers are those of opentelemetry-proto:
//   opentelemetry/proto/collector/trace/v1/trace_service.proto
//   opentelemetry/proto/trace/v1/trace.proto
//   opentelemetry/proto/common/v1/common.proto
//   opentelemetry/proto/resource/v1/resource.proto
// A key is varint((field_number << 3) | wire_type) (protobuf encoding, "Message Structure"), so
// comparing keys compares number and wire type at once.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "krishiv/trace/detail/protobuf_reader.hpp"

namespace krishiv::trace::detail::otlp {

constexpr std::uint32_t len(std::uint32_t f) noexcept {
  return proto_key(f, WireType::Len);
}
constexpr std::uint32_t var(std::uint32_t f) noexcept {
  return proto_key(f, WireType::Varint);
}
constexpr std::uint32_t i64(std::uint32_t f) noexcept {
  return proto_key(f, WireType::I64);
}
constexpr std::uint32_t i32(std::uint32_t f) noexcept {
  return proto_key(f, WireType::I32);
}

// ---- opentelemetry/proto/collector/trace/v1/trace_service.proto ----

// ExportTraceServiceRequest
namespace request {
inline constexpr std::uint32_t resource_spans = len(1);
}
// ExportTraceServiceResponse
namespace response {
inline constexpr std::uint32_t partial_success = len(1);
}
// ExportTracePartialSuccess
namespace partial_success {
inline constexpr std::uint32_t rejected_spans = var(1);  // int64
inline constexpr std::uint32_t error_message = len(2);
}  // namespace partial_success

// ---- opentelemetry/proto/trace/v1/trace.proto ----

// ResourceSpans
namespace resource_spans {
inline constexpr std::uint32_t resource = len(1);
inline constexpr std::uint32_t scope_spans = len(2);
}  // namespace resource_spans
// ScopeSpans
namespace scope_spans {
inline constexpr std::uint32_t scope = len(1);
inline constexpr std::uint32_t spans = len(2);
}  // namespace scope_spans
// Span
namespace span {
inline constexpr std::uint32_t trace_id = len(1);
inline constexpr std::uint32_t span_id = len(2);
inline constexpr std::uint32_t trace_state = len(3);
inline constexpr std::uint32_t parent_span_id = len(4);
inline constexpr std::uint32_t name = len(5);
inline constexpr std::uint32_t kind = var(6);
inline constexpr std::uint32_t start_time_unix_nano = i64(7);
inline constexpr std::uint32_t end_time_unix_nano = i64(8);
inline constexpr std::uint32_t attributes = len(9);
inline constexpr std::uint32_t dropped_attributes_count = var(10);
inline constexpr std::uint32_t events = len(11);
inline constexpr std::uint32_t dropped_events_count = var(12);
inline constexpr std::uint32_t links = len(13);
inline constexpr std::uint32_t dropped_links_count = var(14);
inline constexpr std::uint32_t status = len(15);
inline constexpr std::uint32_t flags = i32(16);
}  // namespace span
// Span.Event
namespace event {
inline constexpr std::uint32_t time_unix_nano = i64(1);
inline constexpr std::uint32_t name = len(2);
inline constexpr std::uint32_t attributes = len(3);
inline constexpr std::uint32_t dropped_attributes_count = var(4);
}  // namespace event
// Span.Link
namespace link {
inline constexpr std::uint32_t trace_id = len(1);
inline constexpr std::uint32_t span_id = len(2);
inline constexpr std::uint32_t trace_state = len(3);
inline constexpr std::uint32_t attributes = len(4);
inline constexpr std::uint32_t dropped_attributes_count = var(5);
inline constexpr std::uint32_t flags = i32(6);
}  // namespace link
// Status
namespace status {
inline constexpr std::uint32_t message = len(2);  // 1 is reserved
inline constexpr std::uint32_t code = var(3);
}  // namespace status

// SpanFlags: bits 0-7 are the W3C trace flags; bit 8 says bit 9 is meaningful; bit 9 says the
// parent (for a span) or the linked context (for a link) is remote.
inline constexpr std::uint32_t kTraceFlagsMask = 0xFF;
inline constexpr std::uint32_t kContextHasIsRemote = 0x100;
inline constexpr std::uint32_t kContextIsRemote = 0x200;

// ---- opentelemetry/proto/resource/v1/resource.proto ----

// Resource
namespace resource {
inline constexpr std::uint32_t attributes = len(1);
}

// ---- opentelemetry/proto/common/v1/common.proto ----

// InstrumentationScope
namespace scope {
inline constexpr std::uint32_t name = len(1);
inline constexpr std::uint32_t version = len(2);
}  // namespace scope
// KeyValue
namespace key_value {
inline constexpr std::uint32_t key = len(1);
inline constexpr std::uint32_t value = len(2);
}  // namespace key_value
// AnyValue (the oneof `value`)
namespace any_value {
inline constexpr std::uint32_t string_value = len(1);
inline constexpr std::uint32_t bool_value = var(2);
inline constexpr std::uint32_t int_value = var(3);  // int64: two's complement, not zigzag
inline constexpr std::uint32_t double_value = i64(4);
inline constexpr std::uint32_t array_value = len(5);
inline constexpr std::uint32_t kvlist_value = len(6);
inline constexpr std::uint32_t bytes_value = len(7);
}  // namespace any_value
// ArrayValue.values and KeyValueList.values: the same key in both messages.
inline constexpr std::uint32_t values = len(1);

// ---- the protocol (opentelemetry-proto docs/specification.md) ----

// "OTLP/gRPC": the unary method a client calls with ExportTraceServiceRequest.
inline constexpr std::string_view kTraceExportMethod =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

// opentelemetry-specification protocol/exporter.md, "Configuration Options": the OTLP/gRPC
// default of OTEL_EXPORTER_OTLP_ENDPOINT.
inline constexpr std::string_view kDefaultGrpcEndpoint = "http://localhost:4317";

// Clients MUST NOT send requests larger than 64 MiB (before compression). The transport refuses
// a larger request without sending it; the exporter splits batches below it.
inline constexpr std::size_t kMaxRequestBytes = std::size_t{64} << 20;
// "OTLP/gRPC Request": the client SHOULD limit the request "including before compression",
// RECOMMENDED 4 MiB, because servers typically refuse larger messages (gRPC's default receive
// limit) with a non-retryable RESOURCE_EXHAUSTED. Batch splitting aims under this and treats
// kMaxRequestBytes only as the ceiling.
inline constexpr std::size_t kRecommendedRequestBytes = std::size_t{4} << 20;

}  // namespace krishiv::trace::detail::otlp
