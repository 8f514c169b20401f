// Writes our encoding of the sample spans (request.bin), our OTLP/JSON line of them
// (request.jsonl, exporters/otlp_file.hpp) and the same spans as SpanView reports them
// (expected.json), for official_schema_check.js and official_json_check.js to check with the
// official generated code and JSON serializer.
//
// usage: otlp_interop_writer OUT_DIR

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "krishiv/trace/exporters/otlp_file.hpp"
#include "krishiv/trace/otlp/encoder.hpp"
#include "records.hpp"

using nlohmann::json;
using namespace otlp_test;

namespace {

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    s += kDigits[b >> 4];
    s += kDigits[b & 0xF];
  }
  return s;
}

// AnyValue as {"kind": ..., "value": ...}; int64 as a decimal string (JSON numbers lose
// precision past 2^53), bytes as hex.
json value_json(const ValueView& v) {
  switch (v.type()) {
    case ValueType::Bool:
      return {{"kind", "bool"}, {"value", v.as_bool()}};
    case ValueType::Int:
      return {{"kind", "int"}, {"value", std::to_string(v.as_int())}};
    case ValueType::Double:
      return {{"kind", "double"}, {"value", v.as_double()}};
    case ValueType::String:
      return {{"kind", "string"}, {"value", std::string(v.as_string())}};
    case ValueType::Bytes:
      return {{"kind", "bytes"}, {"value", to_hex(v.as_string())}};
    case ValueType::Array: {
      json a = json::array();
      v.for_each_element([&](const ValueView& e) { a.push_back(value_json(e)); });
      return {{"kind", "array"}, {"value", a}};
    }
    case ValueType::KvList: {
      json a = json::array();
      v.for_each_entry([&](std::string_view k, const ValueView& e) {
        a.push_back({{"key", std::string(k)}, {"value", value_json(e)}});
      });
      return {{"kind", "kvlist"}, {"value", a}};
    }
  }
  return nullptr;
}

json value_json(const AttributeValue& v) {
  return std::visit(
      [](const auto& x) -> json {
        using X = std::remove_cvref_t<decltype(x)>;
        if constexpr (std::is_same_v<X, bool>) {
          return {{"kind", "bool"}, {"value", x}};
        } else if constexpr (std::is_same_v<X, std::int64_t>) {
          return {{"kind", "int"}, {"value", std::to_string(x)}};
        } else if constexpr (std::is_same_v<X, double>) {
          return {{"kind", "double"}, {"value", x}};
        } else if constexpr (std::is_same_v<X, std::string>) {
          return {{"kind", "string"}, {"value", x}};
        } else {
          json a = json::array();
          for (const auto& e : x) {
            a.push_back(value_json(AttributeValue(static_cast<typename X::value_type>(e))));
          }
          return {{"kind", "array"}, {"value", a}};
        }
      },
      v);
}

template <typename View>
json attributes_json(const View& view) {
  json a = json::array();
  view.for_each_attribute([&](std::string_view k, const ValueView& v) {
    a.push_back({{"key", std::string(k)}, {"value", value_json(v)}});
  });
  return a;
}

template <std::size_t N>
std::string id_hex(const detail::ByteId<N>& id) {
  return to_hex({reinterpret_cast<const char*>(id.data()), N});
}

json span_json(const SpanView& s) {
  // SpanFlags (trace.proto): W3C flags, then bits 8-9 only when the parent's remoteness is known.
  std::uint32_t flags = s.flags().bits();
  if (const auto remote = s.parent_is_remote()) flags |= 0x100u | (*remote ? 0x200u : 0u);

  json events = json::array();
  s.for_each_event([&](const EventView& e) {
    events.push_back({{"time_unix_nano", std::to_string(e.time_unix_ns())},
                      {"name", std::string(e.name())},
                      {"attributes", attributes_json(e)},
                      {"dropped_attributes_count", e.dropped_attributes_count()}});
  });
  json links = json::array();
  s.for_each_link([&](const LinkView& l) {
    links.push_back({{"trace_id", id_hex(l.trace_id())},
                     {"span_id", id_hex(l.span_id())},
                     {"trace_state", std::string(l.trace_state())},
                     {"attributes", attributes_json(l)},
                     {"dropped_attributes_count", l.dropped_attributes_count()},
                     {"flags", l.flags().bits() | 0x100u | (l.is_remote() ? 0x200u : 0u)}});
  });
  json status = nullptr;
  if (s.status_code() != StatusCode::Unset || !s.status_message().empty()) {
    status = {{"code", static_cast<int>(s.status_code())},
              {"message", std::string(s.status_message())}};
  }
  return {{"trace_id", id_hex(s.trace_id())},
          {"span_id", id_hex(s.span_id())},
          {"trace_state", std::string(s.trace_state())},
          {"parent_span_id", s.has_parent() ? id_hex(s.parent_span_id()) : std::string()},
          {"flags", flags},
          {"name", std::string(s.name())},
          {"kind", static_cast<int>(s.kind())},
          {"start_time_unix_nano", std::to_string(s.start_unix_ns())},
          {"end_time_unix_nano", std::to_string(s.end_unix_ns())},
          {"attributes", attributes_json(s)},
          {"dropped_attributes_count", s.dropped_attributes_count()},
          {"events", events},
          {"dropped_events_count", s.dropped_events_count()},
          {"links", links},
          {"dropped_links_count", s.dropped_links_count()},
          {"status", status}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: otlp_interop_writer OUT_DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  FullBatch f;

  std::string bytes;
  OtlpEncoder{}.encode(f.batch, bytes);
  std::ofstream(dir + "/request.bin", std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  std::ofstream(dir + "/request.jsonl", std::ios::binary)
      << detail::otlp_json::line(f.batch) << '\n';

  json resource = json::array();
  for (const auto& a : f.resource.attributes) {
    resource.push_back({{"key", a.key}, {"value", value_json(a.value)}});
  }
  json spans = json::array();
  for (const SpanView s : f.batch) spans.push_back(span_json(s));
  const json expected = {{"resource", {{"attributes", resource}}},
                         {"scope", {{"name", f.scope.name}, {"version", f.scope.version}}},
                         {"spans", spans}};
  std::ofstream(dir + "/expected.json") << expected.dump(2) << '\n';
  std::cout << "wrote " << bytes.size() << " bytes for " << f.batch.size() << " spans to " << dir
            << '\n';
  return 0;
}
