#pragma once
// co_spawn_traced: asio::co_spawn, with the spawned coroutine carrying its own context.
//
//   co_spawn_traced(pool, handle(std::move(socket)), asio::detached);
//
// The coroutine (and every asio::awaitable it awaits, and every operation they initiate) runs
// with the context current at this call as its base, on a traced_executor of its own wrapping
// `ex`. Spans entered in its body stay current across co_await whichever thread resumes it; the
// threads that run it keep their own context between its handlers.
//
// Spawning from inside a traced coroutine with its own executor (co_await
// asio::this_coro::executor) unwraps it: the child gets a state of its own, rooted at the parent's
// current span, on the parent's inner executor, and runs in parallel with its parent.

#include <type_traits>
#include <utility>

#include "krishiv/trace/integrations/asio/config.hpp"

#include "krishiv/trace/context.hpp"
#include "krishiv/trace/integrations/asio/traced_executor.hpp"

namespace krishiv::trace {

namespace detail {

// A traced_executor for a new coroutine rooted at the current context, around `ex` with any
// traced_executor it already is (or holds) taken off, and the owner that ends its state.
template <class Executor>
auto make_traced_for_spawn(const Executor& ex) {
  if constexpr (is_traced_executor<Executor>::value) {
    return make_traced_for_spawn(ex.inner());
  } else if constexpr (std::is_same_v<Executor, asio::any_io_executor>) {
    if (const AsioCoroutineState* running = running_asio_state()) {
      asio::any_io_executor inner;
      if (running->unwrap(ex, inner)) return AsioAccess::make(std::move(inner), Context::current());
    }
    return AsioAccess::make(ex, Context::current());
  } else {
    return AsioAccess::make(ex, Context::current());
  }
}

template <class T>
struct is_asio_awaitable : std::false_type {};
template <class T, class E>
struct is_asio_awaitable<asio::awaitable<T, E>> : std::true_type {};

// The spawned coroutine's bottom frame: its state ends with it.
template <class T, class E>
asio::awaitable<T, E> traced_body(asio::awaitable<T, E> a, [[maybe_unused]] AsioStateOwner owner) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(a);
  } else {
    co_return co_await std::move(a);
  }
}

template <class Awaitable>
auto traced_entry(Awaitable&& a, AsioStateOwner owner) {
  if constexpr (is_asio_awaitable<std::decay_t<Awaitable>>::value) {
    return traced_body(static_cast<Awaitable&&>(a), std::move(owner));
  } else {
    // A function returning the awaitable: asio calls it once, in the coroutine.
    return [f = static_cast<Awaitable&&>(a), owner = std::move(owner)]() mutable {
      return traced_body(f(), std::move(owner));
    };
  }
}

}  // namespace detail

// asio::co_spawn(ex, awaitable_or_function, token) on a traced_executor of its own. The awaitable's
// executor type must be constructible from traced_executor<...> (asio::awaitable<T>'s
// any_io_executor is).
template <class Executor, class Awaitable, class CompletionToken>
requires(asio::execution::is_executor<Executor>::value ||
         asio::is_executor<Executor>::value) decltype(auto)
    co_spawn_traced(const Executor& ex, Awaitable&& a, CompletionToken&& token) {
  auto [traced, owner] = detail::make_traced_for_spawn(ex);
  return asio::co_spawn(traced, detail::traced_entry(static_cast<Awaitable&&>(a), std::move(owner)),
                        static_cast<CompletionToken&&>(token));
}

// The same on an execution context's executor (an io_context, a thread_pool).
template <class ExecutionContext, class Awaitable, class CompletionToken>
requires std::is_convertible_v<ExecutionContext&, asio::execution_context&>
decltype(auto) co_spawn_traced(ExecutionContext& ctx, Awaitable&& a, CompletionToken&& token) {
  return co_spawn_traced(ctx.get_executor(), static_cast<Awaitable&&>(a),
                         static_cast<CompletionToken&&>(token));
}

}  // namespace krishiv::trace
