#pragma once
// traced_executor<E>: an asio executor adaptor that carries one coroutine's context.
//
// asio resumes an awaitable coroutine only from a function object run by the executor of its
// "awaitable thread" (the chain of awaitable frames one co_spawn started): the completion handler
// of every operation awaited with use_awaitable, and the spawn itself, are dispatched through it.
// Nested asio::awaitable calls run in the same awaitable thread, on the same executor. So the
// executor is the one place that sees every resumption, and the awaitable thread is the unit that
// owns a context.
//
// Each coroutine co_spawn_traced starts gets one detail::AsioCoroutineState: a chain of
// ContextScopes of its own (as task<T> has), rooted at the context current when it was made.
// Every function object a traced_executor executes runs with that chain installed on the running
// thread; the thread's own chain is back when the function returns (or throws). ContextScopes and
// span guards entered in the coroutine link onto the chain, so the head saved when the function
// returns is the coroutine's context at its last suspension, and nested frames see their caller's
// spans.
//
// Lifetime: asio copies the executor several times per operation (the associated executor, the
// require/prefer results, the function objects it queues), so a copy is two words and costs no
// reference count. States live in a pool that is never freed; an executor names its state by slot
// and generation. The coroutine's own frame (co_spawn_traced wraps the awaitable) retires the
// state when it is destroyed: the generation moves on and the slot goes back to the pool. A copy
// that outlives its coroutine (a function posted to it later, an executor a user kept) finds a
// newer generation and runs its functions without a coroutine context, like a plain executor.
//
// Exclusion: asio may resume the coroutine on thread B as soon as an operation's initiation has
// published the handler, while thread A is still returning from the function that suspended it.
// The state is held by one thread at a time; B waits for A to save the chain, a window of a few
// instructions. Functions that are not resumptions (user work posted to this executor) are
// serialised with the coroutine the same way and see its context as it was at its suspension.
//
// A function executed inline while the same state is already held by the calling thread (a
// dispatch that runs at once, an operation that completes inside its initiation) runs on the chain
// as it is: the coroutine's chain is the one installed.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "krishiv/trace/integrations/asio/config.hpp"

#include "krishiv/trace/context.hpp"

namespace krishiv::trace {

template <class Executor>
class traced_executor;

namespace detail {

class AsioCoroutineState;
struct AsioAccess;

// A state's name: its slot in the pool (low bits) and the generation of the coroutine using it.
using asio_state_id = std::uint64_t;
inline constexpr unsigned kAsioSlotBits = 24;
inline constexpr unsigned kAsioChunkBits = 10;
inline constexpr std::uint64_t kAsioGenerationLimit = std::uint64_t{1} << (64 - kAsioSlotBits);

// The pool's chunks, found by slot without a lock: a chunk is published before any slot in it is
// handed out, and never freed.
inline constinit std::atomic<AsioCoroutineState*>
    asio_state_chunks[std::size_t{1} << (kAsioSlotBits - kAsioChunkBits)] = {};

inline AsioCoroutineState* asio_state_at(asio_state_id id) noexcept;

// One entry per state held by this thread, newest first. `below` is the thread's chain head
// under this state's: what the thread gets back when the state is released, and the live head of
// the state entered just before this one.
struct AsioRunFrame {
  asio_state_id id;
  ContextScope* below;
  AsioRunFrame* prev;
};

inline AsioRunFrame*& asio_run_frames() noexcept {
  thread_local constinit AsioRunFrame* frames = nullptr;
  return frames;
}

class alignas(64) AsioCoroutineState {
 public:
  // Recognises an any_io_executor wrapping a traced_executor of the same inner type as the one
  // this state was made for, and hands out its inner executor (co_spawn_traced unwraps with it,
  // so that a child's executor does not run through its parent's).
  using unwrap_fn = bool (*)(const asio::any_io_executor&, asio::any_io_executor&);

  AsioCoroutineState() = default;
  AsioCoroutineState(const AsioCoroutineState&) = delete;
  AsioCoroutineState& operator=(const AsioCoroutineState&) = delete;

  // A state rooted at `base`, from the pool.
  static asio_state_id make(const Context& base, unwrap_fn unwrapper);

  const Context& base() const noexcept { return base_->context(); }
  bool unwrap(const asio::any_io_executor& ex, asio::any_io_executor& inner) const {
    return unwrap_(ex, inner);
  }

  // Runs f with coroutine `id`'s chain current; without it when that coroutine is gone.
  template <class F>
  [[gnu::always_inline]] static inline void run(asio_state_id id, F& f);

  // The coroutine `id` is over: retires its state, now or when this thread releases it.
  static void retire(asio_state_id id) noexcept;

 private:
  struct Pool;
  static Pool& pool() noexcept;

  static constexpr std::uint64_t generation_of(asio_state_id id) noexcept {
    return id >> kAsioSlotBits;
  }
  static constexpr std::uint32_t slot_of(asio_state_id id) noexcept {
    return static_cast<std::uint32_t>(id & ((std::uint64_t{1} << kAsioSlotBits) - 1));
  }

  // Takes the state for generation `gen`; false when that generation is over.
  bool acquire(std::uint64_t gen) noexcept {
    std::uint64_t expected = gen << 1;
    if (lock_.compare_exchange_strong(expected, expected | 1, std::memory_order_acquire,
                                      std::memory_order_relaxed)) [[likely]] {
      return true;
    }
    return acquire_slow(gen);
  }
  bool acquire_slow(std::uint64_t gen) noexcept {
    // Contended only while another thread is between publishing a handler and returning from the
    // function that suspended the coroutine, or runs work serialised with it.
    for (unsigned spins = 0;; ++spins) {
      std::uint64_t seen = lock_.load(std::memory_order_relaxed);
      if ((seen >> 1) != gen) return false;
      if ((seen & 1) == 0) {
        if (lock_.compare_exchange_weak(seen, seen | 1, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
          return true;
        }
      } else if (spins > 64) {
        std::this_thread::yield();
      }
    }
  }
  // Releases the state; a retirement asked for while it was held happens here.
  void release(std::uint32_t slot) noexcept {
    if (!retiring_) [[likely]] {
      lock_.store(gen_ << 1, std::memory_order_release);
      return;
    }
    retire_held(slot);
  }
  void retire_held(std::uint32_t slot) noexcept;

  // gen << 1 | held.
  std::atomic<std::uint64_t> lock_{0};
  // Below, guarded by lock_.
  std::uint64_t gen_ = 0;
  ContextScope* saved_ = nullptr;
  bool retiring_ = false;
  std::optional<ContextScope> base_;
  unwrap_fn unwrap_ = nullptr;
};

struct AsioCoroutineState::Pool {
  std::mutex mutex;
  std::vector<std::uint32_t> free;
  std::uint32_t next = 0;  // first slot never handed out
};

inline AsioCoroutineState::Pool& AsioCoroutineState::pool() noexcept {
  // Never destroyed: executors and coroutines may outlive static destruction.
  static Pool* const p = new Pool;
  return *p;
}

inline AsioCoroutineState* asio_state_at(asio_state_id id) noexcept {
  const std::uint32_t slot = static_cast<std::uint32_t>(id & ((1u << kAsioSlotBits) - 1));
  return asio_state_chunks[slot >> kAsioChunkBits].load(std::memory_order_relaxed) +
         (slot & ((1u << kAsioChunkBits) - 1));
}

inline asio_state_id AsioCoroutineState::make(const Context& base, unwrap_fn unwrapper) {
  std::uint32_t slot;
  {
    Pool& p = pool();
    std::lock_guard lock(p.mutex);
    if (!p.free.empty()) {
      slot = p.free.back();
      p.free.pop_back();
    } else {
      if (p.next == (1u << kAsioSlotBits)) throw std::bad_alloc();
      slot = p.next++;
      std::atomic<AsioCoroutineState*>& chunk = asio_state_chunks[slot >> kAsioChunkBits];
      if (chunk.load(std::memory_order_relaxed) == nullptr) {
        chunk.store(new AsioCoroutineState[std::size_t{1} << kAsioChunkBits],
                    std::memory_order_release);
      }
    }
  }
  // Free: no thread holds it, and no id of the coming generation exists yet.
  AsioCoroutineState* s =
      asio_state_chunks[slot >> kAsioChunkBits].load(std::memory_order_acquire) +
      (slot & ((1u << kAsioChunkBits) - 1));
  s->base_.emplace(base, unlinked_t{});
  s->saved_ = &*s->base_;
  s->unwrap_ = unwrapper;
  s->retiring_ = false;
  const std::uint64_t gen = s->gen_;
  s->lock_.store(gen << 1, std::memory_order_release);
  return (gen << kAsioSlotBits) | slot;
}

inline void AsioCoroutineState::retire_held(std::uint32_t slot) noexcept {
  retiring_ = false;
  base_.reset();
  saved_ = nullptr;
  const bool reusable = ++gen_ < kAsioGenerationLimit;  // otherwise the slot is left unused
  lock_.store(gen_ << 1, std::memory_order_release);
  if (reusable) {
    Pool& p = pool();
    std::lock_guard lock(p.mutex);
    p.free.push_back(slot);
  }
}

inline void AsioCoroutineState::retire(asio_state_id id) noexcept {
  AsioCoroutineState* s = asio_state_at(id);
  for (AsioRunFrame* f = asio_run_frames(); f != nullptr; f = f->prev) {
    if (f->id == id) {
      s->retiring_ = true;  // the frame that took it releases it
      return;
    }
  }
  if (s->acquire(generation_of(id))) s->retire_held(slot_of(id));
}

template <class F>
inline void AsioCoroutineState::run(asio_state_id id, F& f) {
  AsioRunFrame*& frames = asio_run_frames();
  AsioRunFrame* const top = frames;
  if (top != nullptr && top->id == id) {
    f();
    return;
  }
  AsioCoroutineState* const s = asio_state_at(id);
  // Held further down this thread's stack (a child that ran inline completes into its parent):
  // the parent's live head is what the frame above it keeps as `below`.
  AsioRunFrame* above = nullptr;
  AsioRunFrame* held = top;
  while (held != nullptr && held->id != id) {
    above = held;
    held = held->prev;
  }
  ContextScope** slot;
  if (held != nullptr) {
    slot = &above->below;
  } else {
    if (!s->acquire(generation_of(id))) [[unlikely]] {
      f();  // the coroutine is over
      return;
    }
    slot = &s->saved_;
  }

  ContextScope*& head = current_top();
  AsioRunFrame mine{id, head, top};
  head = *slot;
  frames = &mine;
  struct Leave {
    AsioRunFrame& mine;
    ContextScope** slot;
    AsioCoroutineState* state;
    bool owned;
    ~Leave() {
      *slot = std::exchange(current_top(), mine.below);
      asio_run_frames() = mine.prev;
      if (owned) state->release(slot_of(mine.id));
    }
  } leave{mine, slot, s, held == nullptr};
  f();
}

// The function object handed to the inner executor.
template <class F>
struct AsioContextRunner {
  asio_state_id state;
  F f;
  void operator()() { AsioCoroutineState::run(state, f); }
};

template <class E>
struct is_traced_executor : std::false_type {};
template <class E>
struct is_traced_executor<traced_executor<E>> : std::true_type {};

// The state of the coroutine running on this thread, if any.
inline AsioCoroutineState* running_asio_state() noexcept {
  AsioRunFrame* f = asio_run_frames();
  return f != nullptr ? asio_state_at(f->id) : nullptr;
}

// Retires a coroutine's state when the coroutine's frame is destroyed (co_spawn_traced puts one
// in the frame it wraps around the awaitable).
class AsioStateOwner {
 public:
  explicit AsioStateOwner(asio_state_id id) noexcept : id_(id) {}
  AsioStateOwner(AsioStateOwner&& o) noexcept : id_(std::exchange(o.id_, kNone)) {}
  AsioStateOwner& operator=(AsioStateOwner&&) = delete;
  ~AsioStateOwner() {
    if (id_ != kNone) AsioCoroutineState::retire(id_);
  }

 private:
  static constexpr asio_state_id kNone = ~asio_state_id{0};
  asio_state_id id_;
};

}  // namespace detail

// An executor that runs every function object with one coroutine's context current, and gives the
// thread its own back afterwards. Made by co_spawn_traced for each coroutine it spawns (one per
// co_spawn'd awaitable thread), which ends it with the coroutine; a copy used after that runs its
// functions as the inner executor would, without a coroutine context. require() and prefer()
// apply to the inner executor and keep the coroutine.
template <class Executor>
class traced_executor {
 public:
  using inner_executor_type = Executor;

  const Executor& inner() const noexcept { return inner_; }
  // The context this coroutine started in (while the coroutine has not completed).
  const Context& base_context() const noexcept { return detail::asio_state_at(state_)->base(); }

  template <class F>
  [[gnu::always_inline]] inline void execute(F&& f) const {
    asio::execution::execute(
        inner_, detail::AsioContextRunner<std::decay_t<F>>{state_, static_cast<F&&>(f)});
  }

  template <class Property>
  requires asio::can_query<const Executor&, const Property&>::value decltype(auto) query(
      const Property& p) const
      noexcept(asio::is_nothrow_query<const Executor&, const Property&>::value) {
    return asio::query(inner_, p);
  }

  template <class Property>
  requires asio::can_require<const Executor&, const Property&>::value auto require(
      const Property& p) const {
    using R = std::decay_t<decltype(asio::require(inner_, p))>;
    return traced_executor<R>(asio::require(inner_, p), state_);
  }

  template <class Property>
  requires asio::can_prefer<const Executor&, const Property&>::value auto prefer(
      const Property& p) const {
    using R = std::decay_t<decltype(asio::prefer(inner_, p))>;
    return traced_executor<R>(asio::prefer(inner_, p), state_);
  }

  friend bool operator==(const traced_executor& a, const traced_executor& b) noexcept {
    return a.state_ == b.state_ && a.inner_ == b.inner_;
  }

 private:
  template <class>
  friend class traced_executor;
  friend struct detail::AsioAccess;

  traced_executor(Executor inner, detail::asio_state_id state)
      : inner_(std::move(inner)), state_(state) {}

  static bool unwrap(const asio::any_io_executor& ex, asio::any_io_executor& inner) {
    if constexpr (std::is_constructible_v<asio::any_io_executor, const Executor&>) {
      if (const auto* t = ex.template target<traced_executor>()) {
        inner = t->inner_;
        return true;
      }
    }
    return false;
  }

  Executor inner_;
  detail::asio_state_id state_;
};

namespace detail {

struct AsioAccess {
  // A traced_executor around `inner` for a new coroutine rooted at `base`, and what ends it.
  template <class E>
  static std::pair<traced_executor<E>, AsioStateOwner> make(E inner, const Context& base) {
    const asio_state_id id = AsioCoroutineState::make(base, &traced_executor<E>::unwrap);
    AsioStateOwner owner(id);
    return {traced_executor<E>(std::move(inner), id), std::move(owner)};
  }
};

}  // namespace detail

}  // namespace krishiv::trace
