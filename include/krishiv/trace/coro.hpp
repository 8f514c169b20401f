#pragma once
// Coroutine support: the current context follows a coroutine across co_await, whichever thread
// resumes it. See docs/coroutines.md for which thread resumes what and what works with coroutine
// types from other libraries.
//
//   coro/task.hpp          task<T>: lazy, context-aware, symmetric transfer
//   coro/sync_wait.hpp     sync_wait(awaitable): block until done (tests, main)
//   coro/with_context.hpp  ContextAwarePromise, FrameContext, with_context: for foreign coroutines

#include "krishiv/trace/coro/sync_wait.hpp"
#include "krishiv/trace/coro/task.hpp"
#include "krishiv/trace/coro/with_context.hpp"
