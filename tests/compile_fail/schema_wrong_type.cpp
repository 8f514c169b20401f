#include <krishiv/trace/schema.hpp>
namespace kt = krishiv::trace;
using CheckpointCommit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;
void f() {
#ifdef KRISHIV_CF_FAIL
  auto s = CheckpointCommit::start("job-1", "forty-two");  // epoch is an integer
#else
  auto s = CheckpointCommit::start("job-1", 42);
#endif
}
