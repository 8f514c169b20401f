// The OTLP/JSON file exporter: one request per line with the spans' values, the size bound
// (stop with a counted drop), selection by name and by the code API, and bad UTF-8. The format
// itself is checked against the official JS implementation by tests/otlp/official_json_check.js.
#include "krishiv/trace/exporters/otlp_file.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "krishiv/trace.hpp"
#include "records.hpp"

namespace kt = krishiv::trace;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A fresh file path under the system temporary directory, removed at the end of the test.
class TempFile {
 public:
  TempFile() {
    path_ = fs::temp_directory_path() / ("kt_otlp_file_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter()++) + ".jsonl");
    fs::remove(path_);
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::vector<std::string> lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  std::uintmax_t size() const { return fs::exists(path_) ? fs::file_size(path_) : 0; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  fs::path path_;
};

const json& spans_of(const json& request) {
  return request.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans");
}

kt::test::BatchBuilder two_spans() {
  kt::test::BatchBuilder b;
  b.add({.name = "parent", .trace = 7, .span = 1, .start = 1000, .end = 5000});
  b.add({.name = "child",
         .trace = 7,
         .span = 2,
         .parent = 1,
         .start = 2000,
         .end = 3000,
         .kind = kt::SpanKind::Client,
         .status = kt::StatusCode::Error},
        [](kt::test::Body& body) { kt::detail::put_attribute(body, "rows", 42); });
  return b;
}

}  // namespace

TEST_CASE("each batch is one line: an ExportTraceServiceRequest with the spans' values") {
  TempFile file;
  kt::OtlpFileExporter exporter({.path = file.str()});
  const auto b = two_spans();
  REQUIRE(exporter.export_batch(b.batch()) == kt::ExportResult::Success);
  REQUIRE(exporter.export_batch(b.batch()) == kt::ExportResult::Success);
  exporter.shutdown(std::chrono::seconds(1));

  const auto lines = file.lines();
  REQUIRE(lines.size() == 2);
  for (const auto& line : lines) {
    const json req = json::parse(line);
    const json& spans = spans_of(req);
    REQUIRE(spans.size() == 2);
    const json& parent = spans.at(0);
    const json& child = spans.at(1);
    CHECK(parent.at("name") == "parent");
    CHECK_FALSE(parent.contains("parentSpanId"));
    CHECK(child.at("parentSpanId") == parent.at("spanId"));
    CHECK(child.at("traceId") == parent.at("traceId"));
    CHECK(child.at("traceId").get<std::string>().size() == 32);
    CHECK(child.at("kind") == 3);
    CHECK(child.at("status").at("code") == 2);
    CHECK(child.at("attributes").at(0).at("key") == "rows");
    CHECK(child.at("attributes").at(0).at("value").at("intValue") == "42");
    // Times: decimal strings, the child inside its parent.
    const auto ns = [](const json& s, const char* k) {
      return std::stoull(s.at(k).get<std::string>());
    };
    CHECK(ns(child, "startTimeUnixNano") >= ns(parent, "startTimeUnixNano"));
    CHECK(ns(child, "endTimeUnixNano") <= ns(parent, "endTimeUnixNano"));
    CHECK(ns(child, "endTimeUnixNano") - ns(child, "startTimeUnixNano") == 1000);
  }
  const auto s = exporter.stats();
  CHECK(s.spans_written == 4);
  CHECK(s.lines_written == 2);
  CHECK(s.spans_dropped == 0);
  CHECK(s.bytes == file.size());
}

TEST_CASE("the size bound: a line that does not fit is dropped whole and counted") {
  TempFile file;
  const auto b = two_spans();
  std::uintmax_t one_line = 0;
  {
    kt::OtlpFileExporter probe({.path = file.str()});
    REQUIRE(probe.export_batch(b.batch()) == kt::ExportResult::Success);
    one_line = file.size();
  }
  REQUIRE(one_line > 0);
  std::filesystem::remove(file.str());

  // Room for one line and a half.
  kt::OtlpFileExporter exporter({.path = file.str(), .max_bytes = one_line + one_line / 2});
  CHECK(exporter.export_batch(b.batch()) == kt::ExportResult::Success);
  CHECK(exporter.export_batch(b.batch()) == kt::ExportResult::Failure);
  CHECK(exporter.export_batch(b.batch()) == kt::ExportResult::Failure);
  auto s = exporter.stats();
  CHECK(s.spans_written == 2);
  CHECK(s.spans_dropped == 4);
  CHECK_FALSE(s.last_error.empty());
  exporter.shutdown(std::chrono::seconds(1));
  CHECK(file.size() == one_line);
  REQUIRE(file.lines().size() == 1);
  CHECK_NOTHROW(json::parse(file.lines().at(0)));

  // A new exporter counts what the file already holds.
  kt::OtlpFileExporter again({.path = file.str(), .max_bytes = one_line + one_line / 2});
  CHECK(again.export_batch(b.batch()) == kt::ExportResult::Failure);
  CHECK(again.stats().spans_dropped == 2);
  CHECK(file.size() == one_line);
}

TEST_CASE("an unwritable path: every span is counted as dropped, nothing throws") {
  kt::OtlpFileExporter exporter({.path = "/nonexistent-dir-kt/x.jsonl"});
  const auto b = two_spans();
  CHECK(exporter.export_batch(b.batch()) == kt::ExportResult::Failure);
  CHECK(exporter.stats().spans_dropped == 2);
  CHECK_FALSE(exporter.stats().last_error.empty());
}

TEST_CASE("selected by name (OTEL_TRACES_EXPORTER=otlp_file) with the path from the environment") {
  TempFile file;
  const std::string path = file.str();
  SECTION("the environment") {
    ScopedEnv e1("OTEL_TRACES_EXPORTER", "otlp_file");
    ScopedEnv e2("KRISHIV_TRACE_OTLP_FILE_PATH", path.c_str());
    kt::TracerProvider provider;
    REQUIRE(provider.ok());
    { auto s = kt::info_span("from_env", kt::job_id{"j-1"}).entered(); }
    provider.shutdown();
  }
  SECTION("the code API") {
    ScopedEnv e2("KRISHIV_TRACE_OTLP_FILE_PATH", path.c_str());
    kt::TracerProvider provider({.exporter = kt::TracerExporter::OtlpFile()});
    REQUIRE(provider.ok());
    { auto s = kt::info_span("from_env", kt::job_id{"j-1"}).entered(); }
    provider.shutdown();
  }
  const auto lines = file.lines();
  REQUIRE(lines.size() == 1);
  const json req = json::parse(lines.at(0));
  const json& span = spans_of(req).at(0);
  CHECK(span.at("name") == "from_env");
  CHECK(span.at("attributes").at(0).at("key") == "job_id");
  CHECK(span.at("attributes").at(0).at("value").at("stringValue") == "j-1");
}

TEST_CASE("invalid UTF-8 in a value becomes U+FFFD; the line stays valid JSON") {
  TempFile file;
  kt::test::BatchBuilder b;
  b.add({.name = "bad", .start = 0, .end = 1}, [](kt::test::Body& body) {
    kt::detail::put_attribute(body, "s",
                              std::string_view("a\xFF"
                                               "b"));
  });
  kt::OtlpFileExporter exporter({.path = file.str()});
  REQUIRE(exporter.export_batch(b.batch()) == kt::ExportResult::Success);
  exporter.shutdown(std::chrono::seconds(1));
  const json req = json::parse(file.lines().at(0));
  const json& span = spans_of(req).at(0);
  CHECK(span.at("attributes").at(0).at("value").at("stringValue") ==
        "a\xEF\xBF\xBD"
        "b");
}

TEST_CASE("bytes values are base64, NaN and infinities are the proto3 JSON strings") {
  using kt::detail::otlp_json::base64;
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64(std::string_view("\x00\xFF\x80", 3)) == "AP+A");
  using kt::detail::otlp_json::double_value;
  CHECK(double_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(double_value(std::numeric_limits<double>::infinity()) == "Infinity");
  CHECK(double_value(-std::numeric_limits<double>::infinity()) == "-Infinity");
  CHECK(double_value(0.5) == 0.5);
}
