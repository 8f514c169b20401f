// The C++ side of the gRPC interop check (grpc_interop.js): our interceptors against the
// official OpenTelemetry JS propagator and grpc-js.
//
//   interop_peer server
//     Serves /interop.Echo/Say on 127.0.0.1 (a free port) with ServerTracingInterceptorFactory;
//     prints `listening PORT`. Each call is answered with JSON: the context extracted from the
//     call's metadata and the context current in the handler. When stdin closes: every SERVER
//     span recorded, one `span {json}` line each, then exit 0.
//   interop_peer client --target HOST:PORT --traceparent TP [--tracestate TS]
//     Makes the context TP/TS current (an upstream caller), calls /interop.Echo/Say through
//     ClientTracingInterceptorFactory, prints `client {json}` (its CLIENT span) and
//     `reply BODY`; exit 0 when the call succeeded.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "echo_service.hpp"
#include "krishiv/trace.hpp"
#include "krishiv/trace/exporters/in_memory.hpp"
#include "krishiv/trace/integrations/grpc.hpp"

namespace kt = krishiv::trace;
using namespace std::chrono_literals;

namespace {

constexpr const char* kMethod = "/interop.Echo/Say";

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string flags_hex(kt::TraceFlags f) {
  char buf[3];
  std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(f.bits()));
  return buf;
}

std::string json(const kt::SpanContext& c) {
  if (!c.is_valid()) return "null";
  return "{\"trace_id\":" + json_string(c.trace_id.to_hex()) +
         ",\"span_id\":" + json_string(c.span_id.to_hex()) +
         ",\"flags\":" + json_string(flags_hex(c.flags)) +
         ",\"tracestate\":" + json_string(c.trace_state.to_string()) + "}";
}

std::string json(const kt::SpanData& s) {
  return "{\"name\":" + json_string(s.name) + ",\"trace_id\":" + json_string(s.trace_id.to_hex()) +
         ",\"span_id\":" + json_string(s.span_id.to_hex()) + ",\"parent_span_id\":" +
         json_string(s.parent_span_id.is_valid() ? s.parent_span_id.to_hex() : "") +
         ",\"flags\":" + json_string(flags_hex(s.flags)) +
         ",\"tracestate\":" + json_string(s.trace_state) + "}";
}

kt::TracerProviderOptions options(std::shared_ptr<kt::InMemoryExporter> sink) {
  return {.exporter = kt::TracerExporter::InMemory(std::move(sink)),
          .sampler = kt::Sampler::parent_based(kt::Sampler::always_on())};
}

int serve() {
  auto sink = std::make_shared<kt::InMemoryExporter>();
  kt::TracerProvider provider(options(sink));
  kt::test::ByteService service;
  service.add_sync(kMethod, [](grpc::ServerContext* ctx, const std::string&, std::string& resp) {
    resp = "{\"extracted\":" + json(kt::extract_trace_context(*ctx)) +
           ",\"current\":" + json(kt::Context::current().span_context()) + "}";
    return grpc::Status::OK;
  });
  grpc::ServerBuilder b;
  int port = 0;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  b.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
  f.push_back(std::make_unique<kt::ServerTracingInterceptorFactory>());
  b.experimental().SetInterceptorCreators(std::move(f));
  auto server = b.BuildAndStart();
  if (!server) return 1;
  std::printf("listening %d\n", port);
  std::fflush(stdout);
  char buf[256];
  while (::read(0, buf, sizeof buf) > 0) {
  }
  server->Shutdown(std::chrono::system_clock::now() + 5s);
  provider.force_flush();
  for (const auto& s : sink->spans()) {
    if (s.kind == kt::SpanKind::Server) std::printf("span %s\n", json(s).c_str());
  }
  std::fflush(stdout);
  return 0;
}

int client(const std::string& target, const std::string& tp, const std::string& ts) {
  auto sink = std::make_shared<kt::InMemoryExporter>();
  kt::TracerProvider provider(options(sink));
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> f;
  f.push_back(std::make_unique<kt::ClientTracingInterceptorFactory>(target));
  auto channel = grpc::experimental::CreateCustomChannelWithInterceptors(
      target, grpc::InsecureChannelCredentials(), grpc::ChannelArguments(), std::move(f));
  const auto upstream = kt::extract_span_context(tp, ts);
  if (!upstream) {
    std::fprintf(stderr, "interop_peer: invalid --traceparent\n");
    return 2;
  }
  std::string reply;
  grpc::Status s;
  {
    const kt::ContextScope scope{kt::Context(*upstream)};
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + 30s);
    s = kt::test::call(*channel, kMethod, cc, "x", &reply);
  }
  provider.force_flush();
  for (const auto& sp : sink->spans()) {
    if (sp.kind == kt::SpanKind::Client) std::printf("client %s\n", json(sp).c_str());
  }
  std::printf("reply %s\n", reply.c_str());
  std::fflush(stdout);
  if (!s.ok()) std::fprintf(stderr, "interop_peer: call failed: %s\n", s.error_message().c_str());
  return s.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "server") return serve();
  if (!args.empty() && args[0] == "client") {
    std::string target, tp, ts;
    for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
      if (args[i] == "--target") target = args[i + 1];
      if (args[i] == "--traceparent") tp = args[i + 1];
      if (args[i] == "--tracestate") ts = args[i + 1];
    }
    return client(target, tp, ts);
  }
  std::fprintf(stderr, "usage: interop_peer server | client --target T --traceparent TP\n");
  return 2;
}
