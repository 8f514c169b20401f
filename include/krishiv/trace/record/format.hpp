#pragma once
// Finished span records, and the read-only views exporters get of them.
//
// A span is recorded as one contiguous byte record: a fixed 56-byte header followed by a compact
// body. Records are written once, at span end, into per-thread buffers (batch_processor.hpp) and
// are immutable afterwards; exporters never see live spans, only SpanView over records.
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
#include <optional>
#include <string_view>
#include <type_traits>

#include "krishiv/trace/detail/varint.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/span_kind.hpp"
#include "krishiv/trace/status.hpp"

namespace krishiv::trace {

// The AnyValue kinds of OTLP (common.proto).
enum class ValueType : std::uint8_t {
  Bool = 1,
  Int = 2,
  Double = 3,
  String = 4,
  Bytes = 5,
  Array = 6,
  KvList = 7,
};

// A static description of a schema span kind: its name and typed fields (schema.hpp).
struct FieldInfo {
  std::string_view key;
  ValueType type;  // Bool, Int, Double or String
};
struct SchemaInfo {
  std::string_view name;
  const FieldInfo* fields;
  std::size_t field_count;
};

namespace detail {

// Converts clock ticks to unix nanoseconds: unix = unix0 + (ticks - tick0) * ns_per_tick.
struct TimeBase {
  std::int64_t tick0 = 0;
  std::int64_t unix0 = 0;
  double ns_per_tick = 1.0;

  std::uint64_t to_unix_ns(std::int64_t ticks) const noexcept {
    const double delta = static_cast<double>(ticks - tick0) * ns_per_tick;
    const std::int64_t ns = unix0 + static_cast<std::int64_t>(delta);
    return ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
  }
};

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

// RecordHeader::status: the StatusCode in bits 0-1, and which optional items the body holds, so
// readers skip the scan for what a span does not have (most spans have none of them). Records
// built without kItemsKnown (by hand, in tests) are scanned.
inline constexpr std::uint8_t kStatusMask = 0x03;
inline constexpr std::uint8_t kHasEvents = 0x04;
inline constexpr std::uint8_t kHasLinks = 0x08;
inline constexpr std::uint8_t kHasStatusMessage = 0x10;
inline constexpr std::uint8_t kHasTraceState = 0x20;
inline constexpr std::uint8_t kHasDropped = 0x40;
inline constexpr std::uint8_t kItemsKnown = 0x80;

// Header bits.
inline constexpr std::uint8_t kHasParent = 0x01;
inline constexpr std::uint8_t kParentRemoteKnown = 0x02;
inline constexpr std::uint8_t kParentRemote = 0x04;

struct RecordHeader {
  std::uint32_t size;  // header + body, bytes
  std::uint8_t kind;
  std::uint8_t flags;  // W3C trace flags
  std::uint8_t status;
  std::uint8_t bits;
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;
  std::int64_t start;        // clock ticks; the duration opens the body
  const SchemaInfo* schema;  // static; nullptr when the name is in the body
};
static_assert(sizeof(RecordHeader) == 56);
static_assert(std::is_trivially_copyable_v<RecordHeader>);

// The size of the record at p (its first field), to step to the next one.
inline std::uint32_t record_size(const std::uint8_t* p) noexcept {
  std::uint32_t n;
  std::memcpy(&n, p, sizeof n);
  return n;
}

// ---- writing ----------------------------------------------------------------------------------

// The duration that opens a record's body: ticks from start to end, never negative (the fallback
// clock is CLOCK_REALTIME, which can step back).
constexpr std::uint64_t duration_ticks(std::int64_t start, std::int64_t end) noexcept {
  return end > start ? static_cast<std::uint64_t>(end - start) : 0;
}

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

// ---- reading (bounds are trusted: records are produced by this library only) -----------------

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

}  // namespace detail

// ---- views ------------------------------------------------------------------------------------

// One attribute value inside a record. Valid as long as the batch that holds it.
class ValueView {
 public:
  ValueView(ValueType type, const std::uint8_t* payload) noexcept : type_(type), p_(payload) {}

  ValueType type() const noexcept { return type_; }
  bool as_bool() const noexcept { return *p_ != 0; }
  std::int64_t as_int() const noexcept { return detail::Reader{p_, nullptr}.sint(); }
  double as_double() const noexcept { return load<double>(); }
  // String and Bytes.
  std::string_view as_string() const noexcept { return detail::Reader{p_, nullptr}.str(); }

  // Array: f(ValueView) per element.
  template <typename F>
  void for_each_element(F&& f) const {
    detail::Reader r{p_, nullptr};
    for (auto n = r.varint(); n > 0; --n) {
      const auto t = static_cast<ValueType>(r.u8());
      f(ValueView(t, r.p));
      r.p = detail::skip_value(t, r.p);
    }
  }
  std::size_t element_count() const noexcept {
    return static_cast<std::size_t>(detail::Reader{p_, nullptr}.varint());
  }
  // KvList: f(std::string_view key, ValueView value) per entry.
  template <typename F>
  void for_each_entry(F&& f) const {
    detail::Reader r{p_, nullptr};
    for (auto n = r.varint(); n > 0; --n) {
      const auto key = r.str();
      const auto t = static_cast<ValueType>(r.u8());
      f(key, ValueView(t, r.p));
      r.p = detail::skip_value(t, r.p);
    }
  }

 private:
  template <typename T>
  T load() const noexcept {
    T v;
    std::memcpy(&v, p_, sizeof(T));
    return v;
  }
  ValueType type_;
  const std::uint8_t* p_;
};

namespace detail {
// Reads n (key, tagged value) pairs, calling f(key, ValueView).
template <typename F>
void read_attributes(Reader& r, std::uint64_t n, F&& f) {
  for (; n > 0; --n) {
    const auto key = r.str();
    const auto t = static_cast<ValueType>(r.u8());
    f(key, ValueView(t, r.p));
    r.p = skip_value(t, r.p);
  }
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
      read_attributes(r, n, [](std::string_view, ValueView) {});
      return r.p;
    }
    case Item::Link: {
      r.p += 26;
      r.str();
      auto n = r.varint();
      r.varint();
      read_attributes(r, n, [](std::string_view, ValueView) {});
      return r.p;
    }
    case Item::Dropped:
      r.varint();
      r.varint();
      r.varint();
      return r.p;
  }
  return r.p;
}
}  // namespace detail

class EventView {
 public:
  EventView(const std::uint8_t* p, const detail::TimeBase* tb) noexcept : p_(p), tb_(tb) {}
  std::uint64_t time_unix_ns() const noexcept {
    std::int64_t t;
    std::memcpy(&t, p_, 8);
    return tb_->to_unix_ns(t);
  }
  std::string_view name() const noexcept { return detail::Reader{p_ + 8, nullptr}.str(); }
  std::uint32_t dropped_attributes_count() const noexcept {
    detail::Reader r{p_ + 8, nullptr};
    r.str();
    r.varint();
    return static_cast<std::uint32_t>(r.varint());
  }
  std::size_t attribute_count() const noexcept {
    detail::Reader r{p_ + 8, nullptr};
    r.str();
    return static_cast<std::size_t>(r.varint());
  }
  template <typename F>
  void for_each_attribute(F&& f) const {
    detail::Reader r{p_ + 8, nullptr};
    r.str();
    const auto n = r.varint();
    r.varint();
    detail::read_attributes(r, n, f);
  }

 private:
  const std::uint8_t* p_;
  const detail::TimeBase* tb_;
};

class LinkView {
 public:
  explicit LinkView(const std::uint8_t* p) noexcept : p_(p) {}
  TraceId trace_id() const noexcept { return load<TraceId>(0); }
  SpanId span_id() const noexcept { return load<SpanId>(16); }
  TraceFlags flags() const noexcept { return TraceFlags(p_[24]); }
  bool is_remote() const noexcept { return p_[25] != 0; }
  std::string_view trace_state() const noexcept { return detail::Reader{p_ + 26, nullptr}.str(); }
  std::uint32_t dropped_attributes_count() const noexcept {
    detail::Reader r{p_ + 26, nullptr};
    r.str();
    r.varint();
    return static_cast<std::uint32_t>(r.varint());
  }
  std::size_t attribute_count() const noexcept {
    detail::Reader r{p_ + 26, nullptr};
    r.str();
    return static_cast<std::size_t>(r.varint());
  }
  template <typename F>
  void for_each_attribute(F&& f) const {
    detail::Reader r{p_ + 26, nullptr};
    r.str();
    const auto n = r.varint();
    r.varint();
    detail::read_attributes(r, n, f);
  }

 private:
  template <typename T>
  T load(std::size_t off) const noexcept {
    T v;
    std::memcpy(&v, p_ + off, sizeof(T));
    return v;
  }
  const std::uint8_t* p_;
};

// A finished span, as exporters see it. Cheap to copy (the header and two pointers); valid for the
// duration of the export call that hands it out.
class SpanView {
 public:
  SpanView(const std::uint8_t* record, const detail::TimeBase* tb) noexcept
      : rec_(record), tb_(tb) {
    std::memcpy(&h_, record, sizeof h_);
    detail::Reader r{record + sizeof h_, nullptr};
    duration_ = r.varint();
    body_ = static_cast<std::uint32_t>(r.p - record);
  }

  TraceId trace_id() const noexcept { return h_.trace_id; }
  SpanId span_id() const noexcept { return h_.span_id; }
  // Invalid (all-zero) for a root span: OTLP requires parent_span_id empty then.
  SpanId parent_span_id() const noexcept { return h_.parent_span_id; }
  bool has_parent() const noexcept { return (h_.bits & detail::kHasParent) != 0; }
  // Whether the parent was extracted from a remote carrier (OTLP SpanFlags bits 8-9);
  // nullopt for a root span.
  std::optional<bool> parent_is_remote() const noexcept {
    if (!has_parent() || !(h_.bits & detail::kParentRemoteKnown)) return std::nullopt;
    return (h_.bits & detail::kParentRemote) != 0;
  }
  TraceFlags flags() const noexcept { return TraceFlags(h_.flags); }
  SpanKind kind() const noexcept { return static_cast<SpanKind>(h_.kind); }
  StatusCode status_code() const noexcept {
    return static_cast<StatusCode>(h_.status & detail::kStatusMask);
  }
  std::uint64_t start_unix_ns() const noexcept { return tb_->to_unix_ns(h_.start); }
  std::uint64_t end_unix_ns() const noexcept {
    return tb_->to_unix_ns(h_.start + static_cast<std::int64_t>(duration_));
  }
  const SchemaInfo* schema() const noexcept { return h_.schema; }
  std::size_t record_size() const noexcept { return h_.size; }
  const detail::TimeBase& time_base() const noexcept { return *tb_; }

  std::string_view name() const noexcept {
    if (h_.schema != nullptr) return h_.schema->name;
    return find_str(detail::Item::Name, true);
  }
  std::string_view status_message() const noexcept {
    if (!may_have(detail::kHasStatusMessage)) return {};
    return find_str(detail::Item::StatusMessage, false);
  }
  std::string_view trace_state() const noexcept {
    if (!may_have(detail::kHasTraceState)) return {};
    return find_str(detail::Item::TraceState, false);
  }

  std::uint32_t dropped_attributes_count() const noexcept { return dropped(0); }
  std::uint32_t dropped_events_count() const noexcept { return dropped(1); }
  std::uint32_t dropped_links_count() const noexcept { return dropped(2); }

  // f(std::string_view key, ValueView value): schema fields first, then dynamic attributes.
  template <typename F>
  void for_each_attribute(F&& f) const {
    detail::Reader r = body();
    if (h_.schema != nullptr) {
      for (std::size_t i = 0; i < h_.schema->field_count; ++i) {
        const FieldInfo& fi = h_.schema->fields[i];
        f(fi.key, ValueView(fi.type, r.p));
        r.p = detail::skip_value(fi.type, r.p);
      }
    }
    for_each_item(r, [&](detail::Item item, detail::Reader& ir) {
      if (item == detail::Item::Attribute) detail::read_attributes(ir, 1, f);
    });
  }
  std::size_t attribute_count() const noexcept {
    std::size_t n = h_.schema != nullptr ? h_.schema->field_count : 0;
    for_each_item(after_schema(), [&](detail::Item item, detail::Reader&) {
      n += item == detail::Item::Attribute;
    });
    return n;
  }
  // f(EventView) per event, in the order added.
  template <typename F>
  void for_each_event(F&& f) const {
    if (!may_have(detail::kHasEvents)) return;
    for_each_item(after_schema(), [&](detail::Item item, detail::Reader& ir) {
      if (item == detail::Item::Event) f(EventView(ir.p, tb_));
    });
  }
  std::size_t event_count() const noexcept {
    return may_have(detail::kHasEvents) ? count(detail::Item::Event) : 0;
  }
  // f(LinkView) per link, in the order added.
  template <typename F>
  void for_each_link(F&& f) const {
    if (!may_have(detail::kHasLinks)) return;
    for_each_item(after_schema(), [&](detail::Item item, detail::Reader& ir) {
      if (item == detail::Item::Link) f(LinkView(ir.p));
    });
  }
  std::size_t link_count() const noexcept {
    return may_have(detail::kHasLinks) ? count(detail::Item::Link) : 0;
  }

 private:
  bool may_have(std::uint8_t item_bit) const noexcept {
    return (h_.status & detail::kItemsKnown) == 0 || (h_.status & item_bit) != 0;
  }
  detail::Reader body() const noexcept { return {rec_ + body_, rec_ + h_.size}; }
  detail::Reader after_schema() const noexcept {
    detail::Reader r = body();
    if (h_.schema != nullptr) {
      for (std::size_t i = 0; i < h_.schema->field_count; ++i) {
        r.p = detail::skip_value(h_.schema->fields[i].type, r.p);
      }
    }
    return r;
  }
  // Calls f(item, reader positioned at the item's payload) for each tagged item.
  template <typename F>
  static void for_each_item(detail::Reader r, F&& f) {
    while (!r.done()) {
      const auto item = static_cast<detail::Item>(r.u8());
      detail::Reader ir{r.p, r.end};
      f(item, ir);
      r.p = detail::skip_item(item, r.p);
    }
  }
  // The last item of that kind (a later status message replaces an earlier one), or the first
  // when `first` (the name, written before anything else).
  std::string_view find_str(detail::Item wanted, bool first) const noexcept {
    detail::Reader r = after_schema();
    std::string_view out;
    while (!r.done()) {
      const auto item = static_cast<detail::Item>(r.u8());
      if (item == wanted) {
        detail::Reader ir{r.p, r.end};
        out = ir.str();
        if (first) return out;
      }
      r.p = detail::skip_item(item, r.p);
    }
    return out;
  }
  std::size_t count(detail::Item wanted) const noexcept {
    std::size_t n = 0;
    for_each_item(after_schema(), [&](detail::Item item, detail::Reader&) { n += item == wanted; });
    return n;
  }
  std::uint32_t dropped(int which) const noexcept {
    if (!may_have(detail::kHasDropped)) return 0;
    std::uint32_t out = 0;
    for_each_item(after_schema(), [&](detail::Item item, detail::Reader& ir) {
      if (item != detail::Item::Dropped) return;
      std::uint64_t v[3] = {ir.varint(), ir.varint(), ir.varint()};
      out = static_cast<std::uint32_t>(v[which]);
    });
    return out;
  }

  const std::uint8_t* rec_;
  const detail::TimeBase* tb_;
  detail::RecordHeader h_;
  std::uint64_t duration_;  // ticks
  std::uint32_t body_;      // offset of the schema values
};

}  // namespace krishiv::trace
