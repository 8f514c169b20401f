// Built with KRISHIV_TRACE_DISABLED: the test script checks that nothing of the library is left in
// the object file and that instrumented_work() compiles to the same code as plain_work().
#include <krishiv/trace.hpp>

namespace kt = krishiv::trace;
using CheckpointCommit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;

extern "C" int plain_work(int x) {
  return x * 3 + 1;
}

extern "C" int instrumented_work(int x) {
  auto s = kt::info_span("work", kt::job_id{"job-1"}, kt::task_id{x}).entered();
  s.set_attribute("rows", x).add_event("halfway", kt::attr("x", x));
  auto c = CheckpointCommit::enter("job-1", x);
  c.set_status(kt::StatusCode::Error, "never recorded");
  auto d = kt::debug_span("inner", kt::SpanKind::Client);
  return x * 3 + 1;
}
