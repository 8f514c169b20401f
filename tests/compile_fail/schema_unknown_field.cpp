#include <krishiv/trace/schema.hpp>
namespace kt = krishiv::trace;
using CheckpointCommit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;
void f() {
#ifdef KRISHIV_CF_FAIL
  auto s = CheckpointCommit::start(kt::job_id{"job-1"}, kt::task_id{42});  // not in the schema
#else
  auto s = CheckpointCommit::start(kt::job_id{"job-1"}, kt::epoch{42});
#endif
}
