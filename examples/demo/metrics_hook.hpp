#pragma once
// METRICS HOOK (issue 11's GrpcDurationService and /metrics endpoint, not merged yet).
//
// Executors call start_metrics_endpoint() and report its port on their "listening" line; the
// demo scrapes each non-zero port at the end and prints the krishiv_grpc_call_duration_seconds
// lines. Today no endpoint exists, start_metrics_endpoint() returns 0 and the demo says so.
//
// AT MERGE: in start_metrics_endpoint(), start examples/support/metrics_endpoint.hpp's endpoint on
// 127.0.0.1:0 serving the registry GrpcDurationService records into, and return its port; add
// GrpcDurationService to the server builder and the channel in rpc.hpp (add_server_tracing,
// make_channel). scrape_metrics() below already speaks HTTP/1.0 and needs no change.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace demo {

// The /metrics port of this process, 0 when none is served.
inline int start_metrics_endpoint() {
  return 0;
}

// GET /metrics from 127.0.0.1:port; the lines of the call-duration histogram (empty on error).
inline std::vector<std::string> scrape_metrics(int port) {
  std::vector<std::string> lines;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return lines;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size())) {
      std::string body;
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
        body.append(buf, static_cast<std::size_t>(n));
      }
      std::size_t p = 0;
      while (p < body.size()) {
        std::size_t nl = body.find('\n', p);
        if (nl == std::string::npos) nl = body.size();
        std::string line = body.substr(p, nl - p);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("krishiv_grpc_call_duration_seconds", 0) == 0) lines.push_back(line);
        p = nl + 1;
      }
    }
  }
  ::close(fd);
  return lines;
}

}  // namespace demo
