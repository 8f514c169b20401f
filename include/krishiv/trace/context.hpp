#pragma once
// The current context: which span is active on this thread right now.
//
// A thread-local slot, replaced for a scope by ContextScope and restored when the scope ends.
// Coroutines (coro.hpp) swap it at every resumption and suspension, so the slot always belongs to
// whatever code is running on the thread, never to a coroutine that happened to run there before.

#include <utility>

#include "krishiv/trace/span_context.hpp"

namespace krishiv::trace {

class Context {
 public:
  Context() = default;
  explicit Context(SpanContext span) : span_(std::move(span)) {}

  // The context of the calling thread (empty when no span is entered).
  static const Context& current() noexcept;

  const SpanContext& span_context() const noexcept { return span_; }
  bool has_span() const noexcept { return span_.is_valid(); }

  friend bool operator==(const Context&, const Context&) = default;

 private:
  SpanContext span_;
};

namespace detail {

inline Context& current_slot() noexcept {
  thread_local Context slot;
  return slot;
}

}  // namespace detail

inline const Context& Context::current() noexcept {
  return detail::current_slot();
}

// Makes a context current for a lexical scope; restores the previous one on destruction.
// Not movable: scopes must nest, and a moved scope would restore out of order.
class [[nodiscard]] ContextScope {
 public:
  explicit ContextScope(Context ctx) noexcept
      : previous_(std::exchange(detail::current_slot(), std::move(ctx))) {}
  ~ContextScope() { detail::current_slot() = std::move(previous_); }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  Context previous_;
};

}  // namespace krishiv::trace
