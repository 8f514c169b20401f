#pragma once
// An HTTP endpoint serving a metrics::Registry at /metrics, for the examples: one thread, one
// connection at a time, HTTP/1.0-style (the answer, then close), 127.0.0.1 or whatever address
// it is given. Enough for Prometheus and curl; not a web server to build services on.
//
//   MetricsEndpoint endpoint(registry, "127.0.0.1", 0);   // port 0: any free port
//   std::printf("metrics %u\n", endpoint.port());
//
// It stops, and joins its thread, on destruction.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "krishiv/trace/metrics/prometheus.hpp"
#include "krishiv/trace/metrics/registry.hpp"

namespace krishiv::trace::examples {

// "HOST:PORT" as the examples' --metrics flags take it.
inline bool split_host_port(std::string_view s, std::string& host, std::uint16_t& port) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return false;
  host = std::string(s.substr(0, colon));
  const long p = std::strtol(std::string(s.substr(colon + 1)).c_str(), nullptr, 10);
  if (p < 0 || p > 65535) return false;
  port = static_cast<std::uint16_t>(p);
  return true;
}

class MetricsEndpoint {
 public:
  // Listens on host:port (an IPv4 address); port() is 0 when that failed (reported on stderr).
  MetricsEndpoint(const metrics::Registry& registry, const std::string& host, std::uint16_t port)
      : registry_(registry) {
    if (::pipe(stop_pipe_) != 0) {
      std::perror("metrics endpoint: pipe");
      return;
    }
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    const int one = 1;
    if (listen_fd_ < 0 || ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      std::fprintf(stderr, "metrics endpoint: cannot listen on %s:%u\n", host.c_str(), port);
      return;
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  ~MetricsEndpoint() {
    if (thread_.joinable()) {
      const char byte = 0;
      (void)!::write(stop_pipe_[1], &byte, 1);
      thread_.join();
    }
    for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }

  std::uint16_t port() const noexcept { return port_; }

 private:
  void serve() {
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      answer(fd);
      ::close(fd);
    }
  }

  // Reads the request head (up to 8 KiB, 5 s at most) and answers it.
  void answer(int fd) {
    std::string head;
    char buf[1024];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      head.append(buf, static_cast<std::size_t>(n));
    }
    const std::string_view line = std::string_view(head).substr(0, head.find("\r\n"));
    const bool get = line.starts_with("GET ");
    const std::string_view target =
        get ? line.substr(4, line.find(' ', 4) == std::string_view::npos ? std::string_view::npos
                                                                         : line.find(' ', 4) - 4)
            : std::string_view();
    std::string response;
    if (get && (target == "/metrics" || target.starts_with("/metrics?"))) {
      const std::string body = metrics::to_prometheus_text(registry_);
      response =
          "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(metrics::kPrometheusContentType) +
          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
          body;
    } else if (!get) {
      response =
          "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\n"
          "Connection: close\r\n\r\n";
    } else {
      response =
          "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
          "Connection: close\r\n\r\nnot found\n";
    }
    std::string_view rest = response;
    while (!rest.empty()) {
      const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  const metrics::Registry& registry_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace krishiv::trace::examples
