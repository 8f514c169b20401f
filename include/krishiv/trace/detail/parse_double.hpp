#pragma once
// Parsing a double from text, locale-independently, as std::from_chars does: with from_chars
// where the standard library has it for floating point, and otherwise (libc++ before 20 has no
// floating-point from_chars) with strtod_l under a "C" locale object, after rejecting what
// from_chars rejects and strtod would take (leading whitespace or '+', hex digits). Defining
// KRISHIV_TRACE_PARSE_DOUBLE_WITH_STRTOD takes the strtod_l path everywhere (for its tests).

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#if defined(KRISHIV_TRACE_PARSE_DOUBLE_WITH_STRTOD) || \
    !(defined(__cpp_lib_to_chars) && !defined(_LIBCPP_VERSION))
#include <locale.h>
#include <stdlib.h>
#include <cerrno>
#if defined(__APPLE__)
#include <xlocale.h>
#endif
#define KRISHIV_TRACE_DETAIL_PARSE_DOUBLE_STRTOD 1
#endif

namespace krishiv::trace::detail {

// The double spelled by all of `s` (std::chars_format::general: an optional '-', decimal digits
// with an optional fraction and exponent, or inf/infinity/nan), or nullopt when `s` is empty,
// has anything else, or is out of range.
inline std::optional<double> parse_double_exact(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
#ifndef KRISHIV_TRACE_DETAIL_PARSE_DOUBLE_STRTOD
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
#else
  // What strtod accepts beyond from_chars: leading whitespace, '+', and "0x" hex floats.
  const std::string_view body = s.front() == '-' ? s.substr(1) : s;
  if (body.empty()) return std::nullopt;
  const char c0 = body.front();
  const bool digit_or_dot = (c0 >= '0' && c0 <= '9') || c0 == '.';
  const bool inf_or_nan = c0 == 'i' || c0 == 'I' || c0 == 'n' || c0 == 'N';
  if (!digit_or_dot && !inf_or_nan) return std::nullopt;
  if (body.size() > 1 && c0 == '0' && (body[1] == 'x' || body[1] == 'X')) return std::nullopt;
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
  if (c_locale == static_cast<locale_t>(0)) return std::nullopt;
  try {
    const std::string z(s);  // strtod_l needs a terminated string
    char* end = nullptr;
    errno = 0;
    const double v = strtod_l(z.c_str(), &end, c_locale);
    if (errno == ERANGE || end != z.c_str() + z.size()) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
#endif
}

}  // namespace krishiv::trace::detail

#undef KRISHIV_TRACE_DETAIL_PARSE_DOUBLE_STRTOD
