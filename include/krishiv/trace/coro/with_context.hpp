#pragma once
// Making coroutine types we do not own follow the current context.
//
// The model, shared with task<T>: every context-aware coroutine owns a detail::CoroutineContext
// (context.hpp): a chain of ContextScopes of its own, rooted at the context it captured. Each
// resumption installs that chain on the resuming thread and each suspension gives the thread its
// own chain back: a pointer exchange each way, no Context copy, no allocation. ContextScopes and
// span guards in the body link onto the coroutine's chain, so they stay current across co_await
// whichever thread resumes it.
//
// Three ways to get the exchange into a coroutine, from most to least complete (docs/coroutines.md
// has the table of what each covers):
//  - ContextAwarePromise, a base for a promise type you can edit: captures at creation, hooks every
//    co_await through await_transform, and initial/final suspension through context_initial() and
//    context_final().
//  - FrameContext, a local variable for a coroutine whose promise you cannot edit but which accepts
//    any awaitable (cppcoro, a user's task): co_await with_context(frame, op) at every suspension.
//  - FrameContext::Suspension, for promises that reject foreign awaitables (asio::awaitable): an
//    RAII scope around the co_await statement.
//
// Which thread resumes the awaiter: none of these adaptors changes it. The awaiter is resumed by
// whatever thread the wrapped awaitable resumes it on; the adaptors only fix the context there.

#include <concepts>
#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

#include "krishiv/trace/context.hpp"

namespace krishiv::trace {

class ContextAwarePromise;

namespace detail {

template <class A>
concept has_member_co_await = requires(A&& a) {
  static_cast<A&&>(a).operator co_await();
};

template <class A>
concept has_free_co_await = requires(A&& a) {
  operator co_await(static_cast<A&&>(a));
};

// The awaiter a co_await expression would use for `a` (without await_transform).
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (has_member_co_await<A>) {
    return static_cast<A&&>(a).operator co_await();
  } else if constexpr (has_free_co_await<A>) {
    return operator co_await(static_cast<A&&>(a));
  } else {
    return static_cast<A&&>(a);
  }
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));

template <class A>
using await_result_t = decltype(std::declval<awaiter_t<A>&>().await_resume());

// How a wrapper holds the wrapped awaiter. By value when it was produced by operator co_await or
// is a movable temporary: gcc 12 has had bugs with references to temporaries of a co_await
// expression, so a copy in the wrapper is the safe choice. By reference for lvalues (the caller
// owns them) and for immovable temporaries (which live to the end of the full expression, i.e.
// past the resumption).
template <class Aw>
using awaiter_storage_t =
    std::conditional_t<std::is_rvalue_reference_v<Aw> &&
                           std::is_move_constructible_v<std::remove_reference_t<Aw>>,
                       std::remove_cvref_t<Aw>, Aw>;

// An awaitable that knows how to hand its context over to the awaiting coroutine directly (task<T>
// does), instead of being wrapped in a ContextExchangeAwaiter. Found by ADL on the awaitable.
void chained_awaiter() = delete;
template <class A>
concept chains_context = requires(A&& a, ContextAwarePromise& p) {
  chained_awaiter(static_cast<A&&>(a), p);
};

// Wraps an awaiter so that the coroutine's chain leaves the thread before the coroutine can be
// resumed anywhere else and comes back on whichever thread resumes it. Holder provides
// leave_context() and enter_context(), each one pointer exchange; every enter must follow a leave.
template <class Aw, class Holder>
struct ContextExchangeAwaiter {
  Aw awaiter;
  Holder* holder;

  // A ready awaiter goes straight to await_resume, which enters: leave here so the pair balances
  // (an unbalanced enter would install a stale chain and hand the thread the coroutine's).
  bool await_ready() noexcept(noexcept(awaiter.await_ready())) {
    if (!awaiter.await_ready()) return false;
    holder->leave_context();
    return true;
  }

  // The exchange must come first: once the inner await_suspend has published the handle, another
  // thread may resume (and even destroy) this coroutine before await_suspend returns, so nothing
  // here may touch the frame after the inner call.
  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) noexcept(noexcept(awaiter.await_suspend(h))) {
    holder->leave_context();
    if constexpr (noexcept(awaiter.await_suspend(h))) {
      return awaiter.await_suspend(h);
    } else {
      try {
        return awaiter.await_suspend(h);
      } catch (...) {
        // A throwing await_suspend resumes the coroutine with the exception and without
        // await_resume ([expr.await]/5.1.3), so the context comes back here.
        holder->enter_context();
        throw;
      }
    }
  }

  decltype(auto) await_resume() noexcept(noexcept(awaiter.await_resume())) {
    holder->enter_context();
    return awaiter.await_resume();
  }
};

// Wraps an initial-suspend awaiter: the body's first resumption (or an eager start) enters.
// Nothing leaves before it: the coroutine's chain is not installed until the body runs.
template <class Aw, class Holder>
struct ContextInitialAwaiter {
  Aw awaiter;
  Holder* holder;

  bool await_ready() noexcept { return awaiter.await_ready(); }
  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) noexcept {
    return awaiter.await_suspend(h);
  }
  void await_resume() noexcept {
    holder->enter_context();
    awaiter.await_resume();
  }
};

// Wraps a final-suspend awaiter: leaves in await_ready, the last point that runs on every path
// (the coroutine may complete without suspending when await_ready is true).
template <class Aw, class Holder>
struct ContextFinalAwaiter {
  Aw awaiter;
  Holder* holder;

  bool await_ready() noexcept {
    holder->leave_context();
    return awaiter.await_ready();
  }
  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) noexcept {
    return awaiter.await_suspend(h);
  }
  void await_resume() noexcept { awaiter.await_resume(); }
};

template <template <class, class> class Wrapper, class Holder, class A>
auto wrap_awaitable(Holder* holder, A&& a) {
  using Stored = awaiter_storage_t<awaiter_t<A>>;
  return Wrapper<Stored, Holder>{get_awaiter(static_cast<A&&>(a)), holder};
}

}  // namespace detail

// A base for a promise type you can edit, making that coroutine type context-aware.
//
// The context is captured when the coroutine is created (the promise is constructed with the frame,
// before the caller gets the task object). The derived promise must:
//  - return context_initial(x) from initial_suspend() and context_final(x) from final_suspend():
//    every exchange assumes the chain was entered at the start and is left at the end. Without
//    them the thread's own chain is lost at the first suspension and, at completion, the thread
//    is left pointing into the destroyed frame;
//  - not declare its own await_transform, or forward every operand to
//    ContextAwarePromise::await_transform.
// Destroying such a coroutine while it is suspended runs its destructors in the destroying
// thread's context; task<T> enters first (see TaskPromiseBase::enter_for_destroy).
class ContextAwarePromise {
 public:
  // Runs in the caller of the coroutine function: the capture point, and the one Context copy.
  ContextAwarePromise() noexcept : context_(Context::current()) {}

  template <class A>
  auto await_transform(A&& a) {
    if constexpr (detail::chains_context<A>) {
      return chained_awaiter(static_cast<A&&>(a), *this);
    } else {
      return detail::wrap_awaitable<detail::ContextExchangeAwaiter>(this, static_cast<A&&>(a));
    }
  }

  template <class A>
  auto context_initial(A&& initial) noexcept {
    return detail::wrap_awaitable<detail::ContextInitialAwaiter>(this, static_cast<A&&>(initial));
  }

  template <class A>
  auto context_final(A&& final) noexcept {
    return detail::wrap_awaitable<detail::ContextFinalAwaiter>(this, static_cast<A&&>(final));
  }

  detail::CoroutineContext& coroutine_context() noexcept { return context_; }

  void leave_context() noexcept { context_.leave(); }
  void enter_context() noexcept { context_.enter(); }

 private:
  detail::CoroutineContext context_;
};

// The context of a coroutine whose promise you cannot edit, kept as a local in its frame.
//
// Declare it first in the body. It adopts the context current when the body starts (the starting
// thread's, i.e. "first awaited" for a lazy coroutine) or, with the explicit constructor, makes
// `ctx` current; either way from then on ContextScopes in the body link onto the frame's own chain.
// Every suspension must then go through with_context(frame, op) or a Suspension scope; one that
// does not leaves the coroutine's chain installed on the thread it suspends on. When the
// FrameContext goes out of scope (the end of the body, normally or by exception) it hands the
// thread back the chain the thread had.
class FrameContext {
 public:
  FrameContext() noexcept : context_(Context::current()) { context_.enter(); }
  explicit FrameContext(const Context& ctx) noexcept : context_(ctx) { context_.enter(); }
  ~FrameContext() {
    // Suspended means the frame is being destroyed from outside (cancellation): the thread doing
    // that has its own chain installed, which is not ours to touch.
    if (running_) context_.leave();
  }
  FrameContext(const FrameContext&) = delete;
  FrameContext& operator=(const FrameContext&) = delete;

  void leave_context() noexcept {
    context_.leave();
    running_ = false;
  }
  void enter_context() noexcept {
    context_.enter();
    running_ = true;
  }

  // For coroutine types that only co_await their own awaitables (asio::awaitable):
  //   { auto s = frame.suspension(); n = co_await sock.async_read_some(buf, use_awaitable); }
  // Leaves on construction, before the co_await; enters on destruction, after the coroutine resumes
  // on whichever thread, also when the co_await throws. Whatever runs between the two (the
  // operation's initiation) sees the thread's context, not the coroutine's.
  class [[nodiscard]] Suspension {
   public:
    explicit Suspension(FrameContext& frame) noexcept : frame_(frame) { frame_.leave_context(); }
    ~Suspension() { frame_.enter_context(); }
    Suspension(const Suspension&) = delete;
    Suspension& operator=(const Suspension&) = delete;

   private:
    FrameContext& frame_;
  };
  Suspension suspension() noexcept { return Suspension(*this); }

 private:
  detail::CoroutineContext context_;
  bool running_ = true;
};

// co_await with_context(frame, op): awaits op; the coroutine's chain leaves the thread before op
// can resume it and is current again on the thread that does resume it. The result (and any
// exception) of op is passed through unchanged.
template <class A>
auto with_context(FrameContext& frame, A&& awaitable) {
  return detail::wrap_awaitable<detail::ContextExchangeAwaiter>(&frame,
                                                                static_cast<A&&>(awaitable));
}

}  // namespace krishiv::trace
