// grpc_echo: a gRPC echo server on any method (generic service), timed by GrpcDurationService,
// with its histogram served at /metrics; and a client mode that calls it. A black-box service
// for the Prometheus test: keep the command lines and output stable.
//
//   grpc_echo --listen 127.0.0.1:PORT [--metrics 127.0.0.1:PORT2]
//       Prints "listening PORT" (the bound port, for port 0), then "metrics PORT2" when asked.
//       Answers every unary call with its request bytes; a method ending in "/Fail" answers
//       INVALID_ARGUMENT; a request "delay:N" is answered after N ms. Exits 0 on SIGTERM/SIGINT.
//   grpc_echo --call TARGET --method /pkg.Svc/M --count N [--delay-ms N]
//       Makes N calls one after the other (each asking for the delay), prints
//       "calls N" and one "code NAME COUNT" line per status code, exits 0 (1 on bad usage).

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "krishiv/trace/detail/tsan.hpp"
#include "krishiv/trace/integrations/grpc/service.hpp"
#include "krishiv/trace/integrations/grpc/status_code.hpp"
#include "krishiv/trace/metrics/registry.hpp"
#include "support/metrics_endpoint.hpp"

namespace {

namespace kt = krishiv::trace;

class Echo final : public grpc::CallbackGenericService {
  class Call final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Call(grpc::GenericCallbackServerContext* ctx) : ctx_(ctx) { StartRead(&buf_); }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
        return;
      }
      if (ctx_->method().ends_with("/Fail")) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "asked to fail"));
        return;
      }
      std::string request;
      std::vector<grpc::Slice> slices;
      if (buf_.Dump(&slices).ok()) {
        for (const auto& s : slices)
          request.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      if (request.starts_with("delay:")) {
        // An example: sleeping on gRPC's callback thread is acceptable at this scale.
        std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(request.c_str() + 6)));
      }
      StartWriteAndFinish(&buf_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::GenericCallbackServerContext* ctx_;
    grpc::ByteBuffer buf_;
  };

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new Call(ctx);
  }
};

int usage() {
  std::fprintf(stderr,
               "usage: grpc_echo --listen HOST:PORT [--metrics HOST:PORT]\n"
               "       grpc_echo --call TARGET --method /pkg.Svc/M --count N [--delay-ms N]\n");
  return 1;
}

int serve(const std::string& listen, const std::string& metrics_at) {
  // Signals are taken by sigwait below: blocked before any thread starts, so all inherit it.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  kt::metrics::Registry registry;
  Echo echo;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&echo);
  kt::GrpcDurationService(registry).add_to(builder);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "grpc_echo: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("listening %d\n", port);
  std::unique_ptr<kt::examples::MetricsEndpoint> endpoint;
  if (!metrics_at.empty()) {
    std::string host;
    std::uint16_t mport = 0;
    if (!kt::examples::split_host_port(metrics_at, host, mport)) return usage();
    endpoint = std::make_unique<kt::examples::MetricsEndpoint>(registry, host, mport);
    if (endpoint->port() == 0) return 1;
    std::printf("metrics %u\n", endpoint->port());
  }
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return 0;
}

int call(const std::string& target, const std::string& method, long count, long delay_ms) {
  kt::metrics::Registry registry;
  kt::GrpcDurationService metrics(registry);
  grpc::GenericStub stub(metrics.create_channel(target, grpc::InsecureChannelCredentials()));
  std::map<std::string, long> codes;
  for (long i = 0; i < count; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const std::string body = delay_ms > 0 ? "delay:" + std::to_string(delay_ms) : "ping";
    grpc::Slice slice(body);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer reply;
    std::promise<grpc::Status> done;
    // What precedes UnaryCall() happens before its callback, on a gRPC thread (detail/tsan.hpp).
    kt::detail::tsan_release(&done);
    stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &reply, [&](grpc::Status s) {
      kt::detail::tsan_acquire(&done);
      done.set_value(std::move(s));
    });
    ++codes[std::string(
        kt::grpc_status_code_name(static_cast<int>(done.get_future().get().error_code())))];
  }
  std::printf("calls %ld\n", count);
  for (const auto& [code, n] : codes) std::printf("code %s %ld\n", code.c_str(), n);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen, metrics_at, target, method;
  long count = 1, delay_ms = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (a == "--listen") {
      listen = v;
    } else if (a == "--metrics") {
      metrics_at = v;
    } else if (a == "--call") {
      target = v;
    } else if (a == "--method") {
      method = v;
    } else if (a == "--count") {
      count = std::strtol(v, nullptr, 10);
    } else if (a == "--delay-ms") {
      delay_ms = std::strtol(v, nullptr, 10);
    } else {
      return usage();
    }
  }
  if (!listen.empty() && target.empty()) return serve(listen, metrics_at);
  if (!target.empty() && listen.empty() && !method.empty() && count >= 0) {
    return call(target, method, count, delay_ms);
  }
  return usage();
}
