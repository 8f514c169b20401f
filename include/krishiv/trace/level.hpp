#pragma once
// Span levels: a runtime filter that makes spans below the maximum level inert (a load and a
// branch; they are transparent to nesting).

#include <atomic>
#include <cstdint>

namespace krishiv::trace {

enum class Level : std::uint8_t { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4, Off = 5 };

namespace detail {
inline constinit std::atomic<std::uint8_t> g_max_level{0};
}  // namespace detail

// Spans below this level are inert. Runtime filter; the default records every level.
inline void set_max_level(Level l) noexcept {
  detail::g_max_level.store(static_cast<std::uint8_t>(l), std::memory_order_relaxed);
}
inline Level max_level() noexcept {
  return static_cast<Level>(detail::g_max_level.load(std::memory_order_relaxed));
}
inline bool level_enabled(Level l) noexcept {
  return static_cast<std::uint8_t>(l) >= detail::g_max_level.load(std::memory_order_relaxed);
}

}  // namespace krishiv::trace
