#pragma once
// SpanData: an owned copy of a finished span, for tests and for exporters that keep spans.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "krishiv/trace/attribute.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/record/format.hpp"
#include "krishiv/trace/span_kind.hpp"
#include "krishiv/trace/status.hpp"

namespace krishiv::trace {

struct EventData {
  std::string name;
  std::uint64_t time_unix_ns = 0;
  Attributes attributes;
  std::uint32_t dropped_attributes_count = 0;
};

struct LinkData {
  TraceId trace_id;
  SpanId span_id;
  TraceFlags flags;
  bool is_remote = false;
  std::string trace_state;
  Attributes attributes;
  std::uint32_t dropped_attributes_count = 0;
};

struct SpanData {
  std::string name;
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // invalid for a root span
  std::optional<bool> parent_is_remote;
  TraceFlags flags;
  std::string trace_state;
  SpanKind kind = SpanKind::Internal;
  std::uint64_t start_unix_ns = 0;
  std::uint64_t end_unix_ns = 0;
  Attributes attributes;
  std::vector<EventData> events;
  std::vector<LinkData> links;
  StatusCode status_code = StatusCode::Unset;
  std::string status_message;
  std::uint32_t dropped_attributes_count = 0;
  std::uint32_t dropped_events_count = 0;
  std::uint32_t dropped_links_count = 0;
  const SchemaInfo* schema = nullptr;

  bool is_root() const noexcept { return !parent_span_id.is_valid(); }

  const AttributeValue* attribute(std::string_view key) const noexcept {
    for (const auto& a : attributes) {
      if (a.key == key) return &a.value;
    }
    return nullptr;
  }

  // Converts a view. Bytes values become strings; key-value lists (not produced by the span API)
  // are skipped.
  static SpanData from(const SpanView& v) {
    SpanData d;
    d.name = std::string(v.name());
    d.trace_id = v.trace_id();
    d.span_id = v.span_id();
    d.parent_span_id = v.parent_span_id();
    d.parent_is_remote = v.parent_is_remote();
    d.flags = v.flags();
    d.trace_state = std::string(v.trace_state());
    d.kind = v.kind();
    d.start_unix_ns = v.start_unix_ns();
    d.end_unix_ns = v.end_unix_ns();
    v.for_each_attribute([&](std::string_view k, ValueView x) { add(d.attributes, k, x); });
    v.for_each_event([&](const EventView& e) {
      EventData ed{std::string(e.name()), e.time_unix_ns(), {}, e.dropped_attributes_count()};
      e.for_each_attribute([&](std::string_view k, ValueView x) { add(ed.attributes, k, x); });
      d.events.push_back(std::move(ed));
    });
    v.for_each_link([&](const LinkView& l) {
      LinkData ld{l.trace_id(),
                  l.span_id(),
                  l.flags(),
                  l.is_remote(),
                  std::string(l.trace_state()),
                  {},
                  l.dropped_attributes_count()};
      l.for_each_attribute([&](std::string_view k, ValueView x) { add(ld.attributes, k, x); });
      d.links.push_back(std::move(ld));
    });
    d.status_code = v.status_code();
    d.status_message = std::string(v.status_message());
    d.dropped_attributes_count = v.dropped_attributes_count();
    d.dropped_events_count = v.dropped_events_count();
    d.dropped_links_count = v.dropped_links_count();
    d.schema = v.schema();
    return d;
  }

 private:
  static void add(Attributes& out, std::string_view key, const ValueView& x) {
    if (auto v = to_value(x)) out.push_back(Attribute{std::string(key), std::move(*v)});
  }
  static std::optional<AttributeValue> to_value(const ValueView& x) {
    switch (x.type()) {
      case ValueType::Bool:
        return AttributeValue(x.as_bool());
      case ValueType::Int:
        return AttributeValue(x.as_int());
      case ValueType::Double:
        return AttributeValue(x.as_double());
      case ValueType::String:
      case ValueType::Bytes:
        return AttributeValue(std::string(x.as_string()));
      case ValueType::Array:
        return array(x);
      case ValueType::KvList:
        return std::nullopt;
    }
    return std::nullopt;
  }
  static std::optional<AttributeValue> array(const ValueView& x) {
    std::optional<ValueType> t;
    std::vector<bool> b;
    std::vector<std::int64_t> i;
    std::vector<double> d;
    std::vector<std::string> s;
    x.for_each_element([&](ValueView e) {
      t = e.type();
      switch (e.type()) {
        case ValueType::Bool:
          b.push_back(e.as_bool());
          break;
        case ValueType::Int:
          i.push_back(e.as_int());
          break;
        case ValueType::Double:
          d.push_back(e.as_double());
          break;
        default:
          s.emplace_back(e.as_string());
          break;
      }
    });
    if (!t) return AttributeValue(std::vector<std::string>{});
    switch (*t) {
      case ValueType::Bool:
        return AttributeValue(std::move(b));
      case ValueType::Int:
        return AttributeValue(std::move(i));
      case ValueType::Double:
        return AttributeValue(std::move(d));
      default:
        return AttributeValue(std::move(s));
    }
  }
};

}  // namespace krishiv::trace
