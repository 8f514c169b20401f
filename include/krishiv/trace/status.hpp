#pragma once
// Span status, with the OTLP enum values (Status.StatusCode).

#include <cstdint>
#include <string_view>

namespace krishiv::trace {

enum class StatusCode : std::uint8_t { Unset = 0, Ok = 1, Error = 2 };

constexpr std::string_view to_string(StatusCode c) noexcept {
  switch (c) {
    case StatusCode::Unset:
      return "unset";
    case StatusCode::Ok:
      return "ok";
    case StatusCode::Error:
      return "error";
  }
  return "unset";
}

}  // namespace krishiv::trace
