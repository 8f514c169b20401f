#pragma once
// Lowercase hex encoding and strict decoding, shared by ids and the W3C parsers.

#include <cstddef>
#include <cstdint>

namespace krishiv::trace::detail {

inline constexpr char kHexDigits[] = "0123456789abcdef";

// Value of a lowercase hex digit, or -1. W3C Trace Context (HEXDIGLC) forbids uppercase.
constexpr int hex_value_lc(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Writes 2*n hex characters for n bytes.
constexpr void encode_hex(const std::uint8_t* in, std::size_t n, char* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHexDigits[in[i] >> 4];
    out[2 * i + 1] = kHexDigits[in[i] & 0xF];
  }
}

// Decodes 2*n lowercase hex characters into n bytes; false on any other character.
constexpr bool decode_hex_lc(const char* in, std::size_t n, std::uint8_t* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const int hi = hex_value_lc(in[2 * i]);
    const int lo = hex_value_lc(in[2 * i + 1]);
    if ((hi | lo) < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

}  // namespace krishiv::trace::detail
