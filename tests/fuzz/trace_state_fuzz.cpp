// libFuzzer target: TraceState::parse on arbitrary bytes; whatever parses must hold valid,
// unique entries (at most 32), and its header must re-parse to the same state (or, when the
// 512-character limit truncated it, an ordered subset) and be canonical. A put/erase driven by
// the input's tail checks the mutation invariants too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "krishiv/trace/trace_state.hpp"

using krishiv::trace::TraceState;

namespace {

void check_round_trip(const TraceState& ts) {
  if (ts.size() > TraceState::kMaxMembers) std::abort();
  const auto& entries = ts.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!TraceState::is_valid_key(entries[i].key)) std::abort();
    if (!TraceState::is_valid_value(entries[i].value)) std::abort();
    for (std::size_t j = 0; j < i; ++j) {
      if (entries[j].key == entries[i].key) std::abort();
    }
  }
  const auto out = ts.to_string();
  if (out.size() > TraceState::kMaxHeaderChars) std::abort();
  const auto again = TraceState::parse(out);
  if (!again || again->to_string() != out) std::abort();
  if (again->size() == ts.size()) {
    if (!(*again == ts)) std::abort();
  } else {
    std::size_t j = 0;
    for (const auto& e : entries) {
      if (j < again->size() && again->entries()[j] == e) ++j;
    }
    if (j != again->size()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto ts = TraceState::parse(input);
  if (!ts) return 0;
  check_round_trip(*ts);

  // Mutations: split the input's last member into key/value and put it, then erase a key.
  const auto comma = input.rfind(',');
  const auto last = comma == std::string_view::npos ? input : input.substr(comma + 1);
  const auto eq = last.find('=');
  if (eq != std::string_view::npos) {
    const auto key = last.substr(0, eq);
    const auto value = last.substr(eq + 1);
    const auto copy = *ts;
    const bool ok = ts->put(key, value);
    if (ok != (TraceState::is_valid_key(key) && TraceState::is_valid_value(value))) std::abort();
    if (ok && (ts->entries().front().key != key || ts->entries().front().value != value)) {
      std::abort();
    }
    if (!ok && !(*ts == copy)) std::abort();
    check_round_trip(*ts);
    if (ok && (!ts->erase(key) || ts->get(key))) std::abort();
    check_round_trip(*ts);
  }
  return 0;
}
