// A program built against krishiv-trace from another build: a two-span tree on stdout, printed by
// the console exporter, or counted with the in-memory one where the build has no fmt
// (KT_CONSUMER_CONSOLE undefined).
#include <krishiv/trace.hpp>
#ifdef KT_CONSUMER_CONSOLE
#include <krishiv/trace/exporters/console.hpp>
#else
#include <krishiv/trace/exporters/in_memory.hpp>
#endif

#include <cstdio>
#include <memory>

namespace kt = krishiv::trace;

int main() {
#ifdef KT_CONSUMER_CONSOLE
  auto exporter = kt::TracerExporter::Custom(
      std::make_shared<kt::ConsoleExporter>(stdout, kt::ColorMode::Never));
#else
  auto sink = std::make_shared<kt::InMemoryExporter>();
  auto exporter = kt::TracerExporter::InMemory(sink);
#endif
  {
    kt::TracerProvider provider({.exporter = exporter, .sampler = kt::Sampler::always_on()});
    auto job = kt::info_span("consumer_job", kt::job_id{"j-1"}).entered();
    auto step = kt::info_span("consumer_step", kt::epoch{1}).entered();
  }  // the spans end, then the provider flushes them
#ifndef KT_CONSUMER_CONSOLE
  for (const auto& s : sink->spans()) std::printf("%s\n", s.name.c_str());
  return sink->size() == 2 ? 0 : 1;
#endif
}
