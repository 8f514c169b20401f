#pragma once
// SpanBatch: what an exporter receives from the export thread.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "krishiv/trace/record/view.hpp"
#include "krishiv/trace/resource.hpp"

namespace krishiv::trace {

// A batch of finished spans sharing one resource and scope. Views are valid only during the
// export call that receives the batch.
//
// The pipeline hands over runs of records as they lie in its buffers; the records are walked only
// when an exporter first asks for a span. An exporter that needs only size() (a discarding or
// counting one) leaves the records untouched, so the export thread never pulls them into its
// cache.
class SpanBatch {
 public:
  SpanBatch(const Resource& resource, const InstrumentationScope& scope,
            const detail::TimeBase& time_base)
      : resource_(&resource), scope_(&scope), time_base_(&time_base) {}

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // May throw std::bad_alloc on the first access to a batch larger than any before it.
  SpanView operator[](std::size_t i) const {
    if (records_.size() != size_) [[unlikely]]
      index();
    return SpanView(records_[i], time_base_);
  }

  class iterator {
   public:
    using value_type = SpanView;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const SpanBatch* b, std::size_t i) : b_(b), i_(i) {}
    SpanView operator*() const { return (*b_)[i_]; }
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
  iterator end() const noexcept { return {this, size_}; }

  const Resource& resource() const noexcept { return *resource_; }
  const InstrumentationScope& scope() const noexcept { return *scope_; }
  const detail::TimeBase& time_base() const noexcept { return *time_base_; }

  // For the pipeline (and tests that build batches by hand). [begin, end) holds records laid end
  // to end, each starting with its size (record/format.hpp); the batch takes `count` of them after
  // the first `skip`, so a run can be split between batches without reading it.
  void add_records(const std::uint8_t* begin, const std::uint8_t* end, std::size_t skip,
                   std::size_t count) {
    if (count == 0) return;
    runs_.push_back({begin, end, skip, count});
    size_ += count;
  }
  void add_record(const std::uint8_t* record) {
    add_records(record, record + detail::record_size(record), 0, 1);
  }
  void clear() noexcept {
    runs_.clear();
    records_.clear();
    size_ = 0;
  }
  // Whether an exporter read the records (the pipeline then evicts them from this cache).
  bool was_read() const noexcept { return !records_.empty(); }

 private:
  struct Run {
    const std::uint8_t* begin;
    const std::uint8_t* end;
    std::size_t skip;
    std::size_t count;
  };

  // Out of line: the walk happens once per batch, on the first access to a span. The vector
  // keeps its capacity across batches, so steady-state exporting does not allocate.
  [[gnu::noinline]] void index() const {
    records_.clear();
    records_.reserve(size_);
    for (const Run& r : runs_) {
      const std::uint8_t* p = r.begin;
      for (std::size_t i = 0; i < r.skip + r.count && p < r.end; ++i) {
        if (i >= r.skip) records_.push_back(p);
        p += detail::record_size(p);
      }
    }
  }

  const Resource* resource_;
  const InstrumentationScope* scope_;
  const detail::TimeBase* time_base_;
  std::vector<Run> runs_;
  std::size_t size_ = 0;
  mutable std::vector<const std::uint8_t*> records_;  // built on first access
};

}  // namespace krishiv::trace
