#pragma once
// The recording pipeline's front end: per-thread buffers on the hot path, handed to the export
// thread (pipeline/export_worker.hpp), which gives them back once exported.
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
// The front end knows nothing of exporters, so the span functions compile without them. It owns
// every chunk; the export worker holds it by shared_ptr, so no chunk is freed under the worker.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "krishiv/trace/clock.hpp"
#include "krishiv/trace/detail/chrono.hpp"
#include "krishiv/trace/detail/varint.hpp"
#include "krishiv/trace/pipeline/chunk.hpp"
#include "krishiv/trace/pipeline/options.hpp"
#include "krishiv/trace/record/format.hpp"
#include "krishiv/trace/record/writer.hpp"

namespace krishiv::trace::detail {

// What the front end asks of its export side around fork() (pipeline/active.hpp runs the
// pthread_atfork handlers). The export worker implements it; the front end knows no more of it.
class ForkParticipant {
 public:
  // Parent, before fork(), with `lock` on FrontEnd::mutex(): brings the export thread to rest
  // between batches (holding no lock, in no exporter call), waiting a bounded time. False if it
  // did not get there (an exporter call that takes longer): the child cannot use the export side.
  virtual bool park_for_fork(std::unique_lock<std::mutex>& lock) noexcept = 0;
  // Parent, after fork(), with FrontEnd::mutex() held: the export thread goes on.
  virtual void resume_after_fork() noexcept = 0;
  // Child (one thread): a new export thread; `parked` is what park_for_fork() returned.
  virtual void restart_in_child(bool parked) noexcept = 0;

 protected:
  ~ForkParticipant() = default;
};

class FrontEnd {
 public:
  explicit FrontEnd(const BatchOptions& options)
      : max_chunks_(pool_chunks(options)),
        max_oversized_bytes_(options.max_queue_size * kNominalRecordBytes > 2 * kMaxRecordBytes
                                 ? options.max_queue_size * kNominalRecordBytes
                                 : 2 * kMaxRecordBytes) {
    SpanClock::instance();  // calibrate before the first span, not in it
    {
      auto& all = all_front_ends();
      std::lock_guard lock(all.mu);
      all.list.push_back(this);
    }
    // Chunks are allocated here, not on the span path: the whole pool for the default queue
    // (320 KiB), the first 1 MiB of a larger one (the rest comes as it is needed).
    const std::size_t pool = max_chunks_.load(std::memory_order_relaxed);
    const std::size_t eager = pool < kEagerChunks ? pool : kEagerChunks;
    for (std::size_t i = 0; i < eager; ++i) {
      if (Chunk* c = try_allocate(kChunkBytes, true)) free_.push(c);
    }
  }

  ~FrontEnd() {
    {
      auto& all = all_front_ends();
      std::lock_guard lock(all.mu);
      for (auto it = all.list.begin(); it != all.list.end(); ++it) {
        if (*it == this) {
          all.list.erase(it);
          break;
        }
      }
    }
    destroy_all(full_.take_all());
    destroy_all(free_.take_all());
    for (auto* list : {&threads_, &retired_}) {
      for (ThreadBuffer* tb : *list) {
        destroy_all(tb->free.take_all());
        delete tb;
      }
    }
  }

  FrontEnd(const FrontEnd&) = delete;
  FrontEnd& operator=(const FrontEnd&) = delete;

  // ---- hot path (any thread) ----------------------------------------------------------------

  bool accepting() const noexcept { return !shut_down_.load(std::memory_order_relaxed); }

  void append(ThreadBuffer& tb, const RecordHeader& header, std::int64_t end,
              const std::uint8_t* body, std::size_t body_size) noexcept {
    const std::uint64_t ticks = duration_ticks(header.start, end);
    const std::size_t size = framed_size(ticks, body_size);
    Chunk* c = tb.current.load(std::memory_order_relaxed);
    if (c == nullptr || c->used + size > c->capacity) [[unlikely]] {
      if (size > kChunkBytes) return append_oversized(tb, header, ticks, size, body, body_size);
      c = next_chunk(tb, c);
      if (c == nullptr) {
        tb.dropped.store(tb.dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return;
      }
    }
    frame_record(c->data() + c->used, header, ticks, size, body, body_size);
    c->used += static_cast<std::uint32_t>(size);
    ++c->spans;
    c->committed.store(c->used, std::memory_order_release);
  }

  // A span of this pipeline ended after it stopped accepting, or after another became active.
  void count_dropped_inactive() noexcept {
    dropped_inactive_.fetch_add(1, std::memory_order_relaxed);
  }
  // A span recorded with strings cut to fit kMaxRecordBytes.
  void count_truncated() noexcept { truncated_.fetch_add(1, std::memory_order_relaxed); }

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
      for (auto it = threads_.begin(); it != threads_.end(); ++it) {
        if (*it == tb) {
          threads_.erase(it);
          break;
        }
      }
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

  // Spans ended from now on are dropped and counted. False if it was already so.
  bool stop_accepting() noexcept { return !shut_down_.exchange(true); }

  // The front end's counters; the export worker fills in the export ones.
  PipelineStats stats() const {
    PipelineStats s;
    s.dropped_inactive = dropped_inactive_.load(std::memory_order_relaxed);
    s.dropped_too_large = dropped_too_large_.load(std::memory_order_relaxed);
    s.truncated = truncated_.load(std::memory_order_relaxed);
    s.buffer_bytes = allocated_.load(std::memory_order_relaxed) * std::uint64_t{kChunkBytes};
    std::lock_guard lock(registry_mu_);
    s.dropped_queue_full = retired_dropped_;
    for (const ThreadBuffer* tb : threads_) {
      s.dropped_queue_full += tb->dropped.load(std::memory_order_relaxed);
    }
    return s;
  }

  // ---- export thread ------------------------------------------------------------------------

  // The handed-off chunks, newest first.
  Chunk* take_full() noexcept { return full_.take_all(); }
  bool has_full() const noexcept { return !full_.empty(); }

  // `chunks` taken with take_full() are no longer pending. Once per drain, not per chunk:
  // producers write this line too.
  void drained(std::size_t chunks) noexcept {
    if (chunks != 0)
      pending_.fetch_sub(static_cast<std::int64_t>(chunks), std::memory_order_relaxed);
  }

  // Appends the chunks threads are still filling, each with its committed size. The registry
  // lock is held only to list them: an export can take seconds, and threads starting or exiting
  // meanwhile must not wait for it. The chunks stay valid after the lock is released: only the
  // export thread recycles chunks, and writers only append past `committed`.
  void live_chunks(std::vector<std::pair<Chunk*, std::uint32_t>>& live) const {
    std::lock_guard lock(registry_mu_);
    for (ThreadBuffer* tb : threads_) {
      Chunk* c = tb->current.load(std::memory_order_acquire);
      if (c != nullptr) live.push_back({c, c->committed.load(std::memory_order_acquire)});
    }
  }

  // `read`: the exporter read the records, so they sit in this thread's cache (see evict()).
  void recycle(Chunk* c, bool read) noexcept {
    if (!c->pooled) {
      oversized_bytes_.fetch_sub(c->capacity, std::memory_order_relaxed);
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

  // ---- fork() (pipeline/active.hpp's pthread_atfork handlers) ---------------------------------

  // Every live front end, for the fork handlers: also those of providers already destroyed whose
  // pipeline threads still hold, whose locks a thread exiting in the child takes.
  struct AllFrontEnds {
    std::mutex mu;
    std::vector<FrontEnd*> list;
  };
  static AllFrontEnds& all_front_ends() noexcept {
    static AllFrontEnds* all = new AllFrontEnds;  // never destroyed: threads may outlive main
    return *all;
  }

  // The export side to park and restart around fork(); nullptr to leave it.
  void set_fork_participant(ForkParticipant* p) {
    std::lock_guard lock(mu_);
    fork_participant_ = p;
  }

  // Parent, before fork(): the export thread at rest first (it may need the registry lock to get
  // there); then both locks, in the order unregister_thread() takes them, held across fork() so
  // that the child gets them free and the lists they guard whole.
  void park_for_fork() noexcept {
    std::unique_lock lock(mu_);
    fork_parked_ = fork_participant_ == nullptr || fork_participant_->park_for_fork(lock);
  }
  void lock_for_fork() noexcept {
    registry_mu_.lock();
    mu_.lock();
  }
  void unlock_after_fork() noexcept {
    mu_.unlock();
    registry_mu_.unlock();
  }
  void resume_after_fork() noexcept {
    std::lock_guard lock(mu_);
    if (fork_participant_ != nullptr) fork_participant_->resume_after_fork();
  }

  // Child, one thread (the one that called fork(), whose buffer is `survivor` if it records
  // here). The spans buffered here are the parent's, which exports them: the child discards them
  // and starts from zero counters, with the same pool.
  void reset_in_child(const ThreadBuffer* survivor) noexcept {
    // Locked by this thread in lock_for_fork(). The condition variable's waiter was a thread of
    // the parent: a new one goes over it, the old one is never destroyed (its destructor would
    // wait for that waiter).
    mu_.unlock();
    registry_mu_.unlock();
    new (&cv_) std::condition_variable;

    // Threads other than the caller do not exist here: their buffers retire as at thread exit.
    // Every chunk found is emptied and pooled again, but the caller's current one, emptied in
    // place. A thread forked away in the middle of taking its next chunk can leave one in two
    // places at once (handed off, recycled to its free stack, and still its current chunk), so
    // each is collected once (Chunk::fork_seen); one another thread was moving between stacks
    // is in none and is lost (not freed). The pool is recounted from the chunks found, so that
    // it keeps its size.
    std::vector<Chunk*> found;
    std::vector<Chunk*> lists{full_.take_all(), free_.take_all()};
    std::vector<Chunk*> singles;
    std::vector<ThreadBuffer*> alive;
    for (ThreadBuffer* tb : threads_) {
      tb->dropped.store(0, std::memory_order_relaxed);
      lists.push_back(tb->free.take_all());
      if (tb == survivor) {
        alive.push_back(tb);
        continue;
      }
      if (Chunk* c = tb->current.exchange(nullptr, std::memory_order_relaxed)) singles.push_back(c);
      tb->retired.store(true, std::memory_order_relaxed);
      max_chunks_.fetch_sub(1, std::memory_order_relaxed);
      retired_.push_back(tb);
    }
    threads_ = std::move(alive);
    for (ThreadBuffer* tb : retired_) {
      if (tb->retired.load(std::memory_order_relaxed)) lists.push_back(tb->free.take_all());
    }
    Chunk* kept = survivor != nullptr && !threads_.empty()
                      ? threads_.front()->current.load(std::memory_order_relaxed)
                      : nullptr;
    for (Chunk* list : lists) {
      for (Chunk* c = list; c != nullptr; c = c->next) c->fork_seen = false;
    }
    for (Chunk* c : singles) c->fork_seen = false;
    if (kept != nullptr) kept->fork_seen = true;
    const auto collect = [&found](Chunk* c) {
      if (c->fork_seen) return;
      c->fork_seen = true;
      found.push_back(c);
    };
    for (Chunk* list : lists) {
      for (Chunk* c = list; c != nullptr; c = c->next) collect(c);
    }
    for (Chunk* c : singles) collect(c);
    std::size_t pooled = 0;
    if (kept != nullptr) {  // after the lists: it may be in one, whose links reset() would cut
      kept->reset();
      ++pooled;
    }
    for (Chunk* c : found) {
      if (!c->pooled) {
        Chunk::destroy(c);
        continue;
      }
      c->reset();
      free_.push(c);
      ++pooled;
    }
    allocated_.store(pooled, std::memory_order_relaxed);
    // The parent's oversized chunks were all handed off (destroyed above) or destroyed by the
    // export thread before it parked.
    oversized_bytes_.store(0, std::memory_order_relaxed);
    pending_.store(0, std::memory_order_relaxed);
    sleeping_.store(false, std::memory_order_relaxed);
    retired_dropped_ = 0;
    dropped_inactive_.store(0, std::memory_order_relaxed);
    dropped_too_large_.store(0, std::memory_order_relaxed);
    truncated_.store(0, std::memory_order_relaxed);
  }
  // Child, after reset_in_child() and the other libraries' fork handlers (gRPC's).
  void restart_in_child() noexcept {
    std::lock_guard lock(mu_);
    if (fork_participant_ != nullptr) fork_participant_->restart_in_child(fork_parked_);
  }

  // The doorbell. Its mutex also guards the export worker's requests, whose predicate the sleep
  // tests, so that a request cannot fall between that test and the wait.
  std::mutex& mutex() noexcept { return mu_; }
  // With mutex() held.
  void wake() noexcept { cv_.notify_one(); }
  // With mutex() held: sleeps until `deadline`, until `woken()`, or until enough chunks wait.
  template <class Woken>
  void sleep_until(std::unique_lock<std::mutex>& lock,
                   std::chrono::steady_clock::time_point deadline, Woken woken) {
    sleeping_.store(true);  // seq_cst: pairs with hand_off's fetch_add and load
    cv_.wait_until(lock, deadline, [&] { return woken() || pending_.load() >= wake_threshold_; });
    sleeping_.store(false, std::memory_order_relaxed);
  }

 private:
  // The queue, plus the batch being exported (the spec's processor takes that batch out of its
  // queue), in chunks.
  static std::size_t pool_chunks(const BatchOptions& o) noexcept {
    const std::size_t chunks =
        ((o.max_queue_size + o.max_export_batch_size) * kNominalRecordBytes + kChunkBytes - 1) /
        kChunkBytes;
    return chunks > 4 ? chunks : 4;
  }

  // Order matters for force_flush(): the old chunk is handed off *before* `current` changes, so a
  // flush that no longer sees it as current is sure to find it in the hand-off stack.
  Chunk* next_chunk(ThreadBuffer& tb, Chunk* old) noexcept {
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

  // A span larger than a chunk (long strings, thousands of attributes) gets a one-off chunk that
  // is handed off as soon as the record is in it: it never becomes a thread's current chunk, so
  // no stale pointer to it can outlive it. Such chunks in flight are bounded in bytes
  // (max_oversized_bytes_): past that, the queue is full.
  [[gnu::noinline, gnu::cold]] void append_oversized(ThreadBuffer& tb, const RecordHeader& header,
                                                     std::uint64_t ticks, std::size_t size,
                                                     const std::uint8_t* body,
                                                     std::size_t body_size) noexcept {
    if (size > kMaxRecordBytes) {
      dropped_too_large_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Chunk* c = try_allocate(static_cast<std::uint32_t>(size), false);
    if (c == nullptr) {
      tb.dropped.store(tb.dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      return;
    }
    frame_record(c->data(), header, ticks, size, body, body_size);
    c->used = static_cast<std::uint32_t>(size);
    c->spans = 1;
    c->committed.store(c->used, std::memory_order_release);
    hand_off(c);
  }

  Chunk* try_allocate(std::uint32_t capacity, bool pooled) noexcept {
    if (pooled) {
      std::size_t n = allocated_.load(std::memory_order_relaxed);
      do {
        if (n >= max_chunks_.load(std::memory_order_relaxed)) return nullptr;
      } while (!allocated_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    } else if (oversized_bytes_.fetch_add(capacity, std::memory_order_relaxed) + capacity >
               max_oversized_bytes_) {
      oversized_bytes_.fetch_sub(capacity, std::memory_order_relaxed);
      return nullptr;
    }
    try {
      return Chunk::create(capacity, pooled);
    } catch (...) {
      (pooled ? allocated_ : oversized_bytes_)
          .fetch_sub(pooled ? 1 : capacity, std::memory_order_relaxed);
      return nullptr;
    }
  }

  // Always through the export thread, even when a flush already exported the whole chunk: only
  // that thread may touch Chunk::read, and it may be reading this chunk right now.
  void hand_off(Chunk* c) noexcept {
    full_.push(c);
    // seq_cst on both sides (here and in sleep_until()): either the export thread sees the new
    // pending count before it sleeps, or this thread sees it sleeping. Only then a wake-up is
    // paid for.
    if (pending_.fetch_add(1) + 1 >= wake_threshold_ && sleeping_.load()) {
      // Through the lock, so the wake-up cannot fall between the sleeper's test and its wait;
      // notified after it, so the woken thread does not block on the lock again.
      { std::lock_guard lock(mu_); }
      cv_.notify_one();
    }
  }

  // Lines written by several threads are kept apart from each other and from what every span
  // reads (shut_down_): a write by one thread must not cost the others a cache miss per span.
  alignas(64) ChunkStack full_;
  alignas(64) ChunkStack free_;
  alignas(64) std::atomic<std::size_t> allocated_{0};
  std::atomic<std::size_t> max_chunks_;
  // One-off chunks in flight, in bytes: the queue's, and at least two of the largest records.
  const std::size_t max_oversized_bytes_;
  std::atomic<std::size_t> oversized_bytes_{0};
  // Chunks handed off and not yet drained: a wake-up heuristic only. Signed: a drain may count a
  // chunk before its producer has.
  alignas(64) std::atomic<std::int64_t> pending_{0};

  mutable std::mutex registry_mu_;
  std::vector<ThreadBuffer*> threads_;
  std::vector<ThreadBuffer*> retired_;  // buffers of exited threads, for reuse
  std::uint64_t retired_dropped_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  ForkParticipant* fork_participant_ = nullptr;  // under mu_
  bool fork_parked_ = true;                      // between the fork handlers

  alignas(64) std::atomic<bool> shut_down_{false};
  alignas(64) std::atomic<bool> sleeping_{false};
  // Pending chunks that wake the export thread: half the pool, so a producer running flat out
  // pays one wake-up (a system call) per that many chunks at most, and the other half absorbs
  // the time the export thread takes to get a CPU.
  const std::int64_t wake_threshold_ =
      static_cast<std::int64_t>(max_chunks_.load(std::memory_order_relaxed) >= 2
                                    ? max_chunks_.load(std::memory_order_relaxed) / 2
                                    : 1);
  std::atomic<std::uint64_t> dropped_inactive_{0};
  std::atomic<std::uint64_t> dropped_too_large_{0};
  std::atomic<std::uint64_t> truncated_{0};
};

}  // namespace krishiv::trace::detail
