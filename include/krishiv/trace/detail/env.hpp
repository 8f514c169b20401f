#pragma once
// Reading OpenTelemetry environment variables: a malformed value is reported once on stderr,
// naming the variable and the fallback taken, and never aborts the program.

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "krishiv/trace/detail/text.hpp"

namespace krishiv::trace::detail {

// One line per problem; stderr is unbuffered, so a single fprintf call keeps lines whole.
inline void config_warning(std::string_view var, std::string_view value, std::string_view problem,
                           std::string_view fallback) {
  std::fprintf(stderr, "krishiv-trace: %.*s=\"%.*s\" %.*s; using %.*s\n",
               static_cast<int>(var.size()), var.data(), static_cast<int>(value.size()),
               value.data(), static_cast<int>(problem.size()), problem.data(),
               static_cast<int>(fallback.size()), fallback.data());
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
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// RFC 7230 §3.2.6 tchar: a W3C Baggage key is a token.
constexpr bool is_token_char(char c) noexcept {
  if (is_ascii_digit(c) || is_ascii_alpha(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// W3C Baggage: baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E (printable ASCII
// without space, DQUOTE, ",", ";" and "\\"); anything else in a value must be percent-encoded.
constexpr bool is_baggage_octet(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != '"' && c != ',' && c != ';' && c != '\\';
}

// W3C Baggage "value": percent-decoded octets that are not UTF-8 MUST become U+FFFD, so they are
// not an error. nullopt only for a '%' not followed by two hex digits.
inline std::optional<std::string> baggage_decode(std::string_view s) {
  auto bytes = percent_decode(s);
  if (!bytes) return std::nullopt;
  std::string out;
  out.reserve(bytes->size());
  append_utf8_replacing_invalid(*bytes, out);
  return out;
}

// Decoded key/value pairs in list order; a repeated key appears as often as it was written
// (the caller decides which occurrence wins).
using KeyValueList = std::vector<std::pair<std::string, std::string>>;

// Parses `k1=v1,k2=v2` with OWS around members, keys and values. Keys must be tokens and values
// baggage-octets; both are then percent-decoded, since OpenTelemetry has "," and "=" written
// percent-encoded in either. A value may hold a raw "=" (W3C Baggage, "value": parsers MUST NOT
// assume "=" only separates key and value). The baggage-string grammar has no empty members, so
// "a=1,,b=2" and a trailing "," are malformed. An empty or all-OWS list is an empty list.
//
// On the first malformed member returns nullopt and, when `problem` is given, describes the
// member there: OTEL_RESOURCE_ATTRIBUTES discards the whole list then (resource/sdk.md: "the
// entire environment variable value SHOULD be discarded"). The OTLP exporter's *_HEADERS
// variables do not use this parser: they keep the well-formed members of a list and take header
// values as bytes (exporters/otlp_grpc/options.hpp).
inline std::optional<KeyValueList> parse_key_value_list(std::string_view list,
                                                        std::string* problem) {
  KeyValueList out;
  auto fail = [&](std::string why) -> std::optional<KeyValueList> {
    if (problem != nullptr) *problem = std::move(why);
    return std::nullopt;
  };
  if (trim_ows(list).empty()) return out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    auto comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    const auto member = trim_ows(list.substr(pos, comma - pos));
    pos = comma + 1;
    if (member.empty()) return fail("has an empty entry");
    const auto eq = member.find('=');
    if (eq == std::string_view::npos) {
      return fail("has an entry without '=' (" + std::string(member) + ")");
    }
    const auto key = trim_ows(member.substr(0, eq));
    const auto value = trim_ows(member.substr(eq + 1));
    if (key.empty()) return fail("has an entry with an empty key (" + std::string(member) + ")");
    for (char c : key) {
      if (!is_token_char(c)) {
        return fail("has key \"" + std::string(key) + "\" with character " + describe_char(c) +
                    ", which must be percent-encoded");
      }
    }
    for (char c : value) {
      if (!is_baggage_octet(c)) {
        return fail("has a value for \"" + std::string(key) + "\" with character " +
                    describe_char(c) + ", which must be percent-encoded");
      }
    }
    auto decoded_key = baggage_decode(key);
    auto decoded_value = baggage_decode(value);
    if (!decoded_key || !decoded_value) {
      return fail("has a '%' not followed by two hex digits in entry " + std::string(member));
    }
    out.emplace_back(std::move(*decoded_key), std::move(*decoded_value));
  }
  return out;
}

}  // namespace krishiv::trace::detail
