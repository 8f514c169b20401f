#pragma once
// gRPC tracing (grpc++): W3C Trace Context in call metadata and a span per call on both sides.
// Opt-in: link grpc++ (pkg-config --libs grpc++).
//   metadata.hpp            inject_trace_context(ClientContext&),
//   extract_trace_context(ServerContextBase&) client_interceptor.hpp
//   ClientTracingInterceptorFactory: a CLIENT span per call server_interceptor.hpp
//   ServerTracingInterceptorFactory, server_call_context() target.hpp parse_grpc_target():
//   server.address / server.port from a target status_code.hpp         status code names and which
//   ones are errors on each side

#include "krishiv/trace/integrations/grpc/client_interceptor.hpp"
#include "krishiv/trace/integrations/grpc/metadata.hpp"
#include "krishiv/trace/integrations/grpc/server_interceptor.hpp"
#include "krishiv/trace/integrations/grpc/status_code.hpp"
#include "krishiv/trace/integrations/grpc/target.hpp"
