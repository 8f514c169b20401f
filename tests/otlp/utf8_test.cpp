// Every OTLP string field leaves as valid UTF-8 (proto3 `string`: the official parsers reject a
// whole request over one bad byte, so a collector would drop every span in it). Checked by
// libprotobuf's generated parser, which validates proto3 strings, for each kind of field: span,
// event and link contents, attribute keys and values at every nesting, the status message, the
// resource (OTEL_SERVICE_NAME included) and the instrumentation scope. Invalid sequences become
// U+FFFD, one per maximal subpart (Unicode §3.9).

#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capture.hpp"
#include "krishiv/trace/otlp/encoder.hpp"
#include "krishiv/trace/resource.hpp"
#include "otlp_test.pb.h"
#include "records.hpp"

namespace pb = krishiv::otlp_test;
using namespace otlp_test;

namespace {

#define R "\xEF\xBF\xBD"
// C0 (never a lead byte) and a stray continuation, a truncated 3-byte sequence, a UTF-16
// surrogate (ED A0 80: three subparts), a valid 4-byte character, a lone FF.
constexpr std::string_view kBad =
    "a\xC0\xAF"
    "b\xE1\x80"
    "c\xED\xA0\x80"
    "d\xF0\x9F\x98\x80\xFF";
constexpr std::string_view kRepaired = "a" R R "b" R "c" R R R "d\xF0\x9F\x98\x80" R;
// Invalid bytes around the 8-byte blocks a fast validator reads: a lone continuation at 8, a
// 3-byte character across the 8/16 boundary, a truncated one at the very end.
constexpr std::string_view kBadLong =
    "01234567\x80"
    "abcdefghijklmn\xE2\x9C\x93xyz\xE2\x9C";
constexpr std::string_view kRepairedLong = "01234567" R "abcdefghijklmn\xE2\x9C\x93xyz" R;
#undef R

// Encodes one span (its body written by `body`) with the given resource and scope, and parses
// the bytes with libprotobuf. nullopt when libprotobuf rejects them.
std::optional<pb::ExportTraceServiceRequest> encode_and_parse(
    const std::function<void(Body&)>& body, const Resource& resource = Resource{},
    const InstrumentationScope& scope = InstrumentationScope{},
    const SchemaInfo* schema = nullptr) {
  const detail::TimeBase tb = time_base();
  Records records;
  SpanBatch batch{resource, scope, tb};
  RecordHeader h = header(1, SpanKind::Internal, 0x01);
  h.schema = schema;
  Body b;
  body(b);
  batch.add_record(records.add(h, b));
  std::string bytes;
  OtlpEncoder{}.encode(batch, bytes);
  // The sizer must agree with the writer, repairs included: the exporter splits batches by it.
  CHECK(OtlpEncoder::encoded_size(batch) == bytes.size());
  pb::ExportTraceServiceRequest req;
  // libprotobuf logs "String field ... contains invalid UTF-8 data" on stderr when it rejects.
  ::test::StderrCapture quiet;
  if (!req.ParseFromString(bytes)) return std::nullopt;
  return req;
}

const pb::Span& only_span(const pb::ExportTraceServiceRequest& req) {
  REQUIRE(req.resource_spans_size() == 1);
  REQUIRE(req.resource_spans(0).scope_spans_size() == 1);
  REQUIRE(req.resource_spans(0).scope_spans(0).spans_size() == 1);
  return req.resource_spans(0).scope_spans(0).spans(0);
}

void named(Body& b) {
  detail::put_name(b, "span");
}

}  // namespace

TEST_CASE("span name", "[otlp][utf8]") {
  for (const auto& [bad_in, good] :
       {std::pair{kBad, kRepaired}, std::pair{kBadLong, kRepairedLong}}) {
    // A copy: clang 14 does not let a lambda capture a structured binding.
    const auto bad = bad_in;
    const auto req = encode_and_parse([&](Body& b) { detail::put_name(b, bad); });
    REQUIRE(req);
    CHECK(only_span(*req).name() == good);
  }
}

// The encoder checks a schema's name and keys once per request, not per span: still repaired.
TEST_CASE("schema span name, field keys and values", "[otlp][utf8]") {
  static constexpr FieldInfo kFields[] = {{kBad, ValueType::String}, {kBadLong, ValueType::Int}};
  static constexpr SchemaInfo kSchema{kBadLong, kFields, 2};
  const auto req = encode_and_parse(
      [](Body& b) {
        detail::put_str(b, kBad);
        detail::put_int(b, 42);
      },
      Resource{}, InstrumentationScope{}, &kSchema);
  REQUIRE(req);
  const auto& span = only_span(*req);
  CHECK(span.name() == kRepairedLong);
  REQUIRE(span.attributes_size() == 2);
  CHECK(span.attributes(0).key() == kRepaired);
  CHECK(span.attributes(0).value().string_value() == kRepaired);
  CHECK(span.attributes(1).key() == kRepairedLong);
  CHECK(span.attributes(1).value().int_value() == 42);
}

TEST_CASE("valid UTF-8 is sent unchanged", "[otlp][utf8]") {
  const std::string text =
      "plain ascii, caf\xC3\xA9, \xE2\x9C\x93, \xF0\x9F\x98\x80 and more ascii";
  const auto req = encode_and_parse([&](Body& b) {
    detail::put_name(b, text);
    detail::put_attribute(b, text, std::string_view(text));
  });
  REQUIRE(req);
  CHECK(only_span(*req).name() == text);
  CHECK(only_span(*req).attributes(0).key() == text);
  CHECK(only_span(*req).attributes(0).value().string_value() == text);
}

TEST_CASE("span attribute key and string value", "[otlp][utf8]") {
  const auto req = encode_and_parse([](Body& b) {
    named(b);
    detail::put_attribute(b, kBad, kBadLong);
  });
  REQUIRE(req);
  const auto& kv = only_span(*req).attributes(0);
  CHECK(kv.key() == kRepaired);
  CHECK(kv.value().string_value() == kRepairedLong);
}

TEST_CASE("array of strings", "[otlp][utf8]") {
  const auto req = encode_and_parse([](Body& b) {
    named(b);
    detail::put_attribute(b, "list",
                          std::vector<std::string>{"ok", std::string(kBad), std::string(kBadLong)});
  });
  REQUIRE(req);
  const auto& arr = only_span(*req).attributes(0).value().array_value();
  REQUIRE(arr.values_size() == 3);
  CHECK(arr.values(0).string_value() == "ok");
  CHECK(arr.values(1).string_value() == kRepaired);
  CHECK(arr.values(2).string_value() == kRepairedLong);
}

TEST_CASE("key-value list keys and values", "[otlp][utf8]") {
  const auto req = encode_and_parse([](Body& b) {
    named(b);
    b.push(static_cast<std::uint8_t>(Item::Attribute));
    detail::put_key(b, "map");
    begin_kvlist(b, 1);
    detail::put_key(b, kBad);
    detail::put_natural(b, kBadLong);
  });
  REQUIRE(req);
  const auto& kvl = only_span(*req).attributes(0).value().kvlist_value();
  REQUIRE(kvl.values_size() == 1);
  CHECK(kvl.values(0).key() == kRepaired);
  CHECK(kvl.values(0).value().string_value() == kRepairedLong);
}

TEST_CASE("bytes values are not text and stay as they are", "[otlp][utf8]") {
  const auto req = encode_and_parse([](Body& b) {
    named(b);
    b.push(static_cast<std::uint8_t>(Item::Attribute));
    detail::put_key(b, "raw");
    put_bytes_value(b, kBad);
  });
  REQUIRE(req);
  CHECK(only_span(*req).attributes(0).value().bytes_value() == kBad);
}

TEST_CASE("event name and event attributes", "[otlp][utf8]") {
  const auto req = encode_and_parse([](Body& b) {
    named(b);
    detail::begin_event(b, b.bits, 5, kBad, 1, 0);
    detail::put_key(b, kBadLong);
    detail::put_natural(b, kBad);
  });
  REQUIRE(req);
  const auto& span = only_span(*req);
  REQUIRE(span.events_size() == 1);
  CHECK(span.events(0).name() == kRepaired);
  REQUIRE(span.events(0).attributes_size() == 1);
  CHECK(span.events(0).attributes(0).key() == kRepairedLong);
  CHECK(span.events(0).attributes(0).value().string_value() == kRepaired);
}

TEST_CASE("link attributes", "[otlp][utf8]") {
  const auto req = encode_and_parse([](Body& b) {
    named(b);
    detail::begin_link(b, b.bits, trace_id(7), span_id(8), TraceFlags(0x01), true, "", 1, 0);
    detail::put_key(b, kBad);
    detail::put_natural(b, kBadLong);
  });
  REQUIRE(req);
  const auto& span = only_span(*req);
  REQUIRE(span.links_size() == 1);
  REQUIRE(span.links(0).attributes_size() == 1);
  CHECK(span.links(0).attributes(0).key() == kRepaired);
  CHECK(span.links(0).attributes(0).value().string_value() == kRepairedLong);
}

TEST_CASE("status message", "[otlp][utf8]") {
  const auto req = encode_and_parse([](Body& b) {
    named(b);
    detail::put_status_message(b, b.bits, kBad);
  });
  REQUIRE(req);
  CHECK(only_span(*req).status().message() == kRepaired);
}

TEST_CASE("resource attribute keys, string values and string arrays", "[otlp][utf8]") {
  const Resource resource = Resource::create({
      {std::string(kBad), std::string(kBadLong)},
      {"strings", std::vector<std::string>{std::string(kBadLong), "x"}},
  });
  const auto req = encode_and_parse(named, resource);
  REQUIRE(req);
  REQUIRE(req->resource_spans_size() == 1);
  const auto& attrs = req->resource_spans(0).resource().attributes();
  REQUIRE(attrs.size() == 2);
  CHECK(attrs[0].key() == kRepaired);
  CHECK(attrs[0].value().string_value() == kRepairedLong);
  REQUIRE(attrs[1].value().array_value().values_size() == 2);
  CHECK(attrs[1].value().array_value().values(0).string_value() == kRepairedLong);
}

TEST_CASE("service.name from OTEL_SERVICE_NAME", "[otlp][utf8]") {
  ::test::EnvGuard env;
  env.unset("OTEL_RESOURCE_ATTRIBUTES");
  env.set("OTEL_SERVICE_NAME", std::string(kBad));
  const Resource resource = Resource::from_env();
  const auto req = encode_and_parse(named, resource);
  REQUIRE(req);
  bool found = false;
  for (const auto& kv : req->resource_spans(0).resource().attributes()) {
    if (kv.key() != "service.name") continue;
    found = true;
    CHECK(kv.value().string_value() == kRepaired);
  }
  CHECK(found);
}

TEST_CASE("instrumentation scope name and version", "[otlp][utf8]") {
  const InstrumentationScope scope{std::string(kBad), std::string(kBadLong)};
  const auto req = encode_and_parse(named, Resource{}, scope);
  REQUIRE(req);
  const auto& s = req->resource_spans(0).scope_spans(0).scope();
  CHECK(s.name() == kRepaired);
  CHECK(s.version() == kRepairedLong);
}
