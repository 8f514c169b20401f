#pragma once
// OtlpGrpcExporter: OTLP over gRPC, the default exporter (opentelemetry-proto
// docs/specification.md "OTLP/gRPC").
//
// Including this header registers it behind TracerExporter::Otlp() and OTEL_TRACES_EXPORTER=otlp
// (provider.hpp), configured from the OTEL_EXPORTER_OTLP_* environment:
//
//   krishiv::trace::TracerProvider provider;  // OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT
//
// To override settings in code, or to keep a handle for stats(), build it yourself:
//
//   auto opts = krishiv::trace::OtlpGrpcOptions::from_env();
//   opts.endpoint = "http://collector:4317";
//   auto otlp = std::make_shared<krishiv::trace::OtlpGrpcExporter>(opts);
//   krishiv::trace::TracerProvider provider({.exporter = TracerExporter::Custom(otlp)});
//   ...
//   provider.shutdown();
//   auto s = otlp->stats();  // spans_exported, spans_failed, spans_rejected, retries, ...
//
// Where each lost span is counted: spans dropped before reaching the exporter (queue full, or
// ended after shutdown) are in TracerProvider::stats(); spans the exporter could not deliver
// (export error, cancellation) or the collector refused (partial success) are in stats() here.
//
// Requests: a batch is encoded into one buffer the exporter reuses (no allocation per span or,
// in steady state, per batch) and split into requests of at most kRecommendedRequestBytes
// (4 MiB), because collectors refuse larger messages by default with a non-retryable
// RESOURCE_EXHAUSTED. Only a single span larger than that goes alone in a request of up to the
// 64 MiB OTLP limit; a span over that limit is counted as failed. Requests are sent one after
// the other on the export thread; each has its own export timeout, retries included.
//
// Results: export_batch() returns Success when the collector accepted every request, partial
// successes included (rejected spans would be rejected again: the OTLP spec forbids retrying
// them), and Failure when any request failed or was cancelled. The pipeline counts a batch as a
// whole, so for exact per-span numbers read stats().

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/exporters/otlp_grpc/options.hpp"
#include "krishiv/trace/exporters/otlp_grpc/transport.hpp"
#include "krishiv/trace/otlp/encoder.hpp"
#include "krishiv/trace/provider.hpp"

namespace krishiv::trace {

// Totals since the exporter was built. Spans dropped before export are in PipelineStats.
struct OtlpExporterStats {
  std::uint64_t spans_exported = 0;   // accepted by the collector
  std::uint64_t spans_failed = 0;     // not delivered: export error, timeout, cancellation
  std::uint64_t spans_rejected = 0;   // delivered, but refused by the collector (partial success)
  std::uint64_t retries = 0;          // extra attempts, over all requests
  std::uint64_t requests = 0;         // requests sent (one per split of a batch)
  std::uint64_t requests_failed = 0;  // of which delivered nothing (failed or cancelled)
  std::string last_error;             // empty until something went wrong
};

class OtlpGrpcExporter : public SpanExporter {
 public:
  // Never throws for bad settings: each is reported once on stderr and replaced by its default.
  explicit OtlpGrpcExporter(OtlpGrpcOptions options = OtlpGrpcOptions::from_env())
      : transport_(std::move(options)) {}

  OtlpGrpcExporter(const OtlpGrpcExporter&) = delete;
  OtlpGrpcExporter& operator=(const OtlpGrpcExporter&) = delete;

  ExportResult export_batch(const SpanBatch& batch) override {
    const std::uint64_t generation = cancel_generation_.load(std::memory_order_acquire);
    bool all_delivered = true;
    std::size_t i = 0;
    try {
      while (i < batch.size()) {
        if (cancel_generation_.load(std::memory_order_acquire) != generation) {
          // The batch's deadline passed: the caller wants this export over, not its remaining
          // requests each waiting out their own timeout.
          fail_spans(batch.size() - i, "CANCELLED: export cancelled by the exporter");
          all_delivered = false;
          break;
        }
        std::size_t next =
            encoder_.encode_within(batch, i, detail::kRecommendedRequestBytes, buffer_);
        if (next == i) {
          next = encoder_.encode_within(batch, i, detail::kMaxRequestBytes, buffer_);
        }
        if (next == i) {
          fail_spans(1, "a span's encoding exceeds the 64 MiB OTLP request limit; span dropped");
          all_delivered = false;
          ++i;
          continue;
        }
        all_delivered &= send(next - i);
        i = next;
      }
    } catch (...) {
      // Out of memory growing the buffer or inside gRPC: lose the rest of this batch, not the
      // export thread.
      spans_failed_.fetch_add(batch.size() - i, std::memory_order_relaxed);
      all_delivered = false;
    }
    // One huge span must not pin a 64 MiB buffer for the life of the process.
    if (buffer_.capacity() > 2 * detail::kRecommendedRequestBytes) std::string().swap(buffer_);
    return all_delivered ? ExportResult::Success : ExportResult::Failure;
  }

  // Nothing is buffered here: every export_batch() call has finished sending when it returns.
  bool force_flush(std::chrono::milliseconds /*timeout*/) override { return true; }

  // Every later export fails at once, without touching the network.
  void shutdown(std::chrono::milliseconds /*timeout*/) override { transport_.shutdown(); }

  // Ends the export in progress, if any: the request on the wire is cancelled and the rest of
  // its batch is not sent. Later exports proceed. A cancel() landing in the instant between
  // two requests, before the transport has started the next call, reaches only later requests
  // of the batch; the transport has no way to be cancelled before a call starts.
  void cancel() noexcept override {
    cancel_generation_.fetch_add(1, std::memory_order_acq_rel);
    transport_.cancel();
  }

  OtlpExporterStats stats() const {
    OtlpExporterStats s;
    s.spans_exported = spans_exported_.load(std::memory_order_relaxed);
    s.spans_failed = spans_failed_.load(std::memory_order_relaxed);
    s.spans_rejected = spans_rejected_.load(std::memory_order_relaxed);
    s.retries = transport_.stats().retries;
    s.requests = requests_.load(std::memory_order_relaxed);
    s.requests_failed = requests_failed_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(error_mu_);
    s.last_error = last_error_;
    return s;
  }

  // The gRPC target the endpoint resolved to (e.g. "127.0.0.1:4317").
  const std::string& target() const noexcept { return transport_.target().target; }

 private:
  // Sends buffer_, which holds `spans` spans; false when they were not delivered.
  bool send(std::size_t spans) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    const auto count = static_cast<std::int64_t>(spans);
    const detail::ExportOutcome out = transport_.send(buffer_, count);
    switch (out.kind) {
      case detail::ExportOutcome::Kind::Success:
        spans_exported_.fetch_add(spans, std::memory_order_relaxed);
        return true;
      case detail::ExportOutcome::Kind::PartialSuccess: {
        // A collector may claim more rejections than the request held; count what we sent.
        const auto rejected = static_cast<std::size_t>(std::min(out.rejected_spans, count));
        spans_exported_.fetch_add(spans - rejected, std::memory_order_relaxed);
        spans_rejected_.fetch_add(rejected, std::memory_order_relaxed);
        if (rejected > 0) set_last_error(out.error);
        return true;
      }
      case detail::ExportOutcome::Kind::Failed:
      case detail::ExportOutcome::Kind::Cancelled:
        break;
    }
    requests_failed_.fetch_add(1, std::memory_order_relaxed);
    fail_spans(spans, out.error);
    return false;
  }

  void fail_spans(std::size_t n, std::string error) {
    spans_failed_.fetch_add(n, std::memory_order_relaxed);
    set_last_error(std::move(error));
  }

  void set_last_error(std::string error) {
    std::lock_guard<std::mutex> lock(error_mu_);
    last_error_ = std::move(error);
  }

  detail::OtlpGrpcTransport transport_;
  OtlpEncoder encoder_;
  std::string buffer_;  // export thread only
  // Bumped by cancel(); an export that sees it change stops sending.
  std::atomic<std::uint64_t> cancel_generation_{0};

  std::atomic<std::uint64_t> spans_exported_{0};
  std::atomic<std::uint64_t> spans_failed_{0};
  std::atomic<std::uint64_t> spans_rejected_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> requests_failed_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
};

namespace detail {
inline std::unique_ptr<SpanExporter> make_otlp_grpc_exporter() {
  return std::make_unique<OtlpGrpcExporter>();
}
// Runs before main in every program that includes this header: the core selects OTLP by name
// (TracerExporter::Otlp, OTEL_TRACES_EXPORTER=otlp) without depending on grpc++.
inline const bool otlp_grpc_exporter_registered = [] {
  exporter_factories().otlp = &make_otlp_grpc_exporter;
  return true;
}();
}  // namespace detail

}  // namespace krishiv::trace
