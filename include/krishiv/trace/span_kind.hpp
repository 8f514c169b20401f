#pragma once
// SpanKind, with the OTLP enum values (opentelemetry/proto/trace/v1/trace.proto).

#include <cstdint>
#include <string_view>

namespace krishiv::trace {

enum class SpanKind : std::uint8_t {
  Internal = 1,
  Server = 2,
  Client = 3,
  Producer = 4,
  Consumer = 5,
};

constexpr std::string_view to_string(SpanKind k) noexcept {
  switch (k) {
    case SpanKind::Internal:
      return "internal";
    case SpanKind::Server:
      return "server";
    case SpanKind::Client:
      return "client";
    case SpanKind::Producer:
      return "producer";
    case SpanKind::Consumer:
      return "consumer";
  }
  return "internal";
}

}  // namespace krishiv::trace
