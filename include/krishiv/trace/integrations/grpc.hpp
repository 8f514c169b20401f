#pragma once
// gRPC tracing and call metrics (grpc++): W3C Trace Context in call metadata, a span per call on
// both sides, and the call-duration histogram. Opt-in: link grpc++ (pkg-config --libs grpc++).
//
// - metadata.hpp: inject_trace_context(ClientContext&), extract_trace_context(ServerContextBase&).
// - client_interceptor.hpp: ClientTracingInterceptorFactory, a CLIENT span per call.
// - server_interceptor.hpp: ServerTracingInterceptorFactory, server_call_context().
// - duration.hpp: GrpcDurationLayer, krishiv_grpc_call_duration_seconds per method, code, side.
// - service.hpp: GrpcDurationService, all of the above on a ServerBuilder or a channel in a line.
// - target.hpp, status_code.hpp: server.address/port from a target; status code names.

#include "krishiv/trace/integrations/grpc/client_interceptor.hpp"
#include "krishiv/trace/integrations/grpc/duration.hpp"
#include "krishiv/trace/integrations/grpc/metadata.hpp"
#include "krishiv/trace/integrations/grpc/server_interceptor.hpp"
#include "krishiv/trace/integrations/grpc/service.hpp"
#include "krishiv/trace/integrations/grpc/status_code.hpp"
#include "krishiv/trace/integrations/grpc/target.hpp"
