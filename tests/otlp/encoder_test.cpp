// Golden bytes of the hand-written OTLP encoding (the protobuf wire format, protobuf.dev
// "Encoding"; field numbers: opentelemetry-proto trace.proto, common.proto). Cross-checkable with
// `protoc --decode_raw`.

#include "krishiv/trace/otlp/encoder.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "krishiv/trace/detail/protobuf_writer.hpp"
#include "records.hpp"

using namespace otlp_test;
using krishiv::trace::detail::ProtobufSizer;
using krishiv::trace::detail::ProtobufWriter;

namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s;
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (!s.empty()) s += ' ';
    s += kDigits[b >> 4];
    s += kDigits[b & 0xF];
  }
  return s;
}

// The AnyValue encoding of one tagged record value.
template <typename Put>
std::string any_value_bytes(Put&& put) {
  Body b;
  put(b);
  const ValueView v(static_cast<ValueType>(b.bytes[0]), b.data() + 1);
  std::string out;
  ProtobufWriter w(out);
  detail::otlp::write_any_value(w, v);
  w.finish();
  ProtobufSizer s;
  detail::otlp::write_any_value(s, v);
  CHECK(s.size() == out.size());
  return hex(out);
}

// A one-span request; returns the Span message's bytes only (after its key and length).
struct OneSpan {
  Resource resource;
  InstrumentationScope scope{"s", ""};
  detail::TimeBase tb{0, 0, 1.0};
  Records records;
  SpanBatch batch{resource, scope, tb};
  std::string request;

  std::string span_hex(const RecordHeader& h, const Body& body) {
    batch.clear();
    batch.add_record(records.add(h, body));
    OtlpEncoder{}.encode(batch, request);
    REQUIRE(OtlpEncoder::encoded_size(batch) == request.size());
    // request = 0A len {12 len {0A 03 0A 01 73 (scope "s"), 12 len span}}
    std::size_t i = 0;
    const auto byte = [&] { return static_cast<unsigned char>(request.at(i++)); };
    const auto varint = [&] {
      std::size_t v = 0;
      for (int shift = 0;; shift += 7) {
        const auto b = byte();
        v |= std::size_t{b & 0x7Fu} << shift;
        if (!(b & 0x80)) return v;
      }
    };
    const auto length_is_rest = [&] {
      const std::size_t n = varint();
      return n == request.size() - i;
    };
    REQUIRE(byte() == 0x0A);
    REQUIRE(length_is_rest());
    REQUIRE(byte() == 0x12);
    REQUIRE(length_is_rest());
    REQUIRE(hex(std::string_view(request).substr(i, 5)) == "0A 03 0A 01 73");
    i += 5;
    REQUIRE(byte() == 0x12);
    REQUIRE(length_is_rest());
    return hex(std::string_view(request).substr(i));
  }
};

RecordHeader small_header(std::uint8_t flags) {
  RecordHeader h{};
  h.kind = static_cast<std::uint8_t>(SpanKind::Internal);
  h.flags = flags;
  h.trace_id = TraceId::from_u64(0x0102030405060708, 0x090A0B0C0D0E0F10);
  h.span_id = SpanId::from_u64(0xA1A2A3A4A5A6A7A8);
  h.start = 1;
  h.end = 2;
  return h;
}

const std::string kIds =
    "0A 10 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 12 08 A1 A2 A3 A4 A5 A6 A7 A8";
const std::string kTimes = "39 01 00 00 00 00 00 00 00 41 02 00 00 00 00 00 00 00";

}  // namespace

TEST_CASE("varint sizes", "[otlp][writer]") {
  CHECK(detail::varint_size(0) == 1);
  CHECK(detail::varint_size(127) == 1);
  CHECK(detail::varint_size(128) == 2);
  CHECK(detail::varint_size(16383) == 2);
  CHECK(detail::varint_size(16384) == 3);
  CHECK(detail::varint_size(UINT64_MAX) == 10);
  CHECK(detail::proto_key(16, detail::WireType::I32) == 0x85);
}

TEST_CASE("length prefixes shrink and grow around their guess", "[otlp][writer]") {
  for (const std::size_t n : {0u, 1u, 127u, 128u, 300u, 16383u, 16384u, 70000u}) {
    for (const std::size_t guess : {1u, 2u, 3u}) {
      std::string out = "stale contents";
      ProtobufWriter w(out);
      const auto m = w.begin_len(detail::proto_key(1, detail::WireType::Len), guess);
      w.reserve(n);
      for (std::size_t i = 0; i < n; ++i) w.put_byte(static_cast<std::uint8_t>(i));
      w.end_len(m);
      w.finish();
      REQUIRE(out.size() == 1 + detail::varint_size(n) + n);
      CHECK(static_cast<unsigned char>(out[0]) == 0x0A);
      // Decode the prefix back.
      std::uint64_t len = 0;
      std::size_t i = 1;
      for (int shift = 0;; shift += 7) {
        const auto b = static_cast<unsigned char>(out[i++]);
        len |= std::uint64_t{b & 0x7Fu} << shift;
        if (!(b & 0x80)) break;
      }
      CHECK(len == n);
      CHECK(i == 1 + detail::varint_size(n));
      if (n > 0) CHECK(static_cast<unsigned char>(out.back()) == static_cast<unsigned char>(n - 1));
    }
  }
}

TEST_CASE("a set oneof member is written even when it holds the default", "[otlp][anyvalue]") {
  CHECK(any_value_bytes([](auto& b) { detail::put_natural(b, false); }) == "10 00");
  CHECK(any_value_bytes([](auto& b) { detail::put_natural(b, true); }) == "10 01");
  CHECK(any_value_bytes([](auto& b) { detail::put_natural(b, 0); }) == "18 00");
  CHECK(any_value_bytes([](auto& b) { detail::put_natural(b, std::string_view{}); }) == "0A 00");
  CHECK(any_value_bytes([](auto& b) { detail::put_natural(b, 0.0); }) ==
        "21 00 00 00 00 00 00 00 00");
  CHECK(any_value_bytes([](auto& b) {
          krishiv::trace::test::put_bytes_value(b, std::string_view{});
        }) == "3A 00");
  CHECK(any_value_bytes([](auto& b) { detail::begin_array(b, 0); }) == "2A 00");
  CHECK(any_value_bytes([](auto& b) { krishiv::trace::test::begin_kvlist(b, 0); }) == "32 00");
}

TEST_CASE("AnyValue kinds", "[otlp][anyvalue]") {
  // int64 is not zigzag: a negative value is the 10-byte varint of its two's complement.
  CHECK(any_value_bytes([](auto& b) { detail::put_natural(b, -1); }) ==
        "18 FF FF FF FF FF FF FF FF FF 01");
  CHECK(any_value_bytes([](auto& b) { detail::put_natural(b, INT64_MIN); }) ==
        "18 80 80 80 80 80 80 80 80 80 01");
  CHECK(any_value_bytes([](auto& b) { detail::put_natural(b, 300); }) == "18 AC 02");
  CHECK(any_value_bytes([](auto& b) { detail::put_natural(b, 1.0); }) ==
        "21 00 00 00 00 00 00 F0 3F");
  CHECK(any_value_bytes([](auto& b) { detail::put_natural(b, "hi"); }) == "0A 02 68 69");
  CHECK(any_value_bytes([](auto& b) {
          krishiv::trace::test::put_bytes_value(b, std::string_view("\x00\xFF", 2));
        }) == "3A 02 00 FF");
  // ArrayValue{values=[AnyValue{int 1}, AnyValue{string "a"}]}
  CHECK(any_value_bytes([](auto& b) {
          detail::begin_array(b, 2);
          detail::put_natural(b, 1);
          detail::put_natural(b, "a");
        }) == "2A 09 0A 02 18 01 0A 03 0A 01 61");
  // KeyValueList{values=[KeyValue{key "k", value {bool true}}]}
  CHECK(any_value_bytes([](auto& b) {
          krishiv::trace::test::begin_kvlist(b, 1);
          detail::put_key(b, "k");
          detail::put_natural(b, true);
        }) == "32 09 0A 07 0A 01 6B 12 02 10 01");
}

TEST_CASE("a minimal root span, the whole request", "[otlp][span]") {
  Resource resource;
  const InstrumentationScope scope{"s", ""};
  const detail::TimeBase tb{0, 0, 1.0};
  Records records;
  SpanBatch batch(resource, scope, tb);
  Body body;
  detail::put_name(body, "n");
  batch.add_record(records.add(small_header(0x00), body));

  std::string out;
  OtlpEncoder{}.encode(batch, out);
  // No resource (no attributes), no parent_span_id (root), no status (unset), no flags (0).
  CHECK(hex(out) ==
        "0A 3C "           // ExportTraceServiceRequest.resource_spans
        "12 3A "           // ResourceSpans.scope_spans
        "0A 03 0A 01 73 "  // ScopeSpans.scope {name "s"}
        "12 33 " +
            kIds +                // ScopeSpans.spans
            " 2A 01 6E 30 01 " +  // name "n", kind INTERNAL
            kTimes);
  CHECK(OtlpEncoder::encoded_size(batch) == out.size());
}

TEST_CASE("parent_span_id and Span.flags", "[otlp][span]") {
  OneSpan t;
  const auto parent = SpanId::from_u64(0xB1B2B3B4B5B6B7B8);
  const std::string kParent = " 22 08 B1 B2 B3 B4 B5 B6 B7 B8";
  const std::string kRest = " 30 01 " + kTimes;

  SECTION("root span, sampled: no parent_span_id, no remote bits") {
    CHECK(t.span_hex(small_header(0x01), {}) == kIds + kRest + " 85 01 01 00 00 00");
  }
  SECTION("remote parent: 0x100 | 0x200") {
    RecordHeader h = small_header(0x01);
    set_parent(h, parent, true);
    CHECK(t.span_hex(h, {}) == kIds + kParent + kRest + " 85 01 01 03 00 00");
  }
  SECTION("local parent: 0x100") {
    RecordHeader h = small_header(0x03);
    set_parent(h, parent, false);
    CHECK(t.span_hex(h, {}) == kIds + kParent + kRest + " 85 01 03 01 00 00");
  }
  SECTION("parent remoteness unknown, unsampled: flags omitted") {
    RecordHeader h = small_header(0x00);
    set_parent(h, parent, std::nullopt);
    CHECK(t.span_hex(h, {}) == kIds + kParent + kRest);
  }
}

TEST_CASE("Status", "[otlp][span]") {
  OneSpan t;
  const std::string kHead = kIds + " 30 01 " + kTimes;
  RecordHeader h = small_header(0x00);
  Body body;
  SECTION("unset without a message: omitted") {
    CHECK(t.span_hex(h, body) == kHead);
  }
  SECTION("ok") {
    h.status = static_cast<std::uint8_t>(StatusCode::Ok);
    CHECK(t.span_hex(h, body) == kHead + " 7A 02 18 01");
  }
  SECTION("error with a message") {
    h.status = static_cast<std::uint8_t>(StatusCode::Error);
    detail::put_status_message(body, body.bits, "boom");
    CHECK(t.span_hex(h, body) == kHead + " 7A 08 12 04 62 6F 6F 6D 18 02");
  }
  SECTION("unset with a message: the message alone") {
    detail::put_status_message(body, body.bits, "x");
    CHECK(t.span_hex(h, body) == kHead + " 7A 03 12 01 78");
  }
}

TEST_CASE("kinds, trace_state, dropped counts", "[otlp][span]") {
  OneSpan t;
  RecordHeader h = small_header(0x00);
  h.kind = static_cast<std::uint8_t>(SpanKind::Consumer);
  Body body;
  detail::put_trace_state(body, body.bits, "a=b");
  detail::put_dropped(body, body.bits, 1, 0, 300);
  CHECK(t.span_hex(h, body) == kIds + " 1A 03 61 3D 62 30 05 " + kTimes + " 50 01 70 AC 02");
}

TEST_CASE("attributes, events and links", "[otlp][span]") {
  OneSpan t;
  RecordHeader h = small_header(0x00);
  h.kind = 0;  // unspecified: omitted
  Body body;
  detail::put_attribute(body, "a", 1);
  detail::begin_event(body, body.bits, 7, "e", 1, 2);
  detail::put_key(body, "b");
  detail::put_natural(body, false);
  detail::begin_link(body, body.bits, TraceId::from_u64(0, 1), SpanId::from_u64(2),
                     TraceFlags(0x01), true, "k=v", 0, 3);
  detail::begin_link(body, body.bits, TraceId::from_u64(0, 1), SpanId::from_u64(3),
                     TraceFlags(0x00), false, "", 0, 0);
  CHECK(t.span_hex(h, body) == kIds + " " + kTimes +
                                   // attributes {key "a", value {int 1}}
                                   " 4A 07 0A 01 61 12 02 18 01"
                                   // events {time 7, name "e", attributes {b: false}, dropped 2}
                                   " 5A 17 09 07 00 00 00 00 00 00 00 12 01 65"
                                   " 1A 07 0A 01 62 12 02 10 00 20 02"
                                   // links {ids, trace_state "k=v", dropped 3, flags 0x301}
                                   " 6A 28 0A 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01"
                                   " 12 08 00 00 00 00 00 00 00 02 1A 03 6B 3D 76 28 03"
                                   " 35 01 03 00 00"
                                   // links {ids, flags 0x100: a local link context}
                                   " 6A 21 0A 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01"
                                   " 12 08 00 00 00 00 00 00 00 03 35 00 01 00 00");
}

TEST_CASE("resource and scope", "[otlp][request]") {
  Resource resource;
  resource.attributes = {{"b", false}, {"i", std::vector<std::int64_t>{-1}}};
  const InstrumentationScope scope{"", "9"};
  const detail::TimeBase tb{0, 0, 1.0};
  Records records;
  SpanBatch batch(resource, scope, tb);
  RecordHeader h = small_header(0x00);
  h.start = h.end = 0;  // zero times are omitted
  batch.add_record(records.add(h, {}));
  std::string out;
  OtlpEncoder{}.encode(batch, out);
  CHECK(hex(out) ==
        "0A 48 0A 1F "                       // ResourceSpans.resource
        "0A 07 0A 01 62 12 02 10 00 "        // {b: false}
        "0A 14 0A 01 69 12 0F 2A 0D 0A 0B "  // {i: [-1]}
        "18 FF FF FF FF FF FF FF FF FF 01 "
        "12 25 0A 03 12 01 39 "  // scope_spans, scope {version "9"}
        "12 1E " +
            kIds + " 30 01");
  CHECK(OtlpEncoder::encoded_size(batch) == out.size());
}

TEST_CASE("empty batches and ranges encode to an empty request", "[otlp][request]") {
  FullBatch f;
  std::string out = "junk";
  OtlpEncoder{}.encode(f.batch, 2, 2, out);
  CHECK(out.empty());
  OtlpEncoder{}.encode(f.batch, 4, 100, out);
  CHECK(!out.empty());
  CHECK(OtlpEncoder::encoded_size(f.batch, 3, 3) == 0);
}

TEST_CASE("the encoded size matches and the output buffer is reused", "[otlp][request]") {
  FullBatch f;
  std::string out;
  OtlpEncoder enc;
  enc.encode(f.batch, out);
  CHECK(OtlpEncoder::encoded_size(f.batch) == out.size());
  const std::string first = out;
  const char* data = out.data();
  const std::size_t cap = out.capacity();
  for (int i = 0; i < 3; ++i) {
    enc.encode(f.batch, out);
    CHECK(out == first);
    CHECK(out.data() == data);
    CHECK(out.capacity() == cap);
  }
  for (std::size_t b = 0; b < f.batch.size(); ++b) {
    for (std::size_t e = b; e <= f.batch.size(); ++e) {
      enc.encode(f.batch, b, e, out);
      CHECK(OtlpEncoder::encoded_size(f.batch, b, e) == out.size());
    }
  }
}

TEST_CASE("encode_within splits a batch under a byte limit", "[otlp][request]") {
  FullBatch f;
  OtlpEncoder enc;
  std::string out;
  const std::size_t whole = OtlpEncoder::encoded_size(f.batch);

  CHECK(enc.encode_within(f.batch, 0, OtlpEncoder::kMaxRequestBytes, out) == f.batch.size());
  CHECK(out.size() == whole);

  // Spans 0..3 are small, span 4 alone is over 16 KiB.
  const std::size_t first_four = OtlpEncoder::encoded_size(f.batch, 0, 4);
  CHECK(enc.encode_within(f.batch, 0, first_four + 100, out) == 4);
  CHECK(out.size() == first_four);
  std::string expected;
  enc.encode(f.batch, 0, 4, expected);
  CHECK(out == expected);

  // Every piece stays under the limit and the pieces cover the batch in order.
  const std::size_t limit = OtlpEncoder::encoded_size(f.batch, 4, 5) + 100;
  std::size_t i = 0;
  int pieces = 0;
  while (i < f.batch.size()) {
    const std::size_t next = enc.encode_within(f.batch, i, limit, out);
    REQUIRE(next > i);
    CHECK(out.size() <= limit);
    enc.encode(f.batch, i, next, expected);
    CHECK(out == expected);
    i = next;
    ++pieces;
  }
  CHECK(pieces == 2);

  // A span that cannot fit on its own: nothing is encoded.
  CHECK(enc.encode_within(f.batch, 4, 1000, out) == 4);
  CHECK(out.empty());
  CHECK(enc.encode_within(f.batch, 5, 1000, out) == 5);
  CHECK(out.empty());
}

// Records keep the end as a varint duration after the header: long spans keep their exact end,
// and an end before the start (CLOCK_REALTIME stepping back) becomes a zero-length span.
TEST_CASE("records: end times at every duration length", "[record]") {
  Resource resource;
  const InstrumentationScope scope{"s", ""};
  const std::int64_t start = 1'700'000'000'000'000'000;
  const detail::TimeBase tb{start, start, 1.0};  // ticks are ns; deltas exact in a double
  Records records;
  SpanBatch batch(resource, scope, tb);
  std::vector<std::int64_t> durations = {0, 1, 127, 128, 3'600'000'000'000, (1LL << 52) + 1};
  for (std::int64_t d : durations) {
    RecordHeader h = small_header(0x01);
    h.start = start;
    h.end = start + d;
    batch.add_record(records.add(h, krishiv_body("job", 1, 2, "op")));
  }
  RecordHeader back = small_header(0x01);
  back.start = start;
  back.end = start - 5;
  batch.add_record(records.add(back, krishiv_body("job", 1, 2, "op")));
  REQUIRE(batch.size() == durations.size() + 1);
  for (std::size_t i = 0; i < durations.size(); ++i) {
    CHECK(batch[i].start_unix_ns() == static_cast<std::uint64_t>(start));
    CHECK(batch[i].end_unix_ns() == static_cast<std::uint64_t>(start + durations[i]));
  }
  CHECK(batch[durations.size()].end_unix_ns() == static_cast<std::uint64_t>(start));
}

namespace {

// Schemas the encoder's fast path caches: every field type, a key and a name that need UTF-8
// repair, an empty key, values whose lengths take two-byte prefixes, and more fields than the
// cache holds (the reference path then).
constexpr FieldInfo kAllTypes[] = {
    {"s", ValueType::String}, {"i", ValueType::Int},          {"b", ValueType::Bool},
    {"d", ValueType::Double}, {"bad\xC3", ValueType::String}, {"", ValueType::Int},
};
constexpr SchemaInfo kAllTypesSchema{"all\xFF types", kAllTypes, 6};
constexpr FieldInfo kOneField[] = {{"k", ValueType::String}};
constexpr SchemaInfo kSchemaA{"a", kOneField, 1};
constexpr SchemaInfo kSchemaB{"", kOneField, 1};
constexpr SchemaInfo kSchemaC{"c", kOneField, 1};
constexpr SchemaInfo kSchemaD{"d", kOneField, 1};
constexpr SchemaInfo kSchemaE{"e", kOneField, 1};
constexpr FieldInfo kManyFields[40] = {
    {"f0", ValueType::Int},  {"f1", ValueType::Int},  {"f2", ValueType::Int},
    {"f3", ValueType::Int},  {"f4", ValueType::Int},  {"f5", ValueType::Int},
    {"f6", ValueType::Int},  {"f7", ValueType::Int},  {"f8", ValueType::Int},
    {"f9", ValueType::Int},  {"f10", ValueType::Int}, {"f11", ValueType::Int},
    {"f12", ValueType::Int}, {"f13", ValueType::Int}, {"f14", ValueType::Int},
    {"f15", ValueType::Int}, {"f16", ValueType::Int}, {"f17", ValueType::Int},
    {"f18", ValueType::Int}, {"f19", ValueType::Int}, {"f20", ValueType::Int},
    {"f21", ValueType::Int}, {"f22", ValueType::Int}, {"f23", ValueType::Int},
    {"f24", ValueType::Int}, {"f25", ValueType::Int}, {"f26", ValueType::Int},
    {"f27", ValueType::Int}, {"f28", ValueType::Int}, {"f29", ValueType::Int},
    {"f30", ValueType::Int}, {"f31", ValueType::Int}, {"f32", ValueType::Int},
    {"f33", ValueType::Int}, {"f34", ValueType::Int}, {"f35", ValueType::Int},
    {"f36", ValueType::Int}, {"f37", ValueType::Int}, {"f38", ValueType::Int},
    {"f39", ValueType::Int},
};
constexpr SchemaInfo kManySchema{"many", kManyFields, 40};

}  // namespace

TEST_CASE("schema spans: the encoder's fast path writes the reference bytes", "[otlp][span]") {
  const Resource resource;
  const InstrumentationScope scope{"s", "1"};
  const detail::TimeBase tb = time_base();
  Records records;
  SpanBatch batch(resource, scope, tb);
  const std::string long_value(300, 'x');
  const std::string bad_value = "v\xE2\x82" + std::string(200, 'y');
  std::uint64_t n = 1;
  const auto add = [&](const SchemaInfo& schema, const Body& body, bool extras) {
    RecordHeader h = header(n, static_cast<SpanKind>(n % 6), 0x01);
    h.schema = &schema;
    if (n % 2 == 0) set_parent(h, span_id(100 + n), n % 4 == 0);
    Body b = body;
    if (extras) {
      detail::put_attribute(b, "dynamic", std::int64_t{-5});
      detail::put_status_message(b, h.bits, "why");
      h.status = static_cast<std::uint8_t>(StatusCode::Error);
      if (n % 3 == 0) detail::put_trace_state(b, h.bits, "k=v");
    }
    batch.add_record(records.add(h, b));
    ++n;
  };
  const auto all_types = [&](std::string_view s, std::int64_t i, bool flag, double d,
                             std::string_view bad) {
    Body b;
    detail::put_str(b, s);
    detail::put_int(b, i);
    b.push(flag ? 1 : 0);
    detail::put_raw(b, d);
    detail::put_str(b, bad);
    detail::put_int(b, i / 2);
    return b;
  };
  const auto one = [](std::string_view v) {
    Body b;
    detail::put_str(b, v);
    return b;
  };
  Body many;
  for (std::int64_t i = 0; i < 40; ++i) detail::put_int(many, i * 1000);
  for (int round = 0; round < 3; ++round) {
    add(kAllTypesSchema, all_types("", 0, false, 0.0, ""), false);
    add(kAllTypesSchema, all_types(long_value, INT64_MIN, true, -2.5, bad_value), round == 1);
    add(kAllTypesSchema, all_types("job", INT64_MAX, true, 1e300, "\xFF"), round == 2);
    // Five schemas of one field each: more than the cache holds, so entries are replaced.
    add(kSchemaA, one("a"), false);
    add(kSchemaB, one(long_value), true);
    add(kSchemaC, one(bad_value), false);
    add(kSchemaD, one(""), true);
    add(kSchemaE, one("e"), false);
    add(kManySchema, many, round == 0);
    add(kKrishivSchema, krishiv_body("job-42", 7, -1, "op"), true);
  }

  std::string reference;
  {
    ProtobufWriter w(reference);
    for (std::size_t i = 0; i < batch.size(); ++i) detail::otlp::write_span(w, batch[i]);
    w.finish();
  }
  std::string fast;
  {
    ProtobufWriter w(fast);
    detail::otlp::SchemaCache cache;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      detail::otlp::write_span(w, batch[i], cache);
    }
    w.finish();
  }
  CHECK(hex(fast) == hex(reference));
  std::string out;
  OtlpEncoder{}.encode(batch, out);
  CHECK(OtlpEncoder::encoded_size(batch) == out.size());
}
