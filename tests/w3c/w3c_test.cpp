// traceparent parsing and formatting, extract_span_context / format_traceparent (w3c.hpp).
// The table follows the W3C test suite (w3c/trace-context test/test.py, test_traceparent_*),
// plus the parse rules of #versioning-of-traceparent.
#include "krishiv/trace/propagation/traceparent.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace krishiv::trace;

namespace {

constexpr std::string_view kTid = "12345678901234567890123456789012";
constexpr std::string_view kPid = "1234567890123456";

std::string tp(std::string_view version, std::string_view tid, std::string_view pid,
               std::string_view flags) {
  std::string s;
  s.append(version).append("-").append(tid).append("-").append(pid).append("-").append(flags);
  return s;
}

struct TpCase {
  std::string name;
  std::string input;
  bool valid;
  std::uint8_t flags = 0;  // expected parsed flag byte when valid
};

std::vector<TpCase> traceparent_cases() {
  const std::string ok = tp("00", kTid, kPid, "01");
  return {
      // Valid.
      {"spec example sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true, 1},
      {"spec example not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true,
       0},
      {"suite base", ok, true, 1},
      {"version 0xcc", tp("cc", kTid, kPid, "01"), true, 1},
      {"version 0xcc, future fields", tp("cc", kTid, kPid, "01") + "-what-the-future-will-be-like",
       true, 1},
      {"version 0xcc, empty future field", tp("cc", kTid, kPid, "01") + "-", true, 1},
      {"version 0x01, exact size", tp("01", kTid, kPid, "00"), true, 0},
      {"version 0xfe, future field not interpreted", tp("fe", kTid, kPid, "03") + "-ANY THING.",
       true, 3},
      {"leading space", " " + ok, true, 1},
      {"leading tab", "\t" + ok, true, 1},
      {"trailing space", ok + " ", true, 1},
      {"trailing tab", ok + "\t", true, 1},
      {"OWS both sides", "\t " + ok + " \t", true, 1},
      {"OWS around future version", "  " + tp("cc", kTid, kPid, "01") + "-x  ", true, 1},
      {"unknown flag bits kept on parse", tp("00", kTid, kPid, "ff"), true, 0xff},
      {"flags 09", tp("00", kTid, kPid, "09"), true, 0x09},
      {"random flag", tp("00", kTid, kPid, "02"), true, 0x02},
      {"leading-zero ids", tp("00", "00000000000000000000000000000001", "0000000000000001", "00"),
       true, 0},
      // Invalid: version.
      {"version 00 trailing dot", ok + ".", false},
      {"version 00 trailing field", ok + "-what-the-future-will-be-like", false},
      {"version 00 trailing dash", ok + "-", false},
      {"version 0xcc dot after flags", tp("cc", kTid, kPid, "01") + ".what-the-future-will-be-like",
       false},
      {"version 0xff", tp("ff", kTid, kPid, "01"), false},
      {"version .0", tp(".0", kTid, kPid, "01"), false},
      {"version 0.", tp("0.", kTid, kPid, "01"), false},
      {"version 000", tp("000", kTid, kPid, "01"), false},
      {"version 0000", tp("0000", kTid, kPid, "01"), false},
      {"version 0", tp("0", kTid, kPid, "01"), false},
      {"version uppercase CC", tp("CC", kTid, kPid, "01"), false},
      {"version 0xcc shorter than 55", tp("cc", kTid, kPid, "1"), false},
      {"version 0xcc trace id 31", tp("cc", kTid.substr(1), kPid, "01") + "-x", false},
      // Invalid: trace-id.
      {"trace id all zero", tp("00", "00000000000000000000000000000000", kPid, "01"), false},
      {"trace id all zero, future version",
       tp("cc", "00000000000000000000000000000000", kPid, "01"), false},
      {"trace id leading dot", tp("00", ".2345678901234567890123456789012", kPid, "01"), false},
      {"trace id trailing dot", tp("00", "1234567890123456789012345678901.", kPid, "01"), false},
      {"trace id 33", tp("00", "123456789012345678901234567890123", kPid, "01"), false},
      {"trace id 31", tp("00", "1234567890123456789012345678901", kPid, "01"), false},
      {"trace id uppercase", tp("00", "4BF92F3577B34DA6A3CE929D0E0E4736", kPid, "01"), false},
      {"trace id one uppercase", tp("00", "4bf92f3577b34da6a3ce929d0e0e473A", kPid, "01"), false},
      {"trace id non-hex g", tp("00", "4bf92f3577b34da6a3ce929d0e0e473g", kPid, "01"), false},
      // Invalid: parent-id.
      {"parent id all zero", tp("00", kTid, "0000000000000000", "01"), false},
      {"parent id leading dot", tp("00", kTid, ".234567890123456", "01"), false},
      {"parent id trailing dot", tp("00", kTid, "123456789012345.", "01"), false},
      {"parent id 17", tp("00", kTid, "12345678901234567", "01"), false},
      {"parent id 15", tp("00", kTid, "123456789012345", "01"), false},
      {"parent id uppercase", tp("00", kTid, "00F067AA0BA902B7", "01"), false},
      // Invalid: trace-flags.
      {"flags .0", tp("00", kTid, kPid, ".0"), false},
      {"flags 0.", tp("00", kTid, kPid, "0."), false},
      {"flags 001", tp("00", kTid, kPid, "001"), false},
      {"flags 1", tp("00", kTid, kPid, "1"), false},
      {"flags uppercase", tp("00", kTid, kPid, "0A"), false},
      {"flags non-hex, future version", tp("cc", kTid, kPid, "0g") + "-x", false},
      // Invalid: framing.
      {"empty", "", false},
      {"OWS only", " \t ", false},
      {"underscore delimiters", "00_" + std::string(kTid) + "_" + std::string(kPid) + "_01", false},
      {"first dash replaced", "00x" + ok.substr(3), false},
      {"first dash missing", "00" + ok.substr(3), false},
      {"two values joined (duplicated header)", ok + "," + ok, false},
      {"trailing newline is not OWS", ok + "\n", false},
      {"leading CR is not OWS", "\r" + ok, false},
      {"inner space", tp("00", kTid, kPid, " 1"), false},
      {"NUL after value", ok + std::string(1, '\0'), false},
  };
}

}  // namespace

TEST_CASE("traceparent: parse table (W3C test suite and spec)") {
  const auto cases = traceparent_cases();
  CHECK(cases.size() >= 55);
  for (const auto& c : cases) {
    INFO(c.name << ": \"" << c.input << "\"");
    const auto p = TraceParent::parse(c.input);
    REQUIRE(p.has_value() == c.valid);
    if (!p) continue;
    CHECK(p->flags.bits() == c.flags);
    CHECK(p->trace_id.is_valid());
    CHECK(p->parent_id.is_valid());
    // Whatever was received, we emit version 00 with the known flag bits.
    const auto out = p->to_string();
    CHECK(out.size() == TraceParent::kSize);
    CHECK(out.substr(0, 3) == "00-");
    const auto again = TraceParent::parse(out);
    REQUIRE(again);
    CHECK(again->trace_id == p->trace_id);
    CHECK(again->parent_id == p->parent_id);
    CHECK(again->flags.bits() == (c.flags & TraceParent::kEmittedFlags));
    CHECK(again->to_string() == out);
  }
}

TEST_CASE("traceparent: fields decode to the expected ids") {
  const auto p = TraceParent::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-z");
  REQUIRE(p);
  CHECK(p->trace_id.to_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(p->parent_id.to_hex() == "00f067aa0ba902b7");
  CHECK(p->flags.sampled());
  CHECK_FALSE(p->flags.random());
  CHECK(p->to_string() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

TEST_CASE("traceparent: parse is constexpr and noexcept") {
  STATIC_REQUIRE(noexcept(TraceParent::parse(std::string_view{})));
  constexpr auto p = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  STATIC_REQUIRE(p.has_value());
  STATIC_REQUIRE(p->flags.sampled());
  STATIC_REQUIRE(!TraceParent::parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

TEST_CASE("traceparent: write emits version 00 and masks reserved flags (Level 1 #other-flags)") {
  const TraceParent p{TraceId::from_u64(0x4bf92f3577b34da6ull, 0xa3ce929d0e0e4736ull),
                      SpanId::from_u64(0x00f067aa0ba902b7ull), TraceFlags(0xff)};
  char buf[TraceParent::kSize + 1];
  buf[TraceParent::kSize] = '#';
  p.write(buf);
  CHECK(std::string_view(buf, TraceParent::kSize) ==
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  CHECK(buf[TraceParent::kSize] == '#');  // exactly kSize characters
  CHECK(TraceParent{p.trace_id, p.parent_id, TraceFlags(0x04)}.to_string().substr(53) == "00");
  CHECK(TraceParent{p.trace_id, p.parent_id, TraceFlags(0x01)}.to_string().substr(53) == "01");
  CHECK(TraceParent{p.trace_id, p.parent_id, TraceFlags(0x02)}.to_string().substr(53) == "02");
}

TEST_CASE("extract_span_context: remote context, tracestate ordering rules") {
  const std::string good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  SECTION("both valid") {
    const auto ctx = extract_span_context(good, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    REQUIRE(ctx);
    CHECK(ctx->is_remote);
    CHECK(ctx->is_valid());
    CHECK(ctx->sampled());
    CHECK(ctx->trace_id.to_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(ctx->span_id.to_hex() == "00f067aa0ba902b7");
    CHECK(ctx->trace_state.size() == 2);
    CHECK(ctx->trace_state.get("congo") == std::optional<std::string_view>("t61rcWkgMzE"));
  }
  SECTION("invalid tracestate is dropped, traceparent kept") {
    const auto ctx = extract_span_context(good, "foo=bar=baz");
    REQUIRE(ctx);
    CHECK(ctx->trace_state.empty());
    CHECK(ctx->trace_id.to_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
  }
  SECTION("missing tracestate") {
    const auto ctx = extract_span_context(good, "");
    REQUIRE(ctx);
    CHECK(ctx->trace_state.empty());
  }
  SECTION("invalid traceparent: nothing, whatever the tracestate") {
    CHECK_FALSE(extract_span_context("", "foo=1"));
    CHECK_FALSE(extract_span_context(good + ".", "foo=1"));
    CHECK_FALSE(
        extract_span_context("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "foo=1"));
  }
  SECTION("higher version is downgraded on re-emission") {
    const auto ctx = extract_span_context(
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-future", "a=1");
    REQUIRE(ctx);
    CHECK(ctx->flags.bits() == 0x09);
    CHECK(format_traceparent(*ctx) == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  }
}

TEST_CASE("format_traceparent: valid and invalid contexts") {
  SpanContext ctx;
  CHECK(format_traceparent(ctx).empty());
  ctx.trace_id = TraceId::from_u64(1, 2);
  CHECK(format_traceparent(ctx).empty());  // span id still zero
  ctx.span_id = SpanId::from_u64(3);
  ctx.flags = TraceFlags(0x03);
  CHECK(format_traceparent(ctx) == "00-00000000000000010000000000000002-0000000000000003-03");
  ctx.trace_id = TraceId{};
  CHECK(format_traceparent(ctx).empty());
}

TEST_CASE("traceparent: round trip of random contexts") {
  for (int i = 0; i < 1000; ++i) {
    const TraceParent p{TraceId::random(), SpanId::random(),
                        TraceFlags(static_cast<std::uint8_t>(i & 0x03))};
    const auto s = p.to_string();
    const auto q = TraceParent::parse(s);
    REQUIRE(q);
    REQUIRE(*q == p);
  }
}
