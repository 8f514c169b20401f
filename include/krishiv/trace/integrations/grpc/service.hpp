#pragma once
// GrpcDurationService: the one line that times every call of a server or a channel into
// `krishiv_grpc_call_duration_seconds` (integrations/grpc/duration.hpp):
//
//   krishiv::trace::metrics::Registry registry;             // outlives servers and channels
//   krishiv::trace::GrpcDurationService grpc_metrics(registry);
//   grpc_metrics.add_to(builder);                           // a grpc::ServerBuilder
//   auto channel = grpc_metrics.create_channel("dns:///executor:50051",
//                                              grpc::InsecureChannelCredentials());
//
// add_to() sets the builder's interceptor creators, replacing any set before: a server with
// interceptors of its own appends server_interceptors() to its list and sets that instead.

#include <grpcpp/channel.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "krishiv/trace/integrations/grpc/duration.hpp"
#include "krishiv/trace/metrics/registry.hpp"

namespace krishiv::trace {

class GrpcDurationService {
 public:
  explicit GrpcDurationService(metrics::Registry& registry, GrpcDurationOptions options = {})
      : duration_(registry, std::move(options)) {}

  // gRPC runs interceptors in list order on the way out and in reverse on the way in.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  server_interceptors() const {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
    // Tracing goes first, so its SERVER span covers the timed part:
    // out.push_back(std::make_unique<ServerTracingInterceptorFactory>(...));
    out.push_back(duration_.server_factory());
    return out;
  }

  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
  client_interceptors() const {
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> out;
    // Tracing goes first, so its CLIENT span covers the timed part:
    // out.push_back(std::make_unique<ClientTracingInterceptorFactory>(...));
    out.push_back(duration_.client_factory());
    return out;
  }

  void add_to(grpc::ServerBuilder& builder) const {
    builder.experimental().SetInterceptorCreators(server_interceptors());
  }

  std::shared_ptr<grpc::Channel> create_channel(
      const std::string& target, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
      const grpc::ChannelArguments& args = {}) const {
    return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, args,
                                                                   client_interceptors());
  }

  const GrpcDurationLayer& duration() const noexcept { return duration_; }

 private:
  GrpcDurationLayer duration_;
};

}  // namespace krishiv::trace
