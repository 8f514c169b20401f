#pragma once
// The embedded OTLP/gRPC receiver: a TraceService/Export endpoint on 127.0.0.1 (a free port) that
// decodes each request with the demo's decoder (otlp_decode.hpp) and keeps the spans with their
// process's resource.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_callback.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "otlp_decode.hpp"
#include "wire.hpp"

namespace demo {

// A decoded span with the resource of the process that sent it.
struct ReceivedSpan {
  otlp::Span span;
  std::string service;   // service.name
  std::int64_t pid = 0;  // process.pid, 0 when absent
};

class Receiver : public grpc::CallbackGenericService {
 public:
  static constexpr const char* kExportMethod =
      "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

  Receiver() {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterCallbackGenericService(this);
    server_ = b.BuildAndStart();
  }
  ~Receiver() override { stop(); }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  bool ok() const { return server_ != nullptr && port_ > 0; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void stop() {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      server_->Wait();
      server_.reset();
    }
  }

  std::vector<ReceivedSpan> spans() const {
    std::lock_guard lock(mu_);
    return spans_;
  }
  std::size_t bad_requests() const {
    std::lock_guard lock(mu_);
    return bad_requests_;
  }

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new Call(this, ctx);
  }

 private:
  class Call final : public grpc::ServerGenericBidiReactor {
   public:
    Call(Receiver* r, grpc::GenericCallbackServerContext* ctx) : r_(r), ctx_(ctx) {
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request message"));
        return;
      }
      if (ctx_->method() != kExportMethod) {
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "only traces are received"));
        return;
      }
      if (!r_->take(from_buffer(request_))) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed request"));
        return;
      }
      // An empty ExportTraceServiceResponse: everything accepted.
      response_ = to_buffer(std::string());
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    Receiver* r_;
    grpc::GenericCallbackServerContext* ctx_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  bool take(const std::string& bytes) {
    otlp::Request req = otlp::decode_request(bytes);
    std::lock_guard lock(mu_);
    if (!req.ok) {
      ++bad_requests_;
      return false;
    }
    for (auto& group : req.resource_spans) {
      std::string service = "unknown_service";
      std::int64_t pid = 0;
      for (const auto& kv : group.resource) {
        if (kv.key == "service.name") service = otlp::to_text(kv.value);
        if (kv.key == "process.pid") {
          if (const auto* p = std::get_if<std::int64_t>(&kv.value)) pid = *p;
        }
      }
      for (auto& s : group.spans) spans_.push_back({std::move(s), service, pid});
    }
    return true;
  }

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  mutable std::mutex mu_;
  std::vector<ReceivedSpan> spans_;
  std::size_t bad_requests_ = 0;
};

}  // namespace demo
