// g++ 12 at -O3 warns -Wrestrict, falsely, inside std::string ("k" + std::to_string(i), and
// assign/insert once inlined): GCC bug 105651. Before the includes, where those warnings point.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include "krishiv/trace/span.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "span_test_support.hpp"

namespace kt = krishiv::trace;
using test::by_name;
using test::Recorder;

TEST_CASE("span: nesting through the current context makes parent and child") {
  Recorder r;
  std::string outer_tp;
  {
    auto outer = kt::info_span("outer").entered();
    outer_tp = kt::current_traceparent();
    {
      auto inner = kt::info_span("inner").entered();
      auto leaf = kt::debug_span("leaf");  // not entered: still a child of inner
    }
    auto sibling = kt::info_span("sibling");
  }
  CHECK(kt::current_traceparent().empty());
  const auto spans = r.flush();
  REQUIRE(spans.size() == 4);
  const auto& outer = by_name(spans, "outer");
  const auto& inner = by_name(spans, "inner");
  const auto& leaf = by_name(spans, "leaf");
  const auto& sibling = by_name(spans, "sibling");
  CHECK(outer.is_root());
  CHECK_FALSE(outer.parent_is_remote.has_value());
  CHECK(inner.parent_span_id == outer.span_id);
  CHECK(inner.parent_is_remote == std::optional<bool>(false));
  CHECK(leaf.parent_span_id == inner.span_id);
  CHECK(sibling.parent_span_id == outer.span_id);
  for (const auto& s : spans) CHECK(s.trace_id == outer.trace_id);
  CHECK(outer_tp == "00-" + outer.trace_id.to_hex() + "-" + outer.span_id.to_hex() + "-03");
  // children end first, and every span ends after it starts
  CHECK(leaf.end_unix_ns <= inner.end_unix_ns);
  CHECK(inner.end_unix_ns <= outer.end_unix_ns);
  for (const auto& s : spans) CHECK(s.start_unix_ns <= s.end_unix_ns);
}

TEST_CASE("span: timestamps are unix nanoseconds of now") {
  Recorder r;
  const auto before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  { auto s = kt::info_span("t"); }
  const auto after = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const auto spans = r.flush();
  REQUIRE(spans.size() == 1);
  // The TSC conversion may differ from the system clock by its calibration error: allow 1 ms.
  CHECK(static_cast<std::int64_t>(spans[0].start_unix_ns) >= before - 1'000'000);
  CHECK(static_cast<std::int64_t>(spans[0].end_unix_ns) <= after + 1'000'000);
}

TEST_CASE("span: standard fields and dynamic attributes are recorded with their types") {
  Recorder r;
  {
    auto s = kt::info_span("op", kt::job_id{"job-1"}, kt::task_id{7}, kt::epoch{3},
                           kt::operator_id{"scan-2"});
    s.set_attribute("rows", 1000)
        .set_attribute("ratio", 0.5)
        .set_attribute("ok", true)
        .set_attribute("table", std::string("t1"))
        .set_attribute("shards", std::vector<std::int64_t>{1, 2, 3})
        .set_attribute("names", std::vector<std::string>{"a", "b"});
    s.set_attribute("rows", 2000);  // overwrites, per the spec
  }
  const auto spans = r.flush();
  REQUIRE(spans.size() == 1);
  const auto& s = spans[0];
  CHECK(s.attributes.size() == 10);
  CHECK(std::get<std::string>(*s.attribute("job_id")) == "job-1");
  CHECK(std::get<std::int64_t>(*s.attribute("task_id")) == 7);
  CHECK(std::get<std::int64_t>(*s.attribute("epoch")) == 3);
  CHECK(std::get<std::string>(*s.attribute("operator_id")) == "scan-2");
  CHECK(std::get<std::int64_t>(*s.attribute("rows")) == 2000);
  CHECK(std::get<double>(*s.attribute("ratio")) == 0.5);
  CHECK(std::get<bool>(*s.attribute("ok")));
  CHECK(std::get<std::string>(*s.attribute("table")) == "t1");
  CHECK(std::get<std::vector<std::int64_t>>(*s.attribute("shards")) ==
        std::vector<std::int64_t>{1, 2, 3});
  CHECK(std::get<std::vector<std::string>>(*s.attribute("names")) ==
        std::vector<std::string>{"a", "b"});
  CHECK(s.dropped_attributes_count == 0);
}

TEST_CASE("span: events, links, status and kind") {
  Recorder r;
  kt::SpanContext linked;
  {
    auto other = kt::info_span("other", kt::root);
    linked = other.context();
  }
  {
    auto s = kt::info_span("rpc", kt::SpanKind::Client);
    s.add_event("retry", kt::attr("attempt", 2), kt::attr("reason", "timeout"));
    s.add_event("done");
    s.add_link(linked, kt::attr("why", "batch"));
    s.set_status(kt::StatusCode::Error, "deadline exceeded");
  }
  const auto spans = r.flush();
  const auto& s = by_name(spans, "rpc");
  CHECK(s.kind == kt::SpanKind::Client);
  REQUIRE(s.events.size() == 2);
  CHECK(s.events[0].name == "retry");
  CHECK(std::get<std::int64_t>(s.events[0].attributes.at(0).value) == 2);
  CHECK(std::get<std::string>(s.events[0].attributes.at(1).value) == "timeout");
  CHECK(s.events[0].time_unix_ns >= s.start_unix_ns);
  CHECK(s.events[1].time_unix_ns <= s.end_unix_ns);
  REQUIRE(s.links.size() == 1);
  CHECK(s.links[0].trace_id == linked.trace_id);
  CHECK(s.links[0].span_id == linked.span_id);
  CHECK(s.links[0].flags.sampled());
  CHECK(s.links[0].attributes.at(0).key == "why");
  CHECK(s.status_code == kt::StatusCode::Error);
  CHECK(s.status_message == "deadline exceeded");
  CHECK(s.trace_id != linked.trace_id);
}

TEST_CASE("span: status Ok is final and a description only goes with Error") {
  Recorder r;
  {
    auto a = kt::info_span("a");
    a.set_status(kt::StatusCode::Ok, "ignored");
    a.set_status(kt::StatusCode::Error, "too late");
    auto b = kt::info_span("b");
    b.set_status(kt::StatusCode::Error, "first");
    b.set_status(kt::StatusCode::Unset);
  }
  const auto spans = r.flush();
  CHECK(by_name(spans, "a").status_code == kt::StatusCode::Ok);
  CHECK(by_name(spans, "a").status_message.empty());
  CHECK(by_name(spans, "b").status_code == kt::StatusCode::Error);
  CHECK(by_name(spans, "b").status_message == "first");
}

TEST_CASE("span: guards move, end once, and a moved-from guard is inert") {
  Recorder r;
  kt::Span outer;
  CHECK_FALSE(outer.is_valid());
  {
    auto s = kt::info_span("moved");
    const auto id = s.context().span_id;
    outer = std::move(s);
    CHECK_FALSE(s.is_valid());  // NOLINT(bugprone-use-after-move): the point of the test
    CHECK(outer.context().span_id == id);
  }
  CHECK(r.flush().empty());  // the moved-from guard's death ended nothing
  outer.end();
  CHECK_FALSE(outer.is_recording());
  outer.end();  // twice: no second record
  outer.set_attribute("late", 1);
  auto spans = r.flush();
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].name == "moved");
  CHECK(spans[0].attributes.empty());

  // move-assigning over a live span ends the old one first
  auto a = kt::info_span("first");
  a = kt::info_span("second");
  a.end();
  spans = r.flush();
  REQUIRE(spans.size() == 3);
  CHECK(spans[1].name == "first");
  CHECK(spans[2].name == "second");
}

TEST_CASE("span: a context handed to another thread parents spans there") {
  Recorder r;
  kt::SpanContext handed;
  kt::SpanId worker_span;
  bool worker_had_no_current = false;
  {
    auto parent = kt::info_span("coordinator").entered();
    handed = kt::Context::current().span_context();
    std::thread t([&] {
      worker_had_no_current = !kt::Context::current().has_span();
      auto child = kt::info_span("executor", handed).entered();
      worker_span = child.context().span_id;
      auto grandchild = kt::info_span("executor_step");
    });
    t.join();
  }
  CHECK(worker_had_no_current);
  const auto spans = r.flush();
  REQUIRE(spans.size() == 3);
  CHECK(by_name(spans, "executor").parent_span_id == handed.span_id);
  CHECK(by_name(spans, "executor").span_id == worker_span);
  CHECK(by_name(spans, "executor_step").parent_span_id == worker_span);
  CHECK(by_name(spans, "executor_step").trace_id == handed.trace_id);
}

TEST_CASE("span: a remote parent is marked remote and keeps its tracestate") {
  Recorder r;
  auto remote = kt::extract_span_context("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                         "vendor=abc,other=1");
  REQUIRE(remote);
  {
    auto s = kt::info_span("server", *remote, kt::SpanKind::Server).entered();
    CHECK(kt::current_tracestate() == "vendor=abc,other=1");
    // the random flag was not set upstream: continuing the trace must not claim it
    CHECK(kt::current_traceparent().substr(0, 36) == "00-4bf92f3577b34da6a3ce929d0e0e4736-");
    CHECK(kt::current_traceparent().substr(53) == "01");
  }
  const auto spans = r.flush();
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].parent_span_id == remote->span_id);
  CHECK(spans[0].parent_is_remote == std::optional<bool>(true));
  CHECK(spans[0].trace_state == "vendor=abc,other=1");
}

TEST_CASE("span: an unsampled span shares its parent's tracestate and keeps it across moves") {
  Recorder r({.sampler = kt::Sampler::parent_based(kt::Sampler::always_on())});
  auto remote = kt::extract_span_context("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
                                         "vendor=abc");
  REQUIRE(remote);
  {
    auto s = kt::info_span("unsampled", *remote);
    CHECK(s.is_valid());
    CHECK_FALSE(s.is_recording());
    const auto ctx = s.context();
    CHECK(ctx.trace_id == remote->trace_id);
    CHECK(ctx.span_id.is_valid());
    CHECK(s.context().span_id == ctx.span_id);  // drawn once, when first needed
    CHECK_FALSE(ctx.flags.sampled());
    CHECK_FALSE(ctx.flags.random());  // not set upstream
    CHECK(ctx.trace_state.to_string() == "vendor=abc");

    kt::Span moved = std::move(s);
    CHECK_FALSE(s.is_valid());
    CHECK(moved.context().span_id == ctx.span_id);
    CHECK(moved.context().trace_state.to_string() == "vendor=abc");
    {
      auto entered = std::move(moved).entered();
      CHECK(kt::current_tracestate() == "vendor=abc");
      auto child = kt::info_span("child");
      CHECK_FALSE(child.is_recording());
      CHECK(child.context().trace_id == remote->trace_id);
      CHECK(child.context().trace_state.to_string() == "vendor=abc");
      CHECK_FALSE(child.has_ended());
      child.end();
      CHECK(child.has_ended());
    }

    auto a = kt::info_span("a", *remote);
    auto b = kt::info_span("b", *remote);
    const auto b_id = b.context().span_id;
    a = std::move(b);
    CHECK(a.context().span_id == b_id);
    CHECK(a.context().trace_state.to_string() == "vendor=abc");
    // a recording span moved over an unsampled one
    auto c = kt::info_span("c", kt::root);
    REQUIRE(c.is_recording());
    a = std::move(c);
    CHECK(a.is_recording());
    CHECK(a.context().trace_state.empty());
  }
  const auto spans = r.flush();
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].name == "c");
}

TEST_CASE("span: root ignores the current span") {
  Recorder r;
  {
    auto a = kt::info_span("a").entered();
    auto b = kt::info_span("b", kt::root);
    CHECK(b.context().trace_id != a.context().trace_id);
  }
  const auto spans = r.flush();
  CHECK(by_name(spans, "b").is_root());
}

TEST_CASE("span: disabled levels are inert and transparent") {
  Recorder r;
  kt::set_max_level(kt::Level::Info);
  {
    auto outer = kt::info_span("outer").entered();
    auto dbg = kt::debug_span("hidden").entered();
    CHECK_FALSE(dbg.is_valid());
    auto child = kt::info_span("child");  // parent is outer: the debug span is not there
  }
  kt::set_max_level(kt::Level::Trace);
  const auto spans = r.flush();
  REQUIRE(spans.size() == 2);
  CHECK(by_name(spans, "child").parent_span_id == by_name(spans, "outer").span_id);
}

TEST_CASE("span: limits drop and count") {
  kt::SpanLimits limits;
  limits.attribute_count = 3;
  limits.event_count = 2;
  limits.link_count = 1;
  limits.attributes_per_event = 1;
  limits.attribute_value_length = 4;
  Recorder r({.limits = limits});
  kt::SpanContext l1, l2;
  {
    auto a = kt::info_span("l1", kt::root);
    auto b = kt::info_span("l2", kt::root);
    l1 = a.context();
    l2 = b.context();
  }
  {
    auto s = kt::info_span("limited", kt::job_id{"abcdefgh"});
    s.set_attribute("a", 1).set_attribute("b", 2).set_attribute("c", 3);
    s.set_attribute("a", 10);  // overwriting an existing key is not a new attribute
    s.set_attribute("long", std::string("héllo wörld"));
    s.add_event("e1", kt::attr("x", 1), kt::attr("y", 2));
    s.add_event("e2");
    s.add_event("e3");
    s.add_link(l1);
    s.add_link(l2);
  }
  const auto spans = r.flush();
  const auto& s = by_name(spans, "limited");
  CHECK(s.attributes.size() == 3);
  CHECK(s.dropped_attributes_count == 2);
  CHECK(std::get<std::string>(*s.attribute("job_id")) == "abcd");  // truncated to 4
  CHECK(std::get<std::int64_t>(*s.attribute("a")) == 10);
  CHECK(s.attribute("c") == nullptr);
  CHECK(s.events.size() == 2);
  CHECK(s.dropped_events_count == 1);
  CHECK(s.events[0].attributes.size() == 1);
  CHECK(s.events[0].dropped_attributes_count == 1);
  CHECK(s.links.size() == 1);
  CHECK(s.dropped_links_count == 1);
}

TEST_CASE("span: value length limit cuts on a UTF-8 boundary") {
  kt::SpanLimits limits;
  limits.attribute_value_length = 2;
  Recorder r({.limits = limits});
  kt::info_span("u").set_attribute("k", "é!");  // é is 2 bytes
  kt::info_span("v").set_attribute("k", "aé");  // cutting at 2 would split é
  const auto spans = r.flush();
  CHECK(std::get<std::string>(*by_name(spans, "u").attribute("k")) == "é");
  CHECK(std::get<std::string>(*by_name(spans, "v").attribute("k")) == "a");
}

TEST_CASE("span: the default limits are the OpenTelemetry ones") {
  kt::SpanLimits d;
  CHECK(d.attribute_count == 128);
  CHECK(d.event_count == 128);
  CHECK(d.link_count == 128);
  CHECK(d.attribute_value_length == kt::SpanLimits::kUnlimited);
  Recorder r;
  {
    auto s = kt::info_span("many");
    for (int i = 0; i < 200; ++i) s.set_attribute("k" + std::to_string(i), i);
    for (int i = 0; i < 130; ++i) s.add_event("e");
  }
  const auto spans = r.flush();
  CHECK(spans[0].attributes.size() == 128);
  CHECK(spans[0].dropped_attributes_count == 72);
  CHECK(spans[0].events.size() == 128);
  CHECK(spans[0].dropped_events_count == 2);
}

TEST_CASE("span: without a provider spans still propagate context") {
  {
    auto s = kt::info_span("orphan").entered();
    CHECK(s.is_valid());
    CHECK_FALSE(s.is_recording());
    const auto tp = kt::current_traceparent();
    REQUIRE(tp.size() == 55);
    CHECK(tp.substr(53) == "02");  // random, not sampled
    auto child = kt::info_span("orphan-child");
    CHECK(child.context().trace_id == s.context().trace_id);
  }
  CHECK(kt::current_traceparent().empty());
}
