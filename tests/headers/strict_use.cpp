// Compiled by strict_check.sh with the users' warning flags: what a typical user TU instantiates
// (a header alone emits no code, so the optimisers' warnings, like g++'s -Wdangling-pointer, only
// show in functions that use it). Never run; only needs to compile without a warning.
#include <krishiv/trace.hpp>
#include <krishiv/trace/coro.hpp>
#include <krishiv/trace/integrations/grpc/status_code.hpp>
#include <krishiv/trace/integrations/grpc/target.hpp>
#include <krishiv/trace/metrics/prometheus.hpp>
#include <krishiv/trace/metrics/registry.hpp>
#include <krishiv/trace/propagation/carrier.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kt = krishiv::trace;

using Commit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;

// As in examples/quickstart.cpp: g++ 12 -O3 reported -Wdangling-pointer here (context.hpp).
void write_manifest(std::int64_t epoch) {
  auto span = kt::info_span("write_manifest", kt::epoch{epoch}).entered();
  if (epoch == 2) {
    span.set_status(kt::StatusCode::Error, "disk full");
    return;
  }
  span.add_event("manifest_written", kt::attr("bytes", 4096), kt::attr("path", "s3://ckpt/m"));
}

void commit(std::int64_t epoch) {
  auto c = Commit::enter("j-7", epoch);
  c.set_attribute("bytes", 4096);
  write_manifest(epoch);
}

// A scope alone: g++ 12 -O2 reported -Wdangling-pointer here.
int g_sink;
void scope_only(const kt::Context& ctx) {
  kt::ContextScope scope(ctx);
  g_sink = 1;
}

std::string inject() {
  kt::ContextScope scope(kt::Context::current());
  return kt::current_traceparent() + kt::current_tracestate();
}

// Carriers: every adapter, both directions (propagation/carrier.hpp).
std::size_t carriers(const kt::SpanContext& ctx) {
  std::map<std::string, std::string> m;
  std::multimap<std::string, std::string> mm;
  std::vector<std::pair<std::string, std::string>> list;
  kt::inject_trace_context(m, ctx);
  kt::inject_trace_context(mm);
  kt::inject_trace_context(list, ctx);
  return static_cast<std::size_t>(kt::extract_trace_context(m).is_valid()) +
         static_cast<std::size_t>(kt::extract_trace_context(mm).flags.bits()) +
         kt::extract_trace_context(list).trace_state.size() +
         (kt::parse_grpc_target("dns:///h:1") ? 1U : 0U) + kt::grpc_status_code_name(4).size();
}

kt::task<int> child(int i) {
  auto span = kt::debug_span("child").entered();
  co_return i + 1;
}

kt::task<int> parent() {
  auto span = kt::info_span("parent").entered();
  int sum = 0;
  for (int i = 0; i < 3; ++i) sum += co_await child(i);
  co_return sum;
}

// Metrics as a service uses them: a registry, a series handle, records, the exposition.
std::size_t metrics() {
  kt::metrics::Registry registry;
  auto& h = registry.histogram("calls_seconds", "Calls.", {"method"}, {0.001, 0.01, 0.1});
  auto& s = h.series({"/p.S/M"});
  for (int i = 0; i < 4; ++i) s.record(0.002 * i);
  registry.counter("calls_total", "Calls.").series({}).inc();
  return kt::metrics::to_prometheus_text(registry).size();
}

int run() {
  kt::TracerProvider provider;
  auto job = kt::info_span("run_job", kt::job_id{"j-7"}).entered();
  commit(1);
  scope_only(kt::Context::current());
  return kt::sync_wait(parent()) + static_cast<int>(inject().size() + metrics()) +
         static_cast<int>(carriers(job.context()));
}
