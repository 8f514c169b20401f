#pragma once
// The exporter interface: the one place where finished spans leave the pipeline.
//
// Exporters are called from the pipeline's export thread only and see immutable records
// (SpanView); they never reach back into live spans. A batch's views are valid only during the
// call that receives it. An exporter may keep several batches in flight (export_async): it
// copies or encodes what it needs before returning, and reports each batch's result later.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "krishiv/trace/detail/chrono.hpp"
#include "krishiv/trace/pipeline/span_batch.hpp"

namespace krishiv::trace {

enum class ExportResult { Success, Failure };

// Receives an asynchronous export's result: exactly once, from any thread; it must not block.
// A move-only callable of its own rather than std::function: <functional> would cost every file
// that includes the core its compile time (tests/headers/core_includes.sh keeps it out).
class ExportCallback {
 public:
  ExportCallback() = default;
  template <typename F>
  requires(!std::is_same_v<std::decay_t<F>, ExportCallback> &&
           std::is_invocable_v<std::decay_t<F>&, ExportResult>)
      ExportCallback(
          F&& f)  // NOLINT(google-explicit-constructor): a lambda converts, as to std::function
      : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}

  void operator()(ExportResult r) const { impl_->call(r); }
  explicit operator bool() const noexcept { return impl_ != nullptr; }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void call(ExportResult r) = 0;
  };
  template <typename F>
  struct Impl final : Base {
    template <typename G>
    explicit Impl(G&& g) : f(std::forward<G>(g)) {}
    void call(ExportResult r) override { f(r); }
    F f;
  };
  std::unique_ptr<Base> impl_;
};

// What becomes of an exporter in the child of a fork() (SpanExporter::after_fork).
enum class ForkRule {
  Keep,      // the child goes on with it
  Unusable,  // the child cannot export with it: its spans are counted as failed
};

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Called on the export thread only. May block up to the exporter's own timeout.
  virtual ExportResult export_batch(const SpanBatch& batch) = 0;
  // What the pipeline calls. Must be done with `batch` when it returns, and call `done` exactly
  // once, before or after returning (not if it throws). `deadline` is the pipeline's export
  // timeout (OTEL_BSP_EXPORT_TIMEOUT): the export should have its result by then. This default
  // exports synchronously; an exporter that can have several batches in flight overrides it.
  virtual void export_async(const SpanBatch& batch,
                            std::chrono::steady_clock::time_point /*deadline*/,
                            ExportCallback done) {
    done(export_batch(batch));
  }
  // Delivers anything the exporter itself buffers. Called on the export thread.
  virtual bool force_flush(std::chrono::milliseconds /*timeout*/) { return true; }
  // Releases resources; no export follows. Called on the export thread.
  virtual void shutdown(std::chrono::milliseconds /*timeout*/) {}
  // Called from any thread when a flush or shutdown deadline has passed: an export blocked on the
  // network must return promptly.
  virtual void cancel() noexcept {}
  // Called on the export thread for spans the pipeline gave up on without exporting them (a
  // shutdown whose deadline passed): an exporter that keeps per-span totals counts them as
  // failed, so that its totals add up too.
  virtual void discarded(std::size_t /*spans*/) noexcept {}

  // fork(): called in the child, before its export thread starts, with no other thread running.
  // The parent's export thread was between batches at the fork (no call of this exporter in
  // progress), but any thread of the exporter's own stayed in the parent. Keep (the default) suits
  // an exporter without threads. Unusable: the child counts its spans as failed and never calls
  // or destroys this exporter (its destructor would wait for threads that are not there).
  virtual ForkRule after_fork() noexcept { return ForkRule::Keep; }
};

// ---- the registry: exporters selectable by name ----------------------------------------------
//
// OTEL_TRACES_EXPORTER and TracerExporter::Named() select an exporter by name. An exporter that
// needs another library (grpc++, fmt) registers itself from its own header, so the core selects
// it without depending on that library, and a new exporter is added without touching the core:
//
//   inline const bool my_exporter_registered =
//       krishiv::trace::register_exporter("mine", [] -> std::unique_ptr<SpanExporter> {...});

using ExporterFactory = std::unique_ptr<SpanExporter> (*)();

namespace detail {
// A list of nodes rather than a vector of pairs: a handful of entries, walked at setup only, and
// no container instantiated for every file that includes the core.
struct ExporterRegistry {
  struct Entry {
    std::string name;
    ExporterFactory factory;
    Entry* next;
  };
  std::mutex mu;
  Entry* first = nullptr;  // registration order; entries are never removed
  Entry* last = nullptr;
};
inline ExporterRegistry& exporter_registry() {
  static auto* r = new ExporterRegistry;  // never destroyed: providers may outlive static objects
  return *r;
}
}  // namespace detail

// Makes `name` selectable; a later registration of the same name replaces the earlier one.
// Returns true, so that an inline variable's initialiser can register (before main).
inline bool register_exporter(std::string_view name, ExporterFactory factory) {
  auto& r = detail::exporter_registry();
  std::lock_guard lock(r.mu);
  for (auto* e = r.first; e != nullptr; e = e->next) {
    if (e->name == name) {
      e->factory = factory;
      return true;
    }
  }
  auto* e = new detail::ExporterRegistry::Entry{std::string(name), factory, nullptr};
  (r.last != nullptr ? r.last->next : r.first) = e;
  r.last = e;
  return true;
}

// The factory registered under `name`, or nullptr.
inline ExporterFactory find_exporter(std::string_view name) {
  auto& r = detail::exporter_registry();
  std::lock_guard lock(r.mu);
  for (const auto* e = r.first; e != nullptr; e = e->next) {
    if (e->name == name) return e->factory;
  }
  return nullptr;
}

// The registered names, in registration order.
inline std::vector<std::string> registered_exporters() {
  auto& r = detail::exporter_registry();
  std::lock_guard lock(r.mu);
  std::vector<std::string> names;
  for (const auto* e = r.first; e != nullptr; e = e->next) names.push_back(e->name);
  return names;
}

}  // namespace krishiv::trace
