#pragma once
// Configuration of the OTLP/gRPC exporter: OtlpGrpcOptions::from_env() reads the
// OTEL_EXPORTER_OTLP_* variables (opentelemetry-specification protocol/exporter.md), and every
// field stays a plain member so code can override it afterwards.
//
// This header needs only the standard library; the gRPC transport that consumes it lives in
// krishiv/trace/exporters/otlp_grpc/transport.hpp.
//
// Choices the specification leaves open, made here:
// - Endpoint. `http://host[:port]` is plaintext and `https://host[:port]` is TLS, whatever
//   `insecure` says. A URL without a port gets the scheme's port (80 / 443, as URLs mean; write
//   the port, usually 4317). A URL path is ignored: gRPC has no use for it. Any other form is
//   handed to gRPC as a target (`host:port`, `dns:///host:port`, `unix:/path`, `ipv4:...`), and
//   then `insecure` decides: TLS unless it is true (exporter.md, "Insecure").
// - Timeout. OTEL_EXPORTER_OTLP_TIMEOUT must be at least 1 ms: 0 ("no limit" in the
//   declarative configuration) would let an export against a dead collector retry forever.
//   The transport clamps longer timeouts to 24 h, and backoffs to the timeout.
// - Headers. Keys are lowercased (HTTP field names are case-insensitive and HTTP/2 sends them
//   lowercase), so `Authorization=Bearer%20x` works; keys or values gRPC would reject, and
//   the headers gRPC sets itself, are dropped with a warning. Warnings never echo a header's
//   value (it usually carries a credential), nor a header written without '=', nor an
//   endpoint's user-info; every value they do quote is escaped to one line.
// - The signal-specific variable (`OTEL_EXPORTER_OTLP_TRACES_*`) replaces the generic one; the
//   two header lists are not merged.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "krishiv/trace/detail/env.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/otlp/fields.hpp"
#include "krishiv/trace/version.hpp"

namespace krishiv::trace {

// Backoff between attempts of one export (exporter.md "Retry": exponential, with jitter). All
// attempts of an export share its one deadline, OtlpGrpcOptions::timeout.
struct OtlpRetryPolicy {
  int max_attempts = 5;  // including the first; 1 disables retries
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{5000};
  double multiplier = 1.5;
};

struct OtlpGrpcOptions {
  std::string endpoint{detail::otlp::kDefaultGrpcEndpoint};
  // Plaintext for an endpoint without an http/https scheme.
  bool insecure = false;
  // gRPC metadata sent with every export (e.g. {"authorization", "Bearer ..."}).
  std::vector<std::pair<std::string, std::string>> headers;
  // One deadline for a whole export, retries and backoff included.
  std::chrono::milliseconds timeout{10000};
  bool gzip = false;
  // TLS material as PEM file paths (what the environment gives) ...
  std::string ca_pem_file;
  std::string client_key_file;
  std::string client_cert_file;
  // ... or as PEM contents, which take precedence over the files when non-empty. Both client
  // key and certificate are needed for mTLS.
  std::string ca_pem;
  std::string client_key_pem;
  std::string client_cert_pem;
  OtlpRetryPolicy retry;
  // Export requests in flight at once (KRISHIV_OTLP_MAX_CONCURRENT_EXPORTS; the OpenTelemetry
  // specification has no variable for it). More than one hides the collector's round trip: with
  // one, delivery is at most a batch per round trip (about 100 k spans/s at batch 512 and 5 ms).
  // 32 by measurement (benchmarks/otlp_export_bench, otlp_capacity, 5 ms away): 16 delivered
  // 1.1 M spans/s without a drop, 32 delivered 1.5 M; no difference at latency 0. It costs up to
  // 32 encoded batches of memory (about 2 MiB at batch 512). Taken as 1 when below.
  int max_concurrent_exports = 32;

  // Reads the OTEL_EXPORTER_OTLP_[TRACES_]* variables; a malformed value gets one stderr line
  // naming the variable and the fallback taken. Never throws for bad input.
  static OtlpGrpcOptions from_env();
};

namespace detail {

// exporter.md "User Agent": OTel-OTLP-Exporter-<language>/<version>, the language as the
// telemetry.sdk.language resource convention names it ("cpp"), then our own product token.
// gRPC appends its own tokens after these.
inline constexpr std::string_view kOtlpUserAgent =
    "OTel-OTLP-Exporter-Cpp/" KRISHIV_TRACE_VERSION_STRING " krishiv-trace";

// Why gRPC would refuse this metadata entry, or nullptr if it is fine. The key must already be
// lowercase. Rules from grpc's metadata validation (legal key chars [a-z0-9-_.], printable
// ASCII values for non "-bin" keys) plus the headers gRPC owns: "grpc-" is reserved, and the
// HTTP/2 connection-specific and transport headers are written by gRPC itself (RFC 9113 8.2.2).
inline const char* grpc_metadata_problem(std::string_view key, std::string_view value) noexcept {
  if (key.empty()) return "has an empty header key";
  for (char c : key) {
    const bool legal =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!legal) return "has a header key with a character gRPC forbids (allowed: a-z 0-9 - _ .)";
  }
  if (key.starts_with("grpc-")) return "has a header key reserved by gRPC (grpc-*)";
  constexpr std::string_view owned[] = {"content-type",      "te",
                                        "user-agent",        "host",
                                        "connection",        "keep-alive",
                                        "upgrade",           "proxy-connection",
                                        "transfer-encoding", "content-length"};
  if (std::find(std::begin(owned), std::end(owned), key) != std::end(owned)) {
    return "has a header key that gRPC sets itself";
  }
  if (!key.ends_with("-bin")) {
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u > 0x7E) {
        return "has a header value with a non-printable character (only \"-bin\" keys take "
               "binary values)";
      }
    }
  }
  return nullptr;
}

// How a header is named in a warning: its position, and its key when the key is a plain token.
// A key with other characters is not shown: "Authorization: Bearer <token>=..." splits at '='
// into a "key" that is mostly the credential.
inline HiddenValue header_for_log(std::size_t index, std::string_view key) {
  std::string d = "header " + std::to_string(index + 1);
  const bool token =
      !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
        return is_ascii_alpha(c) || is_ascii_digit(c) || c == '-' || c == '_' || c == '.';
      });
  if (token) d += " \"" + std::string(key) + '"';
  return HiddenValue{std::move(d)};
}

// Lowercases the keys and drops (with a warning naming `source`) the entries gRPC would reject.
// `positions`, when given, numbers the headers in warnings (their places in the variable).
inline std::vector<std::pair<std::string, std::string>> sanitize_grpc_headers(
    std::vector<std::pair<std::string, std::string>> headers, std::string_view source,
    const std::vector<std::size_t>* positions = nullptr) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) {
    auto& [k, v] = headers[i];
    std::string key = ascii_lower(k);
    if (const char* problem = grpc_metadata_problem(key, v)) {
      const std::size_t position = positions != nullptr ? (*positions)[i] : i;
      config_warning(source, header_for_log(position, k), problem, "the remaining headers");
      continue;
    }
    out.emplace_back(std::move(key), std::move(v));
  }
  return out;
}

// OTEL_EXPORTER_OTLP_HEADERS: W3C Baggage list syntax without properties (exporter.md,
// "Specifying headers via environment variables"): `k1=v1,k2=v2`, OWS around members and around
// '=', values percent-encoded. A bad member is skipped with a warning; the others are kept.
// Not parse_baggage (propagation/baggage.hpp), which rejects the whole list at the first bad
// member as OTEL_RESOURCE_ATTRIBUTES asks: here one bad header should not cost the others. The
// decoded bytes get no UTF-8 repair either: values are held to gRPC's printable-ASCII rule
// afterwards, and "-bin" values are arbitrary bytes.
inline std::vector<std::pair<std::string, std::string>> parse_otlp_headers(std::string_view raw,
                                                                           std::string_view var) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::size_t> positions;
  // Members are numbered as written, empty ones included, so a warning's "header N" can be
  // found in the variable.
  for (std::size_t index = 0; !raw.empty(); ++index) {
    const std::size_t comma = raw.find(',');
    std::string_view member = trim_ows(raw.substr(0, comma));
    raw = comma == std::string_view::npos ? std::string_view{} : raw.substr(comma + 1);
    if (member.empty()) continue;  // "a=1,,b=2" and a trailing comma are harmless
    const std::size_t eq = member.find('=');
    if (eq == std::string_view::npos) {
      // Likely "Authorization: Bearer <token>": nothing of it may be printed.
      config_warning(var, HiddenValue{"header " + std::to_string(index + 1)},
                     "has a header without '=' (expected key=value)", "the remaining headers");
      continue;
    }
    const std::string_view key = trim_ows(member.substr(0, eq));
    auto value = percent_decode(trim_ows(member.substr(eq + 1)));
    if (!value) {
      config_warning(var, header_for_log(index, key),
                     "has a malformed percent-encoding in a header value", "the remaining headers");
      continue;
    }
    auto dkey = percent_decode(key);
    if (!dkey) {
      config_warning(var, header_for_log(index, key),
                     "has a malformed percent-encoding in a header key", "the remaining headers");
      continue;
    }
    out.emplace_back(std::move(*dkey), std::move(*value));
    positions.push_back(index);
  }
  return sanitize_grpc_headers(std::move(out), var, &positions);
}

// Where and how to connect, derived from OtlpGrpcOptions::endpoint and ::insecure.
struct GrpcTarget {
  std::string target;  // what grpc::CreateCustomChannel takes
  bool tls = false;
};

// The authority of an endpoint (RFC 3986 §3.2): after "scheme://" up to the path, query or
// fragment; for a target without "://", everything up to the first '/'.
inline std::string_view endpoint_authority(std::string_view endpoint) noexcept {
  const std::size_t sep = endpoint.find("://");
  const std::string_view rest = sep == std::string_view::npos ? endpoint : endpoint.substr(sep + 3);
  return rest.substr(0, rest.find_first_of(sep == std::string_view::npos ? "/" : "/?#"));
}

// The endpoint as a diagnostic may show it: user-info (a password, a token) replaced.
inline std::string endpoint_for_log(std::string_view endpoint) {
  const std::string_view authority = endpoint_authority(endpoint);
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(endpoint);
  const auto start = static_cast<std::size_t>(authority.data() - endpoint.data());
  return std::string(endpoint.substr(0, start)) + "<user-info hidden>" +
         std::string(endpoint.substr(start + at));
}

// host, host:port, [IPv6] or [IPv6]:port with a DNS name or IPv4 address as host (RFC 3986
// §3.2.2 reg-name restricted to what DNS allows), port 1-65535: what gRPC's default "dns"
// resolver takes when no scheme is given.
inline bool is_host_port(std::string_view s) noexcept {
  std::string_view host = s, port;
  if (s.starts_with('[')) {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : s.substr(1, close - 1)) {
      if (!(hex_digit_value(c) >= 0 || c == ':' || c == '.' || c == '%')) return false;
    }
    const std::string_view after = s.substr(close + 1);
    if (!after.empty() && (after.front() != ':' || after.size() == 1)) return false;
    port = after.empty() ? after : after.substr(1);
  } else {
    const std::size_t colon = s.rfind(':');
    if (colon != std::string_view::npos) {
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    for (char c : host) {
      if (!(is_ascii_alpha(c) || is_ascii_digit(c) || c == '-' || c == '.' || c == '_')) {
        return false;
      }
    }
  }
  if (port.empty()) return true;
  if (port.size() > 5) return false;
  for (char c : port) {
    if (!is_ascii_digit(c)) return false;
  }
  const auto p = parse_u64(port);
  return p && *p >= 1 && *p <= 65535;
}

// nullopt, with `problem` set, for an endpoint that cannot be used.
inline std::optional<GrpcTarget> resolve_grpc_endpoint(std::string_view endpoint, bool insecure,
                                                       std::string* problem) {
  auto fail = [&](const char* why) -> std::optional<GrpcTarget> {
    if (problem) *problem = why;
    return std::nullopt;
  };
  endpoint = trim_ows(endpoint);
  if (endpoint.empty()) return fail("is empty");
  for (char c : endpoint) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return fail("has a space or a non-ASCII character");
  }
  // gRPC's own target URIs (grpc/doc/naming.md) pass through untouched.
  constexpr std::string_view grpc_schemes[] = {"dns",  "unix", "unix-abstract", "ipv4",
                                               "ipv6", "xds",  "vsock"};
  auto is_grpc_scheme = [&](std::string_view scheme) {
    return std::find(std::begin(grpc_schemes), std::end(grpc_schemes), ascii_lower(scheme)) !=
           std::end(grpc_schemes);
  };
  // User-info would be a credential in a URL, which gRPC targets have no use for; refused (and
  // never printed: endpoint_for_log).
  if (endpoint_authority(endpoint).find('@') != std::string_view::npos) {
    return fail("has user info, unsupported");
  }
  const std::size_t sep = endpoint.find("://");
  if (sep == std::string_view::npos) {
    // "scheme:..." in gRPC's short form ("unix:/path", "dns:host:port"), else host[:port].
    if (const std::size_t colon = endpoint.find(':');
        colon != std::string_view::npos && is_grpc_scheme(endpoint.substr(0, colon))) {
      return GrpcTarget{std::string(endpoint), !insecure};
    }
    if (!is_host_port(endpoint)) {
      return fail("is neither a URL (http[s]://host:port), host:port, nor a gRPC target URI");
    }
    return GrpcTarget{std::string(endpoint), !insecure};
  }
  const std::string scheme = ascii_lower(endpoint.substr(0, sep));
  if (scheme != "http" && scheme != "https") {
    if (is_grpc_scheme(scheme)) return GrpcTarget{std::string(endpoint), !insecure};
    return fail("has a scheme that is neither http, https nor a gRPC target scheme");
  }
  std::string_view rest = endpoint.substr(sep + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {  // IPv6 literal, RFC 3986 3.2.2
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("has an unterminated IPv6 literal");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("has garbage after the IPv6 literal");
      port = after.substr(1);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") return fail("has no host");
  const bool tls = scheme == "https";
  std::string target(host);
  if (port.empty()) {
    target += tls ? ":443" : ":80";
  } else {
    auto p = parse_u64(port);
    if (!p || *p == 0 || *p > 65535 || port.find_first_not_of("0123456789") != port.npos) {
      return fail("has a port that is not a number in [1, 65535]");
    }
    target += ':';
    target += port;
  }
  return GrpcTarget{std::move(target), tls};
}

// For a "unix:" target (grpc/doc/naming.md: unix:path, unix:///absolute_path), why no collector
// can be listening there now; empty when a socket exists, or for any other target. A start-up
// check only: the socket may still appear later.
inline std::string unix_socket_problem(std::string_view target) {
  if (!target.starts_with("unix:")) return {};
  std::string_view path = target.substr(5);
  if (path.starts_with("//")) path.remove_prefix(2);
  std::error_code ec;
  const auto st = std::filesystem::status(std::filesystem::path(path), ec);
  if (!std::filesystem::exists(st)) {
    return "no socket at " + quote_for_log(path) + (ec ? " (" + ec.message() + ")" : "");
  }
  if (!std::filesystem::is_socket(st)) return quote_for_log(path) + " is not a socket";
  return {};
}

inline bool file_readable(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return f.good();
}

// A PEM file path variable (signal-specific first): {variable, path}, or an empty path with a
// warning when the file cannot be read.
inline std::pair<std::string, std::string> env_pem_file(std::initializer_list<const char*> names,
                                                        const char* fallback) {
  auto v = env_first(names);
  if (!v) return {};
  if (!file_readable(v->second)) {
    config_warning(v->first, v->second, "names a file that cannot be read", fallback);
    return {v->first, {}};
  }
  return {v->first, std::move(v->second)};
}

}  // namespace detail

inline OtlpGrpcOptions OtlpGrpcOptions::from_env() {
  OtlpGrpcOptions o;
  if (auto v = detail::env_first(
          {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"})) {
    std::string problem;
    if (detail::resolve_grpc_endpoint(v->second, false, &problem)) {
      o.endpoint = std::string(detail::trim_ows(v->second));
    } else {
      detail::config_warning(v->first, detail::endpoint_for_log(v->second), problem,
                             detail::otlp::kDefaultGrpcEndpoint);
    }
  }
  if (auto v = detail::env_first(
          {"OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"})) {
    o.insecure = detail::env_bool(v->first, false);
  }
  if (auto v =
          detail::env_first({"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"})) {
    o.headers = detail::parse_otlp_headers(v->second, v->first);
  }
  if (auto v =
          detail::env_first({"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"})) {
    o.timeout = detail::env_millis(v->first, o.timeout, 1);
  }
  if (auto v = detail::env_first(
          {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"})) {
    const std::string c = detail::ascii_lower(detail::trim_ows(v->second));
    if (c == "gzip") {
      o.gzip = true;
    } else if (c != "none") {
      detail::config_warning(v->first, v->second, "is not gzip or none", "none");
    }
  }
  o.ca_pem_file = detail::env_pem_file(
                      {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"},
                      "the system's root certificates")
                      .second;
  auto key = detail::env_pem_file(
      {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY"},
      "no client certificate");
  auto cert = detail::env_pem_file(
      {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"},
      "no client certificate");
  // mTLS needs both halves; one alone would fail every handshake.
  if (!key.second.empty() && cert.second.empty() && cert.first.empty()) {
    detail::config_warning(key.first, key.second, "is set without a client certificate",
                           "no client certificate");
  } else if (key.second.empty() && !cert.second.empty() && key.first.empty()) {
    detail::config_warning(cert.first, cert.second, "is set without a client key",
                           "no client certificate");
  } else if (!key.second.empty() && !cert.second.empty()) {
    o.client_key_file = std::move(key.second);
    o.client_cert_file = std::move(cert.second);
  }
  o.max_concurrent_exports = static_cast<int>(
      detail::env_u64("KRISHIV_OTLP_MAX_CONCURRENT_EXPORTS",
                      static_cast<std::uint64_t>(o.max_concurrent_exports), 1, 1024));
  return o;
}

}  // namespace krishiv::trace
