// A fan-out of 1,000 concurrent coroutine tasks on a small thread pool whose awaitable resumes on
// whichever worker is free. Each task opens a span, hops threads, opens a child span, hops again.
// At the end every parent/child link is checked and printed on stderr; exit status 1 on a bad one.

#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <map>
#include <memory>

#include "krishiv/trace/coro.hpp"
#include "krishiv/trace/exporters/in_memory.hpp"
#include "krishiv/trace/provider.hpp"
#include "krishiv/trace/span.hpp"
#include "thread_pool.hpp"

namespace kt = krishiv::trace;

// Fire-and-forget start with a latch: enough for an example without a when_all.
struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};
Detached start(kt::task<void> t, std::latch& done) {
  co_await std::move(t);
  done.count_down();
}

kt::task<void> work(ThreadPool& pool, int i) {
  auto span = kt::info_span("fanout.task").entered();
  span.set_attribute("index", i);
  co_await pool.schedule();
  {
    auto child = kt::info_span("fanout.child").entered();
    co_await pool.schedule();
  }
  co_await pool.schedule();  // the task span stays open, and current, until here
}

int main() {
  auto sink = std::make_shared<kt::InMemoryExporter>();
  int bad = 0;
  std::size_t spans = 0;
  {
    kt::TracerProvider provider({.exporter = kt::TracerExporter::InMemory(sink)});
    ThreadPool pool(4);
    constexpr int kTasks = 1000;
    std::latch done(kTasks);
    kt::SpanId root_id;
    {
      auto root = kt::info_span("fanout").entered();
      root_id = root.context().span_id;
      for (int i = 0; i < kTasks; ++i) start(work(pool, i), done);
      done.wait();
    }
    provider.force_flush();
    auto all = sink->spans();
    spans = all.size();
    std::map<std::uint64_t, const kt::SpanData*> tasks;
    for (const auto& s : all) {
      if (s.name == "fanout.task") tasks[s.span_id.to_u64()] = &s;
    }
    int shown = 0;
    for (const auto& s : all) {
      if (s.name == "fanout.task" && s.parent_span_id != root_id) ++bad;
      if (s.name != "fanout.child") continue;
      auto it = tasks.find(s.parent_span_id.to_u64());
      if (it == tasks.end() || it->second->trace_id != s.trace_id) {
        ++bad;
        continue;
      }
      if (shown++ < 5) {
        std::fprintf(stderr, "fanout %s -> task %s -> child %s\n", root_id.to_hex().c_str(),
                     it->second->span_id.to_hex().c_str(), s.span_id.to_hex().c_str());
      }
    }
  }
  std::fprintf(stderr, "%zu spans, %d bad parent/child links\n", spans, bad);
  return bad == 0 && spans == 2001 ? 0 : 1;
}
