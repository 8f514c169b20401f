// The relay example as a black box: caller -> relay -> downstream, one trace across all three.
// The relay exports to an in-test OTLP collector; the caller and downstream are in this process
// with the in-memory exporter.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../otlp_export/collector.hpp"
#include "echo_service.hpp"
#include "krishiv/trace.hpp"
#include "krishiv/trace/exporters/in_memory.hpp"
#include "krishiv/trace/integrations/grpc.hpp"
#include "spawn.hpp"

namespace kt = krishiv::trace;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

template <class Id>
std::string bytes_of(const Id& id) {
  return std::string(reinterpret_cast<const char*>(id.bytes().data()), Id::kSize);
}

// The relay binary, running until stop(); its first stdout line read as it arrives.
class RelayProcess {
 public:
  RelayProcess(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    const char* bin = std::getenv("KT_RELAY_BINARY");
    REQUIRE(bin != nullptr);
    int out[2];
    REQUIRE(::pipe(out) == 0);
    auto argv = kt::test::spawn_argv(bin, args);
    auto envp = kt::test::spawn_env(env);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    const int rc = ::posix_spawn(&pid_, bin, &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    out_ = out[0];
    REQUIRE(rc == 0);
  }
  ~RelayProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }

  // The first stdout line, or "" if none came within the guard.
  std::string first_line() {
    std::string line;
    const auto guard = Clock::now() + 60s;
    while (Clock::now() < guard) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c;
      if (::read(out_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    return line;
  }

  // SIGTERM, then the exit status (128 + signal when killed by one; -1 past the guard).
  int stop() {
    ::kill(pid_, SIGTERM);
    const auto guard = Clock::now() + 60s;
    int status = 0;
    while (Clock::now() < guard) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

}  // namespace

TEST_CASE("relay: one trace from caller through relay to downstream; replies and statuses pass",
          "[relay]") {
  auto sink = std::make_shared<kt::InMemoryExporter>();
  kt::TracerProvider provider({.exporter = kt::TracerExporter::InMemory(sink)});

  // Downstream: answers Say with "down:" + request, Fail with PERMISSION_DENIED.
  kt::test::ByteService service;
  service.add_sync("/test.Echo/Say",
                   [](grpc::ServerContext*, const std::string& req, std::string& resp) {
                     resp = "down:" + req;
                     return grpc::Status::OK;
                   });
  service.add_sync("/test.Echo/Fail", [](grpc::ServerContext*, const std::string&, std::string&) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not you");
  });
  grpc::ServerBuilder b;
  int down_port = 0;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &down_port);
  b.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> sf;
  sf.push_back(std::make_unique<kt::ServerTracingInterceptorFactory>());
  b.experimental().SetInterceptorCreators(std::move(sf));
  auto down = b.BuildAndStart();
  REQUIRE(down);

  kt::test::Collector collector;
  RelayProcess relay(
      {"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:" + std::to_string(down_port)},
      {"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.http(), "OTEL_SERVICE_NAME=relay"});
  const std::string line = relay.first_line();
  REQUIRE(line.rfind("listening ", 0) == 0);
  const std::string relay_target = "127.0.0.1:" + line.substr(10);
  REQUIRE(std::stoi(line.substr(10)) > 0);

  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> cf;
  cf.push_back(std::make_unique<kt::ClientTracingInterceptorFactory>(relay_target));
  auto channel = grpc::experimental::CreateCustomChannelWithInterceptors(
      relay_target, grpc::InsecureChannelCredentials(), grpc::ChannelArguments(), std::move(cf));

  kt::SpanContext op_ctx;
  {
    auto op = kt::info_span("op").entered();
    op_ctx = op.context();
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + 30s);
    std::string reply;
    const auto s = kt::test::call(*channel, "/test.Echo/Say", cc, "hello", &reply);
    REQUIRE(s.ok());
    CHECK(reply == "down:hello");

    grpc::ClientContext cc2;
    cc2.set_deadline(std::chrono::system_clock::now() + 30s);
    const auto f = kt::test::call(*channel, "/test.Echo/Fail", cc2, "x");
    CHECK(f.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(f.error_message() == "not you");
  }
  CHECK(relay.stop() == 0);

  // In this process: op, CLIENT Say, CLIENT Fail, downstream SERVER Say and Fail.
  const auto guard = Clock::now() + 30s;
  while (Clock::now() < guard && sink->size() < 5) {
    provider.force_flush();
    std::this_thread::sleep_for(10ms);
  }
  const auto local = sink->spans();
  auto local_span = [&](std::string_view name, kt::SpanKind kind) -> const kt::SpanData& {
    for (const auto& s : local) {
      if (s.name == name && s.kind == kind) return s;
    }
    FAIL("no local span " << name);
    throw;
  };
  const auto& caller = local_span("test.Echo/Say", kt::SpanKind::Client);
  const auto& downstream = local_span("test.Echo/Say", kt::SpanKind::Server);

  // The relay's spans, as it exported them on SIGTERM.
  REQUIRE(collector.wait_for([&] { return collector.spans().size() >= 4; }));
  const auto remote = collector.spans();
  auto relay_span = [&](std::string_view name, int kind) -> const kt::test::DecodedSpan& {
    for (const auto& s : remote) {
      if (s.name == name && s.kind == kind) return s;
    }
    FAIL("no relay span " << name);
    throw;
  };
  const auto& relay_server = relay_span("test.Echo/Say", 2);
  const auto& relay_client = relay_span("test.Echo/Say", 3);

  CHECK(caller.trace_id == op_ctx.trace_id);
  CHECK(relay_server.trace_id == bytes_of(op_ctx.trace_id));
  CHECK(relay_server.parent_span_id == bytes_of(caller.span_id));
  CHECK(relay_client.trace_id == bytes_of(op_ctx.trace_id));
  CHECK(relay_client.parent_span_id == relay_server.span_id);
  CHECK(downstream.trace_id == op_ctx.trace_id);
  CHECK(bytes_of(downstream.parent_span_id) == relay_client.span_id);

  const auto& relay_fail = relay_span("test.Echo/Fail", 3);
  CHECK(relay_fail.status_code == 2);  // Error: every non-OK code on the client side
  const auto& relay_fail_server = relay_span("test.Echo/Fail", 2);
  CHECK(relay_fail_server.status_code == 0);  // PERMISSION_DENIED is not a server failure
  down->Shutdown(std::chrono::system_clock::now() + 5s);
}
