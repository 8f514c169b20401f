#pragma once
// The client side of gRPC tracing: a CLIENT span per call, child of the span current where the
// call is made, whose context travels in the call's metadata.
//
//   std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> f;
//   f.push_back(std::make_unique<krishiv::trace::ClientTracingInterceptorFactory>(target));
//   auto channel = grpc::experimental::CreateCustomChannelWithInterceptors(
//       target, grpc::InsecureChannelCredentials(), grpc::ChannelArguments(), std::move(f));
//
// The span follows the OpenTelemetry RPC conventions
// (https://opentelemetry.io/docs/specs/semconv/rpc/grpc/): named "package.Service/Method",
// kind CLIENT, rpc.system.name, rpc.method, rpc.response.status_code, server.address,
// server.port, and error.type with an Error status for every code but OK.
//
// Threading: gRPC creates the interceptor on the thread that starts the call (so the parent is
// that thread's current span); its hooks may then run on gRPC's threads, one at a time per call.

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/interceptor.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "krishiv/trace/detail/tsan.hpp"
#include "krishiv/trace/integrations/grpc/duration.hpp"
#include "krishiv/trace/integrations/grpc/status_code.hpp"
#include "krishiv/trace/integrations/grpc/target.hpp"
#include "krishiv/trace/level.hpp"
#include "krishiv/trace/propagation/carrier.hpp"
#include "krishiv/trace/span.hpp"
#include "krishiv/trace/span_kind.hpp"
#include "krishiv/trace/status.hpp"

namespace krishiv::trace {

namespace detail {

// "/package.Service/Method" -> "package.Service/Method": the span name and rpc.method.
inline std::string_view grpc_method_name(const char* method) noexcept {
  std::string_view m = method != nullptr ? method : "";
  if (!m.empty() && m.front() == '/') m.remove_prefix(1);
  return m;
}

template <class S>
void set_server_address(S& span, const std::optional<GrpcServerAddress>& a) {
  if (!a) return;
  span.set_attribute("server.address", std::string_view(a->address));
  if (a->port) span.set_attribute("server.port", *a->port);
}

class ClientTracingInterceptor final : public grpc::experimental::Interceptor {
 public:
  ClientTracingInterceptor(grpc::experimental::ClientRpcInfo* info,
                           const std::optional<GrpcServerAddress>& server,
                           const std::shared_ptr<GrpcSideSeries>& durations)
      : info_(info), server_known_(server.has_value()) {
    if (durations != nullptr) timer_.emplace(durations, info->method());
    const std::string_view name = grpc_method_name(info->method());
    start_span_in_place(span_, Level::Info, name, SpanKind::Client);
    if (span_.is_recording()) {
      span_.set_attribute("rpc.system.name", std::string_view("grpc"));
      span_.set_attribute("rpc.method", name);
      set_server_address(span_, server);
    }
    tsan_release(this);
  }

  // The hooks of one call run one after another, possibly on different gRPC threads, ordered by
  // libgrpc's own synchronization: stated for ThreadSanitizer (detail/tsan.hpp).
  ~ClientTracingInterceptor() override { tsan_acquire(this); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    using grpc::experimental::InterceptionHookPoints;
    tsan_acquire(this);
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      // Replaces what the caller may have put there by hand: the CLIENT span is the parent the
      // server must see.
      std::multimap<std::string, std::string>* md = m->GetSendInitialMetadata();
      if (md != nullptr) {
        MultimapCarrier<std::multimap<std::string, std::string>> c(*md);
        inject_trace_context(c, span_.context());
      }
    }
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
      if (timer_) time_client_call(*timer_, m);
      if (const grpc::Status* s = m->GetRecvStatus()) finish(static_cast<int>(s->error_code()));
    }
    tsan_release(this);
    m->Proceed();
  }

 private:
  void finish(int code) {
    if (span_.is_recording()) {
      if (!server_known_) {
        // No target given to the factory: the peer the call went to (known once it ended).
        set_server_address(span_, parse_grpc_target(info_->client_context()->peer()));
      }
      const std::string_view name = grpc_status_code_name(code);
      span_.set_attribute("rpc.response.status_code", name);
      if (grpc_client_status_is_error(code)) {
        span_.set_attribute("error.type", name);
        span_.set_status(StatusCode::Error);
      }
    }
    span_.end();
  }

  grpc::experimental::ClientRpcInfo* info_;
  bool server_known_;
  detail::span_t span_;
  std::optional<GrpcCallTimer> timer_;  // with a GrpcDurationLayer: this call's timing
};

}  // namespace detail

// Creates the tracing interceptor of each call on a channel. `target` is the channel's target
// (the string given to CreateChannel), for server.address and server.port; empty, they come from
// the peer the call reached. Given a GrpcDurationLayer (which must outlive the channel), the same
// interceptor also times each call into its histogram, as the layer's own client factory would:
// one interceptor instead of two, each of which costs gRPC a pass per step of every call.
class ClientTracingInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  ClientTracingInterceptorFactory() = default;
  explicit ClientTracingInterceptorFactory(std::string_view target)
      : server_(parse_grpc_target(target)) {}
  ClientTracingInterceptorFactory(std::string_view target, const GrpcDurationLayer& durations)
      : server_(parse_grpc_target(target)), durations_(durations.client_series()) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new detail::ClientTracingInterceptor(info, server_, durations_);
  }

 private:
  std::optional<GrpcServerAddress> server_;
  std::shared_ptr<detail::GrpcSideSeries> durations_;
};

}  // namespace krishiv::trace
