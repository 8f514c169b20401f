#pragma once
// The W3C header values of the current span: what to put on an outgoing request.

#include <string>

#include "krishiv/trace/context.hpp"
#include "krishiv/trace/propagation/traceparent.hpp"

namespace krishiv::trace {

// traceparent of the current span; empty when no span is current.
inline std::string current_traceparent() {
  return format_traceparent(Context::current().span_context());
}

// tracestate of the current span; empty when none is current or its state is empty.
inline std::string current_tracestate() {
  const Context& c = Context::current();
  return c.has_span() ? c.span_context().trace_state.to_string() : std::string();
}

}  // namespace krishiv::trace
