// The in-memory exporter (exporters/in_memory.hpp) that tests inspect spans with: wait_for,
// find and clear, fed by a real TracerProvider.

#include "krishiv/trace/exporters/in_memory.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include <catch2/catch.hpp>

#include "krishiv/trace.hpp"

namespace kt = krishiv::trace;
using namespace std::chrono_literals;

TEST_CASE("in-memory exporter: find, wait_for and clear") {
  auto sink = std::make_shared<kt::InMemoryExporter>();
  kt::TracerProvider provider({.exporter = kt::TracerExporter::InMemory(sink)});
  REQUIRE(provider.ok());
  CHECK(sink->wait_for(0, 0ms));
  CHECK(sink->size() == 0);

  kt::SpanId outer_id;
  {
    auto outer = kt::info_span("outer", kt::job_id{"j-1"}).entered();
    outer_id = outer.context().span_id;
    auto inner = kt::info_span("inner", kt::epoch{3}).entered();
    inner.add_event("tick");
  }
  REQUIRE(provider.force_flush());
  REQUIRE(sink->wait_for(2, 1s));
  CHECK(sink->size() == 2);
  CHECK_FALSE(sink->wait_for(3, 20ms));  // times out: no third span is coming

  const auto inner = sink->find("inner");
  REQUIRE(inner.has_value());
  CHECK(inner->parent_span_id == outer_id);
  REQUIRE(inner->events.size() == 1);
  CHECK(inner->events[0].name == "tick");
  const auto outer = sink->find("outer");
  REQUIRE(outer.has_value());
  CHECK(outer->is_root());
  CHECK(outer->trace_id == inner->trace_id);
  REQUIRE(outer->attribute("job_id") != nullptr);
  CHECK(std::get<std::string>(*outer->attribute("job_id")) == "j-1");
  CHECK_FALSE(sink->find("missing").has_value());
  CHECK(sink->spans().size() == 2);

  sink->clear();
  CHECK(sink->size() == 0);
  CHECK(sink->spans().empty());
  CHECK_FALSE(sink->find("inner").has_value());

  // Spans after a clear arrive as usual; find returns the first of several with one name.
  { auto a = kt::info_span("again", kt::task_id{1}); }
  { auto b = kt::info_span("again", kt::task_id{2}); }
  REQUIRE(provider.force_flush());
  REQUIRE(sink->wait_for(2, 1s));
  const auto again = sink->find("again");
  REQUIRE(again.has_value());
  CHECK(std::get<std::int64_t>(*again->attribute("task_id")) == 1);
}

TEST_CASE("in-memory exporter: wait_for wakes when spans arrive from the export thread") {
  auto sink = std::make_shared<kt::InMemoryExporter>();
  kt::TracerProvider provider({.exporter = kt::TracerExporter::InMemory(sink)});
  std::atomic<bool> arrived{false};
  std::thread waiter([&] { arrived = sink->wait_for(1, 10s); });
  { auto s = kt::info_span("late"); }
  REQUIRE(provider.force_flush());
  waiter.join();
  CHECK(arrived);  // Catch2 assertions are not thread-safe: checked here, not in the waiter
  CHECK(sink->find("late").has_value());
}
