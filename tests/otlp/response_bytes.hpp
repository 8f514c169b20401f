#pragma once
// What a collector answers, as bytes, for the response decoder's tests and the in-test
// collectors' scripted replies. Built with the project's protobuf writer (checked against
// libprotobuf by the round-trip test); the field numbers are written out here from the .proto
// definitions quoted below, not taken from otlp/fields.hpp, so a wrong constant there fails the
// tests instead of agreeing with itself.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "krishiv/trace/detail/protobuf_writer.hpp"

namespace response_bytes {

namespace kd = krishiv::trace::detail;

// One message, fields appended in call order.
class Message {
 public:
  Message() = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  Message& varint(std::uint32_t field, std::uint64_t v) {
    w_.varint_field(kd::proto_key(field, kd::WireType::Varint), v);
    return *this;
  }
  // int64 / int32 fields: the two's complement as a varint (a negative value takes 10 bytes).
  Message& int64(std::uint32_t field, std::int64_t v) {
    return varint(field, static_cast<std::uint64_t>(v));
  }
  Message& bytes(std::uint32_t field, std::string_view v) {
    w_.bytes_field(kd::proto_key(field, kd::WireType::Len), v);
    return *this;
  }
  std::string str() {
    w_.finish();
    return std::move(out_);
  }

 private:
  std::string out_;
  kd::ProtobufWriter w_{out_};
};

// opentelemetry/proto/collector/trace/v1/trace_service.proto:
//   message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
//   message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
// proto3: zero and empty fields are omitted.
inline std::string partial_success(std::int64_t rejected, std::string_view message) {
  Message p;
  if (rejected != 0) p.int64(1, rejected);
  if (!message.empty()) p.bytes(2, message);
  return Message().bytes(1, p.str()).str();
}

// google/protobuf/duration.proto: message Duration { int64 seconds = 1; int32 nanos = 2; }
// google/rpc/error_details.proto: message RetryInfo { google.protobuf.Duration retry_delay = 1; }
inline std::string retry_info(std::int64_t seconds, std::int32_t nanos) {
  Message d;
  if (seconds != 0) d.int64(1, seconds);
  if (nanos != 0) d.int64(2, nanos);
  return Message().bytes(1, d.str()).str();
}

inline const std::string kRetryInfoType = "type.googleapis.com/google.rpc.RetryInfo";
inline const std::string kDebugInfoType = "type.googleapis.com/google.rpc.DebugInfo";

// google/protobuf/any.proto: message Any { string type_url = 1; bytes value = 2; }
inline std::string any(std::string_view type_url, std::string_view value) {
  return Message().bytes(1, type_url).bytes(2, value).str();
}

// google/rpc/status.proto:
//   message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3;
//   }
inline std::string rpc_status(int code, std::string_view message,
                              const std::vector<std::pair<std::string, std::string>>& details) {
  Message s;
  if (code != 0) s.int64(1, code);
  if (!message.empty()) s.bytes(2, message);
  for (const auto& [type, value] : details) s.bytes(3, any(type, value));
  return s.str();
}

}  // namespace response_bytes
