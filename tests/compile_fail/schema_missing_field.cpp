#include <krishiv/trace/schema.hpp>
namespace kt = krishiv::trace;
using CheckpointCommit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;
void f() {
#ifdef KRISHIV_CF_FAIL
  auto s = CheckpointCommit::start("job-1");
#else
  auto s = CheckpointCommit::start("job-1", 1);
#endif
}
