#pragma once
// W3C Trace Context in gRPC metadata: inject into a ClientContext, extract from a
// ServerContextBase. The interceptors (client_interceptor.hpp, server_interceptor.hpp) do this
// for every call; these are for code that sets up calls or reads them by hand.

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/string_ref.h>

#include <string>
#include <string_view>

#include "krishiv/trace/context.hpp"
#include "krishiv/trace/propagation/carrier.hpp"
#include "krishiv/trace/span_context.hpp"

namespace krishiv::trace {

namespace detail {

// ClientContext::AddMetadata appends and cannot replace: inject once per ClientContext.
class ClientContextCarrier {
 public:
  explicit ClientContextCarrier(grpc::ClientContext& c) noexcept : c_(&c) {}
  void set(std::string_view key, std::string_view value) {
    c_->AddMetadata(std::string(key), std::string(value));
  }

 private:
  grpc::ClientContext* c_;
};

}  // namespace detail

// Adds traceparent (and tracestate when there is one) for `ctx` to the call's metadata; nothing
// for an invalid context. A ClientContext serves one call, so call this once per context; with
// ClientTracingInterceptorFactory on the channel it is not needed (the interceptor replaces
// these keys with its CLIENT span's context).
inline void inject_trace_context(grpc::ClientContext& client, const SpanContext& ctx) {
  detail::ClientContextCarrier c(client);
  inject_trace_context(c, ctx);
}

// The current span's context.
inline void inject_trace_context(grpc::ClientContext& client) {
  inject_trace_context(client, Context::current().span_context());
}

// The caller's context from the call's metadata: invalid (a new trace) when traceparent is
// absent, repeated or malformed; see propagation/carrier.hpp for the rules.
inline SpanContext extract_trace_context(const grpc::ServerContextBase& server) {
  return extract_trace_context(server.client_metadata());
}

}  // namespace krishiv::trace
