// An asio server-style coroutine on a thread pool with the asio integration: the request span
// stays current across co_await and inside nested awaitables, whichever pool thread resumes them.
// The code between the markers is the example in docs/coroutines.md. Exit status 1 if a parent
// is wrong.

#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <memory>

#include "krishiv/trace/exporters/in_memory.hpp"
#include "krishiv/trace/integrations/asio.hpp"
#include "krishiv/trace/provider.hpp"
#include "krishiv/trace/span.hpp"

namespace kt = krishiv::trace;
using namespace std::chrono_literals;

// [example]
asio::awaitable<int> query_database(int id) {
  auto span = kt::info_span("query_database").entered();  // child of handle_request
  asio::steady_timer timer(co_await asio::this_coro::executor, 2ms);
  co_await timer.async_wait(asio::use_awaitable);  // any pool thread resumes
  co_return id * 2;
}

asio::awaitable<void> handle_request(int id) {
  auto span = kt::info_span("handle_request").entered();  // child of the span at the spawn
  int rows = co_await query_database(id);                 // nested: inherits handle_request
  co_await asio::post(asio::use_awaitable);               // another hop: still handle_request
  auto render = kt::info_span("render").entered();        // child of handle_request
  render.set_attribute("rows", static_cast<std::int64_t>(rows));
}

void serve(asio::thread_pool& pool) {
  auto batch = kt::info_span("batch").entered();
  for (int id = 0; id < 8; ++id) kt::co_spawn_traced(pool, handle_request(id), asio::detached);
}
// [example]

int main() {
  auto sink = std::make_shared<kt::InMemoryExporter>();
  {
    kt::TracerProvider provider({.exporter = kt::TracerExporter::InMemory(sink)});
    asio::thread_pool pool(4);
    serve(pool);
    pool.join();
    provider.force_flush();
  }
  const auto spans = sink->spans();
  auto id_of = [&](std::string_view name) {
    for (const auto& s : spans) {
      if (s.name == name) return s.span_id;
    }
    return kt::SpanId{};
  };
  int wrong = 0;
  for (const auto& s : spans) {
    if (s.name == "batch") continue;
    if (s.name == "handle_request" && s.parent_span_id != id_of("batch")) ++wrong;
    if (s.name != "handle_request") {
      bool found = false;
      for (const auto& p : spans) {
        if (p.name == "handle_request" && p.span_id == s.parent_span_id) found = true;
      }
      if (!found) ++wrong;
    }
  }
  std::fprintf(stderr, "%zu spans, %d with a wrong parent\n", spans.size(), wrong);
  return wrong == 0 && spans.size() == 1 + 8 * 3 ? 0 : 1;
}
