#pragma once
// A minimal protobuf wire-format reader for the few small messages krishiv-trace decodes itself
// (ExportTraceServiceResponse, google.rpc.Status, RetryInfo). Standard library only, no
// allocation, and every read is bounds-checked: the bytes come from the network, so malformed
// input must end the loop cleanly (ok() turns false) rather than read past the buffer.
//
// Usage:
//   ProtoReader r(bytes);
//   while (r.next()) {
//     if (r.key() == proto_key(1, WireType::Len)) use(r.bytes());
//   }
//   if (!r.ok()) { /* malformed */ }
//
// Unknown fields are skipped by next(), as proto3 requires of readers.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace krishiv::trace::detail {

enum class WireType : std::uint8_t {
  Varint = 0,
  I64 = 1,
  Len = 2,
  StartGroup = 3,  // proto2 groups: skipped, never produced by proto3 senders
  EndGroup = 4,
  I32 = 5,
};

// The field key: varint((field_number << 3) | wire_type). Field numbers are below 2^29, so a key
// fits 32 bits.
constexpr std::uint32_t proto_key(std::uint32_t field, WireType wt) noexcept {
  return (field << 3) | static_cast<std::uint32_t>(wt);
}

// Reads a base-128 varint from the front of `in` and advances it. False on truncation or on a
// varint longer than 10 bytes / wider than 64 bits (protobuf encoding spec, "Base 128 Varints").
inline bool read_varint(std::string_view& in, std::uint64_t& out) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (in.empty()) return false;
    const auto b = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    if (i == 9 && b > 1) return false;  // the 10th byte holds only bit 63
    v |= std::uint64_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80u) == 0) {
      out = v;
      return true;
    }
  }
  return false;
}

inline bool read_fixed(std::string_view& in, std::size_t n, std::uint64_t& out) noexcept {
  if (in.size() < n) return false;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    v |= std::uint64_t{static_cast<std::uint8_t>(in[i])} << (8 * i);  // little-endian
  }
  in.remove_prefix(n);
  out = v;
  return true;
}

class ProtoReader {
 public:
  explicit ProtoReader(std::string_view bytes) noexcept : in_(bytes) {}

  // Moves to the next field and reads its value. Returns false at the end of the input or on
  // malformed input; ok() tells the two apart.
  bool next() noexcept {
    while (ok_ && !in_.empty()) {
      std::uint32_t field = 0;
      WireType wt{};
      if (!read_tag(field, wt)) return fail();
      if (wt == WireType::StartGroup) {
        if (!skip_group(field)) return fail();
        continue;
      }
      if (wt == WireType::EndGroup) return fail();  // unbalanced
      if (!read_value(wt)) return fail();
      field_ = field;
      wire_type_ = wt;
      return true;
    }
    return false;
  }

  bool ok() const noexcept { return ok_; }
  std::uint32_t field() const noexcept { return field_; }
  WireType wire_type() const noexcept { return wire_type_; }
  // Field number and wire type together, to compare with a proto_key().
  std::uint32_t key() const noexcept { return proto_key(field_, wire_type_); }

  // The value of the current field, by wire type; each returns 0 / empty for another wire type,
  // so a sender using an unexpected type for a known field reads as the default value.
  std::uint64_t varint() const noexcept { return wire_type_ == WireType::Varint ? scalar_ : 0; }
  std::uint64_t fixed64() const noexcept { return wire_type_ == WireType::I64 ? scalar_ : 0; }
  std::string_view bytes() const noexcept {
    return wire_type_ == WireType::Len ? len_ : std::string_view{};
  }
  // int64/int32 fields are two's complement, not zigzag (proto3 "int64").
  std::int64_t int64() const noexcept { return static_cast<std::int64_t>(varint()); }

 private:
  // Field numbers are 1..2^29-1 (protobuf language guide, "Assigning Field Numbers").
  static constexpr std::uint64_t kMaxField = (1u << 29) - 1;
  // Bounds the work on hostile nested groups.
  static constexpr int kMaxGroupDepth = 32;

  bool fail() noexcept {
    ok_ = false;
    return false;
  }

  bool read_tag(std::uint32_t& field, WireType& wt) noexcept {
    std::uint64_t tag = 0;
    if (!read_varint(in_, tag)) return false;
    const std::uint64_t f = tag >> 3;
    const auto t = static_cast<std::uint8_t>(tag & 7u);
    if (f == 0 || f > kMaxField || t > 5) return false;
    field = static_cast<std::uint32_t>(f);
    wt = static_cast<WireType>(t);
    return true;
  }

  bool read_value(WireType wt) noexcept {
    switch (wt) {
      case WireType::Varint:
        return read_varint(in_, scalar_);
      case WireType::I64:
        return read_fixed(in_, 8, scalar_);
      case WireType::I32:
        return read_fixed(in_, 4, scalar_);
      case WireType::Len: {
        std::uint64_t n = 0;
        if (!read_varint(in_, n) || n > in_.size()) return false;
        len_ = in_.substr(0, static_cast<std::size_t>(n));
        in_.remove_prefix(static_cast<std::size_t>(n));
        return true;
      }
      default:
        return false;
    }
  }

  bool skip_group(std::uint32_t field) noexcept {
    std::uint32_t open[kMaxGroupDepth];
    int depth = 0;
    open[depth++] = field;
    while (depth > 0) {
      std::uint32_t f = 0;
      WireType wt{};
      if (!read_tag(f, wt)) return false;
      if (wt == WireType::StartGroup) {
        if (depth == kMaxGroupDepth) return false;
        open[depth++] = f;
      } else if (wt == WireType::EndGroup) {
        if (open[--depth] != f) return false;
      } else if (!read_value(wt)) {
        return false;
      }
    }
    return true;
  }

  std::string_view in_;
  bool ok_ = true;
  std::uint32_t field_ = 0;
  WireType wire_type_ = WireType::Varint;
  std::uint64_t scalar_ = 0;
  std::string_view len_;
};

}  // namespace krishiv::trace::detail
