#pragma once
// GrpcDurationService: the one line that traces every call of a server or a channel (the tracing
// interceptors of integrations/grpc/{client,server}_interceptor.hpp) and times it into
// `krishiv_grpc_call_duration_seconds` (integrations/grpc/duration.hpp):
//
//   krishiv::trace::metrics::Registry registry;             // outlives servers and channels
//   krishiv::trace::GrpcDurationService grpc_metrics(registry);
//   grpc_metrics.add_to(builder, "127.0.0.1:50051");        // a grpc::ServerBuilder
//   auto channel = grpc_metrics.create_channel("dns:///executor:50051",
//                                              grpc::InsecureChannelCredentials());
//
// add_to() sets the builder's interceptor creators, replacing any set before: a server with
// interceptors of its own appends server_interceptors() to its list and sets that instead.
// Tracing::Off gives the histogram alone (for a server traced some other way).

#include <grpcpp/channel.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "krishiv/trace/integrations/grpc/client_interceptor.hpp"
#include "krishiv/trace/integrations/grpc/duration.hpp"
#include "krishiv/trace/integrations/grpc/server_interceptor.hpp"
#include "krishiv/trace/metrics/registry.hpp"

namespace krishiv::trace {

class GrpcDurationService {
 public:
  enum class Tracing { On, Off };

  explicit GrpcDurationService(metrics::Registry& registry, GrpcDurationOptions options = {},
                               Tracing tracing = Tracing::On)
      : duration_(registry, std::move(options)), tracing_(tracing) {}

  // With tracing, one interceptor per call does both (the tracing factories given this layer):
  // each interceptor costs gRPC a pass per step of every call.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  server_interceptors(std::string_view listen_address = {}) const {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
    if (tracing_ == Tracing::On) {
      out.push_back(std::make_unique<ServerTracingInterceptorFactory>(listen_address, duration_));
    } else {
      out.push_back(duration_.server_factory());
    }
    return out;
  }

  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
  client_interceptors(std::string_view target = {}) const {
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> out;
    if (tracing_ == Tracing::On) {
      out.push_back(std::make_unique<ClientTracingInterceptorFactory>(target, duration_));
    } else {
      out.push_back(duration_.client_factory());
    }
    return out;
  }

  // listen_address: where the server listens, for the SERVER spans' server.address/port.
  void add_to(grpc::ServerBuilder& builder, std::string_view listen_address = {}) const {
    builder.experimental().SetInterceptorCreators(server_interceptors(listen_address));
  }

  std::shared_ptr<grpc::Channel> create_channel(
      const std::string& target, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
      const grpc::ChannelArguments& args = {}) const {
    return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, args,
                                                                   client_interceptors(target));
  }

  const GrpcDurationLayer& duration() const noexcept { return duration_; }

 private:
  GrpcDurationLayer duration_;
  Tracing tracing_;
};

}  // namespace krishiv::trace
