// OtlpGrpcOptions::from_env() and the endpoint/header rules of
// krishiv/trace/exporters/otlp_grpc/options.hpp (opentelemetry-specification
// protocol/exporter.md, "Configuration Options").

#include "krishiv/trace/exporters/otlp_grpc/options.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "otlp_test_support.hpp"

using krishiv::trace::OtlpGrpcOptions;
using krishiv::trace::test::OtlpEnv;
using ::test::StderrCapture;
namespace d = krishiv::trace::detail;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

OtlpGrpcOptions from_env_quiet(std::string* warnings) {
  StderrCapture cap;
  OtlpGrpcOptions o = OtlpGrpcOptions::from_env();
  *warnings = cap.text();
  return o;
}

std::string temp_file(const std::string& name, const std::string& contents) {
  const std::string path = "/tmp/krishiv_otlp_opts_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << contents;
  return path;
}

}  // namespace

TEST_CASE("defaults without environment", "[otlp][config]") {
  OtlpEnv env;
  std::string warnings;
  const auto o = from_env_quiet(&warnings);
  CHECK(warnings.empty());
  CHECK(o.endpoint == "http://localhost:4317");
  CHECK_FALSE(o.insecure);
  CHECK(o.headers.empty());
  CHECK(o.timeout == std::chrono::milliseconds{10000});
  CHECK_FALSE(o.gzip);
  CHECK(o.ca_pem_file.empty());
  CHECK(o.client_key_file.empty());
  CHECK(o.client_cert_file.empty());
  auto t = d::resolve_grpc_endpoint(o.endpoint, o.insecure, nullptr);
  REQUIRE(t);
  CHECK(t->target == "localhost:4317");
  CHECK_FALSE(t->tls);
}

TEST_CASE("endpoint forms", "[otlp][config]") {
  struct Row {
    const char* endpoint;
    bool insecure;
    const char* target;
    bool tls;
  };
  // exporter.md: http/https decide security whatever `insecure` says; other forms go to gRPC
  // as they are and `insecure` decides.
  const Row rows[] = {
      {"http://collector:4317", false, "collector:4317", false},
      {"http://collector:4317", true, "collector:4317", false},
      {"https://collector:4317", true, "collector:4317", true},
      {"HTTPS://Collector:4317", false, "Collector:4317", true},
      {"https://collector", false, "collector:443", true},
      {"http://collector", false, "collector:80", false},
      {"http://collector:4317/", false, "collector:4317", false},
      {"http://collector:4317/v1/traces?x=1", false, "collector:4317", false},
      {"http://[::1]:4317", false, "[::1]:4317", false},
      {"https://[::1]", false, "[::1]:443", true},
      {"  http://127.0.0.1:4317 ", false, "127.0.0.1:4317", false},
      {"collector:4317", false, "collector:4317", true},
      {"collector:4317", true, "collector:4317", false},
      {"dns:///collector:4317", true, "dns:///collector:4317", false},
      {"unix:/run/otel.sock", true, "unix:/run/otel.sock", false},
      {"unix:///run/otel.sock", false, "unix:///run/otel.sock", true},
      {"ipv4:127.0.0.1:4317", true, "ipv4:127.0.0.1:4317", false},
  };
  for (const auto& r : rows) {
    INFO(r.endpoint << " insecure=" << r.insecure);
    std::string problem;
    auto t = d::resolve_grpc_endpoint(r.endpoint, r.insecure, &problem);
    REQUIRE(t);
    CHECK(t->target == r.target);
    CHECK(t->tls == r.tls);
  }
  const char* bad[] = {"",
                       "   ",
                       "ftp://collector:21",
                       "grpc://collector:4317",
                       "http://",
                       "http://:4317",
                       "http://collector:0",
                       "http://collector:65536",
                       "http://collector:43x7",
                       "http://user:pw@collector:4317",
                       "http://[::1",
                       "http://[::1]x",
                       "collector 4317",
                       "http://coll\001ector:4317"};
  for (const char* b : bad) {
    INFO("'" << b << "'");
    std::string problem;
    CHECK_FALSE(d::resolve_grpc_endpoint(b, false, &problem));
    CHECK_FALSE(problem.empty());
  }
}

TEST_CASE("endpoint variables and _TRACES_ precedence", "[otlp][config]") {
  OtlpEnv env;
  std::string warnings;
  env.set("OTEL_EXPORTER_OTLP_ENDPOINT", "https://generic:4317");
  CHECK(from_env_quiet(&warnings).endpoint == "https://generic:4317");
  env.set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317");
  CHECK(from_env_quiet(&warnings).endpoint == "http://traces:4317");
  CHECK(warnings.empty());
  // An empty value counts as unset (sdk-environment-variables.md).
  env.set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "");
  CHECK(from_env_quiet(&warnings).endpoint == "https://generic:4317");

  env.set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://traces:21");
  CHECK(from_env_quiet(&warnings).endpoint == "http://localhost:4317");
  CHECK(warnings ==
        "krishiv-trace: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=\"ftp://traces:21\" has a scheme that "
        "is neither http, https nor a gRPC target scheme; using http://localhost:4317\n");
  env.unset("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  env.set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:99999");
  CHECK(from_env_quiet(&warnings).endpoint == "http://localhost:4317");
  CHECK(warnings ==
        "krishiv-trace: OTEL_EXPORTER_OTLP_ENDPOINT=\"http://collector:99999\" has a port that "
        "is not a number in [1, 65535]; using http://localhost:4317\n");
}

TEST_CASE("insecure", "[otlp][config]") {
  OtlpEnv env;
  std::string warnings;
  env.set("OTEL_EXPORTER_OTLP_INSECURE", "TRUE");
  CHECK(from_env_quiet(&warnings).insecure);
  env.set("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "false");
  CHECK_FALSE(from_env_quiet(&warnings).insecure);
  CHECK(warnings.empty());
  env.set("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "yes");
  CHECK_FALSE(from_env_quiet(&warnings).insecure);
  CHECK(warnings ==
        "krishiv-trace: OTEL_EXPORTER_OTLP_TRACES_INSECURE=\"yes\" is not true or false; using "
        "false\n");
}

TEST_CASE("timeout", "[otlp][config]") {
  OtlpEnv env;
  std::string warnings;
  env.set("OTEL_EXPORTER_OTLP_TIMEOUT", "2500");
  CHECK(from_env_quiet(&warnings).timeout == std::chrono::milliseconds{2500});
  env.set("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", " 700 ");
  CHECK(from_env_quiet(&warnings).timeout == std::chrono::milliseconds{700});
  CHECK(warnings.empty());
  for (const char* bad : {"0", "-5", "10s", "1.5", "abc", "99999999999999999999"}) {
    INFO(bad);
    env.set("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", bad);
    CHECK(from_env_quiet(&warnings).timeout == std::chrono::milliseconds{10000});
    CHECK(warnings == std::string("krishiv-trace: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=\"") + bad +
                          "\" is not an integer in [1, 1099511627776]; using 10000\n");
  }
}

TEST_CASE("compression", "[otlp][config]") {
  OtlpEnv env;
  std::string warnings;
  env.set("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
  CHECK(from_env_quiet(&warnings).gzip);
  env.set("OTEL_EXPORTER_OTLP_COMPRESSION", "GZip");
  CHECK(from_env_quiet(&warnings).gzip);
  env.set("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none");
  CHECK_FALSE(from_env_quiet(&warnings).gzip);
  CHECK(warnings.empty());
  env.set("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd");
  CHECK_FALSE(from_env_quiet(&warnings).gzip);
  CHECK(warnings ==
        "krishiv-trace: OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=\"zstd\" is not gzip or none; "
        "using none\n");
}

TEST_CASE("headers: baggage syntax, percent-decoding, lowercased keys", "[otlp][config]") {
  OtlpEnv env;
  std::string warnings;
  env.set("OTEL_EXPORTER_OTLP_HEADERS",
          " api-key = abc ,Authorization=Bearer%20tok%3D%3d,,x-list=a%2Cb,eq=a=b,empty=,");
  const auto o = from_env_quiet(&warnings);
  CHECK(warnings.empty());
  CHECK(o.headers == Headers{{"api-key", "abc"},
                             {"authorization", "Bearer tok=="},
                             {"x-list", "a,b"},
                             {"eq", "a=b"},
                             {"empty", ""}});
  // The signal-specific list replaces the generic one; they are not merged.
  env.set("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "tenant=t1");
  CHECK(from_env_quiet(&warnings).headers == Headers{{"tenant", "t1"}});
}

TEST_CASE("headers gRPC would refuse are dropped with a warning", "[otlp][config]") {
  OtlpEnv env;
  std::string warnings;
  env.set("OTEL_EXPORTER_OTLP_HEADERS",
          "good=1,novalue,bad key=secret1,grpc-timeout=secret2,user-agent=secret3,"
          "ctl=a%0Asecret4,pct=%zzsecret5,trail=%4,k%=v,x-bin=%00%FF,=secret6,ok=2");
  const auto o = from_env_quiet(&warnings);
  CHECK(o.headers == Headers{{"good", "1"}, {"x-bin", std::string("\0\xFF", 2)}, {"ok", "2"}});
  const char* expected =
      // Header values, and keys that are not plain tokens, are never shown; headers are
      // numbered by their place in the variable.
      "krishiv-trace: OTEL_EXPORTER_OTLP_HEADERS (header 2, not shown) has a header without '=' "
      "(expected key=value); using the remaining headers\n"
      "krishiv-trace: OTEL_EXPORTER_OTLP_HEADERS (header 7 \"pct\", not shown) has a malformed "
      "percent-encoding in a header value; using the remaining headers\n"
      "krishiv-trace: OTEL_EXPORTER_OTLP_HEADERS (header 8 \"trail\", not shown) has a malformed "
      "percent-encoding in a header value; using the remaining headers\n"
      "krishiv-trace: OTEL_EXPORTER_OTLP_HEADERS (header 9, not shown) has a malformed "
      "percent-encoding in a header key; using the remaining headers\n"
      "krishiv-trace: OTEL_EXPORTER_OTLP_HEADERS (header 3, not shown) has a header key with a "
      "character gRPC forbids (allowed: a-z 0-9 - _ .); using the remaining headers\n"
      "krishiv-trace: OTEL_EXPORTER_OTLP_HEADERS (header 4 \"grpc-timeout\", not shown) has a "
      "header key reserved by gRPC (grpc-*); using the remaining headers\n"
      "krishiv-trace: OTEL_EXPORTER_OTLP_HEADERS (header 5 \"user-agent\", not shown) has a "
      "header key that gRPC sets itself; using the remaining headers\n"
      "krishiv-trace: OTEL_EXPORTER_OTLP_HEADERS (header 6 \"ctl\", not shown) has a header "
      "value with a non-printable character (only \"-bin\" keys take binary values); using the "
      "remaining headers\n"
      "krishiv-trace: OTEL_EXPORTER_OTLP_HEADERS (header 11, not shown) has an empty header key; "
      "using the remaining headers\n";
  CHECK(warnings == expected);
  // Header values are credentials: never echoed.
  CHECK(warnings.find("secret") == std::string::npos);
}

TEST_CASE("gRPC metadata rules", "[otlp][config]") {
  CHECK(d::grpc_metadata_problem("authorization", "Bearer x") == nullptr);
  CHECK(d::grpc_metadata_problem("x_a.b-c9", "") == nullptr);
  CHECK(d::grpc_metadata_problem("trace-bin", std::string("\0\x80", 2)) == nullptr);
  CHECK(d::grpc_metadata_problem("", "v") != nullptr);
  CHECK(d::grpc_metadata_problem("Upper", "v") != nullptr);
  CHECK(d::grpc_metadata_problem(":path", "v") != nullptr);
  CHECK(d::grpc_metadata_problem("a/b", "v") != nullptr);
  CHECK(d::grpc_metadata_problem("grpc-encoding", "gzip") != nullptr);
  CHECK(d::grpc_metadata_problem("te", "trailers") != nullptr);
  CHECK(d::grpc_metadata_problem("content-type", "x") != nullptr);
  CHECK(d::grpc_metadata_problem("key", "tab\there") != nullptr);
  CHECK(d::grpc_metadata_problem("key", "del\x7F") != nullptr);
  CHECK(d::grpc_metadata_problem("key", "caf\xC3\xA9") != nullptr);

  StderrCapture cap;
  auto h = d::sanitize_grpc_headers({{"X-Tenant", "t"}, {"Grpc-Status", "0"}}, "test::headers");
  CHECK(h == Headers{{"x-tenant", "t"}});
  CHECK(cap.text() ==
        "krishiv-trace: test::headers (header 2 \"Grpc-Status\", not shown) has a header key "
        "reserved by gRPC (grpc-*); using the remaining headers\n");
}

TEST_CASE("certificate files", "[otlp][config]") {
  OtlpEnv env;
  std::string warnings;
  const std::string ca = temp_file("ca.pem", "ca");
  const std::string key = temp_file("key.pem", "key");
  const std::string cert = temp_file("cert.pem", "cert");
  const std::string missing = "/nonexistent/krishiv/none.pem";

  env.set("OTEL_EXPORTER_OTLP_CERTIFICATE", missing);
  env.set("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca);
  env.set("OTEL_EXPORTER_OTLP_CLIENT_KEY", key);
  env.set("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", cert);
  auto o = from_env_quiet(&warnings);
  CHECK(warnings.empty());
  CHECK(o.ca_pem_file == ca);
  CHECK(o.client_key_file == key);
  CHECK(o.client_cert_file == cert);

  env.set("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", missing);
  o = from_env_quiet(&warnings);
  CHECK(o.ca_pem_file.empty());
  CHECK(warnings == "krishiv-trace: OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE=\"" + missing +
                        "\" names a file that cannot be read; using the system's root "
                        "certificates\n");

  env.unset("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE");
  env.unset("OTEL_EXPORTER_OTLP_CERTIFICATE");
  env.unset("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
  o = from_env_quiet(&warnings);
  CHECK(o.client_key_file.empty());
  CHECK(o.client_cert_file.empty());
  CHECK(warnings == "krishiv-trace: OTEL_EXPORTER_OTLP_CLIENT_KEY=\"" + key +
                        "\" is set without a client certificate; using no client certificate\n");

  env.set("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", missing);
  o = from_env_quiet(&warnings);
  CHECK(o.client_key_file.empty());
  CHECK(o.client_cert_file.empty());
  CHECK(warnings == "krishiv-trace: OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE=\"" + missing +
                        "\" names a file that cannot be read; using no client certificate\n");
  std::remove(ca.c_str());
  std::remove(key.c_str());
  std::remove(cert.c_str());
}

TEST_CASE("user agent names the exporter, language and version", "[otlp][config]") {
  // exporter.md "User Agent": OTel-OTLP-Exporter-<language>/<version>.
  CHECK(d::kOtlpUserAgent ==
        std::string("OTel-OTLP-Exporter-Cpp/") + KRISHIV_TEST_PROJECT_VERSION + " krishiv-trace");
}

TEST_CASE("KRISHIV_OTLP_MAX_CONCURRENT_EXPORTS sets the requests in flight", "[otlp][config]") {
  OtlpEnv env;
  env.unset("KRISHIV_OTLP_MAX_CONCURRENT_EXPORTS");
  const int fallback = OtlpGrpcOptions{}.max_concurrent_exports;
  CHECK(fallback >= 1);
  CHECK(OtlpGrpcOptions::from_env().max_concurrent_exports == fallback);
  env.set("KRISHIV_OTLP_MAX_CONCURRENT_EXPORTS", "3");
  CHECK(OtlpGrpcOptions::from_env().max_concurrent_exports == 3);
  for (const char* bad : {"0", "-2", "many", "100000"}) {
    env.set("KRISHIV_OTLP_MAX_CONCURRENT_EXPORTS", bad);
    StderrCapture cap;
    CHECK(OtlpGrpcOptions::from_env().max_concurrent_exports == fallback);
    CHECK(cap.text().find("KRISHIV_OTLP_MAX_CONCURRENT_EXPORTS") != std::string::npos);
  }
}
