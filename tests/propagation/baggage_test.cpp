// The W3C Baggage list syntax without properties, as OTEL_RESOURCE_ATTRIBUTES uses it (W3C
// Baggage, "Header Content"; OpenTelemetry resource/sdk.md).

#include "krishiv/trace/propagation/baggage.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

using krishiv::trace::BaggageEntries;
using krishiv::trace::parse_baggage;
using krishiv::trace::detail::is_baggage_octet;
using krishiv::trace::detail::is_token_char;

TEST_CASE("baggage: character classes") {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool octet = c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
                       (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
    INFO("char " << c);
    CHECK(is_baggage_octet(ch) == octet);
  }
  for (char c : std::string("azAZ09!#$%&'*+-.^_`|~")) CHECK(is_token_char(c));
  for (char c : std::string(" \t\"(),/:;<=>?@[\\]{}\x7f")) CHECK_FALSE(is_token_char(c));
}

TEST_CASE("baggage: parse_baggage") {
  std::string problem;
  auto parse = [&](std::string_view s) { return parse_baggage(s, &problem); };
  CHECK(parse("") == BaggageEntries{});
  CHECK(parse(" \t") == BaggageEntries{});
  CHECK(parse("k=v") == BaggageEntries{{"k", "v"}});
  CHECK(parse(" k1 = v1 ,\tk2=v2\t") == BaggageEntries{{"k1", "v1"}, {"k2", "v2"}});
  CHECK(parse("k=") == BaggageEntries{{"k", ""}});
  CHECK(parse("k=a=b") == BaggageEntries{{"k", "a=b"}});
  CHECK(parse("k%2C=v%2C") == BaggageEntries{{"k,", "v,"}});
  CHECK(parse("k=1,k=2") == BaggageEntries{{"k", "1"}, {"k", "2"}});  // callers choose the winner

  CHECK_FALSE(parse("k"));
  CHECK(problem == "has an entry without '=' (k)");
  CHECK_FALSE(parse("k=1,"));
  CHECK(problem == "has an empty entry");
  CHECK_FALSE(parse(",k=1"));
  CHECK(problem == "has an empty entry");
  CHECK_FALSE(parse("=v"));
  CHECK(problem == "has an entry with an empty key (=v)");
  CHECK_FALSE(parse("k=v w"));
  CHECK(problem == "has a value for \"k\" with character 0x20, which must be percent-encoded");
  CHECK_FALSE(parse("k=%1"));
  CHECK(problem == "has a '%' not followed by two hex digits in entry k=%1");
  CHECK_FALSE(parse("k%=v"));
  CHECK(problem == "has a '%' not followed by two hex digits in entry k%=v");
  CHECK_FALSE(parse_baggage("k", nullptr));  // the description is optional
  CHECK_FALSE(parse_baggage("k"));
}

TEST_CASE("baggage: properties are not supported") {
  std::string problem;
  CHECK_FALSE(parse_baggage("k=v;p=1", &problem));
  CHECK(problem == "has a value for \"k\" with character ';', which must be percent-encoded");
  CHECK(parse_baggage("k=v%3Bp=1") == BaggageEntries{{"k", "v;p=1"}});
}

TEST_CASE("baggage: decoded values that are not UTF-8 become U+FFFD") {
  const std::string r = "\xEF\xBF\xBD";
  CHECK(parse_baggage("k=aa%ffcc") == BaggageEntries{{"k", "aa" + r + "cc"}});
  CHECK(parse_baggage("k%C3=%E2%82%AC") == BaggageEntries{{"k" + r, "\xE2\x82\xAC"}});
}
