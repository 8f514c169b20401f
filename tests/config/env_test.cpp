// trace_state.hpp first: its detail::trim_ows and env.hpp's must share a translation unit.
#include "krishiv/trace/trace_state.hpp"
//
#include "krishiv/trace/detail/env.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "capture.hpp"

using namespace krishiv::trace::detail;
using ::test::EnvGuard;

TEST_CASE("env: trim_ows coexists with trace_state.hpp's and trims spaces and tabs") {
  CHECK(trim_ows(" \ta b\t ") == "a b");
  CHECK(trim_ows("") == "");
  STATIC_REQUIRE(trim_ows("  x ") == "x");
  CHECK(parse_u64(" 42\t") == 42u);
}

TEST_CASE("env: percent_decode") {
  CHECK(percent_decode("") == "");
  CHECK(percent_decode("plain") == "plain");
  CHECK(percent_decode("a%20b") == "a b");
  CHECK(percent_decode("%2C%2c%3D%3d%25") == ",,==%");
  CHECK(percent_decode("%41%62") == "Ab");
  CHECK(percent_decode("1+1") == "1+1");
  CHECK(percent_decode("%E2%82%AC") == "\xE2\x82\xAC");  // euro sign
  CHECK_FALSE(percent_decode("%"));
  CHECK_FALSE(percent_decode("%2"));
  CHECK_FALSE(percent_decode("a%2"));
  CHECK_FALSE(percent_decode("%zz"));
  CHECK_FALSE(percent_decode("%-1"));
  CHECK_FALSE(percent_decode("% 2"));
}

TEST_CASE("env: invalid UTF-8 becomes U+FFFD, one per maximal subpart") {
  const std::string r = "\xEF\xBF\xBD";
  auto fix = [](std::string_view s) {
    std::string out;
    append_utf8_replacing_invalid(s, out);
    return out;
  };
  CHECK(fix("ascii") == "ascii");
  CHECK(fix("caf\xC3\xA9") == "caf\xC3\xA9");
  CHECK(fix("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");  // 4-byte sequence
  CHECK(fix("\x80") == r);                               // lone continuation byte
  CHECK(fix("\xC3") == r);                               // truncated at the end
  CHECK(fix("a\xC3z") == "a" + r + "z");                 // truncated in the middle
  CHECK(fix("\xC0\xAF") == r + r);                       // overlong: C0 never starts one
  CHECK(fix("\xE0\x80\x80") == r + r + r);               // overlong 3-byte: E0 needs A0..BF
  CHECK(fix("\xED\xA0\x80") == r + r + r);               // UTF-16 surrogate
  CHECK(fix("\xF4\x90\x80\x80") == r + r + r + r);       // above U+10FFFF
  CHECK(fix("\xE2\x82") == r);                           // one maximal subpart, one U+FFFD
  CHECK(fix("\xF0\x9F\x98"
            "A") == r + "A");
  CHECK(fix("\xFF\xFE") == r + r);
  CHECK(percent_decode("aa%ffcc") == "aa" + r + "cc");
}

TEST_CASE("env: W3C Baggage character classes") {
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

TEST_CASE("env: parse_key_value_list") {
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

TEST_CASE("env: ascii_lower and EnvGuard restore the environment") {
  CHECK(ascii_lower("ParentBased_TraceIdRatio") == "parentbased_traceidratio");
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
