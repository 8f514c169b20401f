// libFuzzer target: TraceParent::parse on arbitrary bytes; whatever parses must re-emit as a
// canonical version-00 header that parses back to the same ids and the known flag bits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "krishiv/trace/propagation/traceparent.hpp"

using krishiv::trace::TraceParent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto tp = TraceParent::parse(input);
  if (!tp) return 0;
  if (!tp->trace_id.is_valid() || !tp->parent_id.is_valid()) std::abort();

  char out[TraceParent::kSize];
  tp->write(out);
  const std::string_view emitted(out, sizeof out);
  const auto again = TraceParent::parse(emitted);
  if (!again || again->trace_id != tp->trace_id || again->parent_id != tp->parent_id ||
      again->flags.bits() != (tp->flags.bits() & TraceParent::kEmittedFlags)) {
    std::abort();
  }
  if (again->to_string() != emitted) std::abort();
  return 0;
}
