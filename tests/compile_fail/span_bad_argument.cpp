#include <krishiv/trace/span.hpp>
namespace kt = krishiv::trace;
void f() {
#ifdef KRISHIV_CF_FAIL
  auto s = kt::info_span("scan", 42);  // a bare value has no key
#else
  auto s = kt::info_span("scan", kt::epoch{42});
#endif
}
