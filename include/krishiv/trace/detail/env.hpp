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

#include "krishiv/trace/detail/ows.hpp"
#include "krishiv/trace/detail/parse_double.hpp"

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
  std::string lower;
  for (char c : trim_ows(*raw)) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (lower == "true") return true;
  if (lower == "false") return false;
  config_warning(name, *raw, "is not true or false", fallback ? "true" : "false");
  return fallback;
}

inline std::optional<double> parse_double(std::string_view s) noexcept {
  s = trim_ows(s);
  return parse_double_exact(s);
}

// ASCII lowercase copy: OpenTelemetry enum values are matched case-insensitively
// (sdk-environment-variables.md, "Enum").
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  return out;
}

// A hex digit of either case, or -1: RFC 3986 §2.1 makes "%2c" and "%2C" equivalent.
constexpr int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends `in`, replacing each maximal ill-formed UTF-8 subpart with U+FFFD (Unicode §3.9,
// "U+FFFD Substitution of Maximal Subparts"). W3C Baggage §value: decoded octet sequences that
// are not UTF-8 MUST become the replacement code point, so they are not an error.
inline void append_utf8_replacing_invalid(std::string_view in, std::string& out) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b < 0x80) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    // Well-formed sequences (Unicode Table 3-7): the lead byte fixes the length and the range of
    // the second byte; later bytes are always 80..BF.
    int need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b == 0xE0) {
      need = 2, lo = 0xA0;
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      need = 2;
    } else if (b == 0xED) {
      need = 2, hi = 0x9F;
    } else if (b == 0xF0) {
      need = 3, lo = 0x90;
    } else if (b >= 0xF1 && b <= 0xF3) {
      need = 3;
    } else if (b == 0xF4) {
      need = 3, hi = 0x8F;
    }
    std::size_t j = i + 1;
    int got = 0;
    while (got < need && j < in.size()) {
      const auto c = static_cast<unsigned char>(in[j]);
      if (c < (got == 0 ? lo : 0x80) || c > (got == 0 ? hi : 0xBF)) break;
      ++j, ++got;
    }
    if (need > 0 && got == need) {
      out.append(in.substr(i, j - i));
    } else {
      out += kReplacement;
    }
    i = j;
  }
}

// RFC 3986 §2.1 percent-decoding, with invalid UTF-8 in the result replaced (see above).
// nullopt when a "%" is not followed by two hex digits.
inline std::optional<std::string> percent_decode(std::string_view s) {
  std::string bytes;
  bytes.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      bytes += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_digit_value(s[i + 1]);
    const int lo = hex_digit_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes += static_cast<char>((hi << 4) | lo);
    i += 2;
  }
  std::string out;
  out.reserve(bytes.size());
  append_utf8_replacing_invalid(bytes, out);
  return out;
}

// RFC 7230 §3.2.6 tchar: a W3C Baggage key is a token.
constexpr bool is_token_char(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// W3C Baggage: baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E (printable ASCII
// without space, DQUOTE, ",", ";" and "\\"); anything else in a value must be percent-encoded.
constexpr bool is_baggage_octet(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != '"' && c != ',' && c != ';' && c != '\\';
}

// 'x' for printable ASCII, 0xNN otherwise: warnings stay one readable line.
inline std::string describe_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7F) return std::string{'\'', c, '\''};
  constexpr std::string_view kDigits = "0123456789ABCDEF";
  return std::string{'0', 'x', kDigits[u >> 4], kDigits[u & 0xF]};
}

using KeyValueList = std::vector<std::pair<std::string, std::string>>;

// The W3C Baggage list format without properties, as OTEL_RESOURCE_ATTRIBUTES
// (resource/sdk.md) and the OTLP exporter's *_HEADERS variables use it: `k1=v1,k2=v2`, with OWS
// around members, keys and values. Keys are tokens and values baggage-octets; both are
// percent-decoded, since the OTel spec has "," and "=" percent-encoded in either. A value may
// hold a raw "=" (W3C Baggage §value: parsers MUST NOT assume "=" only separates key and value).
// The baggage-string grammar has no empty members, so "a=1,,b=2" and a trailing "," are malformed.
// On the first malformed member returns nullopt and describes it in *problem: the caller then
// discards the whole list, as resource/sdk.md asks ("the entire environment variable value
// SHOULD be discarded"). An empty or all-OWS list is an empty list.
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
    auto decoded_key = percent_decode(key);
    auto decoded_value = percent_decode(value);
    if (!decoded_key || !decoded_value) {
      return fail("has a '%' not followed by two hex digits in entry " + std::string(member));
    }
    out.emplace_back(std::move(*decoded_key), std::move(*decoded_value));
  }
  return out;
}

}  // namespace krishiv::trace::detail
