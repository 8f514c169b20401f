#pragma once
// A decoder of ExportTraceServiceRequest built on detail::ProtoReader, so the end-to-end tests
// read what really went over the wire without libprotobuf; and the in-test OTLP/gRPC collector
// (tests/support/otlp_collector.hpp) extended with it.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "../otlp/response_bytes.hpp"
#include "krishiv/trace/detail/protobuf_reader.hpp"
#include "otlp_collector.hpp"

namespace krishiv::trace::test {

// ---- decoding (field numbers from opentelemetry-proto trace/v1/trace.proto,
// common/v1/common.proto and resource/v1/resource.proto) ----

using Value = std::variant<std::monostate, std::string, bool, std::int64_t, double>;
using AttributeMap = std::map<std::string, Value>;

struct DecodedEvent {
  std::string name;
  AttributeMap attributes;
};
struct DecodedLink {
  std::string trace_id;
  std::string span_id;
  AttributeMap attributes;
};
struct DecodedSpan {
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;
  std::string name;
  int kind = 0;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  AttributeMap attributes;
  std::vector<DecodedEvent> events;
  std::vector<DecodedLink> links;
  int status_code = 0;
  std::string status_message;
};
struct DecodedRequest {
  bool ok = true;  // every level parsed cleanly
  AttributeMap resource;
  std::vector<DecodedSpan> spans;
};

namespace decode {
using detail::ProtoReader;
using detail::WireType;

inline Value any_value(std::string_view b, bool& ok) {
  ProtoReader r(b);
  Value v;
  while (r.next()) {
    switch (r.field()) {
      case 1:
        v = std::string(r.bytes());
        break;
      case 2:
        v = r.varint() != 0;
        break;
      case 3:
        v = r.int64();
        break;
      case 4: {
        const std::uint64_t bits = r.fixed64();
        double d;
        static_assert(sizeof d == sizeof bits);
        std::memcpy(&d, &bits, sizeof d);
        v = d;
        break;
      }
      default:
        break;
    }
  }
  ok &= r.ok();
  return v;
}

inline void key_value(std::string_view b, AttributeMap& out, bool& ok) {
  ProtoReader r(b);
  std::string key;
  Value v;
  while (r.next()) {
    if (r.field() == 1) key = std::string(r.bytes());
    if (r.field() == 2) v = any_value(r.bytes(), ok);
  }
  ok &= r.ok();
  out[key] = std::move(v);
}

inline DecodedSpan span(std::string_view b, bool& ok) {
  DecodedSpan s;
  ProtoReader r(b);
  while (r.next()) {
    switch (r.field()) {
      case 1:
        s.trace_id = std::string(r.bytes());
        break;
      case 2:
        s.span_id = std::string(r.bytes());
        break;
      case 4:
        s.parent_span_id = std::string(r.bytes());
        break;
      case 5:
        s.name = std::string(r.bytes());
        break;
      case 6:
        s.kind = static_cast<int>(r.varint());
        break;
      case 7:
        s.start = r.fixed64();
        break;
      case 8:
        s.end = r.fixed64();
        break;
      case 9:
        key_value(r.bytes(), s.attributes, ok);
        break;
      case 11: {
        DecodedEvent e;
        ProtoReader er(r.bytes());
        while (er.next()) {
          if (er.field() == 2) e.name = std::string(er.bytes());
          if (er.field() == 3) key_value(er.bytes(), e.attributes, ok);
        }
        ok &= er.ok();
        s.events.push_back(std::move(e));
        break;
      }
      case 13: {
        DecodedLink l;
        ProtoReader lr(r.bytes());
        while (lr.next()) {
          if (lr.field() == 1) l.trace_id = std::string(lr.bytes());
          if (lr.field() == 2) l.span_id = std::string(lr.bytes());
          if (lr.field() == 4) key_value(lr.bytes(), l.attributes, ok);
        }
        ok &= lr.ok();
        s.links.push_back(std::move(l));
        break;
      }
      case 15: {
        ProtoReader st(r.bytes());
        while (st.next()) {
          if (st.field() == 2) s.status_message = std::string(st.bytes());
          if (st.field() == 3) s.status_code = static_cast<int>(st.varint());
        }
        ok &= st.ok();
        break;
      }
      default:
        break;
    }
  }
  ok &= r.ok();
  return s;
}
}  // namespace decode

inline DecodedRequest decode_request(std::string_view bytes) {
  using detail::ProtoReader;
  DecodedRequest out;
  ProtoReader req(bytes);
  while (req.next()) {
    if (req.field() != 1) continue;
    ProtoReader rs(req.bytes());
    while (rs.next()) {
      if (rs.field() == 1) {
        ProtoReader res(rs.bytes());
        while (res.next()) {
          if (res.field() == 1) decode::key_value(res.bytes(), out.resource, out.ok);
        }
        out.ok &= res.ok();
      } else if (rs.field() == 2) {
        ProtoReader ss(rs.bytes());
        while (ss.next()) {
          if (ss.field() == 2) out.spans.push_back(decode::span(ss.bytes(), out.ok));
        }
        out.ok &= ss.ok();
      }
    }
    out.ok &= rs.ok();
  }
  out.ok &= req.ok();
  return out;
}

// ---- the collector ----

// ExportTraceServiceResponse{partial_success{rejected_spans, error_message}}.
inline ::test::Reply partial_reply(std::int64_t rejected, const std::string& message) {
  ::test::Reply r;
  r.response = response_bytes::partial_success(rejected, message);
  return r;
}

// The shared scripted collector (tests/support/otlp_collector.hpp), plus the decoded spans of
// what it received.
class Collector : public ::test::Collector {
 public:
  using ::test::Collector::Collector;

  // Every span of every request, in arrival order (including requests answered with errors).
  std::vector<DecodedSpan> spans() const {
    std::vector<DecodedSpan> out;
    for (const auto& r : requests()) {
      auto d = decode_request(r);
      REQUIRE(d.ok);
      for (auto& s : d.spans) out.push_back(std::move(s));
    }
    return out;
  }
};

}  // namespace krishiv::trace::test
