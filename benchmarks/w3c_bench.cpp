// W3C Trace Context hot paths: every incoming request parses traceparent (+ tracestate), every
// outgoing one formats them.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "krishiv/trace/propagation/traceparent.hpp"

using namespace krishiv::trace;

namespace {

constexpr std::string_view kTraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// 32 members of realistic shapes (vendor ids, sampling state, tenant keys), just under the 512
// characters receivers must propagate.
std::string realistic_tracestate() {
  std::string s = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,ot=p:8;r:62,dd=s:1;o:rum";
  for (int i = 0; i < 28; ++i) {
    s += ",t" + std::to_string(i) + "@vnd=" + std::to_string(100003 * (i + 1));
  }
  return s;
}

void BM_TraceParentParse(benchmark::State& state) {
  std::string_view input = kTraceParent;
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    auto tp = TraceParent::parse(input);
    benchmark::DoNotOptimize(tp);
  }
}
BENCHMARK(BM_TraceParentParse);

// As a server sees them: a different random trace and parent id in every header. Parsing one
// string over and over lets the branch predictor learn its digits; fresh ids do not.
void BM_TraceParentParseFresh(benchmark::State& state) {
  std::vector<std::string> headers;
  for (int i = 0; i < 4096; ++i) {
    TraceParent tp{TraceId::random(), SpanId::random(), TraceFlags(TraceFlags::kSampled)};
    headers.push_back(tp.to_string());
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto tp = TraceParent::parse(headers[i++ % headers.size()]);
    benchmark::DoNotOptimize(tp);
  }
}
BENCHMARK(BM_TraceParentParseFresh);

void BM_TraceParentToString(benchmark::State& state) {
  const auto tp = *TraceParent::parse(kTraceParent);
  for (auto _ : state) {
    auto s = tp.to_string();
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_TraceParentToString);

void BM_TraceParentWrite(benchmark::State& state) {
  const auto tp = *TraceParent::parse(kTraceParent);
  char buf[TraceParent::kSize];
  for (auto _ : state) {
    tp.write(buf);
    benchmark::DoNotOptimize(buf);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_TraceParentWrite);

void BM_TraceStateParse32(benchmark::State& state) {
  const auto header = realistic_tracestate();
  const auto check = TraceState::parse(header);
  if (!check || check->size() != 32 || check->to_string() != header) {
    state.SkipWithError("fixture is not a canonical 32-member header");
  }
  for (auto _ : state) {
    auto ts = TraceState::parse(header);
    benchmark::DoNotOptimize(ts);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * header.size()));
}
BENCHMARK(BM_TraceStateParse32);

void BM_TraceStateParseSmall(benchmark::State& state) {
  const std::string header = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
  for (auto _ : state) {
    auto ts = TraceState::parse(header);
    benchmark::DoNotOptimize(ts);
  }
}
BENCHMARK(BM_TraceStateParseSmall);

void BM_TraceStateToString32(benchmark::State& state) {
  const auto ts = *TraceState::parse(realistic_tracestate());
  for (auto _ : state) {
    auto s = ts.to_string();
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_TraceStateToString32);

void BM_TraceStateCopy(benchmark::State& state) {
  const auto ts = *TraceState::parse(realistic_tracestate());
  for (auto _ : state) {
    auto copy = ts;
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_TraceStateCopy);

void BM_ExtractSpanContext(benchmark::State& state) {
  const std::string ts = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
  for (auto _ : state) {
    auto ctx = extract_span_context(kTraceParent, ts);
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_ExtractSpanContext);

}  // namespace

BENCHMARK_MAIN();
