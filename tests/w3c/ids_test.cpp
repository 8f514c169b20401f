#include "krishiv/trace/ids.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace krishiv::trace;

TEST_CASE("ids: hex round trip and validity") {
  auto t = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  REQUIRE(t);
  CHECK(t->to_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(t->high() == 0x4bf92f3577b34da6ull);
  CHECK(t->low() == 0xa3ce929d0e0e4736ull);
  CHECK(t->is_valid());
  CHECK_FALSE(TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736"));  // uppercase
  CHECK_FALSE(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e473"));   // short
  auto zero = TraceId::from_hex("00000000000000000000000000000000");
  REQUIRE(zero);
  CHECK_FALSE(zero->is_valid());
  auto s = SpanId::from_hex("00f067aa0ba902b7");
  REQUIRE(s);
  CHECK(s->to_u64() == 0x00f067aa0ba902b7ull);
  CHECK(SpanId::from_u64(s->to_u64()) == *s);
}

TEST_CASE("ids: random ids are valid and distinct") {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    auto t = TraceId::random();
    auto s = SpanId::random();
    CHECK(t.is_valid());
    CHECK(s.is_valid());
    seen.insert(t.to_hex());
  }
  CHECK(seen.size() == 10000);
}

TEST_CASE("ids: trace flags are bit tests") {
  TraceFlags f(0x03);
  CHECK(f.sampled());
  CHECK(f.random());
  CHECK_FALSE(f.with_sampled(false).sampled());
  CHECK(f.with_sampled(false).random());
  CHECK(TraceFlags(0x08).with_sampled(true).bits() == 0x09);
  CHECK(TraceFlags(0x01).to_hex() == "01");
}
