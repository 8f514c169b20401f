#include "krishiv/trace/detail/env.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "capture.hpp"

using namespace krishiv::trace::detail;
using ::test::EnvGuard;

TEST_CASE("env: numbers are read with OWS trimmed") {
  CHECK(parse_u64(" 42\t") == 42u);
  CHECK_FALSE(parse_u64("4 2"));
  CHECK_FALSE(parse_u64(""));
  CHECK(parse_double("\t0.25 ") == 0.25);
  CHECK_FALSE(parse_double(" "));
}

TEST_CASE("env: baggage character classes") {
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

TEST_CASE("env: baggage parse_key_value_list") {
  std::string problem;
  auto parse = [&](std::string_view s) { return parse_key_value_list(s, &problem); };
  CHECK(parse("") == KeyValueList{});
  CHECK(parse(" \t") == KeyValueList{});
  CHECK(parse("k=v") == KeyValueList{{"k", "v"}});
  CHECK(parse(" k1 = v1 ,\tk2=v2\t") == KeyValueList{{"k1", "v1"}, {"k2", "v2"}});
  CHECK(parse("k=") == KeyValueList{{"k", ""}});
  CHECK(parse("k=a=b") == KeyValueList{{"k", "a=b"}});
  CHECK(parse("k%2C=v%2C") == KeyValueList{{"k,", "v,"}});
  CHECK(parse("k=1,k=2") == KeyValueList{{"k", "1"}, {"k", "2"}});  // callers choose the winner

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
  CHECK_FALSE(parse_key_value_list("k", nullptr));  // the description is optional
}

TEST_CASE("env: baggage properties are not supported") {
  std::string problem;
  CHECK_FALSE(parse_key_value_list("k=v;p=1", &problem));
  CHECK(problem == "has a value for \"k\" with character ';', which must be percent-encoded");
  CHECK(parse_key_value_list("k=v%3Bp=1", nullptr) == KeyValueList{{"k", "v;p=1"}});
}

TEST_CASE("env: baggage decoded values that are not UTF-8 become U+FFFD") {
  const std::string r = "\xEF\xBF\xBD";
  CHECK(parse_key_value_list("k=aa%ffcc", nullptr) == KeyValueList{{"k", "aa" + r + "cc"}});
  CHECK(parse_key_value_list("k%C3=%E2%82%AC", nullptr) == KeyValueList{{"k" + r, "\xE2\x82\xAC"}});
}

TEST_CASE("env: EnvGuard restores the environment") {
  ::setenv("KRISHIV_TEST_VAR", "before", 1);
  ::unsetenv("KRISHIV_TEST_UNSET");
  {
    EnvGuard env;
    env.set("KRISHIV_TEST_VAR", "during");
    env.set("KRISHIV_TEST_UNSET", "during");
    env.unset("KRISHIV_TEST_VAR");
    CHECK_FALSE(env_string("KRISHIV_TEST_VAR"));
    CHECK(env_string("KRISHIV_TEST_UNSET") == "during");
  }
  CHECK(env_string("KRISHIV_TEST_VAR") == "before");
  CHECK_FALSE(env_string("KRISHIV_TEST_UNSET"));
  ::unsetenv("KRISHIV_TEST_VAR");
}
