// gRPC targets and peers to server.address / server.port (integrations/grpc/target.hpp).

#include <catch2/catch.hpp>

#include <optional>
#include <string_view>

#include "krishiv/trace/integrations/grpc/status_code.hpp"
#include "krishiv/trace/integrations/grpc/target.hpp"

namespace kt = krishiv::trace;

TEST_CASE("targets and peers name the server", "[target]") {
  struct Row {
    std::string_view target;
    std::string_view address;
    std::optional<std::int64_t> port;
  };
  const Row rows[] = {
      {"dns:///example.com:50051", "example.com", 50051},
      {"dns:example.com:50051", "example.com", 50051},
      {"dns://8.8.8.8/example.com:8080", "example.com", 8080},
      {"dns:///example.com", "example.com", 443},
      {"example.com:50051", "example.com", 50051},
      {"localhost:50051", "localhost", 50051},
      {"127.0.0.1:9000", "127.0.0.1", 9000},
      {"ipv4:127.0.0.1:9000", "127.0.0.1", 9000},
      {"ipv4:10.0.0.1:1,10.0.0.2:2", "10.0.0.1", 1},
      {"ipv6:[::1]:50051", "::1", 50051},
      {"ipv6:::1", "::1", 443},
      {"[2001:db8::1]:80", "2001:db8::1", 80},
      {"unix:/tmp/sock", "/tmp/sock", std::nullopt},
      {"unix:///tmp/sock", "/tmp/sock", std::nullopt},
      {"unix:relative/sock", "relative/sock", std::nullopt},
      {"unix-abstract:name", "name", std::nullopt},
  };
  for (const auto& r : rows) {
    CAPTURE(r.target);
    const auto a = kt::parse_grpc_target(r.target);
    REQUIRE(a);
    CHECK(a->address == r.address);
    CHECK(a->port == r.port);
  }
}

TEST_CASE("malformed targets give nothing", "[target]") {
  for (std::string_view t :
       {"", "dns:", "host:", "host:0", "host:65536", "host:12ab", ":80", "ipv6:[::1", "ipv6:[]:80",
        "ipv6:[::1]x", "unix:", "dns://resolver", "unix-abstract:"}) {
    CAPTURE(t);
    CHECK_FALSE(kt::parse_grpc_target(t));
  }
}

TEST_CASE("status code names and which codes are errors on each side", "[status]") {
  CHECK(kt::grpc_status_code_name(0) == "OK");
  CHECK(kt::grpc_status_code_name(4) == "DEADLINE_EXCEEDED");
  CHECK(kt::grpc_status_code_name(16) == "UNAUTHENTICATED");
  CHECK(kt::grpc_status_code_name(17) == "_OTHER");
  CHECK(kt::grpc_status_code_name(-1) == "_OTHER");
  int server_errors = 0;
  for (int c = 0; c <= 16; ++c) {
    CHECK(kt::grpc_client_status_is_error(c) == (c != 0));
    server_errors += kt::grpc_server_status_is_error(c) ? 1 : 0;
  }
  CHECK(server_errors == 6);
  for (int c : {2, 4, 12, 13, 14, 15}) CHECK(kt::grpc_server_status_is_error(c));
  for (int c : {0, 1, 3, 5, 7, 16}) CHECK_FALSE(kt::grpc_server_status_is_error(c));
}
