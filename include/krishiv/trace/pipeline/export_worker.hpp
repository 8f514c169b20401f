#pragma once
// The recording pipeline: per-thread buffers on the hot path, batches on the export thread.
//
//   span end ──memcpy──► thread's current Chunk ──(full)──► hand-off stack ──► export thread
//                                                                               │ batches of
//                       the thread's free stack ◄──────── recycled chunks ◄────┘ SpanView
//
// The hot path takes no lock, makes no system call and allocates nothing in steady state: a
// record is copied into the calling thread's chunk and published with one release store. Chunks
// move between threads through two lock-free stacks (push, and take-all: neither can suffer
// ABA). Memory is bounded by a fixed pool of chunks sized from OTEL_BSP_MAX_QUEUE_SIZE: when the
// pool is empty, spans are dropped and counted, never waited for.
//
// The export thread cuts batches out of the chunks without reading them (SpanBatch reads records
// only when the exporter asks for a span): with an exporter that needs only the count, a chunk
// costs it the same whatever it holds, and producers' cache lines stay theirs.
//
// force_flush() also exports what sits in chunks still being filled: a writer never rewrites the
// committed part of a chunk, and only the export thread recycles chunks, so the export thread can
// read [read, committed) of a live chunk safely.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "krishiv/trace/clock.hpp"
#include "krishiv/trace/detail/env.hpp"
#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/record/format.hpp"
#include "krishiv/trace/resource.hpp"

namespace krishiv::trace {

// The OpenTelemetry batch span processor knobs, with the spec's defaults.
struct BatchOptions {
  std::size_t max_queue_size = 2048;
  std::chrono::milliseconds schedule_delay{5000};  // taken as 1 ms when below
  std::size_t max_export_batch_size = 512;
  std::chrono::milliseconds export_timeout{30000};

  // OTEL_BSP_*; malformed values get one stderr line and the default.
  static BatchOptions from_env() {
    BatchOptions o;
    o.max_queue_size = detail::env_u64("OTEL_BSP_MAX_QUEUE_SIZE", o.max_queue_size, 1, 1u << 30);
    o.schedule_delay = detail::env_millis("OTEL_BSP_SCHEDULE_DELAY", o.schedule_delay);
    o.max_export_batch_size =
        detail::env_u64("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", o.max_export_batch_size, 1, 1u << 30);
    o.export_timeout = detail::env_millis("OTEL_BSP_EXPORT_TIMEOUT", o.export_timeout);
    if (o.max_export_batch_size > o.max_queue_size) {
      // The spec: the batch size must be less than or equal to the queue size.
      detail::config_warning("OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                             std::to_string(o.max_export_batch_size),
                             "exceeds OTEL_BSP_MAX_QUEUE_SIZE", std::to_string(o.max_queue_size));
      o.max_export_batch_size = o.max_queue_size;
    }
    return o;
  }
};

// Counters of the pipeline, readable at any time.
struct PipelineStats {
  std::uint64_t exported = 0;                // handed to the exporter, which reported success
  std::uint64_t export_failed = 0;           // handed to the exporter, which reported failure
  std::uint64_t dropped_queue_full = 0;      // no buffer space: dropped at span end
  std::uint64_t dropped_after_shutdown = 0;  // ended after shutdown()
  std::uint64_t buffer_bytes = 0;            // span buffers allocated (bounded by the queue size)
};

namespace detail {

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

// A span body is usually under a hundred bytes: copied inline with overlapping 16-byte moves
// instead of a call to the general memcpy.
inline void copy_small(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) noexcept {
  if (n > 256) {
    std::memcpy(dst, src, n);
  } else if (n >= 16) {
    for (std::size_t i = 0; i + 16 < n; i += 16) std::memcpy(dst + i, src + i, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else {
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

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

inline constexpr std::uint32_t kChunkBytes = 16 * 1024;
inline constexpr std::size_t kEagerChunks = 64;
// Nominal bytes per buffered span, to turn a queue size in spans into a pool of chunks.
inline constexpr std::size_t kNominalRecordBytes = 128;

class BatchProcessor : public std::enable_shared_from_this<BatchProcessor> {
 public:
  BatchProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions options, Resource resource,
                 InstrumentationScope scope)
      : exporter_(std::move(exporter)),
        options_(options),
        resource_(std::move(resource)),
        scope_(std::move(scope)),
        // The queue, plus the batch being exported (the spec's processor takes that batch out of
        // its queue), in chunks.
        max_chunks_(std::max<std::size_t>(
            4, ((options.max_queue_size + options.max_export_batch_size) * kNominalRecordBytes +
                kChunkBytes - 1) /
                   kChunkBytes)) {
    SpanClock::instance();  // calibrate before the first span, not in it
    // Chunks are allocated here, not on the span path: the whole pool for the default queue
    // (320 KiB), the first 1 MiB of a larger one (the rest comes as it is needed).
    for (std::size_t i = 0; i < std::min<std::size_t>(max_chunks_, kEagerChunks); ++i) {
      if (Chunk* c = try_allocate(kChunkBytes, true)) free_.push(c);
    }
  }

  ~BatchProcessor() {
    destroy_all(full_.take_all());
    destroy_all(free_.take_all());
    for (auto* list : {&threads_, &retired_}) {
      for (ThreadBuffer* tb : *list) {
        destroy_all(tb->free.take_all());
        delete tb;
      }
    }
  }

  // Starts the export thread; the thread keeps the processor alive until it ends.
  void start() {
    auto self = shared_from_this();
    std::thread([self] { self->run(); }).detach();
  }

  // ---- hot path (any thread) ----------------------------------------------------------------

  bool accepting() const noexcept { return !shut_down_.load(std::memory_order_relaxed); }

  void append(ThreadBuffer& tb, const RecordHeader& header, std::int64_t end,
              const std::uint8_t* body, std::size_t body_size) noexcept {
    const std::uint64_t ticks = duration_ticks(header.start, end);
    const std::size_t duration_size = varint_size(ticks);
    const std::size_t size = sizeof(RecordHeader) + duration_size + body_size;
    Chunk* c = tb.current.load(std::memory_order_relaxed);
    if (c == nullptr || c->used + size > c->capacity) [[unlikely]] {
      c = next_chunk(tb, c, size);
      if (c == nullptr) {
        tb.dropped.store(tb.dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return;
      }
    }
    std::uint8_t* dst = c->data() + c->used;
    RecordHeader h = header;
    h.size = static_cast<std::uint32_t>(size);
    std::memcpy(dst, &h, sizeof h);
    write_varint(dst + sizeof h, ticks);
    copy_small(dst + sizeof h + duration_size, body, body_size);
    c->used += static_cast<std::uint32_t>(size);
    ++c->spans;
    c->committed.store(c->used, std::memory_order_release);
    if (!c->pooled) [[unlikely]]
      hand_off(c);
  }

  void count_dropped_after_shutdown() noexcept {
    dropped_after_shutdown_.fetch_add(1, std::memory_order_relaxed);
  }

  ThreadBuffer* register_thread() {
    std::lock_guard lock(registry_mu_);
    // The buffer of an exited thread if there is one (with any chunk recycled to it late), so
    // buffers never outnumber the threads alive at once.
    ThreadBuffer* tb = nullptr;
    if (!retired_.empty()) {
      tb = retired_.back();
      retired_.pop_back();
      tb->dropped.store(0, std::memory_order_relaxed);
      tb->retired.store(false, std::memory_order_relaxed);
    } else {
      tb = new ThreadBuffer;
    }
    threads_.push_back(tb);
    // Its own current chunk, allocated now rather than on its first span (none if an exited
    // thread left one behind: the pool never outgrows the queue plus the live threads).
    max_chunks_.fetch_add(1, std::memory_order_relaxed);
    if (Chunk* c = try_allocate(kChunkBytes, true)) free_.push(c);
    return tb;
  }

  // Thread exit: hand over what the thread holds, so nothing it ended is lost.
  void unregister_thread(ThreadBuffer* tb) noexcept {
    Chunk* c = nullptr;
    {
      std::lock_guard lock(registry_mu_);
      threads_.erase(std::find(threads_.begin(), threads_.end(), tb));
      c = tb->current.exchange(nullptr, std::memory_order_acq_rel);
      retired_dropped_ += tb->dropped.load(std::memory_order_relaxed);
      max_chunks_.fetch_sub(1, std::memory_order_relaxed);
      // Under the lock: a concurrent flush sees either this thread or its chunk, never neither.
      if (c != nullptr) hand_off(c);
      // Its free chunks go back to everyone. A chunk the export thread recycles to it after this
      // waits there for the next thread that takes this buffer, or for a thread that steals it.
      tb->retired.store(true, std::memory_order_relaxed);
      push_all(free_, tb->free.take_all());
      retired_.push_back(tb);
    }
  }

  // ---- control (any thread) -----------------------------------------------------------------

  // Exports every span ended before the call; false if the timeout passed first.
  bool force_flush(std::chrono::milliseconds timeout) { return request(Request::Flush, timeout); }

  // Flushes, shuts the exporter down and stops the export thread. Spans ended afterwards are
  // dropped and counted. Returns within the timeout even if the exporter is stuck.
  bool shutdown(std::chrono::milliseconds timeout) {
    if (shut_down_.exchange(true)) return true;
    return request(Request::Shutdown, timeout);
  }

  PipelineStats stats() const {
    PipelineStats s;
    s.exported = exported_.load(std::memory_order_relaxed);
    s.export_failed = export_failed_.load(std::memory_order_relaxed);
    s.dropped_after_shutdown = dropped_after_shutdown_.load(std::memory_order_relaxed);
    s.buffer_bytes = allocated_.load(std::memory_order_relaxed) * std::uint64_t{kChunkBytes};
    std::lock_guard lock(registry_mu_);
    s.dropped_queue_full = retired_dropped_;
    for (const ThreadBuffer* tb : threads_) {
      s.dropped_queue_full += tb->dropped.load(std::memory_order_relaxed);
    }
    return s;
  }

  const Resource& resource() const noexcept { return resource_; }
  const BatchOptions& options() const noexcept { return options_; }
  SpanExporter& exporter() noexcept { return *exporter_; }

 private:
  enum class Request { Flush, Shutdown };

  // Order matters for force_flush(): the old chunk is handed off *before* `current` changes, so a
  // flush that no longer sees it as current is sure to find it in the hand-off stack.
  Chunk* next_chunk(ThreadBuffer& tb, Chunk* old, std::size_t need) noexcept {
    if (need > kChunkBytes) return oversized(need);
    if (old != nullptr) hand_off(old);
    Chunk* c = take_one(tb.free);
    if (c == nullptr) c = take_one(free_);
    if (c == nullptr) c = try_allocate(kChunkBytes, true);
    if (c == nullptr) c = steal(tb);
    if (c != nullptr) c->owner = &tb;
    tb.current.store(c, std::memory_order_release);
    return c;
  }

  // One chunk of a stack; the others go back to it.
  static Chunk* take_one(ChunkStack& stack) noexcept {
    Chunk* list = stack.take_all();
    if (list == nullptr) return nullptr;
    push_all(stack, list->next);
    list->next = nullptr;
    return list;
  }
  static void push_all(ChunkStack& stack, Chunk* list) noexcept {
    while (list != nullptr) {
      Chunk* next = list->next;
      stack.push(list);
      list = next;
    }
  }
  static void destroy_all(Chunk* list) noexcept {
    while (list != nullptr) {
      Chunk* next = list->next;
      Chunk::destroy(list);
      list = next;
    }
  }

  // The pool is used up: a chunk another thread was given back but has not needed yet. Never
  // waits for the registry lock (a producer must not block): if it is taken, the span is dropped.
  Chunk* steal(ThreadBuffer& self) noexcept {
    std::unique_lock lock(registry_mu_, std::try_to_lock);
    if (!lock.owns_lock()) return nullptr;
    for (auto* list : {&threads_, &retired_}) {
      for (ThreadBuffer* tb : *list) {
        if (tb == &self) continue;
        if (Chunk* c = take_one(tb->free)) return c;
      }
    }
    return nullptr;
  }

  // A span larger than a chunk (thousands of attributes) gets a one-off chunk that is handed off
  // as soon as the record is in it: it never becomes a thread's current chunk, so no stale
  // pointer to it can outlive it. Returns a chunk the caller writes exactly one record into.
  Chunk* oversized(std::size_t need) noexcept {
    return try_allocate(static_cast<std::uint32_t>(need), false);
  }

  Chunk* try_allocate(std::uint32_t capacity, bool pooled) noexcept {
    if (pooled) {
      std::size_t n = allocated_.load(std::memory_order_relaxed);
      do {
        if (n >= max_chunks_.load(std::memory_order_relaxed)) return nullptr;
      } while (!allocated_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    } else if (capacity > options_.max_queue_size * kNominalRecordBytes) {
      return nullptr;
    }
    try {
      return Chunk::create(capacity, pooled);
    } catch (...) {
      if (pooled) allocated_.fetch_sub(1, std::memory_order_relaxed);
      return nullptr;
    }
  }

  // Always through the export thread, even when a flush already exported the whole chunk: only
  // that thread may touch Chunk::read, and it may be reading this chunk right now.
  void hand_off(Chunk* c) noexcept {
    full_.push(c);
    // seq_cst on both sides (here and in run()): either the export thread sees the new pending
    // count before it sleeps, or this thread sees it sleeping. Only then a wake-up is paid for.
    if (pending_.fetch_add(1) + 1 >= wake_threshold_ && sleeping_.load()) {
      // Through the lock, so the wake-up cannot fall between the sleeper's test and its wait;
      // notified after it, so the woken thread does not block on the lock again.
      { std::lock_guard lock(mu_); }
      cv_.notify_one();
    }
  }

  // `read`: the exporter read the records, so they sit in this thread's cache (see evict()).
  void recycle(Chunk* c, bool read) noexcept {
    if (!c->pooled) {
      Chunk::destroy(c);
      return;
    }
    if (read) evict(c->data(), c->used);
    ThreadBuffer* owner = c->owner;
    c->reset();
    // Back to the thread that filled it while it lives (see ThreadBuffer::free).
    (owner != nullptr && !owner->retired.load(std::memory_order_relaxed) ? owner->free : free_)
        .push(c);
  }

  bool request(Request r, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mu_);
    if (stopped_) return r == Request::Shutdown;
    const std::uint64_t ticket = ++requested_;
    if (r == Request::Shutdown) shutdown_requested_ = true;
    flush_timeout_ = timeout;
    cv_.notify_one();
    if (done_cv_.wait_until(lock, deadline, [&] { return completed_ >= ticket || stopped_; })) {
      return true;
    }
    // Deadline passed: an export is stuck (e.g. on the network). Make it give up; after a
    // shutdown, also skip whatever is left instead of giving each batch its own full timeout.
    lock.unlock();
    if (r == Request::Shutdown) abandoned_.store(true);
    exporter_->cancel();
    return false;
  }

  void run() {
    SpanBatch batch(resource_, scope_, time_base_);
    using Clock = std::chrono::steady_clock;
    // A zero delay would have this thread flush in a loop, burning a core: 1 ms is the floor.
    const auto delay = std::max(options_.schedule_delay, std::chrono::milliseconds(1));
    auto next_scheduled = Clock::now() + delay;
    for (;;) {
      std::uint64_t ticket = 0;
      bool shutting_down = false;
      // While spans keep coming (the last drain found chunks), poll for a few microseconds
      // before sleeping, as long as this thread has a CPU to itself: producers then pay no wake-up
      // system call, and chunks come back to the pool without a scheduler delay (tens of
      // microseconds to milliseconds in a VM whose idle vCPU halts). When the CPU is contended,
      // polling takes it from the producers: the thread then sleeps, and is woken when half the
      // pool waits for it.
      if (busy_ && Clock::now() >= contended_until_) poll();
      {
        std::unique_lock lock(mu_);
        const auto wanted = [&] {
          return requested_ > completed_ || pending_.load() >= wake_threshold_;
        };
        if (full_.empty() || requested_ > completed_) {
          sleeping_.store(true);  // seq_cst: pairs with hand_off's fetch_add and load
          cv_.wait_until(lock, next_scheduled, wanted);
          sleeping_.store(false, std::memory_order_relaxed);
        }
        ticket = requested_;
        shutting_down = shutdown_requested_;
      }
      const auto now = Clock::now();
      // The schedule delay bounds how long an ended span waits (the spec's scheduledDelayMillis),
      // including spans in chunks their threads are still filling, under load too.
      const bool scheduled = now >= next_scheduled;
      if (scheduled) next_scheduled = now + delay;
      time_base_ = SpanClock::instance().time_base();
      busy_ = drain(batch) != 0;
      if (ticket > completed_snapshot_ || scheduled) {
        flush_live(batch);
        busy_ |= drain(batch) != 0;  // chunks handed off while flush_live ran
        if (ticket > completed_snapshot_) exporter_->force_flush(flush_timeout_);
      }
      if (shutting_down) {
        exporter_->shutdown(flush_timeout_);
        std::lock_guard lock(mu_);
        completed_ = ticket;
        completed_snapshot_ = ticket;
        stopped_ = true;
        done_cv_.notify_all();
        return;
      }
      if (ticket > completed_snapshot_) {
        std::lock_guard lock(mu_);
        completed_ = ticket;
        completed_snapshot_ = ticket;
        done_cv_.notify_all();
      }
    }
  }

  // Polls the hand-off stack for up to kPoll. A jump of the clock between two reads means this
  // thread lost its CPU meanwhile: when that adds up to an eighth of a window, other threads want
  // the CPU, and polling stops for kBackOff. (An occasional interrupt or kernel thread is not
  // contention; counting preemptions would say it is.)
  void poll() noexcept {
    using Clock = std::chrono::steady_clock;
    auto now = Clock::now();
    const auto until = now + kPoll;
    while (full_.empty() && now < until) {
      const auto t = Clock::now();
      if (t - now > kPreempted) lost_ += t - now;
      now = t;
    }
    if (now - window_start_ >= kWindow) {
      if (lost_ * 8 > now - window_start_) contended_until_ = now + kBackOff;
      window_start_ = now;
      lost_ = {};
    }
  }

  // Exports every handed-off chunk, oldest first; returns how many there were.
  std::size_t drain(SpanBatch& batch) {
    Chunk* list = full_.take_all();
    std::size_t chunks = 0;
    Chunk* fifo = nullptr;
    while (list != nullptr) {  // the stack is newest-first
      Chunk* next = list->next;
      list->next = fifo;
      fifo = list;
      list = next;
    }
    for (Chunk* c = fifo; c != nullptr; ++chunks) {
      Chunk* next = c->next;
      collect(batch, c, c->read, c->used, c->spans - c->read_spans);
      done_.push_back(c);  // recycled once the batch that holds its last records is exported
      c = next;
    }
    // Once per drain, not per chunk: producers write this line too.
    if (chunks != 0)
      pending_.fetch_sub(static_cast<std::int64_t>(chunks), std::memory_order_relaxed);
    if (!batch.empty()) {
      export_batch(batch);
    } else {
      recycle_done(last_batch_read_);  // the last batch ended exactly at a chunk's end
    }
    return chunks;
  }

  // Exports the committed part of chunks that threads are still filling (rare: flushes and the
  // schedule delay). The registry lock is held only to list them: an export can take seconds, and
  // threads starting or exiting meanwhile must not wait for it. The chunks stay valid after the
  // lock is released: only this thread recycles chunks, and writers only append past `committed`.
  void flush_live(SpanBatch& batch) {
    live_.clear();
    {
      std::lock_guard lock(registry_mu_);
      for (ThreadBuffer* tb : threads_) {
        Chunk* c = tb->current.load(std::memory_order_acquire);
        if (c != nullptr) live_.push_back({c, c->committed.load(std::memory_order_acquire)});
      }
    }
    for (const auto& [c, committed] : live_) {
      std::uint32_t spans = 0;
      for (std::uint32_t off = c->read; off < committed; ++spans) {
        off += record_size(c->data() + off);
      }
      collect(batch, c, c->read, committed, spans);
      c->read = committed;
      c->read_spans += spans;
    }
    if (!batch.empty()) export_batch(batch);
  }

  // Adds the `spans` records in [from, to) of a chunk, exporting whenever a batch fills up. The
  // records are not read here: a batch that fills up in the middle of the range takes its first
  // records, the next batch the rest (SpanBatch::add_records).
  void collect(SpanBatch& batch, Chunk* c, std::uint32_t from, std::uint32_t to,
               std::size_t spans) {
    const std::size_t max = options_.max_export_batch_size;
    for (std::size_t skip = 0; spans > 0;) {
      const std::size_t take = std::min(spans, max - batch.size());
      batch.add_records(c->data() + from, c->data() + to, skip, take);
      skip += take;
      spans -= take;
      if (batch.size() >= max) export_batch(batch);
    }
  }

  // Exports the batch, then recycles the chunks no later batch points into.
  void export_batch(SpanBatch& batch) {
    const auto n = batch.size();
    ExportResult r = ExportResult::Failure;
    try {
      if (!abandoned_.load(std::memory_order_relaxed)) r = exporter_->export_batch(batch);
    } catch (...) {
      // An exporter that throws loses its batch, not the process.
    }
    (r == ExportResult::Success ? exported_ : export_failed_)
        .fetch_add(n, std::memory_order_relaxed);
    last_batch_read_ = batch.was_read();
    batch.clear();
    recycle_done(last_batch_read_);
  }

  void recycle_done(bool read) noexcept {
    for (Chunk* d : done_) recycle(d, read);
    done_.clear();
  }

  std::unique_ptr<SpanExporter> exporter_;
  BatchOptions options_;
  Resource resource_;
  InstrumentationScope scope_;
  TimeBase time_base_;

  // Lines written by several threads are kept apart from each other and from what every span
  // reads (shut_down_): a write by one thread must not cost the others a cache miss per span.
  alignas(64) ChunkStack full_;
  alignas(64) ChunkStack free_;
  alignas(64) std::vector<Chunk*> done_;  // export thread only: drained chunks the current batch
                                          // points into
  bool last_batch_read_ = false;          // export thread only
  std::vector<std::pair<Chunk*, std::uint32_t>> live_;  // export thread only: flush_live's list
  std::atomic<std::size_t> allocated_{0};
  std::atomic<std::size_t> max_chunks_;
  // Chunks handed off and not yet drained: a wake-up heuristic only. Signed: a drain may count a
  // chunk before its producer has.
  alignas(64) std::atomic<std::int64_t> pending_{0};

  mutable std::mutex registry_mu_;
  std::vector<ThreadBuffer*> threads_;
  std::vector<ThreadBuffer*> retired_;  // buffers of exited threads, for reuse
  std::uint64_t retired_dropped_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::uint64_t requested_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t completed_snapshot_ = 0;  // export thread's copy of completed_
  bool shutdown_requested_ = false;
  bool stopped_ = false;
  std::chrono::milliseconds flush_timeout_{30000};

  alignas(64) std::atomic<bool> shut_down_{false};
  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<bool> abandoned_{false};  // shutdown timed out: count what is left as failed
  // Export thread only.
  bool busy_ = false;  // the last drain found chunks
  std::chrono::steady_clock::time_point contended_until_{};
  std::chrono::steady_clock::time_point window_start_{};
  std::chrono::steady_clock::duration lost_{};  // CPU time lost while polling, this window
  // No pause instruction in the loop: under a hypervisor with pause-loop exiting, a vCPU that
  // pauses in a loop is descheduled, which is exactly the latency the polling is meant to avoid.
  static constexpr auto kPoll = std::chrono::microseconds(50);
  static constexpr auto kPreempted = std::chrono::microseconds(10);
  static constexpr auto kWindow = std::chrono::milliseconds(10);
  static constexpr auto kBackOff = std::chrono::milliseconds(250);
  // Pending chunks that wake the export thread: half the pool, so a producer running flat out
  // pays one wake-up (a system call) per that many chunks at most, and the other half absorbs
  // the time the export thread takes to get a CPU.
  const std::int64_t wake_threshold_ = static_cast<std::int64_t>(
      std::max<std::size_t>(1, max_chunks_.load(std::memory_order_relaxed) / 2));
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> export_failed_{0};
  std::atomic<std::uint64_t> dropped_after_shutdown_{0};
};

}  // namespace detail
}  // namespace krishiv::trace
