#pragma once
// A decoder of OTLP ExportTraceServiceRequest bytes on the library's wire reader
// (detail/protobuf_reader.hpp): what the demo's embedded receiver reads. Field numbers are those
// of opentelemetry-proto: collector/trace/v1/trace_service.proto, trace/v1/trace.proto,
// common/v1/common.proto, resource/v1/resource.proto. Checked against bytes written by the
// official @opentelemetry/otlp-transformer (tests/demo/decoder_check.js).
//
// It keeps what the demo shows: ids, names, kinds, times, flags, status, scalar attributes (arrays
// and key-value lists as a short text), events, the resource; it skips unknown fields.

#include <cstdint>
#include <cstring>
#include <krishiv/trace/detail/protobuf_reader.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace demo::otlp {

using Value = std::variant<std::monostate, std::string, bool, std::int64_t, double>;
struct KeyValue {
  std::string key;
  Value value;
};
using Attributes = std::vector<KeyValue>;

struct Event {
  std::uint64_t time = 0;
  std::string name;
  Attributes attributes;
};
struct Span {
  std::string trace_id;  // raw bytes (16)
  std::string span_id;   // raw bytes (8)
  std::string parent_span_id;
  std::string trace_state;
  std::string name;
  int kind = 0;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  Attributes attributes;
  std::vector<Event> events;
  int status_code = 0;
  std::string status_message;
};
struct ResourceSpans {
  Attributes resource;
  std::string scope_name;
  std::vector<Span> spans;
};
struct Request {
  bool ok = true;  // every level parsed cleanly
  std::vector<ResourceSpans> resource_spans;
};

namespace detail {
using krishiv::trace::detail::ProtoReader;

inline std::string to_text(const Value& v);

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
        std::memcpy(&d, &bits, sizeof d);
        v = d;
        break;
      }
      case 5:    // ArrayValue: shown as [a, b]
      case 6: {  // KeyValueList: shown as {k: v}
        const bool array = r.field() == 5;
        std::string text = array ? "[" : "{";
        ProtoReader list(r.bytes());
        bool first = true;
        while (list.next()) {
          if (list.field() != 1) continue;
          if (!first) text += ", ";
          first = false;
          if (array) {
            text += to_text(any_value(list.bytes(), ok));
          } else {
            ProtoReader kv(list.bytes());
            std::string k;
            Value x;
            while (kv.next()) {
              if (kv.field() == 1) k = std::string(kv.bytes());
              if (kv.field() == 2) x = any_value(kv.bytes(), ok);
            }
            ok &= kv.ok();
            text += k + ": " + to_text(x);
          }
        }
        ok &= list.ok();
        v = text + (array ? "]" : "}");
        break;
      }
      case 7:
        v = "<" + std::to_string(r.bytes().size()) + " bytes>";
        break;
      default:
        break;
    }
  }
  ok &= r.ok();
  return v;
}

inline void key_value(std::string_view b, Attributes& out, bool& ok) {
  ProtoReader r(b);
  KeyValue kv;
  while (r.next()) {
    if (r.field() == 1) kv.key = std::string(r.bytes());
    if (r.field() == 2) kv.value = any_value(r.bytes(), ok);
  }
  ok &= r.ok();
  out.push_back(std::move(kv));
}

inline Span span(std::string_view b, bool& ok) {
  Span s;
  ProtoReader r(b);
  while (r.next()) {
    switch (r.field()) {
      case 1:
        s.trace_id = std::string(r.bytes());
        break;
      case 2:
        s.span_id = std::string(r.bytes());
        break;
      case 3:
        s.trace_state = std::string(r.bytes());
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
        Event e;
        ProtoReader er(r.bytes());
        while (er.next()) {
          if (er.field() == 1) e.time = er.fixed64();
          if (er.field() == 2) e.name = std::string(er.bytes());
          if (er.field() == 3) key_value(er.bytes(), e.attributes, ok);
        }
        ok &= er.ok();
        s.events.push_back(std::move(e));
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

inline std::string to_text(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) {
    std::string s = std::to_string(*d);
    while (s.size() > 1 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
    return s;
  }
  return "";
}
}  // namespace detail

using detail::to_text;

inline Request decode_request(std::string_view bytes) {
  using detail::ProtoReader;
  Request out;
  ProtoReader req(bytes);
  while (req.next()) {
    if (req.field() != 1) continue;
    ResourceSpans group;
    ProtoReader rs(req.bytes());
    while (rs.next()) {
      if (rs.field() == 1) {
        ProtoReader res(rs.bytes());
        while (res.next()) {
          if (res.field() == 1) detail::key_value(res.bytes(), group.resource, out.ok);
        }
        out.ok &= res.ok();
      } else if (rs.field() == 2) {
        ProtoReader ss(rs.bytes());
        while (ss.next()) {
          if (ss.field() == 1) {
            ProtoReader scope(ss.bytes());
            while (scope.next()) {
              if (scope.field() == 1) group.scope_name = std::string(scope.bytes());
            }
            out.ok &= scope.ok();
          } else if (ss.field() == 2) {
            group.spans.push_back(detail::span(ss.bytes(), out.ok));
          }
        }
        out.ok &= ss.ok();
      }
    }
    out.ok &= rs.ok();
    out.resource_spans.push_back(std::move(group));
  }
  out.ok &= req.ok();
  return out;
}

inline std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    s += kDigits[b >> 4];
    s += kDigits[b & 0xF];
  }
  return s;
}

}  // namespace demo::otlp
