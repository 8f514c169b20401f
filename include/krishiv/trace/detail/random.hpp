#pragma once
// Thread-local id generator: fast, seeded from the OS, never shared between threads.

#include <pthread.h>
#include <sys/random.h>
#include <time.h>

#include <cerrno>
#include <cstdint>

namespace krishiv::trace::detail {

// xoshiro256++: 4 words of state, sub-nanosecond per draw, statistically strong enough for ids
// (the W3C "random" flag asks for uniform bits, not cryptographic secrecy).
class Xoshiro256 {
  friend void seed_thread_rng() noexcept;

 public:
  // All-zero state: seed() before drawing (a constinit thread-local starts like this).
  struct unseeded_t {
    explicit unseeded_t() = default;
  };
  constexpr explicit Xoshiro256(unseeded_t) noexcept : s_{} {}

  // From the OS (getrandom(2) on Linux). Also after fork(): the child would otherwise draw the
  // same ids as the parent.
  // getrandom(2) directly rather than std::random_device: <random> alone is ~18k preprocessed
  // lines in every file that starts a span.
  void seed() noexcept {
    ssize_t got;
    do {
      got = getrandom(s_, sizeof s_, 0);
    } while (got < 0 && errno == EINTR);
    if (got != static_cast<ssize_t>(sizeof s_)) {
      // No entropy source: fall back on the address of this state and the time, still distinct
      // per thread and per process.
      timespec ts{};
      clock_gettime(CLOCK_MONOTONIC, &ts);
      s_[0] = reinterpret_cast<std::uintptr_t>(this);
      s_[1] = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
              static_cast<std::uint64_t>(ts.tv_nsec);
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

// The calling thread's generator, seeded on first use. Constinit and trivially destructible, so
// an access is a thread-pointer-relative load with no TLS initialisation guard or call; the span
// start fast path tests `seeded` itself and reads `gen` directly.
struct ThreadRng {
  Xoshiro256 gen{Xoshiro256::unseeded_t{}};
  bool seeded = false;
};
inline thread_local constinit ThreadRng t_rng{};

[[gnu::noinline, gnu::cold]] inline void seed_thread_rng() noexcept {
  t_rng.gen.seed();
  Xoshiro256::register_fork_handler();
  t_rng.seeded = true;
}

inline Xoshiro256& thread_rng() noexcept {
  if (!t_rng.seeded) [[unlikely]]
    seed_thread_rng();
  return t_rng.gen;
}

inline void reseed_after_fork() noexcept {
  t_rng.gen.seed();
  t_rng.seeded = true;
}

// Once per process: in a forked child only the forking thread survives, and it reseeds.
inline void Xoshiro256::register_fork_handler() noexcept {
  [[maybe_unused]] static const bool registered =
      pthread_atfork(nullptr, nullptr, &reseed_after_fork) == 0;
}

}  // namespace krishiv::trace::detail
