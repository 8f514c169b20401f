// Carriers (propagation/carrier.hpp): every container shape propagates the same way, with the
// W3C rules for absent, repeated and invalid headers.

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "krishiv/trace/propagation/carrier.hpp"

namespace kt = krishiv::trace;

namespace {

constexpr std::string_view kTp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::string_view kTpUnsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

kt::SpanContext sample_context(std::uint8_t flags, std::string_view state) {
  auto ctx = kt::extract_span_context(flags == 1 ? kTp : kTpUnsampled, state);
  REQUIRE(ctx);
  return *ctx;
}

// Arrow Flight's client middleware interface (arrow/flight/middleware.h), reproduced exactly:
// Arrow is not packaged for Debian 12.
class AddCallHeaders {
 public:
  virtual ~AddCallHeaders() = default;
  virtual void AddHeader(const std::string& key, const std::string& value) = 0;
};
using CallHeaders = std::multimap<std::string_view, std::string_view>;

// What a Flight transport does with added headers: keeps them in order.
class RecordingHeaders final : public AddCallHeaders {
 public:
  void AddHeader(const std::string& key, const std::string& value) override {
    added.emplace_back(key, value);
  }
  std::vector<std::pair<std::string, std::string>> added;
};

}  // namespace

TEMPLATE_TEST_CASE("inject then extract round-trips through every carrier shape", "[carrier]",
                   (std::map<std::string, std::string>),
                   (std::unordered_map<std::string, std::string>),
                   (std::multimap<std::string, std::string>),
                   (std::vector<std::pair<std::string, std::string>>)) {
  for (std::uint8_t flags : {std::uint8_t{0}, std::uint8_t{1}}) {
    const auto ctx = sample_context(flags, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    TestType carrier;
    kt::inject_trace_context(carrier, ctx);
    const auto got = kt::extract_trace_context(carrier);
    CHECK(got.trace_id == ctx.trace_id);
    CHECK(got.span_id == ctx.span_id);
    CHECK(got.flags == ctx.flags);  // the real flags, sampled or not
    CHECK(got.trace_state == ctx.trace_state);
    CHECK(got.is_remote);
  }
}

TEST_CASE("inject writes lowercase keys and only valid values; an invalid context writes none",
          "[carrier]") {
  std::map<std::string, std::string> m;
  kt::inject_trace_context(m, sample_context(1, ""));
  REQUIRE(m.size() == 1);  // no empty tracestate
  CHECK(m.begin()->first == "traceparent");
  CHECK(m.begin()->second == kTp);

  // Re-injecting replaces, and a context without tracestate removes a stale one.
  m["tracestate"] = "old=1";
  kt::inject_trace_context(m, sample_context(0, ""));
  CHECK(m.count("tracestate") == 0);
  CHECK(m["traceparent"] == kTpUnsampled);

  kt::inject_trace_context(m, kt::SpanContext{});
  CHECK(m.empty());
}

TEST_CASE("inject without a context argument uses the current span's", "[carrier]") {
  std::map<std::string, std::string> m;
  kt::inject_trace_context(m);
  CHECK(m.empty());
  const kt::ContextScope scope{kt::Context(sample_context(1, "a=b"))};
  kt::inject_trace_context(m);
  CHECK(m["traceparent"] == kTp);
  CHECK(m["tracestate"] == "a=b");
}

TEST_CASE("absent, repeated or invalid traceparent gives an empty context", "[carrier]") {
  std::multimap<std::string, std::string> mm;
  CHECK_FALSE(kt::extract_trace_context(mm).is_valid());

  mm.emplace("tracestate", "a=b");
  CHECK_FALSE(kt::extract_trace_context(mm).is_valid());

  mm.emplace("traceparent", std::string(kTp));
  CHECK(kt::extract_trace_context(mm).is_valid());
  mm.emplace("traceparent", std::string(kTp));  // the same value twice is still two headers
  CHECK_FALSE(kt::extract_trace_context(mm).is_valid());

  for (std::string_view bad :
       {"", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "garbage"}) {
    std::map<std::string, std::string> m{{"traceparent", std::string(bad)}};
    CHECK_FALSE(kt::extract_trace_context(m).is_valid());
  }
}

TEST_CASE("several tracestate values join in order; an invalid one drops the whole tracestate",
          "[carrier]") {
  std::vector<std::pair<std::string, std::string>> headers{
      {"Traceparent", std::string(kTp)},  // HTTP names compare case-insensitively
      {"tracestate", "first=1,second=2"},
      {"x-other", "z"},
      {"TraceState", "third=3"}};
  auto ctx = kt::extract_trace_context(headers);
  REQUIRE(ctx.is_valid());
  CHECK(ctx.trace_state.to_string() == "first=1,second=2,third=3");

  headers.emplace_back("tracestate", "BAD KEY=1");
  ctx = kt::extract_trace_context(headers);
  REQUIRE(ctx.is_valid());  // traceparent kept
  CHECK(ctx.trace_state.empty());
}

TEST_CASE("the header-list carrier replaces fields of any case on inject", "[carrier]") {
  std::vector<std::pair<std::string, std::string>> headers{{"TRACEPARENT", "old"},
                                                           {"accept", "*/*"}};
  kt::inject_trace_context(headers, sample_context(1, "k=v"));
  REQUIRE(headers.size() == 3);
  CHECK(headers[0].first == "accept");
  CHECK(headers[1] == std::pair<std::string, std::string>("traceparent", std::string(kTp)));
  CHECK(headers[2] == std::pair<std::string, std::string>("tracestate", "k=v"));
}

TEST_CASE("Arrow Flight's middleware interfaces: AddHeader out, CallHeaders in", "[carrier]") {
  const auto ctx = sample_context(0, "vendor=x");
  RecordingHeaders out;
  AddCallHeaders& as_interface = out;  // what a ClientMiddleware::SendingHeaders receives
  kt::inject_trace_context(as_interface, ctx);
  REQUIRE(out.added.size() == 2);
  CHECK(out.added[0].first == "traceparent");
  CHECK(out.added[0].second == kTpUnsampled);
  CHECK(out.added[1].first == "tracestate");

  // The server side's CallHeaders: views into the transport's buffers.
  CallHeaders in;
  for (const auto& [k, v] : out.added) in.emplace(k, v);
  const auto got = kt::extract_trace_context(in);
  CHECK(got.trace_id == ctx.trace_id);
  CHECK(got.span_id == ctx.span_id);
  CHECK(got.flags == ctx.flags);
  CHECK(got.trace_state.to_string() == "vendor=x");
}

namespace {
// A type of one's own that models the concepts directly.
struct OwnCarrier {
  std::vector<std::pair<std::string, std::string>> kv;
  void set(std::string_view k, std::string_view v) { kv.emplace_back(k, v); }
  template <class F>
  void for_each_value(std::string_view k, F&& f) const {
    for (const auto& [key, value] : kv) {
      if (key == k) f(std::string_view(value));
    }
  }
};
}  // namespace

TEST_CASE("a type modelling the carrier concepts is used as is", "[carrier]") {
  STATIC_REQUIRE(kt::InjectCarrier<OwnCarrier>);
  STATIC_REQUIRE(kt::ExtractCarrier<OwnCarrier>);
  STATIC_REQUIRE(kt::Injectable<std::map<std::string, std::string>>);
  STATIC_REQUIRE(kt::Extractable<CallHeaders>);
  STATIC_REQUIRE_FALSE(kt::Injectable<int>);
  OwnCarrier c;
  kt::inject_trace_context(c, sample_context(1, ""));
  CHECK(kt::extract_trace_context(c).is_valid());
}
