#include "krishiv/trace/detail/env.hpp"

#include <catch2/catch.hpp>
#include <string>

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
