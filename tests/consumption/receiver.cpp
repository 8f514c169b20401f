// The OTLP receiver the consumption test's OTLP consumer exports to: the in-test collector
// (tests/otlp_export/collector.hpp) on 127.0.0.1, port chosen by the kernel and written to
// $KT_RECEIVER_PORT_FILE once it listens. Passes when spans named consumer_job and consumer_step
// have arrived through the trace service's Export method, as decoded from the wire; fails after
// a generous guard otherwise, so it always ends by itself. check.sh starts it, runs the consumer
// against it and waits for its verdict.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "../otlp_export/collector.hpp"

namespace {

std::set<std::string> span_names(const krishiv::trace::test::Collector& c) {
  std::set<std::string> names;
  for (const auto& s : c.spans()) names.insert(s.name);
  return names;
}

}  // namespace

TEST_CASE("the OTLP consumer's spans arrive over OTLP/gRPC", "[consumption]") {
  const char* port_file = std::getenv("KT_RECEIVER_PORT_FILE");
  REQUIRE(port_file != nullptr);
  krishiv::trace::test::Collector collector;
  {
    // Written aside and renamed, so check.sh never reads a partial port.
    const std::string tmp = std::string(port_file) + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fprintf(f, "%d\n", collector.port());
    REQUIRE(std::fclose(f) == 0);
    REQUIRE(std::rename(tmp.c_str(), port_file) == 0);
  }
  const bool both = collector.wait_for(
      [&] {
        const auto names = span_names(collector);
        return names.count("consumer_job") == 1 && names.count("consumer_step") == 1;
      },
      std::chrono::seconds(120));
  for (const auto& name : span_names(collector)) std::printf("receiver: span %s\n", name.c_str());
  CHECK(both);
  for (const auto& r : collector.received()) {
    CHECK(r.method == "/opentelemetry.proto.collector.trace.v1.TraceService/Export");
  }
}
