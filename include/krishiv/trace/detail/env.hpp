#pragma once
// Reading OpenTelemetry environment variables: a malformed value is reported once on stderr,
// naming the variable and the fallback taken, and never aborts the program.

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "krishiv/trace/detail/chrono.hpp"
#include "krishiv/trace/detail/parse_double.hpp"
#include "krishiv/trace/detail/text.hpp"

namespace krishiv::trace::detail {

// One line per problem; stderr is unbuffered, so a single fprintf call keeps lines whole.
inline void warning_line(const std::string& line) {
  std::fprintf(stderr, "krishiv-trace: %s\n", line.c_str());
}

// `value` is shown quoted and escaped (quote_for_log): whatever it holds, the warning stays one
// line. Callers never pass credentials (header values, URL user-info): see HiddenValue.
inline void config_warning(std::string_view var, std::string_view value, std::string_view problem,
                           std::string_view fallback) {
  warning_line(one_line(var) + '=' + quote_for_log(value) + ' ' + one_line(problem) + "; using " +
               one_line(fallback));
}

// A value the warning must not show, because it may hold a credential (an OTLP header value, a
// header written without '='): named by `description` ("header 2") instead.
struct HiddenValue {
  std::string description;
};

inline void config_warning(std::string_view var, const HiddenValue& value, std::string_view problem,
                           std::string_view fallback) {
  warning_line(one_line(var) + " (" + one_line(value.description) + ", not shown) " +
               one_line(problem) + "; using " + one_line(fallback));
}

// The variable's value, or nullopt when unset. An empty value counts as unset, as the
// OpenTelemetry configuration spec asks.
inline std::optional<std::string> env_string(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// First variable of the list that is set (the signal-specific one before the generic one),
// with its name for warnings.
inline std::optional<std::pair<const char*, std::string>> env_first(
    std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (auto v = env_string(n)) return std::pair<const char*, std::string>{n, std::move(*v)};
  }
  return std::nullopt;
}

inline std::optional<std::uint64_t> parse_u64(std::string_view s) noexcept {
  s = trim_ows(s);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// A non-negative integer within [min, max]; otherwise warns and returns the fallback.
inline std::uint64_t env_u64(const char* name, std::uint64_t fallback, std::uint64_t min = 0,
                             std::uint64_t max = UINT64_MAX) {
  auto raw = env_string(name);
  if (!raw) return fallback;
  auto v = parse_u64(*raw);
  if (!v || *v < min || *v > max) {
    const std::string range = "an integer in [" + std::to_string(min) + ", " +
                              (max == UINT64_MAX ? std::string("inf") : std::to_string(max)) + "]";
    config_warning(name, *raw, "is not " + range, std::to_string(fallback));
    return fallback;
  }
  return *v;
}

// Durations in the OTel environment are integers of milliseconds.
inline std::chrono::milliseconds env_millis(const char* name, std::chrono::milliseconds fallback,
                                            std::uint64_t min = 0) {
  return std::chrono::milliseconds(
      env_u64(name, static_cast<std::uint64_t>(fallback.count()), min, 1ull << 40));
}

// "true"/"false", case-insensitive (OTel spec); anything else warns and takes the fallback.
inline bool env_bool(const char* name, bool fallback) {
  auto raw = env_string(name);
  if (!raw) return fallback;
  const std::string lower = ascii_lower(trim_ows(*raw));
  if (lower == "true") return true;
  if (lower == "false") return false;
  config_warning(name, *raw, "is not true or false", fallback ? "true" : "false");
  return fallback;
}

inline std::optional<double> parse_double(std::string_view s) noexcept {
  s = trim_ows(s);
  return parse_double_exact(s);
}

}  // namespace krishiv::trace::detail
