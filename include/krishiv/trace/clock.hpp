#pragma once
// Span timestamps: the cheapest correct clock, converted to unix ns off the hot path.
//
// Where the kernel itself trusts the TSC (its clocksource is "tsc": invariant, synchronized
// across cores), spans read it directly: a TSC read costs a fraction of a clock_gettime call
// (benchmarks/span_bench measures both as BM_floor_tsc and BM_floor). Elsewhere ticks are
// CLOCK_REALTIME nanoseconds and conversion is the identity. KRISHIV_TRACE_CLOCK=realtime forces
// the fallback. Records keep raw ticks; the export side converts them with a TimeBase.

#include <time.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

// The TSC is read with the builtin that <x86intrin.h>'s __rdtsc() wraps (g++ and clang++ both
// have it): that header alone is ~46k preprocessed lines, more than the rest of the core.
#if defined(__x86_64__) || defined(__i386__)
#define KRISHIV_TRACE_HAS_TSC 1
#else
#define KRISHIV_TRACE_HAS_TSC 0
#endif

namespace krishiv::trace::detail {

// Converts clock ticks to unix nanoseconds: unix = unix0 + (ticks - tick0) * ns_per_tick.
struct TimeBase {
  std::int64_t tick0 = 0;
  std::int64_t unix0 = 0;
  double ns_per_tick = 1.0;

  std::uint64_t to_unix_ns(std::int64_t ticks) const noexcept {
    const double delta = static_cast<double>(ticks - tick0) * ns_per_tick;
    const std::int64_t ns = unix0 + static_cast<std::int64_t>(delta);
    return ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
  }
};

inline std::int64_t realtime_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline bool kernel_trusts_tsc() noexcept {
#if KRISHIV_TRACE_HAS_TSC
  if (const char* force = std::getenv("KRISHIV_TRACE_CLOCK");
      force != nullptr && std::strcmp(force, "realtime") == 0) {
    return false;
  }
  std::FILE* f =
      std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
  if (f == nullptr) return false;
  char buf[32] = {};
  const bool ok = std::fgets(buf, sizeof buf, f) != nullptr && std::strncmp(buf, "tsc", 3) == 0 &&
                  (buf[3] == '\n' || buf[3] == '\0');
  std::fclose(f);
  return ok;
#else
  return false;
#endif
}

class SpanClock {
 public:
  static SpanClock& instance() noexcept {
    static SpanClock clock;
    return clock;
  }

  // Hot path: one TSC read, or one clock_gettime.
  static std::int64_t now() noexcept {
#if KRISHIV_TRACE_HAS_TSC
    if (instance().use_tsc_) return static_cast<std::int64_t>(__builtin_ia32_rdtsc());
#endif
    return realtime_ns();
  }

  // A conversion for ticks read up to now. With the TSC, the rate is re-measured against
  // CLOCK_REALTIME over the whole time since start, so it gets more exact as the process lives.
  TimeBase time_base() noexcept {
    if (!use_tsc_) return TimeBase{};
    std::lock_guard lock(mu_);
    const std::int64_t real = realtime_ns();
    const std::int64_t tick = read_tsc();
    if (tick - base_.tick0 > 1'000'000) {
      base_.ns_per_tick =
          static_cast<double>(real - base_.unix0) / static_cast<double>(tick - base_.tick0);
    }
    return base_;
  }

 private:
  SpanClock() noexcept : use_tsc_(kernel_trusts_tsc()) {
    if (!use_tsc_) return;
    // Initial rate from a short (~2 ms) measurement; time_base() refines it later.
    base_.unix0 = realtime_ns();
    base_.tick0 = read_tsc();
    std::int64_t real;
    do {
      real = realtime_ns();
    } while (real - base_.unix0 < 2'000'000);
    const std::int64_t tick = read_tsc();
    base_.ns_per_tick =
        static_cast<double>(real - base_.unix0) / static_cast<double>(tick - base_.tick0);
  }

  static std::int64_t read_tsc() noexcept {
#if KRISHIV_TRACE_HAS_TSC
    return static_cast<std::int64_t>(__builtin_ia32_rdtsc());
#else
    return realtime_ns();
#endif
  }

  bool use_tsc_;
  std::mutex mu_;
  TimeBase base_;
};

}  // namespace krishiv::trace::detail
