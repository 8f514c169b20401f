#pragma once
// Rate limit for a diagnostic that can recur for as long as a process runs (an export failing
// against a collector that is down): the first occurrence is printed at once, later ones at most
// once per interval, each printed line saying how many were suppressed before it.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "krishiv/trace/detail/chrono.hpp"

namespace krishiv::trace::detail {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kDefaultInterval{60};

  explicit LogLimiter(Clock::duration interval = kDefaultInterval) : interval_(interval) {}

  // The line to print for `message` now, or nullopt when it is to be suppressed (and counted).
  // Safe from any thread.
  std::optional<std::string> admit(std::string_view message, Clock::time_point now = Clock::now()) {
    std::uint64_t suppressed = 0;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (printed_any_ && now - last_ < interval_) {
        ++suppressed_;
        return std::nullopt;
      }
      printed_any_ = true;
      last_ = now;
      suppressed = suppressed_;
      suppressed_ = 0;
    }
    std::string line(message);
    if (suppressed != 0) {
      line += " (and " + std::to_string(suppressed) + " more since the last report)";
    }
    return line;
  }

 private:
  std::mutex mu_;
  Clock::duration interval_;
  Clock::time_point last_{};
  bool printed_any_ = false;
  std::uint64_t suppressed_ = 0;
};

}  // namespace krishiv::trace::detail
