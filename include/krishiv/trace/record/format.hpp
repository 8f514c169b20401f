#pragma once
// The span record format: one contiguous byte record per finished span.
//
// A span is recorded as a fixed 56-byte header followed by a compact body. Records are written
// once, at span end, into per-thread buffers (pipeline/front_end.hpp) and are immutable
// afterwards; exporters never see live spans, only views over records (record/view.hpp).
//
// Body layout:
//   0. the duration in clock ticks, a varint (2-3 bytes for most spans, where an end time would
//      take 8: buffer bytes per span are what bounds how many spans a queue holds);
//   1. the values of the span's schema fields, untagged, in schema order (the schema names them
//      and gives their types, so a schema span pays neither keys nor type tags);
//   2. tagged items until the end of the record (Item below).
// Integers are zigzag LEB128 varints (ids and counters are small: 1-4 bytes instead of 8);
// doubles are 8 bytes little-endian, unaligned (read with memcpy); lengths are LEB128 varints.
// Times are raw clock ticks, converted to unix ns when read (clock.hpp).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "krishiv/trace/detail/varint.hpp"
#include "krishiv/trace/field.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/span_kind.hpp"
#include "krishiv/trace/status.hpp"

namespace krishiv::trace::detail {

enum class Item : std::uint8_t {
  Name = 1,           // str: the name of a span without a schema
  Attribute = 2,      // str key, value
  Event = 3,          // i64 ticks, str name, varint n, varint dropped, n x (str key, value)
  Link = 4,           // 16 trace id, 8 span id, u8 flags, u8 remote, str trace_state,
                      // varint n, varint dropped, n x (str key, value)
  StatusMessage = 5,  // str
  TraceState = 6,     // str: the span's serialized tracestate
  Dropped = 7,        // varint attributes, varint events, varint links
  DeadAttribute = 8,  // an attribute overwritten later (same layout as Attribute)
};

// RecordHeader::bits: what the record has, so readers skip the scan of the body for what a span
// does not have (most spans have none of the optional items). Every record carries them: the
// writer that adds an item sets its bit (record/writer.hpp).
inline constexpr std::uint8_t kHasParent = 0x01;
inline constexpr std::uint8_t kParentRemoteKnown = 0x02;
inline constexpr std::uint8_t kParentRemote = 0x04;
inline constexpr std::uint8_t kHasEvents = 0x08;
inline constexpr std::uint8_t kHasLinks = 0x10;
inline constexpr std::uint8_t kHasStatusMessage = 0x20;
inline constexpr std::uint8_t kHasTraceState = 0x40;
inline constexpr std::uint8_t kHasDropped = 0x80;

struct RecordHeader {
  std::uint32_t size;  // header + body, bytes
  std::uint8_t kind;
  std::uint8_t flags;   // W3C trace flags
  std::uint8_t status;  // StatusCode
  std::uint8_t bits;    // kHas*, kParent*
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;
  std::int64_t start;        // clock ticks; the duration opens the body
  const SchemaInfo* schema;  // static; nullptr when the name is in the body
};
static_assert(sizeof(RecordHeader) == 56);
static_assert(std::is_trivially_copyable_v<RecordHeader>);

// The largest record: a span's long strings are cut to fit (Span), and a span whose record would
// still be larger is dropped and counted as too large. Well under the OTLP exporter's 4 MiB
// request (and the 4 MiB a gRPC receiver accepts by default), so every recorded span fits one.
inline constexpr std::size_t kMaxRecordBytes = std::size_t{1} << 20;

// The size of the record at p (its first field), to step to the next one.
inline std::uint32_t record_size(const std::uint8_t* p) noexcept {
  std::uint32_t n;
  std::memcpy(&n, p, sizeof n);
  return n;
}

// The duration that opens a record's body: ticks from start to end, never negative (the fallback
// clock is CLOCK_REALTIME, which can step back).
constexpr std::uint64_t duration_ticks(std::int64_t start, std::int64_t end) noexcept {
  return end > start ? static_cast<std::uint64_t>(end - start) : 0;
}

// Reading. Bounds are trusted: records are produced by this library only.
struct Reader {
  const std::uint8_t* p;
  const std::uint8_t* end;

  bool done() const noexcept { return p >= end; }
  std::uint8_t u8() noexcept { return *p++; }
  std::uint64_t varint() noexcept {
    std::uint64_t v = 0;
    int shift = 0;
    std::uint8_t b;
    do {
      b = *p++;
      v |= std::uint64_t{b & 0x7Fu} << shift;
      shift += 7;
    } while (b & 0x80);
    return v;
  }
  std::int64_t sint() noexcept { return unzigzag(varint()); }
  template <typename T>
  T raw() noexcept {
    T v;
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return v;
  }
  std::string_view str() noexcept {
    const auto n = static_cast<std::size_t>(varint());
    std::string_view s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
};

// Skips one value of the given type; returns the position after it.
inline const std::uint8_t* skip_value(ValueType t, const std::uint8_t* p) noexcept;

inline const std::uint8_t* skip_tagged_value(const std::uint8_t* p) noexcept {
  const auto t = static_cast<ValueType>(*p);
  return skip_value(t, p + 1);
}

inline const std::uint8_t* skip_value(ValueType t, const std::uint8_t* p) noexcept {
  Reader r{p, nullptr};
  switch (t) {
    case ValueType::Bool:
      return p + 1;
    case ValueType::Int:
      while (*p & 0x80) ++p;
      return p + 1;
    case ValueType::Double:
      return p + 8;
    case ValueType::String:
    case ValueType::Bytes:
      r.str();
      return r.p;
    case ValueType::Array: {
      auto n = r.varint();
      const std::uint8_t* q = r.p;
      while (n-- > 0) q = skip_tagged_value(q);
      return q;
    }
    case ValueType::KvList: {
      auto n = r.varint();
      while (n-- > 0) {
        r.str();
        r.p = skip_tagged_value(r.p);
      }
      return r.p;
    }
  }
  return p;
}

// Skips n (key, tagged value) pairs.
inline const std::uint8_t* skip_attributes(const std::uint8_t* p, std::uint64_t n) noexcept {
  Reader r{p, nullptr};
  for (; n > 0; --n) {
    r.str();
    r.p = skip_tagged_value(r.p);
  }
  return r.p;
}

// Skips one tagged item's payload (p is just past the tag byte); returns the next tag.
inline const std::uint8_t* skip_item(Item item, const std::uint8_t* p) noexcept {
  Reader r{p, nullptr};
  switch (item) {
    case Item::Name:
    case Item::StatusMessage:
    case Item::TraceState:
      r.str();
      return r.p;
    case Item::Attribute:
    case Item::DeadAttribute:
      r.str();
      return skip_tagged_value(r.p);
    case Item::Event: {
      r.p += 8;
      r.str();
      auto n = r.varint();
      r.varint();
      return skip_attributes(r.p, n);
    }
    case Item::Link: {
      r.p += 26;
      r.str();
      auto n = r.varint();
      r.varint();
      return skip_attributes(r.p, n);
    }
    case Item::Dropped:
      r.varint();
      r.varint();
      r.varint();
      return r.p;
  }
  return r.p;
}

}  // namespace krishiv::trace::detail
