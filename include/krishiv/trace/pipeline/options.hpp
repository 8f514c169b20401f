#pragma once
// The pipeline's public knobs and counters.

#include <cstddef>
#include <cstdint>
#include <string>

#include "krishiv/trace/detail/chrono.hpp"
#include "krishiv/trace/detail/env.hpp"

namespace krishiv::trace {

// The OpenTelemetry batch span processor knobs, with the spec's defaults.
struct BatchOptions {
  std::size_t max_queue_size = 2048;
  std::chrono::milliseconds schedule_delay{5000};  // taken as 1 ms when below
  std::size_t max_export_batch_size = 512;
  // Bounds each export (the spec's "maximum allowed time to export data"): the pipeline passes
  // the deadline to SpanExporter::export_async; the OTLP exporter ends its requests by then. 0
  // means no limit.
  std::chrono::milliseconds export_timeout{30000};

  // OTEL_BSP_*; malformed values get one stderr line and the default.
  static BatchOptions from_env() {
    BatchOptions o;
    o.max_queue_size = detail::env_u64("OTEL_BSP_MAX_QUEUE_SIZE", o.max_queue_size, 1, 1u << 30);
    o.schedule_delay = detail::env_millis("OTEL_BSP_SCHEDULE_DELAY", o.schedule_delay);
    o.max_export_batch_size =
        detail::env_u64("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", o.max_export_batch_size, 1, 1u << 30);
    o.export_timeout = detail::env_millis("OTEL_BSP_EXPORT_TIMEOUT", o.export_timeout);
    if (o.max_export_batch_size > o.max_queue_size) {
      // The spec: the batch size must be less than or equal to the queue size.
      detail::config_warning("OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                             std::to_string(o.max_export_batch_size),
                             "exceeds OTEL_BSP_MAX_QUEUE_SIZE", std::to_string(o.max_queue_size));
      o.max_export_batch_size = o.max_queue_size;
    }
    return o;
  }
};

// Counters of the pipeline, readable at any time.
struct PipelineStats {
  std::uint64_t exported = 0;            // handed to the exporter, which reported success
  std::uint64_t export_failed = 0;       // handed to the exporter, which reported failure
  std::uint64_t dropped_queue_full = 0;  // no buffer space: dropped at span end
  // Ended after shutdown(), or while another provider was installed: the span's pipeline no
  // longer records (span.hpp, "Lifetime").
  std::uint64_t dropped_inactive = 0;
  // Larger than the largest record (kMaxRecordBytes, 1 MiB) even with its strings cut: dropped.
  std::uint64_t dropped_too_large = 0;
  // Recorded with at least one string (name, attribute value, event name, status message) cut at
  // a UTF-8 boundary so that the span fits the largest record. Not a drop.
  std::uint64_t truncated = 0;
  std::uint64_t buffer_bytes = 0;  // span buffers allocated (bounded by the queue size)
};

}  // namespace krishiv::trace
