#pragma once
// Optional whitespace (RFC 9110 §5.6.3 OWS: spaces and horizontal tabs), trimmed around W3C
// header values, list members and OTEL_* configuration values alike.

#include <string_view>

namespace krishiv::trace::detail {

constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace krishiv::trace::detail
