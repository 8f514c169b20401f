#pragma once
// Opt-in asio integration (standalone asio, namespace asio): asio::awaitable coroutines carry
// their context across co_await, nested awaitables and threads. Needs asio on the include path;
// docs/coroutines.md has the model and its limits.
//
//   integrations/asio/traced_executor.hpp  traced_executor<E>: runs work in one coroutine's context
//   integrations/asio/co_spawn.hpp         co_spawn_traced(ex, awaitable, token)

#include "krishiv/trace/integrations/asio/co_spawn.hpp"
#include "krishiv/trace/integrations/asio/traced_executor.hpp"
