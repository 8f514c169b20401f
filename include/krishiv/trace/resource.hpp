#pragma once
// The entity producing telemetry (resource/sdk.md): attributes every exported span carries.
//
// The resource a tracer provider should use, lowest precedence first:
//   Resource::from_env()                    SDK defaults, then OTEL_RESOURCE_ATTRIBUTES, then
//                                           OTEL_SERVICE_NAME
//     .merge(Resource::create(code_attrs))  attributes given in code win over the environment
// resource/sdk.md, "Specifying resource information via an environment variable": the
// environment is the secondary resource, "the user provided resource information has higher
// priority".

// Compile cost: the functions marked so run at setup, or on the export thread. They are templates
// with a defaulted parameter, called as before, so that their bodies and the library templates
// they use (the attribute variant's copies, make_shared, std::thread) are compiled only in the
// file that calls them, not in every file that includes the core (scripts/compile_cost.sh).

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "krishiv/trace/attribute.hpp"
#include "krishiv/trace/detail/env.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/propagation/baggage.hpp"
#include "krishiv/trace/version.hpp"

namespace krishiv::trace {

namespace detail {

// process.executable.name: on Linux "the base name of the target of /proc/[pid]/exe"
// (semantic conventions, process), falling back to /proc/self/comm (truncated to 15 bytes by
// the kernel). Empty when neither is readable, e.g. off Linux.
// readlink(2) rather than std::filesystem::read_symlink: <filesystem> is ~14k preprocessed lines
// for one call at provider setup.
template <typename = void>  // see "Compile cost" above
inline std::string process_executable_name() {
  std::string target(256, '\0');
  ssize_t len;
  while ((len = ::readlink("/proc/self/exe", target.data(), target.size())) >= 0 &&
         static_cast<std::size_t>(len) == target.size()) {
    target.resize(target.size() * 2);  // possibly truncated: retry with more room
  }
  if (len > 0) {
    target.resize(static_cast<std::size_t>(len));
    std::string name = target.substr(target.rfind('/') + 1);
    // The kernel appends this to the link of an executable deleted since it started.
    constexpr std::string_view kDeleted = " (deleted)";
    if (name.size() > kDeleted.size() && name.ends_with(kDeleted)) {
      name.resize(name.size() - kDeleted.size());
    }
    if (!name.empty()) return name;
  }
  std::string name;
  if (std::FILE* f = std::fopen("/proc/self/comm", "r")) {
    char buf[64];
    if (std::fgets(buf, sizeof buf, f) != nullptr) name = buf;
    std::fclose(f);
  }
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  return name;
}

}  // namespace detail

class Resource {
 public:
  // Keys are unique in every Resource the functions below return; code that edits `attributes`
  // directly keeps that so (exporters send one value per key).
  Attributes attributes;

  // The empty resource.
  Resource() = default;

  // A resource with exactly these attributes; a repeated key keeps its last value.
  template <typename = void>  // see "Compile cost" above
  static Resource create(Attributes attrs) {
    Resource r;
    r.attributes.reserve(attrs.size());
    for (auto& a : attrs) r.put(std::move(a.key), std::move(a.value));
    return r;
  }

  // The SDK-provided attributes (semantic conventions, "Semantic Attributes with SDK-provided
  // Default Value"): service.name "unknown_service:<process.executable.name>" (or
  // "unknown_service" when that name is unknown) and telemetry.sdk.{name,language,version}.
  template <typename = void>  // see "Compile cost" above
  static Resource defaults() {
    static const std::string service_name = [] {
      auto exe = detail::process_executable_name();
      return exe.empty() ? std::string("unknown_service") : "unknown_service:" + exe;
    }();
    // put_string rather than assigning an initializer list: that assignment instantiates the
    // variant's copy assignment for every alternative, a compile cost every includer pays.
    Resource r;
    r.attributes.reserve(4);
    r.put_string("service.name", service_name);
    r.put_string("telemetry.sdk.language", "cpp");
    r.put_string("telemetry.sdk.name", "krishiv-trace");
    r.put_string("telemetry.sdk.version", std::string(kVersion));
    return r;
  }

  // defaults(), updated by OTEL_RESOURCE_ATTRIBUTES, updated by OTEL_SERVICE_NAME (which
  // "takes precedence" over a service.name in OTEL_RESOURCE_ATTRIBUTES,
  // configuration/sdk-environment-variables.md). OTEL_RESOURCE_ATTRIBUTES is the W3C Baggage
  // list format without properties (see parse_baggage); its values are strings.
  // Any malformed entry discards the whole variable with one warning (resource/sdk.md: "the
  // entire environment variable value SHOULD be discarded and an error SHOULD be reported").
  template <typename = void>  // see "Compile cost" above
  static Resource from_env() {
    Resource r = defaults();
    constexpr const char* kVar = "OTEL_RESOURCE_ATTRIBUTES";
    if (const auto raw = detail::env_string(kVar)) {
      std::string problem;
      if (auto pairs = parse_baggage(*raw, &problem)) {
        for (auto& [key, value] : *pairs) r.put_string(std::move(key), std::move(value));
      } else {
        detail::config_warning(kVar, *raw, problem, "none of its attributes");
      }
    }
    // Attribute values are text (OTLP `string`), repaired here as OTEL_RESOURCE_ATTRIBUTES
    // values are, so get() already returns what will be sent.
    if (auto name = detail::env_string("OTEL_SERVICE_NAME")) {
      std::string text;
      detail::append_utf8_replacing_invalid(*name, text);
      r.put_string("service.name", std::move(text));
    }
    return r;
  }

  // resource/sdk.md, "Merge": every key of either resource; for a key in both, the value from
  // `updating`, even an empty string. Keys keep this resource's order, new keys follow.
  template <typename = void>  // see "Compile cost" above
  Resource merge(const Resource& updating) const {
    Resource r = *this;
    for (const auto& a : updating.attributes) r.put(a.key, a.value);
    return r;
  }

  // The value for `key`, or nullptr.
  const AttributeValue* get(std::string_view key) const noexcept {
    for (const auto& a : attributes) {
      if (a.key == key) return &a.value;
    }
    return nullptr;
  }

  friend bool operator==(const Resource&, const Resource&) = default;

 private:
  // Strings are emplaced rather than moved through a temporary AttributeValue: g++ 12 reports a
  // bogus -Wmaybe-uninitialized for the variant move at -O2, which -Werror users would hit.
  template <typename = void>  // see "Compile cost" above
  void put_string(std::string key, std::string value) {
    for (auto& a : attributes) {
      if (a.key == key) {
        a.value.emplace<std::string>(std::move(value));
        return;
      }
    }
    attributes.push_back(Attribute{
        std::move(key), AttributeValue(std::in_place_type<std::string>, std::move(value))});
  }
  template <typename = void>  // see "Compile cost" above
  void put(std::string key, AttributeValue value) {
    for (auto& a : attributes) {
      if (a.key == key) {
        // Destroy and move-construct rather than move-assign: the variant's assignment would be
        // instantiated for every alternative in every includer, and its move constructor cannot
        // throw (every alternative's can't), so the value is never left destroyed.
        static_assert(std::is_nothrow_move_constructible_v<AttributeValue>);
        std::destroy_at(&a.value);
        std::construct_at(&a.value, std::move(value));
        return;
      }
    }
    attributes.push_back(Attribute{std::move(key), std::move(value)});
  }
};

// OTLP InstrumentationScope: who produced the spans.
struct InstrumentationScope {
  std::string name = "krishiv-trace";
  std::string version = kVersion;
};

}  // namespace krishiv::trace
