#pragma once
// Trace propagation over the demo's gRPC calls: the ONE place of the demo that knows how a trace
// crosses a process boundary.
//
// Today it does by hand, with the library's W3C functions (propagation/traceparent.hpp,
// propagation/current.hpp), what the gRPC integration's interceptors do: a CLIENT span per call,
// its context injected as `traceparent`/`tracestate` metadata; on the server, the incoming context
// extracted (an absent or invalid traceparent starts a new trace) and a SERVER span made current
// while the handler runs. Span names follow the interceptors' "package.Service/Method".
//
// SWITCHING TO THE INTERCEPTORS (include <krishiv/trace/integrations/grpc/...>): the four
// functions marked "INTERCEPTORS:" below change, nothing else in the demo does:
//   make_channel         create the channel with ClientTracingInterceptorFactory
//   add_server_tracing builder.experimental().SetInterceptorCreators({ServerTracingInterceptor..})
//   client_call          drop the span and the metadata lines: just the call
//   serve_traced         kt::ContextScope scope(kt::Context(...server_call_context(ctx)...)); fn()

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_callback.h>

#include <chrono>
#include <condition_variable>
#include <krishiv/trace.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "wire.hpp"

namespace demo {

namespace kt = krishiv::trace;

// "/krishiv.Executor/RunTask" -> "krishiv.Executor/RunTask": the RPC span name.
inline std::string_view rpc_span_name(std::string_view method) {
  return method.empty() || method.front() != '/' ? method : method.substr(1);
}

// INTERCEPTORS: grpc::experimental::CreateCustomChannelWithInterceptors(target,
//   grpc::InsecureChannelCredentials(), grpc::ChannelArguments(), {client factory}).
inline std::shared_ptr<grpc::Channel> make_channel(const std::string& target) {
  return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
}

// INTERCEPTORS: register the server tracing (and GrpcDurationService) interceptor factories.
inline void add_server_tracing(grpc::ServerBuilder& /*builder*/) {}

// A blocking unary call on the generic API, traced as a CLIENT span child of the current span.
// INTERCEPTORS: keep only the call (context, deadline, UnaryCall, wait).
inline grpc::Status client_call(grpc::GenericStub& stub, const std::string& method,
                                const std::string& peer, const std::string& request,
                                std::string& reply,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto span = kt::info_span(rpc_span_name(method), kt::SpanKind::Client).entered();
  span.set_attribute("rpc.system.name", "grpc");
  span.set_attribute("rpc.method", rpc_span_name(method));
  if (const auto colon = peer.rfind(':'); colon != std::string::npos) {
    span.set_attribute("server.address", peer.substr(0, colon));
    span.set_attribute("server.port", std::stoll(peer.substr(colon + 1)));
  }

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  // The CLIENT span is the parent the server sees.
  if (auto tp = kt::format_traceparent(span.context()); !tp.empty()) {
    ctx.AddMetadata("traceparent", tp);
    if (auto ts = span.context().trace_state.to_string(); !ts.empty()) {
      ctx.AddMetadata("tracestate", ts);
    }
  }

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
  if (status.ok()) {
    reply = from_buffer(resp);
    span.set_attribute("rpc.status_code", "OK");
  } else {
    span.set_attribute("rpc.status_code", static_cast<std::int64_t>(status.error_code()));
    span.set_attribute("error.type", std::to_string(status.error_code()));
    span.set_status(kt::StatusCode::Error, status.error_message());
  }
  return status;
}

// The remote parent carried by a call's metadata; empty when absent or invalid (a new trace).
inline kt::SpanContext incoming_context(const grpc::GenericCallbackServerContext& ctx) {
  std::string traceparent, tracestate;
  int traceparents = 0;
  for (const auto& [k, v] : ctx.client_metadata()) {
    const std::string_view key(k.data(), k.size());
    if (key == "traceparent") {
      traceparent.assign(v.data(), v.size());
      ++traceparents;
    } else if (key == "tracestate") {
      if (!tracestate.empty()) tracestate += ',';
      tracestate.append(v.data(), v.size());
    }
  }
  if (traceparents != 1) return {};
  auto parsed = kt::extract_span_context(traceparent, tracestate);
  return parsed ? *parsed : kt::SpanContext{};
}

// Runs fn() (returning a grpc::Status) with the call's SERVER span current, on any thread.
// INTERCEPTORS: kt::ContextScope scope(kt::Context(server_call_context(ctx))); return fn();
template <typename F>
grpc::Status serve_traced(const grpc::GenericCallbackServerContext& ctx, F&& fn) {
  const kt::SpanContext parent = incoming_context(ctx);
  auto span = parent.is_valid()
                  ? kt::info_span(rpc_span_name(ctx.method()), kt::SpanKind::Server, parent)
                  : kt::info_span(rpc_span_name(ctx.method()), kt::SpanKind::Server, kt::root);
  auto entered = std::move(span).entered();
  entered.set_attribute("rpc.system.name", "grpc");
  entered.set_attribute("rpc.method", rpc_span_name(ctx.method()));
  grpc::Status status = fn();
  entered.set_attribute("rpc.status_code",
                        status.ok() ? std::string("OK") : std::to_string(status.error_code()));
  if (!status.ok()) entered.set_status(kt::StatusCode::Error, status.error_message());
  return status;
}

}  // namespace demo
