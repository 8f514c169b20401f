#pragma once
// Trace and span identifiers and W3C trace flags: small value types, cheap to copy.

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "krishiv/trace/detail/random.hpp"
#include "krishiv/trace/detail/text.hpp"

namespace krishiv::trace {

namespace detail {

// Fixed-size byte identifier; all-zero means "invalid" (W3C Trace Context §3.2.2.3/4).
template <std::size_t N>
class ByteId {
 public:
  static constexpr std::size_t kSize = N;
  static constexpr std::size_t kHexSize = 2 * N;

  constexpr ByteId() noexcept = default;
  constexpr explicit ByteId(const std::array<std::uint8_t, N>& bytes) noexcept : bytes_(bytes) {}

  // Exactly 2*N lowercase hex characters. An all-zero id decodes (is_valid() tells).
  static constexpr std::optional<ByteId> from_hex(std::string_view hex) noexcept {
    ByteId id;
    if (hex.size() != kHexSize || !decode_hex_lc(hex.data(), N, id.bytes_.data())) {
      return std::nullopt;
    }
    return id;
  }

  constexpr bool is_valid() const noexcept {
    if (std::is_constant_evaluated()) {
      for (auto b : bytes_) {
        if (b != 0) return true;
      }
      return false;
    }
    // Word-wise: this runs several times per span start.
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, bytes_.data() + i, 8);
      acc |= w;
    }
    return acc != 0;
  }

  constexpr const std::array<std::uint8_t, N>& bytes() const noexcept { return bytes_; }
  constexpr const std::uint8_t* data() const noexcept { return bytes_.data(); }

  // Writes kHexSize characters, no terminator.
  constexpr void write_hex(char* out) const noexcept { encode_hex(bytes_.data(), N, out); }

  std::string to_hex() const {
    std::string s(kHexSize, '\0');
    write_hex(s.data());
    return s;
  }

  friend constexpr bool operator==(const ByteId&, const ByteId&) noexcept = default;

 protected:
  std::array<std::uint8_t, N> bytes_{};
};

// Big-endian load/store of 8 bytes: ids are byte strings on the wire, and the trace-id-ratio
// sampler reads the right-most bytes as an unsigned integer. At run time one byte-swapped 8-byte
// access: a store of 8 single bytes followed by an 8-byte load defeats store-to-load forwarding
// and stalls the span hot path.
constexpr std::uint64_t load_be64(const std::uint8_t* p) noexcept {
  if (std::is_constant_evaluated()) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return v;
  }
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

constexpr void store_be64(std::uint64_t v, std::uint8_t* p) noexcept {
  if (std::is_constant_evaluated()) {
    for (int i = 7; i >= 0; --i) {
      p[i] = static_cast<std::uint8_t>(v);
      v >>= 8;
    }
    return;
  }
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

}  // namespace detail

// 16-byte W3C trace-id.
class TraceId : public detail::ByteId<16> {
 public:
  using ByteId::ByteId;
  constexpr TraceId(const ByteId& b) noexcept : ByteId(b) {}  // NOLINT: from_hex result

  static constexpr std::optional<TraceId> from_hex(std::string_view hex) noexcept {
    auto b = ByteId::from_hex(hex);
    if (!b) return std::nullopt;
    return TraceId(*b);
  }

  // Two 64-bit halves, big-endian: high = bytes 0..7, low = bytes 8..15.
  static constexpr TraceId from_u64(std::uint64_t high, std::uint64_t low) noexcept {
    TraceId id;
    detail::store_be64(high, id.bytes_.data());
    detail::store_be64(low, id.bytes_.data() + 8);
    return id;
  }
  constexpr std::uint64_t high() const noexcept { return detail::load_be64(bytes_.data()); }
  constexpr std::uint64_t low() const noexcept { return detail::load_be64(bytes_.data() + 8); }

  // A fresh id with all 16 bytes uniformly random (so the W3C Level 2 random flag may be set).
  static TraceId random() noexcept { return random(detail::thread_rng()); }
  static TraceId random(detail::Xoshiro256& rng) noexcept {
    return from_u64(rng.next(), rng.next_nonzero());
  }
};

// 8-byte W3C parent-id / span id.
class SpanId : public detail::ByteId<8> {
 public:
  using ByteId::ByteId;
  constexpr SpanId(const ByteId& b) noexcept : ByteId(b) {}  // NOLINT: from_hex result

  static constexpr std::optional<SpanId> from_hex(std::string_view hex) noexcept {
    auto b = ByteId::from_hex(hex);
    if (!b) return std::nullopt;
    return SpanId(*b);
  }

  static constexpr SpanId from_u64(std::uint64_t v) noexcept {
    SpanId id;
    detail::store_be64(v, id.bytes_.data());
    return id;
  }
  constexpr std::uint64_t to_u64() const noexcept { return detail::load_be64(bytes_.data()); }

  static SpanId random() noexcept { return from_u64(detail::thread_rng().next_nonzero()); }
};

// W3C trace-flags: a bit field. Test bits, never compare the whole byte (§3.2.2.5).
class TraceFlags {
 public:
  static constexpr std::uint8_t kSampled = 0x01;
  static constexpr std::uint8_t kRandom = 0x02;  // Level 2: trace-id right-most 7 bytes random

  constexpr TraceFlags() noexcept = default;
  constexpr explicit TraceFlags(std::uint8_t bits) noexcept : bits_(bits) {}

  constexpr bool sampled() const noexcept { return (bits_ & kSampled) != 0; }
  constexpr bool random() const noexcept { return (bits_ & kRandom) != 0; }
  constexpr TraceFlags with_sampled(bool on) const noexcept {
    return TraceFlags(static_cast<std::uint8_t>(on ? bits_ | kSampled : bits_ & ~kSampled));
  }
  constexpr TraceFlags with_random(bool on) const noexcept {
    return TraceFlags(static_cast<std::uint8_t>(on ? bits_ | kRandom : bits_ & ~kRandom));
  }
  constexpr std::uint8_t bits() const noexcept { return bits_; }

  std::string to_hex() const {
    std::string s(2, '\0');
    detail::encode_hex(&bits_, 1, s.data());
    return s;
  }

  friend constexpr bool operator==(TraceFlags, TraceFlags) noexcept = default;

 private:
  std::uint8_t bits_ = 0;
};

}  // namespace krishiv::trace
