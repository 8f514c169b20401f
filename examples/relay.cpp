// relay: a gRPC server that forwards every unary call, on any method, to a downstream server,
// tracing both hops: a SERVER span child of the caller's context, and under it a CLIENT span
// whose context goes downstream. One trace crosses caller, relay and downstream.
//
//   relay --listen 127.0.0.1:PORT --forward HOST:PORT2 [--metrics 127.0.0.1:PORT3]
//
// The method and request bytes go downstream unchanged, with the caller's deadline; the
// downstream reply and status come back unchanged. With PORT 0 a free port is chosen. The first
// line on stdout is `listening PORT` (the port bound), flushed as soon as the server is up.
// Spans are exported as the OTEL_* environment says (OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT
// by default). SIGTERM or SIGINT: stop accepting calls, flush the spans, exit 0. Exit status 2
// for bad arguments, 1 when the port cannot be bound. --metrics serves the call-duration
// histogram (both hops) at http://HOST:PORT3/metrics; the second stdout line is then
// `metrics PORT3`.
// Test suites run this program as a black box: keep the command line and output stable.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_callback.h>

#include <krishiv/trace.hpp>
#include <krishiv/trace/exporters/otlp_grpc.hpp>
#include <krishiv/trace/integrations/grpc.hpp>
#include <krishiv/trace/metrics/registry.hpp>

#include "support/metrics_endpoint.hpp"

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kt = krishiv::trace;

namespace {

int usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "relay: %s\n", why);
  std::fprintf(stderr,
               "usage: relay --listen HOST:PORT --forward HOST:PORT [--metrics HOST:PORT]\n"
               "  Forwards every unary gRPC call to --forward, tracing both hops; prints\n"
               "  `listening PORT` once serving. SIGTERM/SIGINT: flush spans, exit 0.\n");
  return 2;
}

// One forwarded call: read the request, call downstream with the SERVER span as the current
// context (so the client interceptor's CLIENT span is its child), answer with what came back.
class ForwardedCall final : public grpc::ServerGenericBidiReactor {
 public:
  ForwardedCall(grpc::GenericStub* downstream, grpc::GenericCallbackServerContext* ctx)
      : downstream_(downstream), ctx_(ctx) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the caller half-closed without a request, or went away
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "relay: no request message"));
      return;
    }
    // A reactor callback runs on a gRPC thread where the interceptor's scope is not current.
    const kt::ContextScope scope(kt::server_call_context(*ctx_));
    client_.set_deadline(ctx_->deadline());
    downstream_->UnaryCall(&client_, ctx_->method(), grpc::StubOptions(), &request_, &response_,
                           [this](grpc::Status s) {
                             if (s.ok()) {
                               StartWriteAndFinish(&response_, grpc::WriteOptions(), s);
                             } else {
                               Finish(s);
                             }
                           });
  }
  void OnCancel() override { client_.TryCancel(); }
  void OnDone() override { delete this; }
  void OnWriteDone(bool) override {}

 private:
  grpc::GenericStub* downstream_;
  grpc::GenericCallbackServerContext* ctx_;
  grpc::ClientContext client_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class RelayService final : public grpc::CallbackGenericService {
 public:
  explicit RelayService(std::shared_ptr<grpc::Channel> downstream) : stub_(std::move(downstream)) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new ForwardedCall(&stub_, ctx);
  }

 private:
  grpc::GenericStub stub_;
};

// The port of HOST:PORT (0 when absent or malformed).
int port_of(std::string_view address) {
  const auto a = kt::parse_grpc_target(address);
  return a && a->port ? static_cast<int>(*a->port) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen, forward, metrics;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return usage("a flag is missing its value");
    if (arg == "--listen") {
      listen = argv[++i];
    } else if (arg == "--forward") {
      forward = argv[++i];
    } else if (arg == "--metrics") {
      metrics = argv[++i];
    } else {
      return usage("unknown argument");
    }
  }
  if (listen.empty() || forward.empty()) return usage("--listen and --forward are required");

  // Signals are taken by sigwait() below: blocked before any thread starts, so every gRPC and
  // exporter thread inherits the mask and none of them is interrupted.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  kt::TracerProvider provider;  // exporter, sampler and resource from OTEL_*

  // Both hops traced and timed into krishiv_grpc_call_duration_seconds (side="server" for the
  // incoming call, side="client" for the forwarded one).
  kt::metrics::Registry registry;
  const kt::GrpcDurationService calls(registry);
  auto downstream = calls.create_channel(forward, grpc::InsecureChannelCredentials());

  RelayService service(downstream);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  // With port 0 the address clients use is not known here: server.address/port are left out.
  calls.add_to(builder, port_of(listen) != 0 ? std::string_view(listen) : std::string_view());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "relay: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("listening %d\n", port);
  std::unique_ptr<kt::examples::MetricsEndpoint> endpoint;
  if (!metrics.empty()) {
    std::string host;
    std::uint16_t metrics_port = 0;
    if (!kt::examples::split_host_port(metrics, host, metrics_port)) {
      return usage("--metrics wants HOST:PORT");
    }
    endpoint = std::make_unique<kt::examples::MetricsEndpoint>(registry, host, metrics_port);
    if (endpoint->port() == 0) return 1;
    std::printf("metrics %u\n", endpoint->port());
  }
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  // Calls in flight get a moment to finish; then the spans of every call are flushed.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server.reset();
  provider.shutdown(std::chrono::seconds(10));
  return 0;
}
