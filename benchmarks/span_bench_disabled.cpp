// The same instrumented code as span_bench's schema span, compiled with tracing switched off.
#define KRISHIV_TRACE_DISABLED
#include <krishiv/trace.hpp>

namespace kt = krishiv::trace;
using TaskRun = kt::span_schema<"task_run", kt::job_id, kt::task_id, kt::epoch, kt::operator_id>;

[[gnu::noinline]] void compiled_out_span(std::string_view job, std::int64_t i) {
  auto s = TaskRun::enter(job, i, 7, "hash-join-3");
  s.set_attribute("rows", i);
}
