#pragma once
// The executors' /metrics: the call-duration histogram GrpcDurationService records into
// (rpc.hpp), served over HTTP on 127.0.0.1; and the demo's scrape of it at the end.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "../support/metrics_endpoint.hpp"
#include "rpc.hpp"

namespace demo {

// Starts this process's /metrics endpoint (once) on a free port of 127.0.0.1; its port, 0 when
// it could not listen.
inline int start_metrics_endpoint() {
  static krishiv::trace::examples::MetricsEndpoint endpoint(metrics_registry(), "127.0.0.1", 0);
  return endpoint.port();
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
