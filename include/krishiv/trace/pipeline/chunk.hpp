#pragma once
// The unit of span memory: a chunk of records, the lock-free stacks chunks move through, and a
// producer thread's buffer.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

namespace krishiv::trace::detail {

inline constexpr std::uint32_t kChunkBytes = 16 * 1024;
inline constexpr std::size_t kEagerChunks = 64;
// Nominal bytes per buffered span, to turn a queue size in spans into a pool of chunks.
inline constexpr std::size_t kNominalRecordBytes = 128;

struct ThreadBuffer;

struct Chunk {
  Chunk* next = nullptr;
  std::uint32_t capacity = 0;
  std::uint32_t used = 0;        // writer only (until handed off)
  std::uint32_t spans = 0;       // writer only
  std::uint32_t read = 0;        // export thread only: bytes already exported by a flush
  std::uint32_t read_spans = 0;  // export thread only: records in those bytes
  std::atomic<std::uint32_t> committed{0};
  bool pooled = true;             // oversized one-off chunks are freed, not recycled
  bool fork_seen = false;         // FrontEnd::reset_in_child's mark (in the padding)
  ThreadBuffer* owner = nullptr;  // the thread that filled it

  std::uint8_t* data() noexcept { return reinterpret_cast<std::uint8_t*>(this + 1); }

  static Chunk* create(std::uint32_t capacity, bool pooled) {
    void* mem = ::operator new (sizeof(Chunk) + capacity, std::align_val_t{64});
    auto* c = new (mem) Chunk;
    c->capacity = capacity;
    c->pooled = pooled;
    return c;
  }
  static void destroy(Chunk* c) noexcept {
    c->~Chunk();
    ::operator delete (static_cast<void*>(c), std::align_val_t{64});
  }
  void reset() noexcept {
    next = nullptr;
    used = spans = read = read_spans = 0;
    committed.store(0, std::memory_order_relaxed);
  }
};

// Lock-free stack with push and take-all only, so no pop can see a recycled node (no ABA).
class ChunkStack {
 public:
  void push(Chunk* c) noexcept {
    Chunk* head = head_.load(std::memory_order_relaxed);
    do {
      c->next = head;
    } while (!head_.compare_exchange_weak(head, c, std::memory_order_release,
                                          std::memory_order_relaxed));
  }
  Chunk* take_all() noexcept { return head_.exchange(nullptr, std::memory_order_acquire); }
  bool empty() const noexcept { return head_.load(std::memory_order_relaxed) == nullptr; }

 private:
  std::atomic<Chunk*> head_{nullptr};
};

struct alignas(64) ThreadBuffer {  // own cache lines: no false sharing between producers
  std::atomic<Chunk*> current{nullptr};
  std::atomic<std::uint64_t> dropped{0};  // written by the owning thread only
  // Chunks this thread filled, back from the export thread: a thread reuses its own chunks, whose
  // lines are still in its core's cache, instead of pulling another core's. On a line of its own:
  // the export thread writes it, and `current` is read by every span.
  alignas(64) ChunkStack free;
  std::atomic<bool> retired{false};  // its thread exited (the buffer waits for reuse)
};

// Evicts a drained chunk from the export thread's cache before it goes back to the pool. Without
// it, the lines stay shared with the export thread and the producer that reuses the chunk pays a
// cross-core invalidation for every line it writes, on the span hot path; with it, the
// producer's stores stream to plain memory. x86 with CLFLUSHOPT only (checked at run time).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
inline bool has_clflushopt() noexcept {
  static const bool has = [] {
    unsigned a = 7, b = 0, c = 0, d = 0;
    __asm__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return (b & (1u << 23)) != 0;
  }();
  return has;
}
__attribute__((target("clflushopt"))) inline void evict_lines(const void* p,
                                                              std::size_t n) noexcept {
  const auto* c = static_cast<const char*>(p);
  for (std::size_t off = 0; off < n; off += 64) __builtin_ia32_clflushopt(c + off);
}
inline void evict(const void* p, std::size_t n) noexcept {
  if (has_clflushopt()) evict_lines(p, n);
}
#else
inline void evict(const void*, std::size_t) noexcept {}
#endif

}  // namespace krishiv::trace::detail
