#pragma once
// Writes the body items of a span record (layout in span_record.hpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "krishiv/trace/attribute.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/record/format.hpp"

namespace krishiv::trace::detail {

inline constexpr std::size_t kNoLimit = static_cast<std::size_t>(-1);

template <typename Buf>
void put_tagged(Buf& b, bool v, std::size_t = kNoLimit) {
  b.push(static_cast<std::uint8_t>(ValueType::Bool));
  b.push(v ? 1 : 0);
}
template <typename Buf>
void put_tagged(Buf& b, std::int64_t v, std::size_t = kNoLimit) {
  b.push(static_cast<std::uint8_t>(ValueType::Int));
  put_int(b, v);
}
template <typename Buf>
void put_tagged(Buf& b, double v, std::size_t = kNoLimit) {
  b.push(static_cast<std::uint8_t>(ValueType::Double));
  put_raw(b, v);
}
template <typename Buf>
void put_tagged(Buf& b, std::string_view v, std::size_t limit = kNoLimit) {
  b.push(static_cast<std::uint8_t>(ValueType::String));
  put_str(b, truncate_utf8(v, limit));
}
template <typename Buf>
void put_tagged_bytes(Buf& b, std::string_view v) {
  b.push(static_cast<std::uint8_t>(ValueType::Bytes));
  put_str(b, v);
}
template <typename Buf>
void begin_array(Buf& b, std::size_t n) {
  b.push(static_cast<std::uint8_t>(ValueType::Array));
  put_varint(b, n);
}
template <typename Buf>
void begin_kvlist(Buf& b, std::size_t n) {
  b.push(static_cast<std::uint8_t>(ValueType::KvList));
  put_varint(b, n);
}
template <typename Buf, typename T>
void put_tagged(Buf& b, const std::vector<T>& v, std::size_t limit = kNoLimit) {
  begin_array(b, v.size());
  for (const auto& e : v) {
    if constexpr (std::is_same_v<T, bool>) {
      put_tagged(b, static_cast<bool>(e), limit);
    } else if constexpr (std::is_same_v<T, std::string>) {
      put_tagged(b, std::string_view(e), limit);
    } else {
      put_tagged(b, e, limit);
    }
  }
}
template <typename Buf>
void put_tagged(Buf& b, const AttributeValue& v, std::size_t limit = kNoLimit) {
  std::visit(
      [&](const auto& x) {
        using X = std::remove_cvref_t<decltype(x)>;
        if constexpr (std::is_same_v<X, std::string>) {
          put_tagged(b, std::string_view(x), limit);
        } else {
          put_tagged(b, x, limit);
        }
      },
      v);
}

// Any value spelled naturally in C++: integers widen to int64, floats to double, anything
// convertible to string_view is a string.
template <typename Buf, typename T>
void put_natural(Buf& b, const T& v, std::size_t limit = kNoLimit) {
  using D = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<D, bool>) {
    put_tagged(b, v, limit);
  } else if constexpr (std::is_integral_v<D> || std::is_enum_v<D>) {
    put_tagged(b, static_cast<std::int64_t>(v), limit);
  } else if constexpr (std::is_floating_point_v<D>) {
    put_tagged(b, static_cast<double>(v), limit);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    put_tagged(b, std::string_view(v), limit);
  } else {
    put_tagged(b, v, limit);
  }
}

template <typename Buf, typename T>
void put_attribute(Buf& b, std::string_view key, const T& v, std::size_t limit = kNoLimit) {
  b.push(static_cast<std::uint8_t>(Item::Attribute));
  put_str(b, key);
  put_natural(b, v, limit);
}

// Event header; the caller then writes n (key, tagged value) pairs with put_key + put_natural.
template <typename Buf>
void begin_event(Buf& b, std::int64_t ticks, std::string_view name, std::size_t n,
                 std::size_t dropped) {
  b.push(static_cast<std::uint8_t>(Item::Event));
  put_raw(b, ticks);
  put_str(b, name);
  put_varint(b, n);
  put_varint(b, dropped);
}

template <typename Buf>
void begin_link(Buf& b, const TraceId& trace_id, const SpanId& span_id, TraceFlags flags,
                bool remote, std::string_view trace_state, std::size_t n, std::size_t dropped) {
  b.push(static_cast<std::uint8_t>(Item::Link));
  put_raw(b, trace_id);
  put_raw(b, span_id);
  b.push(flags.bits());
  b.push(remote ? 1 : 0);
  put_str(b, trace_state);
  put_varint(b, n);
  put_varint(b, dropped);
}

template <typename Buf>
void put_key(Buf& b, std::string_view key) {
  put_str(b, key);
}

template <typename Buf>
void put_string_item(Buf& b, Item item, std::string_view s) {
  b.push(static_cast<std::uint8_t>(item));
  put_str(b, s);
}

template <typename Buf>
void put_dropped(Buf& b, std::uint64_t attributes, std::uint64_t events, std::uint64_t links) {
  b.push(static_cast<std::uint8_t>(Item::Dropped));
  put_varint(b, attributes);
  put_varint(b, events);
  put_varint(b, links);
}

// Appends a complete record: the header (its size set here), the duration, then the body bytes.
template <typename Buf>
void append_record(Buf& out, RecordHeader h, std::int64_t end, const std::uint8_t* body,
                   std::size_t body_size) {
  std::uint8_t duration[10];
  const auto n =
      static_cast<std::size_t>(write_varint(duration, duration_ticks(h.start, end)) - duration);
  h.size = static_cast<std::uint32_t>(sizeof(RecordHeader) + n + body_size);
  out.append(&h, sizeof h);
  out.append(duration, n);
  out.append(body, body_size);
}

// A growable byte vector that satisfies the Buf interface (tests, exporters' scratch).
struct ByteVector {
  std::vector<std::uint8_t> bytes;
  void append(const void* p, std::size_t n) {
    const auto* c = static_cast<const std::uint8_t*>(p);
    bytes.insert(bytes.end(), c, c + n);
  }
  void push(std::uint8_t b) { bytes.push_back(b); }
  std::size_t size() const noexcept { return bytes.size(); }
  const std::uint8_t* data() const noexcept { return bytes.data(); }
};

}  // namespace krishiv::trace::detail
