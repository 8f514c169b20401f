#pragma once
// GrpcDurationLayer: gRPC client and server interceptors timing every call into the histogram
// `krishiv_grpc_call_duration_seconds`, labelled `method` ("/package.Service/Method"), `code`
// (the status code's name, "OK") and `side` ("client" or "server").
//
// A call is timed from the moment gRPC creates its interceptors (the client's call start; the
// server's arrival of the call) to its status: received, on the client (POST_RECV_STATUS); about
// to be sent, on the server (PRE_SEND_STATUS). The client records at once; the server records
// when the call closes (POST_RECV_CLOSE), after its reply has left, so that the reply does not
// wait for it. A call that ends without a status (the server's handler never finishing before a
// client cancel, say) is recorded when gRPC destroys it, as CANCELLED.
//
// The histogram lives in a metrics::Registry that must outlive every channel and server using
// the factories. Recording takes no lock (metrics/histogram.hpp); finding the series for a
// (method, code) pair is a lock-free lookup.

#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/interceptor.h>
#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "krishiv/trace/detail/tsan.hpp"
#include "krishiv/trace/integrations/grpc/status_code.hpp"
#include "krishiv/trace/metrics/histogram.hpp"
#include "krishiv/trace/metrics/registry.hpp"

namespace krishiv::trace {

// Krishiv's buckets, in seconds: 100 µs to 10 s. Fine at the low end on purpose: a first bucket
// of 5 ms (the usual client default) puts every fast call in it and leaves tail-latency
// objectives on local calls unreadable.
inline const std::vector<double>& grpc_duration_default_buckets() {
  static const std::vector<double> buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                           1,      2.5,     5,      10};
  return buckets;
}

struct GrpcDurationOptions {
  std::string metric_name = "krishiv_grpc_call_duration_seconds";
  std::vector<double> buckets = grpc_duration_default_buckets();
};

namespace detail {

// One call's timing, from its creation (the client's call start; the server's arrival of the
// call) to stop(): the status received (client) or about to be sent (server). commit() records
// it, apart from stop() so that a server records after its reply has left, off the call's
// latency. A call destroyed before its status is recorded as CANCELLED. Used by
// GrpcDurationInterceptor and, when a tracing interceptor factory is given a GrpcDurationLayer, by
// the tracing interceptors themselves.
class GrpcCallTimer {
 public:
  GrpcCallTimer(metrics::Histogram* histogram, const char* method, std::string_view side)
      : histogram_(histogram),
        method_(method != nullptr ? method : ""),
        side_(side),
        start_(std::chrono::steady_clock::now()) {}
  GrpcCallTimer(const GrpcCallTimer&) = delete;
  GrpcCallTimer& operator=(const GrpcCallTimer&) = delete;
  ~GrpcCallTimer() {
    stop(static_cast<int>(grpc::StatusCode::CANCELLED));
    commit();
  }

  // The call's end and status code. Only the first call counts.
  void stop(int code) noexcept {
    if (stopped_) return;
    stopped_ = true;
    code_ = code;
    end_ = std::chrono::steady_clock::now();
  }
  // Into the histogram, once, if stopped.
  void commit() {
    if (!stopped_ || committed_) return;
    committed_ = true;
    const std::chrono::duration<double> took = end_ - start_;
    histogram_->series({method_, grpc_status_code_name(code_), side_}).record(took.count());
  }

 private:
  metrics::Histogram* histogram_;
  // A copy: on the server, gRPC's own copy may already be gone when the destructor records.
  std::string method_;
  std::string_view side_;
  bool stopped_ = false;
  bool committed_ = false;
  int code_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point end_;
};

// The hook points that end a call's timing. The client records at once: its caller may read the
// histogram as soon as the call returns. The server stops the clock before its status is sent
// and records when the call closes (commit_server_call), after the reply has left.
inline void time_client_call(GrpcCallTimer& timer, grpc::experimental::InterceptorBatchMethods* m) {
  if (m->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::POST_RECV_STATUS)) {
    const grpc::Status* status = m->GetRecvStatus();
    timer.stop(
        static_cast<int>(status != nullptr ? status->error_code() : grpc::StatusCode::UNKNOWN));
    timer.commit();
  }
}
inline void time_server_call(GrpcCallTimer& timer, grpc::experimental::InterceptorBatchMethods* m) {
  if (m->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
    timer.stop(static_cast<int>(m->GetSendStatus().error_code()));
  }
  if (m->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::POST_RECV_CLOSE)) {
    timer.commit();
  }
}

class GrpcDurationInterceptor final : public grpc::experimental::Interceptor {
 public:
  GrpcDurationInterceptor(metrics::Histogram* histogram, const char* method, std::string_view side,
                          bool client)
      : timer_(histogram, method, side), client_(client) {
    detail::tsan_release(this);
  }
  // gRPC creates, runs and destroys a call's interceptor on whichever of its threads serves the
  // call, one step at a time: each step happens after the one before (detail/tsan.hpp).
  ~GrpcDurationInterceptor() override { detail::tsan_acquire(this); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    detail::tsan_acquire(this);
    if (client_) {
      time_client_call(timer_, methods);
    } else {
      time_server_call(timer_, methods);
    }
    // Before Proceed(): the next step may start on another thread before Proceed() returns.
    detail::tsan_release(this);
    methods->Proceed();
  }

 private:
  GrpcCallTimer timer_;
  bool client_;
};

class GrpcDurationClientFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit GrpcDurationClientFactory(metrics::Histogram* h) : histogram_(h) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new GrpcDurationInterceptor(histogram_, info->method(), "client", true);
  }

 private:
  metrics::Histogram* histogram_;
};

class GrpcDurationServerFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcDurationServerFactory(metrics::Histogram* h) : histogram_(h) {}
  // The server destroys its factories after its last call: an ordering libgrpc provides with
  // synchronization TSan cannot see when libgrpc is not built with it (detail/tsan.hpp).
  ~GrpcDurationServerFactory() override { detail::tsan_acquire(this); }
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    auto* interceptor = new GrpcDurationInterceptor(histogram_, info->method(), "server", false);
    detail::tsan_release(this);  // after the last use of the factory's members
    return interceptor;
  }

 private:
  metrics::Histogram* histogram_;
};

}  // namespace detail

class GrpcDurationLayer {
 public:
  explicit GrpcDurationLayer(metrics::Registry& registry, GrpcDurationOptions options = {})
      : histogram_(&registry.histogram(std::move(options.metric_name),
                                       "Duration of gRPC calls, from the call's start to its "
                                       "status, by method, status code and side.",
                                       {"method", "code", "side"}, std::move(options.buckets))) {}

  // One factory per channel or server (gRPC takes ownership); each records into the same
  // histogram.
  std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> client_factory() const {
    return std::make_unique<detail::GrpcDurationClientFactory>(histogram_);
  }
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> server_factory() const {
    return std::make_unique<detail::GrpcDurationServerFactory>(histogram_);
  }

  metrics::Histogram& histogram() const noexcept { return *histogram_; }

 private:
  metrics::Histogram* histogram_;
};

}  // namespace krishiv::trace
