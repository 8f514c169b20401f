#pragma once
// OTLP protobuf encoding of span batches, written by hand from the span records: no protobuf
// runtime, no generated code, no protoc for users.
//
// Output: opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest, with the field keys
// of otlp/fields.hpp. A SpanBatch has one resource and one scope, so its spans share one
// ResourceSpans and one ScopeSpans.
//
// proto3 implicit presence: scalars equal to their default and unset sub-messages are omitted,
// except that a set oneof member (AnyValue.value) is always written, even when it holds 0, false
// or "". Fields are written in field-number order, like protobuf's own serializer.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "krishiv/trace/attribute.hpp"
#include "krishiv/trace/detail/protobuf_writer.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/otlp/fields.hpp"
#include "krishiv/trace/record/view.hpp"
#include "krishiv/trace/resource.hpp"

namespace krishiv::trace {

namespace detail::otlp {

// Guesses for the length-prefix sizes (see protobuf_writer.hpp): attributes, events, links and
// statuses are usually under 128 bytes, spans under 16 KiB, and the envelopes of a batch of a
// few hundred spans under 2 MiB.
inline constexpr std::size_t kSmallGuess = 1;
inline constexpr std::size_t kSpanGuess = 2;
inline constexpr std::size_t kEnvelopeGuess = 3;
// The envelopes' prefixes can each grow from kEnvelopeGuess to 5 bytes.
inline constexpr std::size_t kEnvelopeSlack = 2 * (5 - kEnvelopeGuess);

template <typename W>
void write_key_value(W& w, std::uint32_t key, std::string_view k, const ValueView& v);

template <typename W>
void write_any_value(W& w, const ValueView& v) {
  switch (v.type()) {
    case ValueType::Bool:
      w.varint_field(any_value::bool_value, v.as_bool() ? 1 : 0);
      return;
    // int64 is a plain varint of the two's complement (not zigzag): -1 takes 10 bytes.
    case ValueType::Int:
      w.varint_field(any_value::int_value, static_cast<std::uint64_t>(v.as_int()));
      return;
    case ValueType::Double:
      w.double_field(any_value::double_value, v.as_double());
      return;
    case ValueType::String:
      w.string_field(any_value::string_value, v.as_string());
      return;
    case ValueType::Bytes:
      w.bytes_field(any_value::bytes_value, v.as_string());
      return;
    case ValueType::Array: {
      const LenMark m = w.begin_len(any_value::array_value, kSmallGuess);
      v.for_each_element([&](const ValueView& e) {
        const LenMark em = w.begin_len(values, kSmallGuess);
        write_any_value(w, e);
        w.end_len(em);
      });
      w.end_len(m);
      return;
    }
    case ValueType::KvList: {
      const LenMark m = w.begin_len(any_value::kvlist_value, kSmallGuess);
      v.for_each_entry(
          [&](std::string_view k, const ValueView& e) { write_key_value(w, values, k, e); });
      w.end_len(m);
      return;
    }
  }
}

// The encoded size of a scalar or bytes AnyValue, and of a string one that is valid UTF-8; 0 for
// arrays and kvlists, whose size is only known after writing them.
inline std::size_t flat_any_value_size(const ValueView& v) noexcept {
  switch (v.type()) {
    case ValueType::Bool:
      return 2;
    case ValueType::Int:
      return 1 + varint_size(static_cast<std::uint64_t>(v.as_int()));
    case ValueType::Double:
      return 9;
    case ValueType::String:
    case ValueType::Bytes: {
      const std::size_t n = v.as_string().size();
      return 1 + varint_size(n) + n;
    }
    case ValueType::Array:
    case ValueType::KvList:
      return 0;
  }
  return 0;
}

template <typename W>
void write_key_value(W& w, std::uint32_t key, std::string_view k, const ValueView& v) {
  // Attributes are nearly always flat (scalar or string), and then every length is known up
  // front: one reservation, no length guesses. Each string is measured (and UTF-8 checked) once.
  if (const std::size_t vsize = flat_any_value_size(v); vsize != 0) {
    const Utf8Text kt = utf8_text(k);
    const bool is_text = v.type() == ValueType::String;
    const Utf8Text vt = is_text ? utf8_text(v.as_string()) : Utf8Text{};
    // A repaired string value is longer than flat_any_value_size assumed.
    const std::size_t vsz = is_text ? 1 + varint_size(vt.size) + vt.size : vsize;
    const std::size_t ksize = k.empty() ? 0 : 1 + varint_size(kt.size) + kt.size;
    const std::size_t kvsize = ksize + 1 + varint_size(vsz) + vsz;
    w.reserve(5 + varint_size(kvsize) + kvsize);
    w.put_varint(key);
    w.put_varint(kvsize);
    if (!k.empty()) {
      w.put_byte(static_cast<std::uint8_t>(key_value::key));
      w.put_varint(kt.size);
      w.put_text(kt);
    }
    w.put_byte(static_cast<std::uint8_t>(key_value::value));
    w.put_varint(vsz);
    switch (v.type()) {
      case ValueType::Bool:
        w.put_byte(static_cast<std::uint8_t>(any_value::bool_value));
        w.put_byte(v.as_bool() ? 1 : 0);
        break;
      case ValueType::Int:
        w.put_byte(static_cast<std::uint8_t>(any_value::int_value));
        w.put_varint(static_cast<std::uint64_t>(v.as_int()));
        break;
      case ValueType::Double:
        w.put_byte(static_cast<std::uint8_t>(any_value::double_value));
        w.put_fixed64(std::bit_cast<std::uint64_t>(v.as_double()));
        break;
      case ValueType::String:
        w.put_byte(static_cast<std::uint8_t>(any_value::string_value));
        w.put_varint(vt.size);
        w.put_text(vt);
        break;
      default: {
        const std::string_view sv = v.as_string();
        w.put_byte(static_cast<std::uint8_t>(any_value::bytes_value));
        w.put_varint(sv.size());
        w.put_raw(sv.data(), sv.size());
        break;
      }
    }
    return;
  }
  const LenMark m = w.begin_len(key, kSmallGuess);
  if (!k.empty()) w.string_field(key_value::key, k);
  const LenMark vm = w.begin_len(key_value::value, kSmallGuess);
  write_any_value(w, v);
  w.end_len(vm);
  w.end_len(m);
}

// Owning values (resource attributes).
template <typename W>
void write_any_value(W& w, const AttributeValue& value) {
  std::visit(
      [&](const auto& x) {
        using X = std::remove_cvref_t<decltype(x)>;
        if constexpr (std::is_same_v<X, bool>) {
          w.varint_field(any_value::bool_value, x ? 1 : 0);
        } else if constexpr (std::is_same_v<X, std::int64_t>) {
          w.varint_field(any_value::int_value, static_cast<std::uint64_t>(x));
        } else if constexpr (std::is_same_v<X, double>) {
          w.double_field(any_value::double_value, x);
        } else if constexpr (std::is_same_v<X, std::string>) {
          w.string_field(any_value::string_value, x);
        } else {
          const LenMark m = w.begin_len(any_value::array_value, kSmallGuess);
          for (const auto& e : x) {
            const LenMark em = w.begin_len(values, kSmallGuess);
            using E = std::remove_cvref_t<decltype(e)>;
            if constexpr (std::is_same_v<X, std::vector<bool>>) {
              w.varint_field(any_value::bool_value, static_cast<bool>(e) ? 1 : 0);
            } else if constexpr (std::is_same_v<E, std::int64_t>) {
              w.varint_field(any_value::int_value, static_cast<std::uint64_t>(e));
            } else if constexpr (std::is_same_v<E, double>) {
              w.double_field(any_value::double_value, e);
            } else {
              w.string_field(any_value::string_value, e);
            }
            w.end_len(em);
          }
          w.end_len(m);
        }
      },
      value);
}

template <typename W>
void write_attributes(W& w, std::uint32_t key, const Attributes& attrs) {
  for (const Attribute& a : attrs) {
    const LenMark m = w.begin_len(key, kSmallGuess);
    if (!a.key.empty()) w.string_field(key_value::key, a.key);
    const LenMark vm = w.begin_len(key_value::value, kSmallGuess);
    write_any_value(w, a.value);
    w.end_len(vm);
    w.end_len(m);
  }
}

template <typename W>
void write_event(W& w, const EventView& e) {
  const LenMark m = w.begin_len(span::events, kSmallGuess);
  if (const auto t = e.time_unix_ns(); t != 0) w.fixed64_field(event::time_unix_nano, t);
  if (const auto name = e.name(); !name.empty()) w.string_field(event::name, name);
  e.for_each_attribute(
      [&](std::string_view k, const ValueView& v) { write_key_value(w, event::attributes, k, v); });
  if (const auto d = e.dropped_attributes_count(); d != 0) {
    w.varint_field(event::dropped_attributes_count, d);
  }
  w.end_len(m);
}

template <typename W>
void write_link(W& w, const LinkView& l) {
  const LenMark m = w.begin_len(span::links, kSmallGuess);
  const TraceId trace_id = l.trace_id();
  const SpanId span_id = l.span_id();
  w.bytes_field(link::trace_id, trace_id.data(), TraceId::kSize);
  w.bytes_field(link::span_id, span_id.data(), SpanId::kSize);
  if (const auto ts = l.trace_state(); !ts.empty()) w.string_field(link::trace_state, ts);
  l.for_each_attribute(
      [&](std::string_view k, const ValueView& v) { write_key_value(w, link::attributes, k, v); });
  if (const auto d = l.dropped_attributes_count(); d != 0) {
    w.varint_field(link::dropped_attributes_count, d);
  }
  // A link always knows whether its context was remote.
  const std::uint32_t flags = (l.flags().bits() & kTraceFlagsMask) | kContextHasIsRemote |
                              (l.is_remote() ? kContextIsRemote : 0);
  w.fixed32_field(link::flags, flags);
  w.end_len(m);
}

// Everything after the attributes, in field-number order.
template <typename W>
void write_span_tail(W& w, const SpanView& s) {
  if (const auto d = s.dropped_attributes_count(); d != 0) {
    w.varint_field(span::dropped_attributes_count, d);
  }
  s.for_each_event([&](const EventView& e) { write_event(w, e); });
  if (const auto d = s.dropped_events_count(); d != 0) {
    w.varint_field(span::dropped_events_count, d);
  }
  s.for_each_link([&](const LinkView& l) { write_link(w, l); });
  if (const auto d = s.dropped_links_count(); d != 0) w.varint_field(span::dropped_links_count, d);

  const auto code = static_cast<std::uint8_t>(s.status_code());
  const auto message = s.status_message();
  if (code != 0 || !message.empty()) {
    const LenMark sm = w.begin_len(span::status, kSmallGuess);
    if (!message.empty()) w.string_field(status::message, message);
    if (code != 0) w.varint_field(status::code, code);
    w.end_len(sm);
  }

  // Bits 8-9 are set only when whether the parent is remote is known (never for a root span).
  std::uint32_t flags = s.flags().bits() & kTraceFlagsMask;
  if (const auto remote = s.parent_is_remote()) {
    flags |= kContextHasIsRemote | (*remote ? kContextIsRemote : 0);
  }
  if (flags != 0) w.fixed32_field(span::flags, flags);
}

// Any span, with any writer: the reference encoding (the sizer uses it).
template <typename W>
void write_span(W& w, const SpanView& s) {
  const LenMark m = w.begin_len(scope_spans::spans, kSpanGuess);
  const TraceId trace_id = s.trace_id();
  const SpanId span_id = s.span_id();
  w.reserve(2 + TraceId::kSize + 2 + SpanId::kSize);
  w.put_byte(static_cast<std::uint8_t>(span::trace_id));
  w.put_byte(TraceId::kSize);
  w.put_raw(trace_id.data(), TraceId::kSize);
  w.put_byte(static_cast<std::uint8_t>(span::span_id));
  w.put_byte(SpanId::kSize);
  w.put_raw(span_id.data(), SpanId::kSize);
  if (const auto ts = s.trace_state(); !ts.empty()) w.string_field(span::trace_state, ts);
  // A root span's parent_span_id MUST be empty (trace.proto), so it is omitted.
  if (const SpanId parent = s.parent_span_id(); s.has_parent() && parent.is_valid()) {
    w.bytes_field(span::parent_span_id, parent.data(), SpanId::kSize);
  }
  if (const auto name = s.name(); !name.empty()) w.string_field(span::name, name);
  if (const auto kind = static_cast<std::uint8_t>(s.kind()); kind != 0) {
    w.varint_field(span::kind, kind);
  }
  if (const auto t = s.start_unix_ns(); t != 0) w.fixed64_field(span::start_time_unix_nano, t);
  if (const auto t = s.end_unix_ns(); t != 0) w.fixed64_field(span::end_time_unix_nano, t);
  s.for_each_attribute(
      [&](std::string_view k, const ValueView& v) { write_key_value(w, span::attributes, k, v); });
  write_span_tail(w, s);
  w.end_len(m);
}

// The bytes every span of a schema shares, encoded once per request instead of once per span:
// the name field and each field's KeyValue.key field, their strings UTF-8 checked (and
// repaired) here. Holds a few schemas, replaced round robin; a schema too large for an entry
// takes the reference path.
class SchemaCache {
 public:
  static constexpr std::size_t kSchemas = 4;
  static constexpr std::size_t kFields = 32;
  static constexpr std::size_t kBytes = 1024;

  struct Entry {
    const SchemaInfo* schema = nullptr;
    // Piece 0 is the name field, piece 1 + i field i's key field: bytes [end[j-1], end[j]).
    std::uint16_t end[kFields + 1];
    char bytes[kBytes];

    std::string_view piece(std::size_t j) const noexcept {
      const std::size_t from = j == 0 ? 0 : end[j - 1];
      return {bytes + from, end[j] - from};
    }
  };

  // nullptr when the schema does not fit an entry.
  const Entry* find(const SchemaInfo* schema) noexcept {
    for (const Entry& e : entries_) {
      if (e.schema == schema) return &e;
    }
    Entry& e = entries_[next_];
    next_ = (next_ + 1) % kSchemas;
    e.schema = fill(e, *schema) ? schema : nullptr;
    return e.schema != nullptr ? &e : nullptr;
  }

 private:
  static bool fill(Entry& e, const SchemaInfo& schema) noexcept {
    if (schema.field_count > kFields) return false;
    std::size_t pos = 0;
    // An empty string is an omitted field, as in the reference path.
    const auto put = [&](std::uint32_t key, std::string_view text, std::size_t j) {
      if (!text.empty()) {
        const Utf8Text t = utf8_text(text);
        if (t.size > kBytes - pos - 6) return false;  // pos <= kBytes - 6 holds before each
        char* p = e.bytes + pos;
        *p++ = static_cast<char>(key);
        p = put_varint_at(p, t.size);
        p = put_text_at(p, t);
        pos = static_cast<std::size_t>(p - e.bytes);
      }
      if (pos > kBytes - 6) return false;
      e.end[j] = static_cast<std::uint16_t>(pos);
      return true;
    };
    static_assert(span::name < 0x80 && key_value::key < 0x80, "one-byte field keys");
    if (!put(span::name, schema.name, 0)) return false;
    for (std::size_t i = 0; i < schema.field_count; ++i) {
      if (!put(key_value::key, schema.fields[i].key, 1 + i)) return false;
    }
    return true;
  }

  Entry entries_[kSchemas];
  std::size_t next_ = 0;
};

// A schema field as a span attribute: its key field comes encoded from the cache, every length
// is known before writing, and the bytes go through one cursor.
inline void write_schema_attribute(ProtobufWriter& w, std::string_view key_field,
                                   std::string_view key, const ValueView& v) {
  static_assert(span::attributes < 0x80 && key_value::value < 0x80, "one-byte field keys");
  // The value's size first, then one reservation and one pass.
  Utf8Text text{};
  std::uint64_t u = 0;
  std::size_t vsz = 0;
  switch (v.type()) {
    case ValueType::String:
      text = utf8_text(v.as_string());
      vsz = 1 + varint_size(text.size) + text.size;
      break;
    case ValueType::Int:
      // int64 is a plain varint of the two's complement (not zigzag).
      u = static_cast<std::uint64_t>(v.as_int());
      vsz = 1 + varint_size(u);
      break;
    case ValueType::Bool:
      u = v.as_bool() ? 1 : 0;
      vsz = 2;
      break;
    case ValueType::Double:
      u = std::bit_cast<std::uint64_t>(v.as_double());
      vsz = 9;
      break;
    default:
      return write_key_value(w, span::attributes, key, v);
  }
  const std::size_t kn = key_field.size();
  const std::size_t kvsize = kn + 1 + varint_size(vsz) + vsz;
  char* p = w.cursor(1 + 5 + kvsize);
  *p++ = static_cast<char>(span::attributes);
  p = put_varint_at(p, kvsize);
  p = put_raw_at(p, key_field.data(), kn);
  *p++ = static_cast<char>(key_value::value);
  p = put_varint_at(p, vsz);
  switch (v.type()) {
    case ValueType::String:
      *p++ = static_cast<char>(any_value::string_value);
      p = put_varint_at(p, text.size);
      p = put_text_at(p, text);
      break;
    case ValueType::Int:
      *p++ = static_cast<char>(any_value::int_value);
      p = put_varint_at(p, u);
      break;
    case ValueType::Bool:
      *p++ = static_cast<char>(any_value::bool_value);
      *p++ = static_cast<char>(u);
      break;
    default:
      *p++ = static_cast<char>(any_value::double_value);
      p = put_fixed64_at(p, u);
      break;
  }
  w.advance_to(p);
}

// Any writer but ProtobufWriter: the reference path.
template <typename W>
void write_span(W& w, const SpanView& s, SchemaCache&) {
  write_span(w, s);
}

// The encoder's hot path, byte for byte the reference encoding: a schema span's fixed fields go
// through one cursor, its name and keys come from the cache. Spans with a trace state, and
// spans without a schema, take the reference path.
inline void write_span(ProtobufWriter& w, const SpanView& s, SchemaCache& cache) {
  const SchemaInfo* schema = s.schema();
  const SchemaCache::Entry* e = nullptr;
  if (schema != nullptr && s.trace_state().empty()) e = cache.find(schema);
  if (e == nullptr) return write_span(w, s);
  static_assert(span::start_time_unix_nano < 0x80 && span::end_time_unix_nano < 0x80 &&
                    span::kind < 0x80 && span::parent_span_id < 0x80,
                "one-byte field keys");
  const LenMark m = w.begin_len(scope_spans::spans, kSpanGuess);
  const std::string_view name_field = e->piece(0);
  char* p = w.cursor(3 * 2 + TraceId::kSize + 2 * SpanId::kSize + name_field.size() + 2 + 2 * 9);
  const TraceId trace_id = s.trace_id();
  const SpanId span_id = s.span_id();
  *p++ = static_cast<char>(span::trace_id);
  *p++ = static_cast<char>(TraceId::kSize);
  p = put_raw_at(p, trace_id.data(), TraceId::kSize);
  *p++ = static_cast<char>(span::span_id);
  *p++ = static_cast<char>(SpanId::kSize);
  p = put_raw_at(p, span_id.data(), SpanId::kSize);
  // A root span's parent_span_id MUST be empty (trace.proto), so it is omitted.
  if (const SpanId parent = s.parent_span_id(); s.has_parent() && parent.is_valid()) {
    *p++ = static_cast<char>(span::parent_span_id);
    *p++ = static_cast<char>(SpanId::kSize);
    p = put_raw_at(p, parent.data(), SpanId::kSize);
  }
  p = put_raw_at(p, name_field.data(), name_field.size());
  if (const auto kind = static_cast<std::uint8_t>(s.kind()); kind != 0) {
    *p++ = static_cast<char>(span::kind);
    p = put_varint_at(p, kind);
  }
  if (const auto t = s.start_unix_ns(); t != 0) {
    *p++ = static_cast<char>(span::start_time_unix_nano);
    p = put_fixed64_at(p, t);
  }
  if (const auto t = s.end_unix_ns(); t != 0) {
    *p++ = static_cast<char>(span::end_time_unix_nano);
    p = put_fixed64_at(p, t);
  }
  w.advance_to(p);
  std::size_t field = 0;
  const std::size_t fields = schema->field_count;
  s.for_each_attribute([&](std::string_view k, const ValueView& v) {
    // Schema fields come first, in schema order; then the span's other attributes.
    if (field < fields) {
      write_schema_attribute(w, e->piece(1 + field), k, v);
      ++field;
    } else {
      write_key_value(w, span::attributes, k, v);
    }
  });
  write_span_tail(w, s);
  w.end_len(m);
}

// The ResourceSpans / ScopeSpans envelope around the spans, opened before them and closed after.
struct Envelope {
  LenMark resource_spans;
  LenMark scope_spans;
};

template <typename W>
Envelope open_envelope(W& w, const SpanBatch& batch) {
  Envelope e{};
  e.resource_spans = w.begin_len(request::resource_spans, kEnvelopeGuess);
  if (const Attributes& attrs = batch.resource().attributes; !attrs.empty()) {
    const LenMark rm = w.begin_len(resource_spans::resource, kSmallGuess);
    write_attributes(w, resource::attributes, attrs);
    w.end_len(rm);
  }
  e.scope_spans = w.begin_len(resource_spans::scope_spans, kEnvelopeGuess);
  const InstrumentationScope& scope = batch.scope();
  if (!scope.name.empty() || !scope.version.empty()) {
    const LenMark sm = w.begin_len(scope_spans::scope, kSmallGuess);
    if (!scope.name.empty()) w.string_field(scope::name, scope.name);
    if (!scope.version.empty()) w.string_field(scope::version, scope.version);
    w.end_len(sm);
  }
  return e;
}

template <typename W>
void close_envelope(W& w, const Envelope& e) {
  w.end_len(e.scope_spans);
  w.end_len(e.resource_spans);
}

template <typename W>
void write_request(W& w, const SpanBatch& batch, std::size_t begin, std::size_t end) {
  // An empty request is zero bytes; no empty ResourceSpans (senders SHOULD NOT send empty
  // envelopes, OTLP specification).
  if (begin >= end) return;
  const Envelope e = open_envelope(w, batch);
  SchemaCache cache;
  for (std::size_t i = begin; i < end; ++i) write_span(w, batch[i], cache);
  close_envelope(w, e);
}

}  // namespace detail::otlp

// Encodes span batches as OTLP ExportTraceServiceRequest messages. Stateless and cheap to
// construct; encoding allocates only when `out` must grow, never per span.
class OtlpEncoder {
 public:
  static constexpr std::size_t kMaxRequestBytes = detail::otlp::kMaxRequestBytes;

  // Replaces out's contents with the request for the whole batch (empty for an empty batch).
  void encode(const SpanBatch& batch, std::string& out) const {
    encode(batch, 0, batch.size(), out);
  }

  // The request for spans [begin, end) of the batch.
  void encode(const SpanBatch& batch, std::size_t begin, std::size_t end, std::string& out) const {
    if (end > batch.size()) end = batch.size();
    detail::ProtobufWriter w(out);
    detail::otlp::write_request(w, batch, begin, end);
    w.finish();
  }

  // Encodes spans from `begin` on, as many as fit in a request of at most max_bytes, and returns
  // the index after the last one encoded: the exporter calls it again from there. Returns `begin`
  // (with out empty) when the span at `begin` alone does not fit; the caller drops it.
  std::size_t encode_within(const SpanBatch& batch, std::size_t begin, std::size_t max_bytes,
                            std::string& out) const {
    detail::ProtobufWriter w(out);
    std::size_t i = begin;
    if (i < batch.size()) {
      const detail::otlp::Envelope e = detail::otlp::open_envelope(w, batch);
      detail::otlp::SchemaCache cache;
      for (; i < batch.size(); ++i) {
        const std::size_t before = w.size();
        detail::otlp::write_span(w, batch[i], cache);
        if (w.size() + detail::otlp::kEnvelopeSlack > max_bytes) {
          w.truncate(before);
          break;
        }
      }
      if (i == begin) {
        w.truncate(0);
      } else {
        detail::otlp::close_envelope(w, e);
      }
    }
    w.finish();
    return i;
  }

  // The size of encode(batch, begin, end, out)'s output, without writing it.
  static std::size_t encoded_size(const SpanBatch& batch, std::size_t begin, std::size_t end) {
    if (end > batch.size()) end = batch.size();
    detail::ProtobufSizer s;
    detail::otlp::write_request(s, batch, begin, end);
    return s.size();
  }
  static std::size_t encoded_size(const SpanBatch& batch) {
    return encoded_size(batch, 0, batch.size());
  }
};

}  // namespace krishiv::trace
