#pragma once
// Trace propagation and call metrics over the demo's gRPC calls: the one place of the demo that
// knows how a trace crosses a process boundary. It is the library's gRPC integration, nothing
// more: GrpcDurationService puts the tracing interceptors (a CLIENT span per call with its context
// injected; on the server the incoming context extracted and a SERVER span continuing it) and the
// call-duration histogram on every channel and server of the process.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_callback.h>

#include <chrono>
#include <condition_variable>
#include <krishiv/trace.hpp>
#include <krishiv/trace/integrations/grpc.hpp>
#include <krishiv/trace/metrics/registry.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "wire.hpp"

namespace demo {

namespace kt = krishiv::trace;

// The process's call-duration histogram (served at /metrics by executors) and the interceptors.
inline kt::metrics::Registry& metrics_registry() {
  static kt::metrics::Registry registry;
  return registry;
}
inline const kt::GrpcDurationService& grpc_service() {
  static const kt::GrpcDurationService service(metrics_registry());
  return service;
}

inline std::shared_ptr<grpc::Channel> make_channel(const std::string& target) {
  return grpc_service().create_channel(target, grpc::InsecureChannelCredentials());
}

inline void add_server_tracing(grpc::ServerBuilder& builder) {
  grpc_service().add_to(builder);
}

// A blocking unary call on the generic API; the channel's interceptor makes its CLIENT span.
inline grpc::Status client_call(grpc::GenericStub& stub, const std::string& method,
                                const std::string& request, std::string& reply,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  const grpc::ByteBuffer req = to_buffer(request);
  grpc::ByteBuffer resp;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
    std::lock_guard lock(mu);
    status = std::move(s);
    done = true;
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  if (status.ok()) reply = from_buffer(resp);
  return status;
}

// Runs fn() (returning a grpc::Status) with the call's SERVER span current. The handlers run on
// a thread of the demo's, not the gRPC thread the interceptor ran on: the call's context comes
// from its ServerContext.
template <typename F>
grpc::Status serve_traced(const grpc::GenericCallbackServerContext& ctx, F&& fn) {
  kt::ContextScope scope(kt::server_call_context(ctx));
  return fn();
}

}  // namespace demo
