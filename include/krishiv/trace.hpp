#pragma once
// krishiv-trace: the standard-library-only core. Exporters that need fmt or grpc++ are opt-in
// headers under krishiv/trace/exporters/.

#include "krishiv/trace/context.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/span_context.hpp"
#include "krishiv/trace/trace_state.hpp"
