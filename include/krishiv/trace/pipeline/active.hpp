#pragma once
// The installed pipeline, as the span hot path finds it.
//
// One atomic pointer says which pipeline is active; each thread keeps a reference to the one it
// records into (so a pipeline cannot disappear under a thread that is using it) and its own
// buffer in it. The fast path compares two pointers; the slow path (first span of a thread, or a
// provider replaced) takes a mutex.

#include <atomic>
#include <memory>
#include <mutex>

#include "krishiv/trace/pipeline/front_end.hpp"
#include "krishiv/trace/sampler.hpp"
#include "krishiv/trace/span_limits.hpp"

namespace krishiv::trace::detail {

// What a span records into. The export worker stays out of it, so that code which only records
// spans does not compile the export side.
struct Pipeline {
  std::shared_ptr<FrontEnd> front_end;
  Sampler sampler = Sampler::always_on();
  SpanLimits limits;
};

// The fast-path copy of ActivePipeline::owner (constinit: no guard on read).
inline constinit std::atomic<Pipeline*> g_active{nullptr};

struct ActivePipeline {
  std::mutex mu;
  std::shared_ptr<Pipeline> owner;

  static ActivePipeline& get() noexcept {
    static ActivePipeline* a = new ActivePipeline;  // never destroyed: threads may outlive main
    return *a;
  }
  void install(std::shared_ptr<Pipeline> p) {
    std::lock_guard lock(mu);
    g_active.store(p.get(), std::memory_order_release);
    owner = std::move(p);
  }
  void uninstall(const Pipeline* p) {
    std::lock_guard lock(mu);
    if (owner.get() != p) return;
    g_active.store(nullptr, std::memory_order_release);
    owner.reset();
  }
};

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
    keep.reset();
    buffer = nullptr;
    t_fast = {};
  }
  ~ThreadKeeper() { release(); }
};

inline ThreadKeeper& thread_keeper() {
  thread_local ThreadKeeper k;
  return k;
}

// Binds the calling thread to the active pipeline; returns it (nullptr when none).
inline Pipeline* bind_thread_slow() {
  auto& a = ActivePipeline::get();
  std::shared_ptr<Pipeline> p;
  {
    std::lock_guard lock(a.mu);
    p = a.owner;
  }
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

}  // namespace krishiv::trace::detail
