#pragma once
// Read-only views of finished span records (layout in record/format.hpp): what exporters see.
// Views are cheap to copy and valid as long as the batch that holds the record.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "krishiv/trace/clock.hpp"
#include "krishiv/trace/field.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/record/format.hpp"
#include "krishiv/trace/span_kind.hpp"
#include "krishiv/trace/status.hpp"

namespace krishiv::trace {

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
  StatusCode status_code() const noexcept { return static_cast<StatusCode>(h_.status); }
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
  bool may_have(std::uint8_t item_bit) const noexcept { return (h_.bits & item_bit) != 0; }
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
