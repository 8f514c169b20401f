#pragma once
// The propagated part of a span: what crosses process boundaries in traceparent/tracestate.

#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/trace_state.hpp"

namespace krishiv::trace {

struct SpanContext {
  TraceId trace_id;
  SpanId span_id;
  TraceFlags flags;
  TraceState trace_state;
  bool is_remote = false;  // extracted from a carrier rather than created in this process

  // Both ids non-zero: the condition for a context to be a parent (W3C §3.2.2.3/4).
  constexpr bool is_valid() const noexcept { return trace_id.is_valid() && span_id.is_valid(); }
  constexpr bool sampled() const noexcept { return flags.sampled(); }

  friend bool operator==(const SpanContext&, const SpanContext&) = default;
};

}  // namespace krishiv::trace
