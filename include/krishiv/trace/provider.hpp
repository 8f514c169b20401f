#pragma once
// TracerProvider: builds the pipeline (sampler → spans → batch processor → exporter) and installs
// it as the one the span functions record into.
//
//   krishiv::trace::TracerProvider provider;            // everything from OTEL_* variables
//   krishiv::trace::TracerProvider provider({.exporter = TracerExporter::Stdout()});
//
// The destructor shuts the pipeline down (flushing what was recorded) and uninstalls it.

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "krishiv/trace/detail/env.hpp"
#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/exporters/in_memory.hpp"
#include "krishiv/trace/pipeline/export_worker.hpp"
#include "krishiv/trace/pipeline/front_end.hpp"
#include "krishiv/trace/resource.hpp"
#include "krishiv/trace/sampler.hpp"
#include "krishiv/trace/span_limits.hpp"

namespace krishiv::trace {

namespace detail {

// Exporters that need other libraries (grpc++, fmt) register a factory when their header is
// included, so the core can select them by name without depending on those libraries.
struct ExporterFactories {
  std::unique_ptr<SpanExporter> (*otlp)() = nullptr;
  std::unique_ptr<SpanExporter> (*stdout_)() = nullptr;
};
inline ExporterFactories& exporter_factories() noexcept {
  static ExporterFactories f;
  return f;
}

// Shares an exporter the caller keeps (the in-memory sink a test inspects).
class SharedExporter : public SpanExporter {
 public:
  explicit SharedExporter(std::shared_ptr<SpanExporter> e) : e_(std::move(e)) {}
  ExportResult export_batch(const SpanBatch& b) override { return e_->export_batch(b); }
  bool force_flush(std::chrono::milliseconds t) override { return e_->force_flush(t); }
  void shutdown(std::chrono::milliseconds t) override { e_->shutdown(t); }
  void cancel() noexcept override { e_->cancel(); }

 private:
  std::shared_ptr<SpanExporter> e_;
};

// Accepts and discards everything (OTEL_TRACES_EXPORTER=none, or a configuration error).
class NullExporter : public SpanExporter {
 public:
  ExportResult export_batch(const SpanBatch&) override { return ExportResult::Success; }
};

}  // namespace detail

// Which exporter the provider feeds.
class TracerExporter {
 public:
  enum class Kind { Otlp, Stdout, InMemory, Custom, None };

  // OTLP over gRPC to OTEL_EXPORTER_OTLP_ENDPOINT: the default. Needs
  // <krishiv/trace/exporters/otlp_grpc.hpp> included somewhere in the program.
  static TracerExporter Otlp() { return TracerExporter(Kind::Otlp); }
  // One line per span on stderr. Needs <krishiv/trace/exporters/console.hpp> (fmt).
  static TracerExporter Stdout() { return TracerExporter(Kind::Stdout); }
  // Spans kept in memory for tests to inspect.
  static TracerExporter InMemory(std::shared_ptr<InMemoryExporter> sink) {
    TracerExporter e(Kind::InMemory);
    e.shared_ = std::move(sink);
    return e;
  }
  static TracerExporter Custom(std::shared_ptr<SpanExporter> exporter) {
    TracerExporter e(Kind::Custom);
    e.shared_ = std::move(exporter);
    return e;
  }
  static TracerExporter None() { return TracerExporter(Kind::None); }

  // OTEL_TRACES_EXPORTER: otlp (default), console, none.
  static TracerExporter from_env() {
    auto v = detail::env_string("OTEL_TRACES_EXPORTER");
    if (!v || *v == "otlp") return Otlp();
    if (*v == "console") return Stdout();
    if (*v == "none") return None();
    detail::config_warning("OTEL_TRACES_EXPORTER", *v, "is not otlp, console or none", "otlp");
    return Otlp();
  }

  Kind kind() const noexcept { return kind_; }

  // The exporter, or nullptr with `error` set when the selected one is not available.
  std::unique_ptr<SpanExporter> make(std::string& error) const {
    const auto& f = detail::exporter_factories();
    switch (kind_) {
      case Kind::Otlp:
        if (f.otlp != nullptr) return f.otlp();
        error =
            "TracerExporter::Otlp selected, but the OTLP exporter is not built into this program "
            "(include <krishiv/trace/exporters/otlp_grpc.hpp> and link grpc++)";
        return nullptr;
      case Kind::Stdout:
        if (f.stdout_ != nullptr) return f.stdout_();
        error =
            "TracerExporter::Stdout selected, but the stdout exporter is not built into this "
            "program (include <krishiv/trace/exporters/console.hpp> and link fmt)";
        return nullptr;
      case Kind::InMemory:
      case Kind::Custom:
        return std::make_unique<detail::SharedExporter>(shared_);
      case Kind::None:
        return std::make_unique<detail::NullExporter>();
    }
    return nullptr;
  }

 private:
  explicit TracerExporter(Kind k) : kind_(k) {}
  Kind kind_;
  std::shared_ptr<SpanExporter> shared_;
};

struct TracerProviderOptions {
  // Unset members come from the OTEL_* environment (and the spec's defaults).
  std::optional<TracerExporter> exporter = {};
  std::optional<Sampler> sampler = {};
  Attributes resource_attributes = {};  // merged over Resource::from_env(), winning on conflicts
  std::optional<BatchOptions> batch = {};
  std::optional<SpanLimits> limits = {};
  InstrumentationScope scope = {};
};

class TracerProvider {
 public:
  explicit TracerProvider(TracerProviderOptions options = {}) {
    const TracerExporter selection =
        options.exporter ? *options.exporter : TracerExporter::from_env();
    std::unique_ptr<SpanExporter> exporter = selection.make(error_);
    if (!exporter) {
      std::fprintf(stderr, "krishiv-trace: %s; spans are discarded\n", error_.c_str());
      exporter = std::make_unique<detail::NullExporter>();
    }
    auto p = std::make_shared<detail::Pipeline>();
    p->sampler = options.sampler ? *options.sampler : Sampler::from_env();
    p->limits = options.limits ? *options.limits : SpanLimits::from_env();
    resource_ =
        Resource::from_env().merge(Resource::create(std::move(options.resource_attributes)));
    p->processor = std::make_shared<detail::BatchProcessor>(
        std::move(exporter), options.batch ? *options.batch : BatchOptions::from_env(), resource_,
        std::move(options.scope));
    p->processor->start();
    pipeline_ = p;
    detail::ActivePipeline::get().install(std::move(p));
  }

  ~TracerProvider() {
    shutdown(std::chrono::seconds(10));
    detail::ActivePipeline::get().uninstall(pipeline_.get());
  }

  TracerProvider(const TracerProvider&) = delete;
  TracerProvider& operator=(const TracerProvider&) = delete;

  // Exports every span ended before the call. False when the timeout passed first.
  bool force_flush(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return pipeline_->processor->force_flush(timeout);
  }
  // Flushes and stops; spans ended afterwards are dropped and counted. Idempotent.
  bool shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return pipeline_->processor->shutdown(timeout);
  }

  PipelineStats stats() const { return pipeline_->processor->stats(); }
  const Resource& resource() const noexcept { return resource_; }
  const Sampler& sampler() const noexcept { return pipeline_->sampler; }
  const SpanLimits& limits() const noexcept { return pipeline_->limits; }
  // Why the selected exporter could not be used (then spans are discarded); empty when fine.
  const std::string& error() const noexcept { return error_; }
  bool ok() const noexcept { return error_.empty(); }

 private:
  std::shared_ptr<detail::Pipeline> pipeline_;
  Resource resource_;
  std::string error_;
};

}  // namespace krishiv::trace
