// Spans and the providers they started under: a span may outlive its provider (destroyed,
// replaced, or the thread that started it gone), and providers may be nested. Run under
// AddressSanitizer: a span that touched a freed pipeline fails there with heap-use-after-free.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "span_test_support.hpp"

namespace kt = krishiv::trace;
using test::Recorder;

TEST_CASE("lifetime: a span that outlives its destroyed provider records nothing, safely") {
  const auto gone_before = kt::TracerProvider::dropped_without_provider();
  std::optional<Recorder> r(std::in_place);
  auto sink = r->sink;
  auto s = kt::info_span("outlived");
  r.reset();
  // A span started after the provider is gone rebinds this thread: the old pipeline's last
  // reference goes with it.
  { auto other = kt::info_span("no provider"); }
  s.set_attribute("k", 1);
  s.add_event("e");
  s.set_status(kt::StatusCode::Error, "late");
  s.end();
  CHECK(sink->size() == 0);
  CHECK(kt::TracerProvider::dropped_without_provider() == gone_before + 1);
}

TEST_CASE("lifetime: a span handed to another thread outlives the thread and the provider") {
  const auto gone_before = kt::TracerProvider::dropped_without_provider();
  std::optional<Recorder> r(std::in_place);
  auto sink = r->sink;
  kt::Span s;
  std::thread([&] { s = kt::info_span("from a thread that exits"); }).join();
  r.reset();  // the exited thread held the pipeline's last reference but the provider's
  s.set_attribute("k", 1);
  s.end();
  CHECK(sink->size() == 0);
  CHECK(kt::TracerProvider::dropped_without_provider() == gone_before + 1);
}

TEST_CASE("lifetime: a span that outlives a provider replaced by another is dropped") {
  const auto gone_before = kt::TracerProvider::dropped_without_provider();
  std::optional<Recorder> first(std::in_place);
  auto s = kt::info_span("outlived");
  first.reset();
  Recorder second;
  { auto fresh = kt::info_span("fresh"); }  // this thread now records into the second
  s.add_event("late");
  s.end();
  const auto spans = second.flush();
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].name == "fresh");
  CHECK(second.provider.stats().dropped_inactive == 0);  // not the second's span
  CHECK(kt::TracerProvider::dropped_without_provider() == gone_before + 1);
}

TEST_CASE("lifetime: a span of a live provider that is no longer installed counts there") {
  Recorder older;
  auto s = kt::info_span("started in the older");
  {
    Recorder newer;
    s.end();
    CHECK(newer.provider.stats().dropped_inactive == 0);
  }
  CHECK(older.provider.stats().dropped_inactive == 1);
  CHECK(older.flush().empty());
}

TEST_CASE("lifetime: providers come and go every 20 ms while 4 threads hand spans around") {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::deque<kt::Span> handed;  // spans started on one thread, ended on another
  std::atomic<std::uint64_t> started{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto s = kt::info_span("handed");
        ++started;
        std::optional<kt::Span> other;
        {
          std::lock_guard lock(mu);
          handed.push_back(std::move(s));
          if (handed.size() > 8) {
            other.emplace(std::move(handed.front()));
            handed.pop_front();
          }
        }
        if (other) {
          other->set_attribute("ended.on", "another thread");
          other->add_event("handed over");
          other->end();
        }
        auto local = kt::info_span("local");
        local.set_attribute("n", 1);
      }
    });
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  int providers = 0;
  while (std::chrono::steady_clock::now() < until) {
    Recorder r({.batch = kt::BatchOptions{.max_queue_size = 4096,
                                          .schedule_delay = std::chrono::milliseconds(5)}});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ++providers;
  }
  stop = true;
  for (auto& t : producers) t.join();
  handed.clear();
  INFO("providers: " << providers << ", spans started: " << started.load());
  CHECK(providers > 0);
  CHECK(started.load() > 0);
}

TEST_CASE("lifetime: destroying the installed provider re-installs the previous live one") {
  Recorder older;
  {
    Recorder newer;
    { auto s = kt::info_span("to newer"); }
    CHECK(newer.flush().size() == 1);
  }
  { auto s = kt::info_span("to older"); }
  const auto spans = older.flush();
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].name == "to older");
}

TEST_CASE("lifetime: providers destroyed out of order leave the newest live one installed") {
  std::optional<Recorder> a(std::in_place);
  std::optional<Recorder> b(std::in_place);
  std::optional<Recorder> c(std::in_place);
  b.reset();  // not installed: nothing changes
  { auto s = kt::info_span("to c"); }
  CHECK(c->flush().size() == 1);
  c.reset();  // b is gone: a is next
  { auto s = kt::info_span("to a"); }
  CHECK(a->flush().size() == 1);
  a.reset();
  { auto s = kt::info_span("to none"); }
}
