#pragma once
// Span records built by hand with fixed ids and times, for exact (golden) exporter output.

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/record/format.hpp"
#include "krishiv/trace/record/writer.hpp"
#include "krishiv/trace/resource.hpp"
#include "krishiv/trace/span_kind.hpp"
#include "krishiv/trace/status.hpp"

namespace krishiv::trace::test {

// Ticks are nanoseconds after kUnix0, so a span's times are written as plain offsets.
inline constexpr std::int64_t kUnix0 = 1'700'000'000'000'000'000;
inline constexpr std::int64_t kUs = 1'000;
inline constexpr std::int64_t kMs = 1'000'000;
inline constexpr std::int64_t kS = 1'000'000'000;

// n < 65536.
inline TraceId trace_id(std::uint64_t n) {
  return TraceId::from_u64(0x4bf92f3577b34da6, 0xa3ce929d0e0e0000 | n);
}
inline SpanId span_id(std::uint64_t n) {
  return SpanId::from_u64(0x00f067aa0ba90000 | n);
}

struct SpanSpec {
  std::string_view name;
  std::uint64_t trace = 1;
  std::uint64_t span = 1;
  std::uint64_t parent = 0;  // 0: a root span
  std::int64_t start = 0;
  std::int64_t end = 0;
  SpanKind kind = SpanKind::Internal;
  StatusCode status = StatusCode::Unset;
};

// Owns the records of one batch; SpanBatch only points at them.
class BatchBuilder {
 public:
  // `body` writes the span's items after its name (attributes, events, status message...).
  BatchBuilder& add(const SpanSpec& s,
                    const std::function<void(detail::ByteVector&)>& body = nullptr) {
    detail::RecordHeader h{};
    h.kind = static_cast<std::uint8_t>(s.kind);
    h.flags = TraceFlags::kSampled;
    h.status = static_cast<std::uint8_t>(s.status);
    h.trace_id = trace_id(s.trace);
    h.span_id = span_id(s.span);
    if (s.parent != 0) {
      h.parent_span_id = span_id(s.parent);
      h.bits = detail::kHasParent | detail::kParentRemoteKnown;
    }
    h.start = s.start;
    detail::ByteVector b;
    detail::put_string_item(b, detail::Item::Name, s.name);
    if (body) body(b);
    auto rec = std::make_unique<detail::ByteVector>();
    detail::append_record(*rec, h, s.end, b.data(), b.size());
    batch_.add_record(rec->data());
    records_.push_back(std::move(rec));
    return *this;
  }

  const SpanBatch& batch() const noexcept { return batch_; }

 private:
  Resource resource_;
  InstrumentationScope scope_;
  detail::TimeBase time_base_{0, kUnix0, 1.0};
  SpanBatch batch_{resource_, scope_, time_base_};
  std::vector<std::unique_ptr<detail::ByteVector>> records_;
};

}  // namespace krishiv::trace::test
