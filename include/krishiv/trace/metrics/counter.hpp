#pragma once
// A counter: a monotonic total per label set. A series is found once (see series()) and then
// recorded into with inc()/add(), which take no lock (metrics/sharded_cells.hpp).

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "krishiv/trace/metrics/labels.hpp"
#include "krishiv/trace/metrics/series_map.hpp"
#include "krishiv/trace/metrics/sharded_cells.hpp"

namespace krishiv::trace::metrics {

class CounterSeries {
 public:
  CounterSeries() : cells_(1) {}

  void inc() noexcept { add(1); }
  void add(std::uint64_t n) noexcept { cells_.add(detail::this_thread_shard(), 0, n); }
  std::uint64_t value() const noexcept { return cells_.total(0); }

 private:
  detail::ShardedCells cells_;
};

class Counter {
 public:
  // Names are checked by the Registry, which owns every Counter that is exposed.
  Counter(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // The series for these label values, created on first use. Takes no lock; keep the reference
  // (valid while the Counter lives) where the label values are known up front.
  CounterSeries& series(LabelValues values) {
    if (values.size() != label_names_.size()) return mismatched(values);
    return series_.find_or_insert(values, [] { return std::make_unique<CounterSeries>(); });
  }
  CounterSeries& series(std::initializer_list<std::string_view> values) {
    return series(LabelValues(values.begin(), values.size()));
  }

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }

  // fn(std::span<const std::string> values, const CounterSeries&), in creation order.
  template <typename Fn>
  void for_each_series(Fn&& fn) const {
    series_.for_each(fn);
  }

 private:
  CounterSeries& mismatched(LabelValues values) {
    if (!reported_.exchange(true, std::memory_order_relaxed)) {
      detail::report_label_count(name_, values.size(), label_names_.size());
    }
    std::vector<std::string_view> fixed(values.begin(), values.end());
    fixed.resize(label_names_.size());
    return series(LabelValues(fixed));
  }

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  detail::SeriesMap<CounterSeries> series_;
  std::atomic<bool> reported_{false};
};

}  // namespace krishiv::trace::metrics
