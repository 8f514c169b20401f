// What the OTLP/gRPC transport prints, against in-process collectors on 127.0.0.1: collector
// text escaped to one line, no endpoint user-info, one clear line at start-up for an endpoint
// that cannot work, and export failures reported at once and then rate-limited.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "../otlp/response_bytes.hpp"
#include "capture.hpp"
#include "krishiv/trace/detail/log_limiter.hpp"
#include "krishiv/trace/exporters/otlp_grpc/transport.hpp"
#include "otlp_collector.hpp"

using krishiv::trace::OtlpGrpcOptions;
using krishiv::trace::detail::ExportOutcome;
using krishiv::trace::detail::LogLimiter;
using krishiv::trace::detail::OtlpGrpcTransport;
using test::Collector;
using test::Reply;
using test::StderrCapture;
using namespace std::chrono_literals;
using Kind = ExportOutcome::Kind;

namespace {

const std::string kRequest =
    "\x0a\x03"
    "abc";

OtlpGrpcOptions fast_options(const std::string& endpoint) {
  OtlpGrpcOptions o;
  o.endpoint = endpoint;
  o.timeout = 10s;
  o.retry.initial_backoff = 20ms;
  o.retry.max_backoff = 100ms;
  o.retry.max_attempts = 1;
  return o;
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string_view::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// Every line is ours: it starts with the prefix, and no CR hides anywhere.
void check_own_lines(const std::string& err) {
  INFO("stderr: " << err);
  CHECK(err.find('\r') == std::string::npos);
  for (std::size_t start = 0; start < err.size(); start = err.find('\n', start) + 1) {
    CHECK(err.compare(start, 15, "krishiv-trace: ") == 0);
    if (err.find('\n', start) == std::string::npos) break;
  }
}

Reply error_with(grpc::StatusCode code, std::string message) {
  Reply r;
  r.code = code;
  r.message = std::move(message);
  return r;
}

}  // namespace

TEST_CASE("a collector's error message with CR/LF stays on one line", "[otlp][grpc][log]") {
  Collector c(
      {error_with(grpc::StatusCode::INVALID_ARGUMENT, "bad\r\nkrishiv-trace: forged line\n")});
  OtlpGrpcTransport t(fast_options(c.http()));
  StderrCapture cap;
  const auto out = t.send(kRequest);
  const std::string err = cap.text();
  CHECK(out.kind == Kind::Failed);
  CHECK(count(err, "\n") == 1);
  CHECK(err.find("bad\\r\\nkrishiv-trace: forged line\\n") != std::string::npos);
  check_own_lines(err);
}

TEST_CASE("a partial-success message with CR/LF stays on one line", "[otlp][grpc][log]") {
  Collector c({test::ok_reply(response_bytes::partial_success(2, "two\nkrishiv-trace: forged"))});
  OtlpGrpcTransport t(fast_options(c.http()));
  StderrCapture cap;
  const auto out = t.send(kRequest);
  const std::string err = cap.text();
  CHECK(out.kind == Kind::PartialSuccess);
  CHECK(count(err, "\n") == 1);
  check_own_lines(err);
}

TEST_CASE("an endpoint's user-info set in code is never printed", "[otlp][grpc][log]") {
  StderrCapture cap;
  OtlpGrpcTransport t(fast_options("https://user:pa55w0rd@127.0.0.1:4317"));
  const std::string err = cap.text();
  CHECK(err.find("pa55w0rd") == std::string::npos);
  CHECK(count(err, "\n") == 1);
  check_own_lines(err);
}

TEST_CASE("an unusable endpoint gets one clear line at start-up", "[otlp][grpc][log]") {
  for (const char* endpoint : {"garbage!@#", "unix:/nonexistent-krishiv-trace-test.sock",
                               "unix:///nonexistent-krishiv-trace-test.sock"}) {
    INFO(endpoint);
    StderrCapture cap;
    OtlpGrpcTransport t(fast_options(endpoint));
    const std::string err = cap.text();
    CHECK(count(err, "\n") == 1);
    CHECK(err.find("endpoint") != std::string::npos);
    check_own_lines(err);
  }
}

TEST_CASE("the first export failure is reported at once, later ones rate-limited",
          "[otlp][grpc][log]") {
  // Five failures with five different messages: one line, the first one.
  std::vector<Reply> script;
  for (int i = 1; i <= 5; ++i) {
    script.push_back(
        error_with(grpc::StatusCode::INVALID_ARGUMENT, "failure-" + std::to_string(i)));
  }
  Collector c(script);
  OtlpGrpcTransport t(fast_options(c.http()));
  StderrCapture cap;
  for (int i = 0; i < 5; ++i) CHECK(t.send(kRequest).kind == Kind::Failed);
  const std::string err = cap.text();
  INFO(err);
  CHECK(err.find("export failed: INVALID_ARGUMENT: failure-1") != std::string::npos);
  // A run slower than the one-minute interval may print one more line; never one per failure.
  CHECK(count(err, "export failed") < 5);
  CHECK(err.find("failure-3") == std::string::npos);
}

TEST_CASE("LogLimiter: first at once, then one per interval with a count", "[otlp][log]") {
  LogLimiter limiter(60s);
  const auto t0 = LogLimiter::Clock::time_point{} + 1000s;
  REQUIRE(limiter.admit("a", t0));
  CHECK(*limiter.admit("a", t0 + 61s) == "a");  // nothing suppressed: no count
  CHECK(!limiter.admit("b", t0 + 62s));
  CHECK(!limiter.admit("c", t0 + 100s));
  const auto line = limiter.admit("d", t0 + 121s);
  REQUIRE(line);
  CHECK(*line == "d (and 2 more since the last report)");
  CHECK(!limiter.admit("e", t0 + 122s));
}
