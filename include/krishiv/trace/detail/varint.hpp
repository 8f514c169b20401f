#pragma once
// LEB128 varints and zigzag, shared by span records and the protobuf writer (same wire rules:
// protobuf.dev/programming-guides/encoding, "Base 128 Varints" and "Signed Integers").

#include <bit>
#include <cstddef>
#include <cstdint>

namespace krishiv::trace::detail {

constexpr std::size_t varint_size(std::uint64_t v) noexcept {
  return (static_cast<std::size_t>(std::bit_width(v | 1)) + 6) / 7;
}

// Writes v at p, which has room for varint_size(v) bytes; returns the end.
inline std::uint8_t* write_varint(std::uint8_t* p, std::uint64_t v) noexcept {
  while (v >= 0x80) {
    *p++ = static_cast<std::uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<std::uint8_t>(v);
  return p;
}

// Small magnitudes of either sign become small unsigned values (-1 → 1, 1 → 2).
constexpr std::uint64_t zigzag(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int64_t unzigzag(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

}  // namespace krishiv::trace::detail
