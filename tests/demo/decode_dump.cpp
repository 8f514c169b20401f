// Decodes an ExportTraceServiceRequest file with the demo's OTLP decoder
// (examples/demo/otlp_decode.hpp) and prints what it read as JSON, for decoder_check.js to compare
// with what the official @opentelemetry/otlp-transformer encoded.
//
// usage: demo_decode_dump REQUEST.bin
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <variant>

#include "../../examples/demo/otlp_decode.hpp"

using nlohmann::json;

namespace {
json value_json(const demo::otlp::Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return {{"string", *s}};
  if (const auto* b = std::get_if<bool>(&v)) return {{"bool", *b}};
  if (const auto* i = std::get_if<std::int64_t>(&v)) return {{"int", std::to_string(*i)}};
  if (const auto* d = std::get_if<double>(&v)) return {{"double", *d}};
  return nullptr;
}
json attributes_json(const demo::otlp::Attributes& attrs) {
  json a = json::array();
  for (const auto& kv : attrs) a.push_back({{"key", kv.key}, {"value", value_json(kv.value)}});
  return a;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: demo_decode_dump REQUEST.bin\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const demo::otlp::Request req = demo::otlp::decode_request(ss.str());
  json groups = json::array();
  for (const auto& g : req.resource_spans) {
    json spans = json::array();
    for (const auto& s : g.spans) {
      json events = json::array();
      for (const auto& e : s.events) {
        events.push_back({{"time", std::to_string(e.time)},
                          {"name", e.name},
                          {"attributes", attributes_json(e.attributes)}});
      }
      spans.push_back({{"trace_id", demo::otlp::hex(s.trace_id)},
                       {"span_id", demo::otlp::hex(s.span_id)},
                       {"parent_span_id", demo::otlp::hex(s.parent_span_id)},
                       {"trace_state", s.trace_state},
                       {"name", s.name},
                       {"kind", s.kind},
                       {"start", std::to_string(s.start)},
                       {"end", std::to_string(s.end)},
                       {"attributes", attributes_json(s.attributes)},
                       {"events", events},
                       {"status_code", s.status_code},
                       {"status_message", s.status_message}});
    }
    groups.push_back({{"resource", attributes_json(g.resource)},
                      {"scope_name", g.scope_name},
                      {"spans", spans}});
  }
  std::cout << json{{"ok", req.ok}, {"resource_spans", groups}}.dump(1) << "\n";
  return 0;
}
