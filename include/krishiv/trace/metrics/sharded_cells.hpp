#pragma once
// The storage under every metric series: counters (64-bit words) split into shards so that
// threads recording into the same series do not share a cache line.
//
// Each thread takes one of kExclusiveShards shards for itself on its first record (a bit in a
// process-wide mask) and gives it back when it exits. A shard has one writer, so a record is a
// relaxed load and a store, with no read-modify-write: that is what makes an uncontended record
// cost a few nanoseconds and two threads on one series scale (benchmarks/metrics_bench.cpp
// measures it against fetch_add on sharded cells). Threads beyond kExclusiveShards share the
// kSharedShards other shards with fetch_add, so any number of threads stays exact. Readers sum
// the shards with relaxed loads: a snapshot is a consistent total of each word, not of the
// words together (a count and a sum read while records land may differ by those records).

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace krishiv::trace::detail {

inline constexpr unsigned kExclusiveShards = 16;
inline constexpr unsigned kSharedShards = 4;
inline constexpr unsigned kMetricShards = kExclusiveShards + kSharedShards;

// The mask of exclusive shards taken by live threads. Trivially destructible, so threads that
// exit after main() returns still find it.
inline constinit std::atomic<std::uint32_t> g_taken_shards{0};
inline constinit std::atomic<std::uint32_t> g_next_shared_shard{0};

struct ShardSlot {
  unsigned index = 0;
  bool exclusive = false;

  ShardSlot() noexcept {
    std::uint32_t taken = g_taken_shards.load(std::memory_order_relaxed);
    while (~taken & ((std::uint32_t{1} << kExclusiveShards) - 1)) {
      const auto bit = static_cast<unsigned>(std::countr_one(taken));
      // acquire: the writes of the thread that held this shard before happen before ours.
      if (g_taken_shards.compare_exchange_weak(taken, taken | (std::uint32_t{1} << bit),
                                               std::memory_order_acq_rel,
                                               std::memory_order_relaxed)) {
        index = bit;
        exclusive = true;
        return;
      }
    }
    index = kExclusiveShards +
            g_next_shared_shard.fetch_add(1, std::memory_order_relaxed) % kSharedShards;
  }
  // One of the shared shards, always written with fetch_add (benchmarks compare the two ways).
  struct Shared {
    unsigned index;
  };
  explicit ShardSlot(Shared s) noexcept : index(kExclusiveShards + s.index % kSharedShards) {}
  ~ShardSlot() {
    if (exclusive) {
      // release: our plain stores are seen by the next thread to take the shard.
      g_taken_shards.fetch_and(~(std::uint32_t{1} << index), std::memory_order_release);
    }
  }
  ShardSlot(const ShardSlot&) = delete;
  ShardSlot& operator=(const ShardSlot&) = delete;
};

inline const ShardSlot& this_thread_shard() noexcept {
  static thread_local const ShardSlot slot;
  return slot;
}

// `words` 64-bit cells, kMetricShards times, each shard on cache lines of its own.
class ShardedCells {
 public:
  explicit ShardedCells(std::size_t words)
      : stride_((words + kWordsPerLine - 1) / kWordsPerLine * kWordsPerLine),
        storage_(new std::atomic<std::uint64_t>[stride_ * kMetricShards + kWordsPerLine]) {
    const auto addr = reinterpret_cast<std::uintptr_t>(storage_.get());
    const auto misalign = addr % kLine;
    base_ = storage_.get() + (misalign == 0 ? 0 : (kLine - misalign) / sizeof(std::uint64_t));
    for (std::size_t i = 0; i < stride_ * kMetricShards; ++i) {
      base_[i].store(0, std::memory_order_relaxed);
    }
  }

  void add(const ShardSlot& slot, std::size_t word, std::uint64_t n) noexcept {
    auto& cell = base_[slot.index * stride_ + word];
    if (slot.exclusive) {
      cell.store(cell.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      cell.fetch_add(n, std::memory_order_relaxed);
    }
  }
  // A word holding the bits of a double.
  void add_double(const ShardSlot& slot, std::size_t word, double v) noexcept {
    auto& cell = base_[slot.index * stride_ + word];
    std::uint64_t old = cell.load(std::memory_order_relaxed);
    if (slot.exclusive) {
      cell.store(std::bit_cast<std::uint64_t>(std::bit_cast<double>(old) + v),
                 std::memory_order_relaxed);
      return;
    }
    while (!cell.compare_exchange_weak(old,
                                       std::bit_cast<std::uint64_t>(std::bit_cast<double>(old) + v),
                                       std::memory_order_relaxed)) {
    }
  }

  std::uint64_t total(std::size_t word) const noexcept {
    std::uint64_t sum = 0;
    for (unsigned s = 0; s < kMetricShards; ++s) {
      sum += base_[s * stride_ + word].load(std::memory_order_relaxed);
    }
    return sum;
  }
  double total_double(std::size_t word) const noexcept {
    double sum = 0;
    for (unsigned s = 0; s < kMetricShards; ++s) {
      sum += std::bit_cast<double>(base_[s * stride_ + word].load(std::memory_order_relaxed));
    }
    return sum;
  }

 private:
  static constexpr std::size_t kLine = 64;
  static constexpr std::size_t kWordsPerLine = kLine / sizeof(std::uint64_t);

  std::size_t stride_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> storage_;
  std::atomic<std::uint64_t>* base_ = nullptr;
};

}  // namespace krishiv::trace::detail
