// What configuration warnings may print: never a header value or a URL's user-info (they carry
// credentials), and every quoted value escaped so one warning stays one line (a value with CR/LF
// would otherwise forge log lines). Warnings go to stderr, captured here.

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "capture.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/exporters/otlp_grpc/options.hpp"
#include "krishiv/trace/pipeline/options.hpp"
#include "krishiv/trace/resource.hpp"
#include "krishiv/trace/sampler.hpp"
#include "krishiv/trace/span_limits.hpp"

using krishiv::trace::BatchOptions;
using krishiv::trace::OtlpGrpcOptions;
using krishiv::trace::Resource;
using krishiv::trace::Sampler;
using krishiv::trace::SpanLimits;
using test::EnvGuard;
using test::StderrCapture;

namespace {

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string_view::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// Every warning is one line starting with our prefix, without a CR anywhere.
void check_lines(const std::string& err, std::size_t expected_lines) {
  INFO("stderr: " << err);
  CHECK(count(err, "\n") == expected_lines);
  CHECK(err.find('\r') == std::string::npos);
  std::size_t start = 0;
  while (start < err.size()) {
    CHECK(err.compare(start, 15, "krishiv-trace: ") == 0);
    start = err.find('\n', start) + 1;
  }
}

void clean_otlp_env(EnvGuard& env) {
  for (const char* v :
       {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
        "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE"}) {
    env.unset(v);
  }
}

}  // namespace

TEST_CASE("a header written with ':' does not print its value", "[config][log]") {
  EnvGuard env;
  clean_otlp_env(env);
  env.set("OTEL_EXPORTER_OTLP_HEADERS", "Authorization: Bearer s3cr3t-T0KEN, x-ok=1");
  StderrCapture cap;
  const auto o = OtlpGrpcOptions::from_env();
  const std::string err = cap.text();
  CHECK(err.find("s3cr3t-T0KEN") == std::string::npos);
  CHECK(err.find("Bearer") == std::string::npos);
  CHECK(err.find("OTEL_EXPORTER_OTLP_HEADERS") != std::string::npos);
  check_lines(err, 1);
  REQUIRE(o.headers.size() == 1);
  CHECK(o.headers[0].first == "x-ok");
}

TEST_CASE("a header whose key holds the credential does not print it", "[config][log]") {
  EnvGuard env;
  clean_otlp_env(env);
  // "Authorization: Bearer abc=..." splits at '=' into an illegal key that holds the token.
  env.set("OTEL_EXPORTER_OTLP_HEADERS", "Authorization: Bearer s3cr3t-T0KEN=more-s3cr3t");
  StderrCapture cap;
  (void)OtlpGrpcOptions::from_env();
  const std::string err = cap.text();
  CHECK(err.find("s3cr3t") == std::string::npos);
  CHECK(err.find("OTEL_EXPORTER_OTLP_HEADERS") != std::string::npos);
  check_lines(err, 1);
}

TEST_CASE("header values with a bad percent-encoding or bad bytes are not printed",
          "[config][log]") {
  EnvGuard env;
  clean_otlp_env(env);
  env.set("OTEL_EXPORTER_OTLP_HEADERS",
          "authorization=Bearer%2s3cr3t-A,api-key=s3cr3t-B%0A,x-key=s3cr3t-C\x01");
  StderrCapture cap;
  const auto o = OtlpGrpcOptions::from_env();
  const std::string err = cap.text();
  CHECK(err.find("s3cr3t") == std::string::npos);
  check_lines(err, 3);
  CHECK(o.headers.empty());
}

TEST_CASE("an endpoint's user-info is never printed", "[config][log]") {
  for (const char* endpoint :
       {"https://user:pa55w0rd@collector.example:4317", "http://pa55w0rd@collector.example:4317",
        "https://user:pa55w0rd@[::1]:4317/v1/traces", "user:pa55w0rd@collector.example:4317",
        "dns://user:pa55w0rd@8.8.8.8/collector.example:4317"}) {
    INFO(endpoint);
    EnvGuard env;
    clean_otlp_env(env);
    env.set("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
    StderrCapture cap;
    const auto o = OtlpGrpcOptions::from_env();
    const std::string err = cap.text();
    CHECK(err.find("pa55w0rd") == std::string::npos);
    CHECK(err.find("user:") == std::string::npos);
    check_lines(err, 1);
    CHECK(o.endpoint.find("pa55w0rd") == std::string::npos);  // not kept either
  }
}

TEST_CASE("environment values with CR/LF are printed on one line", "[config][log]") {
  const std::string evil = "5\r\nkrishiv-trace: forged line\n";
  struct Case {
    const char* var;
    void (*read)();
  };
  const Case cases[] = {
      {"OTEL_BSP_SCHEDULE_DELAY", [] { (void)BatchOptions::from_env(); }},
      {"OTEL_BSP_MAX_QUEUE_SIZE", [] { (void)BatchOptions::from_env(); }},
      {"OTEL_ATTRIBUTE_COUNT_LIMIT", [] { (void)SpanLimits::from_env(); }},
      {"OTEL_TRACES_SAMPLER", [] { (void)Sampler::from_env(); }},
      {"OTEL_RESOURCE_ATTRIBUTES", [] { (void)Resource::from_env(); }},
      {"OTEL_EXPORTER_OTLP_ENDPOINT", [] { (void)OtlpGrpcOptions::from_env(); }},
      {"OTEL_EXPORTER_OTLP_TIMEOUT", [] { (void)OtlpGrpcOptions::from_env(); }},
      {"OTEL_EXPORTER_OTLP_COMPRESSION", [] { (void)OtlpGrpcOptions::from_env(); }},
      {"OTEL_EXPORTER_OTLP_INSECURE", [] { (void)OtlpGrpcOptions::from_env(); }},
      {"OTEL_EXPORTER_OTLP_CERTIFICATE", [] { (void)OtlpGrpcOptions::from_env(); }},
  };
  for (const Case& c : cases) {
    INFO(c.var);
    EnvGuard env;
    clean_otlp_env(env);
    env.set(c.var, evil);
    StderrCapture cap;
    c.read();
    const std::string err = cap.text();
    check_lines(err, 1);
    CHECK(err.find(c.var) != std::string::npos);
    CHECK(err.find("\\r\\n") != std::string::npos);  // shown escaped, not dropped
  }
}

TEST_CASE("quote_for_log: one line, printable, bounded", "[config][log]") {
  using krishiv::trace::detail::quote_for_log;
  CHECK(quote_for_log("plain") == "\"plain\"");
  CHECK(quote_for_log("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quote_for_log("\r\n\t") == "\"\\r\\n\\t\"");
  CHECK(quote_for_log(std::string_view("\x00\x1b[2J\x7f", 6)) == "\"\\x00\\x1B[2J\\x7F\"");
  CHECK(quote_for_log("caf\xC3\xA9") == "\"caf\xC3\xA9\"");  // valid UTF-8 stays readable
  CHECK(quote_for_log("\xFF\xC3") == "\"\\xFF\\xC3\"");      // invalid bytes are escaped
  // Unicode line and paragraph separators and C1 controls (NEL) end lines in some viewers.
  CHECK(quote_for_log("a\xE2\x80\xA8"
                      "b\xE2\x80\xA9"
                      "c\xC2\x85") == "\"a\\u2028b\\u2029c\\u0085\"");
  const std::string long_value(10000, 'x');
  const std::string q = quote_for_log(long_value);
  CHECK(q.size() < 1100);
  CHECK(q.find("...") != std::string::npos);
}
