#pragma once
// The exporter interface: the one place where finished spans leave the pipeline.
//
// Exporters are called from the pipeline's export thread only, one batch at a time, and see
// immutable records (SpanView); they never reach back into live spans.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "krishiv/trace/resource.hpp"
#include "krishiv/trace/span_record.hpp"
#include "krishiv/trace/version.hpp"

namespace krishiv::trace {

// OTLP InstrumentationScope: who produced the spans.
struct InstrumentationScope {
  std::string name = "krishiv-trace";
  std::string version = kVersion;
};

// A batch of finished spans sharing one resource and scope. Views are valid only during the
// export call that receives the batch.
class SpanBatch {
 public:
  SpanBatch(const Resource& resource, const InstrumentationScope& scope,
            const detail::TimeBase& time_base)
      : resource_(&resource), scope_(&scope), time_base_(&time_base) {}

  std::size_t size() const noexcept { return records_.size(); }
  bool empty() const noexcept { return records_.empty(); }
  SpanView operator[](std::size_t i) const noexcept { return SpanView(records_[i], time_base_); }

  class iterator {
   public:
    using value_type = SpanView;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const SpanBatch* b, std::size_t i) : b_(b), i_(i) {}
    SpanView operator*() const noexcept { return (*b_)[i_]; }
    iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    iterator operator++(int) noexcept {
      auto t = *this;
      ++i_;
      return t;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }

   private:
    const SpanBatch* b_ = nullptr;
    std::size_t i_ = 0;
  };
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, records_.size()}; }

  const Resource& resource() const noexcept { return *resource_; }
  const InstrumentationScope& scope() const noexcept { return *scope_; }
  const detail::TimeBase& time_base() const noexcept { return *time_base_; }

  // For the pipeline (and tests that build batches by hand).
  void add_record(const std::uint8_t* record) { records_.push_back(record); }
  void clear() noexcept { records_.clear(); }

 private:
  const Resource* resource_;
  const InstrumentationScope* scope_;
  const detail::TimeBase* time_base_;
  std::vector<const std::uint8_t*> records_;
};

enum class ExportResult { Success, Failure };

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Called on the export thread only. May block up to the exporter's own timeout.
  virtual ExportResult export_batch(const SpanBatch& batch) = 0;
  // Delivers anything the exporter itself buffers. Called on the export thread.
  virtual bool force_flush(std::chrono::milliseconds /*timeout*/) { return true; }
  // Releases resources; no export follows. Called on the export thread.
  virtual void shutdown(std::chrono::milliseconds /*timeout*/) {}
  // Called from any thread when a flush or shutdown deadline has passed: an export blocked on the
  // network must return promptly.
  virtual void cancel() noexcept {}
};

}  // namespace krishiv::trace
