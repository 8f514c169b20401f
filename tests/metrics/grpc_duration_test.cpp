// GrpcDurationLayer in process: a client and a server on 127.0.0.1, both timed, against a
// generic server whose handlers sleep known delays or fail. Durations are only bounded below
// (a call that slept 30 ms is never in a bucket under 0.03): the machine may be slow, never fast.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "exposition_parser.hpp"
#include "krishiv/trace/detail/tsan.hpp"
#include "krishiv/trace/integrations/grpc/duration.hpp"
#include "krishiv/trace/integrations/grpc/service.hpp"
#include "krishiv/trace/metrics/prometheus.hpp"
#include "krishiv/trace/metrics/registry.hpp"

namespace kt = krishiv::trace;
namespace m = krishiv::trace::metrics;
using namespace std::chrono_literals;

namespace {

constexpr auto kSleep = 30ms;

// "/kt.Test/Sleep" sleeps kSleep, "/kt.Test/Fail" answers NOT_FOUND, anything else echoes.
class TestServer : public grpc::CallbackGenericService {
 public:
  TestServer(m::Registry& registry, kt::GrpcDurationOptions options = {},
             kt::GrpcDurationService::Tracing tracing = kt::GrpcDurationService::Tracing::On) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterCallbackGenericService(this);
    kt::GrpcDurationService(registry, std::move(options), tracing).add_to(b);
    server_ = b.BuildAndStart();
    REQUIRE(server_ != nullptr);
    REQUIRE(port_ > 0);
  }
  ~TestServer() override {
    server_->Shutdown(std::chrono::system_clock::now() + 2s);
    server_->Wait();
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  class Call final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Call(grpc::GenericCallbackServerContext* ctx) : ctx_(ctx) { StartRead(&buf_); }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
        return;
      }
      if (ctx_->method() == "/kt.Test/Fail") {
        Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "asked to fail"));
        return;
      }
      // Blocking a callback thread is fine for the few calls of a test.
      if (ctx_->method() == "/kt.Test/Sleep") std::this_thread::sleep_for(kSleep);
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

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

grpc::StatusCode call(grpc::GenericStub& stub, const std::string& method,
                      std::chrono::milliseconds deadline = 20s) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  grpc::Slice slice(std::string("ping"));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer reply;
  std::promise<grpc::Status> done;
  // What precedes UnaryCall() happens before its callback, on a gRPC thread (detail/tsan.hpp).
  kt::detail::tsan_release(&done);
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &reply, [&](grpc::Status s) {
    kt::detail::tsan_acquire(&done);
    done.set_value(std::move(s));
  });
  return done.get_future().get().error_code();
}

std::uint64_t count(const m::Histogram& h, const std::vector<std::string>& labels) {
  std::uint64_t n = 0;
  h.for_each_series([&](std::span<const std::string> v, const m::HistogramSeries& s) {
    if (std::vector<std::string>(v.begin(), v.end()) == labels) n = s.snapshot().count;
  });
  return n;
}

std::size_t series_count(const m::Histogram& h) {
  std::size_t n = 0;
  h.for_each_series([&](auto, const auto&) { ++n; });
  return n;
}

template <typename Pred>
bool wait_for(Pred pred) {
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace

TEST_CASE("every call is counted once per method, code and side, with its lower-bound time") {
  // Two shapes: with tracing, the tracing interceptors time the calls themselves; without, the
  // layer's own interceptors do.
  const auto tracing =
      GENERATE(kt::GrpcDurationService::Tracing::On, kt::GrpcDurationService::Tracing::Off);
  INFO("tracing " << (tracing == kt::GrpcDurationService::Tracing::On ? "on" : "off"));
  m::Registry server_reg;
  m::Registry client_reg;
  TestServer server(server_reg, {}, tracing);
  kt::GrpcDurationService client_metrics(client_reg, {}, tracing);
  auto channel = client_metrics.create_channel(server.target(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);

  for (int i = 0; i < 5; ++i) CHECK(call(stub, "/kt.Test/Echo") == grpc::StatusCode::OK);
  for (int i = 0; i < 3; ++i) CHECK(call(stub, "/kt.Test/Fail") == grpc::StatusCode::NOT_FOUND);
  for (int i = 0; i < 2; ++i) CHECK(call(stub, "/kt.Test/Sleep") == grpc::StatusCode::OK);

  const m::Histogram& sh = server_reg.histogram("krishiv_grpc_call_duration_seconds", "", {}, {});
  // That lookup disagreed with the layer's labels: it is a detached metric, not the layer's.
  const m::Histogram& client_h = client_metrics.duration().histogram();
  CHECK(&sh != &client_h);
  kt::GrpcDurationLayer server_layer(server_reg);  // same name, labels, bounds: the same metric
  const m::Histogram& server_h = server_layer.histogram();

  // The client records before its call returns; the server when the call closes, after its
  // reply has left: wait for the server's records.
  CHECK(count(client_h, {"/kt.Test/Echo", "OK", "client"}) == 5);
  CHECK(count(client_h, {"/kt.Test/Fail", "NOT_FOUND", "client"}) == 3);
  CHECK(count(client_h, {"/kt.Test/Sleep", "OK", "client"}) == 2);
  REQUIRE(wait_for([&] {
    return count(server_h, {"/kt.Test/Echo", "OK", "server"}) +
               count(server_h, {"/kt.Test/Fail", "NOT_FOUND", "server"}) +
               count(server_h, {"/kt.Test/Sleep", "OK", "server"}) ==
           10;
  }));
  CHECK(count(server_h, {"/kt.Test/Echo", "OK", "server"}) == 5);
  CHECK(count(server_h, {"/kt.Test/Fail", "NOT_FOUND", "server"}) == 3);
  CHECK(count(server_h, {"/kt.Test/Sleep", "OK", "server"}) == 2);
  CHECK(series_count(server_h) == 3);
  CHECK(series_count(client_h) == 3);

  CHECK(server_h.bounds() == kt::grpc_duration_default_buckets());
  for (const m::Histogram* h : {&server_h, &client_h}) {
    const std::string side = h == &server_h ? "server" : "client";
    h->for_each_series([&](std::span<const std::string> v, const m::HistogramSeries& s) {
      if (v[0] != "/kt.Test/Sleep") return;
      const auto snap = s.snapshot();
      const auto cum = snap.cumulative();
      for (std::size_t i = 0; i < snap.bounds.size(); ++i) {
        INFO(side << " le=" << snap.bounds[i]);
        if (snap.bounds[i] < 0.03) CHECK(cum[i] == 0);
      }
      CHECK(snap.sum >= 2 * 0.03);
    });
  }

  // What a scraper reads: the default bounds as Prometheus' Go client writes them.
  const auto e = kt::test::parse_exposition(m::to_prometheus_text(server_reg));
  REQUIRE(e.has_value());
  CHECK(e->bucket_order_ok);
  std::map<std::string, std::string> labels{
      {"method", "/kt.Test/Echo"}, {"code", "OK"}, {"side", "server"}};
  for (const char* le : {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                         "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    labels["le"] = le;
    CHECK(e->value("krishiv_grpc_call_duration_seconds_bucket", labels) <= 5);
  }
  CHECK(e->value("krishiv_grpc_call_duration_seconds_bucket", labels) == 5);  // +Inf
}

TEST_CASE("a client deadline is recorded as DEADLINE_EXCEEDED; buckets are configurable") {
  m::Registry server_reg;
  m::Registry client_reg;
  std::optional<TestServer> server(std::in_place, server_reg);
  kt::GrpcDurationOptions options;
  options.buckets = {0.001, 0.02};
  kt::GrpcDurationService client_metrics(client_reg, options);
  grpc::GenericStub stub(
      client_metrics.create_channel(server->target(), grpc::InsecureChannelCredentials()));

  CHECK(call(stub, "/kt.Test/Sleep", 5ms) == grpc::StatusCode::DEADLINE_EXCEEDED);
  const m::Histogram& h = client_metrics.duration().histogram();
  CHECK(h.bounds() == std::vector<double>{0.001, 0.02});
  REQUIRE(wait_for([&] {
    return count(h, {"/kt.Test/Sleep", "DEADLINE_EXCEEDED", "client"}) == 1;
  }));
  CHECK(series_count(h) == 1);
  const auto e = kt::test::parse_exposition(m::to_prometheus_text(client_reg));
  REQUIRE(e.has_value());
  CHECK(e->has("krishiv_grpc_call_duration_seconds_bucket", {{"method", "/kt.Test/Sleep"},
                                                             {"code", "DEADLINE_EXCEEDED"},
                                                             {"side", "client"},
                                                             {"le", "0.02"}}));
  // The server's side of the call, if it got there before the deadline, ends one way or the
  // other (its status sent, or the call torn down at shutdown): it is counted at most once.
  server.reset();
  std::uint64_t n = 0;
  server_reg.for_each([&](const auto& metric) {
    metric.for_each_series([&](auto, const auto& s) {
      if constexpr (requires { s.snapshot(); }) n += s.snapshot().count;
    });
  });
  CHECK(n <= 1);
}

TEST_CASE("each method's series is found once per side; past the table's room calls still count") {
  m::Registry reg;
  kt::GrpcDurationLayer layer(reg);
  m::Histogram& h = layer.histogram();
  auto side_owner = std::make_shared<kt::detail::GrpcSideSeries>(&h, "client");
  kt::detail::GrpcSideSeries& side = *side_owner;

  // The same name at another address (a generic stub's std::string) is the same method.
  std::string a = "/kt.Test/Echo";
  std::string b = a;
  const auto* ma = side.find(a);
  REQUIRE(ma != nullptr);
  CHECK(side.find(b) == ma);
  CHECK(ma->name == "/kt.Test/Echo");
  CHECK(ma->ok.load() == nullptr);  // no OK series before an OK call
  CHECK(series_count(h) == 0);
  {
    kt::detail::GrpcCallTimer t(side_owner, b.c_str());
    t.stop(0);
    t.commit();
  }
  CHECK(ma->ok.load() == &h.series({"/kt.Test/Echo", "OK", "client"}));
  CHECK(count(h, {"/kt.Test/Echo", "OK", "client"}) == 1);
  CHECK(side.find("/kt.Test/Other") != ma);

  // Fill the table, then time calls of methods it has no room for, OK and not.
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i) names.push_back("/kt.Many/M" + std::to_string(i));
  std::size_t remembered = 0;
  for (const auto& n : names) remembered += side.find(n) != nullptr ? 1 : 0;
  CHECK(remembered < names.size());  // the table is full now
  CHECK(side.find(names.back()) == nullptr);
  for (const auto& n : names) {
    kt::detail::GrpcCallTimer ok(side_owner, n.c_str());
    ok.stop(0);
    ok.commit();
    kt::detail::GrpcCallTimer failed(side_owner, n.c_str());
    failed.stop(static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  }  // `failed` records when destroyed
  { kt::detail::GrpcCallTimer never_stopped(side_owner, a.c_str()); }
  for (const auto& n : names) {
    INFO(n);
    CHECK(count(h, {n, "OK", "client"}) == 1);
    CHECK(count(h, {n, "UNAVAILABLE", "client"}) == 1);
  }
  CHECK(count(h, {"/kt.Test/Echo", "CANCELLED", "client"}) == 1);
}
