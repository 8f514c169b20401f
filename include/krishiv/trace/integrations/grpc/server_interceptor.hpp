#pragma once
// The server side of gRPC tracing: a SERVER span per call, child of the context the caller sent,
// current while a synchronous handler runs, and reachable from the call for every other kind of
// handler (server_call_context()).
//
//   grpc::ServerBuilder builder;
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(std::make_unique<krishiv::trace::ServerTracingInterceptorFactory>());
//   builder.experimental().SetInterceptorCreators(std::move(f));
//
// Incoming context (propagation/carrier.hpp): traceparent absent, repeated or invalid starts a
// new trace; several tracestate values are joined in order; an invalid tracestate is dropped.
// The span follows https://opentelemetry.io/docs/specs/semconv/rpc/grpc/: named
// "package.Service/Method", kind SERVER, rpc.system.name, rpc.method, rpc.response.status_code;
// only UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS make it an
// error (the others say the request was refused, not that the server failed).
//
// Which handlers see the span as current:
// - synchronous handlers (grpc::Service), for their whole body: gRPC runs them inside the
//   interceptors' handling of the call's first batch, on the same thread, so a ContextScope
//   around that step covers exactly the handler;
// - callback handlers, for the synchronous part of the method that creates the reactor;
// - anything later (reactor callbacks, async-API handlers, coroutines resumed elsewhere) calls
//   server_call_context(ctx) and makes it current itself:
//       krishiv::trace::ContextScope scope(krishiv::trace::server_call_context(*ctx));
//   A coroutine started inside that scope captures it (coro.hpp).
// The context is kept with the call (a registry keyed by its ServerContextBase, entered when the
// call's metadata arrives and left when the call is destroyed), never in a thread-local across
// hooks: gRPC may run a call's hooks on different threads.

#include <grpcpp/server_context.h>
#include <grpcpp/support/interceptor.h>
#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/string_ref.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "krishiv/trace/context.hpp"
#include "krishiv/trace/detail/tsan.hpp"
#include "krishiv/trace/integrations/grpc/client_interceptor.hpp"
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

// The contexts of the calls in flight, by their ServerContextBase. Sharded: calls on different
// threads rarely share a lock.
class ServerCallContexts {
 public:
  // Never destroyed: gRPC's threads may still end calls while static objects are destroyed at
  // exit (a server not shut down before main returns).
  static ServerCallContexts& get() {
    static ServerCallContexts* const instance = new ServerCallContexts;
    return *instance;
  }

  void put(const grpc::ServerContextBase* call, const Context& ctx) {
    Shard& s = shard(call);
    std::lock_guard lock(s.mu);
    s.calls.insert_or_assign(call, ctx);
  }
  void remove(const grpc::ServerContextBase* call) {
    Shard& s = shard(call);
    std::lock_guard lock(s.mu);
    s.calls.erase(call);
  }
  Context find(const grpc::ServerContextBase* call) {
    Shard& s = shard(call);
    std::lock_guard lock(s.mu);
    auto it = s.calls.find(call);
    return it != s.calls.end() ? it->second : Context();
  }

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<const grpc::ServerContextBase*, Context> calls;
  };
  static constexpr std::size_t kShards = 16;
  Shard& shard(const grpc::ServerContextBase* call) {
    // Contexts are at least 8-byte aligned and hundreds of bytes apart: drop the low bits.
    const auto bits = reinterpret_cast<std::uintptr_t>(call) >> 6;
    return shards_[bits % kShards];
  }
  std::array<Shard, kShards> shards_;
};

// What runs before the reply leaves is what the handler needs (the caller's context extracted, the
// span started and findable by its call); the span's other attributes, its status and the
// duration record wait until the call closes, after the reply has left.
class ServerTracingInterceptor final : public grpc::experimental::Interceptor {
 public:
  ServerTracingInterceptor(grpc::experimental::ServerRpcInfo* info,
                           const std::optional<GrpcServerAddress>& server,
                           const std::shared_ptr<GrpcSideSeries>& durations)
      : info_(info), server_(server) {
    if (durations != nullptr) timer_.emplace(durations, info->method());
    tsan_release(this);
  }

  // The hooks of one call run one after another, possibly on different gRPC threads, ordered by
  // libgrpc's own synchronization: stated for ThreadSanitizer (detail/tsan.hpp).
  ~ServerTracingInterceptor() override {
    tsan_acquire(this);
    if (registered_) ServerCallContexts::get().remove(info_->server_context());
    finish();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    using grpc::experimental::InterceptionHookPoints;
    tsan_acquire(this);
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      const Context ctx = start(m->GetRecvInitialMetadata());
      tsan_release(this);
      // A synchronous handler (and a callback method's reactor creation) runs inside this
      // Proceed(), on this thread: the scope covers exactly it.
      ContextScope scope(ctx);
      m->Proceed();
      return;
    }
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const int code = static_cast<int>(m->GetSendStatus().error_code());
      if (timer_) timer_->stop(code);
      // A handler that answers after the deadline answers nobody: gRPC has cancelled the call
      // and the client got DEADLINE_EXCEEDED.
      code_ = code == 0 && deadline_passed() ? 4 : code;
    }
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_CLOSE)) finish();
    tsan_release(this);
    m->Proceed();
  }

 private:
  Context start(std::multimap<grpc::string_ref, grpc::string_ref>* metadata) {
    SpanContext remote;
    if (metadata != nullptr) remote = extract_trace_context(*metadata);
    const std::string_view name = grpc_method_name(info_->method());
    if (remote.is_valid()) {
      start_span_in_place(span_, Level::Info, name, SpanKind::Server, remote);
    } else {
      start_span_in_place(span_, Level::Info, name, SpanKind::Server, root);
    }
    // Now: gRPC's copy of the method name may be gone when the destructor finishes the span.
    if (span_.is_recording()) span_.set_attribute("rpc.method", name);
    Context ctx(span_.context());
    ServerCallContexts::get().put(info_->server_context(), ctx);
    registered_ = true;
    return ctx;
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    // No status sent: the call was cancelled, by its deadline or by the client.
    const int code = code_ ? *code_ : (deadline_passed() ? 4 : 1);
    if (span_.is_recording()) {
      span_.set_attribute("rpc.system.name", std::string_view("grpc"));
      set_server_address(span_, server_);
      const std::string_view name = grpc_status_code_name(code);
      span_.set_attribute("rpc.response.status_code", name);
      if (grpc_server_status_is_error(code)) {
        span_.set_attribute("error.type", name);
        span_.set_status(StatusCode::Error);
      }
    }
    span_.end();
    if (timer_) {
      timer_->stop(code);  // a no-op when the status was sent
      timer_->commit();
    }
  }

  bool deadline_passed() const {
    const auto deadline = info_->server_context()->deadline();
    return deadline != std::chrono::system_clock::time_point::max() &&
           std::chrono::system_clock::now() >= deadline;
  }

  grpc::experimental::ServerRpcInfo* info_;
  const std::optional<GrpcServerAddress>& server_;  // the factory's, which outlives the server
  detail::span_t span_;
  std::optional<int> code_;
  bool registered_ = false;
  bool finished_ = false;
  std::optional<GrpcCallTimer> timer_;  // with a GrpcDurationLayer: this call's timing
};

}  // namespace detail

// Creates the tracing interceptor of each call a server receives. `listen_address`, the address
// the server listens on ("127.0.0.1:50051", "unix:/tmp/s"), gives server.address and
// server.port; empty, they are left out (the server does not know which name clients used).
// Given a GrpcDurationLayer (which must outlive the server), the same interceptor also times each
// call into its histogram, as the layer's own server factory would (one interceptor, not two).
class ServerTracingInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ServerTracingInterceptorFactory() = default;
  explicit ServerTracingInterceptorFactory(std::string_view listen_address)
      : server_(parse_grpc_target(listen_address)) {}
  ServerTracingInterceptorFactory(std::string_view listen_address,
                                  const GrpcDurationLayer& durations)
      : server_(parse_grpc_target(listen_address)), durations_(durations.server_series()) {}
  // The server destroys its factories after its last call: an ordering libgrpc provides with
  // synchronization TSan cannot see when libgrpc is not built with it (detail/tsan.hpp).
  ~ServerTracingInterceptorFactory() override { detail::tsan_acquire(this); }

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    auto* interceptor = new detail::ServerTracingInterceptor(info, server_, durations_);
    detail::tsan_release(this);  // after the last use of the factory's members
    return interceptor;
  }

 private:
  std::optional<GrpcServerAddress> server_;
  std::shared_ptr<detail::GrpcSideSeries> durations_;
};

// The context of a call a server with ServerTracingInterceptorFactory is handling: its SERVER
// span, or an empty context once the call is over or for a server without the interceptor.
// Make it current with ContextScope (or pass it as a span's parent) in callback and async
// handlers and in coroutines, which do not run where the interceptor made it current.
inline Context server_call_context(const grpc::ServerContextBase& call) {
  return detail::ServerCallContexts::get().find(&call);
}

}  // namespace krishiv::trace
