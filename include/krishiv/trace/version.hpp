#pragma once

#define KRISHIV_TRACE_VERSION_STRING "0.1.0"

namespace krishiv::trace {
inline constexpr const char* kVersion = KRISHIV_TRACE_VERSION_STRING;
}  // namespace krishiv::trace
