#pragma once
// gRPC status code names as gRPC spells them
// (https://grpc.github.io/grpc/core/md_doc_statuscodes.html): one table for the OTLP/gRPC
// transport's error messages and the gRPC integration's span attributes and metric labels. Standard
// library only: codes are the ints of grpc::StatusCode.

#include <array>
#include <cstddef>
#include <string_view>

namespace krishiv::trace::detail {

// "OK", "CANCELLED", ... "UNAUTHENTICATED"; empty for a code outside 0..16 (each caller has its
// own fallback).
constexpr std::string_view grpc_status_name(int code) noexcept {
  constexpr std::array<std::string_view, 17> kNames = {"OK",
                                                       "CANCELLED",
                                                       "UNKNOWN",
                                                       "INVALID_ARGUMENT",
                                                       "DEADLINE_EXCEEDED",
                                                       "NOT_FOUND",
                                                       "ALREADY_EXISTS",
                                                       "PERMISSION_DENIED",
                                                       "RESOURCE_EXHAUSTED",
                                                       "FAILED_PRECONDITION",
                                                       "ABORTED",
                                                       "OUT_OF_RANGE",
                                                       "UNIMPLEMENTED",
                                                       "INTERNAL",
                                                       "UNAVAILABLE",
                                                       "DATA_LOSS",
                                                       "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(kNames.size())) return {};
  return kNames[static_cast<std::size_t>(code)];
}

}  // namespace krishiv::trace::detail
