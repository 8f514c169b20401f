#pragma once
// The asio headers the integration uses, and the one configuration it needs.
//
// asio 1.22 enables co_await for clang only with <experimental/coroutine> (libc++ before 14); with
// libstdc++'s <coroutine> clang has C++20 coroutines but asio leaves them off, and
// asio::awaitable does not exist. Defined here, before the first asio include; a program that
// includes asio first must define it itself (-DASIO_HAS_CO_AWAIT=1), as the meson dependency does.
#if defined(__clang__) && !defined(ASIO_HAS_CO_AWAIT) && defined(__cpp_impl_coroutine)
#if __cpp_impl_coroutine >= 201902L && __has_include(<coroutine>)
#define ASIO_HAS_CO_AWAIT 1
#endif
#endif

// Our warning flags (-Wconversion, -Wshadow...) flag asio's own code when it is on a plain -I
// path rather than a system one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <asio/any_io_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/execution.hpp>
#include <asio/execution_context.hpp>
#include <asio/is_executor.hpp>
#include <asio/prefer.hpp>
#include <asio/query.hpp>
#include <asio/require.hpp>
#pragma GCC diagnostic pop

#if !defined(ASIO_HAS_CO_AWAIT)
#error "krishiv/trace/integrations/asio needs asio with co_await (define ASIO_HAS_CO_AWAIT=1)"
#endif
