#pragma once
// Text helpers shared by the W3C parsers, the environment readers and the exporters: ASCII case
// and classes, hex, optional whitespace, percent-decoding and UTF-8. Every input is treated as
// bytes; nothing here depends on the locale.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace krishiv::trace::detail {

// ---- ASCII ----

constexpr bool is_ascii_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

constexpr bool is_ascii_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// ASCII lowercase copy. OpenTelemetry enum values (sdk-environment-variables.md, "Enum"), HTTP
// field names and URI schemes are case-insensitive; bytes outside A-Z are kept as they are.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// ---- hex ----

inline constexpr char kHexDigits[] = "0123456789abcdef";

// Value of a lowercase hex digit, or -1. W3C Trace Context (HEXDIGLC) forbids uppercase.
constexpr int hex_value_lc(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A hex digit of either case, or -1: RFC 3986 §2.1 makes "%2c" and "%2C" equivalent.
constexpr int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Writes 2*n lowercase hex characters for n bytes.
constexpr void encode_hex(const std::uint8_t* in, std::size_t n, char* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHexDigits[in[i] >> 4];
    out[2 * i + 1] = kHexDigits[in[i] & 0xF];
  }
}

// Decodes a fixed-width field of 2*n lowercase hex characters into n bytes; false on any other
// character. Without a branch per character: the ids in a traceparent are random, so "digit or
// letter?" would mispredict on about every third character of every header a server receives.
constexpr bool decode_hex_lc(const char* in, std::size_t n, std::uint8_t* out) noexcept {
  unsigned bad = 0;
  const auto nibble = [&bad](char ch) {
    const auto c = static_cast<unsigned>(static_cast<unsigned char>(ch));
    const bool digit = c - '0' < 10u;
    const bool letter = c - 'a' < 6u;
    bad |= static_cast<unsigned>(!(digit | letter));
    // '0'-'9' are 0x30-0x39 and 'a'-'f' 0x61-0x66: the low nibble, plus 9 for letters (bit 6).
    return (c & 0xFu) + 9u * (c >> 6);
  };
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<std::uint8_t>((nibble(in[2 * i]) << 4) | nibble(in[2 * i + 1]));
  }
  return bad == 0;
}

// 'x' for printable ASCII, 0xNN otherwise: a diagnostic naming a character stays one readable
// line whatever the character is.
inline std::string describe_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7F) return std::string{'\'', c, '\''};
  constexpr std::string_view kDigits = "0123456789ABCDEF";
  return std::string{'0', 'x', kDigits[u >> 4], kDigits[u & 0xF]};
}

// ---- optional whitespace ----

// RFC 9110 §5.6.3 OWS: spaces and horizontal tabs, trimmed around W3C header values, list
// members and OTEL_* configuration values alike.
constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// ---- percent-encoding ----

// RFC 3986 §2.1 percent-decoding: %XX (either case) becomes the byte, every other character,
// '+' included, stays as it is. The result is bytes, not necessarily UTF-8: callers that need
// text repair it (append_utf8_replacing_invalid). nullopt when a '%' is not followed by two hex
// digits.
inline std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_digit_value(s[i + 1]);
    const int lo = hex_digit_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>((hi << 4) | lo);
    i += 2;
  }
  return out;
}

// ---- UTF-8 ----

// The sequence at the start of a non-empty `s`: `size` bytes forming one well-formed UTF-8
// sequence when `valid`, else the maximal subpart of an ill-formed one (at least one byte), the
// unit that Unicode §3.9 "U+FFFD Substitution of Maximal Subparts" replaces.
struct Utf8Sequence {
  std::size_t size;
  bool valid;
};

constexpr Utf8Sequence scan_utf8(std::string_view s) noexcept {
  const auto b = static_cast<unsigned char>(s[0]);
  if (b < 0x80) return {1, true};
  // Well-formed sequences (Unicode Table 3-7): the lead byte fixes the length and the range of
  // the second byte; later bytes are always 80..BF. This excludes overlong forms, surrogates
  // and code points beyond U+10FFFF.
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b == 0xE0) {
    need = 2, lo = 0xA0;
  } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
    need = 2;
  } else if (b == 0xED) {
    need = 2, hi = 0x9F;
  } else if (b == 0xF0) {
    need = 3, lo = 0x90;
  } else if (b >= 0xF1 && b <= 0xF3) {
    need = 3;
  } else if (b == 0xF4) {
    need = 3, hi = 0x8F;
  }
  std::size_t got = 0;
  while (got < need && 1 + got < s.size()) {
    const auto c = static_cast<unsigned char>(s[1 + got]);
    if (c < (got == 0 ? lo : 0x80) || c > (got == 0 ? hi : 0xBF)) break;
    ++got;
  }
  return {1 + got, need > 0 && got == need};
}

// Length of the well-formed UTF-8 sequence at the start of a non-empty `s`, and its code point;
// 0 when the bytes are not UTF-8 (stray continuation, overlong form, surrogate, beyond
// U+10FFFF, cut off).
constexpr std::size_t decode_utf8(std::string_view s, std::uint32_t& cp) noexcept {
  const Utf8Sequence seq = scan_utf8(s);
  if (!seq.valid) return 0;
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (seq.size == 1) {
    cp = b0;
    return 1;
  }
  // The lead byte keeps 5, 4 or 3 payload bits for a sequence of 2, 3 or 4 bytes.
  cp = b0 & (0xFFu >> (seq.size + 1));
  for (std::size_t i = 1; i < seq.size; ++i) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[i]) & 0x3Fu);
  }
  return seq.size;
}

// Appends `in`, replacing each maximal ill-formed UTF-8 subpart with U+FFFD (Unicode §3.9,
// "U+FFFD Substitution of Maximal Subparts"). W3C Baggage, "value": decoded octet sequences that
// are not UTF-8 MUST become the replacement code point, so they are not an error.
inline void append_utf8_replacing_invalid(std::string_view in, std::string& out) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  while (!in.empty()) {
    const Utf8Sequence seq = scan_utf8(in);
    if (seq.valid) {
      out.append(in.substr(0, seq.size));
    } else {
      out += kReplacement;
    }
    in.remove_prefix(seq.size);
  }
}

// Whether n bytes at p are all ASCII, read 8 (or 4) at a time with the last read overlapping the
// one before: no byte-by-byte tail, which dominates for the short strings spans are made of.
inline bool is_ascii(const char* p, std::size_t n) noexcept {
  constexpr std::uint64_t kHigh64 = 0x8080808080808080u;
  constexpr std::uint32_t kHigh32 = 0x80808080u;
  if (n >= 8) {
    std::uint64_t block;
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&block, p + i, 8);
      if ((block & kHigh64) != 0) return false;
    }
    std::memcpy(&block, p + n - 8, 8);
    return (block & kHigh64) == 0;
  }
  if (n >= 4) {
    std::uint32_t head, tail;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    return ((head | tail) & kHigh32) == 0;
  }
  unsigned acc = 0;
  for (std::size_t i = 0; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
  return acc < 0x80;
}

// Length of the longest prefix of `s` that is well-formed UTF-8 (s.size() when all of it is).
// The encoder runs this over every string it sends, and most are ASCII: that is checked first,
// in blocks, and only other text is decoded sequence by sequence.
inline std::size_t utf8_valid_prefix(std::string_view s) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  if (is_ascii(p, n)) [[likely]]
    return n;
  std::size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {
      std::uint64_t block;
      std::memcpy(&block, p + i, 8);
      const std::uint64_t high = block & 0x8080808080808080u;
      if (high == 0) {
        i += 8;
        continue;
      }
      // Straight to the first non-ASCII byte (the lowest-addressed is the lowest-order one).
      if constexpr (std::endian::native == std::endian::little) {
        i += static_cast<std::size_t>(std::countr_zero(high)) / 8;
      }
    }
    if (static_cast<unsigned char>(p[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Sequence seq = scan_utf8(std::string_view(p + i, n - i));
    if (!seq.valid) return i;
    i += seq.size;
  }
  return n;
}

// A string about to be sent as text, with the size it has once every ill-formed subpart is
// replaced by U+FFFD (as append_utf8_replacing_invalid does). Writers that need lengths before
// bytes (protobuf's length prefixes) measure once and copy once.
struct Utf8Text {
  std::string_view bytes;
  std::size_t valid_prefix;  // bytes.size() when the whole string is valid
  std::size_t size;          // after replacement

  bool valid() const noexcept { return valid_prefix == bytes.size(); }
};

// The repaired size of s, whose first `valid` bytes are valid UTF-8 and the next are not.
inline std::size_t utf8_repaired_size(std::string_view s, std::size_t valid) noexcept {
  std::size_t size = valid;
  for (std::string_view rest = s.substr(valid); !rest.empty();) {
    const Utf8Sequence seq = scan_utf8(rest);
    size += seq.valid ? seq.size : 3;
    rest.remove_prefix(seq.size);
  }
  return size;
}

// Small enough to inline: only the check runs for valid text.
inline Utf8Text utf8_text(std::string_view s) noexcept {
  const std::size_t valid = utf8_valid_prefix(s);
  if (valid == s.size()) [[likely]]
    return {s, valid, valid};
  return {s, valid, utf8_repaired_size(s, valid)};
}

// Writes t.size bytes at `out`: the text, each maximal ill-formed subpart replaced by U+FFFD.
inline void write_utf8_text(const Utf8Text& t, char* out) noexcept {
  if (t.valid_prefix != 0) std::memcpy(out, t.bytes.data(), t.valid_prefix);
  out += t.valid_prefix;
  for (std::string_view rest = t.bytes.substr(t.valid_prefix); !rest.empty();) {
    const Utf8Sequence seq = scan_utf8(rest);
    if (seq.valid) {
      std::memcpy(out, rest.data(), seq.size);
      out += seq.size;
    } else {
      std::memcpy(out, "\xEF\xBF\xBD", 3);
      out += 3;
    }
    rest.remove_prefix(seq.size);
  }
}

// The longest prefix of at most `limit` bytes that does not end inside a UTF-8 sequence, so a
// value truncated to a length limit (OpenTelemetry: attribute value length limit) stays valid
// UTF-8 when the input was.
inline std::string_view truncate_utf8(std::string_view s, std::size_t limit) noexcept {
  if (s.size() <= limit) return s;
  std::size_t n = limit;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// ---- diagnostics ----

// Longest value (in input bytes) a diagnostic quotes; the rest is shown as "...".
inline constexpr std::size_t kMaxLoggedValueBytes = 512;

// `s` made safe to print inside one diagnostic line: backslash, double quote, tab, CR, LF and
// every other control character escaped (C-style, \xNN), as are bytes that are not UTF-8 and the
// code points some viewers take as a line break (C1 controls such as NEL, U+2028, U+2029) or
// use to reorder text (bidirectional overrides and isolates). Values from the environment or
// from a collector cannot forge a second log line this way. Truncated at a UTF-8 boundary.
// With `quotes` false, '"' and '\\' stay as they are: for whole messages (one_line), which quote
// their values themselves.
inline std::string escape_for_log(std::string_view s, std::size_t max_bytes = kMaxLoggedValueBytes,
                                  bool quotes = true) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  const std::string_view shown = truncate_utf8(s, max_bytes);
  std::string out;
  out.reserve(shown.size() + 8);
  auto hex_byte = [&](unsigned char b) {
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  };
  for (std::string_view rest = shown; !rest.empty();) {
    const auto b = static_cast<unsigned char>(rest[0]);
    if (b < 0x80) {
      switch (b) {
        case '\\':
          out += quotes ? "\\\\" : "\\";
          break;
        case '"':
          out += quotes ? "\\\"" : "\"";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\n':
          out += "\\n";
          break;
        default:
          if (b < 0x20 || b == 0x7F) {
            hex_byte(b);
          } else {
            out += static_cast<char>(b);
          }
      }
      rest.remove_prefix(1);
      continue;
    }
    const Utf8Sequence seq = scan_utf8(rest);
    if (!seq.valid) {
      for (std::size_t k = 0; k < seq.size; ++k) hex_byte(static_cast<unsigned char>(rest[k]));
    } else {
      std::uint32_t cp = 0;
      decode_utf8(rest, cp);
      const bool line_or_order = (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
                                 (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
      if (line_or_order) {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xF];
      } else {
        out.append(rest.substr(0, seq.size));
      }
    }
    rest.remove_prefix(seq.size);
  }
  if (shown.size() < s.size()) out += "...";
  return out;
}

// escape_for_log in double quotes: how every diagnostic shows a value it did not write itself.
inline std::string quote_for_log(std::string_view s) {
  return '"' + escape_for_log(s) + '"';
}

// A whole diagnostic message kept to one line: the safety net for text assembled from pieces
// (a gRPC status message, an error string built elsewhere), whatever they contain.
inline std::string one_line(std::string_view s) {
  return escape_for_log(s, 4096, false);
}

}  // namespace krishiv::trace::detail
