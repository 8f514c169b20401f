// krishiv/trace/exporters/otlp_grpc/transport.hpp against scripted in-process collectors on
// 127.0.0.1: retries and throttling (opentelemetry-proto docs/specification.md "OTLP/gRPC"),
// partial success, deadlines, cancellation, compression, headers, TLS and mTLS.
//
// Time bounds here are hang guards (generous) or lower bounds the spec imposes (a RetryInfo
// delay is waited out); none measures performance.

#include "krishiv/trace/exporters/otlp_grpc/transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpcpp/security/server_credentials.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../otlp/response_bytes.hpp"
#include "capture.hpp"
#include "otlp_collector.hpp"

using krishiv::trace::OtlpGrpcOptions;
using krishiv::trace::detail::ExportOutcome;
using krishiv::trace::detail::OtlpGrpcTransport;
using test::Collector;
using test::error_reply;
using test::free_port;
using test::ok_reply;
using test::Reply;
using test::stall_reply;
using test::StderrCapture;
using namespace response_bytes;
namespace d = krishiv::trace::detail;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using Kind = ExportOutcome::Kind;

namespace {

// A TCP relay on 127.0.0.1 that counts the bytes the client sends: the only honest way to see
// that a request travelled compressed (the server side decompresses before the app sees it, and
// gRPC does not show grpc-encoding in the server's client_metadata()).
class CountingRelay {
 public:
  explicit CountingRelay(int target_port) : target_port_(target_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in a = loopback(0);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 4) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~CountingRelay() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  std::size_t upstream_bytes() const { return upstream_.load(); }

 private:
  static sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    return a;
  }
  // fds_ holds pairs: [client, upstream, client, upstream, ...].
  void run() {
    char buf[16384];
    while (!stop_) {
      std::vector<pollfd> p{{listen_fd_, POLLIN, 0}};
      for (int fd : fds_) p.push_back({fd, POLLIN, 0});
      if (::poll(p.data(), p.size(), 50) <= 0) continue;
      if (p[0].revents & POLLIN) {
        const int client = ::accept(listen_fd_, nullptr, nullptr);
        const int up = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a = loopback(target_port_);
        if (client >= 0 && up >= 0 &&
            ::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
          fds_.push_back(client);
          fds_.push_back(up);
        } else {
          if (client >= 0) ::close(client);
          if (up >= 0) ::close(up);
        }
        continue;
      }
      for (std::size_t i = 1; i < p.size(); ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const std::size_t k = i - 1;
        const int from = fds_[k];
        const int to = fds_[k ^ 1];
        const ssize_t n = ::read(from, buf, sizeof buf);
        bool ok = n > 0;
        for (ssize_t off = 0; ok && off < n;) {
          const ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(n - off));
          ok = w > 0;
          off += w;
        }
        if (ok && k % 2 == 0) upstream_ += static_cast<std::size_t>(n);
        if (!ok) {
          const std::size_t pair = k & ~std::size_t{1};
          ::close(fds_[pair]);
          ::close(fds_[pair + 1]);
          fds_.erase(fds_.begin() + static_cast<std::ptrdiff_t>(pair),
                     fds_.begin() + static_cast<std::ptrdiff_t>(pair) + 2);
          break;  // indices shifted; poll again
        }
      }
    }
  }
  int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<int> fds_;
  std::atomic<std::size_t> upstream_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

OtlpGrpcOptions fast_options(const std::string& endpoint) {
  OtlpGrpcOptions o;
  o.endpoint = endpoint;
  o.timeout = 10s;
  o.retry.initial_backoff = 20ms;
  o.retry.max_backoff = 100ms;
  o.retry.max_attempts = 5;
  return o;
}

std::chrono::milliseconds since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
}

const std::string kRequest =
    "\x0a\x03"
    "abc";  // any bytes: the transport does not parse them

}  // namespace

// ---- policy ----

TEST_CASE("retryable codes follow the OTLP table", "[otlp][grpc]") {
  using C = grpc::StatusCode;
  const std::pair<C, bool> table[] = {
      {C::CANCELLED, true},
      {C::UNKNOWN, false},
      {C::INVALID_ARGUMENT, false},
      {C::DEADLINE_EXCEEDED, true},
      {C::NOT_FOUND, false},
      {C::ALREADY_EXISTS, false},
      {C::PERMISSION_DENIED, false},
      {C::RESOURCE_EXHAUSTED, false},
      {C::FAILED_PRECONDITION, false},
      {C::ABORTED, true},
      {C::OUT_OF_RANGE, true},
      {C::UNIMPLEMENTED, false},
      {C::INTERNAL, false},
      {C::UNAVAILABLE, true},
      {C::DATA_LOSS, true},
      {C::UNAUTHENTICATED, false},
  };
  for (const auto& [code, retry] : table) {
    INFO(d::grpc_code_name(static_cast<int>(code)));
    CHECK(d::is_retryable(code, false) == retry);
    // RetryInfo only turns RESOURCE_EXHAUSTED retryable; it never makes a permanent error
    // transient.
    CHECK(d::is_retryable(code, true) == (retry || code == C::RESOURCE_EXHAUSTED));
  }
}

// ---- against a collector ----

TEST_CASE("success: bytes, method, user agent and headers reach the collector", "[otlp][grpc]") {
  Collector c({ok_reply()});
  auto o = fast_options(c.http());
  o.headers = {{"authorization", "Bearer tok"}, {"X-Tenant", "t1"}, {"grpc-custom", "no"}};
  StderrCapture cap;
  OtlpGrpcTransport t(o);
  const std::string warnings = cap.text();
  CHECK(warnings.find("OtlpGrpcOptions::headers (header 3 \"grpc-custom\", not shown)") !=
        std::string::npos);

  const auto out = t.send(kRequest);
  CHECK(out.kind == Kind::Success);
  CHECK(out.attempts == 1);
  CHECK(out.retries == 0);
  CHECK(out.grpc_code == 0);
  CHECK(out.error.empty());
  const auto rec = c.received();
  REQUIRE(rec.size() == 1);
  CHECK(rec[0].method == "/opentelemetry.proto.collector.trace.v1.TraceService/Export");
  CHECK(rec[0].bytes == kRequest);
  CHECK(rec[0].meta("authorization") == "Bearer tok");
  CHECK(rec[0].meta("x-tenant") == "t1");
  CHECK(rec[0].meta("grpc-custom") == "<absent>");
  CHECK(rec[0].meta("user-agent").rfind(std::string(d::kOtlpUserAgent) + " grpc-c++/", 0) == 0);
}

TEST_CASE("gzip compression", "[otlp][grpc]") {
  const std::string payload(256 * 1024, 'a');
  for (bool gzip : {true, false}) {
    INFO("gzip=" << gzip);
    Collector c({ok_reply()});
    CountingRelay relay(c.port());
    auto o = fast_options("http://127.0.0.1:" + std::to_string(relay.port()));
    o.gzip = gzip;
    OtlpGrpcTransport t(o);
    CHECK(t.send(payload).kind == Kind::Success);
    const auto rec = c.received();
    REQUIRE(rec.size() == 1);
    CHECK(rec[0].bytes == payload);  // decompressed by the server: the same bytes
    if (gzip) {
      CHECK(relay.upstream_bytes() < payload.size() / 8);
    } else {
      CHECK(relay.upstream_bytes() > payload.size());
    }
  }
}

TEST_CASE("UNAVAILABLE twice, then OK: three attempts", "[otlp][grpc]") {
  Collector c(
      {error_reply(grpc::StatusCode::UNAVAILABLE), error_reply(grpc::StatusCode::UNAVAILABLE)});
  OtlpGrpcTransport t(fast_options(c.http()));
  const auto out = t.send(kRequest);
  CHECK(out.kind == Kind::Success);
  CHECK(out.attempts == 3);
  CHECK(out.retries == 2);
  CHECK(c.calls() == 3);
  for (const auto& r : c.received()) CHECK(r.bytes == kRequest);  // the same request each time
}

TEST_CASE("every retryable code is retried; other codes are not", "[otlp][grpc]") {
  using C = grpc::StatusCode;
  for (C code : {C::CANCELLED, C::DEADLINE_EXCEEDED, C::ABORTED, C::OUT_OF_RANGE, C::UNAVAILABLE,
                 C::DATA_LOSS}) {
    INFO(d::grpc_code_name(static_cast<int>(code)));
    Collector c({error_reply(code)});
    OtlpGrpcTransport t(fast_options(c.http()));
    const auto out = t.send(kRequest);
    CHECK(out.kind == Kind::Success);
    CHECK(out.attempts == 2);
  }
  for (C code : {C::UNKNOWN, C::INVALID_ARGUMENT, C::NOT_FOUND, C::ALREADY_EXISTS,
                 C::PERMISSION_DENIED, C::RESOURCE_EXHAUSTED, C::FAILED_PRECONDITION,
                 C::UNIMPLEMENTED, C::INTERNAL, C::UNAUTHENTICATED}) {
    INFO(d::grpc_code_name(static_cast<int>(code)));
    Collector c({error_reply(code)});
    OtlpGrpcTransport t(fast_options(c.http()));
    StderrCapture quiet;
    const auto out = t.send(kRequest);
    CHECK(out.kind == Kind::Failed);
    CHECK(out.attempts == 1);
    CHECK(out.retries == 0);
    CHECK(out.grpc_code == static_cast<int>(code));
    CHECK(c.calls() == 1);
  }
}

TEST_CASE("INVALID_ARGUMENT fails at once and is counted", "[otlp][grpc]") {
  Collector c({error_reply(grpc::StatusCode::INVALID_ARGUMENT)});
  OtlpGrpcTransport t(fast_options(c.http()));
  StderrCapture cap;
  const auto out = t.send(kRequest);
  const std::string err = cap.text();
  CHECK(out.kind == Kind::Failed);
  CHECK(out.attempts == 1);
  CHECK(out.grpc_code == 3);
  CHECK(out.error == "INVALID_ARGUMENT: scripted");
  CHECK(err.find("export failed: INVALID_ARGUMENT: scripted") != std::string::npos);
}

TEST_CASE("RESOURCE_EXHAUSTED: retried only with RetryInfo, after its delay", "[otlp][grpc]") {
  SECTION("without RetryInfo") {
    Collector c({error_reply(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             rpc_status(8, "full", {{kDebugInfoType, "x"}}))});
    OtlpGrpcTransport t(fast_options(c.http()));
    StderrCapture quiet;
    const auto out = t.send(kRequest);
    CHECK(out.kind == Kind::Failed);
    CHECK(out.attempts == 1);
    CHECK(out.grpc_code == 8);
  }
  SECTION("with RetryInfo") {
    Collector c(
        {error_reply(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     rpc_status(8, "slow down", {{kRetryInfoType, retry_info(0, 300'000'000)}}))});
    OtlpGrpcTransport t(fast_options(c.http()));
    const auto t0 = Clock::now();
    const auto out = t.send(kRequest);
    CHECK(out.kind == Kind::Success);
    CHECK(out.attempts == 2);
    CHECK(since(t0) >= 300ms);  // the server's delay is honoured, not the 20 ms backoff
  }
  SECTION("UNAVAILABLE with RetryInfo also waits the delay") {
    Collector c({error_reply(grpc::StatusCode::UNAVAILABLE,
                             rpc_status(14, "", {{kRetryInfoType, retry_info(0, 250'000'000)}}))});
    OtlpGrpcTransport t(fast_options(c.http()));
    const auto t0 = Clock::now();
    CHECK(t.send(kRequest).kind == Kind::Success);
    CHECK(since(t0) >= 250ms);
  }
  SECTION("a delay past the export deadline fails now instead of waiting") {
    Collector c({error_reply(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             rpc_status(8, "", {{kRetryInfoType, retry_info(30, 0)}}))});
    auto o = fast_options(c.http());
    o.timeout = 5s;
    OtlpGrpcTransport t(o);
    StderrCapture quiet;
    const auto t0 = Clock::now();
    const auto out = t.send(kRequest);
    CHECK(out.kind == Kind::Failed);
    CHECK(out.attempts == 1);
    CHECK(out.error.find("no time left") != std::string::npos);
    CHECK(since(t0) < 5s);  // returned without sitting out the timeout
  }
}

TEST_CASE("partial success: not retried, rejected spans counted, logged once", "[otlp][grpc]") {
  Collector c({}, ok_reply(partial_success(2, "2 spans had no name")));
  OtlpGrpcTransport t(fast_options(c.http()));
  StderrCapture cap;
  for (int i = 0; i < 3; ++i) {
    const auto out = t.send(kRequest);
    CHECK(out.kind == Kind::PartialSuccess);
    CHECK(out.rejected_spans == 2);
    CHECK(out.error == "2 spans had no name");
    CHECK(out.attempts == 1);
  }
  const std::string err = cap.text();
  const std::string line = "collector rejected spans: 2 spans had no name";
  REQUIRE(err.find(line) != std::string::npos);
  CHECK(err.find(line) == err.rfind(line));  // once per distinct message
  CHECK(c.calls() == 3);
}

TEST_CASE("partial success with 0 rejected is a warning", "[otlp][grpc]") {
  Collector c(
      {ok_reply(partial_success(0, "deprecated field")), ok_reply(Message().bytes(1, "").str())});
  OtlpGrpcTransport t(fast_options(c.http()));
  StderrCapture cap;
  auto out = t.send(kRequest);
  CHECK(out.kind == Kind::PartialSuccess);
  CHECK(out.rejected_spans == 0);
  CHECK(out.error == "deprecated field");
  // An empty partial_success carries nothing: a full success.
  out = t.send(kRequest);
  CHECK(out.kind == Kind::Success);
  CHECK(cap.text().find("collector warning: deprecated field") != std::string::npos);
}

TEST_CASE("a stalled collector: the export ends at its deadline", "[otlp][grpc]") {
  Collector c({}, stall_reply());
  auto o = fast_options(c.http());
  o.timeout = 500ms;
  OtlpGrpcTransport t(o);
  StderrCapture quiet;
  const auto t0 = Clock::now();
  const auto out = t.send(kRequest);
  CHECK(out.kind == Kind::Failed);
  CHECK(out.grpc_code == static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED));
  CHECK(out.attempts == 1);  // DEADLINE_EXCEEDED is retryable, but no time is left
  CHECK(since(t0) >= 500ms);
  CHECK(since(t0) < 8s);  // hang guard
}

TEST_CASE("retries stay inside the export timeout", "[otlp][grpc]") {
  Collector c({}, error_reply(grpc::StatusCode::UNAVAILABLE));
  auto o = fast_options(c.http());
  o.timeout = 1s;
  o.retry.max_attempts = 1000;
  o.retry.initial_backoff = 50ms;
  o.retry.max_backoff = 200ms;
  OtlpGrpcTransport t(o);
  StderrCapture quiet;
  const auto t0 = Clock::now();
  const auto out = t.send(kRequest);
  CHECK(out.kind == Kind::Failed);
  CHECK(out.attempts >= 2);
  CHECK(out.attempts < 1000);
  // What the client knows: it started out.attempts calls. The server may not have seen the last
  // one (its deadline can pass on the way on a loaded machine), never more than were started.
  CHECK(c.calls() >= 1);
  CHECK(c.calls() <= static_cast<std::size_t>(out.attempts));
  CHECK(out.error.find("no time left") != std::string::npos);
  CHECK(since(t0) < 8s);  // hang guard
}

TEST_CASE("nothing listening: UNAVAILABLE, retried up to max_attempts", "[otlp][grpc]") {
  auto o = fast_options("http://127.0.0.1:" + std::to_string(free_port()));
  o.retry.max_attempts = 3;
  OtlpGrpcTransport t(o);
  StderrCapture cap;
  const auto t0 = Clock::now();
  const auto out = t.send(kRequest);
  CHECK(out.kind == Kind::Failed);
  CHECK(out.attempts == 3);
  CHECK(out.retries == 2);
  CHECK(out.grpc_code == static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  CHECK(out.error.find("gave up after 3 attempts") != std::string::npos);
  CHECK(since(t0) < 8s);  // hang guard
  // A second failing export with the same error does not log again.
  (void)t.send(kRequest);
  const std::string err = cap.text();
  const std::string line = "export failed: UNAVAILABLE";
  REQUIRE(err.find(line) != std::string::npos);
  CHECK(err.find(line) == err.rfind(line));
}

TEST_CASE("a collector that comes up late is reached by a retry", "[otlp][grpc]") {
  const int port = free_port();
  auto o = fast_options("http://127.0.0.1:" + std::to_string(port));
  o.timeout = 20s;
  o.retry.max_attempts = 100;
  o.retry.initial_backoff = 100ms;
  o.retry.max_backoff = 300ms;
  OtlpGrpcTransport t(o);
  std::unique_ptr<Collector> c;
  std::thread starter([&] {
    std::this_thread::sleep_for(1s);
    c = std::make_unique<Collector>(std::vector<Reply>{}, ok_reply(), nullptr, port);
  });
  StderrCapture quiet;
  const auto out = t.send(kRequest);
  starter.join();
  CHECK(out.kind == Kind::Success);
  CHECK(out.attempts >= 2);
  REQUIRE(c);
  CHECK(c->calls() == 1);
}

TEST_CASE("cancel() from another thread ends a blocked send promptly", "[otlp][grpc]") {
  SECTION("while the call is in flight") {
    Collector c({}, stall_reply());
    auto o = fast_options(c.http());
    o.timeout = 60s;
    OtlpGrpcTransport t(o);
    bool reached = false;
    std::thread canceller([&] {
      reached = c.wait_calls(1);
      t.cancel();
    });
    const auto t0 = Clock::now();
    const auto out = t.send(kRequest);
    canceller.join();
    CHECK(reached);
    CHECK(out.kind == Kind::Cancelled);
    CHECK(out.attempts == 1);
    CHECK(since(t0) < 20s);  // hang guard, far below the 60 s timeout
  }
  SECTION("while backing off") {
    Collector c({}, error_reply(grpc::StatusCode::UNAVAILABLE));
    auto o = fast_options(c.http());
    o.timeout = 60s;
    o.retry.initial_backoff = 40s;
    o.retry.max_backoff = 40s;
    OtlpGrpcTransport t(o);
    bool reached = false;
    std::thread canceller([&] {
      reached = c.wait_calls(1);
      std::this_thread::sleep_for(100ms);
      t.cancel();
    });
    const auto t0 = Clock::now();
    const auto out = t.send(kRequest);
    canceller.join();
    CHECK(reached);
    CHECK(out.kind == Kind::Cancelled);
    CHECK(out.attempts == 1);
    CHECK(since(t0) < 20s);  // hang guard, far below the 20 s minimum backoff
  }
  SECTION("a later send works again") {
    Collector c({stall_reply()}, ok_reply());
    auto o = fast_options(c.http());
    o.timeout = 60s;
    OtlpGrpcTransport t(o);
    t.cancel();  // nothing in flight: no effect
    bool reached = false;
    std::thread canceller([&] {
      reached = c.wait_calls(1);
      t.cancel();
    });
    CHECK(t.send(kRequest).kind == Kind::Cancelled);
    canceller.join();
    CHECK(reached);
    CHECK(t.send(kRequest).kind == Kind::Success);
  }
}

TEST_CASE("shutdown() refuses later sends without touching the network", "[otlp][grpc]") {
  Collector c;
  OtlpGrpcTransport t(fast_options(c.http()));
  t.shutdown();
  const auto out = t.send(kRequest);
  CHECK(out.kind == Kind::Cancelled);
  CHECK(out.attempts == 0);
  CHECK(out.grpc_code == -1);
  CHECK(c.calls() == 0);
}

TEST_CASE("requests over 64 MiB are refused, not sent", "[otlp][grpc]") {
  Collector c;
  OtlpGrpcTransport t(fast_options(c.http()));
  const std::string big(d::otlp::kMaxRequestBytes + 1, '\0');
  StderrCapture quiet;
  const auto out = t.send(big);
  CHECK(out.kind == Kind::Failed);
  CHECK(out.attempts == 0);
  CHECK(out.grpc_code == -1);
  CHECK(out.error.find("64 MiB") != std::string::npos);
  CHECK(c.calls() == 0);
}

TEST_CASE("a bad endpoint or timeout in code falls back with a warning", "[otlp][grpc]") {
  OtlpGrpcOptions o;
  o.endpoint = "ftp://nowhere";
  o.timeout = 0ms;
  StderrCapture cap;
  OtlpGrpcTransport t(o);
  CHECK(t.target().target == "localhost:4317");
  CHECK_FALSE(t.target().tls);
  CHECK(cap.text() ==
        "krishiv-trace: OtlpGrpcOptions::timeout=\"0ms\" is not positive; using 10000ms\n"
        "krishiv-trace: OtlpGrpcOptions::endpoint=\"ftp://nowhere\" has a scheme that is neither "
        "http, https nor a gRPC target scheme; using http://localhost:4317\n");
}

TEST_CASE("extreme retry settings are clamped, not overflowed", "[otlp][grpc]") {
  Collector c({error_reply(grpc::StatusCode::UNAVAILABLE)});
  auto o = fast_options(c.http());
  o.timeout = std::chrono::hours{1'000'000};
  o.retry.initial_backoff = 1ms;
  o.retry.max_backoff = std::chrono::hours{1'000'000};
  o.retry.multiplier = 1e300;
  o.retry.max_attempts = 0;  // read as 1: no retry
  OtlpGrpcTransport t(o);
  StderrCapture quiet;
  auto out = t.send(kRequest);
  CHECK(out.kind == Kind::Failed);
  CHECK(out.attempts == 1);

  o.retry.max_attempts = 3;
  Collector c2({error_reply(grpc::StatusCode::UNAVAILABLE)});
  o.endpoint = c2.http();
  OtlpGrpcTransport t3(o);
  out = t3.send(kRequest);
  CHECK(out.kind == Kind::Success);
  CHECK(out.attempts == 2);
}

// ---- TLS ----

namespace {

struct Pki {
  std::string dir;
  std::string ca, server_key, server_cert, client_key, client_cert;
  Pki() = default;
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;
  ~Pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::string slurp(const std::string& path) {
  auto s = d::read_whole_file(path);
  return s ? *s : std::string();
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI
// once per test run in a temporary directory.
const Pki* pki() {
  static const std::unique_ptr<Pki> made = []() -> std::unique_ptr<Pki> {
    const std::string openssl = KRISHIV_TEST_OPENSSL;
    if (openssl.empty()) return nullptr;
    char tmpl[] = "/tmp/krishiv_otlp_tls_XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return nullptr;
    auto p = std::make_unique<Pki>();
    p->dir = tmpl;
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string cmd =
        "cd '" + p->dir + "' && " + openssl + " req -x509" + ec +
        " -keyout ca.key -out ca.pem -days 2 -subj /CN=krishiv-test-ca"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
        " && " +
        openssl + " req" + ec +
        " -keyout server.key -out server.csr -subj /CN=localhost"
        " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n'"
        " > server.ext && " +
        openssl +
        " x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
        " -extfile server.ext -out server.pem && " +
        openssl + " req" + ec +
        " -keyout client.key -out client.csr -subj /CN=krishiv-test-client"
        " && printf 'extendedKeyUsage=clientAuth\\n' > client.ext && " +
        openssl +
        " x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
        " -extfile client.ext -out client.pem > /dev/null 2>&1";
    if (std::system(("(" + cmd + ") > /dev/null 2>&1").c_str()) != 0) return nullptr;
    p->ca = p->dir + "/ca.pem";
    p->server_key = p->dir + "/server.key";
    p->server_cert = p->dir + "/server.pem";
    p->client_key = p->dir + "/client.key";
    p->client_cert = p->dir + "/client.pem";
    return p;
  }();
  return made.get();
}

std::shared_ptr<grpc::ServerCredentials> server_tls(const Pki& p, bool require_client_cert) {
  grpc::SslServerCredentialsOptions opts(
      require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  opts.pem_root_certs = slurp(p.ca);
  opts.pem_key_cert_pairs.push_back({slurp(p.server_key), slurp(p.server_cert)});
  return grpc::SslServerCredentials(opts);
}

}  // namespace

TEST_CASE("TLS with a CA file", "[otlp][grpc][tls]") {
  const Pki* p = pki();
  if (p == nullptr) {
    WARN("openssl CLI unavailable or failed: TLS not tested");
    return;
  }
  Collector c({}, ok_reply(), server_tls(*p, false));
  SECTION("trusted CA: success") {
    auto o = fast_options(c.https());
    o.ca_pem_file = p->ca;
    OtlpGrpcTransport t(o);
    CHECK(t.target().tls);
    const auto out = t.send(kRequest);
    CHECK(out.kind == Kind::Success);
    REQUIRE(c.calls() == 1);
    CHECK(c.received()[0].bytes == kRequest);
  }
  SECTION("PEM contents instead of a file") {
    auto o = fast_options(c.https());
    o.ca_pem = slurp(p->ca);
    OtlpGrpcTransport t(o);
    CHECK(t.send(kRequest).kind == Kind::Success);
  }
  SECTION("bare host:port is TLS unless insecure") {
    auto o = fast_options("127.0.0.1:" + std::to_string(c.port()));
    o.ca_pem_file = p->ca;
    OtlpGrpcTransport t(o);
    CHECK(t.send(kRequest).kind == Kind::Success);
  }
  SECTION("untrusted server: handshake failure, no request delivered") {
    auto o = fast_options(c.https());
    o.timeout = 2s;
    o.retry.max_attempts = 2;
    OtlpGrpcTransport t(o);  // system roots do not know the test CA
    StderrCapture quiet;
    const auto out = t.send(kRequest);
    CHECK(out.kind == Kind::Failed);
    CHECK(out.grpc_code == static_cast<int>(grpc::StatusCode::UNAVAILABLE));
    CHECK(c.calls() == 0);
  }
  SECTION("plaintext to a TLS server fails") {
    auto o = fast_options(c.http());
    o.timeout = 2s;
    o.retry.max_attempts = 2;
    OtlpGrpcTransport t(o);
    StderrCapture quiet;
    CHECK(t.send(kRequest).kind == Kind::Failed);
    CHECK(c.calls() == 0);
  }
}

TEST_CASE("mTLS", "[otlp][grpc][tls]") {
  const Pki* p = pki();
  if (p == nullptr) {
    WARN("openssl CLI unavailable or failed: mTLS not tested");
    return;
  }
  Collector c({}, ok_reply(), server_tls(*p, true));
  SECTION("client certificate presented: success") {
    auto o = fast_options(c.https());
    o.ca_pem_file = p->ca;
    o.client_key_file = p->client_key;
    o.client_cert_file = p->client_cert;
    OtlpGrpcTransport t(o);
    CHECK(t.send(kRequest).kind == Kind::Success);
    CHECK(c.calls() == 1);
  }
  SECTION("no client certificate: refused") {
    auto o = fast_options(c.https());
    o.timeout = 2s;
    o.retry.max_attempts = 2;
    o.ca_pem_file = p->ca;
    OtlpGrpcTransport t(o);
    StderrCapture quiet;
    CHECK(t.send(kRequest).kind == Kind::Failed);
    CHECK(c.calls() == 0);
  }
  SECTION("unreadable client key file: warned, then refused by the server") {
    auto o = fast_options(c.https());
    o.timeout = 2s;
    o.retry.max_attempts = 2;
    o.ca_pem_file = p->ca;
    o.client_key_file = p->dir + "/missing.key";
    o.client_cert_file = p->client_cert;
    StderrCapture cap;
    OtlpGrpcTransport t(o);
    CHECK(t.send(kRequest).kind == Kind::Failed);
    CHECK(cap.text().find("krishiv-trace: OtlpGrpcOptions::client_key_file=\"" + p->dir +
                          "/missing.key\" names a file that cannot be read; using no client "
                          "certificate\n") != std::string::npos);
  }
}
