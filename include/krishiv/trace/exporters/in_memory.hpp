#pragma once
// The in-memory exporter: finished spans as owned values, for tests to inspect in-process.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/record/span_data.hpp"

namespace krishiv::trace {

class InMemoryExporter : public SpanExporter {
 public:
  ExportResult export_batch(const SpanBatch& batch) override {
    std::vector<SpanData> converted;
    converted.reserve(batch.size());
    for (SpanView v : batch) converted.push_back(SpanData::from(v));
    {
      std::lock_guard lock(mu_);
      for (auto& s : converted) spans_.push_back(std::move(s));
    }
    cv_.notify_all();
    return ExportResult::Success;
  }

  // A copy of every span received so far, in export order.
  std::vector<SpanData> spans() const {
    std::lock_guard lock(mu_);
    return spans_;
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return spans_.size();
  }
  void clear() {
    std::lock_guard lock(mu_);
    spans_.clear();
  }
  // The first span with this name, if any.
  std::optional<SpanData> find(std::string_view name) const {
    std::lock_guard lock(mu_);
    for (const auto& s : spans_) {
      if (s.name == name) return s;
    }
    return std::nullopt;
  }

  // Waits until at least n spans have arrived; false on timeout. (Spans arrive when the pipeline
  // exports: call the provider's force_flush() to make that happen now.)
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return spans_.size() >= n; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<SpanData> spans_;
};

}  // namespace krishiv::trace
