#pragma once
// Metric and label names as Prometheus accepts them (data model: metric names
// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*, names starting "__" reserved),
// and the label values a series is recorded with. Names are fixed when a metric is registered;
// a series is found by its values alone, in the order of the metric's label names.

#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace krishiv::trace::metrics {

// Label values in the order of the metric's label names: {"/pkg.Svc/M", "OK", "client"}.
using LabelValues = std::span<const std::string_view>;

}  // namespace krishiv::trace::metrics

namespace krishiv::trace::detail {

constexpr bool is_metric_name(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

constexpr bool is_label_name(std::string_view s) noexcept {
  if (s.empty() || s.starts_with("__")) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Reported once per metric: a series recorded with the wrong number of label values is kept,
// with its values cut or padded with "", rather than lost or thrown for.
inline void report_label_count(std::string_view metric, std::size_t got, std::size_t want) {
  std::fprintf(stderr,
               "krishiv-trace: metric %.*s recorded with %zu label values, it has %zu label "
               "names; values cut or padded with \"\" (reported once per metric)\n",
               static_cast<int>(metric.size()), metric.data(), got, want);
}

}  // namespace krishiv::trace::detail
