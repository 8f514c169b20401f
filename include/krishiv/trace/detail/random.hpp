#pragma once
// Thread-local id generator: fast, seeded from the OS, never shared between threads.

#include <cstdint>
#include <random>

namespace krishiv::trace::detail {

// xoshiro256++: 4 words of state, sub-nanosecond per draw, statistically strong enough for ids
// (the W3C "random" flag asks for uniform bits, not cryptographic secrecy).
class Xoshiro256 {
 public:
  Xoshiro256() noexcept {
    std::random_device rd;  // getrandom(2) on Linux
    for (auto& w : s_) {
      w = (std::uint64_t{rd()} << 32) ^ rd();
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
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::uint64_t s_[4];
};

inline Xoshiro256& thread_rng() noexcept {
  thread_local Xoshiro256 rng;
  return rng;
}

}  // namespace krishiv::trace::detail
