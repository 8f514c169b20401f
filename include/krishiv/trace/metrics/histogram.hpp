#pragma once
// A histogram: per label set, how many observations fell at or below each bucket's upper bound
// (Prometheus `le`, inclusive), their sum and their count. A series is found once (see series())
// and then recorded into with record(), which takes no lock (metrics/sharded_cells.hpp).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
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

// What a series held when read. `buckets[i]` counts the observations in (bounds[i-1],
// bounds[i]]; the last one, past every bound, is the +Inf bucket's own share.
struct HistogramSnapshot {
  std::vector<double> bounds;
  std::vector<std::uint64_t> buckets;
  double sum = 0;
  std::uint64_t count = 0;

  // The Prometheus `_bucket` values: observations <= bounds[i], then the +Inf bucket (= count).
  std::vector<std::uint64_t> cumulative() const {
    std::vector<std::uint64_t> out(buckets.size());
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) out[i] = running += buckets[i];
    return out;
  }
};

class HistogramSeries {
 public:
  // `bounds`: sorted, finite, distinct; owned by the Histogram, which outlives its series.
  explicit HistogramSeries(const std::vector<double>* bounds)
      : bounds_(bounds), cells_(bounds->size() + 2) {}

  // Adds `v` to the first bucket whose bound is >= v (the +Inf bucket past them all). A NaN is
  // not an observation and is dropped: it would make the sum NaN for good.
  void record(double v) noexcept {
    if (std::isnan(v)) return;
    const std::size_t n = bounds_->size();
    const double* b = bounds_->data();
    std::size_t i = 0;
    // Linear: durations mostly land in the first buckets, and a dozen compares beat a search.
    while (i < n && b[i] < v) ++i;
    const auto& slot = detail::this_thread_shard();
    cells_.add(slot, i, 1);
    cells_.add_double(slot, n + 1, v);
  }

  HistogramSnapshot snapshot() const {
    HistogramSnapshot s;
    s.bounds = *bounds_;
    s.buckets.resize(bounds_->size() + 1);
    for (std::size_t i = 0; i < s.buckets.size(); ++i) {
      s.buckets[i] = cells_.total(i);
      s.count += s.buckets[i];
    }
    s.sum = cells_.total_double(bounds_->size() + 1);
    return s;
  }

 private:
  const std::vector<double>* bounds_;
  detail::ShardedCells cells_;  // one count per bucket (the +Inf one last), then the sum
};

class Histogram {
 public:
  // Names are checked by the Registry, which owns every Histogram that is exposed. `bounds` are
  // sorted, and NaN, infinite and repeated bounds dropped (the +Inf bucket is always there).
  Histogram(std::string name, std::string help, std::vector<std::string> label_names,
            std::vector<double> bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(clean(std::move(bounds))) {}
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // The series for these label values, created on first use. Takes no lock; keep the reference
  // (valid while the Histogram lives) where the label values are known up front.
  HistogramSeries& series(LabelValues values) {
    if (values.size() != label_names_.size()) return mismatched(values);
    return series_.find_or_insert(values,
                                  [this] { return std::make_unique<HistogramSeries>(&bounds_); });
  }
  HistogramSeries& series(std::initializer_list<std::string_view> values) {
    return series(LabelValues(values.begin(), values.size()));
  }

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  const std::vector<double>& bounds() const noexcept { return bounds_; }

  // fn(std::span<const std::string> values, const HistogramSeries&), in creation order.
  template <typename Fn>
  void for_each_series(Fn&& fn) const {
    series_.for_each(fn);
  }

 private:
  static std::vector<double> clean(std::vector<double> b) {
    std::erase_if(b, [](double v) { return !std::isfinite(v); });
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
    return b;
  }

  HistogramSeries& mismatched(LabelValues values) {
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
  std::vector<double> bounds_;
  detail::SeriesMap<HistogramSeries> series_;
  std::atomic<bool> reported_{false};
};

}  // namespace krishiv::trace::metrics
