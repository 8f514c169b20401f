#pragma once
// TracerProvider: builds the pipeline (sampler → spans → front end → export worker → exporter)
// and installs it as the one the span functions record into.
//
//   krishiv::trace::TracerProvider provider;            // everything from OTEL_* variables
//   krishiv::trace::TracerProvider provider({.exporter = TracerExporter::Stdout()});
//
// The destructor shuts the pipeline down (flushing what was recorded) and uninstalls it.
//
// Several providers: the newest live one is installed. Destroying it re-installs the one created
// before it that is still alive (a stack); destroying one that is not installed changes nothing.
// A span records into the provider installed when it started, if that one is still installed
// when it ends; otherwise it is dropped and counted (span.hpp, "Lifetime"): a span may safely
// outlive its provider.

// Compile cost: the functions marked so run at setup, or on the export thread. They are templates
// with a defaulted parameter, called as before, so that their bodies and the library templates
// they use (the attribute variant's copies, make_shared, std::thread) are compiled only in the
// file that calls them, not in every file that includes the core (scripts/compile_cost.sh).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "krishiv/trace/detail/chrono.hpp"
#include "krishiv/trace/detail/env.hpp"
#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/pipeline/active.hpp"
#include "krishiv/trace/pipeline/export_worker.hpp"
#include "krishiv/trace/pipeline/front_end.hpp"
#include "krishiv/trace/pipeline/options.hpp"
#include "krishiv/trace/resource.hpp"
#include "krishiv/trace/sampler.hpp"
#include "krishiv/trace/span_limits.hpp"

namespace krishiv::trace {

namespace detail {

// Shares an exporter the caller keeps (the in-memory sink a test inspects).
class SharedExporter : public SpanExporter {
 public:
  explicit SharedExporter(std::shared_ptr<SpanExporter> e) : e_(std::move(e)) {}
  ExportResult export_batch(const SpanBatch& b) override { return e_->export_batch(b); }
  void export_async(const SpanBatch& b, std::chrono::steady_clock::time_point deadline,
                    ExportCallback done) override {
    e_->export_async(b, deadline, std::move(done));
  }
  void discarded(std::size_t spans) noexcept override { e_->discarded(spans); }
  bool force_flush(std::chrono::milliseconds t) override { return e_->force_flush(t); }
  void shutdown(std::chrono::milliseconds t) override { e_->shutdown(t); }
  void cancel() noexcept override { e_->cancel(); }
  ForkRule after_fork() noexcept override { return e_->after_fork(); }

 private:
  std::shared_ptr<SpanExporter> e_;
};

// Accepts and discards everything (OTEL_TRACES_EXPORTER=none, or a configuration error).
class NullExporter : public SpanExporter {
 public:
  ExportResult export_batch(const SpanBatch&) override { return ExportResult::Success; }
};

// What to include for the exporters this library ships, for the error when one is selected but
// not built into the program.
inline std::string_view exporter_header_hint(std::string_view name) noexcept {
  if (name == "otlp") {
    return "include <krishiv/trace/exporters/otlp_grpc.hpp> and link grpc++ "
           "(pkg-config --libs grpc++)";
  }
  if (name == "console") return "include <krishiv/trace/exporters/console.hpp> and link fmt";
  if (name == "otlp_file") {
    return "include <krishiv/trace/exporters/otlp_file.hpp> (nlohmann_json, header-only)";
  }
  return "include the header that registers it";
}

}  // namespace detail

// Which exporter the provider feeds: one registered by name (exporter.hpp), or an instance.
class TracerExporter {
 public:
  // OTLP over gRPC to OTEL_EXPORTER_OTLP_ENDPOINT: the default. Registered by
  // <krishiv/trace/exporters/otlp_grpc.hpp>.
  static TracerExporter Otlp() { return Named("otlp"); }
  // The console printer: a span tree written to stderr (not stdout, which belongs to the
  // program). Registered by <krishiv/trace/exporters/console.hpp> (fmt); the name keeps the
  // OpenTelemetry spelling of the variable, OTEL_TRACES_EXPORTER=console.
  static TracerExporter Stdout() { return Named("console"); }
  // OTLP/JSON lines in a file (KRISHIV_TRACE_OTLP_FILE_PATH). Registered by
  // <krishiv/trace/exporters/otlp_file.hpp> (nlohmann_json); OTEL_TRACES_EXPORTER=otlp_file.
  static TracerExporter OtlpFile() { return Named("otlp_file"); }
  // Discards every span.
  static TracerExporter None() { return Named("none"); }
  // Any exporter registered under `name` (register_exporter()).
  static TracerExporter Named(std::string name) {
    TracerExporter e;
    e.name_ = std::move(name);
    return e;
  }
  // An exporter the caller keeps, e.g. the InMemoryExporter a test inspects
  // (<krishiv/trace/exporters/in_memory.hpp>).
  static TracerExporter InMemory(std::shared_ptr<SpanExporter> sink) {
    return Custom(std::move(sink));
  }
  static TracerExporter Custom(std::shared_ptr<SpanExporter> exporter) {
    TracerExporter e;
    e.instance_ = std::move(exporter);
    return e;
  }

  // OTEL_TRACES_EXPORTER: otlp (the default), console, otlp_file, none, or any registered name. A
  // value that names no known exporter gets one stderr line and the default.
  template <typename = void>  // see "Compile cost" above
  static TracerExporter from_env() {
    auto v = detail::env_string("OTEL_TRACES_EXPORTER");
    if (!v) return Otlp();
    if (*v == "none" || *v == "otlp" || *v == "console" || *v == "otlp_file" ||
        find_exporter(*v) != nullptr) {
      return Named(std::move(*v));
    }
    detail::config_warning("OTEL_TRACES_EXPORTER", *v, "names no registered exporter", "otlp");
    return Otlp();
  }

  // The registered name; empty for an instance.
  const std::string& name() const noexcept { return name_; }

  // The exporter, or nullptr with `error` set when the selected one is not available.
  template <typename = void>  // see "Compile cost" above
  std::unique_ptr<SpanExporter> make(std::string& error) const {
    if (instance_) return std::make_unique<detail::SharedExporter>(instance_);
    if (name_ == "none") return std::make_unique<detail::NullExporter>();
    if (ExporterFactory f = find_exporter(name_)) {
      if (auto e = f()) return e;
      error = "the exporter \"" + name_ + "\" could not be created";
      return nullptr;
    }
    error = "the exporter \"" + name_ + "\" is selected but not built into this program (" +
            std::string(detail::exporter_header_hint(name_)) + ")";
    return nullptr;
  }

 private:
  TracerExporter() = default;
  std::string name_;
  std::shared_ptr<SpanExporter> instance_;
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
  template <typename = void>  // see "Compile cost" above
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
    const BatchOptions batch = options.batch ? *options.batch : BatchOptions::from_env();
    p->front_end = std::make_shared<detail::FrontEnd>(batch);
    worker_ = std::make_shared<detail::ExportWorker>(p->front_end, std::move(exporter), batch,
                                                     resource_, std::move(options.scope));
    worker_->start();
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
    return worker_->force_flush(timeout);
  }
  // Flushes and stops; spans ended afterwards are dropped and counted. Idempotent.
  bool shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return worker_->shutdown(timeout);
  }

  PipelineStats stats() const { return worker_->stats(); }
  // Spans that ended after the provider they started in was destroyed, process-wide. They
  // recorded nothing (a provider's own stats() count those that end while it lives).
  static std::uint64_t dropped_without_provider() noexcept {
    return detail::ActivePipeline::get().dropped_without_provider.load(std::memory_order_relaxed);
  }
  const Resource& resource() const noexcept { return resource_; }
  const Sampler& sampler() const noexcept { return pipeline_->sampler; }
  const SpanLimits& limits() const noexcept { return pipeline_->limits; }
  // Why the selected exporter could not be used (then spans are discarded); empty when fine.
  const std::string& error() const noexcept { return error_; }
  bool ok() const noexcept { return error_.empty(); }

 private:
  std::shared_ptr<detail::Pipeline> pipeline_;
  std::shared_ptr<detail::ExportWorker> worker_;
  Resource resource_;
  std::string error_;
};

}  // namespace krishiv::trace
