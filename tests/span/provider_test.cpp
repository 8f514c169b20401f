#include "krishiv/trace/provider.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "capture.hpp"
#include "span_test_support.hpp"

namespace kt = krishiv::trace;
using test::EnvGuard;
using test::Recorder;
using test::StderrCapture;

TEST_CASE("provider: resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, code wins") {
  EnvGuard env;
  env.set("OTEL_SERVICE_NAME", "coordinator");
  env.set("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,host.name=h%201");
  Recorder r({.resource_attributes = {{"host.name", std::string("from-code")}}});
  const auto& res = r.provider.resource();
  CHECK(std::get<std::string>(*res.get("service.name")) == "coordinator");
  CHECK(std::get<std::string>(*res.get("deployment.environment")) == "prod");
  CHECK(std::get<std::string>(*res.get("host.name")) == "from-code");
  CHECK(std::get<std::string>(*res.get("telemetry.sdk.name")) == "krishiv-trace");
  CHECK(std::get<std::string>(*res.get("telemetry.sdk.language")) == "cpp");
}

TEST_CASE("provider: the exporter sees the provider's resource") {
  struct ResourceSpy : kt::SpanExporter {
    std::string service;
    kt::ExportResult export_batch(const kt::SpanBatch& b) override {
      service = std::get<std::string>(*b.resource().get("service.name"));
      return kt::ExportResult::Success;
    }
  };
  auto spy = std::make_shared<ResourceSpy>();
  {
    kt::TracerProvider p({.exporter = kt::TracerExporter::Custom(spy),
                          .sampler = kt::Sampler::always_on(),
                          .resource_attributes = {{"service.name", std::string("executor")}}});
    { auto s = kt::info_span("x"); }
    p.force_flush();
  }
  CHECK(spy->service == "executor");
}

TEST_CASE("provider: selecting an exporter that is not built in is a clear error, not a crash") {
  StderrCapture cap;
  kt::TracerProvider p({.exporter = kt::TracerExporter::Otlp()});
  const auto err = cap.text();
  CHECK_FALSE(p.ok());
  CHECK(p.error().find("otlp_grpc.hpp") != std::string::npos);
  CHECK(err.find("krishiv-trace: the exporter \"otlp\" is selected but not built into this "
                 "program") != std::string::npos);
  { auto s = kt::info_span("discarded"); }
  CHECK(p.force_flush());
}

TEST_CASE("provider: a malformed OTEL_TRACES_EXPORTER gets one line and the default") {
  EnvGuard env;
  env.set("OTEL_TRACES_EXPORTER", "zipkin-please");
  StderrCapture cap;
  const auto sel = kt::TracerExporter::from_env();
  const auto err = cap.text();
  CHECK(sel.name() == "otlp");
  CHECK(err ==
        "krishiv-trace: OTEL_TRACES_EXPORTER=\"zipkin-please\" names no registered exporter; "
        "using otlp\n");
  env.set("OTEL_TRACES_EXPORTER", "none");
  CHECK(kt::TracerExporter::from_env().name() == "none");
}

namespace {
// An exporter from outside the library, registered by name as its own header would do it.
struct CountingExporter : kt::SpanExporter {
  static inline std::atomic<int> spans{0};
  kt::ExportResult export_batch(const kt::SpanBatch& b) override {
    spans += static_cast<int>(b.size());
    return kt::ExportResult::Success;
  }
};
const bool counting_registered = kt::register_exporter(
    "counting",
    []() -> std::unique_ptr<kt::SpanExporter> { return std::make_unique<CountingExporter>(); });
}  // namespace

TEST_CASE("provider: OTEL_TRACES_EXPORTER selects an exporter registered by name") {
  REQUIRE(counting_registered);
  const auto names = kt::registered_exporters();
  CHECK(std::find(names.begin(), names.end(), "counting") != names.end());
  EnvGuard env;
  env.set("OTEL_TRACES_EXPORTER", "counting");
  StderrCapture cap;
  const int before = CountingExporter::spans;
  {
    kt::TracerProvider p({.sampler = kt::Sampler::always_on()});
    CHECK(p.ok());
    { auto s = kt::info_span("counted"); }
    CHECK(p.force_flush());
  }
  CHECK(CountingExporter::spans - before == 1);
  CHECK(cap.text().empty());
  // By name from code as well; an unknown name is an error the provider reports.
  std::string error;
  CHECK(kt::TracerExporter::Named("counting").make(error) != nullptr);
  CHECK(kt::TracerExporter::Named("nope").make(error) == nullptr);
  CHECK(error.find("\"nope\"") != std::string::npos);
}

TEST_CASE("provider: sampling decisions and their flags") {
  SECTION("always_off records nothing but propagates with the sampled flag off") {
    Recorder r({.sampler = kt::Sampler::always_off()});
    {
      auto s = kt::info_span("off").entered();
      CHECK(s.is_valid());
      CHECK_FALSE(s.is_recording());
      CHECK(kt::current_traceparent().substr(53) == "02");
      auto child = kt::info_span("child");
      CHECK(child.context().trace_id == s.context().trace_id);
      CHECK(child.context().span_id != s.context().span_id);
    }
    CHECK(r.flush().empty());
  }
  SECTION("parentbased_always_on follows a remote parent's decision") {
    Recorder r({.sampler = kt::Sampler::parent_based(kt::Sampler::always_on())});
    auto unsampled =
        kt::extract_span_context("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "");
    auto sampled =
        kt::extract_span_context("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "");
    {
      auto a = kt::info_span("from-unsampled", *unsampled);
      auto b = kt::info_span("from-sampled", *sampled);
      auto c = kt::info_span("root");
      CHECK_FALSE(a.context().sampled());
      CHECK(a.context().trace_id == unsampled->trace_id);
      CHECK(b.context().sampled());
      CHECK(c.context().sampled());
    }
    const auto spans = r.flush();
    REQUIRE(spans.size() == 2);
    CHECK(test::by_name(spans, "from-sampled").flags.bits() == 0x01);
  }
  SECTION("traceidratio samples a stable fraction, decided by the trace id") {
    Recorder r({.sampler = kt::Sampler::trace_id_ratio(0.25)});
    int sampled = 0;
    for (int i = 0; i < 20'000; ++i) {
      auto s = kt::info_span("r", kt::root);
      sampled += s.is_recording();
      CHECK(s.context().sampled() == s.is_recording());
    }
    CHECK(sampled > 20'000 * 0.22);
    CHECK(sampled < 20'000 * 0.28);
    CHECK(r.flush().size() == static_cast<std::size_t>(sampled));
  }
}

TEST_CASE("provider: OTEL_TRACES_SAMPLER configures the provider") {
  EnvGuard env;
  env.set("OTEL_TRACES_SAMPLER", "always_off");
  auto sink = std::make_shared<kt::InMemoryExporter>();
  kt::TracerProvider p({.exporter = kt::TracerExporter::InMemory(sink)});
  CHECK(p.sampler().description() == "AlwaysOffSampler");
  { auto s = kt::info_span("x"); }
  p.force_flush();
  CHECK(sink->size() == 0);
}

TEST_CASE("provider: replacing the provider moves recording to the new one") {
  auto first = std::make_shared<kt::InMemoryExporter>();
  auto second = std::make_shared<kt::InMemoryExporter>();
  {
    kt::TracerProvider p(
        {.exporter = kt::TracerExporter::InMemory(first), .sampler = kt::Sampler::always_on()});
    { auto s = kt::info_span("one"); }
  }
  {
    kt::TracerProvider p(
        {.exporter = kt::TracerExporter::InMemory(second), .sampler = kt::Sampler::always_on()});
    { auto s = kt::info_span("two"); }
    p.force_flush();
  }
  REQUIRE(first->size() == 1);  // delivered by the first provider's shutdown
  CHECK(first->spans()[0].name == "one");
  REQUIRE(second->size() == 1);
  CHECK(second->spans()[0].name == "two");
}
