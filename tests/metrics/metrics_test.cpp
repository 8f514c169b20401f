// Counters and histograms: bucket placement at and around the bounds, exact totals under
// concurrent recording, and the Prometheus text exposition read back by a small parser.

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "exposition_parser.hpp"
#include "krishiv/trace/metrics/counter.hpp"
#include "krishiv/trace/metrics/histogram.hpp"
#include "krishiv/trace/metrics/prometheus.hpp"
#include "krishiv/trace/metrics/registry.hpp"

namespace m = krishiv::trace::metrics;
using krishiv::trace::test::Exposition;
using krishiv::trace::test::parse_exposition;

namespace {

std::string fmt(double v) {
  std::string s;
  krishiv::trace::detail::append_prometheus_float(s, v);
  return s;
}

}  // namespace

TEST_CASE("a histogram puts a value on a bound in that bound's bucket (le is inclusive)") {
  m::Histogram h("h", "help", {}, {0.1, 0.5, 1.0});
  auto& s = h.series({});
  for (double v : {0.0, 0.1, 0.1000001, 0.5, 0.75, 1.0, 1.5, -3.0}) s.record(v);
  const auto snap = s.snapshot();
  REQUIRE(snap.buckets == std::vector<std::uint64_t>{3, 2, 2, 1});  // -3, 0, .1 | ... | 1.5
  CHECK(snap.cumulative() == std::vector<std::uint64_t>{3, 5, 7, 8});
  CHECK(snap.count == 8);
  CHECK(snap.sum == 0.0 + 0.1 + 0.1000001 + 0.5 + 0.75 + 1.0 + 1.5 - 3.0);
}

TEST_CASE("a histogram drops NaN observations and cleans its bounds") {
  m::Histogram h("h", "help", {},
                 {1.0, std::numeric_limits<double>::quiet_NaN(), 0.5, 1.0,
                  std::numeric_limits<double>::infinity()});
  CHECK(h.bounds() == std::vector<double>{0.5, 1.0});
  auto& s = h.series({});
  s.record(std::numeric_limits<double>::quiet_NaN());
  s.record(std::numeric_limits<double>::infinity());
  const auto snap = s.snapshot();
  CHECK(snap.count == 1);
  CHECK(snap.buckets.back() == 1);
}

TEST_CASE("series are found by label values and kept") {
  m::Histogram h("h", "help", {"method", "code"}, {1.0});
  auto& a = h.series({"/a.S/M", "OK"});
  auto& b = h.series({"/a.S/M", "INTERNAL"});
  CHECK(&a != &b);
  CHECK(&h.series({"/a.S/M", "OK"}) == &a);
  // Values that would run together if joined without a separator stay apart.
  CHECK(&h.series({"ab", "c"}) != &h.series({"a", "bc"}));
  // A wrong number of values still records (reported on stderr), padded with "".
  CHECK(&h.series({"/a.S/M"}) == &h.series({"/a.S/M", ""}));
  std::vector<std::vector<std::string>> seen;
  h.for_each_series([&](std::span<const std::string> v, const m::HistogramSeries&) {
    seen.emplace_back(v.begin(), v.end());
  });
  REQUIRE(seen.size() == 5);
  CHECK(seen[0] == std::vector<std::string>{"/a.S/M", "OK"});  // creation order
  CHECK(seen[1] == std::vector<std::string>{"/a.S/M", "INTERNAL"});
}

TEST_CASE("concurrent records into one series sum exactly, past the number of own shards") {
  m::Histogram h("h", "help", {"k"}, {1.0, 2.0});
  m::Counter c("c_total", "help", {"k"});
  // More threads than exclusive shards, so the shared (fetch_add) shards are used too.
  constexpr int kThreads = static_cast<int>(krishiv::trace::detail::kExclusiveShards) + 6;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto& s = h.series({"x"});  // found concurrently: every thread must get the same series
      auto& cs = c.series({"x"});
      for (int i = 0; i < kPerThread; ++i) {
        s.record((t + i) % 3 == 0 ? 0.5 : 1.5);
        cs.inc();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::size_t n = 0;
  h.for_each_series([&](auto, const auto&) { ++n; });
  CHECK(n == 1);
  const auto snap = h.series({"x"}).snapshot();
  CHECK(snap.count == std::uint64_t{kThreads} * kPerThread);
  CHECK(snap.buckets[0] + snap.buckets[1] == snap.count);
  CHECK(snap.buckets[2] == 0);
  std::uint64_t halves = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) halves += (t + i) % 3 == 0 ? 1 : 3;
  }
  CHECK(snap.buckets[0] == [&] {
    std::uint64_t k = 0;
    for (int t = 0; t < kThreads; ++t) {
      for (int i = 0; i < kPerThread; ++i) k += (t + i) % 3 == 0 ? 1 : 0;
    }
    return k;
  }());
  CHECK(snap.sum == static_cast<double>(halves) * 0.5);  // halves are exact in binary
  CHECK(c.series({"x"}).value() == std::uint64_t{kThreads} * kPerThread);
}

TEST_CASE("numbers are written as Prometheus' Go client writes them") {
  CHECK(fmt(0.0001) == "0.0001");
  CHECK(fmt(0.00025) == "0.00025");
  CHECK(fmt(0.001) == "0.001");
  CHECK(fmt(0.0025) == "0.0025");
  CHECK(fmt(0.1) == "0.1");
  CHECK(fmt(1) == "1");
  CHECK(fmt(2.5) == "2.5");
  CHECK(fmt(10) == "10");
  CHECK(fmt(100000) == "100000");
  CHECK(fmt(1e6) == "1e+06");
  CHECK(fmt(1234567.5) == "1.2345675e+06");
  CHECK(fmt(0.00001) == "1e-05");
  CHECK(fmt(-0.5) == "-0.5");
  CHECK(fmt(0) == "0");
  CHECK(fmt(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(fmt(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(fmt(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(fmt(1e300) == "1e+300");
  CHECK(fmt(0.1 + 0.2) == "0.30000000000000004");
}

TEST_CASE("the exposition reads back: help, type, cumulative buckets, sum, count, escaping") {
  m::Registry reg;
  auto& h = reg.histogram("rpc_seconds", "Call time.\nSecond line \\ with \"quotes\"",
                          {"method", "code"}, {0.0001, 0.001, 0.5});
  auto& c = reg.counter("calls_total", "Calls.", {"path"});
  auto& s = h.series({"/p.S/M", "OK"});
  s.record(0.0001);
  s.record(0.0002);
  s.record(0.25);
  s.record(3);
  h.series({"we\"ird\\va\nlue", "INTERNAL"}).record(0.00005);
  c.series({"/x"}).add(7);

  const std::string text = m::to_prometheus_text(reg);
  INFO(text);
  REQUIRE(text.ends_with('\n'));
  const std::optional<Exposition> e = parse_exposition(text);
  REQUIRE(e.has_value());

  CHECK(e->help.at("rpc_seconds") == "Call time.\nSecond line \\ with \"quotes\"");
  CHECK(e->type.at("rpc_seconds") == "histogram");
  CHECK(e->type.at("calls_total") == "counter");
  CHECK(e->help.at("calls_total") == "Calls.");

  using L = std::map<std::string, std::string>;
  const auto at = [&](const std::string& name, L labels) { return e->value(name, labels); };
  const L ok{{"method", "/p.S/M"}, {"code", "OK"}};
  auto with = [](L l, std::string le) {
    l["le"] = std::move(le);
    return l;
  };
  CHECK(at("rpc_seconds_bucket", with(ok, "0.0001")) == 1);
  CHECK(at("rpc_seconds_bucket", with(ok, "0.001")) == 2);
  CHECK(at("rpc_seconds_bucket", with(ok, "0.5")) == 3);
  CHECK(at("rpc_seconds_bucket", with(ok, "+Inf")) == 4);
  CHECK(at("rpc_seconds_count", ok) == 4);
  CHECK(at("rpc_seconds_sum", ok) == 0.0001 + 0.0002 + 0.25 + 3);
  const L weird{{"method", "we\"ird\\va\nlue"}, {"code", "INTERNAL"}};
  CHECK(at("rpc_seconds_bucket", with(weird, "0.0001")) == 1);
  CHECK(at("rpc_seconds_count", weird) == 1);
  CHECK(at("calls_total", L{{"path", "/x"}}) == 7);
  // The escaped forms on the wire, as the format spells them.
  CHECK(text.find(R"(method="we\"ird\\va\nlue")") != std::string::npos);
  CHECK(text.find("# HELP rpc_seconds Call time.\\nSecond line \\\\ with \"quotes\"\n") !=
        std::string::npos);
  // Every series' buckets come in increasing le, ending with +Inf, before its _sum and _count.
  CHECK(e->bucket_order_ok);
}

TEST_CASE("a metric without series is not exposed; a rejected name records but is not exposed") {
  m::Registry reg;
  reg.histogram("empty_seconds", "none yet", {}, {1.0});
  auto& bad = reg.counter("bad-name", "dash");
  bad.series({}).inc();
  auto& le = reg.histogram("uses_le", "le label", {"le"}, {1.0});
  le.series({"x"}).record(1);
  CHECK(m::to_prometheus_text(reg).empty());
}

TEST_CASE("registering a name again returns the same metric, or a detached one on conflict") {
  m::Registry reg;
  auto& a = reg.histogram("x_seconds", "h", {"a"}, {1.0, 2.0});
  CHECK(&reg.histogram("x_seconds", "h", {"a"}, {2.0, 1.0}) == &a);  // bounds cleaned alike
  auto& other = reg.histogram("x_seconds", "h", {"b"}, {1.0});
  CHECK(&other != &a);
  auto& as_counter = reg.counter("x_seconds", "c");
  as_counter.series({}).inc();
  other.series({"v"}).record(1);
  a.series({"w"}).record(1);
  const auto e = parse_exposition(m::to_prometheus_text(reg));
  REQUIRE(e.has_value());
  CHECK(e->type.size() == 1);
  CHECK(e->value("x_seconds_count", {{"a", "w"}}) == 1);
  CHECK(!e->has("x_seconds_count", {{"b", "v"}}));
}
