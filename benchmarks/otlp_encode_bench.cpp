// OTLP protobuf encoding throughput: batches of 512 finished spans (the batch processor's default
// export size) encoded into a reused buffer. Target: >= 5M spans/s on one core.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/otlp/encoder.hpp"
#include "krishiv/trace/record/writer.hpp"
#include "krishiv/trace/resource.hpp"

namespace {

using namespace krishiv::trace;

// The four standard Krishiv fields.
constexpr FieldInfo kFields[] = {
    {"job_id", ValueType::String},
    {"task_id", ValueType::Int},
    {"epoch", ValueType::Int},
    {"operator_id", ValueType::String},
};
constexpr SchemaInfo kSchema{"operator.run", kFields, 4};
constexpr std::size_t kBatch = 512;

struct Fixture {
  Resource resource = Resource::defaults();
  InstrumentationScope scope;
  detail::TimeBase tb{0, 1'700'000'000'000'000'000, 1.0};
  std::vector<detail::ByteVector> records;
  SpanBatch batch{resource, scope, tb};

  // extra = dynamic attributes, an event and an error status on top of the schema fields.
  explicit Fixture(bool extra) {
    records.resize(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      detail::RecordHeader h{};
      h.kind = static_cast<std::uint8_t>(SpanKind::Internal);
      h.flags = TraceFlags::kSampled;
      h.trace_id = TraceId::from_u64(0x4bf92f3577b34da6, 0xa3ce929d0e0e4736 + i / 16);
      h.span_id = SpanId::from_u64(0x00f067aa0ba902b7 + i);
      h.parent_span_id = SpanId::from_u64(0x00f067aa0ba90000 + i / 16);
      h.bits = detail::kHasParent | detail::kParentRemoteKnown;
      h.start = static_cast<std::int64_t>(1000 * i);
      h.schema = &kSchema;
      detail::ByteVector body;
      detail::put_str(body, "job-2024-06-01-etl");
      detail::put_int(body, static_cast<std::int64_t>(i % 64));
      detail::put_int(body, std::int64_t{7});
      detail::put_str(body, "op/hash-join");
      if (extra) {
        h.status = static_cast<std::uint8_t>(StatusCode::Error);
        detail::put_attribute(body, "rows", static_cast<std::int64_t>(i * 1000));
        detail::put_attribute(body, "spilled", i % 2 == 0);
        detail::begin_event(body, h.start + 100, "spill", 1, 0);
        detail::put_key(body, "bytes");
        detail::put_natural(body, 1 << 20);
        detail::put_string_item(body, detail::Item::StatusMessage, "out of memory");
      }
      detail::append_record(records[i], h, h.start + 12345, body.data(), body.size());
    }
    for (const auto& r : records) batch.add_record(r.data());
  }
};

void run(benchmark::State& state, bool extra) {
  const Fixture f(extra);
  const OtlpEncoder encoder;
  std::string out;
  encoder.encode(f.batch, out);
  const std::size_t bytes = out.size();
  for (auto _ : state) {
    encoder.encode(f.batch, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["bytes/span"] = static_cast<double>(bytes) / kBatch;
}

void BM_OtlpEncode_KrishivFields(benchmark::State& state) {
  run(state, false);
}
void BM_OtlpEncode_KrishivFields_AttrsEventStatus(benchmark::State& state) {
  run(state, true);
}

void BM_OtlpEncodedSize_KrishivFields(benchmark::State& state) {
  const Fixture f(false);
  for (auto _ : state) benchmark::DoNotOptimize(OtlpEncoder::encoded_size(f.batch));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}

}  // namespace

BENCHMARK(BM_OtlpEncode_KrishivFields);
BENCHMARK(BM_OtlpEncode_KrishivFields_AttrsEventStatus);
BENCHMARK(BM_OtlpEncodedSize_KrishivFields);

BENCHMARK_MAIN();
