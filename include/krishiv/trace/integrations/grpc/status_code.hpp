#pragma once
// gRPC status codes as the RPC semantic conventions want them: their names (the value of
// rpc.response.status_code and error.type), and which ones mark a span as an error on which side
// (https://opentelemetry.io/docs/specs/semconv/rpc/grpc/). Standard library only: codes are the
// ints of grpc::StatusCode.

#include <string_view>

#include "krishiv/trace/detail/grpc_status.hpp"

namespace krishiv::trace {

// "OK", "CANCELLED", ... "UNAUTHENTICATED"; the decimal number for a code outside 0..16 would
// need formatting, so it is "_OTHER" (the conventions' fallback).
constexpr std::string_view grpc_status_code_name(int code) noexcept {
  const std::string_view name = detail::grpc_status_name(code);
  return name.empty() ? std::string_view("_OTHER") : name;
}

// Client spans: every code but OK is an error.
constexpr bool grpc_client_status_is_error(int code) noexcept {
  return code != 0;
}

// Server spans: only the codes that say the server failed, not that the request was refused.
constexpr bool grpc_server_status_is_error(int code) noexcept {
  switch (code) {
    case 2:   // UNKNOWN
    case 4:   // DEADLINE_EXCEEDED
    case 12:  // UNIMPLEMENTED
    case 13:  // INTERNAL
    case 14:  // UNAVAILABLE
    case 15:  // DATA_LOSS
      return true;
    default:
      return false;
  }
}

}  // namespace krishiv::trace
