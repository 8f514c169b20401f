#pragma once
// A provider feeding an in-memory sink, for one test case.

#include <krishiv/trace.hpp>
#include <krishiv/trace/exporters/in_memory.hpp>

#include <memory>

namespace test {

namespace kt = krishiv::trace;

struct Recorder {
  std::shared_ptr<kt::InMemoryExporter> sink = std::make_shared<kt::InMemoryExporter>();
  kt::TracerProvider provider;

  explicit Recorder(kt::TracerProviderOptions o = {}) : provider(with_sink(std::move(o), sink)) {}

  std::vector<kt::SpanData> flush() {
    provider.force_flush();
    return sink->spans();
  }

 private:
  static kt::TracerProviderOptions with_sink(kt::TracerProviderOptions o,
                                             const std::shared_ptr<kt::InMemoryExporter>& s) {
    if (!o.exporter) o.exporter = kt::TracerExporter::InMemory(s);
    if (!o.sampler) o.sampler = kt::Sampler::always_on();
    // Tests check every span arrives: a queue no test loop can overrun.
    if (!o.batch) o.batch = kt::BatchOptions{.max_queue_size = 1 << 20};
    return o;
  }
};

inline const kt::SpanData& by_name(const std::vector<kt::SpanData>& spans, std::string_view n) {
  for (const auto& s : spans) {
    if (s.name == n) return s;
  }
  FAIL("no span named " << n);
  return spans.front();
}

}  // namespace test
