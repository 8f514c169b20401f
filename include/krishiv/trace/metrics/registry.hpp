#pragma once
// The metrics a process exposes: counters and histograms by name, each registered once and kept
// for the registry's lifetime (references to them, and to their series, stay valid as long).
//
// Registering takes a lock; recording never does. Registering a name again with the same kind,
// label names (and bounds) returns the metric already there. A name or label name Prometheus
// would reject, or a second registration that disagrees with the first, is reported once on
// stderr and gets a metric that records but is not exposed: one bad metric must not make the
// whole scrape fail.

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "krishiv/trace/metrics/counter.hpp"
#include "krishiv/trace/metrics/histogram.hpp"
#include "krishiv/trace/metrics/labels.hpp"

namespace krishiv::trace::metrics {

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& counter(std::string name, std::string help, std::vector<std::string> label_names = {}) {
    std::lock_guard<std::mutex> lk(mu_);
    const char* problem = check(name, label_names, false);
    if (problem == nullptr) {
      if (auto* existing = find(name)) {
        auto* c = std::get_if<std::unique_ptr<Counter>>(existing);
        if (c != nullptr && (*c)->label_names() == label_names) return **c;
        problem = "is already registered as another metric or with other label names";
      }
    }
    auto made = std::make_unique<Counter>(std::move(name), std::move(help), std::move(label_names));
    Counter& ref = *made;
    add(problem, std::move(made));
    return ref;
  }

  Histogram& histogram(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> bounds) {
    std::lock_guard<std::mutex> lk(mu_);
    const char* problem = check(name, label_names, true);
    auto made = std::make_unique<Histogram>(std::move(name), std::move(help),
                                            std::move(label_names), std::move(bounds));
    if (problem == nullptr) {
      if (auto* existing = find(made->name())) {
        auto* h = std::get_if<std::unique_ptr<Histogram>>(existing);
        if (h != nullptr && (*h)->label_names() == made->label_names() &&
            (*h)->bounds() == made->bounds()) {
          return **h;
        }
        problem = "is already registered as another metric, or with other label names or bounds";
      }
    }
    Histogram& ref = *made;
    add(problem, std::move(made));
    return ref;
  }

  // fn(const Counter&) and fn(const Histogram&), over the exposed metrics in registration order.
  // Holds the registry's lock: fn must not register.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& m : exposed_) std::visit([&](const auto& p) { fn(std::as_const(*p)); }, m);
  }

 private:
  using Metric = std::variant<std::unique_ptr<Counter>, std::unique_ptr<Histogram>>;

  static const char* check(std::string_view name, const std::vector<std::string>& labels,
                           bool histogram) {
    if (!detail::is_metric_name(name)) return "is not a valid Prometheus metric name";
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (!detail::is_label_name(labels[i])) return "has a label name Prometheus rejects";
      if (histogram && labels[i] == "le") return "uses label \"le\", which histograms reserve";
      for (std::size_t j = 0; j < i; ++j) {
        if (labels[i] == labels[j]) return "has the same label name twice";
      }
    }
    return nullptr;
  }

  static std::string_view name_of(const Metric& m) {
    return std::visit([](const auto& p) -> std::string_view { return p->name(); }, m);
  }

  Metric* find(std::string_view name) {
    for (auto& m : exposed_) {
      if (name_of(m) == name) return &m;
    }
    return nullptr;
  }

  void add(const char* problem, Metric m) {
    if (problem == nullptr) {
      exposed_.push_back(std::move(m));
      return;
    }
    const std::string_view name = name_of(m);
    std::fprintf(stderr, "krishiv-trace: metric \"%.*s\" %s; it records but is not exposed\n",
                 static_cast<int>(name.size()), name.data(), problem);
    detached_.push_back(std::move(m));
  }

  mutable std::mutex mu_;
  std::vector<Metric> exposed_;
  std::vector<Metric> detached_;
};

}  // namespace krishiv::trace::metrics
