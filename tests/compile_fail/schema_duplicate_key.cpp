#include <krishiv/trace/schema.hpp>
namespace kt = krishiv::trace;
#ifdef KRISHIV_CF_FAIL
using my_epoch = kt::field<"epoch", std::string_view>;
#else
using my_epoch = kt::field<"my_epoch", std::string_view>;
#endif
using Bad = kt::span_schema<"bad", kt::epoch, my_epoch>;
void f() {
  auto s = Bad::start(1, "x");
}
