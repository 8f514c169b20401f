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
  CHECK(TraceFlags(0xaf).to_hex() == "af");  // lowercase, as traceparent writes it
}

#include <sys/wait.h>
#include <unistd.h>

TEST_CASE("ids: a forked child does not repeat the parent's ids") {
  SpanId::random();  // the generator exists before the fork
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::uint64_t v = SpanId::random().to_u64();
    const auto n = write(fds[1], &v, sizeof v);
    _exit(n == sizeof v ? 0 : 1);
  }
  const std::uint64_t parent = SpanId::random().to_u64();
  std::uint64_t child = 0;
  REQUIRE(read(fds[0], &child, sizeof child) == sizeof child);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  close(fds[1]);
  CHECK(child != parent);
}
