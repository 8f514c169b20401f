#pragma once
// A minimal proto3 wire-format writer (protobuf.dev/programming-guides/encoding), standard
// library only: the hand-written OTLP encoder needs no protobuf runtime and no generated code.
//
// Length-delimited fields are written front to back in one pass over the source: begin_len()
// reserves a guessed number of bytes for the length prefix and end_len() fills it in. When the
// guess was wrong the payload slides by a byte or two; that memmove touches bytes just written
// (still in cache), which is cheaper than walking every span twice for a size pass. Prefixes are
// always minimal varints, so the output is byte-identical to protobuf's own serializer.
//
// ProtobufSizer has the same interface and only counts, for encoded_size().

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// WireType and proto_key are shared with the reader: one definition, or a TU using both fails to
// compile.
#include "krishiv/trace/detail/protobuf_reader.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/detail/varint.hpp"

namespace krishiv::trace::detail {

// Where a length-delimited payload starts, and how many prefix bytes were reserved before it.
struct LenMark {
  std::size_t start;
  std::size_t reserved;
};

// Writes into a caller-owned std::string, reusing its capacity: steady-state encoding of
// similar batches does not allocate.
class ProtobufWriter {
 public:
  explicit ProtobufWriter(std::string& out) : out_(&out) {
    // Growing to the existing capacity only zero-fills the slack past the previous contents.
    out.resize(out.capacity());
    data_ = out.data();
    cap_ = out.size();
  }
  ProtobufWriter(const ProtobufWriter&) = delete;
  ProtobufWriter& operator=(const ProtobufWriter&) = delete;

  std::size_t size() const noexcept { return pos_; }
  // Drops everything written after position n (n <= size()).
  void truncate(std::size_t n) noexcept { pos_ = n; }
  // Sets the string's size to the bytes written. No write may follow.
  void finish() { out_->resize(pos_); }

  void reserve(std::size_t n) {
    if (cap_ - pos_ < n) [[unlikely]]
      grow(n);
  }

  // ---- unchecked primitives: the caller has reserved room ----
  void put_byte(std::uint8_t b) noexcept { data_[pos_++] = static_cast<char>(b); }
  void put_varint(std::uint64_t v) noexcept {
    auto* p = reinterpret_cast<std::uint8_t*>(data_ + pos_);
    pos_ += static_cast<std::size_t>(write_varint(p, v) - p);
  }
  void put_raw(const void* p, std::size_t n) noexcept {
    std::memcpy(data_ + pos_, p, n);
    pos_ += n;
  }
  void put_fixed32(std::uint32_t v) noexcept { put_le(v); }
  void put_fixed64(std::uint64_t v) noexcept { put_le(v); }
  // t.size bytes: valid text is copied as it is, anything else repaired on the way.
  void put_text(const Utf8Text& t) noexcept {
    if (t.valid()) [[likely]] {
      put_raw(t.bytes.data(), t.bytes.size());
    } else {
      write_utf8_text(t, data_ + pos_);
      pos_ += t.size;
    }
  }

  // ---- a raw cursor, for hot paths that write many small pieces ----
  // cursor(n) reserves n bytes and returns where to write them; advance_to(end) records how far
  // the caller wrote. Bytes stored through a local pointer keep the position in a register: a
  // char store may alias anything, so stores through data_ make the compiler reload pos_ (and
  // data_) after every byte.
  char* cursor(std::size_t n) {
    reserve(n);
    return data_ + pos_;
  }
  void advance_to(const char* end) noexcept { pos_ = static_cast<std::size_t>(end - data_); }

  // ---- fields (key + value), each reserving its own room ----
  void varint_field(std::uint32_t key, std::uint64_t v) {
    reserve(5 + 10);
    put_varint(key);
    put_varint(v);
  }
  void fixed32_field(std::uint32_t key, std::uint32_t v) {
    reserve(5 + 4);
    put_varint(key);
    put_fixed32(v);
  }
  void fixed64_field(std::uint32_t key, std::uint64_t v) {
    reserve(5 + 8);
    put_varint(key);
    put_fixed64(v);
  }
  void double_field(std::uint32_t key, double v) {
    fixed64_field(key, std::bit_cast<std::uint64_t>(v));
  }
  // string and bytes fields.
  void bytes_field(std::uint32_t key, const void* p, std::size_t n) {
    reserve(5 + 10 + n);
    put_varint(key);
    put_varint(n);
    put_raw(p, n);
  }
  void bytes_field(std::uint32_t key, std::string_view s) { bytes_field(key, s.data(), s.size()); }
  // proto3 `string` fields must hold valid UTF-8 (protobuf.dev, "Scalar Value Types"): parsers
  // reject the whole message otherwise, so invalid sequences go out as U+FFFD.
  void string_field(std::uint32_t key, std::string_view s) {
    const Utf8Text t = utf8_text(s);
    reserve(5 + 10 + t.size);
    put_varint(key);
    put_varint(t.size);
    put_text(t);
  }

  // A length-delimited sub-message: begin_len(key, guess), write the payload, end_len(mark).
  // guess = the expected size of the length prefix in bytes (1..5).
  LenMark begin_len(std::uint32_t key, std::size_t guess) {
    reserve(5 + guess);
    put_varint(key);
    pos_ += guess;
    return {pos_, guess};
  }
  void end_len(LenMark m) {
    const std::size_t len = pos_ - m.start;
    const std::size_t need = varint_size(len);
    if (need != m.reserved) [[unlikely]] {
      if (need > m.reserved) reserve(need - m.reserved);
      std::memmove(data_ + m.start - m.reserved + need, data_ + m.start, len);
      pos_ = pos_ - m.reserved + need;
    }
    write_varint(reinterpret_cast<std::uint8_t*>(data_ + m.start - m.reserved), len);
  }

 private:
  template <typename T>
  void put_le(T v) noexcept {
    // Fixed-width protobuf fields are little-endian.
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(data_ + pos_, &v, sizeof v);
      pos_ += sizeof v;
    } else {
      for (std::size_t i = 0; i < sizeof v; ++i) {
        data_[pos_++] = static_cast<char>(v >> (8 * i));
      }
    }
  }
  void grow(std::size_t n) {
    std::size_t want = cap_ * 2;
    if (want < pos_ + n) want = pos_ + n;
    if (want < 4096) want = 4096;
    out_->resize(want);
    out_->resize(out_->capacity());
    data_ = out_->data();
    cap_ = out_->size();
  }

  std::string* out_;
  char* data_ = nullptr;
  std::size_t pos_ = 0;
  std::size_t cap_ = 0;
};

// Cursor primitives (ProtobufWriter::cursor): each writes at p and returns the end.
inline char* put_varint_at(char* p, std::uint64_t v) noexcept {
  auto* q = reinterpret_cast<std::uint8_t*>(p);
  return reinterpret_cast<char*>(write_varint(q, v));
}
inline char* put_raw_at(char* p, const void* src, std::size_t n) noexcept {
  std::memcpy(p, src, n);
  return p + n;
}
inline char* put_fixed64_at(char* p, std::uint64_t v) noexcept {
  // Fixed-width protobuf fields are little-endian.
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, sizeof v);
    return p + sizeof v;
  } else {
    for (std::size_t i = 0; i < sizeof v; ++i) *p++ = static_cast<char>(v >> (8 * i));
    return p;
  }
}
// t.size bytes: valid text as it is, anything else repaired.
inline char* put_text_at(char* p, const Utf8Text& t) noexcept {
  if (t.valid()) [[likely]]
    return put_raw_at(p, t.bytes.data(), t.bytes.size());
  write_utf8_text(t, p);
  return p + t.size;
}

// Counts the bytes ProtobufWriter would write.
class ProtobufSizer {
 public:
  std::size_t size() const noexcept { return pos_; }
  void reserve(std::size_t) noexcept {}

  void put_byte(std::uint8_t) noexcept { ++pos_; }
  void put_varint(std::uint64_t v) noexcept { pos_ += varint_size(v); }
  void put_raw(const void*, std::size_t n) noexcept { pos_ += n; }
  void put_fixed64(std::uint64_t) noexcept { pos_ += 8; }
  void put_text(const Utf8Text& t) noexcept { pos_ += t.size; }

  void varint_field(std::uint32_t key, std::uint64_t v) noexcept {
    pos_ += varint_size(key) + varint_size(v);
  }
  void fixed32_field(std::uint32_t key, std::uint32_t) noexcept { pos_ += varint_size(key) + 4; }
  void fixed64_field(std::uint32_t key, std::uint64_t) noexcept { pos_ += varint_size(key) + 8; }
  void double_field(std::uint32_t key, double) noexcept { pos_ += varint_size(key) + 8; }
  void bytes_field(std::uint32_t key, const void*, std::size_t n) noexcept {
    pos_ += varint_size(key) + varint_size(n) + n;
  }
  void bytes_field(std::uint32_t key, std::string_view s) noexcept {
    bytes_field(key, s.data(), s.size());
  }
  void string_field(std::uint32_t key, std::string_view s) noexcept {
    bytes_field(key, nullptr, utf8_text(s).size);
  }

  LenMark begin_len(std::uint32_t key, std::size_t) noexcept {
    pos_ += varint_size(key);
    return {pos_, 0};
  }
  void end_len(LenMark m) noexcept { pos_ += varint_size(pos_ - m.start); }

 private:
  std::size_t pos_ = 0;
};

}  // namespace krishiv::trace::detail
