#include <krishiv/trace/schema.hpp>
namespace kt = krishiv::trace;
using CheckpointCommit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;
void f() {
#ifdef KRISHIV_CF_FAIL
  auto s = CheckpointCommit::start("job-1", 4.2);  // no silent truncation to an integer
#else
  auto s = CheckpointCommit::start("job-1", 4);
#endif
}
