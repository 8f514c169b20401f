#pragma once
// Span records built by hand, for exact exporter output (console golden files, OTLP golden bytes,
// round trips, interop checks). They are framed and filled by the production record writer
// (record/writer.hpp), so a fixture and a recorded span cannot disagree about the format.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "krishiv/trace/attribute.hpp"
#include "krishiv/trace/clock.hpp"
#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/record/format.hpp"
#include "krishiv/trace/record/view.hpp"
#include "krishiv/trace/record/writer.hpp"
#include "krishiv/trace/resource.hpp"
#include "krishiv/trace/span_kind.hpp"
#include "krishiv/trace/status.hpp"

namespace krishiv::trace::test {

// A span body under construction: its bytes, and the presence bits its optional items set (the
// writer's `bits` argument), which the record header takes when the record is framed.
struct Body {
  std::vector<std::uint8_t> bytes;
  std::uint8_t bits = 0;
  void append(const void* p, std::size_t n) {
    const auto* c = static_cast<const std::uint8_t*>(p);
    bytes.insert(bytes.end(), c, c + n);
  }
  void push(std::uint8_t b) { bytes.push_back(b); }
  std::size_t size() const noexcept { return bytes.size(); }
  const std::uint8_t* data() const noexcept { return bytes.data(); }
};

// AnyValue kinds the format and OTLP allow but the span API never writes (bytes, kvlist): the
// views and encoders must still read them.
template <typename Buf>
void put_bytes_value(Buf& b, std::string_view v) {
  b.push(static_cast<std::uint8_t>(ValueType::Bytes));
  detail::put_str(b, v);
}
template <typename Buf>
void begin_kvlist(Buf& b, std::size_t n) {
  b.push(static_cast<std::uint8_t>(ValueType::KvList));
  detail::put_varint(b, n);
}

// Owns framed records; a SpanBatch only points at them.
class RecordStore {
 public:
  const std::uint8_t* add(detail::RecordHeader h, std::int64_t end, const Body& body) {
    h.bits |= body.bits;
    const std::uint64_t ticks = detail::duration_ticks(h.start, end);
    const std::size_t size = detail::framed_size(ticks, body.size());
    auto rec = std::make_unique<std::uint8_t[]>(size);
    detail::frame_record(rec.get(), h, ticks, size, body.data(), body.size());
    store_.push_back(std::move(rec));
    return store_.back().get();
  }

 private:
  std::vector<std::unique_ptr<std::uint8_t[]>> store_;
};

// Ticks are nanoseconds after kUnix0, so a span's times are written as plain offsets.
inline constexpr std::int64_t kUnix0 = 1'700'000'000'000'000'000;
inline constexpr std::int64_t kUs = 1'000;
inline constexpr std::int64_t kMs = 1'000'000;
inline constexpr std::int64_t kS = 1'000'000'000;

// n < 65536.
inline TraceId trace_id(std::uint64_t n) {
  return TraceId::from_u64(0x4bf92f3577b34da6, 0xa3ce929d0e0e0000 | n);
}
inline SpanId span_id(std::uint64_t n) {
  return SpanId::from_u64(0x00f067aa0ba90000 | n);
}

struct SpanSpec {
  std::string_view name;
  std::uint64_t trace = 1;
  std::uint64_t span = 1;
  std::uint64_t parent = 0;  // 0: a root span
  std::int64_t start = 0;
  std::int64_t end = 0;
  SpanKind kind = SpanKind::Internal;
  StatusCode status = StatusCode::Unset;
};

// Owns the records of one batch; SpanBatch only points at them.
class BatchBuilder {
 public:
  // `body` writes the span's items after its name (attributes, events, status message...).
  BatchBuilder& add(const SpanSpec& s, const std::function<void(Body&)>& body = nullptr) {
    detail::RecordHeader h{};
    h.kind = static_cast<std::uint8_t>(s.kind);
    h.flags = TraceFlags::kSampled;
    h.status = static_cast<std::uint8_t>(s.status);
    h.trace_id = trace_id(s.trace);
    h.span_id = span_id(s.span);
    if (s.parent != 0) {
      h.parent_span_id = span_id(s.parent);
      h.bits = detail::kHasParent | detail::kParentRemoteKnown;
    }
    h.start = s.start;
    Body b;
    detail::put_name(b, s.name);
    if (body) body(b);
    batch_.add_record(records_.add(h, s.end, b));
    return *this;
  }

  const SpanBatch& batch() const noexcept { return batch_; }

 private:
  Resource resource_;
  InstrumentationScope scope_;
  detail::TimeBase time_base_{0, kUnix0, 1.0};
  SpanBatch batch_{resource_, scope_, time_base_};
  RecordStore records_;
};

}  // namespace krishiv::trace::test

namespace otlp_test {

using namespace krishiv::trace;
using Body = krishiv::trace::test::Body;
using detail::Item;
using krishiv::trace::test::begin_kvlist;
using krishiv::trace::test::put_bytes_value;
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
  const std::uint8_t* add(const RecordHeader& h, const Body& body) {
    return store_.add(h, h.end, body);
  }

 private:
  krishiv::trace::test::RecordStore store_;
};

// A schema span with the four Krishiv fields (no dynamic items unless the caller adds some).
inline Body krishiv_body(std::string_view job, std::int64_t task, std::int64_t epoch,
                         std::string_view op) {
  Body b;
  detail::put_str(b, job);
  detail::put_int(b, task);
  detail::put_int(b, epoch);
  detail::put_str(b, op);
  return b;
}

// One value of every AnyValue kind, nested ones included.
inline void put_every_value_kind(Body& b) {
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
  krishiv::trace::test::put_bytes_value(b, std::string_view("\x00\xFF\x80 raw", 7));
  b.push(static_cast<std::uint8_t>(Item::Attribute));
  detail::put_key(b, "bytes.empty");
  krishiv::trace::test::put_bytes_value(b, std::string_view{});
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
  krishiv::trace::test::begin_kvlist(b, 1);
  detail::put_key(b, "inner");
  krishiv::trace::test::put_bytes_value(b, "\x01\x02");
  // kvlist with every kind, an empty kvlist and a nested one.
  b.push(static_cast<std::uint8_t>(Item::Attribute));
  detail::put_key(b, "kvlist");
  krishiv::trace::test::begin_kvlist(b, 6);
  detail::put_key(b, "s");
  detail::put_natural(b, "v");
  detail::put_key(b, "b");
  detail::put_natural(b, true);
  detail::put_key(b, "i");
  detail::put_natural(b, -7);
  detail::put_key(b, "d");
  detail::put_natural(b, 1.5);
  detail::put_key(b, "empty");
  krishiv::trace::test::begin_kvlist(b, 0);
  detail::put_key(b, "nested");
  krishiv::trace::test::begin_kvlist(b, 1);
  detail::put_key(b, "arr");
  detail::begin_array(b, 1);
  detail::put_natural(b, "deep");
  // A value long enough to need a two-byte length prefix (KeyValue, AnyValue and string).
  detail::put_attribute(b, "string.long", std::string(300, 'L'));
}

// A schema-less span using every field of the record format.
inline Body full_body() {
  Body b;
  detail::put_name(b, "full span");
  detail::put_trace_state(b, b.bits, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  put_every_value_kind(b);
  detail::begin_event(b, b.bits, 123, "event.one", 3, 2);
  detail::put_key(b, "e.int");
  detail::put_natural(b, 5);
  detail::put_key(b, "e.str");
  detail::put_natural(b, "five");
  detail::put_key(b, "e.arr");
  detail::begin_array(b, 2);
  detail::put_natural(b, true);
  detail::put_natural(b, 2.5);
  detail::begin_event(b, b.bits, 456, "", 0, 0);  // no name, no attributes
  detail::begin_link(b, b.bits, trace_id(900), span_id(901), TraceFlags(0x01), true,
                     "congo=t61rcWkgMzE", 2, 4);
  detail::put_key(b, "l.bool");
  detail::put_natural(b, false);
  detail::put_key(b, "l.kv");
  krishiv::trace::test::begin_kvlist(b, 1);
  detail::put_key(b, "k");
  detail::put_natural(b, 0);
  detail::begin_link(b, b.bits, trace_id(902), span_id(903), TraceFlags(0x00), false, "", 0, 0);
  detail::put_status_message(b, b.bits, "it broke");
  detail::put_dropped(b, b.bits, 3, 4, 5);
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
      Body b = krishiv_body("job-42", 7, -1, "op/scan");
      detail::put_attribute(b, "extra", 9);
      batch.add_record(records.add(h, b));
    }
    // 3. a root span: no parent_span_id, no flags at all (trace flags 0, remoteness unknown).
    {
      RecordHeader h = header(3, SpanKind::Client, 0x00);
      Body b;
      detail::put_name(b, "root");
      batch.add_record(records.add(h, b));
    }
    // 4. parent remoteness unknown; UNSET status that still has a message; producer.
    {
      RecordHeader h = header(4, SpanKind::Producer, 0x01);
      set_parent(h, span_id(3), std::nullopt);
      Body b;
      detail::put_name(b, "produce");
      detail::put_status_message(b, b.bits, "note");
      batch.add_record(records.add(h, b));
    }
    // 5. consumer, empty name, a big span (over 16 KiB: three-byte length prefix).
    {
      RecordHeader h = header(5, SpanKind::Consumer, 0x01);
      set_parent(h, span_id(4), true);
      Body b;
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
