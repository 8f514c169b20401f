// detail::parse_double_exact: from_chars where the standard library has it for doubles, strtod_l
// under a "C" locale otherwise (libc++ 14). Built twice: as is, and with
// KRISHIV_TRACE_PARSE_DOUBLE_WITH_STRTOD, so both paths accept and reject the same text.
#include "krishiv/trace/detail/parse_double.hpp"

#include <catch2/catch.hpp>
#include <clocale>
#include <cmath>
#include <string>

using krishiv::trace::detail::parse_double_exact;

TEST_CASE("parse_double_exact: decimal, exponent, inf and nan") {
  CHECK(parse_double_exact("0.25") == 0.25);
  CHECK(parse_double_exact("1") == 1.0);
  CHECK(parse_double_exact("-2.5e-3") == -2.5e-3);
  CHECK(parse_double_exact(".5") == 0.5);
  CHECK(parse_double_exact("1E2") == 100.0);
  CHECK(parse_double_exact("0.100000") == 0.1);
  CHECK(std::isinf(*parse_double_exact("inf")));
  CHECK(std::isinf(*parse_double_exact("-Infinity")));
  CHECK(std::isnan(*parse_double_exact("nan")));
}

TEST_CASE("parse_double_exact: all of the text or nothing, as from_chars takes it") {
  CHECK_FALSE(parse_double_exact(""));
  CHECK_FALSE(parse_double_exact("-"));
  CHECK_FALSE(parse_double_exact(" 1"));
  CHECK_FALSE(parse_double_exact("1 "));
  CHECK_FALSE(parse_double_exact("+1"));
  CHECK_FALSE(parse_double_exact("0x1p3"));
  CHECK_FALSE(parse_double_exact("1,5"));
  CHECK_FALSE(parse_double_exact("abc"));
  CHECK_FALSE(parse_double_exact("1e999"));
  // Not NUL-terminated: only the view counts.
  const std::string s = "0.5x";
  CHECK(parse_double_exact(std::string_view(s).substr(0, 3)) == 0.5);
}

TEST_CASE("parse_double_exact: the decimal point is '.' whatever the global locale") {
  // A locale with a decimal comma, where the machine has one (else this checks "C" again).
  for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "C"}) {
    if (std::setlocale(LC_ALL, name) != nullptr) break;
  }
  CHECK(parse_double_exact("0.75") == 0.75);
  CHECK_FALSE(parse_double_exact("0,75"));
  std::setlocale(LC_ALL, "C");
}
