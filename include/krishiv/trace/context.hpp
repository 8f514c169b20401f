#pragma once
// The current context: which span is active on this thread right now.
//
// Each thread has a chain of ContextScope nodes; the newest is current. Entering a scope links a
// node (it lives in the scope object itself: no allocation), leaving unlinks it. Coroutines
// (coro.hpp) keep a chain of their own and swap it in and out at every resumption and
// suspension: one pointer exchange, whatever thread resumes them.
//
// Scopes are expected to end in reverse order of entry. If they do not (an optional<> reset out
// of order, say), the node is spliced out of the chain: the current context stays correct and no
// dangling pointer remains.

#include <utility>

#include "krishiv/trace/span_context.hpp"

namespace krishiv::trace {

class ContextScope;

class Context {
 public:
  Context() = default;
  explicit Context(SpanContext span) : span_(std::move(span)) {}

  // The context of the calling thread (or coroutine): empty when no span is entered.
  static const Context& current() noexcept;

  const SpanContext& span_context() const noexcept { return span_; }
  bool has_span() const noexcept { return span_.is_valid(); }

  friend bool operator==(const Context&, const Context&) = default;

 private:
  SpanContext span_;
};

namespace detail {

// The head of the calling thread's chain. Trivially destructible and constinit: reading it needs
// no TLS initialisation guard.
//
// Out of line for clang < 16: it may cache a thread-local's address across a coroutine's
// suspension point and, after the coroutine resumes on another thread, use the previous
// thread's slot (seen with clang 14 here). A call it cannot see through forces a fresh lookup.
#if defined(__clang__) && __clang_major__ < 16
[[gnu::noinline]]
#endif
inline ContextScope*&
current_top() noexcept {
  thread_local constinit ContextScope* top = nullptr;
  return top;
}

inline const Context& empty_context() noexcept {
  static const Context empty;
  return empty;
}

struct unlinked_t {
  explicit unlinked_t() = default;
};

}  // namespace detail

// Makes a context current for a lexical scope; the previous one is current again when it ends.
// Not movable: the node is part of a chain.
class [[nodiscard]] ContextScope {
 public:
  explicit ContextScope(Context ctx) noexcept;
  // A chain root that is not linked into the thread's chain (a coroutine's own base context).
  // By reference: a coroutine copies the current context at every creation, so the copy goes
  // straight into the frame rather than through temporaries.
  ContextScope(const Context& ctx, detail::unlinked_t) noexcept : ctx_(ctx) {}

  ~ContextScope() {
    if (!linked_) return;
    ContextScope*& top = detail::current_top();
    if (top == this) {
      top = prev_;
    } else if (next_ != nullptr) {
      next_->prev_ = prev_;  // ended out of order: splice out
    }
    if (prev_ != nullptr) prev_->next_ = next_;
  }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

  const Context& context() const noexcept { return ctx_; }

 private:
  Context ctx_;
  ContextScope* prev_ = nullptr;  // current before this one
  ContextScope* next_ = nullptr;  // entered after this one and still alive
  bool linked_ = false;
};

// Linking `this` into the thread's chain is the design: the destructor unlinks it before the
// scope's storage ends. g++ 12's -Wdangling-pointer (in -Wall) does not follow that: it walks back
// from the return of the function that owns the scope without regard to which paths can run,
// finds one to `top = this` that skips the unlinking store (the destructor's `!linked_` exit, not
// yet folded away when the check runs) and reports "storing the address of local variable" in
// user code that enters a scope (-O2) or a span (-O3). A false positive, silenced here only.
// Out of the class body so that the pragmas stay at namespace scope.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
inline ContextScope::ContextScope(Context ctx) noexcept : ctx_(std::move(ctx)) {
  ContextScope*& top = detail::current_top();
  prev_ = top;
  if (prev_ != nullptr) prev_->next_ = this;
  top = this;
  linked_ = true;
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

inline const Context& Context::current() noexcept {
  const ContextScope* top = detail::current_top();
  return top != nullptr ? top->context() : detail::empty_context();
}

namespace detail {

// The current span's context (possibly invalid), or nullptr when no context is entered: what a
// span start needs from Context::current(), without the empty context's static.
inline const SpanContext* current_span_context() noexcept {
  const ContextScope* top = current_top();
  return top != nullptr ? &top->context().span_context() : nullptr;
}

// A coroutine's own chain of contexts, swapped in while it runs (coro/task.hpp and the adaptors
// for foreign coroutine types build on this).
class CoroutineContext {
 public:
  explicit CoroutineContext(const Context& ctx) noexcept
      : base_(ctx, unlinked_t{}), saved_(&base_) {}
  CoroutineContext(const CoroutineContext&) = delete;
  CoroutineContext& operator=(const CoroutineContext&) = delete;

  // At resumption: install the coroutine's chain, remember the thread's.
  void enter() noexcept { thread_top_ = std::exchange(current_top(), saved_); }
  // At suspension or completion: give the thread its chain back, keep the coroutine's.
  void leave() noexcept { saved_ = std::exchange(current_top(), thread_top_); }

  // A running coroutine starting another in its place (a task awaiting a task): `awaiting`'s chain
  // is current and it holds the thread's. One exchange instead of awaiting.leave() + enter().
  void enter_from(CoroutineContext& awaiting) noexcept {
    thread_top_ = awaiting.thread_top_;
    awaiting.saved_ = std::exchange(current_top(), saved_);
  }
  // The reverse, when this coroutine completes and `awaiting` continues on this thread.
  void leave_to(CoroutineContext& awaiting) noexcept {
    awaiting.thread_top_ = thread_top_;
    saved_ = std::exchange(current_top(), awaiting.saved_);
  }

  const Context& base() const noexcept { return base_.context(); }

 private:
  ContextScope base_;
  ContextScope* saved_;
  ContextScope* thread_top_ = nullptr;
};

}  // namespace detail
}  // namespace krishiv::trace
