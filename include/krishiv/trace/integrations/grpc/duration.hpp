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

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
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

// The duration histogram's series on one side (client or server), with the methods seen so far
// remembered: a call then neither copies its method's name nor looks its series up when it ends
// OK, as most calls do. Insert-only and lock-free: a slot is filled once and never emptied while
// the table lives, which is as long as a layer, factory or call holds it (a call may end after its
// channel is gone). Past kSlots methods (a proxy forwarding any method, say) a call keeps a copy
// of its method's name and finds its series by it.
class GrpcSideSeries {
 public:
  struct Method {
    std::string name;
    // Found on the first OK call, not before: a method that never succeeds shows no OK series.
    mutable std::atomic<metrics::HistogramSeries*> ok{nullptr};
  };

  GrpcSideSeries(metrics::Histogram* histogram, std::string_view side)
      : histogram_(histogram), side_(side) {}
  GrpcSideSeries(const GrpcSideSeries&) = delete;
  GrpcSideSeries& operator=(const GrpcSideSeries&) = delete;
  ~GrpcSideSeries() {
    for (auto& slot : slots_) delete slot.load(std::memory_order_relaxed);
  }

  // The remembered method, added if there is room; nullptr when the table is full.
  const Method* find(std::string_view method) {
    const std::size_t h = std::hash<std::string_view>{}(method);
    std::unique_ptr<Method> made;
    for (std::size_t i = 0; i < kSlots; ++i) {
      std::atomic<Method*>& slot = slots_[(h + i) % kSlots];
      Method* m = slot.load(std::memory_order_acquire);
      if (m == nullptr) {
        if (!made) {
          made = std::make_unique<Method>();
          made->name.assign(method);
        }
        if (slot.compare_exchange_strong(m, made.get(), std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
          return made.release();
        }
        // Another call filled the slot meanwhile: m is what it put there.
      }
      if (m->name == method) return m;
    }
    return nullptr;
  }

  metrics::HistogramSeries& series(std::string_view method, std::string_view code) {
    return histogram_->series({method, code, side_});
  }
  metrics::HistogramSeries& ok_series(const Method& m) {
    metrics::HistogramSeries* s = m.ok.load(std::memory_order_acquire);
    if (s == nullptr) {
      // Racing calls find the same series: storing it twice is harmless.
      s = &series(m.name, "OK");
      m.ok.store(s, std::memory_order_release);
    }
    return *s;
  }

 private:
  static constexpr std::size_t kSlots = 64;
  metrics::Histogram* histogram_;
  std::string_view side_;  // a literal
  std::array<std::atomic<Method*>, kSlots> slots_{};
};

// One call's timing, from its creation (the client's call start; the server's arrival of the
// call) to stop(): the status received (client) or about to be sent (server). commit() records
// it, apart from stop() so that a server records after its reply has left, off the call's
// latency. A call destroyed before its status is recorded as CANCELLED. Used by
// GrpcDurationInterceptor and, when a tracing interceptor factory is given a GrpcDurationLayer, by
// the tracing interceptors themselves.
class GrpcCallTimer {
 public:
  GrpcCallTimer(std::shared_ptr<GrpcSideSeries> series, const char* method)
      : series_(std::move(series)), start_(std::chrono::steady_clock::now()) {
    const std::string_view name = method != nullptr ? method : "";
    method_ = series_->find(name);
    // A copy: on the server, gRPC's own may already be gone when the destructor records.
    if (method_ == nullptr) name_.assign(name);
  }
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
    const double seconds = std::chrono::duration<double>(end_ - start_).count();
    if (method_ != nullptr && code_ == 0) {
      series_->ok_series(*method_).record(seconds);
      return;
    }
    series_
        ->series(method_ != nullptr ? std::string_view(method_->name) : std::string_view(name_),
                 grpc_status_code_name(code_))
        .record(seconds);
  }

 private:
  std::shared_ptr<GrpcSideSeries> series_;
  const GrpcSideSeries::Method* method_ = nullptr;
  std::string name_;  // the method's, when the table had no room for it
  bool stopped_ = false;
  bool committed_ = false;
  int code_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point end_;
};

// The hook points that end a call's timing. The client records at once: its caller may read the
// histogram as soon as the call returns. The server stops the clock before its status is sent
// and records when the call closes (POST_RECV_CLOSE), after the reply has left.
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
  GrpcDurationInterceptor(const std::shared_ptr<GrpcSideSeries>& series, const char* method,
                          bool client)
      : timer_(series, method), client_(client) {
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
  explicit GrpcDurationClientFactory(std::shared_ptr<GrpcSideSeries> series)
      : series_(std::move(series)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new GrpcDurationInterceptor(series_, info->method(), true);
  }

 private:
  std::shared_ptr<GrpcSideSeries> series_;
};

class GrpcDurationServerFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcDurationServerFactory(std::shared_ptr<GrpcSideSeries> series)
      : series_(std::move(series)) {}
  // The server destroys its factories after its last call: an ordering libgrpc provides with
  // synchronization TSan cannot see when libgrpc is not built with it (detail/tsan.hpp).
  ~GrpcDurationServerFactory() override { detail::tsan_acquire(this); }
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    auto* interceptor = new GrpcDurationInterceptor(series_, info->method(), false);
    detail::tsan_release(this);  // after the last use of the factory's members
    return interceptor;
  }

 private:
  std::shared_ptr<GrpcSideSeries> series_;
};

}  // namespace detail

class ClientTracingInterceptorFactory;
class ServerTracingInterceptorFactory;

class GrpcDurationLayer {
 public:
  explicit GrpcDurationLayer(metrics::Registry& registry, GrpcDurationOptions options = {})
      : histogram_(&registry.histogram(std::move(options.metric_name),
                                       "Duration of gRPC calls, from the call's start to its "
                                       "status, by method, status code and side.",
                                       {"method", "code", "side"}, std::move(options.buckets))),
        sides_(std::make_shared<Sides>(histogram_)) {}

  // One factory per channel or server (gRPC takes ownership); each records into the same
  // histogram.
  std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> client_factory() const {
    return std::make_unique<detail::GrpcDurationClientFactory>(client_series());
  }
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> server_factory() const {
    return std::make_unique<detail::GrpcDurationServerFactory>(server_series());
  }

  metrics::Histogram& histogram() const noexcept { return *histogram_; }

 private:
  friend class ClientTracingInterceptorFactory;  // they time calls themselves
  friend class ServerTracingInterceptorFactory;

  struct Sides {
    explicit Sides(metrics::Histogram* h) : client(h, "client"), server(h, "server") {}
    detail::GrpcSideSeries client;
    detail::GrpcSideSeries server;
  };
  std::shared_ptr<detail::GrpcSideSeries> client_series() const {
    return {sides_, &sides_->client};
  }
  std::shared_ptr<detail::GrpcSideSeries> server_series() const {
    return {sides_, &sides_->server};
  }

  metrics::Histogram* histogram_;
  std::shared_ptr<Sides> sides_;
};

}  // namespace krishiv::trace
