// The stderr printer (exporters/stdout.hpp): exact output pinned by golden files, colour
// selection, and the printer behind a real TracerProvider.

#include "krishiv/trace/exporters/console.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "golden.hpp"
#include "krishiv/trace.hpp"
#include "records.hpp"

namespace kt = krishiv::trace;
using kt::test::BatchBuilder;
using kt::test::CapturedFile;
using kt::test::check_golden;
using kt::test::kMs;
using kt::test::kS;
using kt::test::kUs;
namespace d = kt::detail;

namespace {

std::string print(const kt::SpanBatch& batch, kt::ColorMode color = kt::ColorMode::Never) {
  CapturedFile file;
  kt::ConsoleExporter exporter(file.get(), color);
  REQUIRE(exporter.export_batch(batch) == kt::ExportResult::Success);
  return file.text();
}

// Sets (or unsets) one environment variable until the end of the scope.
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

// A pseudo-terminal, to test the automatic colour choice on a real tty.
class PseudoTerminal {
 public:
  PseudoTerminal() {
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY);
    if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0) return;
    const char* name = ::ptsname(master_);
    if (name == nullptr) return;
    const int fd = ::open(name, O_RDWR | O_NOCTTY);
    if (fd >= 0) file_ = ::fdopen(fd, "w");
  }
  ~PseudoTerminal() {
    if (file_ != nullptr) std::fclose(file_);
    if (master_ >= 0) ::close(master_);
  }
  PseudoTerminal(const PseudoTerminal&) = delete;
  PseudoTerminal& operator=(const PseudoTerminal&) = delete;

  std::FILE* file() const noexcept { return file_; }

 private:
  int master_ = -1;
  std::FILE* file_ = nullptr;
};

std::string strip_sgr(const std::string& s) {
  static const std::regex sgr("\x1b\\[[0-9;]*m");
  return std::regex_replace(s, sgr, "");
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A job with nested work, and its event and failure: the batch of the colour tests.
BatchBuilder small_tree() {
  BatchBuilder b;
  b.add({.name = "write_manifest",
         .span = 3,
         .parent = 2,
         .start = 3 * kMs,
         .end = 3 * kMs + 400 * kUs,
         .status = kt::StatusCode::Error},
        [](krishiv::trace::test::Body& body) {
          d::put_attribute(body, "epoch", 42);
          d::begin_event(body, body.bits, 3 * kMs + 200 * kUs, "retry", 1, 0);
          d::put_key(body, "attempt");
          d::put_natural(body, 2);
          d::put_status_message(body, body.bits, "disk full");
        });
  b.add({.name = "checkpoint_commit", .span = 2, .parent = 1, .start = 2 * kMs, .end = 5 * kMs},
        [](krishiv::trace::test::Body& body) { d::put_attribute(body, "epoch", 42); });
  b.add({.name = "run_job", .span = 1, .start = 0, .end = 12 * kMs, .status = kt::StatusCode::Ok},
        [](krishiv::trace::test::Body& body) { d::put_attribute(body, "job_id", "j-7"); });
  return b;
}

}  // namespace

TEST_CASE("spans print as a tree: children under their parent, siblings by start time") {
  // In end order, as the pipeline delivers them: children before parents.
  BatchBuilder b;
  b.add({.name = "write_manifest", .span = 5, .parent = 4, .start = 4 * kMs, .end = 4500 * kUs});
  b.add({.name = "checkpoint_commit", .span = 4, .parent = 3, .start = 3 * kMs, .end = 8 * kMs});
  b.add({.name = "scan_partition", .span = 6, .parent = 3, .start = 2500 * kUs, .end = 2900 * kUs},
        [](krishiv::trace::test::Body& body) { d::put_attribute(body, "partition", 3); });
  b.add({.name = "plan", .span = 2, .parent = 1, .start = 100 * kUs, .end = 1500 * kUs});
  // A child whose parent is elsewhere (another batch, another process): it starts a tree and
  // names its parent.
  b.add({.name = "rpc_handler",
         .trace = 3,
         .span = 8,
         .parent = 99,
         .start = 5 * kMs,
         .end = 5 * kMs + 800,
         .kind = kt::SpanKind::Server});
  b.add({.name = "execute", .span = 3, .parent = 1, .start = 2 * kMs, .end = 9 * kMs});
  // A second root, of another trace, starting between the first root's children.
  b.add({.name = "compact", .trace = 2, .span = 7, .start = 1 * kMs, .end = 1 * kMs + 250 * kUs});
  b.add({.name = "run_job", .span = 1, .start = 0, .end = 1 * kS + 250 * kMs},
        [](krishiv::trace::test::Body& body) { d::put_attribute(body, "job_id", "j-7"); });
  check_golden("tree", print(b.batch()));
}

TEST_CASE("a span whose parent id matches a sibling in another trace is not its child") {
  BatchBuilder b;
  b.add({.name = "child", .trace = 2, .span = 2, .parent = 1, .start = 10, .end = 20});
  b.add({.name = "parent", .trace = 1, .span = 1, .start = 0, .end = 30});
  const auto out = lines(print(b.batch()));
  REQUIRE(out.size() == 2);
  CHECK(out[0].rfind("parent ", 0) == 0);
  CHECK(out[1].rfind("child ", 0) == 0);  // not indented
  CHECK(out[1].find(" parent=00f067aa0ba90001") != std::string::npos);
}

TEST_CASE("spans in a parent cycle are still printed, once each") {
  BatchBuilder b;
  b.add({.name = "a", .span = 1, .parent = 2, .start = 0, .end = 10});
  b.add({.name = "b", .span = 2, .parent = 1, .start = 5, .end = 10});
  b.add({.name = "self", .span = 3, .parent = 3, .start = 7, .end = 10});
  const auto out = lines(print(b.batch()));
  REQUIRE(out.size() == 3);
  CHECK(out[0].rfind("self ", 0) == 0);  // its own parent: a root
  CHECK(out[1].rfind("a ", 0) == 0);
  CHECK(out[2].rfind("  b ", 0) == 0);
}

TEST_CASE("a deep chain of spans prints without recursion") {
  BatchBuilder b;
  constexpr int kDepth = 2000;
  for (int i = kDepth; i >= 1; --i) {
    b.add({.name = "s",
           .span = static_cast<std::uint64_t>(i),
           .parent = static_cast<std::uint64_t>(i - 1),
           .start = i,
           .end = 2 * kDepth - i});
  }
  const auto out = lines(print(b.batch()));
  REQUIRE(out.size() == kDepth);
  CHECK(out.back().rfind(std::string(2 * (kDepth - 1), ' ') + "s ", 0) == 0);
}

TEST_CASE("status, kind, links and dropped counts") {
  BatchBuilder b;
  b.add({.name = "failed", .span = 1, .start = 0, .end = 1 * kMs, .status = kt::StatusCode::Error},
        [](krishiv::trace::test::Body& body) {
          d::put_status_message(body, body.bits, "boom: connection reset");
        });
  b.add({.name = "failed_quietly",
         .span = 2,
         .start = 1,
         .end = 1 * kMs,
         .status = kt::StatusCode::Error});
  b.add({.name = "fine", .span = 3, .start = 2, .end = 1 * kMs, .status = kt::StatusCode::Ok});
  b.add({.name = "GET /jobs/{id}",
         .span = 4,
         .start = 3,
         .end = 1 * kMs,
         .kind = kt::SpanKind::Client,
         .status = kt::StatusCode::Error},
        [](krishiv::trace::test::Body& body) {
          d::put_attribute(body, "http.response.status_code", 503);
          d::begin_link(body, body.bits, kt::test::trace_id(9), kt::test::span_id(9),
                        kt::TraceFlags(1), true, "", 0, 0);
          d::begin_link(body, body.bits, kt::test::trace_id(9), kt::test::span_id(10),
                        kt::TraceFlags(1), false, "", 0, 0);
          d::put_status_message(body, body.bits, "Service Unavailable");
          d::put_dropped(body, body.bits, 3, 1, 0);
        });
  for (auto [kind, n] : {std::pair{kt::SpanKind::Server, 5}, std::pair{kt::SpanKind::Producer, 6},
                         std::pair{kt::SpanKind::Consumer, 7}}) {
    b.add({.name = "kind",
           .span = static_cast<std::uint64_t>(n),
           .start = n,
           .end = 1 * kMs,
           .kind = kind});
  }
  check_golden("status", print(b.batch()));
}

TEST_CASE("events print under their span, timed from its start") {
  BatchBuilder b;
  b.add({.name = "load", .span = 2, .parent = 1, .start = 1 * kMs, .end = 3 * kMs},
        [](krishiv::trace::test::Body& body) {
          d::begin_event(body, body.bits, 1 * kMs, "opened", 0, 0);
          d::begin_event(body, body.bits, 1 * kMs + 250, "first_row", 2, 0);
          d::put_key(body, "row");
          d::put_natural(body, 0);
          d::put_key(body, "table");
          d::put_natural(body, "orders");
          d::begin_event(body, body.bits, 2 * kMs + 1500, "", 0, 0);  // nameless
          d::begin_event(body, body.bits, 3 * kMs, "closed", 1, 4);   // attributes over the limit
          d::put_key(body, "rows");
          d::put_natural(body, 1'000'000);
        });
  b.add({.name = "job", .span = 1, .start = 0, .end = 5 * kS},
        [](krishiv::trace::test::Body& body) {
          d::begin_event(body, body.bits, 2 * kS + 500 * kMs, "halfway", 0, 0);
          // Clocks can step: an event before its span's start must still print sensibly.
          d::begin_event(body, body.bits, -50 * kUs, "early", 0, 0);
        });
  check_golden("events", print(b.batch()));
}

TEST_CASE("every value type, arrays and key-value lists included") {
  BatchBuilder b;
  b.add({.name = "values", .span = 1, .start = 0, .end = 42}, [](krishiv::trace::test::Body& body) {
    d::put_attribute(body, "yes", true);
    d::put_attribute(body, "no", false);
    d::put_attribute(body, "int", -7);
    d::put_attribute(body, "int.max", INT64_MAX);
    d::put_attribute(body, "int.min", INT64_MIN);
    d::put_attribute(body, "double", 3.25);
    d::put_attribute(body, "double.tenth", 0.1);
    d::put_attribute(body, "double.tiny", -1e-300);
    d::put_attribute(body, "double.whole", 2.0);
    d::put_attribute(body, "string", "text");
    d::put_attribute(body, "string.empty", std::string_view{});
    body.push(static_cast<std::uint8_t>(d::Item::Attribute));
    d::put_key(body, "bytes");
    krishiv::trace::test::put_bytes_value(body, std::string_view("\x00\xff\x80 ", 4));
    // Overwritten attributes are not shown.
    body.push(static_cast<std::uint8_t>(d::Item::DeadAttribute));
    d::put_key(body, "dead");
    d::put_natural(body, 1);
    d::put_attribute(body, "strings", std::vector<std::string>{"a", "", "c\"d"});
    d::put_attribute(body, "ints", std::vector<std::int64_t>{1, -2, 3});
    d::put_attribute(body, "doubles", std::vector<double>{0.5, 1e21});
    d::put_attribute(body, "bools", std::vector<bool>{true, false});
    d::put_attribute(body, "empty", std::vector<std::int64_t>{});
    body.push(static_cast<std::uint8_t>(d::Item::Attribute));
    d::put_key(body, "mixed");
    d::begin_array(body, 3);
    d::put_natural(body, "x");
    d::begin_array(body, 2);
    d::put_natural(body, 1);
    d::put_natural(body, 2);
    krishiv::trace::test::begin_kvlist(body, 2);
    d::put_key(body, "k");
    d::put_natural(body, "v");
    d::put_key(body, "n");
    krishiv::trace::test::begin_kvlist(body, 0);
  });
  check_golden("values", print(b.batch()));
}

TEST_CASE("control characters and malformed UTF-8 are escaped; other UTF-8 passes through") {
  BatchBuilder b;
  b.add({.name = "two\nlines\x1b[2J",
         .span = 1,
         .start = 0,
         .end = 1,
         .status = kt::StatusCode::Error},
        [](krishiv::trace::test::Body& body) {
          d::put_attribute(body, "quote", "say \"hi\"");
          d::put_attribute(body, "backslash", "C:\\tmp");
          d::put_attribute(body, "whitespace", "a\tb\r\nc");
          d::put_attribute(body, "c0", std::string_view("\x00\x01\x1f", 3));
          d::put_attribute(body, "terminal", "\x1b[31mred\x1b[0m\x07");
          d::put_attribute(body, "del", "\x7f");
          d::put_attribute(body, "c1",
                           "\xc2\x9b"
                           "31m\xc2\x85");
          d::put_attribute(body, "invalid", "\xff\xfe");
          d::put_attribute(body, "cut", "ok\xe2\x9c");
          d::put_attribute(body, "overlong", "\xc0\xaf");
          d::put_attribute(body, "surrogate", "\xed\xa0\x80");
          d::put_attribute(body, "utf8", "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 \xc2\xa0nbsp");
          d::put_attribute(body, "key\nwith newline", 1);
          d::put_attribute(body, "in.array", std::vector<std::string>{"\n", "\x1b"});
          d::begin_event(body, body.bits, 1, "event\r\n", 0, 0);
          d::put_status_message(body, body.bits, "line one\nline two");
        });
  const std::string out = print(b.batch());
  check_golden("escaping", out);
  // Whatever the span held: one line per span or event, and no escape byte reaches the terminal.
  CHECK(lines(out).size() == 2);
  CHECK(out.find('\x1b') == std::string::npos);
  CHECK(out.find('\r') == std::string::npos);
}

TEST_CASE("colour: SGR sequences only, and only when asked") {
  const BatchBuilder b = small_tree();
  ScopedEnv no_color("NO_COLOR", "1");  // an explicit Always wins over NO_COLOR
  const std::string colored = print(b.batch(), kt::ColorMode::Always);
  check_golden("colour", colored);
  const std::string plain = print(b.batch(), kt::ColorMode::Never);
  CHECK(plain.find('\x1b') == std::string::npos);
  CHECK(strip_sgr(colored) == plain);
}

TEST_CASE("colour: automatic only on a terminal, honouring NO_COLOR and TERM=dumb") {
  ScopedEnv term("TERM", "xterm-256color");
  SECTION("not a terminal") {
    ScopedEnv no_color("NO_COLOR", nullptr);
    CapturedFile file;
    CHECK_FALSE(kt::ConsoleExporter(file.get()).colored());
    CHECK_FALSE(kt::ConsoleExporter(file.get(), kt::ColorMode::Never).colored());
    CHECK(kt::ConsoleExporter(file.get(), kt::ColorMode::Always).colored());
    CHECK(kt::ConsoleExporter(
              kt::ConsoleExporterOptions{.file = file.get(), .color = kt::ColorMode::Always})
              .colored());
  }
  SECTION("the default file is stderr") {
    CHECK(kt::ConsoleExporter().file() == stderr);
    CHECK(kt::ConsoleExporter(kt::ConsoleExporterOptions{}).file() == stderr);
  }
  SECTION("a terminal") {
    PseudoTerminal tty;
    if (tty.file() == nullptr) {
      WARN("no pseudo-terminal available; automatic colour on a tty not tested");
      return;
    }
    {
      ScopedEnv no_color("NO_COLOR", nullptr);
      CHECK(kt::ConsoleExporter(tty.file()).colored());
      CHECK_FALSE(kt::ConsoleExporter(tty.file(), kt::ColorMode::Never).colored());
    }
    {
      ScopedEnv no_color("NO_COLOR", "");  // no-color.org: an empty value does not count
      CHECK(kt::ConsoleExporter(tty.file()).colored());
    }
    {
      ScopedEnv no_color("NO_COLOR", "1");
      CHECK_FALSE(kt::ConsoleExporter(tty.file()).colored());
      CHECK(kt::ConsoleExporter(tty.file(), kt::ColorMode::Always).colored());
    }
    {
      ScopedEnv no_color("NO_COLOR", nullptr);
      ScopedEnv dumb("TERM", "dumb");
      CHECK_FALSE(kt::ConsoleExporter(tty.file()).colored());
    }
  }
}

TEST_CASE("durations are exact and human-readable") {
  const std::pair<std::int64_t, std::string_view> table[] = {
      {0, "0ns"},
      {999, "999ns"},
      {1'000, "1.000\xc2\xb5s"},
      {12'345, "12.345\xc2\xb5s"},
      {999'999, "999.999\xc2\xb5s"},
      {1'000'000, "1.000ms"},
      {1'234'567, "1.234ms"},
      {999'999'999, "999.999ms"},
      {1'000'000'000, "1.000s"},
      {125'000'000'001, "125.000s"},
      {-1'500, "-1.500\xc2\xb5s"},
      {INT64_MIN, "-9223372036.854s"},
  };
  for (const auto& [ns, want] : table) {
    fmt::memory_buffer buf;
    d::append_duration(buf, ns);
    CHECK(fmt::to_string(buf) == want);
  }
}

TEST_CASE("an empty batch writes nothing") {
  BatchBuilder b;
  CHECK(print(b.batch()).empty());
}

TEST_CASE("one exporter prints batch after batch, reusing its buffers") {
  CapturedFile file;
  kt::ConsoleExporter exporter(file.get(), kt::ColorMode::Never);
  const BatchBuilder tree = small_tree();
  BatchBuilder single;
  single.add({.name = "single", .span = 9, .start = 0, .end = 1});
  REQUIRE(exporter.export_batch(tree.batch()) == kt::ExportResult::Success);
  REQUIRE(exporter.export_batch(single.batch()) == kt::ExportResult::Success);
  REQUIRE(exporter.export_batch(tree.batch()) == kt::ExportResult::Success);
  const std::string tree_text = print(tree.batch());
  CHECK(file.text() == tree_text + print(single.batch()) + tree_text);
  CHECK(exporter.force_flush(std::chrono::milliseconds(10)));
}

TEST_CASE("a write error is reported as an export failure") {
  std::FILE* read_only = std::fopen("/dev/null", "r");
  REQUIRE(read_only != nullptr);
  kt::ConsoleExporter exporter(read_only, kt::ColorMode::Never);
  CHECK(exporter.export_batch(small_tree().batch()) == kt::ExportResult::Failure);
  std::fclose(read_only);
}

TEST_CASE("including the header makes TracerExporter::Stdout available") {
  REQUIRE(kt::find_exporter("console") != nullptr);
  std::string error;
  auto exporter = kt::TracerExporter::Stdout().make(error);
  CHECK(error.empty());
  auto* printer = dynamic_cast<kt::ConsoleExporter*>(exporter.get());
  REQUIRE(printer != nullptr);
  CHECK(printer->file() == stderr);
  ScopedEnv env("OTEL_TRACES_EXPORTER", "console");
  CHECK(kt::TracerExporter::from_env().name() == "console");
}

using CheckpointCommit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;

TEST_CASE("spans from a TracerProvider print as a tree") {
  CapturedFile file;
  auto printer = std::make_shared<kt::ConsoleExporter>(file.get(), kt::ColorMode::Never);
  kt::TracerProvider provider({.exporter = kt::TracerExporter::Custom(printer)});
  REQUIRE(provider.ok());
  std::string job_span, commit_span, trace;
  {
    auto job = kt::info_span("run_job", kt::job_id{"j-7"}).entered();
    job_span = job.context().span_id.to_hex();
    trace = job.context().trace_id.to_hex();
    auto commit = CheckpointCommit::enter("j-7", 42);
    commit_span = commit.context().span_id.to_hex();
    commit.add_event("manifest_written", kt::attr("bytes", 4096));
    commit.set_status(kt::StatusCode::Error, "boom");
  }
  REQUIRE(provider.force_flush());
  const auto out = lines(file.text());
  REQUIRE(out.size() == 3);
  const std::regex job_line(R"(run_job \d+\.\d{3}(µs|ms) job_id="j-7" trace=)" + trace +
                            " span=" + job_span);
  const std::regex commit_line(R"(  checkpoint_commit \d+(\.\d{3}µs|ns) job_id="j-7" epoch=42 )"
                               R"(\[error: boom\] span=)" +
                               commit_span);
  const std::regex event_line(R"(    · manifest_written \+\d+(\.\d{3}µs|ns) bytes=4096)");
  CHECK(std::regex_match(out[0], job_line));
  CHECK(std::regex_match(out[1], commit_line));
  CHECK(std::regex_match(out[2], event_line));
}
