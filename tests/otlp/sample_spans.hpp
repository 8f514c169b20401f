#pragma once
// Span records built by hand for the OTLP tests: every field of the record format, every
// AnyValue kind, schema and schema-less spans, root and child spans.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "krishiv/trace/attribute.hpp"
#include "krishiv/trace/record/writer.hpp"
#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/resource.hpp"
#include "krishiv/trace/record/format.hpp"

namespace otlp_test {

using namespace krishiv::trace;
using detail::ByteVector;
using detail::Item;
// A record header plus the end time, which records keep as a duration in the body.
struct RecordHeader : detail::RecordHeader {
  std::int64_t end = 0;
};

// The four standard Krishiv fields.
inline constexpr FieldInfo kKrishivFields[] = {
    {"job_id", ValueType::String},
    {"task_id", ValueType::Int},
    {"epoch", ValueType::Int},
    {"operator_id", ValueType::String},
};
inline constexpr SchemaInfo kKrishivSchema{"operator.run", kKrishivFields, 4};

// Ticks are nanoseconds since unix0.
inline constexpr std::int64_t kUnix0 = 1'700'000'000'000'000'000;
inline detail::TimeBase time_base() {
  return detail::TimeBase{0, kUnix0, 1.0};
}

inline TraceId trace_id(std::uint64_t n) {
  return TraceId::from_u64(0x0102030405060708, n);
}
inline SpanId span_id(std::uint64_t n) {
  return SpanId::from_u64(0x1112131415160000 | n);
}

inline RecordHeader header(std::uint64_t n, SpanKind kind, std::uint8_t trace_flags) {
  RecordHeader h{};
  h.kind = static_cast<std::uint8_t>(kind);
  h.flags = trace_flags;
  h.trace_id = trace_id(n);
  h.span_id = span_id(n);
  h.start = static_cast<std::int64_t>(1000 * n);
  h.end = static_cast<std::int64_t>(1000 * n + 500);
  return h;
}

inline void set_parent(RecordHeader& h, SpanId parent, std::optional<bool> remote) {
  h.parent_span_id = parent;
  h.bits |= detail::kHasParent;
  if (remote) {
    h.bits |= detail::kParentRemoteKnown;
    if (*remote) h.bits |= detail::kParentRemote;
  }
}

// Owns records; SpanBatch only points at them.
class Records {
 public:
  const std::uint8_t* add(const RecordHeader& h, const ByteVector& body) {
    auto rec = std::make_unique<ByteVector>();
    detail::append_record(*rec, h, h.end, body.data(), body.size());
    store_.push_back(std::move(rec));
    return store_.back()->data();
  }

 private:
  std::vector<std::unique_ptr<ByteVector>> store_;
};

// A schema span with the four Krishiv fields (no dynamic items unless the caller adds some).
inline ByteVector krishiv_body(std::string_view job, std::int64_t task, std::int64_t epoch,
                               std::string_view op) {
  ByteVector b;
  detail::put_str(b, job);
  detail::put_int(b, task);
  detail::put_int(b, epoch);
  detail::put_str(b, op);
  return b;
}

// One value of every AnyValue kind, nested ones included.
inline void put_every_value_kind(ByteVector& b) {
  detail::put_attribute(b, "bool.true", true);
  detail::put_attribute(b, "bool.false", false);
  detail::put_attribute(b, "int.zero", 0);
  detail::put_attribute(b, "int.minus_one", -1);
  detail::put_attribute(b, "int.max", INT64_MAX);
  detail::put_attribute(b, "int.min", INT64_MIN);
  detail::put_attribute(b, "double", 3.25);
  detail::put_attribute(b, "double.zero", 0.0);
  detail::put_attribute(b, "double.negative", -1e-300);
  detail::put_attribute(b, "string.empty", std::string_view{});
  detail::put_attribute(b, "string.utf8", "h\xC3\xA9llo \xE2\x9C\x93");
  b.push(static_cast<std::uint8_t>(Item::Attribute));
  detail::put_key(b, "bytes");
  detail::put_tagged_bytes(b, std::string_view("\x00\xFF\x80 raw", 7));
  b.push(static_cast<std::uint8_t>(Item::Attribute));
  detail::put_key(b, "bytes.empty");
  detail::put_tagged_bytes(b, std::string_view{});
  // An attribute overwritten later: the views skip it, so the encoder must not emit it.
  b.push(static_cast<std::uint8_t>(Item::DeadAttribute));
  detail::put_key(b, "dead");
  detail::put_natural(b, 1);
  detail::put_attribute(b, "array.strings", std::vector<std::string>{"a", "", "c"});
  detail::put_attribute(b, "array.empty", std::vector<std::int64_t>{});
  // A heterogeneous array (OTLP allows it) with a nested array, kvlist and bytes.
  b.push(static_cast<std::uint8_t>(Item::Attribute));
  detail::put_key(b, "array.mixed");
  detail::begin_array(b, 7);
  detail::put_natural(b, false);
  detail::put_natural(b, 0);
  detail::put_natural(b, -42);
  detail::put_natural(b, 0.5);
  detail::put_natural(b, "x");
  detail::begin_array(b, 2);
  detail::put_natural(b, 1);
  detail::put_natural(b, 2);
  detail::begin_kvlist(b, 1);
  detail::put_key(b, "inner");
  detail::put_tagged_bytes(b, "\x01\x02");
  // kvlist with every kind, an empty kvlist and a nested one.
  b.push(static_cast<std::uint8_t>(Item::Attribute));
  detail::put_key(b, "kvlist");
  detail::begin_kvlist(b, 6);
  detail::put_key(b, "s");
  detail::put_natural(b, "v");
  detail::put_key(b, "b");
  detail::put_natural(b, true);
  detail::put_key(b, "i");
  detail::put_natural(b, -7);
  detail::put_key(b, "d");
  detail::put_natural(b, 1.5);
  detail::put_key(b, "empty");
  detail::begin_kvlist(b, 0);
  detail::put_key(b, "nested");
  detail::begin_kvlist(b, 1);
  detail::put_key(b, "arr");
  detail::begin_array(b, 1);
  detail::put_natural(b, "deep");
  // A value long enough to need a two-byte length prefix (KeyValue, AnyValue and string).
  detail::put_attribute(b, "string.long", std::string(300, 'L'));
}

// A schema-less span using every field of the record format.
inline ByteVector full_body() {
  ByteVector b;
  detail::put_string_item(b, Item::Name, "full span");
  detail::put_string_item(b, Item::TraceState, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  put_every_value_kind(b);
  detail::begin_event(b, 123, "event.one", 3, 2);
  detail::put_key(b, "e.int");
  detail::put_natural(b, 5);
  detail::put_key(b, "e.str");
  detail::put_natural(b, "five");
  detail::put_key(b, "e.arr");
  detail::begin_array(b, 2);
  detail::put_natural(b, true);
  detail::put_natural(b, 2.5);
  detail::begin_event(b, 456, "", 0, 0);  // no name, no attributes
  detail::begin_link(b, trace_id(900), span_id(901), TraceFlags(0x01), true, "congo=t61rcWkgMzE", 2,
                     4);
  detail::put_key(b, "l.bool");
  detail::put_natural(b, false);
  detail::put_key(b, "l.kv");
  detail::begin_kvlist(b, 1);
  detail::put_key(b, "k");
  detail::put_natural(b, 0);
  detail::begin_link(b, trace_id(902), span_id(903), TraceFlags(0x00), false, "", 0, 0);
  detail::put_string_item(b, Item::StatusMessage, "it broke");
  detail::put_dropped(b, 3, 4, 5);
  return b;
}

// A resource with every AttributeValue alternative.
inline Resource full_resource() {
  Resource r;
  r.attributes = {
      {"service.name", std::string("otlp-test")},
      {"r.bool", false},
      {"r.int", std::int64_t{-3}},
      {"r.double", 0.125},
      {"r.bools", std::vector<bool>{true, false}},
      {"r.ints", std::vector<std::int64_t>{0, -1, 1}},
      {"r.doubles", std::vector<double>{}},
      {"r.strings", std::vector<std::string>{"x", ""}},
  };
  return r;
}

// The batch every round-trip and interop check uses: every field and flag combination.
struct FullBatch {
  Resource resource = full_resource();
  InstrumentationScope scope{"otlp-test-scope", "1.2.3"};
  detail::TimeBase tb = time_base();
  Records records;
  SpanBatch batch{resource, scope, tb};

  FullBatch() {
    // 1. every field; parent remote; sampled + random flags; ERROR with a message.
    {
      RecordHeader h = header(1, SpanKind::Server, 0x03);
      set_parent(h, span_id(100), true);
      h.status = static_cast<std::uint8_t>(StatusCode::Error);
      batch.add_record(records.add(h, full_body()));
    }
    // 2. a Krishiv schema span plus a dynamic attribute; parent known local; OK, no message.
    {
      RecordHeader h = header(2, SpanKind::Internal, 0x01);
      set_parent(h, span_id(1), false);
      h.status = static_cast<std::uint8_t>(StatusCode::Ok);
      h.schema = &kKrishivSchema;
      ByteVector b = krishiv_body("job-42", 7, -1, "op/scan");
      detail::put_attribute(b, "extra", 9);
      batch.add_record(records.add(h, b));
    }
    // 3. a root span: no parent_span_id, no flags at all (trace flags 0, remoteness unknown).
    {
      RecordHeader h = header(3, SpanKind::Client, 0x00);
      ByteVector b;
      detail::put_string_item(b, Item::Name, "root");
      batch.add_record(records.add(h, b));
    }
    // 4. parent remoteness unknown; UNSET status that still has a message; producer.
    {
      RecordHeader h = header(4, SpanKind::Producer, 0x01);
      set_parent(h, span_id(3), std::nullopt);
      ByteVector b;
      detail::put_string_item(b, Item::Name, "produce");
      detail::put_string_item(b, Item::StatusMessage, "note");
      batch.add_record(records.add(h, b));
    }
    // 5. consumer, empty name, a big span (over 16 KiB: three-byte length prefix).
    {
      RecordHeader h = header(5, SpanKind::Consumer, 0x01);
      set_parent(h, span_id(4), true);
      ByteVector b;
      for (int i = 0; i < 200; ++i) {
        // append, not "k" + std::to_string(i): g++ 12 at -O3 warns -Wrestrict on that (falsely).
        detail::put_attribute(b, std::string("k").append(std::to_string(i)), std::string(100, 'v'));
      }
      batch.add_record(records.add(h, b));
    }
  }
  FullBatch(const FullBatch&) = delete;
  FullBatch& operator=(const FullBatch&) = delete;
};

}  // namespace otlp_test
