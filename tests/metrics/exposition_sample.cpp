// Prints an exposition with every case the writer escapes or formats (label values with
// backslash, double quote, line feed and UTF-8; HELP with both escapes; tiny, huge and negative
// numbers; a counter), for `promtool check metrics` to read (prometheus_test.py).

#include <cstdio>

#include "krishiv/trace/metrics/prometheus.hpp"
#include "krishiv/trace/metrics/registry.hpp"

int main() {
  namespace m = krishiv::trace::metrics;
  m::Registry reg;
  auto& h = reg.histogram("sample_request_duration_seconds",
                          "Odd help: a \\ backslash,\na line feed and \"quotes\".",
                          {"method", "code"}, {0.00001, 0.0001, 0.5, 1, 2.5, 1e6});
  h.series({"/p.S/M", "OK"}).record(0.00002);
  h.series({"/p.S/M", "OK"}).record(3e6);
  h.series({"back\\slash \"quoted\"\nnew line", "INTERNAL"}).record(-1);
  h.series({"ünïcödé ✓", "OK"}).record(0.75);
  auto& c = reg.counter("sample_events_total", "Events seen.", {"kind"});
  c.series({"a\"b"}).add(3);
  reg.counter("sample_plain_total", "No labels.").series({}).inc();
  const std::string text = m::to_prometheus_text(reg);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
