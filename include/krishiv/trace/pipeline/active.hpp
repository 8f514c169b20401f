#pragma once
// The installed pipeline, as the span hot path finds it.
//
// One atomic pointer says which pipeline is active; each thread keeps a reference to the one it
// records into (so a pipeline cannot disappear under a thread that is using it) and its own
// buffer in it. The fast path compares two pointers; the slow path (first span of a thread, or a
// provider replaced) takes a mutex.
//
// A span outlives its pipeline when its provider is destroyed, or when the threads that kept the
// pipeline alive move on or exit. So a span holds no pointer to the pipeline itself but to the
// pipeline's slot, which is never freed (it is reused by a later pipeline, so slots never
// outnumber the pipelines alive at once), and the pipeline's id: at its end, the span records
// only if the pipeline this thread keeps alive has that id. No reference count is taken per span:
// that would be an atomic read-modify-write on a line every recording thread shares.
//
// fork(): the child gets a pipeline of its own (handlers registered once with pthread_atfork, at
// the first install). Before the fork, each export thread is brought to rest between batches,
// then the locks another thread could hold mid-update are taken, so the child finds them free
// and what they guard whole. In the child, each pipeline discards the spans buffered in the
// parent (the parent exports them; exporting them here too would send them twice), starts its
// counters from zero and its export thread anew. Spans open at the fork exist in both processes:
// the parent's copy is the one recorded; the child's ends as a span whose provider is gone
// (TracerProvider::dropped_without_provider()), because each pipeline takes a new id in the child.
// The sampled hot path is unchanged: it already compares that id at span end.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <pthread.h>

#include "krishiv/trace/pipeline/front_end.hpp"
#include "krishiv/trace/sampler.hpp"
#include "krishiv/trace/span_limits.hpp"

namespace krishiv::trace::detail {

struct Pipeline;

// What a recording span reads of its pipeline (the limits), readable after the pipeline is gone.
struct PipelineSlot {
  // The limits of the pipeline holding the slot. A span whose pipeline is gone may read the next
  // holder's: harmless, it records nothing. Relaxed atomics: plain loads on the hot path.
  std::atomic<std::size_t> attribute_count{0};
  std::atomic<std::size_t> attribute_value_length{0};
  std::atomic<std::size_t> event_count{0};
  std::atomic<std::size_t> link_count{0};
  std::atomic<std::size_t> attributes_per_event{0};
  std::atomic<std::size_t> attributes_per_link{0};

  // Under ActivePipeline::mu.
  std::uint64_t id = 0;  // the holder's Pipeline::id; 0 while free
  std::weak_ptr<Pipeline> holder;
  PipelineSlot* next_free = nullptr;

  void store_limits(const SpanLimits& l) noexcept {
    constexpr auto r = std::memory_order_relaxed;
    attribute_count.store(l.attribute_count, r);
    attribute_value_length.store(l.attribute_value_length, r);
    event_count.store(l.event_count, r);
    link_count.store(l.link_count, r);
    attributes_per_event.store(l.attributes_per_event, r);
    attributes_per_link.store(l.attributes_per_link, r);
  }
};

// What a span records into. The export worker stays out of it, so that code which only records
// spans does not compile the export side.
struct Pipeline {
  std::shared_ptr<FrontEnd> front_end;
  Sampler sampler = Sampler::always_on();
  SpanLimits limits;
  // Set when installed: unique for the life of the process (never 0).
  PipelineSlot* slot = nullptr;
  std::uint64_t id = 0;

  Pipeline() = default;
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  ~Pipeline();
};

// The fast-path copy of the installed pipeline (constinit: no guard on read).
inline constinit std::atomic<Pipeline*> g_active{nullptr};

struct ActivePipeline {
  std::mutex mu;
  // Live providers' pipelines in the order they were installed; the last one is active. Removing
  // the active one re-installs the one before it (TracerProvider's stacking rule).
  std::vector<std::shared_ptr<Pipeline>> installed;
  PipelineSlot* free_slots = nullptr;
  std::uint64_t last_id = 0;
  // Spans that ended after their provider was destroyed (TracerProvider::dropped_without_provider).
  std::atomic<std::uint64_t> dropped_without_provider{0};

  static void register_fork_handlers() noexcept;
  static ActivePipeline& get() noexcept {
    static ActivePipeline* a = new ActivePipeline;  // never destroyed: threads may outlive main
    return *a;
  }
  void install(std::shared_ptr<Pipeline> p) {
    register_fork_handlers();
    std::lock_guard lock(mu);
    PipelineSlot* slot = free_slots;
    if (slot != nullptr) {
      free_slots = slot->next_free;
    } else {
      slot = new PipelineSlot;  // never freed: spans may hold it (see the top of this file)
    }
    slot->id = p->id = ++last_id;
    slot->holder = p;
    slot->store_limits(p->limits);
    p->slot = slot;
    installed.push_back(p);
    g_active.store(p.get(), std::memory_order_release);
  }
  void uninstall(const Pipeline* p) {
    std::shared_ptr<Pipeline> gone;  // released after the lock: ~Pipeline takes it
    {
      std::lock_guard lock(mu);
      auto it = installed.begin();
      while (it != installed.end() && it->get() != p) ++it;
      if (it == installed.end()) return;
      gone = std::move(*it);
      installed.erase(it);
      g_active.store(installed.empty() ? nullptr : installed.back().get(),
                     std::memory_order_release);
    }
  }
  std::shared_ptr<Pipeline> active() {
    std::lock_guard lock(mu);
    return installed.empty() ? nullptr : installed.back();
  }
  void release_slot(PipelineSlot* slot) noexcept {
    std::lock_guard lock(mu);
    slot->id = 0;
    slot->holder.reset();
    slot->next_free = free_slots;
    free_slots = slot;
  }
};

inline Pipeline::~Pipeline() {
  if (slot != nullptr) ActivePipeline::get().release_slot(slot);
}

// Counts a span that cannot record into the pipeline it started in (the `id` one, which held
// `slot`): in that pipeline's stats while its provider lives, else process-wide.
[[gnu::cold]] inline void count_dropped_elsewhere(PipelineSlot* slot, std::uint64_t id) noexcept {
  auto& a = ActivePipeline::get();
  std::shared_ptr<Pipeline> p;  // released after the lock: ~Pipeline takes it
  {
    std::lock_guard lock(a.mu);
    if (slot->id == id) p = slot->holder.lock();
  }
  if (p) {
    p->front_end->count_dropped_inactive();
  } else {
    a.dropped_without_provider.fetch_add(1, std::memory_order_relaxed);
  }
}

// Trivially destructible, so the hot path reads it without a TLS init guard.
struct ThreadFast {
  Pipeline* pipeline = nullptr;
  ThreadBuffer* buffer = nullptr;
};
inline thread_local constinit ThreadFast t_fast{};

// Owns the thread's reference and buffer; its destructor hands the buffer over at thread exit.
struct ThreadKeeper {
  std::shared_ptr<Pipeline> keep;
  ThreadBuffer* buffer = nullptr;

  void release() noexcept {
    if (keep && buffer != nullptr) keep->front_end->unregister_thread(buffer);
    t_fast = {};
    buffer = nullptr;
    keep.reset();  // last: may be the pipeline's last reference
  }
  ~ThreadKeeper() { release(); }
};

inline ThreadKeeper& thread_keeper() {
  thread_local ThreadKeeper k;
  return k;
}

// Binds the calling thread to the active pipeline; returns it (nullptr when none).
inline Pipeline* bind_thread_slow() {
  std::shared_ptr<Pipeline> p = ActivePipeline::get().active();
  ThreadKeeper& k = thread_keeper();
  if (k.keep == p) return p.get();
  k.release();
  if (!p) return nullptr;
  k.buffer = p->front_end->register_thread();
  k.keep = std::move(p);
  t_fast = {k.keep.get(), k.buffer};
  return t_fast.pipeline;
}

// The active pipeline, bound to this thread (safe to use until the thread's next call).
inline Pipeline* active_pipeline() {
  Pipeline* p = g_active.load(std::memory_order_acquire);
  if (p == t_fast.pipeline) [[likely]]
    return p;
  return bind_thread_slow();
}

// The order: export threads at rest first (one may need a front end's registry lock to get
// there); then the active pipeline's lock before the front ends' (a thread binding to a pipeline
// releases the former before it takes the latter; nothing holds a front end's lock while taking
// it). The list of front ends is held throughout, so none comes or goes.
inline void fork_prepare() noexcept {
  auto& fronts = FrontEnd::all_front_ends();
  fronts.mu.lock();
  for (FrontEnd* f : fronts.list) f->park_for_fork();
  ActivePipeline::get().mu.lock();
  for (FrontEnd* f : fronts.list) f->lock_for_fork();
}

inline void fork_parent() noexcept {
  auto& fronts = FrontEnd::all_front_ends();
  for (FrontEnd* f : fronts.list) f->unlock_after_fork();
  ActivePipeline::get().mu.unlock();
  for (FrontEnd* f : fronts.list) f->resume_after_fork();
  fronts.mu.unlock();
}

// Locks taken in fork_prepare() by this thread, which is the child's only one: unlocked as the
// parent's are.
inline void fork_child() noexcept {
  auto& a = ActivePipeline::get();
  for (const auto& p : a.installed) {
    p->id = ++a.last_id;
    p->slot->id = p->id;
  }
  auto& fronts = FrontEnd::all_front_ends();
  for (FrontEnd* f : fronts.list) f->reset_in_child(t_fast.buffer);
  a.mu.unlock();
  for (FrontEnd* f : fronts.list) f->restart_in_child();
  fronts.mu.unlock();
}

inline void ActivePipeline::register_fork_handlers() noexcept {
  static const bool registered = ::pthread_atfork(&fork_prepare, &fork_parent, &fork_child) == 0;
  static_cast<void>(registered);
}

}  // namespace krishiv::trace::detail
