#pragma once
// A small gRPC server on the generic callback API: each method path maps to a handler that takes
// and returns a demo Message. Handlers run on a thread of their own, so one may call another
// server (the shuffle fetch) without holding a gRPC callback thread.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_callback.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rpc.hpp"
#include "wire.hpp"

namespace demo {

using Handler = std::function<grpc::Status(const Message& request, Message& reply)>;

class Server : public grpc::CallbackGenericService {
 public:
  // `listen` is host:port; port 0 lets the kernel choose (port() then says which).
  Server(const std::string& listen, std::map<std::string, demo::Handler> handlers)
      : handlers_(std::move(handlers)) {
    grpc::ServerBuilder b;
    b.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port_);
    add_server_tracing(b);
    b.RegisterCallbackGenericService(this);
    server_ = b.BuildAndStart();
  }
  ~Server() override { stop(); }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  bool ok() const { return server_ != nullptr && port_ > 0; }
  int port() const { return port_; }

  void stop() {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      server_->Wait();
      server_.reset();
    }
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new Call(this, ctx);
  }

 private:
  class Call final : public grpc::ServerGenericBidiReactor {
   public:
    Call(Server* s, grpc::GenericCallbackServerContext* ctx) : s_(s), ctx_(ctx) {
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request message"));
        return;
      }
      s_->spawn([this] {
        Message reply;
        grpc::Status status;
        const auto it = s_->handlers_.find(ctx_->method());
        if (it == s_->handlers_.end()) {
          status = grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no method " + ctx_->method());
        } else {
          const Message request = decode(from_buffer(request_));
          status = serve_traced(*ctx_, [&] { return it->second(request, reply); });
        }
        if (status.ok()) {
          response_ = to_buffer(encode(reply));
          StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
        } else {
          Finish(status);
        }
      });
    }
    void OnDone() override { delete this; }

   private:
    Server* s_;
    grpc::GenericCallbackServerContext* ctx_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  void spawn(std::function<void()> f) {
    std::lock_guard lock(mu_);
    threads_.emplace_back(std::move(f));
  }

  std::map<std::string, demo::Handler> handlers_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

}  // namespace demo
