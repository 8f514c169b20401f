#pragma once
// Test helpers for the OTLP/gRPC tests: a clean OTEL_EXPORTER_OTLP_* environment per test. Stderr
// capture and the general environment guard are in tests/support/capture.hpp.

#include <cstring>
#include <string>
#include <vector>

#include "capture.hpp"

extern char** environ;

namespace krishiv::trace::test {

// Unsets every OTEL_EXPORTER_OTLP_* variable on construction, and puts back on destruction
// every variable it touched.
class OtlpEnv : public ::test::EnvGuard {
 public:
  OtlpEnv() {
    std::vector<std::string> names;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "OTEL_EXPORTER_OTLP_", 19) == 0) {
        const char* eq = std::strchr(*e, '=');
        names.emplace_back(*e, eq ? static_cast<std::size_t>(eq - *e) : std::strlen(*e));
      }
    }
    for (const auto& n : names) unset(n);
  }
};

}  // namespace krishiv::trace::test
