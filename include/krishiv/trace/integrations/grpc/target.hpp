#pragma once
// The server a gRPC channel target or peer string names, for the server.address and server.port
// span attributes. Standard library only.
//
// Forms (gRPC's naming doc, https://grpc.github.io/grpc/core/md_doc_naming.html):
//   dns:[//authority/]host[:port]   ipv4:addr:port[,addr:port...]   ipv6:[addr]:port   ipv6:addr
//   unix:path   unix:///abs/path   unix-abstract:name   and a bare host[:port] (dns).
// Peer strings (ClientContext::peer()) use the same schemes: "ipv4:127.0.0.1:50051".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace krishiv::trace {

struct GrpcServerAddress {
  std::string address;               // host name, IP address (IPv6 without brackets) or socket path
  std::optional<std::int64_t> port;  // absent for Unix domain sockets
  friend bool operator==(const GrpcServerAddress&, const GrpcServerAddress&) = default;
};

namespace detail {

// 1..65535, digits only.
constexpr std::optional<std::int64_t> parse_port(std::string_view s) noexcept {
  if (s.empty() || s.size() > 5) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > 65535) return std::nullopt;
  return v;
}

// host[:port], [v6]:port, [v6] or a bare IPv6 address. nullopt when the port is malformed.
inline std::optional<GrpcServerAddress> split_host_port(std::string_view s,
                                                        std::optional<std::int64_t> default_port) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    GrpcServerAddress a{std::string(s.substr(1, close - 1)), default_port};
    const auto rest = s.substr(close + 1);
    if (rest.empty()) return a;
    if (rest.front() != ':') return std::nullopt;
    a.port = parse_port(rest.substr(1));
    if (!a.port) return std::nullopt;
    return a;
  }
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) return GrpcServerAddress{std::string(s), default_port};
  if (s.find(':', colon + 1) != std::string_view::npos) {
    return GrpcServerAddress{std::string(s), default_port};  // an IPv6 address without brackets
  }
  if (colon == 0) return std::nullopt;
  GrpcServerAddress a{std::string(s.substr(0, colon)), parse_port(s.substr(colon + 1))};
  if (!a.port) return std::nullopt;
  return a;
}

}  // namespace detail

// The first server a target names; nullopt when it cannot be read. A dns target without a port
// gets gRPC's default, 443.
inline std::optional<GrpcServerAddress> parse_grpc_target(std::string_view target) {
  constexpr std::int64_t kDefaultPort = 443;
  auto starts = [&](std::string_view p) { return target.substr(0, p.size()) == p; };
  if (starts("unix-abstract:")) {
    target.remove_prefix(14);
    if (target.empty()) return std::nullopt;
    return GrpcServerAddress{std::string(target), std::nullopt};
  }
  if (starts("unix:")) {
    target.remove_prefix(5);
    if (target.substr(0, 2) == "//") target.remove_prefix(2);  // unix:///abs/path
    if (target.empty()) return std::nullopt;
    return GrpcServerAddress{std::string(target), std::nullopt};
  }
  if (starts("ipv4:") || starts("ipv6:")) {
    target.remove_prefix(5);
    target = target.substr(0, target.find(','));  // the first of a list
    return detail::split_host_port(target, kDefaultPort);
  }
  if (starts("dns:")) {
    target.remove_prefix(4);
    if (target.substr(0, 2) == "//") {  // dns://authority/host:port; the authority is the resolver
      const auto slash = target.find('/', 2);
      if (slash == std::string_view::npos) return std::nullopt;
      target.remove_prefix(slash + 1);
    }
  }
  return detail::split_host_port(target, kDefaultPort);
}

}  // namespace krishiv::trace
