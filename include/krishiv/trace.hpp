#pragma once
// krishiv-trace: the standard-library-only core, in data-path order (docs/architecture.md).
// Exporters are opt-in headers under krishiv/trace/exporters/: in_memory.hpp (standard library),
// console.hpp (fmt), otlp_grpc.hpp (grpc++). SpanData, the owned copy of a span, comes with
// in_memory.hpp or record/span_data.hpp: its attribute copies cost every includer compile time.

#include "krishiv/trace/version.hpp"

#include "krishiv/trace/attribute.hpp"
#include "krishiv/trace/field.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/span_context.hpp"
#include "krishiv/trace/span_kind.hpp"
#include "krishiv/trace/status.hpp"
#include "krishiv/trace/trace_state.hpp"

#include "krishiv/trace/context.hpp"
#include "krishiv/trace/propagation/current.hpp"
#include "krishiv/trace/propagation/traceparent.hpp"

#include "krishiv/trace/record/view.hpp"

#include "krishiv/trace/sampler.hpp"
#include "krishiv/trace/span_limits.hpp"

#include "krishiv/trace/level.hpp"
#include "krishiv/trace/schema.hpp"
#include "krishiv/trace/span.hpp"

#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/provider.hpp"
#include "krishiv/trace/resource.hpp"
