#pragma once
// The series of one metric, by label values: an insert-only hash table whose lookups and inserts
// take no lock, so that code which cannot keep a series handle (an interceptor learning the
// status code at the end of each call) still records without blocking. Series are never removed
// while the metric lives, so a reference handed out stays valid; label sets are bounded by the
// caller (methods, status codes), as Prometheus asks of every label.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace krishiv::trace::detail {

template <typename Series>
class SeriesMap {
 public:
  SeriesMap() = default;
  SeriesMap(const SeriesMap&) = delete;
  SeriesMap& operator=(const SeriesMap&) = delete;
  ~SeriesMap() {
    for (auto& head : heads_) {
      Node* n = head.load(std::memory_order_relaxed);
      while (n != nullptr) delete std::exchange(n, n->next);
    }
  }

  // The series for `values`, made by `make()` (returning std::unique_ptr<Series>) the first time.
  template <typename Make>
  Series& find_or_insert(std::span<const std::string_view> values, Make&& make) {
    const std::uint64_t h = hash(values);
    auto& head = heads_[h % kBuckets];
    Node* first = head.load(std::memory_order_acquire);
    if (Node* n = find(first, nullptr, h, values)) return *n->series;
    auto node = std::make_unique<Node>();
    node->hash = h;
    node->values.assign(values.begin(), values.end());
    node->series = make();
    node->order = size_.fetch_add(1, std::memory_order_relaxed);
    Node* seen = first;
    node->next = first;
    while (!head.compare_exchange_weak(node->next, node.get(), std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      // Another thread inserted in this chain meanwhile: it may have been this very series.
      if (Node* n = find(node->next, seen, h, values)) return *n->series;
      seen = node->next;
    }
    return *node.release()->series;
  }

  // Every series with its label values, in the order they were first inserted.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    std::vector<const Node*> nodes;
    for (const auto& head : heads_) {
      for (const Node* n = head.load(std::memory_order_acquire); n != nullptr; n = n->next) {
        nodes.push_back(n);
      }
    }
    std::sort(nodes.begin(), nodes.end(),
              [](const Node* a, const Node* b) { return a->order < b->order; });
    for (const Node* n : nodes) fn(std::span<const std::string>(n->values), *n->series);
  }

 private:
  static constexpr std::size_t kBuckets = 64;

  struct Node {
    std::uint64_t hash = 0;
    std::uint64_t order = 0;
    std::vector<std::string> values;
    std::unique_ptr<Series> series;
    Node* next = nullptr;
  };

  static std::uint64_t hash(std::span<const std::string_view> values) noexcept {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a
    for (std::string_view v : values) {
      for (char c : v) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
      h = (h ^ 0xffu) * 1099511628211ull;  // a separator no UTF-8 text contains
    }
    return h;
  }

  static Node* find(Node* from, const Node* until, std::uint64_t h,
                    std::span<const std::string_view> values) noexcept {
    for (Node* n = from; n != until; n = n->next) {
      if (n->hash != h || n->values.size() != values.size()) continue;
      bool same = true;
      for (std::size_t i = 0; same && i < values.size(); ++i) same = n->values[i] == values[i];
      if (same) return n;
    }
    return nullptr;
  }

  std::array<std::atomic<Node*>, kBuckets> heads_{};
  std::atomic<std::uint64_t> size_{0};
};

}  // namespace krishiv::trace::detail
