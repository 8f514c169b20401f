// Cost of gRPC tracing per unary call on loopback, against the same call untraced, in one run.
//
// Each variant is a server and a channel configured with its own interceptors; every call is a
// blocking unary echo of 64 bytes to 127.0.0.1 through a synchronous service, spans recorded
// (parentbased_always_on) and exported to the discarding exporter. Two measurements:
//  - BM_unary/<variant>: Google Benchmark's loop, one variant at a time;
//  - BM_interleaved: the variants called in turn within each iteration, so load that comes and
//    goes on a shared machine hits all of them alike; its counters are each variant's median
//    round trip (us) and its ratio to the untraced one (the first variant), in a new random order
//    each iteration. The target: tracing adds at most 3%. "untraced_control", a second untraced
//    server and channel, reads how far two identical variants land apart. "proceed_only"
//    (interceptors that do nothing) shows how much of that is gRPC's interceptor machinery rather
//    than the tracing, and "header_only" (a fixed traceparent added, nothing else) what carrying
//    the header costs gRPC itself.
// "traced_histogram" adds the call-duration histogram (GrpcDurationService: tracing + histogram,
// timed by the tracing interceptors themselves).

#include <benchmark/benchmark.h>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/support/method_handler.h>

#include <krishiv/trace.hpp>
#include <krishiv/trace/integrations/grpc.hpp>
#include <krishiv/trace/metrics/registry.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace kt = krishiv::trace;

namespace {

using ServerFactories =
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>;
using ClientFactories =
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>;

struct Variant {
  std::string name;
  std::function<ServerFactories()> server;
  std::function<ClientFactories(const std::string& target)> client;
};

// Interceptors that only proceed: what gRPC's interceptor machinery costs by itself, so that
// the tracing's own share can be told apart.
class ProceedInterceptor final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override { m->Proceed(); }
};
// Interceptors that add a fixed traceparent header and do nothing else: what carrying the trace
// context in the call's metadata costs gRPC (HPACK, parsing, the server's metadata map), apart
// from the spans.
class HeaderInterceptor final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    if (m->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      if (auto* md = m->GetSendInitialMetadata()) {
        md->emplace("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
      }
    }
    m->Proceed();
  }
};
struct HeaderClientFactory final : grpc::experimental::ClientInterceptorFactoryInterface {
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new HeaderInterceptor;
  }
};
struct ProceedServerFactory final : grpc::experimental::ServerInterceptorFactoryInterface {
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new ProceedInterceptor;
  }
};
struct ProceedClientFactory final : grpc::experimental::ClientInterceptorFactoryInterface {
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new ProceedInterceptor;
  }
};

const kt::GrpcDurationService& duration_service() {
  static kt::metrics::Registry registry;
  static const kt::GrpcDurationService service(registry);
  return service;
}

std::vector<Variant> variants() {
  std::vector<Variant> v;
  v.push_back({"untraced", [] { return ServerFactories(); },
               [](const std::string&) { return ClientFactories(); }});
  // The same as the baseline on a server and channel of its own: how far two identical
  // variants read apart, i.e. the resolution of every other ratio.
  v.push_back({"untraced_control", [] { return ServerFactories(); },
               [](const std::string&) { return ClientFactories(); }});
  v.push_back({"proceed_only",
               [] {
                 ServerFactories f;
                 f.push_back(std::make_unique<ProceedServerFactory>());
                 return f;
               },
               [](const std::string&) {
                 ClientFactories f;
                 f.push_back(std::make_unique<ProceedClientFactory>());
                 return f;
               }});
  v.push_back({"header_only",
               [] {
                 ServerFactories f;
                 f.push_back(std::make_unique<ProceedServerFactory>());
                 return f;
               },
               [](const std::string&) {
                 ClientFactories f;
                 f.push_back(std::make_unique<HeaderClientFactory>());
                 return f;
               }});
  v.push_back({"traced",
               [] {
                 ServerFactories f;
                 f.push_back(std::make_unique<kt::ServerTracingInterceptorFactory>());
                 return f;
               },
               [](const std::string& target) {
                 ClientFactories f;
                 f.push_back(std::make_unique<kt::ClientTracingInterceptorFactory>(target));
                 return f;
               }});
  // Tracing and the call-duration histogram, as GrpcDurationService installs them.
  v.push_back(
      {"traced_histogram", [] { return duration_service().server_interceptors(); },
       [](const std::string& target) { return duration_service().client_interceptors(target); }});
  return v;
}

constexpr const char* kMethod = "/bench.Echo/Say";

class EchoService : public grpc::Service {
 public:
  EchoService() {
    AddMethod(new grpc::internal::RpcServiceMethod(
        kMethod, grpc::internal::RpcMethod::NORMAL_RPC,
        new grpc::internal::RpcMethodHandler<EchoService, grpc::ByteBuffer, grpc::ByteBuffer>(
            [](EchoService*, grpc::ServerContext*, const grpc::ByteBuffer* req,
               grpc::ByteBuffer* resp) {
              *resp = *req;
              return grpc::Status::OK;
            },
            this)));
  }
};

// A server and a channel of one variant, up for the whole run.
class Endpoint {
 public:
  explicit Endpoint(const Variant& v) : name_(v.name) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&service_);
    auto sf = v.server();
    if (!sf.empty()) b.experimental().SetInterceptorCreators(std::move(sf));
    server_ = b.BuildAndStart();
    const std::string target = "127.0.0.1:" + std::to_string(port_);
    auto cf = v.client(target);
    channel_ = cf.empty() ? grpc::CreateChannel(target, grpc::InsecureChannelCredentials())
                          : grpc::experimental::CreateCustomChannelWithInterceptors(
                                target, grpc::InsecureChannelCredentials(),
                                grpc::ChannelArguments(), std::move(cf));
    grpc::Slice s(std::string(64, 'x'));
    request_ = grpc::ByteBuffer(&s, 1);
  }
  ~Endpoint() { server_->Shutdown(std::chrono::system_clock::now()); }

  bool call() {
    grpc::ClientContext ctx;
    grpc::ByteBuffer resp;
    return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
               channel_.get(),
               grpc::internal::RpcMethod(kMethod, grpc::internal::RpcMethod::NORMAL_RPC), &ctx,
               request_, &resp)
        .ok();
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  EchoService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  grpc::ByteBuffer request_;
};

std::vector<std::unique_ptr<Endpoint>>& endpoints() {
  static std::vector<std::unique_ptr<Endpoint>> e;
  return e;
}

void BM_unary(benchmark::State& state, Endpoint* e) {
  for (int i = 0; i < 100; ++i) e->call();  // connection up, threads warm
  for (auto _ : state) {
    if (!e->call()) state.SkipWithError("call failed");
  }
  state.SetItemsProcessed(state.iterations());
}

double median(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void BM_interleaved(benchmark::State& state) {
  auto& eps = endpoints();
  std::vector<std::vector<double>> samples(eps.size());
  for (auto& e : eps) {
    for (int i = 0; i < 100; ++i) e->call();
  }
  // A new order each iteration: a variant's call would otherwise always follow the same other
  // variant's and inherit the caches (and the gRPC threads' wake-ups) that one leaves behind.
  std::vector<std::size_t> order(eps.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::minstd_rand shuffle_rng(42);
  for (auto _ : state) {
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    for (const std::size_t i : order) {
      const auto t0 = std::chrono::steady_clock::now();
      if (!eps[i]->call()) state.SkipWithError("call failed");
      const auto t1 = std::chrono::steady_clock::now();
      samples[i].push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  }
  const double base = median(samples[0]);
  for (std::size_t i = 0; i < eps.size(); ++i) {
    const double m = i == 0 ? base : median(samples[i]);
    state.counters[eps[i]->name() + "_us"] = m;
    if (i != 0 && base > 0) state.counters[eps[i]->name() + "_ratio"] = m / base;
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  kt::TracerProvider provider({.exporter = kt::TracerExporter::None(),
                               .sampler = kt::Sampler::parent_based(kt::Sampler::always_on())});
  for (const Variant& v : variants()) {
    endpoints().push_back(std::make_unique<Endpoint>(v));
    benchmark::RegisterBenchmark(("BM_unary/" + v.name).c_str(), BM_unary, endpoints().back().get())
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("BM_interleaved", BM_interleaved)->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  endpoints().clear();
  return 0;
}
