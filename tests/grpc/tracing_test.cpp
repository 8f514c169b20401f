// The tracing interceptors between an in-process client and server on 127.0.0.1, spans to the
// in-memory exporter: one trace across the call, the RPC attributes, statuses, what arrives
// malformed, tracestate, and a callback-API handler finding its call's context.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "echo_service.hpp"
#include "krishiv/trace.hpp"
#include "krishiv/trace/exporters/in_memory.hpp"
#include "krishiv/trace/integrations/grpc.hpp"
#include "otlp_collector.hpp"

namespace kt = krishiv::trace;
using namespace std::chrono_literals;
using kt::test::call;

namespace {

constexpr const char* kSay = "/test.Echo/Say";
constexpr const char* kHop = "/test.Echo/Hop";
constexpr const char* kLater = "/test.Echo/Later";

// What a handler saw, for the test thread to check.
struct Seen {
  std::mutex mu;
  kt::SpanContext current;       // Context::current() inside the handler
  kt::SpanContext extracted;     // extract_trace_context(*ctx)
  kt::SpanContext call_context;  // server_call_context(*ctx)
  void record(const grpc::ServerContextBase& ctx) {
    std::lock_guard lock(mu);
    current = kt::Context::current().span_context();
    extracted = kt::extract_trace_context(ctx);
    call_context = kt::server_call_context(ctx).span_context();
  }
  kt::SpanContext get_current() {
    std::lock_guard lock(mu);
    return current;
  }
};

class Fixture {
 public:
  Fixture()
      : sink_(std::make_shared<kt::InMemoryExporter>()),
        provider_(kt::TracerProviderOptions{
            .exporter = kt::TracerExporter::InMemory(sink_),
            .sampler = kt::Sampler::parent_based(kt::Sampler::always_on())}) {
    service_.add_sync(kSay, [this](grpc::ServerContext* ctx, const std::string& req,
                                   std::string& resp) {
      seen_.record(*ctx);
      // A span made in the handler is a child of the SERVER span: it is current here.
      auto work = kt::info_span("handler.work");
      resp = req;
      if (req.rfind("fail:", 0) == 0) {
        return grpc::Status(static_cast<grpc::StatusCode>(std::stoi(req.substr(5))), "asked to");
      }
      if (req.rfind("sleep:", 0) == 0) std::this_thread::sleep_for(std::stoi(req.substr(6)) * 1ms);
      return grpc::Status::OK;
    });
    // Calls Say again with a tracestate entry of its own: the next hop must see it, leftmost.
    service_.add_sync(kHop, [this](grpc::ServerContext*, const std::string&, std::string& resp) {
      kt::SpanContext mine = kt::Context::current().span_context();
      mine.trace_state.put("hop", "1");
      const kt::ContextScope scope{kt::Context(mine)};
      grpc::ClientContext cc;
      cc.set_deadline(std::chrono::system_clock::now() + 30s);
      return call(*traced_channel(), kSay, cc, "inner", &resp);
    });
    // A callback handler that finishes later on a thread of its own, where only
    // server_call_context() knows the call's span.
    service_.add_callback(kLater, [this](grpc::CallbackServerContext* ctx, const grpc::ByteBuffer*,
                                         grpc::ByteBuffer* resp) {
      {
        std::lock_guard lock(later_mu_);
        later_sync_part_ = kt::Context::current().span_context();
      }
      grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
      later_threads_.emplace_back([ctx, reactor, resp] {
        std::this_thread::sleep_for(20ms);
        {
          const kt::ContextScope scope(kt::server_call_context(*ctx));
          auto work = kt::info_span("later.work");
          *resp = kt::test::to_buffer("later");
        }
        reactor->Finish(grpc::Status::OK);
      });
      return reactor;
    });

    // The port is chosen first: the interceptor factory is told the address it serves.
    port_ = ::test::free_port();
    grpc::ServerBuilder b;
    b.AddListeningPort(target(), grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&service_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
    f.push_back(std::make_unique<kt::ServerTracingInterceptorFactory>("127.0.0.1:" + port_str()));
    b.experimental().SetInterceptorCreators(std::move(f));
    server_ = b.BuildAndStart();
    REQUIRE(server_);
    REQUIRE(port_ > 0);
  }
  ~Fixture() {
    server_->Shutdown(std::chrono::system_clock::now() + 5s);
    for (auto& t : later_threads_) t.join();
  }

  std::string port_str() const { return std::to_string(port_); }
  std::string target() const { return "127.0.0.1:" + port_str(); }

  // A channel with the client interceptor (target given, or left to the peer).
  std::shared_ptr<grpc::Channel> traced_channel(bool give_target = true) {
    std::lock_guard lock(channel_mu_);
    auto& slot = give_target ? traced_ : traced_peer_;
    if (!slot) {
      std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> f;
      f.push_back(give_target ? std::make_unique<kt::ClientTracingInterceptorFactory>(target())
                              : std::make_unique<kt::ClientTracingInterceptorFactory>());
      slot = grpc::experimental::CreateCustomChannelWithInterceptors(
          target(), grpc::InsecureChannelCredentials(), grpc::ChannelArguments(), std::move(f));
    }
    return slot;
  }
  // A channel without it: headers set by hand.
  std::shared_ptr<grpc::Channel> raw_channel() {
    return grpc::CreateChannel(target(), grpc::InsecureChannelCredentials());
  }

  // Every span, once at least n have ended and been exported.
  std::vector<kt::SpanData> spans(std::size_t n) {
    const auto guard = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < guard) {
      provider_.force_flush();
      if (sink_->size() >= n) break;
      std::this_thread::sleep_for(10ms);
    }
    auto s = sink_->spans();
    REQUIRE(s.size() >= n);
    return s;
  }

  static const kt::SpanData& find(const std::vector<kt::SpanData>& spans, std::string_view name,
                                  kt::SpanKind kind) {
    for (const auto& s : spans) {
      if (s.name == name && s.kind == kind) return s;
    }
    FAIL("no span " << name);
    throw;
  }

  Seen seen_;
  std::mutex later_mu_;
  kt::SpanContext later_sync_part_;

 private:
  std::shared_ptr<kt::InMemoryExporter> sink_;
  kt::TracerProvider provider_;
  kt::test::ByteService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::mutex channel_mu_;
  std::shared_ptr<grpc::Channel> traced_, traced_peer_;
  std::vector<std::thread> later_threads_;
};

std::string str(const kt::SpanData& s, std::string_view key) {
  const auto* v = s.attribute(key);
  if (v == nullptr) return "<absent>";
  const auto* p = std::get_if<std::string>(v);
  return p != nullptr ? *p : "<not a string>";
}
std::int64_t i64(const kt::SpanData& s, std::string_view key) {
  const auto* v = s.attribute(key);
  REQUIRE(v != nullptr);
  const auto* p = std::get_if<std::int64_t>(v);
  REQUIRE(p != nullptr);
  return *p;
}

grpc::Status traced_call(Fixture& f, const char* method, const std::string& req,
                         std::chrono::milliseconds deadline = 30s, bool give_target = true) {
  grpc::ClientContext cc;
  cc.set_deadline(std::chrono::system_clock::now() + deadline);
  return call(*f.traced_channel(give_target), method, cc, req);
}

}  // namespace

TEST_CASE("one trace across the call: caller -> CLIENT -> SERVER -> handler span", "[grpc]") {
  Fixture f;
  kt::SpanContext parent;
  {
    auto op = kt::info_span("op").entered();
    parent = op.context();
    REQUIRE(traced_call(f, kSay, "hello").ok());
  }
  const auto spans = f.spans(4);
  const auto& client = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Client);
  const auto& server = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Server);
  const auto& work = Fixture::find(spans, "handler.work", kt::SpanKind::Internal);

  CHECK(client.trace_id == parent.trace_id);
  CHECK(client.parent_span_id == parent.span_id);
  CHECK(server.trace_id == parent.trace_id);
  CHECK(server.parent_span_id == client.span_id);
  CHECK(server.parent_is_remote == std::optional<bool>(true));
  CHECK(work.parent_span_id == server.span_id);
  CHECK(work.trace_id == parent.trace_id);

  // The handler saw the SERVER span as current and as its call's context, and the CLIENT span's
  // context on the wire.
  const kt::SpanContext current = f.seen_.get_current();
  CHECK(current.span_id == server.span_id);
  CHECK(current.sampled());
  CHECK(f.seen_.call_context.span_id == server.span_id);
  CHECK(f.seen_.extracted.span_id == client.span_id);
  CHECK(f.seen_.extracted.flags == client.flags);
}

TEST_CASE("RPC attributes on both sides, per the OpenTelemetry RPC conventions", "[grpc]") {
  Fixture f;
  REQUIRE(traced_call(f, kSay, "x").ok());
  REQUIRE(traced_call(f, kSay, "y", 30s, /*give_target=*/false).ok());
  const auto spans = f.spans(6);
  std::vector<const kt::SpanData*> clients;
  for (const auto& s : spans) {
    if (s.kind == kt::SpanKind::Client) clients.push_back(&s);
  }
  REQUIRE(clients.size() == 2);
  for (const auto* c : clients) {  // target given, or taken from the peer: the same answer
    CHECK(str(*c, "rpc.system.name") == "grpc");
    CHECK(str(*c, "rpc.method") == "test.Echo/Say");
    CHECK(str(*c, "rpc.response.status_code") == "OK");
    CHECK(str(*c, "server.address") == "127.0.0.1");
    CHECK(i64(*c, "server.port") == std::stoll(f.port_str()));
    CHECK(c->attribute("error.type") == nullptr);
    CHECK(c->status_code == kt::StatusCode::Unset);
  }
  const auto& server = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Server);
  CHECK(str(server, "rpc.system.name") == "grpc");
  CHECK(str(server, "rpc.method") == "test.Echo/Say");
  CHECK(str(server, "rpc.response.status_code") == "OK");
  CHECK(str(server, "server.address") == "127.0.0.1");
  CHECK(i64(server, "server.port") == std::stoll(f.port_str()));
  CHECK(server.status_code == kt::StatusCode::Unset);
}

TEST_CASE("status: every non-OK code is a client error; only server failures a server error",
          "[grpc]") {
  struct Row {
    int code;
    const char* name;
    bool server_error;
  };
  for (const Row r : {Row{5, "NOT_FOUND", false}, Row{3, "INVALID_ARGUMENT", false},
                      Row{13, "INTERNAL", true}, Row{14, "UNAVAILABLE", true}}) {
    CAPTURE(r.name);
    Fixture f;
    const auto s = traced_call(f, kSay, "fail:" + std::to_string(r.code));
    REQUIRE(static_cast<int>(s.error_code()) == r.code);
    const auto spans = f.spans(3);
    const auto& client = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Client);
    const auto& server = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Server);
    CHECK(str(client, "rpc.response.status_code") == r.name);
    CHECK(str(client, "error.type") == r.name);
    CHECK(client.status_code == kt::StatusCode::Error);
    CHECK(str(server, "rpc.response.status_code") == r.name);
    CHECK(server.status_code == (r.server_error ? kt::StatusCode::Error : kt::StatusCode::Unset));
    CHECK(str(server, "error.type") == (r.server_error ? r.name : "<absent>"));
  }
}

TEST_CASE("status on deadline: DEADLINE_EXCEEDED and an error on both sides", "[grpc]") {
  Fixture f;
  const auto s = traced_call(f, kSay, "sleep:1500", 200ms);
  REQUIRE(s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  const auto spans = f.spans(3);
  const auto& client = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Client);
  const auto& server = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Server);
  CHECK(str(client, "rpc.response.status_code") == "DEADLINE_EXCEEDED");
  CHECK(str(client, "error.type") == "DEADLINE_EXCEEDED");
  CHECK(client.status_code == kt::StatusCode::Error);
  CHECK(str(server, "rpc.response.status_code") == "DEADLINE_EXCEEDED");
  CHECK(server.status_code == kt::StatusCode::Error);
  CHECK(server.trace_id == client.trace_id);
}

TEST_CASE("absent, invalid or repeated incoming traceparent: the server starts a new trace",
          "[grpc]") {
  const std::string valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0"},
      {"zz"},
      {valid, valid},
  };
  for (const auto& traceparents : cases) {
    CAPTURE(traceparents);
    Fixture f;
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + 30s);
    for (const auto& tp : traceparents) cc.AddMetadata("traceparent", tp);
    cc.AddMetadata("tracestate", "a=1");
    REQUIRE(call(*f.raw_channel(), kSay, cc, "x").ok());
    const auto spans = f.spans(2);
    const auto& server = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Server);
    CHECK(server.is_root());
    CHECK(server.trace_id.to_hex() != "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(server.trace_state.empty());  // tracestate is not read without a valid traceparent
    CHECK_FALSE(f.seen_.extracted.is_valid());
    CHECK(f.seen_.get_current().span_id == server.span_id);
  }
}

TEST_CASE("tracestate: several values joined in order, an invalid one dropped", "[grpc]") {
  const std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  {
    Fixture f;
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + 30s);
    cc.AddMetadata("traceparent", tp);
    cc.AddMetadata("tracestate", "a=1,b=2");
    cc.AddMetadata("tracestate", "c=3");
    REQUIRE(call(*f.raw_channel(), kSay, cc, "x").ok());
    const auto spans = f.spans(2);
    const auto& server = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Server);
    CHECK(server.trace_id.to_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(server.parent_span_id.to_hex() == "00f067aa0ba902b7");
    CHECK(server.trace_state == "a=1,b=2,c=3");
  }
  {
    Fixture f;
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + 30s);
    cc.AddMetadata("traceparent", tp);
    cc.AddMetadata("tracestate", "a=1,Invalid Key=2");
    REQUIRE(call(*f.raw_channel(), kSay, cc, "x").ok());
    const auto spans = f.spans(2);
    const auto& server = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Server);
    CHECK(server.parent_span_id.to_hex() == "00f067aa0ba902b7");  // traceparent kept
    CHECK(server.trace_state.empty());
  }
}

TEST_CASE("tracestate carried through a call and mutated by the next hop", "[grpc]") {
  Fixture f;
  auto remote = kt::extract_span_context("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                         "vendor=v,other=o");
  REQUIRE(remote);
  {
    const kt::ContextScope scope{kt::Context(*remote)};
    REQUIRE(traced_call(f, kHop, "x").ok());
  }
  // CLIENT(Hop), SERVER(Hop), CLIENT(Say), SERVER(Say), handler.work
  const auto spans = f.spans(5);
  const auto& hop = Fixture::find(spans, "test.Echo/Hop", kt::SpanKind::Server);
  CHECK(hop.trace_state == "vendor=v,other=o");
  const auto& say = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Server);
  CHECK(say.trace_state == "hop=1,vendor=v,other=o");  // the modified key moves left
  CHECK(say.trace_id == hop.trace_id);
  const auto& inner_client = Fixture::find(spans, "test.Echo/Say", kt::SpanKind::Client);
  CHECK(inner_client.parent_span_id == hop.span_id);
  CHECK(say.parent_span_id == inner_client.span_id);
}

TEST_CASE("unsampled caller: the flags travel as they are and nothing records", "[grpc]") {
  Fixture f;
  auto remote =
      kt::extract_span_context("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "");
  REQUIRE(remote);
  {
    const kt::ContextScope scope{kt::Context(*remote)};
    REQUIRE(traced_call(f, kSay, "x").ok());
  }
  const kt::SpanContext current = f.seen_.get_current();
  CHECK(current.is_valid());
  CHECK_FALSE(current.sampled());
  CHECK(current.trace_id == remote->trace_id);
  CHECK(f.seen_.extracted.trace_id == remote->trace_id);
  CHECK_FALSE(f.seen_.extracted.sampled());
}

TEST_CASE("callback handler: server_call_context() gives the call's span on another thread",
          "[grpc]") {
  Fixture f;
  kt::SpanContext parent;
  {
    auto op = kt::info_span("op").entered();
    parent = op.context();
    REQUIRE(traced_call(f, kLater, "x").ok());
  }
  const auto spans = f.spans(4);
  const auto& server = Fixture::find(spans, "test.Echo/Later", kt::SpanKind::Server);
  const auto& work = Fixture::find(spans, "later.work", kt::SpanKind::Internal);
  CHECK(server.trace_id == parent.trace_id);
  CHECK(work.trace_id == parent.trace_id);
  CHECK(work.parent_span_id == server.span_id);
  std::lock_guard lock(f.later_mu_);
  CHECK(f.later_sync_part_.span_id == server.span_id);  // the reactor's creation saw it too
}

TEST_CASE("inject_trace_context(ClientContext&) and extract_trace_context(ServerContextBase&)",
          "[grpc]") {
  Fixture f;
  auto remote =
      kt::extract_span_context("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "k=v");
  REQUIRE(remote);
  grpc::ClientContext cc;
  cc.set_deadline(std::chrono::system_clock::now() + 30s);
  {
    const kt::ContextScope scope{kt::Context(*remote)};
    kt::inject_trace_context(cc);
  }
  REQUIRE(call(*f.raw_channel(), kSay, cc, "x").ok());
  f.spans(2);
  CHECK(f.seen_.extracted.trace_id == remote->trace_id);
  CHECK(f.seen_.extracted.span_id == remote->span_id);
  CHECK(f.seen_.extracted.trace_state.to_string() == "k=v");
  CHECK(f.seen_.extracted.is_remote);
}
