#include <krishiv/trace/span.hpp>
namespace kt = krishiv::trace;
void f() {
#ifdef KRISHIV_CF_FAIL
  auto s = kt::info_span("scan", kt::task_id{"seven"});  // task_id is an integer field
#else
  auto s = kt::info_span("scan", kt::task_id{7});
#endif
}
