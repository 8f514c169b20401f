#pragma once
// A gRPC service without generated code (ByteBuffer in, ByteBuffer out), for the tracing tests:
// what protoc would generate for a unary method, written by hand with grpc++'s handler classes.

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/method_handler.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace krishiv::trace::test {

inline grpc::ByteBuffer to_buffer(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

inline std::string to_string(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!b.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

using SyncHandler =
    std::function<grpc::Status(grpc::ServerContext*, const std::string&, std::string&)>;
using CallbackHandler = std::function<grpc::ServerUnaryReactor*(
    grpc::CallbackServerContext*, const grpc::ByteBuffer*, grpc::ByteBuffer*)>;

// Methods are registered in order: sync ones as grpc::Service methods, callback ones marked so.
class ByteService : public grpc::Service {
 public:
  void add_sync(const char* name, SyncHandler h) {
    AddMethod(new grpc::internal::RpcServiceMethod(
        name, grpc::internal::RpcMethod::NORMAL_RPC,
        new grpc::internal::RpcMethodHandler<ByteService, grpc::ByteBuffer, grpc::ByteBuffer>(
            [h = std::move(h)](ByteService*, grpc::ServerContext* ctx, const grpc::ByteBuffer* req,
                               grpc::ByteBuffer* resp) {
              std::string out;
              grpc::Status s = h(ctx, to_string(*req), out);
              *resp = to_buffer(out);
              return s;
            },
            this)));
    ++count_;
  }
  void add_callback(const char* name, CallbackHandler h) {
    AddMethod(
        new grpc::internal::RpcServiceMethod(name, grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
    MarkMethodCallback(
        count_++,
        new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(std::move(h)));
  }

 private:
  int count_ = 0;
};

// A blocking unary call on `method`, as generated synchronous stubs make it.
inline grpc::Status call(grpc::ChannelInterface& channel, const char* method,
                         grpc::ClientContext& ctx, const std::string& request,
                         std::string* response = nullptr) {
  grpc::ByteBuffer resp;
  const grpc::Status s = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      &channel, grpc::internal::RpcMethod(method, grpc::internal::RpcMethod::NORMAL_RPC), &ctx,
      to_buffer(request), &resp);
  if (response != nullptr) *response = to_string(resp);
  return s;
}

}  // namespace krishiv::trace::test
