// Round trip: our hand-written bytes parsed by libprotobuf (code generated from otlp_test.proto,
// a mirror of the official messages) and compared field by field with what SpanView reports; and
// the other way, collector answers serialized by libprotobuf read by the response decoder.

#include <google/protobuf/any.pb.h>
#include <google/protobuf/duration.pb.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "krishiv/trace/otlp/encoder.hpp"
#include "krishiv/trace/otlp/response.hpp"
#include "otlp_test.pb.h"
#include "records.hpp"
#include "response_bytes.hpp"

namespace pb = krishiv::otlp_test;
using namespace otlp_test;

namespace {

std::string bytes_of(const TraceId& id) {
  return {reinterpret_cast<const char*>(id.data()), TraceId::kSize};
}
std::string bytes_of(const SpanId& id) {
  return {reinterpret_cast<const char*>(id.data()), SpanId::kSize};
}

void check_value(const ValueView& v, const pb::AnyValue& a);

void check_key_values(const std::vector<std::pair<std::string_view, ValueView>>& expected,
                      const google::protobuf::RepeatedPtrField<pb::KeyValue>& got) {
  REQUIRE(static_cast<std::size_t>(got.size()) == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("key " << expected[i].first);
    CHECK(got[static_cast<int>(i)].key() == expected[i].first);
    REQUIRE(got[static_cast<int>(i)].has_value());
    check_value(expected[i].second, got[static_cast<int>(i)].value());
  }
}

template <typename View>
std::vector<std::pair<std::string_view, ValueView>> attributes_of(const View& view) {
  std::vector<std::pair<std::string_view, ValueView>> out;
  view.for_each_attribute([&](std::string_view k, const ValueView& v) { out.emplace_back(k, v); });
  return out;
}

void check_value(const ValueView& v, const pb::AnyValue& a) {
  switch (v.type()) {
    case ValueType::Bool:
      REQUIRE(a.value_case() == pb::AnyValue::kBoolValue);
      CHECK(a.bool_value() == v.as_bool());
      break;
    case ValueType::Int:
      REQUIRE(a.value_case() == pb::AnyValue::kIntValue);
      CHECK(a.int_value() == v.as_int());
      break;
    case ValueType::Double:
      REQUIRE(a.value_case() == pb::AnyValue::kDoubleValue);
      CHECK(a.double_value() == v.as_double());
      break;
    case ValueType::String:
      REQUIRE(a.value_case() == pb::AnyValue::kStringValue);
      CHECK(a.string_value() == v.as_string());
      break;
    case ValueType::Bytes:
      REQUIRE(a.value_case() == pb::AnyValue::kBytesValue);
      CHECK(a.bytes_value() == v.as_string());
      break;
    case ValueType::Array: {
      REQUIRE(a.value_case() == pb::AnyValue::kArrayValue);
      std::vector<ValueView> elems;
      v.for_each_element([&](const ValueView& e) { elems.push_back(e); });
      REQUIRE(static_cast<std::size_t>(a.array_value().values_size()) == elems.size());
      for (std::size_t i = 0; i < elems.size(); ++i) {
        check_value(elems[i], a.array_value().values(static_cast<int>(i)));
      }
      break;
    }
    case ValueType::KvList: {
      REQUIRE(a.value_case() == pb::AnyValue::kKvlistValue);
      std::vector<std::pair<std::string_view, ValueView>> entries;
      v.for_each_entry([&](std::string_view k, const ValueView& e) { entries.emplace_back(k, e); });
      check_key_values(entries, a.kvlist_value().values());
      break;
    }
  }
}

void check_attribute_value(const AttributeValue& v, const pb::AnyValue& a) {
  std::visit(
      [&](const auto& x) {
        using X = std::remove_cvref_t<decltype(x)>;
        if constexpr (std::is_same_v<X, bool>) {
          REQUIRE(a.value_case() == pb::AnyValue::kBoolValue);
          CHECK(a.bool_value() == x);
        } else if constexpr (std::is_same_v<X, std::int64_t>) {
          REQUIRE(a.value_case() == pb::AnyValue::kIntValue);
          CHECK(a.int_value() == x);
        } else if constexpr (std::is_same_v<X, double>) {
          REQUIRE(a.value_case() == pb::AnyValue::kDoubleValue);
          CHECK(a.double_value() == x);
        } else if constexpr (std::is_same_v<X, std::string>) {
          REQUIRE(a.value_case() == pb::AnyValue::kStringValue);
          CHECK(a.string_value() == x);
        } else {
          REQUIRE(a.value_case() == pb::AnyValue::kArrayValue);
          REQUIRE(static_cast<std::size_t>(a.array_value().values_size()) == x.size());
          for (std::size_t i = 0; i < x.size(); ++i) {
            using E = typename X::value_type;
            check_attribute_value(AttributeValue(static_cast<E>(x[i])),
                                  a.array_value().values(static_cast<int>(i)));
          }
        }
      },
      v);
}

std::uint32_t expected_span_flags(const SpanView& s) {
  std::uint32_t f = s.flags().bits();
  if (const auto remote = s.parent_is_remote()) f |= 0x100u | (*remote ? 0x200u : 0u);
  return f;
}

void check_span(const SpanView& s, const pb::Span& p) {
  INFO("span " << s.name());
  CHECK(p.trace_id() == bytes_of(s.trace_id()));
  CHECK(p.span_id() == bytes_of(s.span_id()));
  CHECK(p.trace_state() == s.trace_state());
  CHECK(p.parent_span_id() == (s.has_parent() ? bytes_of(s.parent_span_id()) : std::string()));
  CHECK(p.flags() == expected_span_flags(s));
  CHECK(p.name() == s.name());
  CHECK(static_cast<int>(p.kind()) == static_cast<int>(s.kind()));
  CHECK(p.start_time_unix_nano() == s.start_unix_ns());
  CHECK(p.end_time_unix_nano() == s.end_unix_ns());
  check_key_values(attributes_of(s), p.attributes());
  CHECK(p.dropped_attributes_count() == s.dropped_attributes_count());

  std::vector<EventView> events;
  s.for_each_event([&](const EventView& e) { events.push_back(e); });
  REQUIRE(static_cast<std::size_t>(p.events_size()) == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& pe = p.events(static_cast<int>(i));
    CHECK(pe.time_unix_nano() == events[i].time_unix_ns());
    CHECK(pe.name() == events[i].name());
    check_key_values(attributes_of(events[i]), pe.attributes());
    CHECK(pe.dropped_attributes_count() == events[i].dropped_attributes_count());
  }
  CHECK(p.dropped_events_count() == s.dropped_events_count());

  std::vector<LinkView> links;
  s.for_each_link([&](const LinkView& l) { links.push_back(l); });
  REQUIRE(static_cast<std::size_t>(p.links_size()) == links.size());
  for (std::size_t i = 0; i < links.size(); ++i) {
    const auto& pl = p.links(static_cast<int>(i));
    CHECK(pl.trace_id() == bytes_of(links[i].trace_id()));
    CHECK(pl.span_id() == bytes_of(links[i].span_id()));
    CHECK(pl.trace_state() == links[i].trace_state());
    check_key_values(attributes_of(links[i]), pl.attributes());
    CHECK(pl.dropped_attributes_count() == links[i].dropped_attributes_count());
    CHECK(pl.flags() == (links[i].flags().bits() | 0x100u | (links[i].is_remote() ? 0x200u : 0u)));
  }
  CHECK(p.dropped_links_count() == s.dropped_links_count());

  const bool has_status = s.status_code() != StatusCode::Unset || !s.status_message().empty();
  CHECK(p.has_status() == has_status);
  CHECK(static_cast<int>(p.status().code()) == static_cast<int>(s.status_code()));
  CHECK(p.status().message() == s.status_message());
}

}  // namespace

TEST_CASE("libprotobuf parses every field back", "[otlp][roundtrip]") {
  FullBatch f;
  std::string bytes;
  OtlpEncoder{}.encode(f.batch, bytes);

  pb::ExportTraceServiceRequest req;
  REQUIRE(req.ParseFromString(bytes));
  // libprotobuf serializes in field-number order with minimal varints, as we do; with unknown
  // fields dropped at every level the bytes are still ours, so every byte was a known field.
  pb::ExportTraceServiceRequest known = req;
  known.DiscardUnknownFields();
  CHECK(known.SerializeAsString() == bytes);

  REQUIRE(req.resource_spans_size() == 1);
  const auto& rs = req.resource_spans(0);
  REQUIRE(rs.has_resource());
  const auto& rattrs = rs.resource().attributes();
  REQUIRE(static_cast<std::size_t>(rattrs.size()) == f.resource.attributes.size());
  for (std::size_t i = 0; i < f.resource.attributes.size(); ++i) {
    INFO("resource attribute " << f.resource.attributes[i].key);
    CHECK(rattrs[static_cast<int>(i)].key() == f.resource.attributes[i].key);
    check_attribute_value(f.resource.attributes[i].value, rattrs[static_cast<int>(i)].value());
  }
  CHECK(rs.resource().dropped_attributes_count() == 0);

  // One ResourceSpans and one ScopeSpans shared by all spans of the batch.
  REQUIRE(rs.scope_spans_size() == 1);
  const auto& ss = rs.scope_spans(0);
  CHECK(ss.scope().name() == f.scope.name);
  CHECK(ss.scope().version() == f.scope.version);
  REQUIRE(static_cast<std::size_t>(ss.spans_size()) == f.batch.size());
  for (std::size_t i = 0; i < f.batch.size(); ++i) {
    check_span(f.batch[i], ss.spans(static_cast<int>(i)));
  }

  SECTION("what the sample covers") {
    const auto& full = ss.spans(0);
    CHECK(full.flags() == 0x303);
    CHECK(full.kind() == pb::Span::SPAN_KIND_SERVER);
    CHECK(full.status().code() == pb::Status::STATUS_CODE_ERROR);
    CHECK(full.events_size() == 2);
    CHECK(full.links_size() == 2);
    CHECK(full.dropped_attributes_count() == 3);
    CHECK(full.dropped_events_count() == 4);
    CHECK(full.dropped_links_count() == 5);
    CHECK(full.links(0).flags() == 0x301);
    CHECK(full.links(1).flags() == 0x100);
    for (const auto& kv : full.attributes()) CHECK(kv.key() != "dead");
    const auto& schema = ss.spans(1);
    CHECK(schema.name() == "operator.run");
    REQUIRE(schema.attributes_size() == 5);
    CHECK(schema.attributes(0).key() == "job_id");
    CHECK(schema.attributes(0).value().string_value() == "job-42");
    CHECK(schema.attributes(2).value().int_value() == -1);
    CHECK(schema.flags() == 0x101);
    const auto& root = ss.spans(2);
    CHECK(root.parent_span_id().empty());
    CHECK(root.flags() == 0);
    CHECK(!root.has_status());
    CHECK(ss.spans(3).flags() == 0x01);
    CHECK(ss.spans(3).status().message() == "note");
    CHECK(ss.spans(4).ByteSizeLong() >= 16384);
  }
}

TEST_CASE("sub-ranges round-trip too", "[otlp][roundtrip]") {
  FullBatch f;
  std::string bytes;
  for (std::size_t b = 0; b < f.batch.size(); ++b) {
    OtlpEncoder{}.encode(f.batch, b, b + 1, bytes);
    pb::ExportTraceServiceRequest req;
    REQUIRE(req.ParseFromString(bytes));
    CHECK(req.SerializeAsString() == bytes);
    REQUIRE(req.resource_spans_size() == 1);
    REQUIRE(req.resource_spans(0).scope_spans_size() == 1);
    REQUIRE(req.resource_spans(0).scope_spans(0).spans_size() == 1);
    check_span(f.batch[b], req.resource_spans(0).scope_spans(0).spans(0));
  }
}

TEST_CASE("ExportTraceServiceResponse as libprotobuf writes it", "[otlp][response]") {
  namespace otlp = detail::otlp;
  pb::ExportTraceServiceResponse absent;
  auto r = otlp::decode_export_response(absent.SerializeAsString());
  CHECK(r.well_formed);
  CHECK_FALSE(r.has_partial_success);

  pb::ExportTraceServiceResponse empty;
  empty.mutable_partial_success();
  r = otlp::decode_export_response(empty.SerializeAsString());
  CHECK(r.well_formed);
  CHECK(r.has_partial_success);
  CHECK(r.rejected_spans == 0);
  CHECK(r.error_message.empty());

  for (const std::int64_t rejected :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{300}, std::int64_t{-7},
        std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    INFO("rejected_spans " << rejected);
    pb::ExportTraceServiceResponse resp;
    resp.mutable_partial_success()->set_rejected_spans(rejected);
    resp.mutable_partial_success()->set_error_message("2 spans had no name");
    r = otlp::decode_export_response(resp.SerializeAsString());
    CHECK(r.well_formed);
    CHECK(r.has_partial_success);
    CHECK(r.rejected_spans == rejected);
    CHECK(r.error_message == "2 spans had no name");
  }
}

// google/rpc/status.proto and error_details.proto are not shipped with libprotobuf; Duration
// and Any are. So RetryInfo { Duration retry_delay = 1; } and
// Status { int32 code = 1; repeated Any details = 3; } are wrapped by hand around them.
TEST_CASE("RetryInfo's Duration as libprotobuf writes it", "[otlp][response]") {
  namespace otlp = detail::otlp;
  using namespace std::chrono_literals;
  struct Case {
    std::int64_t seconds;
    std::int32_t nanos;
    std::chrono::nanoseconds want;
  };
  const Case cases[] = {
      {2, 500'000'000, 2500ms},
      {0, 1, 1ns},
      {0, 0, 0ns},
      {-1, -500'000'000, 0ns},  // negative: 10-byte varints for both fields
      {0, -1, 0ns},
      {599, 999'999'999, 599s + 999'999'999ns},
      {std::numeric_limits<std::int64_t>::max(), 0, otlp::kMaxRetryDelay},
  };
  for (const Case& c : cases) {
    INFO("seconds " << c.seconds << " nanos " << c.nanos);
    google::protobuf::Duration d;
    d.set_seconds(c.seconds);
    d.set_nanos(c.nanos);
    google::protobuf::Any any;
    any.set_type_url(response_bytes::kRetryInfoType);
    any.set_value(response_bytes::Message().bytes(1, d.SerializeAsString()).str());
    const std::string status =
        response_bytes::Message().varint(1, 8).bytes(3, any.SerializeAsString()).str();
    const auto s = otlp::decode_status_details(status);
    CHECK(s.well_formed);
    CHECK(s.has_retry_info);
    CHECK(s.retry_delay == c.want);
  }
}
