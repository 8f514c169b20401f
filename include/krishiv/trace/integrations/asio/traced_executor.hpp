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
// Each traced_executor shares one detail::AsioCoroutineState with all its copies: a chain of
// ContextScopes of its own (detail::CoroutineContext, as task<T> has), rooted at the context
// current when it was made. Every function object it executes runs with that chain installed on
// the running thread; the thread's own chain is back when the function returns (or throws).
// ContextScopes and span guards entered in the coroutine link onto the chain, so the head saved
// when the function returns is the coroutine's context at its last suspension, and nested frames
// see their caller's spans.
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
#include <thread>
#include <type_traits>
#include <utility>

#include "krishiv/trace/integrations/asio/config.hpp"

#include "krishiv/trace/context.hpp"

namespace krishiv::trace {

template <class Executor>
class traced_executor;

namespace detail {

class AsioCoroutineState;

// One entry per state held by this thread, newest first. `below` is the thread's chain head
// under this state's: what the thread gets back when the state is released, and the live head of
// the state entered just before this one.
struct AsioRunFrame {
  AsioCoroutineState* state;
  ContextScope* below;
  AsioRunFrame* prev;
};

inline AsioRunFrame*& asio_run_frames() noexcept {
  thread_local constinit AsioRunFrame* frames = nullptr;
  return frames;
}

class AsioCoroutineState {
 public:
  // Recognises an any_io_executor wrapping a traced_executor of the same inner type as the one
  // this state was made for, and hands out its inner executor (co_spawn_traced unwraps with it,
  // so that a child's executor does not run through its parent's).
  using unwrap_fn = bool (*)(const asio::any_io_executor&, asio::any_io_executor&);

  AsioCoroutineState(const Context& base, unwrap_fn unwrapper) noexcept
      : base_(base, unlinked_t{}), saved_(&base_), unwrap_(unwrapper) {}
  AsioCoroutineState(const AsioCoroutineState&) = delete;
  AsioCoroutineState& operator=(const AsioCoroutineState&) = delete;

  void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  const Context& base() const noexcept { return base_.context(); }
  bool unwrap(const asio::any_io_executor& ex, asio::any_io_executor& inner) const {
    return unwrap_(ex, inner);
  }

  // Runs f with this coroutine's chain current.
  template <class F>
  void run(F& f) {
    AsioRunFrame*& frames = asio_run_frames();
    if (frames != nullptr && frames->state == this) {
      f();
      return;
    }
    // Held further down this thread's stack (a child that ran inline completes into its parent):
    // the parent's live head is what the frame above it keeps as `below`.
    AsioRunFrame* above = nullptr;
    AsioRunFrame* held = frames;
    while (held != nullptr && held->state != this) {
      above = held;
      held = held->prev;
    }
    ContextScope** slot = held != nullptr ? &above->below : &saved_;
    if (held == nullptr) acquire();

    AsioRunFrame mine{this, current_top(), frames};
    current_top() = *slot;
    frames = &mine;
    struct Leave {
      AsioRunFrame& mine;
      ContextScope** slot;
      AsioCoroutineState* state;
      bool owned;
      ~Leave() {
        *slot = std::exchange(current_top(), mine.below);
        asio_run_frames() = mine.prev;
        if (owned) state->busy_.store(false, std::memory_order_release);
      }
    } leave{mine, slot, this, held == nullptr};
    f();
  }

 private:
  void acquire() noexcept {
    // Contended only while another thread is between publishing a handler and returning from the
    // function that suspended the coroutine, or runs work serialised with it.
    for (unsigned spins = 0; busy_.exchange(true, std::memory_order_acquire); ++spins) {
      while (busy_.load(std::memory_order_relaxed)) {
        if (spins++ > 64) std::this_thread::yield();
      }
    }
  }

  std::atomic<std::size_t> refs_{1};
  std::atomic<bool> busy_{false};
  ContextScope base_;
  ContextScope* saved_;
  unwrap_fn unwrap_;
};

// An owning pointer to a state.
class AsioStateRef {
 public:
  AsioStateRef() = default;
  explicit AsioStateRef(AsioCoroutineState* adopted) noexcept : p_(adopted) {}
  AsioStateRef(const AsioStateRef& o) noexcept : p_(o.p_) {
    if (p_ != nullptr) p_->retain();
  }
  AsioStateRef(AsioStateRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  AsioStateRef& operator=(AsioStateRef o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~AsioStateRef() {
    if (p_ != nullptr) p_->release();
  }
  AsioCoroutineState* get() const noexcept { return p_; }
  AsioCoroutineState* operator->() const noexcept { return p_; }
  friend bool operator==(const AsioStateRef& a, const AsioStateRef& b) noexcept {
    return a.p_ == b.p_;
  }

 private:
  AsioCoroutineState* p_ = nullptr;
};

// The function object handed to the inner executor.
template <class F>
struct AsioContextRunner {
  AsioStateRef state;
  F f;
  void operator()() { state->run(f); }
};

template <class E>
struct is_traced_executor : std::false_type {};
template <class E>
struct is_traced_executor<traced_executor<E>> : std::true_type {};

// The state of the coroutine running on this thread, if any.
inline AsioCoroutineState* running_asio_state() noexcept {
  AsioRunFrame* f = asio_run_frames();
  return f != nullptr ? f->state : nullptr;
}

}  // namespace detail

// An executor that runs every function object with one coroutine's context current, and gives the
// thread its own back afterwards. Made by co_spawn_traced for each coroutine it spawns (one per
// co_spawn'd awaitable thread); the constructor makes a fresh one rooted at `base`. Copies share
// the coroutine; require() and prefer() apply to the inner executor and keep it.
template <class Executor>
class traced_executor {
 public:
  using inner_executor_type = Executor;

  traced_executor(Executor inner, const Context& base)
      : inner_(std::move(inner)),
        state_(new detail::AsioCoroutineState(base, &traced_executor::unwrap)) {}

  const Executor& inner() const noexcept { return inner_; }
  // The context this coroutine started in.
  const Context& base_context() const noexcept { return state_->base(); }

  template <class F>
  void execute(F&& f) const {
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

  traced_executor(Executor inner, detail::AsioStateRef state)
      : inner_(std::move(inner)), state_(std::move(state)) {}

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
  detail::AsioStateRef state_;
};

}  // namespace krishiv::trace
