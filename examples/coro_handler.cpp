// A request handler written as a coroutine. It awaits two downstream operations that complete on
// other threads, a timer thread and a pool, and its span stays current across every co_await:
// the spans opened after each resumption are its children. Prints the tree on stderr; exit
// status 1 if a link is wrong.

#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "krishiv/trace/coro.hpp"
#include "krishiv/trace/exporters/in_memory.hpp"
#include "krishiv/trace/provider.hpp"
#include "krishiv/trace/span.hpp"
#include "thread_pool.hpp"

namespace kt = krishiv::trace;
using namespace std::chrono_literals;

// One thread that resumes each awaiter after its delay. Which thread resumes the awaiter: the
// timer thread.
class TimerThread {
 public:
  TimerThread() : thread_([this] { run(); }) {}
  ~TimerThread() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  auto after(std::chrono::milliseconds d) noexcept {
    struct Awaiter {
      TimerThread* timer;
      std::chrono::milliseconds delay;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) {
        timer->add(std::chrono::steady_clock::now() + delay, h);
      }
      void await_resume() const noexcept {}
    };
    return Awaiter{this, d};
  }

 private:
  struct Entry {
    std::chrono::steady_clock::time_point due;
    std::coroutine_handle<> h;
  };
  void add(std::chrono::steady_clock::time_point due, std::coroutine_handle<> h) {
    {
      std::lock_guard lock(mutex_);
      entries_.push_back({due, h});
    }
    cv_.notify_all();
  }
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (stop_ && entries_.empty()) return;
      if (entries_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto first = entries_.begin();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->due < first->due) first = it;
      }
      if (std::chrono::steady_clock::now() < first->due) {
        cv_.wait_until(lock, first->due);
        continue;
      }
      auto h = first->h;
      entries_.erase(first);
      lock.unlock();
      h.resume();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Entry> entries_;
  bool stop_ = false;
  std::thread thread_;
};

kt::task<int> query_database(TimerThread& timer) {
  auto span = kt::info_span("db.query").entered();
  co_await timer.after(20ms);  // resumes on the timer thread
  co_return 42;
}

kt::task<std::string> handle_request(TimerThread& timer, ThreadPool& pool) {
  auto span = kt::info_span("handle_request").entered();
  const int rows = co_await query_database(timer);
  {
    auto s = kt::info_span("after_db").entered();  // on the timer thread, child of handle_request
    s.set_attribute("rows", rows);
  }
  co_await pool.schedule();                         // resumes on a pool worker
  auto render = kt::info_span("render").entered();  // child of handle_request, on the pool
  co_await timer.after(5ms);
  co_return "rendered " + std::to_string(rows) + " rows";
}

int main() {
  auto sink = std::make_shared<kt::InMemoryExporter>();
  int bad = 0;
  {
    kt::TracerProvider provider({.exporter = kt::TracerExporter::InMemory(sink)});
    TimerThread timer;
    ThreadPool pool(2);
    const std::string body = kt::sync_wait(handle_request(timer, pool));
    std::fprintf(stderr, "response: %s\n", body.c_str());
    if (kt::Context::current().has_span()) ++bad;  // main's context is untouched
    provider.force_flush();
    auto handler = sink->find("handle_request");
    if (!handler) return 1;
    std::fprintf(stderr, "handle_request %s (root)\n", handler->span_id.to_hex().c_str());
    for (const char* name : {"db.query", "after_db", "render"}) {
      auto s = sink->find(name);
      const bool ok =
          s && s->parent_span_id == handler->span_id && s->trace_id == handler->trace_id;
      if (!ok) ++bad;
      std::fprintf(stderr, "  %-8s %s parent %s %s\n", name, s ? s->span_id.to_hex().c_str() : "-",
                   s ? s->parent_span_id.to_hex().c_str() : "-", ok ? "ok" : "WRONG");
    }
  }
  std::fprintf(stderr, "%d bad links\n", bad);
  return bad == 0 ? 0 : 1;
}
