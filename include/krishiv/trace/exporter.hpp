#pragma once
// The exporter interface: the one place where finished spans leave the pipeline.
//
// Exporters are called from the pipeline's export thread only, one batch at a time, and see
// immutable records (SpanView); they never reach back into live spans.

#include <chrono>

#include "krishiv/trace/pipeline/span_batch.hpp"

namespace krishiv::trace {

enum class ExportResult { Success, Failure };

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Called on the export thread only. May block up to the exporter's own timeout.
  virtual ExportResult export_batch(const SpanBatch& batch) = 0;
  // Delivers anything the exporter itself buffers. Called on the export thread.
  virtual bool force_flush(std::chrono::milliseconds /*timeout*/) { return true; }
  // Releases resources; no export follows. Called on the export thread.
  virtual void shutdown(std::chrono::milliseconds /*timeout*/) {}
  // Called from any thread when a flush or shutdown deadline has passed: an export blocked on the
  // network must return promptly.
  virtual void cancel() noexcept {}
};

}  // namespace krishiv::trace
