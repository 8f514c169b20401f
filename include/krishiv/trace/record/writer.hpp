#pragma once
// Writes span records (layout in record/format.hpp): the body items as a span collects them,
// and the one function that frames a finished record.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "krishiv/trace/attribute.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/record/format.hpp"

namespace krishiv::trace::detail {

template <typename Buf>
void put_varint(Buf& b, std::uint64_t v) {
  std::uint8_t tmp[10];
  b.append(tmp, static_cast<std::size_t>(write_varint(tmp, v) - tmp));
}

// An untagged Int value.
template <typename Buf>
void put_int(Buf& b, std::int64_t v) {
  put_varint(b, zigzag(v));
}

template <typename Buf, typename T>
void put_raw(Buf& b, const T& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  b.append(&v, sizeof(T));
}

template <typename Buf>
void put_str(Buf& b, std::string_view s) {
  put_varint(b, s.size());
  b.append(s.data(), s.size());
}

// String values are cut to the span limit passed in; the default (npos) keeps them whole.
inline constexpr std::size_t kNoLimit = std::string_view::npos;

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
void begin_array(Buf& b, std::size_t n) {
  b.push(static_cast<std::uint8_t>(ValueType::Array));
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

// The items below are optional: each sets its presence bit in the record header's `bits`.

// Event header; the caller then writes n (key, tagged value) pairs with put_key + put_natural.
template <typename Buf>
void begin_event(Buf& b, std::uint8_t& bits, std::int64_t ticks, std::string_view name,
                 std::size_t n, std::size_t dropped) {
  bits |= kHasEvents;
  b.push(static_cast<std::uint8_t>(Item::Event));
  put_raw(b, ticks);
  put_str(b, name);
  put_varint(b, n);
  put_varint(b, dropped);
}

template <typename Buf>
void begin_link(Buf& b, std::uint8_t& bits, const TraceId& trace_id, const SpanId& span_id,
                TraceFlags flags, bool remote, std::string_view trace_state, std::size_t n,
                std::size_t dropped) {
  bits |= kHasLinks;
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

// The name of a span without a schema: the first item of its body.
template <typename Buf>
void put_name(Buf& b, std::string_view name) {
  b.push(static_cast<std::uint8_t>(Item::Name));
  put_str(b, name);
}

// A later message replaces an earlier one: readers take the last.
template <typename Buf>
void put_status_message(Buf& b, std::uint8_t& bits, std::string_view message) {
  bits |= kHasStatusMessage;
  b.push(static_cast<std::uint8_t>(Item::StatusMessage));
  put_str(b, message);
}

// The span's serialized tracestate.
template <typename Buf>
void put_trace_state(Buf& b, std::uint8_t& bits, std::string_view trace_state) {
  bits |= kHasTraceState;
  b.push(static_cast<std::uint8_t>(Item::TraceState));
  put_str(b, trace_state);
}

template <typename Buf>
void put_dropped(Buf& b, std::uint8_t& bits, std::uint64_t attributes, std::uint64_t events,
                 std::uint64_t links) {
  bits |= kHasDropped;
  b.push(static_cast<std::uint8_t>(Item::Dropped));
  put_varint(b, attributes);
  put_varint(b, events);
  put_varint(b, links);
}

// The size of the record of a span with this duration and body.
inline std::size_t framed_size(std::uint64_t ticks, std::size_t body_size) noexcept {
  return sizeof(RecordHeader) + varint_size(ticks) + body_size;
}

// Frames a finished span at dst, which has room for `size` = framed_size(ticks, body_size)
// bytes: the header (its size set here), the duration, then the body. The one place a record is
// laid out, used by the recording pipeline and by tests that build records by hand.
inline void frame_record(std::uint8_t* dst, const RecordHeader& header, std::uint64_t ticks,
                         std::size_t size, const std::uint8_t* body,
                         std::size_t body_size) noexcept {
  RecordHeader h = header;
  h.size = static_cast<std::uint32_t>(size);
  std::memcpy(dst, &h, sizeof h);
  std::uint8_t* p = write_varint(dst + sizeof h, ticks);
  // Overlapping 16-byte moves instead of a call to the general memcpy: a body is usually under a
  // hundred bytes, and this runs at the end of every sampled span.
  const std::size_t n = body_size;
  if (n > 256) {
    std::memcpy(p, body, n);
  } else if (n >= 16) {
    for (std::size_t i = 0; i + 16 < n; i += 16) std::memcpy(p + i, body + i, 16);
    std::memcpy(p + n - 16, body + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(p, body, 8);
    std::memcpy(p + n - 8, body + n - 8, 8);
  } else {
    for (std::size_t i = 0; i < n; ++i) p[i] = body[i];
  }
}

}  // namespace krishiv::trace::detail
