#pragma once
// OtlpFileExporter: OTLP/JSON lines in a file, the OpenTelemetry file-exporter format
// (opentelemetry-specification protocol/file-exporter.md): one ExportTraceServiceRequest per
// line, one line per exported batch, in the JSON Protobuf Encoding of OTLP
// (opentelemetry-proto docs/specification.md, "JSON Protobuf Encoding"):
//   - the proto3 JSON mapping with lowerCamelCase field names;
//   - traceId, spanId and parentSpanId as lowercase hex strings, not base64 (OTLP's exception);
//   - enums (kind, status code) as integers, not names (OTLP's exception);
//   - 64-bit integers (times, intValue) as decimal strings (proto3 JSON mapping); bytes values
//     as base64; NaN and infinities as "NaN", "Infinity", "-Infinity".
// Fields at their proto3 default are omitted, as in the binary encoding (otlp/encoder.hpp).
// A collector's otlpjsonfile receiver, or `jq`, reads the file.
//
// Including this header registers it as OTEL_TRACES_EXPORTER=otlp_file
// (TracerExporter::OtlpFile()), configured from the environment:
//   KRISHIV_TRACE_OTLP_FILE_PATH       the file, appended to (default: traces.otlp.jsonl)
//   KRISHIV_TRACE_OTLP_FILE_MAX_BYTES  the size bound (default: 64 MiB)
// or in code: TracerExporter::Custom(std::make_shared<OtlpFileExporter>(options)).
//
// Bounded size, by stopping with a counted drop (no rotation): a line that would take the file
// past max_bytes is not written, and its spans are counted in stats().spans_dropped. Lines are
// never split, so the file always holds whole requests. Stopping rather than rotating keeps
// every written span in one place a reader can trust (rotation would silently discard the oldest
// file); the count says how much is missing.
//
// Needs nlohmann_json (Debian: nlohmann-json3-dev), header-only.

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "krishiv/trace/attribute.hpp"
#include "krishiv/trace/detail/env.hpp"
#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/otlp/fields.hpp"
#include "krishiv/trace/record/view.hpp"

namespace krishiv::trace {

struct OtlpFileOptions {
  static constexpr std::uint64_t kDefaultMaxBytes = std::uint64_t{64} << 20;

  std::string path = "traces.otlp.jsonl";
  // The file never grows past this (counting what it held before we opened it).
  std::uint64_t max_bytes = kDefaultMaxBytes;

  static OtlpFileOptions from_env() {
    OtlpFileOptions o;
    if (auto p = detail::env_string("KRISHIV_TRACE_OTLP_FILE_PATH")) o.path = std::move(*p);
    o.max_bytes = detail::env_u64("KRISHIV_TRACE_OTLP_FILE_MAX_BYTES", o.max_bytes, 1);
    return o;
  }
};

struct OtlpFileStats {
  std::uint64_t spans_written = 0;
  std::uint64_t spans_dropped = 0;  // the size bound was reached, or the file could not be written
  std::uint64_t lines_written = 0;
  std::uint64_t bytes = 0;  // the file's size as far as this exporter knows
  std::string last_error;   // empty until something went wrong
};

namespace detail::otlp_json {

using nlohmann::json;

inline std::string hex(const std::uint8_t* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(2 * n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 0xF];
  }
  return s;
}

// Standard base64 with padding (RFC 4648 section 4), the proto3 JSON mapping of bytes.
inline std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k]));
  };
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = in.size() - i; rest != 0) {
    std::uint32_t v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// JSON has no NaN or infinity: the proto3 mapping spells them as strings.
inline json double_value(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return d;
}

inline std::string str(std::string_view s) {
  return std::string(s);
}

inline json any_value(const ValueView& v) {
  switch (v.type()) {
    case ValueType::Bool:
      return {{"boolValue", v.as_bool()}};
    case ValueType::Int:
      return {{"intValue", std::to_string(v.as_int())}};
    case ValueType::Double:
      return {{"doubleValue", double_value(v.as_double())}};
    case ValueType::String:
      return {{"stringValue", str(v.as_string())}};
    case ValueType::Bytes:
      return {{"bytesValue", base64(v.as_string())}};
    case ValueType::Array: {
      json values = json::array();
      v.for_each_element([&](const ValueView& e) { values.push_back(any_value(e)); });
      json arr = json::object();
      if (!values.empty()) arr["values"] = std::move(values);
      return {{"arrayValue", std::move(arr)}};
    }
    case ValueType::KvList: {
      json values = json::array();
      v.for_each_entry([&](std::string_view k, const ValueView& e) {
        json kv = json::object();
        if (!k.empty()) kv["key"] = str(k);
        kv["value"] = any_value(e);
        values.push_back(std::move(kv));
      });
      json list = json::object();
      if (!values.empty()) list["values"] = std::move(values);
      return {{"kvlistValue", std::move(list)}};
    }
  }
  return json::object();
}

inline json any_value(const AttributeValue& value) {
  return std::visit(
      [](const auto& x) -> json {
        using X = std::remove_cvref_t<decltype(x)>;
        if constexpr (std::is_same_v<X, bool>) {
          return {{"boolValue", x}};
        } else if constexpr (std::is_same_v<X, std::int64_t>) {
          return {{"intValue", std::to_string(x)}};
        } else if constexpr (std::is_same_v<X, double>) {
          return {{"doubleValue", double_value(x)}};
        } else if constexpr (std::is_same_v<X, std::string>) {
          return {{"stringValue", x}};
        } else {
          json values = json::array();
          for (const auto& e : x) {
            using E = typename X::value_type;
            values.push_back(any_value(AttributeValue(static_cast<E>(e))));
          }
          json arr = json::object();
          if (!values.empty()) arr["values"] = std::move(values);
          return {{"arrayValue", std::move(arr)}};
        }
      },
      value);
}

template <typename View>
json attributes(const View& view) {
  json out = json::array();
  view.for_each_attribute([&](std::string_view k, const ValueView& v) {
    json kv = json::object();
    if (!k.empty()) kv["key"] = str(k);
    kv["value"] = any_value(v);
    out.push_back(std::move(kv));
  });
  return out;
}

template <std::size_t N>
std::string id_hex(const ByteId<N>& id) {
  return hex(id.data(), N);
}

inline json span(const SpanView& s) {
  json j = json::object();
  j["traceId"] = id_hex(s.trace_id());
  j["spanId"] = id_hex(s.span_id());
  if (const auto ts = s.trace_state(); !ts.empty()) j["traceState"] = str(ts);
  // A root span's parent_span_id MUST be empty (trace.proto): omitted.
  if (s.has_parent() && s.parent_span_id().is_valid()) {
    j["parentSpanId"] = id_hex(s.parent_span_id());
  }
  // SpanFlags: bits 8-9 only when whether the parent is remote is known.
  std::uint32_t flags = s.flags().bits() & otlp::kTraceFlagsMask;
  if (const auto remote = s.parent_is_remote()) {
    flags |= otlp::kContextHasIsRemote | (*remote ? otlp::kContextIsRemote : 0);
  }
  if (flags != 0) j["flags"] = flags;
  if (const auto name = s.name(); !name.empty()) j["name"] = str(name);
  if (const auto kind = static_cast<int>(s.kind()); kind != 0) j["kind"] = kind;
  if (const auto t = s.start_unix_ns(); t != 0) j["startTimeUnixNano"] = std::to_string(t);
  if (const auto t = s.end_unix_ns(); t != 0) j["endTimeUnixNano"] = std::to_string(t);
  if (json a = attributes(s); !a.empty()) j["attributes"] = std::move(a);
  if (const auto d = s.dropped_attributes_count(); d != 0) j["droppedAttributesCount"] = d;
  json events = json::array();
  s.for_each_event([&](const EventView& e) {
    json ej = json::object();
    if (const auto t = e.time_unix_ns(); t != 0) ej["timeUnixNano"] = std::to_string(t);
    if (const auto name = e.name(); !name.empty()) ej["name"] = str(name);
    if (json a = attributes(e); !a.empty()) ej["attributes"] = std::move(a);
    if (const auto d = e.dropped_attributes_count(); d != 0) ej["droppedAttributesCount"] = d;
    events.push_back(std::move(ej));
  });
  if (!events.empty()) j["events"] = std::move(events);
  if (const auto d = s.dropped_events_count(); d != 0) j["droppedEventsCount"] = d;
  json links = json::array();
  s.for_each_link([&](const LinkView& l) {
    json lj = json::object();
    lj["traceId"] = id_hex(l.trace_id());
    lj["spanId"] = id_hex(l.span_id());
    if (const auto ts = l.trace_state(); !ts.empty()) lj["traceState"] = str(ts);
    if (json a = attributes(l); !a.empty()) lj["attributes"] = std::move(a);
    if (const auto d = l.dropped_attributes_count(); d != 0) lj["droppedAttributesCount"] = d;
    // A link always knows whether its context was remote.
    lj["flags"] = (l.flags().bits() & otlp::kTraceFlagsMask) | otlp::kContextHasIsRemote |
                  (l.is_remote() ? otlp::kContextIsRemote : 0);
    links.push_back(std::move(lj));
  });
  if (!links.empty()) j["links"] = std::move(links);
  if (const auto d = s.dropped_links_count(); d != 0) j["droppedLinksCount"] = d;
  const auto code = static_cast<int>(s.status_code());
  const auto message = s.status_message();
  if (code != 0 || !message.empty()) {
    json st = json::object();
    if (!message.empty()) st["message"] = str(message);
    if (code != 0) st["code"] = code;
    j["status"] = std::move(st);
  }
  return j;
}

// The ExportTraceServiceRequest of spans [begin, end) of the batch.
inline json request(const SpanBatch& batch, std::size_t begin, std::size_t end) {
  json scope_spans = json::object();
  const InstrumentationScope& scope = batch.scope();
  if (!scope.name.empty() || !scope.version.empty()) {
    json sj = json::object();
    if (!scope.name.empty()) sj["name"] = scope.name;
    if (!scope.version.empty()) sj["version"] = scope.version;
    scope_spans["scope"] = std::move(sj);
  }
  json spans = json::array();
  for (std::size_t i = begin; i < end; ++i) spans.push_back(span(batch[i]));
  scope_spans["spans"] = std::move(spans);

  json resource_spans = json::object();
  if (const Attributes& attrs = batch.resource().attributes; !attrs.empty()) {
    json a = json::array();
    for (const Attribute& attr : attrs) {
      json kv = json::object();
      if (!attr.key.empty()) kv["key"] = attr.key;
      kv["value"] = any_value(attr.value);
      a.push_back(std::move(kv));
    }
    resource_spans["resource"] = {{"attributes", std::move(a)}};
  }
  resource_spans["scopeSpans"] = json::array({std::move(scope_spans)});
  return {{"resourceSpans", json::array({std::move(resource_spans)})}};
}

// One line, without its newline. Invalid UTF-8 in a string (a truncated attribute, bytes put in a
// string) becomes U+FFFD: JSON strings must be Unicode, and one bad value must not lose the batch.
inline std::string line(const SpanBatch& batch) {
  return request(batch, 0, batch.size()).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace detail::otlp_json

class OtlpFileExporter : public SpanExporter {
 public:
  // Never throws: a file that cannot be opened is reported in stats().last_error (and once on
  // stderr), and every span is then counted as dropped.
  explicit OtlpFileExporter(OtlpFileOptions options = OtlpFileOptions::from_env())
      : options_(std::move(options)) {
    file_ = std::fopen(options_.path.c_str(), "ab");
    if (file_ == nullptr) {
      set_error("cannot open " + options_.path + " for appending");
      std::fprintf(stderr, "krishiv-trace: otlp_file: %s\n", last_error_.c_str());
      return;
    }
    if (std::fseek(file_, 0, SEEK_END) == 0) {
      const long at = std::ftell(file_);
      if (at > 0) bytes_.store(static_cast<std::uint64_t>(at), std::memory_order_relaxed);
    }
  }
  ~OtlpFileExporter() override { close(); }

  OtlpFileExporter(const OtlpFileExporter&) = delete;
  OtlpFileExporter& operator=(const OtlpFileExporter&) = delete;

  ExportResult export_batch(const SpanBatch& batch) override {
    if (batch.empty()) return ExportResult::Success;
    std::lock_guard lock(file_mu_);
    if (file_ == nullptr) return drop(batch.size(), "the file is not open");
    std::string text;
    try {
      text = detail::otlp_json::line(batch);
    } catch (...) {
      return drop(batch.size(), "out of memory serialising a batch");
    }
    text += '\n';
    const std::uint64_t size = bytes_.load(std::memory_order_relaxed);
    if (size + text.size() > options_.max_bytes) {
      return drop(batch.size(), "the size bound of " + std::to_string(options_.max_bytes) +
                                    " bytes is reached; spans dropped");
    }
    // One fwrite and a flush per line: a reader (or a crash) sees whole lines only, give or take
    // the last one.
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
      return drop(batch.size(), "write to " + options_.path + " failed");
    }
    bytes_.store(size + text.size(), std::memory_order_relaxed);
    spans_written_.fetch_add(batch.size(), std::memory_order_relaxed);
    lines_written_.fetch_add(1, std::memory_order_relaxed);
    return ExportResult::Success;
  }

  bool force_flush(std::chrono::milliseconds /*timeout*/) override {
    std::lock_guard lock(file_mu_);
    return file_ == nullptr || std::fflush(file_) == 0;
  }

  void shutdown(std::chrono::milliseconds /*timeout*/) override { close(); }

  OtlpFileStats stats() const {
    OtlpFileStats s;
    s.spans_written = spans_written_.load(std::memory_order_relaxed);
    s.spans_dropped = spans_dropped_.load(std::memory_order_relaxed);
    s.lines_written = lines_written_.load(std::memory_order_relaxed);
    s.bytes = bytes_.load(std::memory_order_relaxed);
    std::lock_guard lock(error_mu_);
    s.last_error = last_error_;
    return s;
  }

  const OtlpFileOptions& options() const noexcept { return options_; }

 private:
  ExportResult drop(std::size_t spans, std::string why) {
    spans_dropped_.fetch_add(spans, std::memory_order_relaxed);
    set_error(std::move(why));
    return ExportResult::Failure;
  }
  void set_error(std::string e) {
    std::lock_guard lock(error_mu_);
    last_error_ = std::move(e);
  }
  void close() {
    std::lock_guard lock(file_mu_);
    if (file_ != nullptr) {
      std::fclose(file_);
      file_ = nullptr;
    }
  }

  OtlpFileOptions options_;
  std::mutex file_mu_;
  std::FILE* file_ = nullptr;
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> spans_written_{0};
  std::atomic<std::uint64_t> spans_dropped_{0};
  std::atomic<std::uint64_t> lines_written_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
};

namespace detail {
// Runs before main in every program that includes this header: OTEL_TRACES_EXPORTER=otlp_file
// and TracerExporter::OtlpFile() select it by name.
inline const bool otlp_file_exporter_registered = register_exporter(
    "otlp_file",
    []() -> std::unique_ptr<SpanExporter> { return std::make_unique<OtlpFileExporter>(); });
}  // namespace detail

}  // namespace krishiv::trace
