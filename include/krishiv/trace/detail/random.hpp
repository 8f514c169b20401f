#pragma once
// Thread-local id generator: fast, seeded from the OS, never shared between threads.

#include <pthread.h>

#include <chrono>
#include <cstdint>
#include <random>

namespace krishiv::trace::detail {

// xoshiro256++: 4 words of state, sub-nanosecond per draw, statistically strong enough for ids
// (the W3C "random" flag asks for uniform bits, not cryptographic secrecy).
class Xoshiro256 {
 public:
  Xoshiro256() noexcept {
    seed();
    register_fork_handler();
  }

  // From the OS (getrandom(2) on Linux). Also after fork(): the child would otherwise draw the
  // same ids as the parent.
  void seed() noexcept {
    try {
      std::random_device rd;
      for (auto& w : s_) w = (std::uint64_t{rd()} << 32) ^ rd();
    } catch (...) {
      // No entropy source: fall back on the address of this state and the time, still distinct
      // per thread and per process.
      s_[0] = reinterpret_cast<std::uintptr_t>(this);
      s_[1] =
          static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
      s_[2] = 0x2545F4914F6CDD1Dull;
      s_[3] = 0x9E3779B97F4A7C15ull;
    }
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 0x9E3779B97F4A7C15ull;
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // A draw that is never zero: all-zero ids are invalid in W3C and OTLP.
  std::uint64_t next_nonzero() noexcept {
    std::uint64_t v;
    do {
      v = next();
    } while (v == 0);
    return v;
  }

 private:
  static void register_fork_handler() noexcept;
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::uint64_t s_[4];
};

inline Xoshiro256& thread_rng() noexcept;

inline void reseed_after_fork() noexcept {
  thread_rng().seed();
}

inline Xoshiro256& thread_rng() noexcept {
  thread_local Xoshiro256 rng;
  return rng;
}

// Once per process: in a forked child only the forking thread survives, and it reseeds.
inline void Xoshiro256::register_fork_handler() noexcept {
  [[maybe_unused]] static const bool registered =
      pthread_atfork(nullptr, nullptr, &reseed_after_fork) == 0;
}

}  // namespace krishiv::trace::detail
