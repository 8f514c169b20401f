#include <krishiv/trace/field.hpp>
namespace kt = krishiv::trace;
#ifdef KRISHIV_CF_FAIL
using rows = kt::field<"rows", float>;
#else
using rows = kt::field<"rows", double>;
#endif
static_assert(rows::key == "rows");
