// The program fork_otlp_test runs: a provider exporting over OTLP/gRPC to
// OTEL_EXPORTER_OTLP_ENDPOINT records spans, forks, and both processes record and shut down.
// The child cannot use gRPC (exporters/otlp_grpc.hpp, after_fork): its spans must be counted as
// failed, promptly, from zero counters. Exit code 0 when every check holds in both; otherwise
// the failing check's code (the child's is reported by the parent plus 100). One line on stdout
// per process with its counts. The child leaves with _exit(), as the README asks of a forked
// child: with exit(), gRPC's exit-time cleanup runs in the child on descriptors it shares with
// the parent, which crashed the parent about once in 25 runs (gRPC 1.51).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fork_support.hpp"
#include "krishiv/trace.hpp"
#include "krishiv/trace/exporters/otlp_grpc.hpp"

using namespace std::chrono_literals;
namespace kt = krishiv::trace;

namespace {

void record(const std::string& prefix, int n) {
  for (int i = 0; i < n; ++i) kt::info_span(prefix + std::to_string(i));
}

int child_run(kt::TracerProvider& provider, kt::Span open_at_fork) {
  const auto at_start = provider.stats();
  if (at_start.exported != 0 || at_start.export_failed != 0) return 10;
  record("child-", 25);
  open_at_fork.end();  // the parent's copy is the one exported
  const bool ok = provider.shutdown(20s);
  const auto s = provider.stats();
  std::printf("child exported=%llu failed=%llu dropped=%llu orphans=%llu\n",
              static_cast<unsigned long long>(s.exported),
              static_cast<unsigned long long>(s.export_failed),
              static_cast<unsigned long long>(s.dropped_queue_full + s.dropped_inactive),
              static_cast<unsigned long long>(kt::TracerProvider::dropped_without_provider()));
  std::fflush(stdout);
  if (!ok) return 11;
  if (s.exported != 0 || s.export_failed != 25) return 12;
  if (s.dropped_queue_full != 0 || s.dropped_inactive != 0) return 13;
  if (kt::TracerProvider::dropped_without_provider() != 1) return 14;
  return 0;
}

}  // namespace

int main() {
  kt::BatchOptions b;
  b.schedule_delay = 50ms;
  kt::TracerProvider provider({.exporter = kt::TracerExporter::Otlp(), .batch = b});
  record("parent-before-", 20);
  if (!provider.force_flush(20s)) return 1;
  record("parent-pending-", 10);  // buffered at the fork: the parent's
  auto open_at_fork = kt::info_span("open-at-fork");

  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    int rc = 99;
    try {
      rc = child_run(provider, std::move(open_at_fork));
    } catch (...) {
    }
    std::fflush(stdout);
    ::_exit(rc);
  }
  const int child = fork_test::wait_child(pid, 90s);
  open_at_fork.end();
  record("parent-after-", 15);
  const bool ok = provider.shutdown(20s);
  const auto s = provider.stats();
  std::printf("parent exported=%llu failed=%llu child_exit=%d\n",
              static_cast<unsigned long long>(s.exported),
              static_cast<unsigned long long>(s.export_failed), child);
  if (child != 0) return child < 0 ? 3 : 100 + child;
  if (!ok) return 4;
  if (s.exported != 46 || s.export_failed != 0) return 5;
  return 0;
}
