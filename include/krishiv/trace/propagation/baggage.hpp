#pragma once
// The W3C Baggage list syntax (https://www.w3.org/TR/baggage/, "Header Content", "Definition"):
//
//   baggage-string = list-member 0*179( OWS "," OWS list-member )
//   list-member    = key OWS "=" OWS value *( OWS ";" OWS property )
//   key            = token                  ; RFC 7230 §3.2.6
//   value          = *baggage-octet
//
// as OpenTelemetry configuration uses it: without properties (resource/sdk.md, "Specifying
// resource information via an environment variable": OTEL_RESOURCE_ATTRIBUTES is "a format
// matching to the W3C Baggage, except that additional semi-colon delimited metadata is not
// supported"). A ";" is not a baggage-octet, so a member with properties is malformed here.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "krishiv/trace/detail/text.hpp"

namespace krishiv::trace {

namespace detail {

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

}  // namespace detail

// Decoded key/value pairs in list order; a repeated key appears as often as it was written
// (the caller decides which occurrence wins).
using BaggageEntries = std::vector<std::pair<std::string, std::string>>;

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
inline std::optional<BaggageEntries> parse_baggage(std::string_view list,
                                                   std::string* problem = nullptr) {
  using detail::trim_ows;
  BaggageEntries out;
  auto fail = [&](std::string why) -> std::optional<BaggageEntries> {
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
      return fail("has an entry without '=' (" + detail::escape_for_log(member) + ")");
    }
    const auto key = trim_ows(member.substr(0, eq));
    const auto value = trim_ows(member.substr(eq + 1));
    if (key.empty()) {
      return fail("has an entry with an empty key (" + detail::escape_for_log(member) + ")");
    }
    for (char c : key) {
      if (!detail::is_token_char(c)) {
        return fail("has key " + detail::quote_for_log(key) + " with character " +
                    detail::describe_char(c) + ", which must be percent-encoded");
      }
    }
    for (char c : value) {
      if (!detail::is_baggage_octet(c)) {
        return fail("has a value for " + detail::quote_for_log(key) + " with character " +
                    detail::describe_char(c) + ", which must be percent-encoded");
      }
    }
    auto decoded_key = detail::baggage_decode(key);
    auto decoded_value = detail::baggage_decode(value);
    if (!decoded_key || !decoded_value) {
      return fail("has a '%' not followed by two hex digits in entry " + std::string(member));
    }
    out.emplace_back(std::move(*decoded_key), std::move(*decoded_value));
  }
  return out;
}

}  // namespace krishiv::trace
